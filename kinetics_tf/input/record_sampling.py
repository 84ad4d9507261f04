"""Training samples from a split stored as records, drawn as the paper draws them from clips.

The layout and why this sampling is exact are in ``kinetics_tf.data.records``
(the same arithmetic on Python ints, which the builders cut with): a record
owns a run of its clip's starts; a sample takes a start uniformly among the
owned ones, and a record read gives a random number of samples whose mean
is ``owned * G / C`` (``C`` the clip's starts, ``G`` the records of a 10 s
clip).  Every start of every clip is then equally likely (§4.4; SPEC.md,
"Training input"), whatever the clip's length and the record it lies in.

Examples carry the record features of ``features.RECORD_FEATURES``; a whole
clip (``clip_records`` 1) owns all its starts, as ``ops.random_start``
draws them.
"""

import tensorflow as tf

from kinetics_tf import errors
from kinetics_tf.data import records as records_lib
from kinetics_tf.datasets import features as features_lib
from kinetics_tf.input import ops

KEYS = tuple(features_lib.RECORD_FEATURES)


def has_records(example) -> bool:
  """Whether ``example`` (a dict, or a dataset's element_spec) has them."""
  return all(k in example for k in KEYS)


def _int(example, key):
  return tf.cast(example[key], tf.int64)


def owned_starts(example, span: int, on_flow: bool):
  """(begin, end, starts): the record's owned starts [begin, end) in its
  clip's units (frames, or fields ``on_flow``) and the clip's starts ``C``
  of a footprint of ``span`` units."""
  units = _int(example, 'clip_frames') - (1 if on_flow else 0)
  starts = tf.maximum(units - span + 1, 1)
  index, count = _int(example, 'record_index'), _int(example, 'clip_records')
  return index * starts // count, (index + 1) * starts // count, starts


def reference_records(example):
  """G: the records of a 10 s clip in this record's layout (1 for a split
  of whole clips, whose stride is 0)."""
  stride = _int(example, 'record_stride')
  starts = tf.maximum(records_lib.REFERENCE_FRAMES - _int(
      example, 'record_overlap'), 1)
  return tf.where(stride > 0, -(-starts // tf.maximum(stride, 1)),
                  tf.constant(1, tf.int64))


def expected_samples(example, span: int, on_flow: bool):
  """float64 mean samples one read of this record gives (module docstring)."""
  begin, end, starts = owned_starts(example, span, on_flow)
  return tf.cast((end - begin) * reference_records(example),
                 tf.float64) / tf.cast(starts, tf.float64)


def samples_per_read(example, span: int, on_flow: bool, seed=None):
  """int64 samples to take from one read: floor(e), plus 1 with probability
  frac(e) (``e`` = :func:`expected_samples`)."""
  mean = expected_samples(example, span, on_flow)
  whole = tf.floor(mean)
  if seed is None:
    u = tf.random.uniform([], dtype=tf.float64)
  else:
    u = tf.random.stateless_uniform([], seed, dtype=tf.float64)
  return tf.cast(whole, tf.int64) + tf.cast(u < mean - whole, tf.int64)


def random_offset(example, span: int, on_flow: bool, seed=None):
  """int32 start of a sample in the record's own units: a start drawn
  uniformly among those the record owns, less ``first_frame``."""
  begin, end, _ = owned_starts(example, span, on_flow)
  start = begin + tf.cast(ops.uniform_int(end - begin, seed), tf.int64)
  return tf.cast(start - _int(example, 'first_frame'), tf.int32)


def check_footprint(name: str, stride: int, overlap: int, span: int,
                    on_flow: bool, model: str) -> None:
  """Raises UserError when a footprint is longer than the records serve."""
  frames = records_lib.footprint_frames(span, on_flow)
  if stride and frames > overlap + 1:
    raise errors.UserError(
        f'{name}: its train split is stored as records that hold footprints '
        f'of up to {overlap + 1} frames (train_record_overlap={overlap}); '
        f'the {model!r} training footprint spans {frames} frames. Train it '
        'from a config of whole clips (e.g. rgb340 or rgb128 for Kinetics).')
