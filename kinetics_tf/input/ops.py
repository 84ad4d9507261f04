"""Tiny input ops shared by the training and test pipelines (§4.4 augmentation).

Every op is pure TensorFlow: it runs eagerly and inside ``tf.data.Dataset.map``
alike.  Random ops take an optional ``seed``, a shape-[2] integer tensor for the
stateless random ops; without one they draw from the global generator.

Layouts: RGB frames are ``[T, H, W, 3]`` (or a single ``[H, W, 3]`` frame);
flow is ``[T, H, W, 2]`` with channel 0 horizontal (x) and 1 vertical (y), and
``flow[t]`` is the motion from frame t to t+1.  A stacked flow snapshot is
``[H, W, 2T]`` in the order ``[x0, y0, x1, y1, ...]``: x channels are the even
ones, which is what :func:`flip_flow` negates.
"""

import sys
from typing import Optional

import tensorflow as tf


def split_seed(seed: Optional[tf.Tensor], num: int):
  """Splits a shape-[2] stateless seed into ``num`` seeds (None stays None)."""
  if seed is None:
    return [None] * num
  seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
  return tf.unstack(tf.random.experimental.stateless_split(seed, num))


def uniform_int(maxval, seed):
  """A scalar int32 drawn uniformly from [0, maxval) (maxval >= 1)."""
  maxval = tf.cast(maxval, tf.int32)
  if seed is None:
    return tf.random.uniform([], 0, maxval, dtype=tf.int32)
  return tf.random.stateless_uniform([], seed, 0, maxval, dtype=tf.int32)


def temporal_indices(start, num_frames: int, stride: int, num_available):
  """Frame indices ``start + i * stride``, looped over a short clip (§4.4).

  Args:
    start: first index (scalar int).
    num_frames: how many indices.
    stride: step between them (5 = every 5th frame at 25 fps).
    num_available: frames the clip has (>= 1); indices past its end wrap
      around, so a short clip is looped "as many times as necessary".

  Returns:
    int32 [num_frames] indices in [0, num_available).
  """
  num_available = tf.cast(num_available, tf.int32)
  tf.debugging.assert_positive(
      num_available, message='temporal_indices: the clip has no frames')
  idx = tf.cast(start, tf.int32) + tf.range(num_frames, dtype=tf.int32) * stride
  return tf.math.floormod(idx, num_available)


def footprint_span(num_frames: int, stride: int = 1) -> int:
  """Frames (or fields) a footprint covers, first to last: (n - 1) x stride + 1."""
  return (num_frames - 1) * stride + 1


def random_start(num_available, num_frames: int, stride: int = 1, seed=None):
  """A random start among those early enough to give all frames (§4.4).

  A clip shorter than the footprint ``(num_frames - 1) * stride + 1`` starts
  at 0 (and is then looped by :func:`temporal_indices`).

  Returns:
    int32 scalar in [0, max(num_available - span, 0)].
  """
  span = footprint_span(num_frames, stride)
  num_valid = tf.maximum(tf.cast(num_available, tf.int32) - span + 1, 1)
  return uniform_int(num_valid, seed)


def centre_start(num_available, num_frames: int, stride: int = 1):
  """The start that centres the footprint in the clip (0 if it is shorter)."""
  span = footprint_span(num_frames, stride)
  return tf.maximum(tf.cast(num_available, tf.int32) - span, 0) // 2


def _check_crop(frames, size):
  shape = tf.shape(frames)
  height, width = shape[-3], shape[-2]
  tf.debugging.assert_less_equal(
      tf.stack([size, size]), tf.stack([height, width]),
      message=(f'crop of {size}x{size} is larger than the frames; resize the '
               'shorter side to at least the crop size (constants.*_SHORT_SIDE)'))
  return height, width


def random_crop(frames, size: int, seed=None):
  """The same random ``size`` x ``size`` window of every frame (§4.4).

  Args:
    frames: [..., H, W, C] with H, W >= size.
    size: crop side (299 ResNet-50, 112 3D ConvNet; smaller in tiny configs).
    seed: optional shape-[2] stateless seed.

  Returns:
    [..., size, size, C].
  """
  frames = tf.convert_to_tensor(frames)
  height, width = _check_crop(frames, size)
  seed_y, seed_x = split_seed(seed, 2)
  top = uniform_int(height - size + 1, seed_y)
  left = uniform_int(width - size + 1, seed_x)
  return frames[..., top:top + size, left:left + size, :]


