"""TV-L1 optical flow between consecutive grayscale frames, and its uint8 form.

Alignment convention: T frames give T-1 flow fields, and ``flow[t]`` is the
motion from frame t to frame t+1 (OpenCV's convention: frame t+1 sampled at
``x + flow[t](x)`` matches frame t at ``x``).  Datasets store exactly these T-1
fields, never padded to T: padding would invent a field (a zero or a copied
motion) that no frame pair produced, and a model fed a stack containing it
would learn from motion that never happened.  Consumers line the fields up
with frames by index: a flow stack of 10 starting at t covers
``flow[t:t+10]``, i.e. the motion across frames t..t+10, and samplers draw
start indices over the T-1 fields (looping the fields, not the frames, for
clips that are too short).  Flipping frames left-right mirrors each field and
negates its x channel.

The one way from frames to the stored uint8 flow is ``quantised_chunks``
(frames as they come, e.g. from a decoder) or ``quantised_flow`` (a [T,H,W]
array): the extractor (flow.extract), the dataset builders
(kinetics_tf.datasets.clips) and predict (kinetics_tf.predict) all call them.

Importing note: ``flow.tvl1`` is this module's main function (the package
exports it under the module's name); use ``flow.quantize`` etc., or import
the module's names as ``from flow.tvl1 import quantize``.
"""

from typing import Iterable, Iterator, Optional

import cv2
import numpy as np

from flow.backends import choose_backend, tvl1_params
from flow.constants import DEFAULT_BACKEND, FLOW_BOUND, FLOW_CHUNK


def _check_gray(gray_frames) -> np.ndarray:
  frames = np.asarray(gray_frames)
  if frames.ndim != 3 or frames.dtype != np.uint8:
    raise ValueError(
        f'TV-L1 wants uint8 grayscale frames [T,H,W]; got {frames.dtype} '
        f'{frames.shape}. Convert RGB frames with flow.decoding.to_gray.')
  if frames.shape[0] < 1 or min(frames.shape[1:]) < 1:
    raise ValueError(f'TV-L1 got no frames (shape {frames.shape}).')
  return frames


def tvl1(gray_frames, backend: str = 'opencv', **params) -> np.ndarray:
  """TV-L1 flow between each pair of consecutive frames.

  Args:
    gray_frames: uint8 [T, H, W] grayscale frames (T >= 1).
    backend: 'opencv' (cv2.optflow.DualTVL1OpticalFlow, the paper's and
      this function's reference), 'tf' (flow.tvl1_tf, imported only when
      asked for) or 'auto' (flow.backends.choose_backend).  The tools' and
      builders' default is flow.constants.DEFAULT_BACKEND, through
      quantised_chunks / quantised_flow.
    **params: DualTVL1 parameters (flow.backends.OPENCV_DEFAULTS; 'lambda' and
      'innerIterations' are accepted too). With useInitialFlow=True each pair
      starts from the previous pair's flow (the first from zero).

  Returns:
    float32 [T-1, H, W, 2] flow in pixels, x then y; flow[t] is the motion
    from frame t to frame t+1.  A single frame gives [0, H, W, 2].

  Raises:
    ValueError: bad frames, an unknown parameter or backend.
  """
  frames = _check_gray(gray_frames)
  backend = choose_backend(backend, **params)
  if backend == 'tf':
    # TensorFlow is imported only when asked for.
    from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
    return tvl1_tf.tvl1(frames, **params)
  opts = tvl1_params(**params)
  algo = cv2.optflow.DualTVL1OpticalFlow_create(**opts)
  t, h, w = frames.shape
  out = np.zeros((max(t - 1, 0), h, w, 2), np.float32)
  for i in range(t - 1):
    # OpenCV reads the initial flow from the output argument.
    init = out[max(i - 1, 0)].copy() if opts['useInitialFlow'] else None
    out[i] = algo.calc(frames[i], frames[i + 1], init)
  return out


