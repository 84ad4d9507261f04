r"""Extract TV-L1 flow for many videos, in parallel, resumably, writing atomically.

  python -m flow.extract VIDEO|FOLDER|LIST.txt ... --out_dir DIR \
      [--format npy|jpeg] [--short_side 340] [--workers N] [--threads 1]

Each video gives one output under --out_dir (a folder input's tree is
mirrored): ``NAME.npy``, a uint8 array [T-1, H, W, 2] (x, y), or a folder
``NAME/`` of ``x_00001.jpg`` / ``y_00001.jpg`` frames, where number i holds
``flow[i-1]``, the motion from frame i to frame i+1 (1-based frames).  An
output exists only once complete: it is written under a temporary name and
renamed, so a re-run skips finished videos and redoes only the rest.
"""

import argparse
import ast
import dataclasses
import itertools
import multiprocessing
import os
import pathlib
import sys
import time

import numpy as np
import tqdm

from flow import video as video_lib
from flow.constants import FPS
from flow.outputs import (FORMATS, check_writable, is_done, output_path,
                          read_flow, remove_stale_tmps, write_jpeg, write_npy)
from flow.tvl1 import (CHOICES, choose_backend, pin_threads, quantize,
                       tf_unsupported, tvl1, tvl1_params)

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.flv',
                  '.mpg', '.mpeg', '.3gp', '.ogv', '.wmv')
LIST_SUFFIXES = ('.txt', '.lst', '.list')
# SPEC.md / §4.4: the flow stream is a ResNet-50 fed 299x299 crops of frames
# whose shorter side is 340 px, and flow is computed after resizing.
DEFAULT_SHORT_SIDE = 340
__all__ = ['FORMATS', 'Options', 'Result', 'check_inputs', 'compute_flow',
           'is_done', 'list_videos', 'main', 'output_path', 'process',
           'read_flow', 'remove_stale_tmps', 'run', 'summarize']


@dataclasses.dataclass(frozen=True)
class Options:
  """How each video is turned into flow (shared by the CLI and Beam)."""
  fmt: str = 'npy'
  fps: float = FPS
  short_side: int | None = DEFAULT_SHORT_SIDE
  max_frames: int | None = None
  backend: str = 'auto'  # flow.tvl1.choose_backend resolves it.
  params: tuple = ()  # (name, value) pairs for flow.tvl1.
  jpeg_quality: int = 95
  chunk: int = 16  # Frame pairs per flow.tvl1 call (bounds memory).
  overwrite: bool = False
  threads: int = 1  # OpenCV and decoder threads per worker process.


@dataclasses.dataclass
class Result:
  """What happened to one video: status is 'done', 'skipped' or 'failed'."""
  video: str
  output: str
  status: str
  reason: str = ''
  pairs: int = 0
  seconds: float = 0.0


def list_videos(inputs) -> list[tuple[pathlib.Path, pathlib.PurePath]]:
  """(video path, output key) for each input: video, folder or list file.

  A folder gives every video below it, keyed by its path relative to the
  folder; a list file (.txt/.lst/.list) one path per line (blank lines and
  '#' comments skipped; relative paths are relative to the list's folder and
  keep their relative path as key); anything else is taken as one video.

  Raises:
    FileNotFoundError: an input that does not exist.
    ValueError: two videos that would write the same output.
  """
  pairs = []
  for item in map(pathlib.Path, inputs):
    if item.is_dir():
      for path in sorted(item.rglob('*')):
        if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file():
          pairs.append((path, path.relative_to(item).with_suffix('')))
    elif not item.exists():
      raise FileNotFoundError(f'flow input {item} does not exist.')
    elif item.suffix.lower() in LIST_SUFFIXES:
      for line in item.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
          entry = pathlib.Path(line)
          key = pathlib.PurePath(entry.name if entry.is_absolute() else entry)
          pairs.append((item.parent / entry, key.with_suffix('')))
    else:
      pairs.append((item, pathlib.PurePath(item.stem)))
  seen = {}
  for path, key in pairs:
    if key in seen:
      raise ValueError(f'{seen[key]} and {path} would both write flow "{key}";'
                       ' rename one or extract them into different --out_dir.')
    seen[key] = path
  return pairs


def compute_flow(video, opts: Options) -> tuple[int, np.ndarray | None]:
  """(frames decoded, uint8 flow [T-1,H,W,2] or None if T < 2) of `video`."""
  params = dict(opts.params)
  frames = video_lib.iter_frames(str(video), fps=opts.fps,
                                 short_side=opts.short_side,
                                 threads=opts.threads)
  if opts.max_frames:
    frames = itertools.islice(frames, opts.max_frames)
  chunks, gray, count = [], [], 0
  for frame in frames:
    gray.append(video_lib.to_gray(frame[None])[0])
    count += 1
    if len(gray) == opts.chunk + 1:
      chunks.append(quantize(tvl1(np.stack(gray), opts.backend, **params)))
      gray = gray[-1:]
  if len(gray) > 1:
    chunks.append(quantize(tvl1(np.stack(gray), opts.backend, **params)))
  return count, (np.concatenate(chunks) if chunks else None)