def centre_crop(frames, size: int):
  """The central ``size`` x ``size`` window of every frame ([..., H, W, C])."""
  frames = tf.convert_to_tensor(frames)
  height, width = _check_crop(frames, size)
  top = (height - size) // 2
  left = (width - size) // 2
  return frames[..., top:top + size, left:left + size, :]


def flip_frames(frames):
  """Mirrors RGB frames left-right ([..., H, W, C])."""
  return tf.reverse(frames, axis=[-2])


def flip_flow(flow):
  """Mirrors signed flow left-right and negates its horizontal channels.

  Works on ``[..., H, W, 2]`` fields and on ``[..., H, W, 2T]`` stacks in the
  ``[x0, y0, x1, y1, ...]`` order: the even channels (x) change sign.  On
  uint8 flow quantised as ``flow.quantize`` does (0..255 over [-B, B]) the
  negation is ``255 - x``, exact after ``dequantize_flow``.
  """
  flow = tf.convert_to_tensor(flow)
  if flow.dtype == tf.uint8:  # quantised: -x is 255 - x (flow.quantize)
    return _flip_quantised_flow(flow)
  flow = tf.reverse(flow, axis=[-2])
  channels = tf.shape(flow)[-1]
  is_x = tf.range(channels) % 2 == 0
  sign = tf.where(is_x, -1.0, 1.0)
  return flow * tf.cast(sign, flow.dtype)


def random_flip(frames, seed=None, is_flow: bool = False):
  """Flips all frames of one sample alike with probability 1/2 (§4.4).

  Args:
    frames: [..., H, W, C] RGB, or flow when ``is_flow`` (signed, or uint8
      quantised; see :func:`flip_flow`).
    seed: optional shape-[2] stateless seed.
    is_flow: negate the horizontal flow channels when flipping.

  Returns:
    (frames, flipped) where flipped is a bool scalar.
  """
  frames = tf.convert_to_tensor(frames)
  flipped = uniform_int(2, seed) > 0
  flip = flip_flow if is_flow else flip_frames
  return tf.cond(flipped, lambda: flip(frames), lambda: frames), flipped


def scale_to_unit(frames):
  """uint8 [0, 255] -> float32 [-1, 1] (SPEC.md: RGB seen by the models).

  The only RGB scaling of the library, with or without ImageNet weights: a
  model initialised from the Keras ResNet-50 weights maps [-1, 1] to their
  Caffe convention itself (``imagenet_preprocessing=True`` of
  ``kinetics_tf.models``).
  """
  return tf.cast(frames, tf.float32) / 127.5 - 1.0


def dequantize_flow(flow):
  """uint8 flow (0..255 linear over +-FLOW_BOUND px) -> float32 [-1, 1].

  Matches ``flow.dequantize(u8, unit=True)``: 0 -> -1 (-20 px), 255 -> +1.
  """
  return tf.cast(flow, tf.float32) / 127.5 - 1.0


# The x byte of an (x, y) pair of uint8 seen as one uint16.
_X_BYTE = 0x00FF if sys.byteorder == 'little' else 0xFF00


