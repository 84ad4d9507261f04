"""Video decoding with the project's conventions: RGB uint8 frames at 25 fps, shorter side resized.

The one decoder of the project: the flow tool and ``kinetics_tf`` (builders,
predict, curation) import it from here, so that the frames fed to the RGB
models and to TV-L1 follow one convention.  It lives in ``flow/`` because
``flow/`` must stand alone (it imports nothing from ``kinetics_tf``) for a
cluster worker.  Two decoders read the files, PyAV and OpenCV's FFmpeg
capture (``DECODERS``; not to be confused with the TV-L1 backends of
``flow.backends``).  The conventions:

* Time: source frame ``i`` (from the first decoded frame) covers
  ``[i / src_fps, (i + 1) / src_fps)``, ``src_fps`` being the stream's average
  rate.  Output frame ``k`` is the source frame whose interval contains
  ``start + k / fps``, emitted while that time is before ``end`` and the video's
  end: 10 s at 28 fps give 250 frames at 25 fps, a 6 fps clip repeats frames.
  ``start``/``end`` are seconds from the file's first frame; frames before
  ``start`` are decoded but not converted (no seek).  Container timestamps are
  not used (unreliable in AVI, reported differently by the two decoders), so a
  variable-rate file is taken as constant-rate at its average rate.
* Size: shorter side -> ``short_side``, bilinear, aspect kept, longer side
  rounded half up (1920x1080 -> 604x340); stored pixels (sample aspect ratio
  ignored); ``None`` keeps the stored size.
* Errors: a missing, empty, truncated, corrupt, audio-only, non-video or too
  slow file raises ``DecodeError``.
* Bounds (no decode hangs): a wall-clock budget per call (``timeout``, checked
  before every source frame, shared with the fallback decoder); at most
  1.5 x the header's frame count + 100 frames read (``MAX_SOURCE_FRAMES`` when
  it has none); reading stops once ``end`` is passed.  One FFmpeg call that
  blocks forever cannot be interrupted in-process; no local file did so.
"""

import dataclasses
import math
import os
import time
from typing import Iterator, Optional

import av
import cv2
import numpy as np

from flow.constants import FPS

DECODERS = ('opencv', 'pyav')
# Tried first by decoder='auto', the other being the fallback. benchmarks/decode.py
# finds both equally fast per core; docs/BENCHMARKS.md says why PyAV leads.
DEFAULT_DECODER = 'pyav'
# Wall-clock seconds one decode call may take (both decoders together).
DEFAULT_TIMEOUT = 600.0
# Most source frames read when the header declares no frame count (9 h at 30 fps).
MAX_SOURCE_FRAMES = 1_000_000
# Plausible source frame rates and sizes; anything else is a broken header.
_MAX_SOURCE_FPS = 1000.0
_MAX_SIDE = 16384
# Float tolerance of the time -> frame index rule.
_EPS = 1e-6


class DecodeError(Exception):
  """A video file that cannot give frames; ``path`` and ``reason`` say which and why."""

  def __init__(self, path, reason: str):
    self.path = str(path)
    self.reason = reason
    super().__init__(f'cannot decode {self.path}: {reason}')

  def __reduce__(self):  # Survives pickling between worker processes.
    return (type(self), (self.path, self.reason))


@dataclasses.dataclass(frozen=True)
class VideoInfo:
  """What a video's header says.

  Attributes:
    fps: average source frame rate.
    num_frames: frames the header declares (estimated from the duration when
      the container has no frame count, e.g. WebM).
    width, height: stored frame size in pixels.
    duration: num_frames / fps, seconds: the span the resampling rule covers.
  """
  fps: float
  num_frames: int
  width: int
  height: int
  duration: float


def source_index(k: int, fps: float, source_fps: float,
                 start: float = 0.0) -> int:
  """Index of the source frame shown as output frame ``k`` (module docstring rule)."""
  return math.floor((start + k / fps) * source_fps + _EPS)


def resample_indices(num_frames: int, source_fps: float, fps: float = FPS,
                     start: Optional[float] = None,
                     end: Optional[float] = None) -> np.ndarray:
  """Source frame indices of the resampled clip, for a video of ``num_frames``.

  Args:
    num_frames: source frames in the video.
    source_fps: source frame rate.
    fps: output frame rate.
    start, end: optional trim, seconds from the first frame.

  Returns:
    int64 [T] indices into the source frames (empty when nothing is left).
  """
  start = start or 0.0
  stop = num_frames / source_fps if end is None else min(
      end, num_frames / source_fps)
  count = max(0, math.ceil((stop - start) * fps - _EPS))
  ks = np.arange(count)
  return np.floor((start + ks / fps) * source_fps + _EPS).astype(np.int64)


