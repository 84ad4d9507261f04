"""Building blocks of the TensorFlow TV-L1, each matching one step of OpenCV.

Every op works on batches [B, H, W] of float32 and follows OpenCV's
``optflow/src/tvl1flow.cpp`` and the OpenCV primitives it calls (``resize``
INTER_LINEAR, ``remap`` INTER_CUBIC with a constant zero border,
``medianBlur`` 5x5 with a replicated border), borders included.

The warp is bicubic interpolation at the exact warped position, as the
algorithm states it and as OpenCV 5.0 computes it (checked against
opencv-contrib-python-headless 5.0.0.93: 4.7e-5 max on values in 0..255).
OpenCV 4.x (checked against 4.14.0.94) first rounds each position to
1/32 pixel (INTER_BITS = 5 in imgwarp.cpp's fixed-point tables); 5.0's
rewritten remap dropped those tables for float maps.  ``remap_cubic`` takes
``subpixel_bits=5`` to reproduce 4.x; the solver uses the exact warp.  The
two differ by 0.02-0.03 px of mean flow on real pairs, about OpenCV's own
change between its two majors (docs/BENCHMARKS.md).
"""

import functools

import numpy as np
import tensorflow as tf

# OpenCV 4.x's cv::remap rounds positions to 1 / 2**INTER_BITS of a pixel.
OPENCV4_SUBPIXEL_BITS = 5
# OpenCV's bicubic kernel constant (interpolateCubic in imgwarp.cpp).
_CUBIC_A = -0.75


# ----------------------------------------------------------------------------
# Pyramid: cv::resize INTER_LINEAR on float images, as separable matrices.


def resized_size(size: int, scale: float) -> int:
  """cv::resize's output size for a factor (saturate_cast = round half even)."""
  return int(np.rint(size * scale))


def linear_resize_matrix(src: int, dst: int, inv_scale: float) -> np.ndarray:
  """[dst, src] matrix of cv::resize INTER_LINEAR along one axis.

  Args:
    src: input length.
    dst: output length.
    inv_scale: the input step per output pixel (1/fx when cv::resize gets a
      factor, src/dst when it gets an output size).

  Returns:
    float32 [dst, src]: half-pixel centres, clamped (replicated) borders.
  """
  m = np.zeros((dst, src), np.float64)
  for d in range(dst):
    f = np.float32((d + 0.5) * inv_scale - 0.5)
    s = int(np.floor(f))
    f = float(f) - s
    if s < 0:
      s, f = 0, 0.0
    if s >= src - 1:
      s, f = src - 1, 0.0
    m[d, s] += 1.0 - f
    if f:
      m[d, s + 1] += f
  return m.astype(np.float32)


def resize(images, mat_y: np.ndarray, mat_x: np.ndarray):
  """Applies separable resize matrices to [B, H, W] images."""
  out = tf.einsum('yh,bhw->byw', tf.constant(mat_y), images)
  return tf.einsum('byw,xw->byx', out, tf.constant(mat_x))


# ----------------------------------------------------------------------------
# Finite differences (tvl1flow.cpp: centeredGradient, forwardGradient,
# divergence).


def centered_gradient(img):
  """Central differences; one-sided halves at the borders (OpenCV's rule).

  At the first and last column OpenCV uses 0.5 * (I[1] - I[0]) and
  0.5 * (I[-1] - I[-2]): exactly central differences on a replicated border.
  """
  px = tf.concat([img[:, :, :1], img, img[:, :, -1:]], axis=2)
  py = tf.concat([img[:, :1], img, img[:, -1:]], axis=1)
  return 0.5 * (px[:, :, 2:] - px[:, :, :-2]), 0.5 * (py[:, 2:] - py[:, :-2])


def forward_gradient(u):
  """Forward differences, zero on the last column (x) and last row (y)."""
  dx = tf.concat([u[:, :, 1:] - u[:, :, :-1], tf.zeros_like(u[:, :, :1])], 2)
  dy = tf.concat([u[:, 1:] - u[:, :-1], tf.zeros_like(u[:, :1])], 1)
  return dx, dy


def divergence(v1, v2):
  """Backward differences with zeros before the first column and row."""
  v1x = v1 - tf.concat([tf.zeros_like(v1[:, :, :1]), v1[:, :, :-1]], 2)
  v2y = v2 - tf.concat([tf.zeros_like(v2[:, :1]), v2[:, :-1]], 1)
  return v1x + v2y


# ----------------------------------------------------------------------------
# Warping: cv::remap INTER_CUBIC, BORDER_CONSTANT 0.


def _cubic_weights(t):
  """OpenCV's interpolateCubic(t) (A = -0.75): 4 weights for taps -1..2."""
  a = _CUBIC_A
  x = t + 1.0
  w0 = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
  w1 = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
  r = 1.0 - t
  w2 = ((a + 2.0) * r - (a + 3.0)) * r * r + 1.0
  return w0, w1, w2, 1.0 - w0 - w1 - w2


