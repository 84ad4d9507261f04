"""The preparation stage: each clip decoded, encoded and its TV-L1 flow computed once, into one file.

Per clip: decode (``flow.decoding``: 25 fps, shorter side resized; §4.4),
encode every frame as JPEG (the dataset builders' quality) and, when asked,
compute the quantised TV-L1 flow (``flow.tvl1.quantised_flow``) stored per
field as lossless PNG, x and y.  A clip's result is one file,
``<folder>/<key>.rgb_flow.npz`` (``<key>.rgb.npz`` when prepared without
flow; replaced by the former when flow is asked for later), written
atomically (``flow.storage``), so its existence means it is complete: a rerun skips it, and a job killed at any
moment loses only the clips in flight.  A clip that cannot be prepared
(corrupt, too short, an error) gets ``<key>.skip.json`` instead, in the
build report's terms, so it is reported on every rerun but tried once.

The folder (``folder_for``) is named by everything that decides a file's
content (``Params``: side, fps, JPEG quality, TV-L1 backend and parameters,
seconds kept), so a clip prepared with other parameters is never reused and
every dataset config with these parameters reads the same files: one with
flow or without, whatever its flow layout (PNG is lossless, so any layout
is made from it without loss).  ``manifest.json`` records the parameters.

A prepared file is a NumPy ``.npz`` without pickles: ``frames`` (the JPEG
bytes joined) and ``frame_ends`` (where each ends), likewise ``flow_x`` /
``flow_x_ends`` and ``flow_y`` / ``flow_y_ends``, and ``meta`` (JSON).
``flow.prepare_run`` runs many clips on a worker pool; ``flow.beam`` as a
Beam pipeline.
"""

import dataclasses
import hashlib
import io
import json
import time
import zipfile
from typing import NamedTuple, Optional

import cv2
import numpy as np

from flow import decoding
from flow import storage
from flow.tvl1 import quantised_flow
from flow.backends import choose_backend, tvl1_params
from flow.constants import BACKENDS, FPS, FRAME_JPEG_QUALITY, SHORT_SIDE

FORMAT_VERSION = 1
MANIFEST = 'manifest.json'
FLOW_SUFFIX, FRAMES_SUFFIX = '.rgb_flow.npz', '.rgb.npz'
SKIP_SUFFIX = '.skip.json'
# Why a clip is left out: the words of the dataset builders' build report
# (kinetics_tf.datasets.clips.SKIP_KINDS; a test checks they agree).
MISSING, CORRUPT, TOO_SHORT, FAILED = 'missing', 'corrupt', 'too_short', 'failed'
PREPARED, REUSED = 'prepared', 'reused'  # The statuses of a clip that is there.


@dataclasses.dataclass(frozen=True)
class Params:
  """What decides a prepared clip's content (and names its folder).

  Attributes:
    short_side: shorter side after a bilinear resize (None = stored size).
    fps: frame rate of the frames (§4.4: 25).
    jpeg_quality: JPEG quality of the frames.
    backend: TV-L1 backend, 'opencv' or 'tf' (``resolve`` turns 'auto' into
      one of them: their flows differ slightly).
    tvl1_params: DualTVL1 parameters, (name, value) pairs.
    max_seconds: decode at most this many seconds of a clip (None = all).
  """
  short_side: Optional[int] = SHORT_SIDE
  fps: float = FPS
  jpeg_quality: int = FRAME_JPEG_QUALITY
  backend: str = 'opencv'
  tvl1_params: tuple = ()
  max_seconds: Optional[float] = None

  def __post_init__(self):
    if self.backend not in BACKENDS:
      raise ValueError(f'Params.backend {self.backend!r}: one of {BACKENDS} '
                       "(flow.prepare.resolve turns 'auto' into one)")
    tvl1_params(**dict(self.tvl1_params))  # Raises on an unknown name.

  def folder_name(self) -> str:
    """'side340_fps25_q95_opencv_<digest of every field>'."""
    fields = json.dumps(dataclasses.asdict(self), sort_keys=True)
    digest = hashlib.sha1(fields.encode()).hexdigest()[:10]
    side = self.short_side or 'stored'
    return (f'side{side}_fps{self.fps:g}_q{self.jpeg_quality}_{self.backend}'
            f'_{digest}')


