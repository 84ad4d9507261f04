"""One clip in, one TFDS example (or one skip record) out: the unit every builder runs.

A ``Job`` describes a clip (its id, split, label and where its frames come
from); ``process`` turns it into an example dict for ``features.clip_features``
or, when the clip is missing, corrupt or too short, into a ``Skip`` record that
names the clip, the split and the reason.  Everything here is picklable, so
the same code runs in-process, in worker processes and on Beam workers.
A clip with a video file is read from the preparation stage
(``flow.prepare``: JPEG frames and PNG flow fields, computed once per clip
and parameters, on demand when its file is not there yet) when
``Options.prepared_dir`` is set, as the builders set it: the example then
holds the prepared bytes, which TFDS stores without decoding or re-encoding
(the 'zlib' flow layout is decoded to its uint8 array, which TFDS
compresses).  Synthetic clips (and ``prepared_dir=None``) are built here:
frames encoded as they are decoded, flow computed in chunks and kept as
uint8.
"""

import dataclasses
from typing import Iterator, NamedTuple, Optional, Union

import cv2
import numpy as np

import flow
from flow.constants import FPS
from flow import decoding as video_lib
from flow import prepare
from kinetics_tf.data import records
from kinetics_tf.datasets import features as features_lib

# Skip reasons, the columns of the build summary (the preparation stage
# records its failures in the same words).
MISSING = prepare.MISSING
CORRUPT = prepare.CORRUPT
TOO_SHORT = prepare.TOO_SHORT
FAILED = prepare.FAILED
BAD_ROW = 'bad_row'  # an annotation row that could not be read
SKIP_KINDS = (MISSING, CORRUPT, TOO_SHORT, FAILED, BAD_ROW)

class Job(NamedTuple):
  """One clip to build.

  Attributes:
    key: unique within its split (the example key and the report's clip id).
    split: TFDS split name ('train', 'validation', 'test').
    youtube_id: the clip's source id (file stem for non-YouTube sets).
    label: class name, or None for an unlabelled clip (stored as -1).
    time_start, time_end: seconds in the source video; time_end None = the
      decoded length.
    path: video file, or None when the clip's file was not found.
    window: (start, end) seconds to cut from ``path``, or None = whole file.
    seed: synthetic clips: the render seed (a tuple of ints).
  """
  key: str
  split: str
  youtube_id: str
  label: Optional[str]
  time_start: float = 0.0
  time_end: Optional[float] = None
  path: Optional[str] = None
  window: Optional[tuple] = None
  seed: Optional[tuple] = None


class Skip(NamedTuple):
  """A clip left out of the dataset, and why (one row of the build report)."""
  key: str
  split: str
  kind: str
  reason: str


@dataclasses.dataclass(frozen=True)
class Options:
  """How clips are stored.

  Attributes:
    short_side: shorter side after a bilinear resize (None = stored size).
    with_flow: compute and store TV-L1 flow.
    tvl1_params: DualTVL1 parameters for ``flow.tvl1`` as (name, value)
      pairs (empty = OpenCV's defaults, as the paper's flow).
    jpeg_quality: JPEG quality of the stored frames.
    max_seconds: decode at most this many seconds of a file (None = all).
    fps: frame rate of the stored frames (§4.4: 25).
    flow_backend: ``flow.tvl1`` backend, 'opencv' (the paper's flow; the
      default here, the builders pass theirs) or
      'tf' (TensorFlow/XLA, OpenCV's algorithm and stopping rule).
    flow_format: how flow is stored, one of ``features.FLOW_FORMATS``
      ('png': lossless, one image per field and channel).
    flow_jpeg_quality: JPEG quality of the 'jpeg' flow layout.
    with_video: store the frames (False: a flow-only set).
    record_stride: None = one example per clip; S = records of at most S
      starts each (``kinetics_tf.data.records``, ``split_records``).
    record_overlap: frames each record holds past its starts: the longest
      footprint the records serve spans ``record_overlap + 1`` frames.
    record_features: store the record features
      (``features.RECORD_FEATURES``; a set with records stores them in
      every split, a whole clip being its only record).
    prepared_dir: root of the preparation stage's folders
      (``flow.prepare.folder_for``); None = build clips here.
  """
  short_side: Optional[int] = None
  with_flow: bool = False
  tvl1_params: tuple = ()
  jpeg_quality: int = features_lib.JPEG_QUALITY
  max_seconds: Optional[float] = None
  fps: float = FPS
  flow_backend: str = 'opencv'
  flow_format: str = features_lib.FLOW_PNG
  flow_jpeg_quality: int = features_lib.FLOW_JPEG_QUALITY
  with_video: bool = True
  record_stride: Optional[int] = None
  record_overlap: int = 0
  record_features: bool = False
  prepared_dir: Optional[str] = None


