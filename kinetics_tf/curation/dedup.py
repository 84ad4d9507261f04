"""De-duplication of clips (paper §3.4).

Two steps, as the paper did them:
1. "in order to have only one clip from each YouTube link, we randomly
   selected a single clip from amongst those validated" (seeded here);
2. per class, an embedding per clip averaged over 25 uniformly sampled
   224x224 centre crops, the cosine-similarity matrix, a threshold of 0.97
   (adjusted for a few classes), connected components, and one random clip
   kept per component.

The paper's embedding is Inception-v1 (ImageNet); its weights cannot be
downloaded here, so the embedding model is a flag (kinetics_tf.curation.embed):
a training-free image pyramid by default (a randomly initialised ResNet-50
scored every pair of different clips above 0.98), the project's ResNet-50
trunk (with ImageNet weights from a local .h5 file), or any Keras model
(.keras) or SavedModel given by path.  The similarity matrix is computed in blocks, so
memory stays O(block x N) rather than O(N^2).

Usage:
  python -m kinetics_tf.curation.dedup --clips=clips.csv --out_dir=DIR \
      [--embeddings=emb.npz] [--model=pyramid|resnet50|PATH] [--weights=H5] \
      [--endpoint=NAME] [--threshold=0.97] \
      [--class_threshold='swimming breast stroke=0.98'] [--seed=0]

clips CSV columns: clip_id, youtube_id, label, path (relative paths are taken
from the CSV's folder), and optionally time_start, time_end (seconds, for
clips inside untrimmed files). Embeddings are cached in DIR/embeddings.npz
(or --embeddings) and reused on the next run. Writes kept.csv, removed.csv
(clip and reason), failed.csv (clips that could not be decoded, skipped) and
components.json (every component of every class with its members).
kinetics_tf.curation.embed documents the embedding models; the default,
'pyramid', needs no training.
"""

import collections
import pathlib
import random

from absl import app
from absl import flags
import numpy as np

from kinetics_tf import app as cli_app
from kinetics_tf import constants
from kinetics_tf.curation import common
from kinetics_tf.curation import embed

CLIP_COLUMNS = ('clip_id', 'youtube_id', 'label', 'path')
TRIM_COLUMNS = ('time_start', 'time_end')


def one_clip_per_video(clips: list[dict], seed: int = 0) -> tuple[list, list]:
  """Keeps one random clip per youtube_id; returns (kept, dropped)."""
  rng = random.Random(seed)
  groups = collections.defaultdict(list)
  for clip in clips:
    groups[clip['youtube_id']].append(clip)
  kept, dropped = [], []
  for vid in sorted(groups):
    members = groups[vid]
    choice = rng.randrange(len(members))
    kept.append(members[choice])
    dropped += [m for i, m in enumerate(members) if i != choice]
  return kept, dropped


def similar_pairs(embeddings: np.ndarray, threshold: float,
                  block: int = 1024) -> np.ndarray:
  """Index pairs (i < j) whose cosine similarity is >= threshold.

  The [N, N] matrix is never held whole: rows are compared in blocks of
  `block` against all later rows, so memory is O(block * N).
  """
  e = np.asarray(embeddings, np.float32)
  norms = np.linalg.norm(e, axis=1, keepdims=True)
  if np.any(norms == 0):
    raise ValueError('an embedding is all zeros: cosine similarity undefined')
  e = e / norms
  pairs = []
  for start in range(0, len(e), block):
    sim = e[start:start + block] @ e[start:].T
    i, j = np.nonzero(sim >= threshold)
    i = i + start
    j = j + start
    keep = j > i
    pairs.append(np.stack([i[keep], j[keep]], axis=1))
  return np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)


def connected_components(n: int, pairs: np.ndarray) -> list[list[int]]:
  """Groups 0..n-1 by the given edges (union-find); sorted members."""
  parent = list(range(n))

  def find(x):
    while parent[x] != x:
      parent[x] = parent[parent[x]]
      x = parent[x]
    return x

  for a, b in pairs:
    ra, rb = find(int(a)), find(int(b))
    if ra != rb:
      parent[max(ra, rb)] = min(ra, rb)
  groups = collections.defaultdict(list)
  for i in range(n):
    groups[find(i)].append(i)
  return sorted(groups.values())


def dedup_class(ids: list[str], embeddings: np.ndarray, threshold: float,
                rng: random.Random) -> list[dict]:
  """Components of one class with the member kept in each.

  Returns:
    One dict per component: members (ids), kept (id), max_similarity.
  """
  pairs = similar_pairs(embeddings, threshold)
  out = []
  for comp in connected_components(len(ids), pairs):
    keep = comp[rng.randrange(len(comp))]
    out.append(dict(members=[ids[i] for i in comp], kept=ids[keep],
                    size=len(comp)))
  return out