def resolve(backend: str = 'opencv', **fields) -> Params:
  """Params with ``backend`` resolved ('auto' -> what choose_backend picks)."""
  params = dict(fields.get('tvl1_params', ()))
  return Params(backend=choose_backend(backend, **params), **fields)


class Clip(NamedTuple):
  """A clip to prepare: ``key`` names its file (unique in its folder; '/'
  makes sub-folders); ``path`` is its video (None: not found); ``start`` /
  ``end`` the seconds to cut (None: from the start / to the end)."""
  key: str
  path: Optional[str]
  start: Optional[float] = None
  end: Optional[float] = None


class Prepared(NamedTuple):
  """A prepared clip: JPEG bytes per frame, flow as {'x': [PNG bytes per
  field], 'y': [...]} (None when prepared without flow), source fps, and
  how its TV-L1 stopped (``tvl1_rule``; '' without flow)."""
  frames: list
  flow: Optional[dict]
  source_fps: float
  tvl1_rule: str = ''


@dataclasses.dataclass
class Result:
  """What became of one clip: status PREPARED, REUSED or a skip kind."""
  key: str
  status: str
  reason: str = ''
  frames: int = 0
  tvl1: bool = False  # TV-L1 ran for this clip in this call.
  seconds: float = 0.0


def folder_for(root, params: Params) -> str:
  """The prepared folder of ``params`` under ``root``."""
  return storage.join(root, params.folder_name())


def clip_file(folder, key: str, with_flow: bool) -> str:
  """Where a clip prepared with (or without) flow is."""
  return storage.join(folder, key + (FLOW_SUFFIX if with_flow else
                                     FRAMES_SUFFIX))


def find(folder, key: str, with_flow: bool) -> Optional[str]:
  """The file of a finished clip that serves ``with_flow``, or None."""
  for flow_file in ((True,) if with_flow else (True, False)):
    path = clip_file(folder, key, flow_file)
    if storage.exists(path):
      return path
  return None


def skip_file(folder, key: str) -> str:
  return storage.join(folder, key + SKIP_SUFFIX)


def write_manifest(folder, params: Params) -> None:
  """Creates ``folder`` with its manifest, or checks the one it has.

  Raises:
    ValueError: the folder holds clips prepared with other parameters.
  """
  manifest = {'format_version': FORMAT_VERSION,
              'params': dataclasses.asdict(params),
              'frames': 'JPEG per frame', 'flow': 'uint8 quantised TV-L1 '
              '(flow.quantize), one PNG per field and channel (x, y)'}
  text = json.dumps(manifest, indent=2, sort_keys=True)
  path = storage.join(folder, MANIFEST)
  if storage.exists(path):
    old = json.loads(storage.read_bytes(path))
    if json.loads(text) != old:
      raise ValueError(f'{path} describes other parameters ({old}); prepare '
                       'into the folder that flow.prepare.folder_for names')
    return
  storage.makedirs(folder)
  storage.write_atomic(path, text.encode())


def encode_frames(frames, jpeg_quality: int, with_flow: bool, name: str):
  """(JPEG bytes per frame, gray frames or None) of RGB frames as they come.

  Raises decoding.DecodeError naming ``name`` when the frames change size.
  """
  jpegs, grays, shape = [], [], None
  args = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
  for frame in frames:
    if shape is None:
      shape = frame.shape
    elif frame.shape != shape:
      raise decoding.DecodeError(name, f'frame size changes mid-stream: '
                                 f'{shape} then {frame.shape}')
    ok, buf = cv2.imencode('.jpg', np.ascontiguousarray(frame[..., ::-1]),
                           args)
    if not ok:
      raise decoding.DecodeError(name, 'JPEG encoding failed')
    jpegs.append(buf.tobytes())
    if with_flow:
      grays.append(decoding.to_gray(frame))
  return jpegs, grays if with_flow else None


