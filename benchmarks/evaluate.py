"""Dense evaluation speed: snapshots folded into the batch vs one snapshot per forward pass.

  python benchmarks/evaluate.py [--videos 4] [--repeats 3] [--crop 64] [--width 0.125]

For each model ('rgb', 'flow', 'c3d', 'convnet_lstm') it cuts the dense test
views of Table 3 from random clips (250 frames), then times the forward passes
that score them two ways, in the same run: every snapshot of --videos clips
folded into one batch (kinetics_tf.evaluate), and one snapshot per call.  Both
give the same scores (checked); videos/s and the ratio are printed as a
Markdown table.  Tiny widths keep it to a couple of minutes on a 2-core CPU.
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from kinetics_tf import evaluate
from kinetics_tf import models
from kinetics_tf.input import dense


def build(kind: str, crop: int, width: float):
  if kind == 'rgb':
    return models.rgb_stream(num_classes=400, input_size=crop, width_multiplier=width)
  if kind == 'flow':
    return models.flow_stream(num_classes=400, input_size=crop, width_multiplier=width)
  if kind == 'c3d':
    return models.C3D(num_classes=400, input_size=crop, width_multiplier=width, dropout=0.0)
  return models.ConvNetLSTM(num_classes=400, input_size=crop, width_multiplier=width)


def clip_views(dm, num_videos: int, crop: int, rng) -> tf.Tensor:
  """[B, S, ...] dense views of random 250-frame clips."""
  side = crop + 8
  views = []
  for _ in range(num_videos):
    if dm.kind == 'flow':
      video = rng.integers(0, 256, (dense.WINDOW_FRAMES, side, side, 2), np.uint8)
    else:
      video = rng.integers(0, 256, (dense.WINDOW_FRAMES + 1, side, side, 3), np.uint8)
    views.append(dm.views(video))
  return tf.stack(views)


def timed(fn, repeats: int) -> tuple[float, object]:
  out = fn()  # warm-up (traces)
  start = time.perf_counter()
  for _ in range(repeats):
    out = fn()
  return (time.perf_counter() - start) / repeats, out


def bench(kind: str, args, rng) -> dict:
  dm = evaluate.DenseModel(kind, build(kind, args.crop, args.width))
  views = clip_views(dm, args.videos, args.crop, rng)
  folded = tf.function(dm.score)
  per_snapshot = tf.function(lambda v: dm.net(v, training=False)['logits'])

  def one_at_a_time():
    scores = []
    for b in range(args.videos):
      logits = [per_snapshot(views[b, s:s + 1]) for s in range(views.shape[1])]
      scores.append(dense.video_scores(tf.concat(logits, 0), 1)[0])
    return tf.stack(scores)

  t_fold, (s_fold, _) = timed(lambda: folded(views), args.repeats)
  t_one, s_one = timed(one_at_a_time, args.repeats)
  np.testing.assert_allclose(s_fold.numpy(), s_one.numpy(), rtol=1e-4, atol=1e-6)
  return {'kind': kind, 'snapshots': int(views.shape[1]), 'fold': args.videos / t_fold,
          'one': args.videos / t_one}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--videos', type=int, default=4, help='clips per folded batch')
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--crop', type=int, default=64)
  parser.add_argument('--width', type=float, default=0.125, help='width multiplier')
  parser.add_argument('--models', default='rgb,flow,c3d,convnet_lstm')
  args = parser.parse_args()
  rng = np.random.default_rng(0)
  tf.keras.utils.set_random_seed(0)
  rows = [bench(kind, args, rng) for kind in args.models.split(',')]
  print(f'\n{args.videos} videos per batch, crop {args.crop}, width {args.width}, '
        f'{args.repeats} timed repeats after a warm-up\n')
  print('| model | snapshots/video | folded (videos/s) | one snapshot per pass (videos/s) | speed-up |')
  print('|---|---|---|---|---|')
  for r in rows:
    print(f"| {r['kind']} | {r['snapshots']} | {r['fold']:.2f} | {r['one']:.2f} | "
          f"{r['fold'] / r['one']:.1f}x |")


if __name__ == '__main__':
  main()
