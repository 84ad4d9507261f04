"""TV-L1 optical flow in TensorFlow, compiled by XLA and batched over pairs.

The algorithm is OpenCV's ``DualTVL1OpticalFlow`` (Zach, Pock and Bischof
2007; Sanchez Perez et al., IPOL 2013) step by step, read from
``opencv_contrib/modules/optflow/src/tvl1flow.cpp``: a pyramid of ``nscales``
levels made by repeated bilinear resizing by ``scaleStep``; at each level,
``warps`` times: warp frame 1 and its centred gradient by the flow (bicubic,
as cv::remap), then iterate thresholding, primal and dual updates with a 5x5
median of the flow at the start of every outer iteration; the flow is resized
bilinearly to the next level and divided by ``scaleStep``.

Two stopping rules:
  * ``stopping='opencv'``: OpenCV's. Per warp, up to innnerIterations x
    outerIterations steps, stopping when the squared update of the flow summed
    over the image falls to epsilon**2 * H * W. Each pair of a batch stops on
    its own (finished pairs are frozen), so the results do not depend on the
    batch; the batch runs until its slowest pair is done.
  * ``stopping='fixed'``: ``iterations`` steps per warp for every pair, no
    convergence test: the same work for every pair, which suits accelerators.
    The default budget depends on the frame size (fixed_iterations).
``tvl1`` uses OpenCV's rule one pair at a time on CPUs and the fixed budget in
batches of 64 on an accelerator (default_stopping, default_batch_size).

Every (shape, parameters) combination is compiled once (jit_compile=True);
the warps and iterations are XLA while loops, the pyramid levels are unrolled
(each level has its own shape).
"""

import numpy as np
import tensorflow as tf

from flow import _tvl1_tf_ops as ops
from flow.backends import tf_unsupported
from flow.backends import tvl1_params
from flow.constants import FLOW_BOUND

STOPPING = ('opencv', 'fixed')
# Steps per warp of the fixed budget when `iterations` is not given, by frame
# size (fixed_iterations): the fewest, in steps of 5, for which the flow of
# real pairs differs from OpenCV's by no more than OpenCV's own change when
# its epsilon is halved (tests/test_flow_tvl1_tf.py checks both sizes;
# docs/BENCHMARKS.md has the sweep: 20 failed at 128x96 and 340x256, 30
# failed at 64x48).  OpenCV's rule itself averages ~780 steps per pair on
# Kinetics frames at 340x256; 25 x 5 warps x 5 levels = 625.
FIXED_ITERATIONS = 25
SMALL_FRAME_ITERATIONS = 40
SMALL_FRAME_SIDE = 96  # Shorter side below which SMALL_FRAME_ITERATIONS.
# OpenCV stops building the pyramid below this size (tvl1flow.cpp).
_MIN_PYRAMID_SIZE = 16

_COMPILED = {}


def _solver_config(params: dict, stopping: str, iterations) -> tuple:
  """Validated, hashable solver settings from OpenCV-named parameters."""
  if stopping not in STOPPING:
    raise ValueError(f'unknown stopping rule {stopping!r}; use one of '
                     f'{STOPPING}.')
  p = tvl1_params(**params)
  problem = tf_unsupported(params)
  if problem:
    raise NotImplementedError(
        f'the TF backend does not implement {problem}; use '
        'backend="opencv" for it.')
  if stopping == 'fixed':
    iterations = int(iterations)
    if iterations < 1:
      raise ValueError(f'iterations must be >= 1; got {iterations}.')
  elif iterations is not None:
    raise ValueError('iterations is for stopping="fixed"; OpenCV\'s rule '
                     'uses innnerIterations/outerIterations/epsilon.')
  return (float(p['tau']), float(p['lambda_']), float(p['theta']),
          int(p['nscales']), int(p['warps']), float(p['epsilon']),
          int(p['innnerIterations']), int(p['outerIterations']),
          float(p['scaleStep']), p['medianFiltering'] > 1, stopping,
          iterations)


def fixed_iterations(height: int, width: int) -> int:
  """Default steps per warp of stopping='fixed' for frames of this size."""
  return (SMALL_FRAME_ITERATIONS if min(height, width) < SMALL_FRAME_SIDE
          else FIXED_ITERATIONS)


