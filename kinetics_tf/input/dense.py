"""Dense test-time views (§4.4, Table 3): where each model's snapshots sit, and the views.

A clip of T frames (at 25 fps) has T - 1 flow fields; flow[t] is the motion
t -> t+1, so a stack starting at field t covers flow[t:t+10] and RGB
snapshot k is frame s_k, the first frame of flow stack k.

Two-stream (25 RGB frames + 25 stacks of 10 flow fields over 10 s).  With
L = T - 1 fields, c = 10 fields a stack, S = 25 stacks and a window of
W = min(L, 250) fields centred in the clip (offset o = (L - W) // 2), stack k
starts at::

    s_k = o + round(k * (W - c) / (S - 1))      when L >= c (halves round up)
    s_k = floor(k * L / S)                      when L < c (looped)

and holds fields s_k .. s_k + 9 (mod L only when L < c).  Every stack is 10
contiguous fields inside the clip whenever the clip has 10 fields or more:
on a 10 s clip of 251 frames the stacks tile fields 0..249 (s_k = 10 k); on
one of 250 frames (249 fields) they start 0, 10, ..., 120, 129, ..., 239, so
two neighbours share one field instead of the last stack wrapping to field 0.

C3D and ConvNet+LSTM read a window of ``span`` frames, centred when the clip
is longer and looped when it is shorter ("we sample from up to 10 seconds of
video, again looping if necessary", §4.4).  Frame j of snapshot k is::

    start = max(0, (T - span) // 2)
    index[k, j] = (start + k * clip_step + j * frame_stride) mod T

| model        | snapshots | frames each | frame_stride | clip_step | span          |
|--------------|-----------|-------------|--------------|-----------|---------------|
| rgb          | 25        | 1           | 1            | 10        | 251 (stacks)  |
| flow         | 25        | 10 fields   | 1            | 10        | 251 (stacks)  |
| c3d          | 15        | 16          | 1            | 16        | 240           |
| convnet_lstm | 1         | 50          | 5            | 0         | 250           |

Each model's ``DenseSpec`` is its row's ``test_protocol`` in
``kinetics_tf.model_table``.  Views are centre-cropped and scaled as in training (``kinetics_tf.input.ops``);
the snapshots of B videos are folded into the batch dimension (``[B * S, ...]``)
so one forward pass scores B videos; scores are the softmax averaged over
snapshots, and RGB+Flow averages the two streams' scores.
"""

import numpy as np
import tensorflow as tf

from kinetics_tf import model_table
from kinetics_tf.input import ops

# The protocol and window live with the model facts (one row per model).
DenseSpec = model_table.DenseSpec
WINDOW_FRAMES = model_table.WINDOW_FRAMES


def spec_for(model: str) -> DenseSpec:
  """The test protocol of Table 3 of ``model`` (its row's ``test_protocol``).

  Raises:
    ValueError: a name without a row.
  """
  if model not in model_table.MODELS:
    raise ValueError(f'no dense test protocol for model {model!r}; use one of {model_table.NAMES}')
  return model_table.MODELS[model].test_protocol


def _stack_starts(spec: DenseSpec, num_frames) -> tf.Tensor:
  """int32 [num_clips]: the first field of each flow stack (module docstring)."""
  n, c = spec.num_clips, spec.stack_fields
  fields = tf.maximum(num_frames - 1, 0)
  k = tf.range(n, dtype=tf.int32)
  window = tf.minimum(fields, (n - 1) * spec.clip_step + c)
  offset = (fields - window) // 2
  free = window - c
  if n > 1:  # k * free / (n - 1), rounded half up, in integers.
    inside = offset + (2 * k * free + (n - 1)) // (2 * (n - 1))
  else:
    inside = offset + free // 2 + 0 * k
  looped = k * tf.maximum(fields, 1) // n
  return tf.where(fields >= c, inside, looped)


def snapshot_indices(spec: DenseSpec, num_frames) -> tf.Tensor:
  """int32 [num_clips, clip_frames] frame (or flow-field) indices of a T-frame clip.

  Args:
    spec: the model's protocol (``spec_for``).
    num_frames: T, the clip's frame count (scalar; also for flow, which has
      T - 1 fields).

  Raises:
    InvalidArgumentError: T < 1 (T < 2 for flow): nothing to sample.
  """
  num_frames = tf.cast(num_frames, tf.int32)
  length = num_frames - 1 if spec.on_flow else num_frames
  tf.debugging.assert_positive(
      length, message=('dense views: the clip has too few frames (needs >= 2 for flow, '
                       '>= 1 for RGB); it cannot be scored'))
  j = tf.range(spec.clip_frames, dtype=tf.int32)[None, :] * spec.frame_stride
  if spec.stack_fields:
    # Inside the clip the stacks need no wrap; only a clip shorter than one
    # stack loops (§4.4: "again looping if necessary").
    return tf.math.floormod(_stack_starts(spec, num_frames)[:, None] + j, length)
  start = tf.maximum(num_frames - spec.span, 0) // 2
  k = tf.range(spec.num_clips, dtype=tf.int32)[:, None] * spec.clip_step
  return tf.math.floormod(start + k + j, length)


def snapshot_indices_np(model: str, num_frames: int) -> np.ndarray:
  """NumPy copy of :func:`snapshot_indices` for a model name (for docs and tests)."""
  return snapshot_indices(spec_for(model), num_frames).numpy()