def process(video, output, opts: Options) -> Result:
  """Computes and writes one video's flow; bad input gives a Result, not an error."""
  start = time.perf_counter()
  output = pathlib.Path(output)
  result = Result(str(video), str(output), 'failed')
  try:
    count, flow_u8 = compute_flow(video, opts)
    if flow_u8 is None:
      result.status = 'skipped'
      result.reason = (f'{count} frame(s) decoded: no flow' if count else
                       'no frames decoded')
    else:
      output.parent.mkdir(parents=True, exist_ok=True)
      if opts.fmt == 'npy':
        write_npy(flow_u8, output)
      else:
        write_jpeg(flow_u8, output, opts.jpeg_quality)
      result.status, result.pairs = 'done', len(flow_u8)
  except video_lib.DecodeError as e:
    result.reason = f'cannot decode: {e}'
  except OSError as e:
    result.reason = f'cannot write {output}: {e}'
  except Exception as e:  # pylint: disable=broad-except  # Keep the run going.
    result.reason = f'{type(e).__name__}: {e}'
  result.seconds = time.perf_counter() - start
  return result


def init_worker(threads: int, backend: str = 'opencv') -> None:
  """Sets OpenCV's threads in a worker process (flow and resizing), and
  TensorFlow's when the TF backend computes the flow."""
  pin_threads(threads, tensorflow=backend == 'tf')


def _process_job(job) -> Result:
  return process(*job)


def run(jobs, workers: int, progress: bool = True):
  """Runs process() over (video, output, opts) jobs on `workers` processes.

  Yields each Result as it finishes, updating a progress bar of videos and
  pairs done, pairs/s and ETA.
  """
  start, pairs = time.perf_counter(), 0
  bar = tqdm.tqdm(total=len(jobs), unit='video', desc='flow',
                  disable=not progress, dynamic_ncols=True)
  opts = jobs[0][2] if jobs else Options()
  setup = (opts.threads, choose_backend(opts.backend, **dict(opts.params)))
  workers = min(workers, len(jobs))
  if workers <= 1:
    init_worker(*setup)
    results, pool = map(_process_job, jobs), None
  else:
    ctx = multiprocessing.get_context('spawn')  # Safe with any backend.
    pool = ctx.Pool(workers, init_worker, setup)
    results = pool.imap_unordered(_process_job, jobs)
  try:
    for result in results:
      pairs += result.pairs
      rate = pairs / max(time.perf_counter() - start, 1e-9)
      bar.set_postfix_str(f'{pairs} pairs, {rate:.1f} pairs/s', refresh=False)
      bar.update()
      yield result
  finally:
    bar.close()
    if pool is not None:
      pool.terminate()


def summarize(results, seconds: float) -> str:
  """One closing line: done (pairs, pairs/s), skipped by reason, failed."""
  done = [r for r in results if r.status == 'done']
  skipped = [r for r in results if r.status == 'skipped']
  failed = [r for r in results if r.status == 'failed']
  pairs = sum(r.pairs for r in done)
  reasons = {}
  for r in skipped:
    key = r.reason if r.reason == 'already done' else 'too few frames'
    reasons[key] = reasons.get(key, 0) + 1
  why = ', '.join(f'{n} {k}' for k, n in sorted(reasons.items()))
  return (f'flow: {len(results)} videos: {len(done)} done ({pairs} pairs, '
          f'{pairs / max(seconds, 1e-9):.1f} pairs/s), {len(skipped)} skipped'
          f'{f" ({why})" if why else ""}, {len(failed)} failed')


def _param(text: str):
  """'NAME=VALUE' -> (name, Python value); 'true'/'false' are booleans."""
  name, sep, value = text.partition('=')
  value = {'true': 'True', 'false': 'False'}.get(value.lower(), value)
  try:
    return name, ast.literal_eval(value)
  except (ValueError, SyntaxError):
    if sep and name and value:
      return name, value  # A plain string, e.g. stopping=fixed.
    raise argparse.ArgumentTypeError(f'--tvl1 wants NAME=VALUE, got {text!r}')


