r"""Optical flow throughput: pairs/s per backend, shorter side, workers and threads.

  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/flow.py \
      [--backends opencv] [--sides 256,340] [--pairs 4] [--workers N]

Takes `--pairs` frame pairs from the first frames of the fixture clips (in
turn, one clip after another) at 25 fps, resized to each shorter side, and
times flow.tvl1 over those pairs, one pair per task, in worker
processes (started and warmed up before timing): 1 worker with 1 and 2 OpenCV
threads, and N workers (default all cores) with 1 thread each, whose ratio to
1 worker is the scaling.  Each worker reports its CPU time per pair (all its
threads; steadier than wall time on a shared machine) and its peak resident
memory; the load average is printed with each row.
Prints a Markdown table for docs/BENCHMARKS.md.

A backend is a name in BACKENDS mapping to the keyword arguments of
flow.tvl1 (backend=..., parameters); add one there to compare it here.
"""

import argparse
import multiprocessing
import os
import pathlib
import platform
import resource
import subprocess
import sys
import time

import cv2
import numpy as np

# This script is named like the package it measures: drop its own folder from
# the import path so that `import flow` finds the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]

import flow  # pylint: disable=wrong-import-position
from flow import decoding  # pylint: disable=wrong-import-position

# name -> keyword arguments of flow.tvl1.
BACKENDS = {
    'opencv': {'backend': 'opencv'},
}


def _init(threads: int) -> None:
  cv2.setNumThreads(threads)
  flow.tvl1(np.zeros((2, 16, 16), np.uint8))  # Warm up (imports, first call).


def _warm(_):
  time.sleep(0.2)  # Long enough for every worker to take one.
  return os.getpid()


def _pair_task(args):
  """Flow of one pair in a worker; returns (pid, CPU s, peak RSS in MiB)."""
  pair, kwargs = args
  start = time.process_time()  # All threads of the worker.
  flow.tvl1(pair, **kwargs)
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  return os.getpid(), time.process_time() - start, peak


def load_pairs(videos_dir, side: int, total: int):
  """`total` gray pairs [2,H,W], from each clip in turn; (pairs, ms/frame)."""
  clips = sorted(pathlib.Path(videos_dir).iterdir())
  per_clip = -(-total // len(clips))
  by_clip, frames, seconds = [], 0, 0.0
  for clip in clips:
    start = time.perf_counter()
    rgb = decoding.decode(clip, end=(per_clip + 0.5) / 25, short_side=side)
    gray = decoding.to_gray(rgb)
    seconds += time.perf_counter() - start
    frames += len(gray)
    by_clip.append([gray[i:i + 2] for i in range(len(gray) - 1)])
  pairs = [p for i in range(per_clip) for c in by_clip for p in c[i:i + 1]]
  return pairs[:total], 1000 * seconds / frames


def time_case(pairs, kwargs, workers: int, threads: int):
  """(pairs/s, CPU s/pair, max peak RSS per worker in MiB) of one case."""
  ctx = multiprocessing.get_context('spawn')
  with ctx.Pool(workers, _init, (threads,)) as pool:
    while len(set(pool.map(_warm, range(2 * workers), chunksize=1))) < workers:
      pass  # Until every worker has run its initializer (imports, warm-up).
    start = time.perf_counter()
    results = pool.map(_pair_task, [(p, kwargs) for p in pairs], chunksize=1)
    seconds = time.perf_counter() - start
  peaks = {}
  for pid, _, mib in results:
    peaks[pid] = max(peaks.get(pid, 0.0), mib)
  cpu = sum(r[1] for r in results) / len(pairs)
  return len(pairs) / seconds, cpu, max(peaks.values())


def machine() -> str:
  cpu = platform.processor() or 'unknown CPU'
  try:
    out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
    cpu = next(l.split(':', 1)[1].strip() for l in out.splitlines()
               if l.startswith('Model name'))
  except (OSError, StopIteration):
    pass
  return f'{cpu}, {os.cpu_count()} cores, OpenCV {cv2.__version__}'


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--backends', default='opencv',
                      help=f'comma-separated, from {sorted(BACKENDS)}')
  parser.add_argument('--sides', default='256,340')
  parser.add_argument('--pairs', type=int, default=4,
                      help='frame pairs per configuration')
  parser.add_argument('--workers', type=int, default=os.cpu_count() or 1)
  parser.add_argument('--videos', default=os.path.join(
      os.environ.get('KINETICS_TF_FIXTURES', '../shared/fixtures'), 'videos'))
  args = parser.parse_args(argv)
  if not os.path.isdir(args.videos):
    print(f'no fixture clips in {args.videos}: set KINETICS_TF_FIXTURES',
          file=sys.stderr)
    return 2
  print(f'machine: {machine()}; load average at start: '
        f'{os.getloadavg()[0]:.1f}')
  print('| backend | shorter side | pairs | decode ms/frame | workers x '
        'threads | pairs/s | vs 1x1 | CPU s/pair | peak RSS/worker MiB | '
        'load |')
  print('|---|---|---|---|---|---|---|---|---|---|')
  configs = [(1, 1), (1, 2), (args.workers, 1)]
  for side in map(int, args.sides.split(',')):
    pairs, decode_ms = load_pairs(args.videos, side, args.pairs)
    for name in args.backends.split(','):
      base = None
      for workers, threads in configs:
        rate, cpu, peak = time_case(pairs, BACKENDS[name], workers, threads)
        base = base or rate
        print(f'| {name} | {side} | {len(pairs)} | {decode_ms:.1f} | '
              f'{workers} x {threads} | {rate:.2f} | {rate / base:.2f}x | '
              f'{cpu:.2f} | {peak:.0f} | {os.getloadavg()[0]:.1f} |',
              flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main())
