r"""Extract TV-L1 flow for many videos, in parallel, resumably, writing atomically.

  python -m flow.extract VIDEO|FOLDER|LIST.txt ... --out_dir DIR \
      [--format npy|jpeg] [--short_side 340] [--workers N] [--threads 1]
  kinetics-flow ...      (the same; also kinetics-tf flow ...)

Each video gives one output under --out_dir (a folder input's tree is
mirrored): ``NAME.npy``, a uint8 array [T-1, H, W, 2] (x, y), or a folder
``NAME/`` of ``x_00001.jpg`` / ``y_00001.jpg`` frames, where number i holds
``flow[i-1]``, the motion from frame i to frame i+1 (1-based frames).  An
output exists only once complete: it is written under a temporary name and
renamed, so a re-run skips finished videos and redoes only the rest.
With ``--prepared_dir`` the flow goes through the preparation stage
(``flow.prepare``): each video's TV-L1 runs once whatever formats and runs
follow, and the dataset builders reuse it where the keys (relative paths)
and parameters agree.
"""

import os
import sys
import time

from absl import flags
import tqdm

from flow import app
from flow import jobs
from flow import outputs
from flow.backends import choose_backend
from flow.constants import AUTO

PROG = 'flow.extract'  # Starts its error and progress lines.


def _main(flag_values: flags.FlagValues, inputs: list) -> int:
  """Extracts the flow; 0, 1 if some video failed, 130 when interrupted."""
  f = flag_values
  # TF's start-up and compile logs (TF backend) would bury the progress bar.
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  opts = jobs.options_from(f)
  videos = jobs.check_inputs(inputs, opts, f.out_dir)
  backend = choose_backend(opts.backend, **dict(opts.params))
  print(f'{PROG}: TV-L1 backend {backend}'
        f'{" (auto)" if opts.backend == AUTO else ""}, {f.workers} '
        f'worker(s) x {opts.threads} thread(s)')
  stale = outputs.remove_stale_tmps(f.out_dir)
  if stale:
    print(f'{PROG}: removed {stale} unfinished output(s) of killed runs')
  results, todo = [], []
  for video, key in videos:
    output = outputs.output_path(f.out_dir, key, opts.fmt)
    if outputs.is_done(output) and not opts.overwrite:
      results.append(jobs.Result(str(video), str(output), 'skipped',
                                 'already done'))
    else:
      todo.append((video, output, opts, key))
  start, left = time.perf_counter(), len(todo)
  try:
    for result in jobs.run(todo, f.workers, not f.no_progress):
      results.append(result)
      left -= 1
      if result.status != 'done':
        tqdm.tqdm.write(f'{PROG}: {result.status} {result.video}: '
                        f'{result.reason}', file=sys.stderr)
  except KeyboardInterrupt:
    print(f'{PROG}: interrupted; {left} videos left for the next run',
          file=sys.stderr)
    return 130
  finally:
    print(jobs.summarize(results, time.perf_counter() - start))
  return 1 if any(r.status == 'failed' for r in results) else 0


def define_flags(flag_values: flags.FlagValues) -> None:
  """The flags of flow.jobs plus the worker pool's."""
  jobs.define_flags(flag_values)
  flags.DEFINE_integer('workers', os.cpu_count() or 1,
                       'Worker processes (default: all cores).',
                       lower_bound=1, flag_values=flag_values)
  flags.DEFINE_bool('no_progress', False, 'No progress bar.',
                    flag_values=flag_values)


def main(argv=None) -> int:
  """CLI entry point; returns 0, 1 if some video failed, 2 on a user's
  mistake (one line; the traceback with --verbose)."""
  return app.run(_main, define_flags, PROG, __doc__, argv)


if __name__ == '__main__':
  sys.exit(main())
