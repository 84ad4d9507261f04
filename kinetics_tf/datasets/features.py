"""The features every clip dataset of the library stores, and how frames are encoded.

Features (names kept so that TF Model Garden's ``VideoTfdsDecoder`` reads
``video`` and ``label`` unchanged):

* ``video``: ``tfds.features.Video``, one JPEG per frame -> uint8 [T,H,W,3]
  RGB at 25 fps, shorter side resized (SPEC.md, §4.4).
* ``flow`` (flow configs only): TV-L1 flow of the clip, quantised as
  ``flow.quantize`` does (0..255 linear over [-20, 20] px); field ``t`` is the
  motion from frame t to t+1 (``flow/tvl1.py`` explains the T-1 alignment).
  In the per-field layouts (below) plain TFDS decodes it to
  ``{'x': uint8 [T-1,H,W,1], 'y': uint8 [T-1,H,W,1]}``; :func:`flow_array`
  makes any layout uint8 [T-1,H,W,2], x then y.
* ``label``: ``ClassLabel``; -1 marks an unlabelled clip (an official test CSV
  without labels): TFDS's own "no label" value, which ClassLabel accepts.
* ``youtube_id`` (the clip's source id; file stem for non-YouTube sets),
  ``time_start`` / ``time_end`` (float32 s in the source video),
  ``num_frames`` (int32 T), ``source_fps`` (float32, before resampling).
* The record features (int32; only in sets with records, in every split):
  ``first_frame``, ``clip_frames``, ``record_index``, ``clip_records``,
  ``record_stride``, ``record_overlap`` (``RECORD_FEATURES``, below).

Records: by default an example is a whole clip.  A TFRecord is read and
parsed whole, so a training sample of one frame (the RGB stream) or ten
flow fields pays for the clip's 250 frames and 249 fields: 9.7 MB and 26 MB
at side 340 for 39 kB and 0.6 MB used (docs/BENCHMARKS.md, "Training
input").  With ``StorageConfig.train_record_stride=S`` the 'train' split
stores each clip as overlapping records (``kinetics_tf.data.records``
defines the cut): record ``j`` of ``clip_records`` holds the clip's frames
``[first_frame, first_frame + num_frames)`` and the flow fields between
them, so that every footprint of up to ``record_overlap + 1`` frames lies
whole in the record of its start.  An example of such a train split is a
record, NOT a clip: ``num_frames`` is the record's, ``clip_frames``,
``time_*`` and ``youtube_id`` its clip's.  A reader that wants clips reads
validation and test (whole clips, ``clip_records`` 1) or a whole-clip
config.  TFDS shuffles the records at write time, so a batch mixes clips.
The input pipeline draws from the records the paper's distribution exactly
(``kinetics_tf.input.train_pipeline``): a start among those its record owns,
and a number of samples per record read that weighs every clip alike.

Flow layouts (``FLOW_FORMATS``):

* ``'png'`` (the default of the builders' current versions): ``flow`` is a
  FeaturesDict of two ``tfds.features.Video`` features, ``x`` and ``y``, one
  single-channel PNG per field (as denseflow's and mmaction2's rawframes keep
  ``flow_x`` / ``flow_y``, here inside the records).  PNG is lossless, so a
  stored field is bit-identical to ``flow.quantize(flow.tvl1(...))``.  Read
  with ``tfds.decode.SkipDecoding`` the fields stay encoded until
  ``kinetics_tf.input.ops.gather_fields`` decodes the ones a sample uses: a
  flow-stream training sample decodes its 10 fields, where the zlib layout
  made every sample inflate all 249 fields of a 10 s clip (docs/BENCHMARKS.md,
  "Training input").  One image per channel because TF's PNG decoder refuses
  2-channel images.  Built-in TFDS features: any TFDS reader opens the
  dataset without this package.
* ``'jpeg'``: the same two Video features as grayscale JPEG at
  ``FLOW_JPEG_QUALITY`` (the convention of DeepMind's I3D, MediaPipe's and
  denseflow's flow): smaller and faster to decode, but lossy;
  ``benchmarks/input.py`` measures its error against the lossless flow.
* ``'zlib'``: one ``tfds.features.Tensor`` uint8 [T-1,H,W,2] per example
  compressed with zlib (4.5 kB per field at side 128, ``benchmarks/build.py``),
  lossless.  The builders' earlier versions stored it per whole clip, so a
  sample inflated all 249 fields (still read: ``tfds.builder(name,
  version=...)``); in records of a few fields (``train_record_stride``)
  a record is one flow stack, and zlib is the fastest lossless layout to
  sample: inflating 10 fields costs less than decoding 20 PNGs (the
  ``two_stream340`` and ``flow340`` configs; docs/BENCHMARKS.md).
"""

