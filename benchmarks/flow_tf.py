r"""TV-L1 throughput: OpenCV's DualTVL1 vs the TensorFlow/XLA backend, one run.

Pairs/s at 340x256 (the fixture Kinetics clip) for OpenCV and flow.tvl1_tf
with OpenCV's stopping rule and with the fixed budget, per thread count and
batch size; each thread count runs in its own process (thread pools are fixed
at start-up).  Compile time is reported apart from throughput.  XLA's
persistent cache (in --cache_dir) lets the second process reuse the first's
compiled programs.

  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/flow_tf.py \
      --threads 1,2 --batches 1,4,16

The machine may be shared: ratios measured in the same process are the
figures to trust.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

CLIP = 'videos/k400_arm_wrestling_340x256_28fps.mp4'

# benchmarks/flow.py would shadow the `flow` package when run as a script.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))


def _frames(count: int, size):
  import cv2  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  path = pathlib.Path(os.environ.get('KINETICS_TF_FIXTURES',
                                     '../shared/fixtures')) / CLIP
  cap = cv2.VideoCapture(str(path))
  frames = []
  while len(frames) < count:
    ok, bgr = cap.read()
    if not ok:
      raise SystemExit(f'{path}: could not read {count} frames; set '
                       'KINETICS_TF_FIXTURES to the fixtures folder.')
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    frames.append(cv2.resize(gray, size, interpolation=cv2.INTER_AREA))
  return np.stack(frames)


def _worker(args) -> None:
  """Runs every measurement for one thread count; prints one JSON line."""
  import cv2  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tf.config.threading.set_intra_op_parallelism_threads(args.worker)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  cv2.setNumThreads(args.worker)
  from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
  batches = [int(b) for b in args.batches.split(',')]
  frames = _frames(max(batches + [args.opencv_pairs]) + 1, args.size)
  rows = []
  algo = cv2.optflow.DualTVL1OpticalFlow_create()
  start = time.perf_counter()
  for i in range(args.opencv_pairs):
    algo.calc(frames[i], frames[i + 1], None)
  opencv_rate = args.opencv_pairs / (time.perf_counter() - start)
  rows.append(dict(backend='opencv', batch=1, pairs_s=opencv_rate))
  for stopping in ('opencv', 'fixed'):
    for batch in batches:
      a, b = frames[:batch], frames[1:batch + 1]
      start = time.perf_counter()
      tvl1_tf.tvl1_pairs(a, b, stopping=stopping).numpy()
      compile_s = time.perf_counter() - start
      start = time.perf_counter()
      _, steps = tvl1_tf.tvl1_pairs(a, b, stopping=stopping,
                                    return_steps=True)
      steps = steps.numpy()
      seconds = time.perf_counter() - start
      rows.append(dict(backend=f'tf/{stopping}', batch=batch,
                       pairs_s=batch / seconds, compile_s=compile_s,
                       steps=float(steps.mean())))
  print(json.dumps(dict(threads=args.worker, rows=rows)))


def _table(results) -> str:
  lines = ['| threads | backend | batch | pairs/s | x OpenCV | steps/pair '
           '| first call (compile) s |', '|---|---|---|---|---|---|---|']
  for res in results:
    base = res['rows'][0]['pairs_s']
    for r in res['rows']:
      lines.append(
          f"| {res['threads']} | {r['backend']} | {r['batch']} | "
          f"{r['pairs_s']:.2f} | {r['pairs_s'] / base:.2f} | "
          f"{r.get('steps', float('nan')):.0f} | "
          f"{r.get('compile_s', float('nan')):.1f} |")
  return '\n'.join(lines)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--threads', default='1,2')
  parser.add_argument('--batches', default='1,4,16')
  parser.add_argument('--opencv_pairs', type=int, default=4)
  parser.add_argument('--size', default='340x256', help='WxH')
  parser.add_argument('--cache_dir', default=None,
                      help='XLA persistent cache (default: a temp folder)')
  parser.add_argument('--worker', type=int, default=0, help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  args.size = tuple(int(v) for v in args.size.split('x'))
  if args.worker:
    _worker(args)
    return
  cache = args.cache_dir or tempfile.mkdtemp(prefix='tvl1_xla_cache_')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  env['TF_XLA_FLAGS'] = (env.get('TF_XLA_FLAGS', '') +
                         f' --tf_xla_persistent_cache_directory={cache}')
  results = []
  for threads in [int(t) for t in args.threads.split(',')]:
    cmd = [sys.executable, __file__, '--worker', str(threads),
           '--batches', args.batches, '--opencv_pairs',
           str(args.opencv_pairs), '--size', 'x'.join(map(str, args.size))]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True,
                         text=True).stdout
    results.append(json.loads(out.strip().splitlines()[-1]))
    print(f'threads={threads} done', file=sys.stderr, flush=True)
  print(f'TV-L1 at {args.size[0]}x{args.size[1]}, pairs/s (one process):')
  print(_table(results))


if __name__ == '__main__':
  main()