def parse_class_thresholds(items) -> dict:
  """['class name=0.98', ...] -> {'class name': 0.98}."""
  out = {}
  for item in items or ():
    name, sep, value = item.rpartition('=')
    try:
      out[name.strip()] = float(value)
    except ValueError:
      sep = ''
    if not sep or not name.strip():
      raise ValueError(f'--class_threshold {item!r}: expected "class name=0.98"')
  return out


def dedup(clips: list[dict], embeddings: dict, threshold=constants.DEDUP_THRESHOLD,
          class_thresholds=None, seed=0, min_size=2) -> dict:
  """Runs both steps on clips with embeddings keyed by clip_id.

  Returns:
    dict with 'kept' (clip dicts), 'same_video' (dropped by step 1) and
    'components' (per class, step 2's components of at least min_size clips).
  """
  class_thresholds = class_thresholds or {}
  unknown = set(class_thresholds) - {c['label'] for c in clips}
  if unknown:
    raise ValueError(f'per-class thresholds name classes with no clips: '
                     f'{sorted(unknown)}')
  rng = random.Random(seed)
  per_video, same_video = one_clip_per_video(clips, seed)
  by_class = collections.defaultdict(list)
  for clip in per_video:
    by_class[clip['label']].append(clip)
  kept, components = [], {}
  for label in sorted(by_class):
    members = by_class[label]
    ids = [c['clip_id'] for c in members]
    emb = np.stack([embeddings[i] for i in ids])
    comps = dedup_class(ids, emb, class_thresholds.get(label, threshold), rng)
    keep = {c['kept'] for c in comps}
    kept += [c for c in members if c['clip_id'] in keep]
    components[label] = [c for c in comps if c['size'] >= min_size]
  return dict(kept=kept, same_video=same_video, components=components)


def _trim(row, column, path):
  value = (row.get(column) or '').strip()
  return common.parse_float(row, column, path) if value else None


def read_clips(path) -> list[dict]:
  """Reads the clips CSV; paths are resolved against the CSV's folder.

  Raises:
    CurationInputError: a missing column, an empty field, a repeated
      clip_id or a non-numeric trim (the message names the line).
  """
  rows = common.read_rows(path, CLIP_COLUMNS)
  base, seen, clips = pathlib.Path(path).parent, {}, []
  for row in rows:
    empty = [c for c in CLIP_COLUMNS if not (row[c] or '').strip()]
    if empty:
      raise common.CurationInputError(f'{path}:{row["_line"]}: empty {empty}')
    if row['clip_id'] in seen:
      raise common.CurationInputError(
          f'{path}:{row["_line"]}: clip_id {row["clip_id"]!r} repeats line '
          f'{seen[row["clip_id"]]}; clip ids must be unique')
    seen[row['clip_id']] = row['_line']
    clip = {c: row[c].strip() for c in CLIP_COLUMNS}
    clip['path'] = str(base / clip['path'])
    clip.update({c: _trim(row, c, path) for c in TRIM_COLUMNS})
    clips.append(clip)
  return clips


def _component_report(label, comp, number, threshold, embeddings):
  kept = np.asarray(embeddings[comp['kept']], np.float64)
  sims = {}
  for member in comp['members']:
    e = np.asarray(embeddings[member], np.float64)
    sims[member] = round(float(
        e @ kept / (np.linalg.norm(e) * np.linalg.norm(kept))), 6)
  return dict(component=number, label=label, threshold=threshold,
              size=comp['size'], kept=comp['kept'], members=comp['members'],
              similarity_to_kept=sims)


def _removed_and_report(clips, per_video, same_video, result, embeddings,
                        threshold, class_thresholds):
  """(removed rows with their reason, every component numbered from 1)."""
  kept_of_video = {c['youtube_id']: c['clip_id'] for c in per_video}
  removed = [dict(c, reason=f'same video as {kept_of_video[c["youtube_id"]]}')
             for c in same_video]
  by_id, report = {c['clip_id']: c for c in clips}, []
  for label, comps in result['components'].items():
    t = class_thresholds.get(label, threshold)
    for comp in comps:
      report.append(_component_report(label, comp, len(report) + 1, t,
                                      embeddings))
      removed += [dict(by_id[m], reason=f'duplicate of {comp["kept"]} in '
                       f'component {len(report)}')
                  for m in comp['members'] if m != comp['kept']]
  return removed, report