def _resize_short_side(images, short_side, scale_values: bool = False):
  """Resizes [N, H, W, C] float images so the shorter side is ``short_side``.

  Bilinear, aspect kept; a no-op when the shorter side already matches.  With
  ``scale_values`` (flow), displacements are multiplied by the resize factor
  and clipped back to [-1, 1].
  """
  shape = tf.shape(images)
  height, width = shape[1], shape[2]
  short = tf.minimum(height, width)

  def resize():
    factor = tf.cast(short_side, tf.float32) / tf.cast(short, tf.float32)
    new_h = tf.maximum(short_side, tf.cast(tf.round(tf.cast(height, tf.float32) * factor), tf.int32))
    new_w = tf.maximum(short_side, tf.cast(tf.round(tf.cast(width, tf.float32) * factor), tf.int32))
    out = tf.image.resize(images, tf.stack([new_h, new_w]), method='bilinear')
    if scale_values:
      out = tf.clip_by_value(out * factor, -1.0, 1.0)
    return out

  return tf.cond(tf.equal(short, short_side), lambda: tf.cast(images, tf.float32), resize)


def rgb_views(frames, spec: DenseSpec, crop: int, *, short_side: int | None = None,
              flip: bool = False) -> tf.Tensor:
  """Dense RGB views of one clip.

  Args:
    frames: uint8 [T, H, W, 3] at 25 fps (or string [T] of encoded frames).
    spec: 'rgb', 'c3d' or 'convnet_lstm' protocol (``spec_for``).
    crop: side of the centre crop.
    short_side: resize the shorter side to this first (None: frames are
      already at the model's size).
    flip: also add the left-right mirrored views (test-time flip averaging).

  Returns:
    float32 [S, crop, crop, 3] when a snapshot is one frame, else
    [S, clip_frames, crop, crop, 3]; S = num_clips (x2 with ``flip``).
  """
  idx = tf.reshape(snapshot_indices(spec, tf.shape(frames)[0]), [-1])
  x = tf.cast(ops.gather_frames(frames, idx), tf.float32)
  if short_side is not None:
    x = _resize_short_side(x, short_side)
  x = ops.scale_to_unit(ops.centre_crop(x, crop))
  shape = [spec.num_clips] + ([] if spec.clip_frames == 1 else [spec.clip_frames])
  x = tf.reshape(x, shape + [crop, crop, 3])
  return tf.concat([x, ops.flip_frames(x)], axis=0) if flip else x


def flow_views(flow, spec: DenseSpec, crop: int, *, short_side: int | None = None,
               flip: bool = False) -> tf.Tensor:
  """Dense flow-stack views of one clip.

  Args:
    flow: uint8 [T - 1, H, W, 2] quantised flow (x, y) of a T-frame clip, or
      flow stored per field ({'x': string [T - 1], 'y': ...}; only the
      fields of the stacks are decoded).
    spec: the 'flow' protocol.
    crop: side of the centre crop.
    short_side: resize the shorter side to this first, scaling the
      displacements alike (None: flow already at the model's size).
    flip: also add mirrored stacks (horizontal channels negated).

  Returns:
    float32 [S, crop, crop, 2 * clip_frames] in [-1, 1], channels
    [x0, y0, x1, y1, ...] as in training (``ops.stack_flow``).
  """
  idx = tf.reshape(snapshot_indices(spec, ops.num_frames(flow) + 1), [-1])
  x = ops.dequantize_flow(ops.gather_fields(flow, idx))
  if short_side is not None:
    x = _resize_short_side(x, short_side, scale_values=True)
  x = ops.centre_crop(x, crop)
  x = tf.reshape(x, [spec.num_clips, spec.clip_frames, crop, crop, 2])
  x = ops.stack_flow(x)
  return tf.concat([x, ops.flip_flow(x)], axis=0) if flip else x


def views(model: str, video, crop: int, *, short_side: int | None = None,
          flip: bool = False) -> tf.Tensor:
  """The dense views of one clip for ``model`` (a name of ``model_table.MODELS``).

  ``video`` is the model's feature (its row's ``feature``): uint8 frames
  [T, H, W, 3], or the uint8 flow [T - 1, H, W, 2] (encoded forms as
  ``rgb_views`` / ``flow_views`` take).
  """
  spec = spec_for(model)
  if model_table.MODELS[model].feature == 'flow':
    return flow_views(video, spec, crop, short_side=short_side, flip=flip)
  return rgb_views(video, spec, crop, short_side=short_side, flip=flip)


def fold(batch) -> tf.Tensor:
  """[B, S, ...] views of B videos -> [B * S, ...], one forward pass for all."""
  shape = tf.shape(batch)
  return tf.reshape(batch, tf.concat([[shape[0] * shape[1]], shape[2:]], axis=0))


def video_scores(logits, num_videos) -> tf.Tensor:
  """Snapshot logits [B * S, C] -> video class scores [B, C]: softmax, then average."""
  probs = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
  probs = tf.reshape(probs, tf.stack([num_videos, -1, tf.shape(probs)[-1]]))
  return tf.reduce_mean(probs, axis=1)


def video_features(features, num_videos) -> tf.Tensor:
  """Snapshot features [B * S, D] -> video features [B, D] (average over snapshots)."""
  features = tf.cast(features, tf.float32)
  return tf.reduce_mean(
      tf.reshape(features, tf.stack([num_videos, -1, tf.shape(features)[-1]])), axis=1)


def fuse(*stream_scores) -> tf.Tensor:
  """RGB+Flow (§4.2): the average of the streams' video-level class scores."""
  if not stream_scores:
    raise ValueError('fuse needs the scores of at least one stream')
  return tf.add_n([tf.cast(s, tf.float32) for s in stream_scores]) / len(stream_scores)
