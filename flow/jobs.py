"""The flow extractor's work per video, shared by its two binaries.

``compute_flow`` decodes a video (flow.decoding) and computes its quantised
TV-L1 flow (flow.quantised_chunks); ``process`` writes it atomically
(flow.outputs) and says what happened in a ``Result``; ``run`` does that for
many videos on worker processes.  ``define_flags`` / ``options_from`` /
``check_inputs`` are the flags of ``python -m flow.extract`` and
``python -m flow.beam`` and their checks.
"""

import ast
import dataclasses
import itertools
import multiprocessing
import pathlib
import time
from typing import Optional

from absl import flags
import cv2
import numpy as np
import tqdm

from flow import decoding
from flow import prepare
from flow.app import UserError
from flow.backends import choose_backend, pin_threads, tf_unsupported
from flow.backends import tvl1_params
from flow.constants import (CHOICES, DEFAULT_BACKEND,
                            FLOW_JPEG_QUALITY, FPS, SHORT_SIDE)
from flow.inputs import list_videos
from flow.outputs import FORMATS, check_writable, write_jpeg, write_npy
from flow.tvl1 import quantised_chunks


@dataclasses.dataclass(frozen=True)
class Options:
  """How each video is turned into flow (shared by the CLI and Beam)."""
  fmt: str = 'npy'
  fps: float = FPS
  short_side: int | None = SHORT_SIDE
  max_frames: int | None = None
  backend: str = DEFAULT_BACKEND  # flow.backends.choose_backend resolves it.
  params: tuple = ()  # (name, value) pairs for flow.tvl1.
  jpeg_quality: int = FLOW_JPEG_QUALITY
  # Frame pairs per flow.tvl1 call (bounds memory); None: flow.tvl1.chunk_size.
  chunk: Optional[int] = None
  overwrite: bool = False
  threads: int = 1  # OpenCV and decoder threads per worker process.
  # Root of flow.prepare folders: take each video's flow from there, or put
  # it there (so other runs and the dataset builders reuse it); None = not.
  prepared_dir: str | None = None


@dataclasses.dataclass
class Result:
  """What happened to one video: status is 'done', 'skipped' or 'failed'."""
  video: str
  output: str
  status: str
  reason: str = ''
  pairs: int = 0
  seconds: float = 0.0


def prepare_params(opts: Options) -> prepare.Params:
  """The flow.prepare parameters of the extractor's options."""
  return prepare.Params(
      short_side=opts.short_side, fps=opts.fps,
      backend=choose_backend(opts.backend, **dict(opts.params)),
      tvl1_params=tuple(opts.params))


def prepared_flow(video, key, opts: Options):
  """(frames, uint8 flow or None) of `video` from (or put into) the
  prepared folder: a video's TV-L1 runs once over runs and formats."""
  params = prepare_params(opts)
  result, clip = prepare.ensure(
      prepare.Clip(str(key), str(video)),
      prepare.folder_for(opts.prepared_dir, params), params, True,
      opts.threads)
  if clip is None:
    raise decoding.DecodeError(video, f'{result.status}: {result.reason}')
  if clip.flow is None:
    return len(clip.frames), None
  return len(clip.frames), np.stack([np.stack([
      cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_UNCHANGED)
      for b in clip.flow[axis]]) for axis in 'xy'], axis=-1)


def compute_flow(video, opts: Options,
                 key=None) -> tuple[int, np.ndarray | None]:
  """(frames decoded, uint8 flow [T-1,H,W,2] or None if T < 2) of `video`
  (through the prepared folder, keyed `key`, with ``opts.prepared_dir``)."""
  if opts.prepared_dir is not None:
    return prepared_flow(video, key or pathlib.Path(video).stem, opts)
  frames = decoding.iter_frames(str(video), fps=opts.fps,
                                short_side=opts.short_side,
                                threads=opts.threads)
  if opts.max_frames:
    frames = itertools.islice(frames, opts.max_frames)
  count = 0

  def gray():
    nonlocal count
    for frame in frames:
      count += 1
      yield decoding.to_gray(frame)

  chunks = list(quantised_chunks(gray(), opts.backend, opts.chunk,
                                 **dict(opts.params)))
  return count, (np.concatenate(chunks) if chunks else None)


