"""How de-duplication (§3.4) scales: the blockwise similarity search, the embedding cost per clip, robustness.

Run (about 2 minutes on 2 cores; --resnet adds a few minutes):
  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/dedup.py [--resnet]

1. ``dedup.similar_pairs`` on N random unit embeddings (1024-d, Inception-v1's
   pooled size; 252-d, the default pyramid's) with 1% planted near-duplicate
   pairs: wall and CPU seconds, and the peak of NumPy allocations
   (tracemalloc) beyond the embeddings themselves, for several block sizes.
   The cost is quadratic, so 100k clips are extrapolated from the largest N
   measured, both as one matrix and split per class as the paper did (its
   largest class had 1,150 clips, so 100k clips are at least 87 such classes).
2. Embedding cost per clip: decoding 10 s (at 25 fps, shorter side 224),
   sampling 25 centre crops, and the frame model (pyramid; ResNet-50 trunk
   with --resnet, on one clip), on the fixture clips.
3. Robustness of the default pyramid: cosine similarity of a clip and a
   cropped (per side), resized (x0.6), re-encoded (MPEG-4) copy, against the
   largest similarity between different fixture clips.
"""

import itertools
import math
import os
import pathlib
import sys
import tempfile
import time
import tracemalloc

from absl import app
from absl import flags
import cv2
import numpy as np

# benchmarks/flow.py would shadow the flow package that kinetics_tf imports:
# drop this folder from the import path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]

# pylint: disable=wrong-import-position
from kinetics_tf import constants
from kinetics_tf.curation import dedup
from kinetics_tf.curation import embed
from flow import decoding as video
# pylint: enable=wrong-import-position

_FIXTURES = flags.DEFINE_string(
    'fixtures', os.environ.get('KINETICS_TF_FIXTURES'),
    'Fixtures folder holding videos/ (default: $KINETICS_TF_FIXTURES).')
_SIZES = flags.DEFINE_list('sizes', ['1150', '5000', '10000', '20000'],
                           'Numbers of clips for the similarity search.')
_BLOCKS = flags.DEFINE_list('blocks', ['256', '1024', '4096'],
                            'Block sizes tried at the largest size.')
_RESNET = flags.DEFINE_bool('resnet', False,
                            'Also time the ResNet-50 trunk (random init) and '
                            'print its similarities on the fixture clips.')

TARGET_CLIPS = 100_000
LARGEST_CLASS = 1150  # §2 / Appendix A: the largest class's clip count.


