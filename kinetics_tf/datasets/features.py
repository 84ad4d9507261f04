"""The features every clip dataset of the library stores, and how frames are encoded.

Features (names kept so that TF Model Garden's ``VideoTfdsDecoder`` reads
``video`` and ``label`` unchanged):

* ``video``: ``tfds.features.Video``, one JPEG per frame -> uint8 [T,H,W,3]
  RGB at 25 fps, shorter side resized (SPEC.md, §4.4).
* ``flow`` (flow configs only): uint8 [T-1,H,W,2], x then y, quantised as
  ``flow.quantize`` does (0..255 linear over [-20, 20] px); ``flow[t]`` is the
  motion from frame t to t+1 (``flow/tvl1.py`` explains the T-1 alignment).
* ``label``: ``ClassLabel``; -1 marks an unlabelled clip (an official test CSV
  without labels): TFDS's own "no label" value, which ClassLabel accepts.
* ``youtube_id`` (the clip's source id; file stem for non-YouTube sets),
  ``time_start`` / ``time_end`` (float32 s in the source video),
  ``num_frames`` (int32 T), ``source_fps`` (float32, before resampling).

Flow encoding, chosen by ``benchmarks/build.py`` (docs/BENCHMARKS.md): a
``tfds.features.Tensor`` of uint8 [T-1,H,W,2] compressed with zlib.  Measured
on TV-L1 flow of a Kinetics clip at shorter side 128: 4.5 kB per field (10%
of raw), decoded in 0.4 ms per field by one ``tf.io.decode_compressed`` per
clip; lossless, so a stored field is bit-identical to
``flow.quantize(flow.tvl1(...))``; and a TFDS built-in feature, so any TFDS
reader opens the dataset without this package.  Rejected: per-frame
2-channel PNG (the same size, 2% smaller; 3.7x slower to decode; TF's PNG
decoder refuses channels=2, so it needs a custom feature); JPEG of x and y as
grayscale frames (1.7x / 2.4x smaller at q95 / q90 but lossy, up to 9 / 14
quantisation steps = 1.4 / 2.2 px off, and 3-5x slower to decode); raw bytes
(10x larger).
"""

from typing import Optional, Sequence

import numpy as np
import tensorflow_datasets as tfds

# cv2 / TF default JPEG quality; benchmarks/build.py measures the bytes.
JPEG_QUALITY = 95


def clip_features(class_names: Sequence[str], with_flow: bool,
                  num_frames: Optional[int] = None,
                  height: Optional[int] = None,
                  width: Optional[int] = None) -> tfds.features.FeaturesDict:
  """The FeaturesDict of a clip dataset (see the module docstring).

  Args:
    class_names: label names in index order.
    with_flow: whether to store the ``flow`` feature.
    num_frames, height, width: fixed sizes where every clip has them
      (synthetic sets); None where they vary (real videos).
  """
  t, h, w = num_frames, height, width
  feats = {
      'video': tfds.features.Video(shape=(t, h, w, 3),
                                   encoding_format='jpeg'),
      'label': tfds.features.ClassLabel(names=list(class_names)),
      'youtube_id': tfds.features.Text(),
      'time_start': tfds.features.Scalar(dtype=np.float32),
      'time_end': tfds.features.Scalar(dtype=np.float32),
      'num_frames': tfds.features.Scalar(dtype=np.int32),
      'source_fps': tfds.features.Scalar(dtype=np.float32),
  }
  if with_flow:
    feats['flow'] = tfds.features.Tensor(
        shape=(None if t is None else t - 1, h, w, 2), dtype=np.uint8,
        encoding='zlib')
  return tfds.features.FeaturesDict(feats)