from typing import Optional, Sequence

import cv2
import numpy as np
import tensorflow_datasets as tfds

# Quality of the 'jpeg' flow layout: the flow tool's (denseflow's default).
from flow.constants import FLOW_JPEG_QUALITY  # noqa: F401  pylint: disable=g-bad-import-order

# cv2 / TF default JPEG quality; benchmarks/build.py measures the bytes.
JPEG_QUALITY = 95

FLOW_PNG, FLOW_JPEG, FLOW_ZLIB = 'png', 'jpeg', 'zlib'
FLOW_FORMATS = (FLOW_PNG, FLOW_JPEG, FLOW_ZLIB)


def check_flow_format(flow_format: str) -> str:
  """``flow_format`` if it is one of FLOW_FORMATS; raises ValueError otherwise."""
  if flow_format not in FLOW_FORMATS:
    raise ValueError(f'flow_format={flow_format!r}: use one of {FLOW_FORMATS}')
  return flow_format


# What a reader of the data alone (features.json) needs to turn flow into pixels.
FLOW_DOC = ('TV-L1 optical flow of the RGB frames at their stored size: T frames '
            'give T-1 fields, field t is the motion from frame t to frame t+1. '
            'uint8, linear over [-20, 20] px (truncated): px = v * 40 / 255 - 20; '
            '{layout}')
_FLOW_LAYOUTS = {
    FLOW_ZLIB: 'one [T-1, H, W, 2] tensor, channel 0 horizontal (x), 1 vertical (y).',
    'x': 'horizontal displacement (x), one image per field.',
    'y': 'vertical displacement (y), one image per field.',
    'dict': "'x' (horizontal) then 'y' (vertical), one image per field each; "
            'stack them on the last axis as [T-1, H, W, 2].',
}


def flow_feature(flow_format: str, num_fields: Optional[int] = None,
                 height: Optional[int] = None, width: Optional[int] = None):
  """The ``flow`` feature of one layout (see the module docstring)."""
  check_flow_format(flow_format)
  doc = lambda layout: FLOW_DOC.format(layout=_FLOW_LAYOUTS[layout])  # pylint: disable=g-long-lambda
  if flow_format == FLOW_ZLIB:
    return tfds.features.Tensor(shape=(num_fields, height, width, 2),
                                dtype=np.uint8, encoding='zlib', doc=doc(FLOW_ZLIB))
  channel = lambda c: tfds.features.Video(  # pylint: disable=g-long-lambda
      shape=(num_fields, height, width, 1), encoding_format=flow_format, doc=doc(c))
  return tfds.features.FeaturesDict({'x': channel('x'), 'y': channel('y')},
                                    doc=doc('dict'))