def pyramid_sizes(height: int, width: int, nscales: int,
                  scale_step: float) -> list:
  """(H, W) of each level, finest first, as OpenCV builds them."""
  sizes = [(height, width)]
  for _ in range(1, nscales):
    h = ops.resized_size(sizes[-1][0], scale_step)
    w = ops.resized_size(sizes[-1][1], scale_step)
    if h < _MIN_PYRAMID_SIZE or w < _MIN_PYRAMID_SIZE:
      break
    sizes.append((h, w))
  return sizes


def _threshold(rho, grad, l_t):
  """The thresholding step of estimateV: the change of v along grad(I1w)."""
  return tf.where(rho < -l_t * grad, l_t,
                  tf.where(rho > l_t * grad, -l_t,
                           tf.where(grad > np.finfo(np.float32).eps,
                                    -rho / tf.maximum(grad, 1e-30), 0.0)))


def _dual_update(p, g, gx, gy, taut, twin: bool):
  """(p + taut * g) / (1 + taut * |(gx, gy)|), estimateDualVariables.

  `twin` writes |gx| as max(gx, -gx): the same value, but an expression
  XLA's common-subexpression pass does not merge with the other component's
  norm, so each dual variable's kernel computes its norm inline instead of
  reading a shared norm array from memory.
  """
  if twin:
    gx, gy = tf.maximum(gx, -gx), tf.maximum(gy, -gy)
  return (p + taut * g) / (1.0 + taut * tf.sqrt(gx * gx + gy * gy))


def _step(c, i1wx, i1wy, grad, rho_c, u1, u2, p):
  """One thresholding + primal + dual step; returns new u1, u2, p, change.

  The step is memory-bound on a CPU: every array XLA materialises between
  kernels is a pass over the image. Values shared by the two flow components
  (the residual rho and its threshold) and by two dual variables (the
  gradient norms) are therefore written twice, as expressions XLA cannot
  merge, so that each is recomputed inside the kernel that uses it;
  benchmarks/flow_tf.py --sections step measures the effect
  (docs/BENCHMARKS.md).
  """
  tau, lam, theta = c[0], c[1], c[2]
  l_t, taut = lam * theta, tau / theta
  # The same residual twice, operands of the products swapped.
  fi1 = _threshold(rho_c + i1wx * u1 + i1wy * u2, grad, l_t)
  fi2 = _threshold(rho_c + u1 * i1wx + u2 * i1wy, grad, l_t)
  n1 = u1 + fi1 * i1wx + theta * ops.divergence(p[0], p[1])
  n2 = u2 + i1wy * fi2 + theta * ops.divergence(p[2], p[3])
  change = tf.reduce_sum(tf.square(n1 - u1) + tf.square(n2 - u2), [1, 2])
  u1x, u1y = ops.forward_gradient(n1)
  u2x, u2y = ops.forward_gradient(n2)
  p = (_dual_update(p[0], u1x, u1x, u1y, taut, twin=False),
       _dual_update(p[1], u1y, u1x, u1y, taut, twin=True),
       _dual_update(p[2], u2x, u2x, u2y, taut, twin=False),
       _dual_update(p[3], u2y, u2x, u2y, taut, twin=True))
  return n1, n2, p, change


def _median_pair(u1, u2):
  both = ops.median5(tf.concat([u1, u2], 0))
  return both[:u1.shape[0]], both[u1.shape[0]:]