def _embeddings(n, dim, rng):
  """Unit vectors, 1% of them near copies (cosine ~0.99) of another."""
  e = rng.standard_normal((n, dim)).astype(np.float32)
  dups = rng.choice(n, size=(max(1, n // 100), 2), replace=False)
  e[dups[:, 1]] = e[dups[:, 0]] + 0.1 * rng.standard_normal(
      (len(dups), dim)).astype(np.float32)
  return e / np.linalg.norm(e, axis=1, keepdims=True), len(dups)


def _time_pairs(e, block):
  """(pairs, wall s, CPU s, peak MiB of allocations during the call)."""
  tracemalloc.start()
  wall, cpu = time.perf_counter(), time.process_time()
  pairs = dedup.similar_pairs(e, constants.DEDUP_THRESHOLD, block=block)
  wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
  peak = tracemalloc.get_traced_memory()[1] / 2**20
  tracemalloc.stop()
  return len(pairs), wall, cpu, peak


def bench_similarity(sizes, blocks):
  rng = np.random.default_rng(0)
  print('== similar_pairs (threshold 0.97), N random unit embeddings, 1% '
        'planted duplicates')
  print(f'{"N":>7} {"dim":>5} {"block":>6} {"pairs":>7} {"planted":>7} '
        f'{"wall s":>8} {"CPU s":>8} {"peak MiB":>9}')
  rows = []
  for n in sizes:
    for dim in (1024, 252):
      e, planted = _embeddings(n, dim, rng)
      for block in (blocks if n == max(sizes) else [1024]):
        found, wall, cpu, peak = _time_pairs(e, block)
        rows.append((n, dim, block, wall, cpu, peak))
        print(f'{n:>7} {dim:>5} {block:>6} {found:>7} {planted:>7} '
              f'{wall:>8.2f} {cpu:>8.2f} {peak:>9.1f}')
  n_max = max(sizes)
  for dim in (1024, 252):
    wall = min(r[3] for r in rows if r[:2] == (n_max, dim))
    one = wall * (TARGET_CLIPS / n_max)**2
    small = min(r[3] for r in rows if r[:3] == (min(sizes), dim, 1024))
    per_class = small * (LARGEST_CLASS / min(sizes))**2 * math.ceil(
        TARGET_CLIPS / LARGEST_CLASS)
    print(f'100k clips, {dim}-d (quadratic from N={n_max}): one matrix '
          f'~{one / 60:.1f} min, per class of <= {LARGEST_CLASS} clips '
          f'~{per_class:.1f} s; block 1024 needs ~'
          f'{1024 * TARGET_CLIPS * 5 / 2**20:.0f} MiB (float32 + bool rows)')


def _clip_cost(path, frame_fn, repeats=2):
  """(decode + crops s, model s) for one clip: best of `repeats` wall times."""
  best = [math.inf, math.inf]
  for _ in range(repeats):
    t = time.perf_counter()
    crops = embed.sample_crops(path, end=constants.CLIP_SECONDS)
    t1 = time.perf_counter()
    frame_fn(crops.astype(np.float32) / 127.5 - 1)
    t2 = time.perf_counter()
    best = [min(best[0], t1 - t), min(best[1], t2 - t1)]
  return best


def bench_embedding(clips, models):
  print('== embedding cost per clip (10 s or less at 25 fps, 25 crops), '
        'best of 2, wall s')
  for name, (fn, _) in models.items():
    # The ResNet-50 forward pass is slow on CPU: one clip (best of 2, the
    # first call also builds the graph).
    for path in (clips if name == 'pyramid' else clips[1:2]):
      dec, model = _clip_cost(path, fn)
      print(f'{name:>9} {path.name:<40} decode+crop {dec:6.2f}  model '
            f'{model:6.2f}')


def _copy(frames, crop, dst):
  h, w = frames.shape[1:3]
  y, x = int(h * crop), int(w * crop)
  size = (int((w - 2 * x) * 0.6) // 2 * 2, int((h - 2 * y) * 0.6) // 2 * 2)
  writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*'mp4v'), 25,
                           size)
  for f in frames:
    writer.write(cv2.cvtColor(cv2.resize(f[y:h - y, x:w - x], size,
                                         interpolation=cv2.INTER_AREA),
                              cv2.COLOR_RGB2BGR))
  writer.release()
  return str(dst)


def _cos(a, b):
  return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def bench_robustness(clips, models, seconds=4.0):
  print(f'== cosine similarity, first {seconds:g} s of each clip')
  src = next(p for p in clips if 'arm_wrestling' in p.name)
  frames = video.decode(src, end=seconds)
  with tempfile.TemporaryDirectory() as tmp:
    copies = {c: _copy(frames, c, pathlib.Path(tmp, f'{c}.mp4'))
              for c in (0.0, 0.02, 0.04, 0.06, 0.08, 0.10)}
    for name, (fn, _) in models.items():
      emb = {p.name: embed.embed_clip(
          embed.ClipRef(p.name, str(p), 0, seconds), fn) for p in clips}
      sims = sorted((_cos(emb[a], emb[b]), a, b)
                    for a, b in itertools.combinations(emb, 2))
      print(f'{name}: different clips: {sims[0][0]:.4f} .. {sims[-1][0]:.4f} '
            f'(max: {sims[-1][1]} vs {sims[-1][2]})')
      for crop, path in copies.items():
        if name != 'pyramid' and crop != 0.04:
          continue
        e = embed.embed_clip(embed.ClipRef('copy', path), fn)
        print(f'{name}: copy cropped {crop:.0%} per side, x0.6, re-encoded: '
              f'{_cos(emb[src.name], e):.4f}')


def main(argv):
  del argv
  print(f'machine: {os.cpu_count()} cores, numpy {np.__version__}')
  bench_similarity([int(s) for s in _SIZES.value],
                   [int(b) for b in _BLOCKS.value])
  if not _FIXTURES.value:
    print('no fixtures (set KINETICS_TF_FIXTURES): embedding figures skipped')
    return
  clips = sorted(pathlib.Path(_FIXTURES.value, 'videos').iterdir())
  models = {'pyramid': embed.load_frame_model(embed.PYRAMID)}
  if _RESNET.value:
    models['resnet50'] = embed.load_frame_model(embed.RESNET50)
  bench_embedding(clips, models)
  bench_robustness(clips, models)


if __name__ == '__main__':
  app.run(main)