def encode_flow(flow_u8: np.ndarray, flow_format: str,
                jpeg_quality: int = FLOW_JPEG_QUALITY):
  """uint8 flow [T-1,H,W,2] -> the value of the ``flow`` feature of a layout.

  'png' / 'jpeg': {'x': [bytes per field], 'y': [...]}, encoded by OpenCV
  (PNG at its default compression level); 'zlib': the array itself.
  """
  check_flow_format(flow_format)
  if flow_format == FLOW_ZLIB:
    return flow_u8
  ext = '.png' if flow_format == FLOW_PNG else '.jpg'
  params = ([] if flow_format == FLOW_PNG else
            [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
  out = {}
  for c, name in enumerate(('x', 'y')):
    out[name] = []
    for field in flow_u8:
      ok, buf = cv2.imencode(ext, np.ascontiguousarray(field[..., c]), params)
      if not ok:
        raise ValueError(f'{flow_format} encoding of a flow field failed')
      out[name].append(buf.tobytes())
  return out


def flow_array(value) -> np.ndarray:
  """A decoded ``flow`` value (NumPy, any layout) -> uint8 [T-1,H,W,2]."""
  if isinstance(value, dict):
    return np.concatenate([np.asarray(value['x']), np.asarray(value['y'])],
                          axis=-1)
  return np.asarray(value)


def flow_format_of(features) -> Optional[str]:
  """The flow layout of a dataset's features (None: no flow), as stored."""
  if 'flow' not in features:
    return None
  feature = features['flow']
  if isinstance(feature, tfds.features.Tensor):
    return FLOW_ZLIB
  return feature['x'].feature.encoding_format


# The features of a record (``kinetics_tf.data.records``), in every split of
# a set with records (a whole clip is its only record).
RECORD_FEATURES = {
    'first_frame': 'index in its clip of the record\'s first frame',
    'clip_frames': 'frames of the clip the record was cut from',
    'record_index': 'j: the record\'s place in its clip, from 0',
    'clip_records': 'R: records the clip was cut into (1: the whole clip)',
    'record_stride': 'starts of the longest footprint per record, at most',
    'record_overlap': 'frames a record holds past its starts (its longest '
                      'footprint spans record_overlap + 1 frames)',
}


def clip_features(class_names: Sequence[str], with_flow: bool,
                  num_frames: Optional[int] = None,
                  height: Optional[int] = None,
                  width: Optional[int] = None,
                  flow_format: str = FLOW_PNG,
                  with_video: bool = True,
                  with_records: bool = False
                  ) -> tfds.features.FeaturesDict:
  """The FeaturesDict of a clip dataset (see the module docstring).

  Args:
    class_names: label names in index order.
    with_flow: whether to store the ``flow`` feature.
    num_frames, height, width: fixed sizes where every clip has them
      (synthetic sets); None where they vary (real videos).
    flow_format: the flow layout, one of FLOW_FORMATS.
    with_video: whether to store the frames; False (with flow) makes a
      flow-only set, whose records the flow stream reads without the RGB
      frames' bytes (docs/BENCHMARKS.md, "Training input").
    with_records: store the record features ``RECORD_FEATURES`` (sets whose
      training clips are several records; see "Records" in the module
      docstring).
  """
  if not (with_video or with_flow):
    raise ValueError('a clip dataset stores frames, flow or both')
  t, h, w = num_frames, height, width
  feats = {
      'label': tfds.features.ClassLabel(names=list(class_names)),
      'youtube_id': tfds.features.Text(),
      'time_start': tfds.features.Scalar(dtype=np.float32),
      'time_end': tfds.features.Scalar(dtype=np.float32),
      'num_frames': tfds.features.Scalar(dtype=np.int32),
      'source_fps': tfds.features.Scalar(dtype=np.float32),
  }
  if with_records:
    for name, doc in RECORD_FEATURES.items():
      feats[name] = tfds.features.Scalar(dtype=np.int32, doc=doc)
  if with_video:
    feats['video'] = tfds.features.Video(
        shape=(t, h, w, 3), encoding_format='jpeg',
        doc='RGB frames, uint8 [T, H, W, 3], JPEG-encoded; flow field t lies '
            'between frames t and t+1.')
  if with_flow:
    feats['flow'] = flow_feature(flow_format, None if t is None else t - 1,
                                 h, w)
  return tfds.features.FeaturesDict(feats)