def resized_size(height: int, width: int, short_side: Optional[int]):
  """(height, width) after resizing the shorter side to ``short_side``."""
  if short_side is None:
    return height, width
  if height <= width:
    return short_side, max(1, math.floor(width * short_side / height + 0.5))
  return max(1, math.floor(height * short_side / width + 0.5)), short_side


def resize_short_side(frames: np.ndarray,
                      short_side: Optional[int]) -> np.ndarray:
  """Resizes the shorter side to ``short_side``, bilinear, aspect ratio kept.

  Args:
    frames: one frame [H,W,3] or [H,W], or frames [T,H,W,3] or [T,H,W] (a
      3-D array whose last axis is 3 is taken as one colour frame).
    short_side: target shorter side in pixels; None returns ``frames`` as is.

  Returns:
    The resized frame(s), same dtype and layout.
  """
  if short_side is None:
    return frames
  if short_side < 1:
    raise ValueError(f'short_side must be a positive int or None, got {short_side}')
  single = frames.ndim == 2 or (frames.ndim == 3 and frames.shape[-1] == 3)
  h, w = frames.shape[:2] if single else frames.shape[1:3]
  new_h, new_w = resized_size(h, w, short_side)
  if (new_h, new_w) == (h, w):
    return frames
  if single:
    return cv2.resize(frames, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
  out = np.empty((len(frames), new_h, new_w) + frames.shape[3:], frames.dtype)
  for i, frame in enumerate(frames):
    out[i] = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
  return out


def to_gray(frames: np.ndarray) -> np.ndarray:
  """RGB uint8 [T,H,W,3] (or one [H,W,3] frame) -> luma uint8 [T,H,W] (ITU-R 601)."""
  if frames.shape[-1] != 3 or frames.ndim not in (3, 4):
    raise ValueError(f'to_gray expects RGB frames [T,H,W,3] or [H,W,3], got '
                     f'shape {frames.shape}')
  flat = np.ascontiguousarray(frames).reshape(-1, frames.shape[-2], 3)
  return cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY).reshape(frames.shape[:-1])


class _OpenCVReader:
  """Sequential frames through cv2.VideoCapture (FFmpeg backend)."""

  def __init__(self, path: str, threads: Optional[int]):
    params = [cv2.CAP_PROP_N_THREADS, threads] if threads else []
    self._cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, params)
    if not self._cap.isOpened():
      raise DecodeError(path, 'OpenCV found no decodable video stream (not a '
                        'video, audio-only, or a corrupt header)')
    self.fps = self._cap.get(cv2.CAP_PROP_FPS)
    self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    self.num_frames = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
    # OpenCV cannot tell an indexed count from an estimate: ask the index.
    self.declared = _declared_frames(path)

  def skip(self) -> bool:
    return self._cap.grab()

  def read(self, short_side: Optional[int]) -> Optional[np.ndarray]:
    ok, frame = self._cap.read()
    if not ok:
      return None
    # Resize before the BGR -> RGB swap: the same pixels, a cheaper swap.
    return cv2.cvtColor(resize_short_side(frame, short_side), cv2.COLOR_BGR2RGB)

  def close(self):
    self._cap.release()