def encode_flow_png(flow_u8: np.ndarray) -> dict:
  """uint8 flow [T-1,H,W,2] -> {'x': [PNG bytes per field], 'y': [...]}."""
  out = {}
  for c, axis in enumerate('xy'):
    out[axis] = []
    for field in flow_u8:
      ok, buf = cv2.imencode('.png', np.ascontiguousarray(field[..., c]))
      if not ok:
        raise ValueError('PNG encoding of a flow field failed')
      out[axis].append(buf.tobytes())
  return out


def decode(clip: Clip, params: Params, with_flow: bool,
           threads: Optional[int] = None) -> tuple:
  """(JPEG bytes per frame, gray frames or None, source fps) of one clip.

  Raises:
    decoding.DecodeError: the video cannot be decoded.
  """
  with storage.local_copy(clip.path) as path:
    info = decoding.probe(path)
    start, end = clip.start, clip.end
    if params.max_seconds is not None:
      first = start or 0.0
      end = first + params.max_seconds if end is None else min(
          end, first + params.max_seconds)
    frames = decoding.iter_frames(path, start, end, fps=params.fps,
                                  short_side=params.short_side,
                                  threads=threads)
    jpegs, grays = encode_frames(frames, params.jpeg_quality, with_flow,
                                 str(clip.path))
  return jpegs, grays, float(info.fps)


def tvl1_rule(params: Params, height: int, width: int) -> str:
  """How the TV-L1 of this process stops for frames of this size: 'opencv'
  (OpenCV's epsilon rule, both backends on CPUs) or 'fixed:N' (the TF
  backend's fixed budget of N steps per warp, on an accelerator)."""
  if params.backend != 'tf':
    return 'opencv'
  from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
  if tvl1_tf.default_stopping() == 'opencv':
    return 'opencv'
  return f'fixed:{tvl1_tf.fixed_iterations(height, width)}'


def compute(clip: Clip, params: Params, with_flow: bool,
            threads: Optional[int] = None) -> Prepared:
  """Decodes, encodes and (``with_flow``) computes the flow of one clip.

  Raises:
    decoding.DecodeError: the video cannot be decoded.
  """
  jpegs, grays, source_fps = decode(clip, params, with_flow, threads)
  if grays is None or len(grays) < 2:
    return Prepared(jpegs, None, source_fps)
  gray = np.stack(grays)
  flow = encode_flow_png(quantised_flow(gray, params.backend,
                                        **dict(params.tvl1_params)))
  return Prepared(jpegs, flow, source_fps,
                  tvl1_rule(params, *gray.shape[1:]))


def _joined(parts: list) -> tuple:
  ends = np.cumsum([len(p) for p in parts], dtype=np.int64)
  return np.frombuffer(b''.join(parts), np.uint8), ends


def _split(data: np.ndarray, ends: np.ndarray) -> list:
  raw, starts = data.tobytes(), np.concatenate([[0], ends[:-1]])
  return [raw[a:b] for a, b in zip(starts, ends)]


def pack(prepared: Prepared) -> bytes:
  """A Prepared clip -> the bytes of its file (see the module docstring)."""
  arrays = {}
  arrays['frames'], arrays['frame_ends'] = _joined(prepared.frames)
  if prepared.flow is not None:
    for axis in 'xy':
      arrays[f'flow_{axis}'], arrays[f'flow_{axis}_ends'] = _joined(
          prepared.flow[axis])
  meta = {'source_fps': prepared.source_fps, 'num_frames': len(
      prepared.frames), 'format_version': FORMAT_VERSION}
  if prepared.tvl1_rule:
    meta['tvl1_rule'] = prepared.tvl1_rule
  arrays['meta'] = np.array(json.dumps(meta))
  buf = io.BytesIO()
  np.savez(buf, **arrays)
  return buf.getvalue()


def unpack(data: bytes) -> Prepared:
  """The inverse of ``pack``."""
  with np.load(io.BytesIO(data), allow_pickle=False) as z:
    meta = json.loads(str(z['meta']))
    frames = _split(z['frames'], z['frame_ends'])
    flow = ({axis: _split(z[f'flow_{axis}'], z[f'flow_{axis}_ends'])
             for axis in 'xy'} if 'flow_x' in z else None)
  return Prepared(frames, flow, float(meta['source_fps']),
                  meta.get('tvl1_rule', ''))


