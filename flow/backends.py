"""The TV-L1 backends' parameters, and which backend runs.

Both backends take OpenCV's ``DualTVL1OpticalFlow`` parameters under OpenCV's
names: 'opencv' (``cv2.optflow``, in ``flow.tvl1``) and 'tf' (``flow.tvl1_tf``,
OpenCV's algorithm in TensorFlow/XLA).  ``flow.tvl1`` and ``flow.tvl1_tf``
both import this module and neither imports the other at import time.
TensorFlow is optional here (the kinetics-tf[cpu] or [gpu] extra brings it):
without it 'auto' picks 'opencv'.
"""

import importlib.util

import cv2

from flow.app import UserError
from flow.constants import AUTO, BACKENDS, CHOICES, DEFAULT_BACKEND

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


def tensorflow_installed() -> bool:
  """Whether TensorFlow can be imported here (without importing it)."""
  return importlib.util.find_spec('tensorflow') is not None


def choose_backend(backend: str = DEFAULT_BACKEND, **params) -> str:
  """The TV-L1 backend to run: `backend` itself, or what 'auto' picks.

  'auto' picks 'tf' (flow.tvl1_tf: OpenCV's stopping rule one pair at a
  time on CPUs, the fixed budget in batches on an accelerator) whenever
  TensorFlow is installed and the TF backend supports the parameters, else
  'opencv'.  Measured on a 2-core CPU
  (benchmarks/flow_tf.py, docs/BENCHMARKS.md): the TF backend computes a
  pair 5-8x faster than OpenCV at every frame size from 64x48 to 340x256,
  after a compile of about 10 s per frame size per process, repaid after 7
  pairs at 340x256 and 120-140 at 64x48; on an accelerator it runs batches.  Its
  flow differs from OpenCV's by 0.003-0.02 px on average, a tenth of one
  step of the uint8 storage (0.157 px).

  Raises:
    ValueError: an unknown backend or parameter; UserError (a ValueError)
      for 'tf' without TensorFlow installed, naming the extras that bring it.
  """
  if backend == AUTO:
    if tf_unsupported(params) or not tensorflow_installed():
      return 'opencv'
    return 'tf'
  if backend not in BACKENDS:
    raise ValueError(f'unknown flow backend {backend!r}; use one of '
                     f'{CHOICES}')
  if backend == 'tf' and not tensorflow_installed():
    raise UserError(
        "flow backend 'tf' needs TensorFlow, which is not installed: pip "
        "install 'kinetics-tf[cpu]' (CPU) or 'kinetics-tf[gpu]' (Linux, "
        "NVIDIA GPUs), or use backend 'opencv'")
  return backend


def pin_threads(threads: int, tensorflow: bool) -> None:
  """Sets OpenCV's thread pool, and TensorFlow's when `tensorflow` (the TF
  backend computes the flow) and TF has not started in this process yet;
  there, GPUs get memory growth."""
  cv2.setNumThreads(threads)
  if tensorflow:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    try:
      tf.config.threading.set_intra_op_parallelism_threads(threads)
      tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF already running here: keep its pool.
      pass
    # Worker processes share the machine's GPUs: each takes GPU memory as
    # it needs it rather than mapping nearly all of every GPU at start.
    for gpu in tf.config.list_physical_devices('GPU'):
      try:
        tf.config.experimental.set_memory_growth(gpu, True)
      except RuntimeError:  # Already initialised in this process.
        pass