class _PyAVReader:
  """Sequential frames through PyAV (FFmpeg's libraries)."""

  def __init__(self, path: str, threads: Optional[int]):
    self._path, self._threads = path, threads or 0
    try:
      self._container = av.open(path)
    except (av.FFmpegError, OSError, UnicodeDecodeError) as e:
      why = getattr(e, 'strerror', None) or e
      raise DecodeError(path, f'PyAV cannot open it ({why})') from e
    if not self._container.streams.video:
      kinds = sorted({s.type for s in self._container.streams}) or ['none']
      self._container.close()
      raise DecodeError(path, 'no video stream (streams: '
                        f'{", ".join(kinds)}; audio-only or not a video)')
    stream = self._container.streams.video[0]
    stream.thread_type = 'AUTO'
    if threads:
      stream.codec_context.thread_count = threads
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    self.fps = float(rate) if rate else 0.0
    self.width = stream.codec_context.width
    self.height = stream.codec_context.height
    self.num_frames = stream.frames
    self.declared = stream.frames if stream.frames > 0 else None
    if not self.num_frames and stream.duration and stream.time_base:
      seconds = float(stream.duration * stream.time_base)
      self.num_frames = round(seconds * self.fps)
    elif not self.num_frames and self._container.duration:
      self.num_frames = round(self._container.duration / av.time_base * self.fps)
    self._frames = self._container.decode(stream)
    self._count = 0

  def _next(self):
    try:
      frame = next(self._frames)
    except StopIteration:
      return None
    except (av.FFmpegError, OSError) as e:
      raise DecodeError(self._path, f'PyAV failed after frame {self._count} '
                        f'({e})') from e
    self._count += 1
    return frame

  def skip(self) -> bool:
    return self._next() is not None

  def read(self, short_side: Optional[int]) -> Optional[np.ndarray]:
    frame = self._next()
    if frame is None:
      return None
    return resize_short_side(
        frame.to_ndarray(format='rgb24', threads=self._threads), short_side)

  def close(self):
    self._container.close()


_READERS = {'opencv': _OpenCVReader, 'pyav': _PyAVReader}


def _check_header(path: str, reader) -> None:
  """Raises DecodeError for a header no real video has."""
  if not 0 < reader.fps <= _MAX_SOURCE_FPS:
    raise DecodeError(path, f'implausible frame rate {reader.fps} fps in header')
  if not (0 < reader.width <= _MAX_SIDE and 0 < reader.height <= _MAX_SIDE):
    raise DecodeError(path, f'implausible frame size {reader.width}x'
                      f'{reader.height} in header')


def _declared_frames(path: str) -> Optional[int]:
  """The exact frame count of the container's index, or None when it has none."""
  try:
    with av.open(path) as container:
      streams = container.streams.video
      return streams[0].frames if streams and streams[0].frames > 0 else None
  except (av.FFmpegError, OSError, UnicodeDecodeError):
    return None


