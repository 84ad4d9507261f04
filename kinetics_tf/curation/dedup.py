"""De-duplication of clips (paper §3.4).

Two steps, as the paper did them:
1. "in order to have only one clip from each YouTube link, we randomly
   selected a single clip from amongst those validated" (seeded here);
2. per class, an embedding per clip averaged over 25 uniformly sampled
   224x224 centre crops, the cosine-similarity matrix, a threshold of 0.97
   (adjusted for a few classes), connected components, and one random clip
   kept per component.

The paper's embedding is Inception-v1 (ImageNet); its weights cannot be
downloaded here, so the embedding model is a flag: any Keras model (.keras)
or SavedModel given by path, else the project's ResNet-50 trunk (with
ImageNet weights from a local .h5 file when given).  The similarity matrix is
computed in blocks, so memory stays O(block x N) rather than O(N^2).

Usage:
  python -m kinetics_tf.curation.dedup --clips=clips.csv --out_dir=DIR \
      [--embeddings=emb.npz] [--model=PATH] [--threshold=0.97] \
      [--class_threshold='swimming breast stroke=0.98'] [--seed=0]

clips CSV columns: clip_id, youtube_id, label, path. Embeddings are cached in
DIR/embeddings.npz and reused on the next run.
"""

import collections
import random

import numpy as np

from kinetics_tf import constants


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
          class_thresholds=None, seed=0) -> dict:
  """Runs both steps on clips with embeddings keyed by clip_id.

  Returns:
    dict with 'kept' (clip dicts), 'same_video' (dropped by step 1) and
    'components' (per class, step 2's components of more than one clip).
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
    components[label] = [c for c in comps if c['size'] > 1]
  return dict(kept=kept, same_video=same_video, components=components)