def process(video, output, opts: Options, key=None) -> Result:
  """Computes and writes one video's flow; bad input gives a Result, not an
  error.  ``key`` names it in a prepared folder (default: its stem)."""
  start = time.perf_counter()
  output = pathlib.Path(output)
  result = Result(str(video), str(output), 'failed')
  try:
    count, flow_u8 = compute_flow(video, opts, key)
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
  except decoding.DecodeError as e:
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
    raise UserError(f'--tvl1 wants NAME=VALUE, got {text!r}')


def define_flags(flag_values: flags.FlagValues) -> None:
  """The flags of both `python -m flow.extract` and `python -m flow.beam`."""
  fv = dict(flag_values=flag_values)
  flags.DEFINE_string('out_dir', None, 'Output folder.', **fv)
  flags.mark_flag_as_required('out_dir', flag_values=flag_values)
  flags.DEFINE_enum('format', 'npy', FORMATS,
                    'npy: one uint8 [T-1,H,W,2] array per video; jpeg: a '
                    'folder of x_00001.jpg/y_00001.jpg per video.', **fv)
  flags.DEFINE_integer('short_side', SHORT_SIDE,
                       'Resize the shorter side to this (0: keep size); '
                       f"{SHORT_SIDE} as the paper's ResNet-50 flow stream "
                       '(§4.4), 256 for I3D.', lower_bound=0, **fv)
  flags.DEFINE_float('fps', FPS, 'Frame rate the video is resampled to '
                     '(§4.4: 25).', lower_bound=0.001, **fv)
  flags.DEFINE_integer('max_frames', 0,
                       'Decode at most this many frames (0: all).',
                       lower_bound=0, **fv)
  flags.DEFINE_enum('backend', DEFAULT_BACKEND, CHOICES,
                    'TV-L1 implementation; auto: the TF backend (measured '
                    '5-8x faster on CPUs, docs/BENCHMARKS.md) unless '
                    'TensorFlow is not installed or the --tvl1 parameters '
                    'need OpenCV.', **fv)
  flags.DEFINE_multi_string('tvl1', [],
                            'A DualTVL1 parameter NAME=VALUE, e.g. --tvl1 '
                            'warps=3 (repeat the flag for more).', **fv)
  flags.DEFINE_integer('jpeg_quality', FLOW_JPEG_QUALITY,
                       'JPEG quality of --format jpeg.', lower_bound=1,
                       upper_bound=100, **fv)
  flags.DEFINE_bool('overwrite', False,
                    'Recompute videos whose output exists.', **fv)
  flags.DEFINE_integer('threads', 1,
                       'OpenCV (and TF) threads per worker process.',
                       lower_bound=1, **fv)
  flags.DEFINE_string('prepared_dir', None,
                      'Root of prepared clip folders (flow.prepare; '
                      'kinetics-tf prepare): each video\'s flow is taken from '
                      'there or computed into it, so its TV-L1 runs once '
                      'over runs, output formats and dataset builds.', **fv)


def options_from(flag_values: flags.FlagValues) -> Options:
  """The Options the parsed flags ask for.

  Raises:
    UserError: a --tvl1 value that is not NAME=VALUE.
  """
  f = flag_values
  if f.prepared_dir and f.max_frames:
    raise UserError('--max_frames cannot be used with --prepared_dir (a '
                    'prepared clip holds the whole video); leave one out.')
  return Options(fmt=f.format, fps=f.fps, short_side=f.short_side or None,
                 max_frames=f.max_frames or None, backend=f.backend,
                 params=tuple(_param(t) for t in f.tvl1),
                 jpeg_quality=f.jpeg_quality, overwrite=f.overwrite,
                 threads=f.threads, prepared_dir=f.prepared_dir)


def check_inputs(inputs, opts: Options, out_dir):
  """Lists the videos and checks the TV-L1 parameters and the output folder.

  Returns:
    The (video, key) pairs of flow.inputs.list_videos.

  Raises:
    UserError: no inputs, a missing input, clashing names, a bad TV-L1
      parameter or backend, or an output folder that cannot be written.
  """
  if not inputs:
    raise UserError('no videos given; name video files, folders or list '
                    'files (.txt) before the flags.')
  try:
    videos = list_videos(inputs)
    params = dict(opts.params)
    tvl1_params(**params)
    problem = tf_unsupported(params) if opts.backend == 'tf' else ''
    if problem:
      raise ValueError(f'--backend tf does not implement {problem}; use '
                       '--backend opencv or auto.')
  except (OSError, ValueError) as e:
    raise UserError(str(e)) from e
  problem = check_writable(out_dir)
  if problem:
    raise UserError(problem)
  return videos