class FileSource:
  """Frames of a job's video file, decoded with the library's conventions."""

  def frames(self, job: Job, opts: Options) -> tuple[Iterator[np.ndarray],
                                                     float]:
    """(frame iterator, source fps); raises video_lib.DecodeError."""
    info = video_lib.probe(job.path)
    start, end = job.window or (None, None)
    if opts.max_seconds is not None:
      first = start or 0.0
      end = first + opts.max_seconds if end is None else min(
          end, first + opts.max_seconds)
    frames = video_lib.iter_frames(job.path, start, end, fps=opts.fps,
                                   short_side=opts.short_side)
    return frames, float(info.fps)


def encode_frames(frames, opts: Options, path: str = '<frames>'):
  """JPEG-encodes frames as they come and computes their flow.

  Args:
    frames: an iterable of uint8 [H,W,3] RGB frames.
    opts: Options (jpeg_quality, with_flow, tvl1_params).
    path: the clip's name for error messages.

  Returns:
    (list of JPEG bytes, uint8 flow [T-1,H,W,2] or None).

  Raises:
    video_lib.DecodeError: the frames change size mid-clip.
  """
  jpegs, grays = prepare.encode_frames(frames, opts.jpeg_quality,
                                       opts.with_flow, path)
  flow_u8 = flow_of(np.stack(grays), opts) if opts.with_flow and grays else None
  return jpegs, flow_u8


def flow_of(gray: np.ndarray, opts: Options) -> np.ndarray:
  """uint8 quantised TV-L1 flow [T-1,H,W,2] of grayscale frames, in chunks.

  ``flow.quantised_flow``, equal to ``flow.quantize(flow.tvl1(gray,
  **params))`` (the whole clip in one call under ``useInitialFlow``).
  """
  return flow.quantised_flow(gray, opts.flow_backend,
                             **dict(opts.tvl1_params))


def make_example(job: Job, jpegs, flow_value, source_fps: float,
                 opts: Options) -> dict:
  """The example dict of ``features.clip_features`` for an encoded clip
  (``flow_value``: the ``flow`` feature's value, ``features.encode_flow``)."""
  num_frames = len(jpegs)
  time_end = job.time_end
  if time_end is None:
    time_end = job.time_start + num_frames / opts.fps
  example = {
      'video': jpegs,
      'label': job.label if job.label is not None else -1,
      'youtube_id': job.youtube_id,
      'time_start': np.float32(job.time_start),
      'time_end': np.float32(time_end),
      'num_frames': np.int32(num_frames),
      'source_fps': np.float32(source_fps),
  }
  if opts.record_features:
    example.update(whole_clip_record(num_frames, opts))
  if not opts.with_video:
    del example['video']
  if opts.with_flow:
    example['flow'] = flow_value
  return example


def prepare_params(opts: Options) -> prepare.Params:
  """The preparation stage's parameters of clips stored as ``opts`` says."""
  return prepare.resolve(
      opts.flow_backend, short_side=opts.short_side, fps=opts.fps,
      jpeg_quality=opts.jpeg_quality, tvl1_params=tuple(opts.tvl1_params),
      max_seconds=opts.max_seconds)


def prepared_clip(job: Job) -> prepare.Clip:
  """The preparation stage's clip of a job: keyed ``split/key``."""
  start, end = job.window or (None, None)
  return prepare.Clip(f'{job.split}/{job.key}', job.path, start, end)


def flow_value(flow_png: dict, opts: Options):
  """The prepared PNG flow fields -> the ``flow`` value of ``opts``' layout:
  the PNG bytes themselves, grayscale JPEG bytes, or the uint8 array of
  'zlib' (PNG is lossless: each equals ``features.encode_flow`` of the
  flow)."""
  if opts.flow_format == features_lib.FLOW_PNG:
    return flow_png
  decoded = np.stack([np.stack([
      cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_UNCHANGED)
      for b in flow_png[axis]]) for axis in 'xy'], axis=-1)
  return features_lib.encode_flow(decoded, opts.flow_format,
                                  opts.flow_jpeg_quality)