def read_skip(folder, key: str) -> Optional[Result]:
  """The recorded failure of a clip, or None."""
  path = skip_file(folder, key)
  if not storage.exists(path):
    return None
  return Result(**json.loads(storage.read_bytes(path)))


def record(folder, key: str, kind: str, reason: str, start: float) -> Result:
  """Records a clip's failure once (its skip file) and returns it."""
  result = Result(key, kind, reason, seconds=time.perf_counter() - start)
  storage.write_atomic(skip_file(folder, key),
                       json.dumps(dataclasses.asdict(result)).encode())
  return result


def ensure(clip: Clip, folder, params: Params, with_flow: bool,
           threads: Optional[int] = None) -> tuple:
  """(Result, Prepared or None): the clip's file, read or made now.

  Reuses a finished file (with flow when ``with_flow``; one that no longer
  reads, damaged on disk, is made again); a recorded failure
  is returned as it was recorded, not retried; a missing video is reported
  (not recorded: it may be downloaded later).  Never raises for a bad clip.
  """
  start = time.perf_counter()
  if clip.path is None or not storage.exists(clip.path):
    return Result(clip.key, MISSING, 'no video file found for this clip'), None
  recorded = read_skip(folder, clip.key)
  if recorded is not None:
    return recorded, None
  found = find(folder, clip.key, with_flow)
  if found is not None:
    try:
      prepared = unpack(storage.read_bytes(found))
    except (ValueError, KeyError, zipfile.BadZipFile):
      storage.remove(found)  # Damaged after it was written: made again.
    else:
      return _done(clip.key, REUSED, prepared, with_flow, start), prepared
  make_room(folder, clip.key, params)
  try:
    prepared = compute(clip, params, with_flow, threads)
  except Exception as e:  # pylint: disable=broad-except
    return failed(folder, clip.key, e, start), None
  return store(folder, clip.key, prepared, with_flow, start), prepared


def failed(folder, key: str, error: Exception, start: float) -> Result:
  """Records why a clip could not be prepared: CORRUPT for a video that
  does not decode, FAILED for any other error (one clip must not stop a
  run of 300k; the record keeps the error)."""
  if isinstance(error, decoding.DecodeError):
    return record(folder, key, CORRUPT, error.reason, start)
  return record(folder, key, FAILED, f'{type(error).__name__}: {error}', start)


def store(folder, key: str, prepared: Prepared, with_flow: bool,
          start: float) -> Result:
  """Writes a computed clip's file atomically (or records a clip without
  frames) and returns its Result."""
  if not prepared.frames:
    return record(folder, key, CORRUPT, 'no frames in the clip window', start)
  path = clip_file(folder, key, with_flow)
  storage.write_atomic(path, pack(prepared))
  if with_flow and storage.exists(clip_file(folder, key, False)):
    storage.remove(clip_file(folder, key, False))  # Superseded.
  return _done(key, PREPARED, prepared, with_flow, start)


def make_room(folder, key: str, params: Params) -> None:
  """Creates the folder of a clip's file, and the manifest if it has none."""
  if not storage.exists(storage.join(folder, MANIFEST)):
    write_manifest(folder, params)
  storage.makedirs(clip_file(folder, key, True).rpartition('/')[0])


def _done(key, status, prepared: Prepared, with_flow: bool, start) -> Result:
  """The Result of a clip whose file is there: TOO_SHORT when flow is
  wanted from one frame (the file stays: frame-only sets use it)."""
  n = len(prepared.frames)
  if with_flow and n < 2:
    status = TOO_SHORT
  return Result(key, status, f'{n} frame: flow needs at least 2'
                if status == TOO_SHORT else '', frames=n,
                tvl1=status == PREPARED and prepared.flow is not None,
                seconds=time.perf_counter() - start)


def prepare_clip(clip: Clip, folder, params: Params, with_flow: bool,
                 threads: Optional[int] = None) -> Result:
  """``ensure`` without handing back the frames (what a worker returns)."""
  return ensure(clip, folder, params, with_flow, threads)[0]