def quantize(flow_px, bound: float = FLOW_BOUND) -> np.ndarray:
  """Pixels -> uint8: truncate to [-bound, bound], map linearly to 0..255.

  One step is 2 * bound / 255 px (0.157 px for bound 20); values are rounded
  to the nearest step, so dequantize(quantize(x)) is within half a step of x
  inside the bound.
  """
  px = np.clip(np.asarray(flow_px, np.float32), -bound, bound)
  return np.round((px + bound) * (255.0 / (2.0 * bound))).astype(np.uint8)


def dequantize(flow_u8, unit: bool = False,
               bound: float = FLOW_BOUND) -> np.ndarray:
  """uint8 -> float32 pixels in [-bound, bound], or in [-1, 1] if `unit`."""
  u8 = np.asarray(flow_u8)
  if u8.dtype != np.uint8:
    raise ValueError(f'dequantize wants uint8 flow; got {u8.dtype}.')
  scaled = u8.astype(np.float32) * (2.0 / 255.0) - 1.0
  return scaled if unit else scaled * np.float32(bound)


def chunk_size(backend: str, chunk: Optional[int] = None, **params) -> int:
  """Frame pairs per TV-L1 call: ``chunk``, else FLOW_CHUNK, raised to the
  TF backend's batch on an accelerator (flow.tvl1_tf.default_batch_size: a
  chunk smaller than the batch would run the device on short batches)."""
  if chunk is not None:
    return chunk
  if choose_backend(backend, **params) != 'tf':
    return FLOW_CHUNK
  from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
  return max(FLOW_CHUNK, tvl1_tf.default_batch_size())


def quantised_chunks(gray_frames: Iterable[np.ndarray],
                     backend: str = DEFAULT_BACKEND,
                     chunk: Optional[int] = None,
                     **params) -> Iterator[np.ndarray]:
  """Quantised TV-L1 flow of consecutive frames, `chunk` pairs per call.

  Frames are taken as they come (a decoder's iterator, or a [T,H,W] array),
  holding at most chunk + 1 of them; consecutive chunks share a frame, so
  the chunks joined are the flow of the whole clip.  With useInitialFlow
  each pair starts from the previous one's flow, so the whole clip goes in
  one call.

  Args:
    gray_frames: uint8 [H, W] grayscale frames (flow.decoding.to_gray).
    backend: a TV-L1 backend of flow.constants.CHOICES.
    chunk: frame pairs per TV-L1 call (bounds the float32 flow held);
      default chunk_size's.
    **params: DualTVL1 parameters, as for tvl1.

  Yields:
    uint8 [n, H, W, 2] flow (quantize of tvl1), n >= 1, in order; nothing
    for fewer than two frames.

  Raises:
    ValueError: bad frames, an unknown parameter or backend, chunk < 1.
  """
  chunk = chunk_size(backend, chunk, **params)
  if chunk < 1:
    raise ValueError(f'chunk must be >= 1 frame pair; got {chunk}.')
  # The whole clip in one call when the pairs are chained.
  limit = None if tvl1_params(**params)['useInitialFlow'] else chunk + 1
  held = []
  for frame in gray_frames:
    held.append(frame)
    if len(held) == limit:
      yield quantize(tvl1(np.stack(held), backend, **params))
      held = held[-1:]
  if len(held) > 1:
    yield quantize(tvl1(np.stack(held), backend, **params))


def quantised_flow(gray_frames, backend: str = DEFAULT_BACKEND,
                   chunk: Optional[int] = None, **params) -> np.ndarray:
  """uint8 [T-1, H, W, 2] quantised TV-L1 flow of [T, H, W] frames (T >= 1).

  The flow the datasets store: quantize(tvl1(gray_frames, backend, ...)),
  computed in chunks (quantised_chunks); a single frame gives [0, H, W, 2].
  """
  frames = _check_gray(gray_frames)
  out = np.empty((frames.shape[0] - 1, *frames.shape[1:], 2), np.uint8)
  done = 0
  for part in quantised_chunks(frames, backend, chunk, **params):
    out[done:done + len(part)] = part
    done += len(part)
  return out