def _process_prepared(job: Job, opts: Options) -> Union[tuple, Skip]:
  """``process`` of a video file through the preparation stage."""
  params = prepare_params(opts)
  result, prepared = prepare.ensure(
      prepared_clip(job), prepare.folder_for(opts.prepared_dir, params),
      params, opts.with_flow)
  if prepared is None or result.status == TOO_SHORT:
    return Skip(job.key, job.split, result.status, result.reason)
  flow_out = flow_value(prepared.flow, opts) if opts.with_flow else None
  return job.key, make_example(job, prepared.frames, flow_out,
                               prepared.source_fps, opts)


def process(job: Job, source, opts: Options) -> Union[tuple, Skip]:
  """Builds one clip: (key, example), or a Skip saying why it was left out.

  Never raises for a bad clip: a missing file, a DecodeError, a clip too
  short for flow and any other error of this clip become a Skip, so one bad
  clip never stops a build.
  """
  if job.path is None and job.seed is None:
    return Skip(job.key, job.split, MISSING, 'no video file found for this '
                'clip')
  if opts.prepared_dir is not None and job.seed is None:
    return _process_prepared(job, opts)
  try:
    frames, source_fps = source.frames(job, opts)
    jpegs, flow_u8 = encode_frames(frames, opts, job.path or job.key)
  except video_lib.DecodeError as e:
    return Skip(job.key, job.split, CORRUPT, e.reason)
  except Exception as e:  # pylint: disable=broad-except
    # One clip must not stop a build of 300k; the report keeps the error.
    return Skip(job.key, job.split, FAILED, f'{type(e).__name__}: {e}')
  if not jpegs:
    return Skip(job.key, job.split, CORRUPT, 'no frames in the clip window')
  if opts.with_flow and len(jpegs) < 2:
    return Skip(job.key, job.split, TOO_SHORT,
                f'{len(jpegs)} frame: flow needs at least 2')
  flow_out = (features_lib.encode_flow(flow_u8, opts.flow_format,
                                       opts.flow_jpeg_quality)
              if opts.with_flow else None)
  return job.key, make_example(job, jpegs, flow_out, source_fps, opts)


def whole_clip_record(num_frames: int, opts: Options) -> dict:
  """The record features of a clip stored whole (its only record)."""
  return {'first_frame': np.int32(0), 'clip_frames': np.int32(num_frames),
          'record_index': np.int32(0), 'clip_records': np.int32(1),
          'record_stride': np.int32(opts.record_stride or 0),
          'record_overlap': np.int32(opts.record_overlap)}


def _slice_flow(flow_value, a: int, b: int):
  """Fields [a, b) of a ``flow`` value of any layout."""
  if isinstance(flow_value, dict):
    return {c: v[a:b] for c, v in flow_value.items()}
  return flow_value[a:b]


def split_records(key: str, example: dict, stride: int,
                  overlap: int) -> list[tuple[str, dict]]:
  """One clip's example -> its (key, example) records (``data.records``).

  Record ``j`` holds frames ``[a, b)`` of ``records.record_bounds`` and
  the ``b - a - 1`` flow fields between them (field ``t`` of a record is
  the motion from its frame ``t`` to the next, as in a whole clip), so
  records overlap by ``overlap`` frames and each holds every footprint of
  up to ``overlap + 1`` frames that starts in its part of the clip.  Each
  keeps the clip's label, id and times, sets ``num_frames`` to its own
  frame count and the record features (``features.RECORD_FEATURES``), and
  is keyed ``key/first_frame``.
  """
  num_frames = int(example['num_frames'])
  bounds = records.record_bounds(num_frames, stride, overlap)
  out = []
  for j, (a, b) in enumerate(bounds):
    record = dict(example, num_frames=np.int32(b - a), first_frame=np.int32(a),
                  clip_frames=np.int32(num_frames), record_index=np.int32(j),
                  clip_records=np.int32(len(bounds)),
                  record_stride=np.int32(stride),
                  record_overlap=np.int32(overlap))
    if 'video' in example:
      record['video'] = example['video'][a:b]
    if example.get('flow') is not None:
      record['flow'] = _slice_flow(example['flow'], a, b - 1)
    out.append((f'{key}/{a:06d}', record))
  return out


def build(job: Job, source, opts: Options) -> Union[list, Skip]:
  """``process``, then the clip's records: a list of (key, example), one per
  record (``opts.record_stride``; one for a whole clip), or a Skip."""
  result = process(job, source, opts)
  if isinstance(result, Skip):
    return result
  if opts.record_stride is None:
    return [result]
  return split_records(*result, opts.record_stride, opts.record_overlap)