def pad_for_remap(images):
  """Zero-pads [B, H, W, C] by 2 on each side and flattens to [B, N, C]."""
  padded = tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]])
  shape = padded.shape
  return tf.reshape(padded, [shape[0], shape[1] * shape[2], shape[3]])


def _split_coord(coord, subpixel_bits):
  """Integer tap and fraction of a position (rounded to 2**-bits if given)."""
  coord = tf.clip_by_value(coord, -2.0**20, 2.0**20)
  if subpixel_bits is None:
    whole = tf.floor(coord)
    return tf.cast(whole, tf.int32), coord - whole
  size = 1 << subpixel_bits
  fixed = tf.cast(tf.round(coord * size), tf.int32)
  whole = tf.math.floordiv(fixed, size)
  frac = tf.cast(tf.math.floormod(fixed, size), tf.float32)
  return whole, frac * (1.0 / size)


def remap_cubic(flat_padded, height: int, width: int, u1, u2,
                subpixel_bits=None):
  """Samples images at (x + u1, y + u2) as cv::remap(INTER_CUBIC) does.

  Args:
    flat_padded: [B, (H+4)*(W+4), C] from `pad_for_remap`.
    height: H.
    width: W.
    u1: [B, H, W] x displacement.
    u2: [B, H, W] y displacement.
    subpixel_bits: None for the exact position (OpenCV 5); 5 rounds it to
      1/32 pixel first, as OpenCV 4.x does (OPENCV4_SUBPIXEL_BITS).

  Returns:
    [B, H, W, C]: bicubic samples; taps outside the image read 0.
  """
  xs = tf.range(width, dtype=tf.float32)[None, None, :] + u1
  ys = tf.range(height, dtype=tf.float32)[None, :, None] + u2
  ix, fx = _split_coord(xs, subpixel_bits)
  iy, fy = _split_coord(ys, subpixel_bits)
  wx = _cubic_weights(fx)
  wy = _cubic_weights(fy)
  pitch = width + 4
  taps = tf.range(-1, 3)
  rows = (tf.clip_by_value(iy[..., None] + taps, -2, height + 1) + 2) * pitch
  cols = tf.clip_by_value(ix[..., None] + taps, -2, width + 1) + 2
  index = rows[..., :, None] + cols[..., None, :]  # [B, H, W, 4, 4]
  batch = u1.shape[0]
  values = tf.gather(flat_padded, tf.reshape(index, [batch, -1]), batch_dims=1)
  values = tf.reshape(values, [batch, height, width, 4, 4, -1])
  weights = tf.stack(wy, -1)[..., :, None] * tf.stack(wx, -1)[..., None, :]
  return tf.reduce_sum(values * weights[..., None], axis=[3, 4])


# ----------------------------------------------------------------------------
# cv::medianBlur(ksize=5) on float: exact median of 25, replicated border.


@functools.lru_cache(maxsize=None)
def median_network(n: int = 25):
  """Comparators (i, j, keep_min, keep_max) selecting the median of n values.

  Batcher's odd-even merge sort on the next power of two, with the wires past
  n treated as +inf (their comparators drop out), pruned backwards to what the
  middle output needs.
  """
  size = 1 << (n - 1).bit_length()
  comps = []
  p = 1
  while p < size:
    k = p
    while k >= 1:
      for j in range(k % p, size - k, 2 * k):
        for i in range(min(k, size - j - k)):
          if (i + j) // (2 * p) == (i + j + k) // (2 * p):
            comps.append((i + j, i + j + k))
      k //= 2
    p *= 2
  comps = [(a, b) for a, b in comps if b < n]
  needed = {n // 2}
  kept = []
  for a, b in reversed(comps):
    if a in needed or b in needed:
      kept.append((a, b, a in needed, b in needed))
      needed |= {a, b}
  return tuple(reversed(kept))


def median5(u):
  """5x5 median of [B, H, W] with a replicated border (cv::medianBlur)."""
  h, w = u.shape[1], u.shape[2]
  p = tf.concat([u[:, :1], u[:, :1], u, u[:, -1:], u[:, -1:]], axis=1)
  p = tf.concat([p[:, :, :1], p[:, :, :1], p, p[:, :, -1:], p[:, :, -1:]], 2)
  wires = [p[:, dy:dy + h, dx:dx + w] for dy in range(5) for dx in range(5)]
  for a, b, keep_min, keep_max in median_network(25):
    lo = tf.minimum(wires[a], wires[b]) if keep_min else None
    hi = tf.maximum(wires[a], wires[b]) if keep_max else None
    wires[a], wires[b] = lo, hi
  return wires[12]
