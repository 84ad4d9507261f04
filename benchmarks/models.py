"""Examples/s of training and inference per model at paper input, XLA or not.

Run (about 10 minutes on 2 busy cores; fewer models or steps make it shorter):
  python benchmarks/models.py
  python benchmarks/models.py --models=rgb,c3d --steps=3

Each model is compiled the way a training binary would (SGD with momentum,
sparse softmax cross-entropy on logits), once with ``jit_compile=False`` and
once with ``jit_compile=True``, in this one process. A training step is
``train_on_batch`` and inference ``predict_on_batch``; the first call of each
(tracing and, with XLA, compiling) is timed apart and left out of the rates.
Inputs are random, in [-1, 1]. The machine may be shared: the load average is
printed before and after, and ratios within one run are the figures to trust.
"""

import os
import subprocess
import sys
import time

from absl import app
from absl import flags
import keras
import numpy as np

# benchmarks/flow.py would shadow the flow package that kinetics_tf imports:
# drop this folder from the import path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]

# pylint: disable=wrong-import-position
from kinetics_tf import constants
from kinetics_tf import models

_MODELS = flags.DEFINE_list(
    'models', ['rgb', 'flow', 'convnet_lstm', 'c3d'],
    'Models to time: rgb, flow, convnet_lstm, c3d.')
_BATCH = flags.DEFINE_integer('batch', 2, 'Examples per step.')
_LSTM_BATCH = flags.DEFINE_integer(
    'convnet_lstm_batch', 1,
    'Examples per step for convnet_lstm (one clip is 25 ResNet images).')
_STEPS = flags.DEFINE_integer('steps', 2, 'Timed steps after the first.')

_CROP, _C3D_CROP = constants.RESNET_CROP, constants.C3D_CROP
# Paper inputs (Table 3, §4.4): model, one example's shape.
_PAPER = {
    'rgb': (models.rgb_stream, (_CROP, _CROP, 3)),
    'flow': (models.flow_stream, (_CROP, _CROP, constants.FLOW_CHANNELS)),
    'convnet_lstm': (models.ConvNetLSTM,
                     (constants.TRAIN_FOOTPRINTS['convnet_lstm'].num_frames,
                      _CROP, _CROP, 3)),
    'c3d': (models.C3D, (constants.TRAIN_FOOTPRINTS['c3d'].num_frames,
                         _C3D_CROP, _C3D_CROP, 3)),
}


def _timed(fn, steps):
  """(seconds of the first call, seconds per later call)."""
  start = time.perf_counter()
  fn()
  first = time.perf_counter() - start
  start = time.perf_counter()
  for _ in range(steps):
    fn()
  return first, (time.perf_counter() - start) / steps


def _bench(key, jit, batch, steps):
  """One row: compile and step times of training and inference."""
  build, shape = _PAPER[key]
  keras.backend.clear_session()
  model = build()
  model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                loss=keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True),
                jit_compile=jit)
  rng = np.random.default_rng(0)
  x = rng.uniform(-1, 1, (batch,) + shape).astype('float32')
  y = rng.integers(0, constants.NUM_CLASSES, batch)
  train_first, train_step = _timed(lambda: model.train_on_batch(x, y), steps)
  infer_first, infer_step = _timed(lambda: model.predict_on_batch(x), steps)
  return {'model': key, 'input': 'x'.join(map(str, shape)), 'jit': jit,
          'batch': batch,
          'params': model.count_params(), 'train_first': train_first,
          'train': batch / train_step, 'infer_first': infer_first,
          'infer': batch / infer_step}


def _machine():
  model = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
  name = [l.split(':', 1)[1].strip() for l in model.splitlines()
          if l.startswith('Model name')]
  return f'{name[0] if name else "unknown CPU"}, {os.cpu_count()} cores'


def main(argv):
  del argv
  unknown = set(_MODELS.value) - set(_PAPER)
  if unknown:
    raise app.UsageError(f'unknown models {sorted(unknown)}; choose from '
                         f'{sorted(_PAPER)}')
  print(f'machine: {_machine()}; load average before: {os.getloadavg()}')
  print(f'batch {_BATCH.value} (convnet_lstm {_LSTM_BATCH.value}), '
        f'{_STEPS.value} timed steps after the first')
  print('\n| model | input | batch | jit_compile | params | train ex/s | '
        'first train step (s) | inference ex/s | first inference (s) |')
  print('|---|---|---|---|---|---|---|---|---|', flush=True)
  rows = []
  for key in _MODELS.value:
    for jit in (False, True):
      batch = _LSTM_BATCH.value if key == 'convnet_lstm' else _BATCH.value
      r = _bench(key, jit, batch, _STEPS.value)
      rows.append(r)
      print(f'| {r["model"]} | {r["input"]} | {r["batch"]} | {r["jit"]} | '
            f'{r["params"] / 1e6:.1f}M | {r["train"]:.3f} | '
            f'{r["train_first"]:.1f} | {r["infer"]:.3f} | '
            f'{r["infer_first"]:.1f} |', flush=True)
  print()
  for key in _MODELS.value:
    plain, xla = [r for r in rows if r['model'] == key]
    print(f'{key}: XLA / no XLA = train {xla["train"] / plain["train"]:.2f}x, '
          f'inference {xla["infer"] / plain["infer"]:.2f}x')
  print(f'load average after: {os.getloadavg()}; {len(rows)} rows timed')


if __name__ == '__main__':
  app.run(main)
