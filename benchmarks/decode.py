"""Frames/s per core to decode + resample to 25 fps + resize the fixture clips, OpenCV vs PyAV.

Run (about a minute on 2 cores):
  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/decode.py

Every decoder runs with one thread (cv2.setNumThreads(1), FFmpeg thread_count
1), so the figures are per core.  Each pass decodes every clip with both
decoders (their order alternating between passes); the table keeps the best of
the passes per clip, which damps the noise of a shared machine, and the ratio
of each whole pass shows how much noise is left.  frames/s counts output
frames (at 25 fps) per CPU second of the process; wall-clock figures are
printed beside them (they include waiting for a busy machine's cores).
"""

import os
import pathlib
import statistics
import sys
import time

from absl import app
from absl import flags
import cv2

# benchmarks/flow.py would shadow the flow package: drop this folder from the
# import path so that `import flow` finds the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]

from flow import decoding  # pylint: disable=wrong-import-position
from flow.constants import SHORT_SIDE  # pylint: disable=wrong-import-position

_FIXTURES = flags.DEFINE_string(
    'fixtures', os.environ.get('KINETICS_TF_FIXTURES'),
    'Fixtures folder holding videos/ (default: $KINETICS_TF_FIXTURES).')
_SHORT_SIDE = flags.DEFINE_integer('short_side', SHORT_SIDE,
                                   'Shorter side after resizing (§4.4).')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Timed passes over the clips.')


def _time_decode(path, decoder, short_side):
  """(output frames, CPU seconds, wall seconds) of one single-threaded decode."""
  cpu, wall = time.process_time(), time.perf_counter()
  frames = decoding.decode(path, short_side=short_side, decoder=decoder,
                            threads=1)
  return len(frames), time.process_time() - cpu, time.perf_counter() - wall


def _measure(clips, short_side, repeats):
  """(clip, decoder) -> [(frames, CPU s, wall s)] per pass over every clip.

  Each pass decodes every clip with both decoders, the first decoder
  alternating between passes so neither always runs on a warmer cache.
  """
  runs = {}
  for r in range(repeats):
    order = decoding.DECODERS[::-1] if r % 2 else decoding.DECODERS
    for clip in clips:
      for decoder in order:
        runs.setdefault((clip, decoder), []).append(
            _time_decode(clip, decoder, short_side))
  return runs


def _print_table(clips, runs, names):
  """Prints best-of frames/s per clip and decoder; returns the all-clip row."""
  print(f'{"clip":40s} {"src":>10s} {"out":>4s} ' + ' '.join(
      f'{n + " f/s cpu":>15s} {"(wall)":>7s}' for n in names) + '  ratio')
  totals = {n: [0, 0.0, 0.0] for n in names}
  for clip in clips:
    info = decoding.probe(clip)
    cells, cpus = [], []
    for n in names:
      frames = runs[(clip, n)][0][0]
      cpu = min(r[1] for r in runs[(clip, n)])
      wall = min(r[2] for r in runs[(clip, n)])
      totals[n] = [totals[n][0] + frames, totals[n][1] + cpu,
                   totals[n][2] + wall]
      cells.append(f'{frames / cpu:15.1f} {frames / wall:7.1f}')
      cpus.append(cpu)
    print(f'{clip.name:40s} {f"{info.width}x{info.height}":>10s} '
          f'{frames:4d} ' + ' '.join(cells) + f'  {cpus[1] / cpus[0]:5.2f}')
  cells = [f'{t[0] / t[1]:15.1f} {t[0] / t[2]:7.1f}' for t in totals.values()]
  print(f'{"all clips (sum of best)":40s} {"":>10s} '
        f'{totals[names[0]][0]:4d} ' + ' '.join(cells) +
        f'  {totals[names[1]][1] / totals[names[0]][1]:5.2f}')


def main(argv):
  del argv
  if not _FIXTURES.value:
    raise app.UsageError('pass --fixtures or set KINETICS_TF_FIXTURES to the '
                         'folder holding videos/')
  cv2.setNumThreads(1)
  clips = sorted(pathlib.Path(_FIXTURES.value, 'videos').iterdir())
  names = decoding.DECODERS
  print(f'decode + resample to 25 fps + resize shorter side to '
        f'{_SHORT_SIDE.value}, 1 thread, best of {_REPEATS.value} passes; '
        f'ratio = {names[1]} CPU s / {names[0]} CPU s (> 1: {names[0]} faster)')
  runs = _measure(clips, _SHORT_SIDE.value, _REPEATS.value)
  _print_table(clips, runs, names)
  passes = [sum(runs[(c, names[1])][r][1] for c in clips) /
            sum(runs[(c, names[0])][r][1] for c in clips)
            for r in range(_REPEATS.value)]
  median = statistics.median(passes)
  print(f'ratio of each whole pass: {" ".join(f"{p:.2f}" for p in passes)}')
  print(f'summary: {len(clips)} clips x {_REPEATS.value} passes x '
        f'{len(names)} decoders; median pass ratio {median:.2f} '
        f'({names[0] if median > 1 else names[1]} faster by '
        f'{abs(median - 1) * 100:.0f}%); DEFAULT_DECODER = '
        f'{decoding.DEFAULT_DECODER!r}')


if __name__ == '__main__':
  app.run(main)