def add_flags(parser: argparse.ArgumentParser) -> None:
  """Flags shared by `python -m flow.extract` and `python -m flow.beam`."""
  parser.add_argument('--helpfull', action='help',
                      help='the same as --help: every flag is listed here')
  parser.add_argument('inputs', nargs='+',
                      help='videos, folders of videos, or list files (.txt)')
  parser.add_argument('--out_dir', required=True, help='output folder')
  parser.add_argument('--format', choices=FORMATS, default='npy',
                      help='npy: one uint8 [T-1,H,W,2] array per video; '
                      'jpeg: a folder of x_00001.jpg/y_00001.jpg per video')
  parser.add_argument('--short_side', type=int, default=DEFAULT_SHORT_SIDE,
                      help='resize the shorter side to this (0: keep size); '
                      '340 as the paper\'s ResNet-50 flow stream, 256 for I3D')
  parser.add_argument('--fps', type=float, default=FPS)
  parser.add_argument('--max_frames', type=int, default=0,
                      help='decode at most this many frames (0: all)')
  parser.add_argument('--backend', choices=CHOICES,
                      default='auto',
                      help='TV-L1 implementation; auto: the TF backend '
                      'unless the --tvl1 parameters need OpenCV (measured '
                      '5-8x faster on CPUs, docs/BENCHMARKS.md)')
  parser.add_argument('--tvl1', type=_param, action='append', default=[],
                      metavar='NAME=VALUE',
                      help='a DualTVL1 parameter, e.g. --tvl1 warps=3')
  parser.add_argument('--jpeg_quality', type=int, default=95)
  parser.add_argument('--overwrite', action='store_true',
                      help='recompute videos whose output exists')
  parser.add_argument('--threads', type=int, default=1,
                      help='OpenCV (and TF) threads per worker process')


def options_from(args) -> Options:
  return Options(fmt=args.format, fps=args.fps,
                 short_side=args.short_side or None,
                 max_frames=args.max_frames or None, backend=args.backend,
                 params=tuple(args.tvl1), jpeg_quality=args.jpeg_quality,
                 overwrite=args.overwrite, threads=args.threads)


def check_inputs(args):
  """Lists the videos and checks the TV-L1 parameters and --out_dir.

  Returns:
    (videos as list_videos gives them, None), or (None, what is wrong).
  """
  try:
    videos = list_videos(args.inputs)
    params = dict(args.tvl1)
    tvl1_params(**params)
    problem = tf_unsupported(params) if args.backend == 'tf' else ''
    if problem:
      raise ValueError(f'--backend tf does not implement {problem}; use '
                       '--backend opencv or auto.')
  except (OSError, ValueError) as e:
    return None, str(e)
  problem = check_writable(args.out_dir)
  return (None, problem) if problem else (videos, None)


def main(argv=None) -> int:
  """CLI entry point; returns 0, 1 if some video failed, 2 on a usage error."""
  parser = argparse.ArgumentParser(prog='kinetics-flow', description=__doc__,
                                   formatter_class=argparse.RawTextHelpFormatter)
  add_flags(parser)
  parser.add_argument('--workers', type=int, default=os.cpu_count() or 1,
                      help='worker processes (default: all cores)')
  parser.add_argument('--no_progress', action='store_true')
  args = parser.parse_args(argv)
  # TF's start-up and compile logs (TF backend) would bury the progress bar.
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  opts = options_from(args)
  videos, problem = check_inputs(args)
  if problem:
    print(f'flow.extract: {problem}', file=sys.stderr)
    return 2
  backend = choose_backend(opts.backend, **dict(opts.params))
  print(f'flow.extract: TV-L1 backend {backend}'
        f'{" (auto)" if opts.backend == "auto" else ""}, {args.workers} '
        f'worker(s) x {opts.threads} thread(s)')
  stale = remove_stale_tmps(args.out_dir)
  if stale:
    print(f'flow.extract: removed {stale} unfinished output(s) of killed runs')
  results, jobs = [], []
  for video, key in videos:
    output = output_path(args.out_dir, key, opts.fmt)
    if is_done(output) and not opts.overwrite:
      results.append(Result(str(video), str(output), 'skipped', 'already done'))
    else:
      jobs.append((video, output, opts))
  start, left = time.perf_counter(), len(jobs)
  try:
    for result in run(jobs, args.workers, not args.no_progress):
      results.append(result)
      left -= 1
      if result.status != 'done':
        tqdm.tqdm.write(f'flow.extract: {result.status} {result.video}: '
                        f'{result.reason}', file=sys.stderr)
  except KeyboardInterrupt:
    print(f'flow.extract: interrupted; {left} videos left for the next run',
          file=sys.stderr)
    return 130
  finally:
    print(summarize(results, time.perf_counter() - start))
  return 1 if any(r.status == 'failed' for r in results) else 0


if __name__ == '__main__':
  sys.exit(main())