def _at_end_of_video(path, count, declared, start, emitted, fps_src):
  """Raises DecodeError when the video ended early, empty or before ``start``."""
  if count == 0:
    raise DecodeError(path, 'no video frame could be decoded')
  if declared and count < declared - max(2, declared // 50):
    raise DecodeError(path, f'truncated or corrupt: decoded {count} of the '
                      f'{declared} frames its header declares')
  if emitted == 0:
    raise DecodeError(path, f'no frames at or after start={start} s: the video '
                      f'is {count / fps_src:.3f} s long')


def _decoder_frames(decoder, path, start, end, fps, short_side, threads,
                    deadline) -> Iterator[np.ndarray]:
  """Resampled, resized frames of ``path`` from one decoder."""
  reader = _READERS[decoder](path, threads)
  try:
    _check_header(path, reader)
    declared = reader.declared  # Exact count of the index, or None.
    limit = (int(1.5 * declared) + 100) if declared else MAX_SOURCE_FRAMES
    index, frame, k = -1, None, 0  # Source frame held, output frame next.
    while end is None or start + k / fps < end - _EPS:
      want = source_index(k, fps, reader.fps, start)
      repeat = want == index
      while index < want:
        if time.monotonic() > deadline:
          raise DecodeError(path, f'timed out after reading {index + 1} frames')
        if index + 1 >= limit:
          raise DecodeError(path, f'more than {limit} frames decoded, the '
                            f'header declares {declared}: corrupt stream')
        if index + 1 == want:
          frame = reader.read(short_side)
          ok = frame is not None
        else:
          ok = reader.skip()
        if not ok:
          _at_end_of_video(path, index + 1, declared, start, k, reader.fps)
          return
        index += 1
      yield frame.copy() if repeat else frame
      k += 1
  finally:
    reader.close()


def _check_args(path, start, end, fps, short_side, decoder):
  """Validates arguments; raises DecodeError for a missing or empty file."""
  if decoder != 'auto' and decoder not in DECODERS:
    raise ValueError(f"decoder must be 'auto' or one of {DECODERS}, got "
                     f'{decoder!r}')
  if start < 0 or (end is not None and end <= start):
    raise ValueError(f'need 0 <= start < end, got start={start} end={end} '
                     f'for {path}')
  if fps <= 0:
    raise ValueError(f'fps must be positive, got {fps}')
  if short_side is not None and short_side < 1:
    raise ValueError(f'short_side must be a positive int or None, got '
                     f'{short_side}')
  if not os.path.isfile(path):
    raise DecodeError(path, 'no such file')
  if os.path.getsize(path) == 0:
    raise DecodeError(path, 'the file is empty (0 bytes)')


def iter_frames(path, start: Optional[float] = None,
                end: Optional[float] = None, fps: float = FPS,
                short_side: Optional[int] = None, decoder: str = 'auto', *,
                threads: Optional[int] = None,
                timeout: float = DEFAULT_TIMEOUT) -> Iterator[np.ndarray]:
  """Yields the frames of ``decode`` one by one, never holding the whole video.

  Args: as ``decode``.

  Yields:
    uint8 [H,W,3] RGB frames.

  Raises:
    DecodeError: as ``decode``; frames already yielded stay valid.  When the
      first decoder fails mid-way, the fallback resumes after the frames
      already yielded.
  """
  path = os.fspath(path)
  start = 0.0 if start is None else float(start)
  _check_args(path, start, end, fps, short_side, decoder)
  order = DECODERS if decoder == 'auto' else (decoder,)
  if decoder == 'auto' and DEFAULT_DECODER != DECODERS[0]:
    order = order[::-1]
  deadline = time.monotonic() + timeout
  reasons, done = [], 0
  for name in order:
    try:
      for i, frame in enumerate(_decoder_frames(
          name, path, start, end, fps, short_side, threads, deadline)):
        if i >= done:
          done += 1
          yield frame
      return
    except DecodeError as e:
      reasons.append(f'{name}: {e.reason}')
  raise DecodeError(path, _join(reasons))


def _join(reasons):
  """One reason when every decoder gave the same, else each with its name."""
  texts = {r.split(': ', 1)[1] for r in reasons}
  return texts.pop() if len(texts) == 1 else '; '.join(reasons)


def decode(path, start: Optional[float] = None, end: Optional[float] = None,
           fps: float = FPS, short_side: Optional[int] = None,
           decoder: str = 'auto', *, threads: Optional[int] = None,
           timeout: float = DEFAULT_TIMEOUT) -> np.ndarray:
  """Decodes a video to RGB frames resampled to ``fps``, shorter side resized.

  Args:
    path: video file (any container and codec FFmpeg reads).
    start, end: optional trim in seconds from the file's first frame.
    fps: output frame rate (the paper's 25 by default, §4.4).
    short_side: shorter side in pixels after a bilinear resize; None = stored.
    decoder: 'opencv', 'pyav', or 'auto' (DEFAULT_DECODER, then the other).
    threads: decoder threads; None = the decoder's default (all cores).
    timeout: wall-clock seconds the whole call may take.

  Returns:
    uint8 [T,H,W,3] RGB frames.

  Raises:
    DecodeError: the file is missing, empty, truncated, corrupt, has no video
      stream, has no frame in [start, end), or took longer than ``timeout``.
    ValueError: bad arguments (negative start, end <= start, ...).
  """
  frames = list(iter_frames(path, start, end, fps, short_side, decoder,
                            threads=threads, timeout=timeout))
  if any(f.shape != frames[0].shape for f in frames):
    shapes = sorted({f.shape for f in frames})
    raise DecodeError(path, f'frame size changes mid-stream: {shapes}; pass '
                      'short_side to resize every frame')
  return np.stack(frames)


def probe(path, decoder: str = 'auto') -> VideoInfo:
  """Reads a video's header (no frame is decoded).

  Raises:
    DecodeError: the file is missing, empty, not a video or its header is
      implausible.
  """
  path = os.fspath(path)
  _check_args(path, 0.0, None, FPS, None, decoder)
  order = ('pyav', 'opencv') if decoder == 'auto' else (decoder,)
  reasons = []
  for name in order:
    try:
      reader = _READERS[name](path, None)
    except DecodeError as e:
      reasons.append(f'{name}: {e.reason}')
      continue
    try:
      _check_header(path, reader)
      return VideoInfo(fps=reader.fps, num_frames=reader.num_frames,
                       width=reader.width, height=reader.height,
                       duration=reader.num_frames / reader.fps)
    except DecodeError as e:
      reasons.append(f'{name}: {e.reason}')
    finally:
      reader.close()
  raise DecodeError(path, _join(reasons))