def _flip_quantised_flow(flow):
  """flip_flow of uint8 flow: each (x, y) pair as one uint16, so the mirror
  moves whole pairs and 255 - x is x XOR 0xFF on its byte.

  Measured 10-15x faster than reversing bytes and selecting channels with
  a broadcast ``tf.where`` (13 against 1 ms for a [10, 299, 299, 2]
  training sample, one core): both ops crawl over a 2-byte inner axis.
  """
  shape = tf.shape(flow)
  if flow.shape[-1] == 2:  # [..., W, 2] -> [..., W]: the fields' layout
    pairs = tf.bitcast(flow, tf.uint16)
    axis = -1
  else:  # [..., W, 2T] -> [..., W, T]: stacks
    pairs = tf.bitcast(tf.reshape(flow, tf.concat(
        [shape[:-1], [shape[-1] // 2, 2]], axis=0)), tf.uint16)
    axis = -2
  pairs = tf.bitwise.bitwise_xor(tf.reverse(pairs, axis=[axis]),
                                 tf.constant(_X_BYTE, tf.uint16))
  return tf.ensure_shape(tf.reshape(tf.bitcast(pairs, tf.uint8), shape),
                         flow.shape)


def stack_flow(flow):
  """[..., T, H, W, 2] flow fields -> [..., H, W, 2T] as [x0, y0, x1, y1, ...].

  The two-stream flow input of §4.2: 10 fields become 20 channels.
  """
  flow = tf.convert_to_tensor(flow)
  rank = flow.shape.rank
  if rank is None or rank < 4:
    raise ValueError(f'stack_flow expects [..., T, H, W, 2], got {flow.shape}')
  lead = list(range(rank - 4))
  t_axis, h_axis, w_axis = rank - 4, rank - 3, rank - 2
  if flow.dtype == tf.uint8 and flow.shape[-1] == 2:
    # Pairs moved as one uint16 each (1.4x faster than moving bytes).
    pairs = tf.transpose(tf.bitcast(flow, tf.uint16),
                         lead + [h_axis, w_axis, t_axis])
    flow = tf.bitcast(pairs, tf.uint8)
  else:
    flow = tf.transpose(flow, lead + [h_axis, w_axis, t_axis, rank - 1])
  shape = tf.shape(flow)
  new_shape = tf.concat([shape[:-2], [shape[-2] * shape[-1]]], axis=0)
  out = tf.reshape(flow, new_shape)
  if flow.shape[-2] is not None and flow.shape[-1] is not None:
    out = tf.ensure_shape(
        out, flow.shape[:-2].concatenate([flow.shape[-2] * flow.shape[-1]]))
  return out


# Up to this many frames (a training footprint), decodes are unrolled.
_UNROLL = 64


def decode_frame(encoded):
  """One encoded frame or flow image (JPEG or PNG) -> uint8 [H, W, C]."""
  return tf.io.decode_image(encoded, expand_animations=False)


def _interleave(x, y):
  """uint8 [..., 1] x and y -> [..., 2], x then y.

  Packed as one uint16 per pixel and bitcast back to two bytes: 3-4x
  faster than ``tf.concat`` on the last axis (measured at 10 x 452x340).
  """
  if x.dtype != tf.uint8:
    return tf.concat([x, y], axis=-1)
  low, high = (x, y) if sys.byteorder == 'little' else (y, x)
  packed = tf.bitwise.bitwise_or(
      tf.cast(low[..., 0], tf.uint16),
      tf.bitwise.left_shift(tf.cast(high[..., 0], tf.uint16),
                            tf.constant(8, tf.uint16)))
  return tf.bitcast(packed, tf.uint8)


def num_frames(frames):
  """Frames (or flow fields) of a clip in any layout :func:`gather_frames` takes."""
  if isinstance(frames, dict):
    return tf.shape(frames['x'])[0]
  return tf.shape(frames)[0]


def gather_frames(frames, indices):
  """Picks ``frames[indices]``; encoded frames are decoded, only those picked.

  Args:
    frames: uint8 [T, H, W, C]; or string [T] of encoded images (a TFDS
      video read with ``tfds.decode.SkipDecoding()``), so only the sampled
      frames are ever decoded; or flow stored per field and channel
      (``kinetics_tf.datasets.features``): a dict {'x': ..., 'y': ...} of
      string [T] (or decoded uint8 [T, H, W, 1]), whose picked fields come
      back as [N, H, W, 2], x then y.
    indices: int32 [N].

  Returns:
    uint8 [N, H, W, C].
  """
  if isinstance(frames, dict):
    return _interleave(gather_frames(frames['x'], indices),
                       gather_frames(frames['y'], indices))
  picked = tf.gather(frames, indices)
  if picked.dtype != tf.string:
    return picked
  count = picked.shape[0]
  if count is not None and count <= _UNROLL:
    # A footprint's length is static: one decode op per frame costs less
    # than map_fn's loop (18 ms of 28 for 20 flow images at 452x340).
    return tf.stack([decode_frame(picked[i]) for i in range(count)])
  return tf.map_fn(decode_frame, picked, fn_output_signature=tf.uint8)


# The name for flow: the same op on flow fields.
gather_fields = gather_frames
