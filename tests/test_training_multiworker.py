"""MultiWorkerMirroredStrategy: two worker processes over localhost with TF_CONFIG.

Each worker runs ``kinetics_tf.training.runner.run`` (the strategy comes from
``distribute.make_strategy``, which picks MultiWorkerMirroredStrategy because
TF_CONFIG is set, as ``python -m kinetics_tf.train`` does) on a tiny batch-norm
model and in-memory clips: 4 steps, then a rerun to 8 that resumes.  Each
worker gets a model_dir of its own so that what each one writes can be told
apart (on a cluster they share one; the chief's files and the other workers'
``workers/<task>`` scratch folders do not collide).
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

WORKER_SCRIPT = '''
import json, sys
import numpy as np
import tensorflow as tf
import keras
from kinetics_tf.training import runner
from kinetics_tf.training.config import Config

model_dir, max_steps = sys.argv[1], int(sys.argv[2])
config = Config(name='two_workers', dataset='in_memory/bright_dark', model='rgb',
                crop_size=8, batch_size=8, base_lr=0.1, momentum=0.9, weight_decay=1e-4,
                max_steps=max_steps, eval_every=2, eval_batches=2, checkpoint_every=2,
                log_every=2, patience=1, num_classes=2, shuffle_buffer=16, seed=0,
                deterministic=True)


def examples(split, input_context, seed):
  """16 two-frame clips, bright = class 1, dark = class 0; validation swaps
  the labels, so its loss rises as training fits and the plateau rule drops
  the rate."""
  rng = np.random.default_rng(1 if split == 'validation' else 0)
  labels = np.arange(16) // 2 % 2   # both classes in each worker's shard
  level = np.where(labels == 1, 190, 60)[:, None, None, None, None]
  video = np.clip(level + rng.normal(0, 20, (16, 2, 10, 10, 3)), 0, 255).astype(np.uint8)
  if split == 'validation':
    labels = 1 - labels
  ds = tf.data.Dataset.from_tensor_slices({'video': video, 'label': labels.astype(np.int64)})
  if input_context is not None:
    ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
  return ds


built = []


def build(config, num_classes):
  inputs = keras.Input((config.crop_size, config.crop_size, 3))
  x = keras.layers.Conv2D(4, 3, use_bias=False)(inputs)
  x = keras.layers.ReLU()(keras.layers.BatchNormalization(name='bn')(x))
  x = keras.layers.GlobalAveragePooling2D()(x)
  model = keras.Model(inputs, keras.layers.Dense(num_classes)(x))
  built.append((model, [w.numpy().tolist() for w in model.trainable_weights]))
  return model


result = runner.run(config, model_dir, build, examples_fn=examples)
model, initial = built[-1]
bn = model.get_layer('bn')
print('RESULT' + json.dumps({
    'step': result.step, 'lr': result.learning_rate, 'stopped': result.stopped,
    'history': result.history, 'checkpoint': result.checkpoint,
    'final_model': result.final_model, 'initial': initial,
    'trainable': [w.numpy().tolist() for w in model.trainable_weights],
    'stats': [v.numpy().tolist() for v in (bn.moving_mean, bn.moving_variance)]}), flush=True)
'''

BASE_LR = 0.1
RUN_TIMEOUT_S = 150   # one run of both workers; about 10 s on 2 cores


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _run_workers(dirs, max_steps):
  """Starts both workers, waits (bounded) and returns [(stdout, result)] by task index."""
  cluster = {'worker': [f'localhost:{_free_port()}' for _ in dirs]}
  procs = []
  for index, model_dir in enumerate(dirs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', TF_CONFIG=json.dumps(
        {'cluster': cluster, 'task': {'type': 'worker', 'index': index}}))
    procs.append(subprocess.Popen(
        [sys.executable, '-c', WORKER_SCRIPT, str(model_dir), str(max_steps)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
  outs = []
  try:
    for proc in procs:
      outs.append(proc.communicate(timeout=RUN_TIMEOUT_S))
  except subprocess.TimeoutExpired:
    for proc in procs:
      proc.kill()
    logs = [p.communicate()[1][-1500:] for p in procs]
    pytest.fail(f'the two workers did not finish {max_steps} steps in {RUN_TIMEOUT_S} s: {logs}')
  runs = []
  for proc, (stdout, stderr) in zip(procs, outs):
    assert proc.returncode == 0, stderr[-3000:]
    line = [l for l in stdout.splitlines() if l.startswith('RESULT')][0]
    runs.append((stdout, json.loads(line[len('RESULT'):])))
  return runs


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp('multiworker')
  dirs = [root / 'chief', root / 'worker1']
  first = _run_workers(dirs, 4)
  files_after_first = [sorted(str(p.relative_to(d)) for p in d.rglob('*') if p.is_file())
                       for d in dirs]
  rerun = _run_workers(dirs, 8)
  return {'dirs': dirs, 'first': first, 'rerun': rerun, 'files': files_after_first}


def test_both_workers_hold_the_same_trained_weights(runs):
  for key in ('first', 'rerun'):
    (_, chief), (_, other) = runs[key]
    assert chief['step'] == other['step'] == {'first': 4, 'rerun': 8}[key]
    assert len(chief['trainable']) == 5   # conv kernel, gamma, beta, dense kernel, bias
    for a, b in zip(chief['trainable'], other['trainable']):
      np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert chief['lr'] == other['lr']
    # Batch norm's moving averages are per worker (each its own examples):
    # checked only for having moved from their initial 0 and 1.
    for result in (chief, other):
      assert np.abs(result['stats'][0]).max() > 1e-3
      assert np.abs(np.subtract(result['stats'][1], 1.0)).max() > 1e-3


def test_the_weights_moved(runs):
  (_, chief), _ = runs['first']
  moved = [float(np.abs(np.subtract(a, b)).max())
           for a, b in zip(chief['initial'], chief['trainable'])]
  assert min(moved) > 1e-3, moved
  # The fit is real: the training loss fell (validation, with swapped
  # labels, rose), so the rule dropped the rate at step 4.
  history = chief['history']
  assert [h['step'] for h in history] == [2, 4]
  assert history[1]['loss'] > history[0]['loss']
  assert [h['dropped'] for h in history] == [False, True]
  assert chief['lr'] == pytest.approx(BASE_LR * 0.1)


def test_only_the_chief_writes_model_dir(runs):
  chief_files, other_files = runs['files']
  assert {'config.json', 'history.json', 'result.json', 'final.keras',
          'checkpoints/ckpt-4.index'} <= set(chief_files)
  assert any(f.startswith('train/events.out.tfevents') for f in chief_files)
  assert any(f.startswith('validation/events.out.tfevents') for f in chief_files)
  assert not any(f.startswith('workers/') for f in chief_files)
  # The other worker saves only its share of the checkpoint, in scratch.
  assert other_files and all(f.startswith('workers/worker_1/checkpoints/') for f in other_files)
  assert 'workers/worker_1/checkpoints/ckpt-4.index' in other_files
  (_, chief), (_, other) = runs['first']
  assert chief['final_model'] == str(runs['dirs'][0] / 'final.keras')
  assert other['final_model'] is None


def test_a_rerun_resumes_at_the_same_step_and_learning_rate(runs):
  chief_dir, other_dir = runs['dirs']
  ckpts = [chief_dir / 'checkpoints', other_dir / 'workers' / 'worker_1' / 'checkpoints']
  lr_after_first = runs['first'][0][1]['lr']
  for (stdout, result), ckpt in zip(runs['rerun'], ckpts):
    assert f'steps 4..8 (resumed from {ckpt}/ckpt-4)' in stdout
    # Steps 5-6 ran at the rate the first run ended with.
    (line,) = [l for l in stdout.splitlines() if l.startswith('step 6/8 ')]
    assert f'| lr {lr_after_first:.3g} |' in line, line
    assert result['step'] == 8 and result['stopped'] == 'max_steps'
    assert result['checkpoint'] == f'{ckpt}/ckpt-8'
  # The chief's record spans both runs; replaying the plateau rule over its
  # losses gives every rate it recorded (rate and bad-validation count resumed).
  from kinetics_tf.training.plateau import Plateau  # pylint: disable=g-import-not-at-top
  history = runs['rerun'][0][1]['history']
  assert [h['step'] for h in history] == [2, 4, 6, 8]
  plateau = Plateau(BASE_LR, patience=1)
  replayed = []
  for h in history:
    plateau.update(h['loss'])
    replayed.append(plateau.learning_rate)
  assert [h['lr'] for h in history] == pytest.approx(replayed)
  assert runs['rerun'][0][1]['lr'] == runs['rerun'][1][1]['lr'] == pytest.approx(replayed[-1])
