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

Importing note: ``flow.tvl1`` is this module's main function (the package
re-exports it under the module's name); import helpers as
``from flow.tvl1 import OPENCV_DEFAULTS`` or use ``flow.quantize``.
"""

import importlib

import cv2
import numpy as np

from flow.constants import FLOW_BOUND

# cv2.optflow.DualTVL1OpticalFlow_create's keywords and OpenCV's defaults
# (OpenCV spells 'innnerIterations' with three n's; 'lambda' is a Python
# keyword, so OpenCV calls it 'lambda_').
OPENCV_DEFAULTS = {
    'tau': 0.25,
    'lambda_': 0.15,
    'theta': 0.3,
    'nscales': 5,
    'warps': 5,
    'epsilon': 0.01,
    'innnerIterations': 30,
    'outerIterations': 10,
    'scaleStep': 0.8,
    'gamma': 0.0,
    'medianFiltering': 5,
    'useInitialFlow': False,
}

# Spellings accepted besides OpenCV's own.
_ALIASES = {'lambda': 'lambda_', 'innerIterations': 'innnerIterations'}

BACKENDS = ('opencv', 'tf')
# Resolved by choose_backend: the default of the extraction tool and the
# dataset builders.
AUTO = 'auto'
CHOICES = BACKENDS + (AUTO,)  # What a backend flag or argument accepts.


def tvl1_params(**params) -> dict:
  """OpenCV's defaults updated with `params`, under OpenCV's keyword names.

  Raises:
    ValueError: a parameter OpenCV's DualTVL1 does not have.
  """
  out = dict(OPENCV_DEFAULTS)
  for name, value in params.items():
    key = _ALIASES.get(name, name)
    if key not in out:
      raise ValueError(
          f'unknown TV-L1 parameter {name!r}; allowed: '
          f'{sorted(OPENCV_DEFAULTS) + sorted(_ALIASES)}')
    out[key] = value
  return out


def _check_gray(gray_frames) -> np.ndarray:
  frames = np.asarray(gray_frames)
  if frames.ndim != 3 or frames.dtype != np.uint8:
    raise ValueError(
        f'TV-L1 wants uint8 grayscale frames [T,H,W]; got {frames.dtype} '
        f'{frames.shape}. Convert RGB frames with flow.video.to_gray.')
  if frames.shape[0] < 1 or min(frames.shape[1:]) < 1:
    raise ValueError(f'TV-L1 got no frames (shape {frames.shape}).')
  return frames


def tf_unsupported(params: dict) -> str:
  """Why the TF backend cannot run these DualTVL1 parameters ('' if it can)."""
  p = tvl1_params(**params)
  if p['gamma'] != 0:
    return 'gamma != 0 (the illumination term)'
  if p['useInitialFlow']:
    return 'useInitialFlow (pairs chained one after another)'
  if p['medianFiltering'] not in (0, 1, 5):
    return f'medianFiltering={p["medianFiltering"]} (it has 5x5 or none)'
  return ''


def choose_backend(backend: str = AUTO, **params) -> str:
  """The TV-L1 backend to run: `backend` itself, or what 'auto' picks.

  'auto' picks 'tf' (flow.tvl1_tf: OpenCV's stopping rule one pair at a
  time on CPUs, the fixed budget in batches on an accelerator) whenever it
  supports the parameters, else 'opencv'.  Measured on a 2-core CPU
  (benchmarks/flow_tf.py, docs/BENCHMARKS.md): the TF backend computes a
  pair 5-8x faster than OpenCV at every frame size from 64x48 to 340x256,
  after a compile of about 10 s per frame size per process, repaid after 7
  pairs at 340x256 and 120-140 at 64x48; on an accelerator it runs batches.  Its
  flow differs from OpenCV's by 0.003-0.02 px on average, a tenth of one
  step of the uint8 storage (0.157 px).

  Raises:
    ValueError: an unknown backend or parameter.
  """
  if backend == AUTO:
    return 'opencv' if tf_unsupported(params) else 'tf'
  if backend not in BACKENDS:
    raise ValueError(f'unknown flow backend {backend!r}; use one of '
                     f'{CHOICES}')
  return backend


def pin_threads(threads: int, tensorflow: bool) -> None:
  """Sets OpenCV's thread pool, and TensorFlow's when `tensorflow` (the TF
  backend computes the flow) and TF has not started in this process yet."""
  cv2.setNumThreads(threads)
  if tensorflow:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    try:
      tf.config.threading.set_intra_op_parallelism_threads(threads)
      tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF already running here: keep its pool.
      pass


def tvl1(gray_frames, backend: str = 'opencv', **params) -> np.ndarray:
  """TV-L1 flow between each pair of consecutive frames.

  Args:
    gray_frames: uint8 [T, H, W] grayscale frames (T >= 1).
    backend: 'opencv' (cv2.optflow.DualTVL1OpticalFlow), 'tf'
      (flow.tvl1_tf, imported only when asked for) or 'auto'
      (choose_backend).
    **params: DualTVL1 parameters (see OPENCV_DEFAULTS; 'lambda' and
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
    tvl1_tf = importlib.import_module('flow.tvl1_tf')
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
