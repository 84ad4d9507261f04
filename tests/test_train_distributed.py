"""Synchronous SGD under MirroredStrategy over two logical CPUs, and kill + resume.

Both run in subprocesses: logical devices must be set before TensorFlow
initialises its devices, and a killed run needs a process of its own.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')

MIRRORED_SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from kinetics_tf.training import distribute, loop

    def build():
      keras.utils.set_random_seed(0)
      inputs = keras.Input((8, 8, 3))
      x = keras.layers.Conv2D(4, 3, activation='relu')(inputs)
      x = keras.layers.GlobalAveragePooling2D()(x)
      return keras.Model(inputs, keras.layers.Dense(5)(x))

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 8, 8, 3)).astype('float32')
    y = rng.integers(0, 5, 8).astype('int64')
    out = {}
    for name, devices in (('one', ['/cpu:0']), ('two', None)):
      strategy = distribute.make_strategy(devices)
      trainer = loop.Trainer(build, strategy, 8, base_lr=0.5, momentum=0.9,
                             weight_decay=1e-3, patience=1)
      batch = next(iter(strategy.experimental_distribute_dataset(
          tf.data.Dataset.from_tensors((x, y)))))
      sums = [trainer.train_step(batch) for _ in range(2)][-1]
      out[name] = {'replicas': strategy.num_replicas_in_sync,
                   'loss': float(sums[0]), 'count': float(sums[3]),
                   'weights': [w.tolist() for w in trainer.model.get_weights()]}
    try:
      loop.Trainer(build, distribute.make_strategy(None), 7, 0.1, 0.9, 0.0, 1)
    except ValueError as e:
      out['error'] = str(e)
    print('RESULT' + json.dumps(out))
''')


def test_two_replicas_step_equals_one_device_step():
  proc = subprocess.run([sys.executable, '-c', MIRRORED_SCRIPT],
                        capture_output=True, text=True, timeout=300, env=ENV)
  assert proc.returncode == 0, proc.stderr[-3000:]
  line = [l for l in proc.stdout.splitlines() if l.startswith('RESULT')][0]
  out = json.loads(line[len('RESULT'):])
  one, two = out['one'], out['two']
  assert (one['replicas'], two['replicas']) == (1, 2)
  assert one['count'] == two['count'] == 8
  assert abs(one['loss'] - two['loss']) < 1e-4 * max(1.0, abs(one['loss']))
  import numpy as np  # pylint: disable=g-import-not-at-top
  for w1, w2 in zip(one['weights'], two['weights']):
    np.testing.assert_allclose(w1, w2, rtol=1e-4, atol=1e-5)
  # The weights really moved in the two steps (momentum + weight decay).
  assert 'not divisible by the 2 replicas' in out['error']


def _train_cmd(model_dir, data_dir, max_steps):
  # C3D (8 convs) traces much faster than ResNet-50; the resume logic is the
  # same for every model.
  return [sys.executable, '-m', 'kinetics_tf.train',
          '--experiment=synthetic_rgb', '--model=c3d', f'--model_dir={model_dir}',
          f'--data_dir={data_dir}', '--dataset=synthetic_actions/tiny',
          '--crop_size=32', '--batch_size=4', f'--max_steps={max_steps}',
          '--eval_every=10', '--checkpoint_every=10', '--eval_batches=1',
          '--log_every=10', '--patience=1', '--base_lr=0.01']


@pytest.fixture(scope='module')
def tiny_data_dir(tmp_path_factory):
  """synthetic_actions/tiny, built once for this module."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import kinetics_tf.datasets  # noqa: F401  pylint: disable=g-import-not-at-top
  data_dir = str(tmp_path_factory.mktemp('tfds'))
  tfds.builder('synthetic_actions/tiny', data_dir=data_dir).download_and_prepare()
  return data_dir


def _replay_plateau(history, base_lr, patience):
  """LRs the plateau rule gives for the recorded validation losses."""
  from kinetics_tf.training.plateau import Plateau  # pylint: disable=g-import-not-at-top
  plateau = Plateau(base_lr, patience)
  lrs = []
  for entry in history:
    plateau.update(entry['loss'])
    lrs.append(plateau.learning_rate)
  return lrs


def test_killed_run_resumes_at_the_planned_step_with_its_lr(tiny_data_dir,
                                                            tmp_path):
  model_dir = tmp_path / 'run'
  max_steps = 80
  cmd = _train_cmd(model_dir, tiny_data_dir, max_steps)
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=ENV)
  ckpt_dir = model_dir / 'checkpoints'
  deadline = time.time() + 240
  try:
    while time.time() < deadline and proc.poll() is None:
      if list(ckpt_dir.glob('ckpt-20.index')):
        break
      time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
  finally:
    proc.wait(timeout=60)
  killed_at = _latest_step(ckpt_dir)
  assert 10 <= killed_at < max_steps, proc.stdout.read().decode()[-2000:]
  history = json.loads((model_dir / 'history.json').read_text())
  assert history[-1]['step'] >= killed_at  # written just before each save
  out = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                       env=ENV)
  assert out.returncode == 0, out.stderr[-3000:]
  assert f'resumed from {ckpt_dir}/ckpt-{killed_at}' in out.stdout
  result = json.loads((model_dir / 'result.json').read_text())
  assert result['step'] == max_steps and result['stopped'] == 'max_steps'
  history = result['history']
  assert [h['step'] for h in history] == list(range(10, max_steps + 1, 10))
  # Replaying the rule over all recorded losses gives every recorded LR: the
  # resumed run kept the rate and the count of bad validations.
  lrs = _replay_plateau(history, 0.01, 1)
  assert [h['lr'] for h in history] == pytest.approx(lrs)
  assert result['learning_rate'] == pytest.approx(lrs[-1])
  assert pathlib.Path(result['final_model']).exists()


def _latest_step(ckpt_dir):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  path = tf.train.latest_checkpoint(str(ckpt_dir))
  assert path, f'no checkpoint in {ckpt_dir}'
  return int(path.rsplit('-', 1)[1])