def run(clips_csv, out_dir, model=embed.PYRAMID, weights=None, endpoint=None,
        threshold=constants.DEDUP_THRESHOLD, class_thresholds=None, seed=0,
        embeddings_path=None, progress=True) -> dict:
  """Both de-duplication steps on a clips CSV; writes the reports to out_dir.

  Only the clip kept for each video is embedded; clips that fail to decode
  are skipped, listed in failed.csv, and tried again on the next run.

  Returns:
    The summary: counts of clips in, same-video removed, duplicates removed,
    kept, failed and components of more than one clip, and out_dir.
  """
  out_dir, clips = pathlib.Path(out_dir), read_clips(clips_csv)
  class_thresholds = class_thresholds or {}
  unknown = set(class_thresholds) - {c['label'] for c in clips}
  if unknown:
    raise common.CurationInputError(
        f'{clips_csv}: --class_threshold names classes with no clips: '
        f'{sorted(unknown)}')
  per_video, same_video = one_clip_per_video(clips, seed)
  frame_fn, model_name = embed.load_frame_model(model, weights, endpoint, seed)
  refs = [embed.ClipRef(c['clip_id'], c['path'], c['time_start'],
                        c['time_end']) for c in per_video]
  embeddings, failed = embed.embed_clips(
      refs, frame_fn, model_name,
      embeddings_path or out_dir / 'embeddings.npz', progress=progress)
  ok = [c for c in per_video if c['clip_id'] in embeddings]
  labels = {c['label'] for c in ok}
  result = dedup(ok, embeddings, threshold,
                 {k: v for k, v in class_thresholds.items() if k in labels},
                 seed, min_size=1)
  removed, report = _removed_and_report(clips, per_video, same_video, result,
                                        embeddings, threshold, class_thresholds)
  by_id, columns = {c['clip_id']: c for c in clips}, list(
      CLIP_COLUMNS + TRIM_COLUMNS)
  common.write_rows(out_dir / 'kept.csv', result['kept'], columns)
  common.write_rows(out_dir / 'removed.csv', removed, columns + ['reason'])
  common.write_rows(out_dir / 'failed.csv',
                    [dict(by_id[i], reason=r) for i, r in failed.items()],
                    columns + ['reason'])
  common.write_json(out_dir / 'components.json', dict(
      model=model_name, threshold=threshold,
      class_thresholds=class_thresholds, seed=seed, components=report))
  return dict(clips_in=len(clips), same_video_removed=len(same_video),
              duplicates_removed=len(removed) - len(same_video),
              kept=len(result['kept']), failed=len(failed),
              components=sum(c['size'] > 1 for c in report),
              out_dir=str(out_dir))


def main(argv):
  del argv
  f = flags.FLAGS
  try:
    thresholds = parse_class_thresholds(f.class_threshold)
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  s = run(f.clips, f.out_dir, f.model, f.weights, f.endpoint, f.threshold,
          thresholds, f.seed, f.embeddings)
  print(f'{s["clips_in"]} clips in: {s["same_video_removed"]} removed as the '
        f'same video, {s["duplicates_removed"]} duplicates removed in '
        f'{s["components"]} components, {s["kept"]} kept, {s["failed"]} '
        f'failed to decode -> {s["out_dir"]}')


if __name__ == '__main__':
  flags.DEFINE_string('clips', None, 'CSV: clip_id,youtube_id,label,path '
                      '[,time_start,time_end].')
  flags.DEFINE_string('out_dir', None, 'Folder for the reports and cache.')
  flags.DEFINE_string('model', embed.PYRAMID, 'Embedding: "pyramid" (no '
                      'training), "resnet50" (the project trunk) or a path '
                      'to a .keras/.h5 model or SavedModel folder.')
  flags.DEFINE_string('weights', None, 'Local Keras ResNet50 ImageNet .h5 '
                      'file for --model=resnet50.')
  flags.DEFINE_string('endpoint', None, 'Output of --model to use when it '
                      'has several.')
  flags.DEFINE_string('embeddings', None, 'Embedding cache (default '
                      'OUT_DIR/embeddings.npz).')
  flags.DEFINE_float('threshold', constants.DEDUP_THRESHOLD,
                     'Cosine similarity linking two clips (paper §3.4: 0.97).',
                     lower_bound=-1.0, upper_bound=1.0)
  flags.DEFINE_multi_string('class_threshold', [], 'Per-class threshold, '
                            '"class name=0.98" (repeatable).')
  flags.DEFINE_integer('seed', 0, 'Seed of the random choices.', lower_bound=0)
  flags.mark_flags_as_required(['clips', 'out_dir'])
  cli_app.run(main, 'dedup')
