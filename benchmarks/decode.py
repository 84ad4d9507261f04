"""Frames/s per core to decode + resample to 25 fps + resize the fixture clips, OpenCV vs PyAV.

Run (about a minute on 2 cores):
  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/decode.py

Every decoder runs with one thread (cv2.setNumThreads(1), FFmpeg thread_count
1), so the figures are per core.  The two backends alternate within each
repeat and the best of --repeats is kept, which damps the noise of a shared
machine.  frames/s counts output frames (at 25 fps) per CPU second of the
process; wall-clock figures are printed beside them.  ratio = pyav CPU time /
opencv CPU time (> 1: OpenCV faster).
"""

import math
import os
import pathlib
import sys
import time

from absl import app
from absl import flags
import cv2

# benchmarks/flow.py would shadow the flow package: drop this folder from the
# import path so that `import flow` finds the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]

from flow import video  # pylint: disable=wrong-import-position

_FIXTURES = flags.DEFINE_string(
    'fixtures', os.environ.get('KINETICS_TF_FIXTURES'),
    'Fixtures folder holding videos/ (default: $KINETICS_TF_FIXTURES).')
_SHORT_SIDE = flags.DEFINE_integer('short_side', 340,
                                   'Shorter side after resizing (§4.4: 340).')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Timed runs per clip and decoder.')


def _time_decode(path, backend, short_side):
  """(output frames, CPU seconds, wall seconds) of one single-threaded decode."""
  cpu, wall = time.process_time(), time.perf_counter()
  frames = video.decode(path, short_side=short_side, backend=backend, threads=1)
  return len(frames), time.process_time() - cpu, time.perf_counter() - wall


def _best(path, short_side, repeats):
  """backend -> (frames, best CPU s, best wall s), backends interleaved."""
  best = {}
  for _ in range(repeats):
    for backend in video.BACKENDS:
      n, cpu, wall = _time_decode(path, backend, short_side)
      _, old_cpu, old_wall = best.get(backend, (n, cpu, wall))
      best[backend] = (n, min(cpu, old_cpu), min(wall, old_wall))
  return best


def main(argv):
  del argv
  if not _FIXTURES.value:
    raise app.UsageError('pass --fixtures or set KINETICS_TF_FIXTURES to the '
                         'folder holding videos/')
  cv2.setNumThreads(1)
  clips = sorted(pathlib.Path(_FIXTURES.value, 'videos').iterdir())
  names = video.BACKENDS
  print(f'decode + resample to 25 fps + resize shorter side to '
        f'{_SHORT_SIDE.value}, 1 thread, best of {_REPEATS.value}')
  print(f'{"clip":40s} {"src":>10s} {"out":>4s} ' + ' '.join(
      f'{n + " f/s cpu":>15s} {"(wall)":>7s}' for n in names) + '  ratio')
  totals = {n: [0, 0.0, 0.0] for n in names}
  ratios = []
  for clip in clips:
    info = video.probe(clip)
    best = _best(clip, _SHORT_SIDE.value, _REPEATS.value)
    cells = []
    for n in names:
      frames, cpu, wall = best[n]
      totals[n] = [totals[n][0] + frames, totals[n][1] + cpu,
                   totals[n][2] + wall]
      cells.append(f'{frames / cpu:15.1f} {frames / wall:7.1f}')
    ratio = best[names[1]][1] / best[names[0]][1]
    ratios.append(ratio)
    print(f'{clip.name:40s} {f"{info.width}x{info.height}":>10s} '
          f'{best[names[0]][0]:4d} ' + ' '.join(cells) + f'  {ratio:5.2f}')
  cells = [f'{t[0] / t[1]:15.1f} {t[0] / t[2]:7.1f}' for t in totals.values()]
  ratio = totals[names[1]][1] / totals[names[0]][1]
  print(f'{"all clips":40s} {"":>10s} {totals[names[0]][0]:4d} '
        + ' '.join(cells) + f'  {ratio:5.2f}')
  geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
  faster = names[0] if geo > 1 else names[1]
  print(f'summary: {len(clips)} clips, {totals[names[0]][0]} frames each; '
        f'{names[1]}/{names[0]} CPU-time ratio: {geo:.2f} geometric mean over '
        f'clips ({faster} faster), {ratio:.2f} over all frames; '
        f'DEFAULT_BACKEND = {video.DEFAULT_BACKEND!r}')


if __name__ == '__main__':
  app.run(main)