def _iterate(c, data, u1, u2, p):
  """The outer/inner loops of one warp; returns u1, u2, p, steps [B].

  As in tvl1flow.cpp: each outer iteration starts with the 5x5 median of the
  flow, then runs up to `inner` steps; both loops stop once the change falls
  to epsilon (OpenCV's rule).  Nested while loops rather than one loop with
  a conditional median per step: 7% faster per pair with OpenCV's rule.
  """
  inner, outer, median, stopping, fixed_n = c[6], c[7], c[9], c[10], c[11]
  batch, h, w = u1.shape
  opencv = stopping == 'opencv'
  masked = opencv and batch > 1  # Finished pairs are frozen.
  total = inner * outer if opencv else fixed_n
  eps = np.float32(c[5] * c[5] * h * w)
  big = np.float32(np.finfo(np.float32).max)

  def running(err):
    return tf.reduce_any(err > eps) if opencv else tf.constant(True)

  def inner_body(n, u1, u2, p, err, steps):
    active = err > eps
    n1, n2, np_, change = _step(c, *data, u1, u2, p)
    if masked:
      mask = active[:, None, None]
      n1, n2 = tf.where(mask, n1, u1), tf.where(mask, n2, u2)
      np_ = tuple(tf.where(mask, a, b) for a, b in zip(np_, p))
      change = tf.where(active, change, err)
    if not opencv:
      change = err
    return n + 1, n1, n2, np_, change, steps + tf.cast(active, tf.int32)

  def outer_body(k, u1, u2, p, err, steps):
    if median:
      m1, m2 = _median_pair(u1, u2)
      if masked:
        mask = (err > eps)[:, None, None]
        m1, m2 = tf.where(mask, m1, u1), tf.where(mask, m2, u2)
      u1, u2 = m1, m2
    limit = tf.minimum(inner, total - k * inner)
    _, u1, u2, p, err, steps = tf.while_loop(
        lambda n, *a: tf.logical_and(n < limit, running(a[3])), inner_body,
        (tf.constant(0), u1, u2, p, err, steps))
    return k + 1, u1, u2, p, err, steps

  init = (tf.constant(0), u1, u2, p, tf.fill([batch], big),
          tf.zeros([batch], tf.int32))
  _, u1, u2, p, _, steps = tf.while_loop(
      lambda k, *a: tf.logical_and(k < -(-total // inner), running(a[3])),
      outer_body, init)
  return u1, u2, p, steps


def _solve_level(c, i0, i1, u1, u2):
  """All warps at one pyramid level (procOneScale); returns u1, u2, steps."""
  batch, h, w = i0.shape
  i1x, i1y = ops.centered_gradient(i1)
  flat = ops.pad_for_remap(tf.stack([i1, i1x, i1y], -1))

  def body(k, u1, u2, p, steps):
    warped = ops.remap_cubic(flat, h, w, u1, u2)
    i1w, i1wx, i1wy = warped[..., 0], warped[..., 1], warped[..., 2]
    grad = i1wx * i1wx + i1wy * i1wy
    rho_c = i1w - i1wx * u1 - i1wy * u2 - i0
    u1, u2, p, n = _iterate(c, (i1wx, i1wy, grad, rho_c), u1, u2, p)
    return k + 1, u1, u2, p, steps + n

  zeros = tf.zeros_like(i0)
  init = (tf.constant(0), u1, u2, (zeros,) * 4, tf.zeros([batch], tf.int32))
  _, u1, u2, _, steps = tf.while_loop(lambda k, *_: k < c[4], body, init)
  return u1, u2, steps


def _solve(c, frames0, frames1):
  """The pyramid (calc in tvl1flow.cpp): [B,H,W] x2 -> [B,H,W,2], steps."""
  i0s = [tf.cast(frames0, tf.float32)]
  i1s = [tf.cast(frames1, tf.float32)]
  sizes = pyramid_sizes(i0s[0].shape[1], i0s[0].shape[2], c[3], c[8])
  for (h0, w0), (h1, w1) in zip(sizes, sizes[1:]):
    my = ops.linear_resize_matrix(h0, h1, 1.0 / c[8])
    mx = ops.linear_resize_matrix(w0, w1, 1.0 / c[8])
    i0s.append(ops.resize(i0s[-1], my, mx))
    i1s.append(ops.resize(i1s[-1], my, mx))
  u1 = u2 = tf.zeros_like(i0s[-1])
  steps = 0
  for s in reversed(range(len(sizes))):
    u1, u2, n = _solve_level(c, i0s[s], i1s[s], u1, u2)
    steps += n
    if s:
      (h1, w1), (h0, w0) = sizes[s], sizes[s - 1]
      my = ops.linear_resize_matrix(h1, h0, h1 / h0)
      mx = ops.linear_resize_matrix(w1, w0, w1 / w0)
      up = 1.0 / c[8]
      u1 = ops.resize(u1, my, mx) * up
      u2 = ops.resize(u2, my, mx) * up
  return tf.stack([u1, u2], -1), steps


def _compiled(config: tuple):
  if config not in _COMPILED:
    _COMPILED[config] = tf.function(
        lambda a, b: _solve(config, a, b), jit_compile=True, autograph=False)
  return _COMPILED[config]


def tvl1_pairs(frames0, frames1, stopping: str = 'opencv', iterations=None,
               return_steps: bool = False, **params):
  """TV-L1 flow from frames0[b] to frames1[b] for a batch of pairs.

  Compiled once per (batch, H, W, parameters); keep the batch size fixed
  (pad the last batch) to avoid recompiling.

  Args:
    frames0: [B, H, W] uint8 or float32 (0..255) first frames.
    frames1: [B, H, W] second frames, same shape.
    stopping: 'opencv' (OpenCV's epsilon rule) or 'fixed'.
    iterations: steps per warp for stopping='fixed'
      (default fixed_iterations(H, W)).
    return_steps: also return the steps each pair took over all levels and
      warps (int32 [B]).
    **params: OpenCV's DualTVL1 parameters (flow.backends.OPENCV_DEFAULTS).

  Returns:
    float32 tf.Tensor [B, H, W, 2] (x then y), and the steps if asked for.

  Raises:
    ValueError: shapes differ or are not [B, H, W]; bad parameters.
    NotImplementedError: gamma != 0, useInitialFlow, a median size not 5.
  """
  a, b = tf.convert_to_tensor(frames0), tf.convert_to_tensor(frames1)
  if a.shape.rank != 3 or a.shape != b.shape:
    raise ValueError(f'tvl1_pairs wants two [B,H,W] batches of one shape; '
                     f'got {a.shape} and {b.shape}.')
  if min(a.shape[1:]) < 3:
    raise ValueError(f'frames of {a.shape[1]}x{a.shape[2]} are too small '
                     'for TV-L1 (at least 3x3).')
  if stopping == 'fixed' and iterations is None:
    iterations = fixed_iterations(a.shape[1], a.shape[2])
  config = _solver_config(params, stopping, iterations)
  flow, steps = _compiled(config)(tf.cast(a, tf.float32),
                                  tf.cast(b, tf.float32))
  return (flow, steps) if return_steps else flow


def quantize(flow_px, bound: float = FLOW_BOUND) -> tf.Tensor:
  """flow.tvl1.quantize on the device that holds the flow (uint8 comes
  back, a quarter of the float32's bytes); the same values: truncate to
  [-bound, bound], map linearly to 0..255, round half to even."""
  px = tf.clip_by_value(tf.cast(flow_px, tf.float32), -bound, bound)
  return tf.cast(tf.round((px + bound) * (255.0 / (2.0 * bound))), tf.uint8)


def _on_accelerator() -> bool:
  return bool(tf.config.list_physical_devices('GPU') or
              tf.config.list_physical_devices('TPU'))


def default_batch_size() -> int:
  """Pairs per call: 1 on CPUs (benchmarks/flow_tf.py: a pair's arrays stay
  in cache and batching was slower per pair), 64 on an accelerator."""
  return 64 if _on_accelerator() else 1


def default_stopping() -> str:
  """'opencv' on CPUs (one pair per call), 'fixed' on an accelerator, where
  a batch under OpenCV's rule would wait for its slowest pair."""
  return 'fixed' if _on_accelerator() else 'opencv'


def tvl1(gray_frames, stopping=None, iterations=None, batch_size=None,
         **params) -> np.ndarray:
  """TV-L1 flow between consecutive frames, computed in batches of pairs.

  Args:
    gray_frames: uint8 [T, H, W] grayscale frames.
    stopping: 'opencv' or 'fixed' (see the module docstring); default
      default_stopping().
    iterations: steps per warp for stopping='fixed'.
    batch_size: pairs per compiled call (default: default_batch_size()).
      Fewer pairs than that run as one batch of the next power of two, so
      that the short last chunks of clips compile a handful of shapes; a
      batch is padded by repeating the last pair.
    **params: OpenCV's DualTVL1 parameters (flow.backends.OPENCV_DEFAULTS).

  Returns:
    float32 [T-1, H, W, 2] in pixels, x then y; flow[t] is the motion from
    frame t to frame t+1 (flow.tvl1's convention).
  """
  frames = np.asarray(gray_frames)
  if frames.ndim != 3 or frames.dtype != np.uint8:
    raise ValueError(f'tvl1 wants uint8 grayscale frames [T,H,W]; got '
                     f'{frames.dtype} {frames.shape}.')
  pairs = max(frames.shape[0] - 1, 0)
  out = np.zeros((pairs, *frames.shape[1:], 2), np.float32)
  if not pairs:
    return out
  batch = max(1, batch_size or default_batch_size())
  if pairs < batch:
    batch = min(batch, 1 << (pairs - 1).bit_length())
  stopping = stopping or default_stopping()
  for start in range(0, pairs, batch):
    idx = np.minimum(np.arange(start, start + batch), pairs - 1)
    flow = tvl1_pairs(frames[idx], frames[idx + 1], stopping=stopping,
                      iterations=iterations, **params)
    count = min(batch, pairs - start)
    out[start:start + count] = flow.numpy()[:count]
  return out
