"""Synchronous SGD under MirroredStrategy over two logical CPUs (with and without
batch norm, whose statistics are per replica), and kill + resume.

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

    LR, MOMENTUM, DECAY = 0.5, 0.9, 1e-3

    def build(batch_norm):
      keras.utils.set_random_seed(0)
      inputs = keras.Input((8, 8, 3))
      # Before batch norm a conv needs no bias (as in ResNet-50).
      x = keras.layers.Conv2D(4, 3, activation=None if batch_norm else 'relu',
                              use_bias=not batch_norm)(inputs)
      if batch_norm:
        x = keras.layers.ReLU()(keras.layers.BatchNormalization(name='bn')(x))
      x = keras.layers.GlobalAveragePooling2D()(x)
      return keras.Model(inputs, keras.layers.Dense(5)(x))

    def listed(weights):
      return [np.asarray(w).tolist() for w in weights]

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 8, 8, 3)).astype('float32')
    y = rng.integers(0, 5, 8).astype('int64')
    out = {}
    # One strategy per device set, shared by both models (a second strategy
    # over the same devices would reuse its collective-op keys).
    strategies = {'one': distribute.make_strategy(['/cpu:0']),
                  'two': distribute.make_strategy(None)}
    for batch_norm in (False, True):
      kind = 'bn' if batch_norm else 'plain'
      out[kind] = {'initial': listed(build(batch_norm).get_weights())}
      for name, strategy in strategies.items():
        trainer = loop.Trainer(lambda: build(batch_norm), strategy, 8, base_lr=LR,
                               momentum=MOMENTUM, weight_decay=DECAY, patience=1)
        batch = next(iter(strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensors((x, y)))))
        sums = [trainer.train_step(batch) for _ in range(2)][-1]
        got = {'replicas': strategy.num_replicas_in_sync,
               'loss': float(sums[0]), 'count': float(sums[3]),
               'trainable': listed(trainer.model.trainable_weights)}
        if batch_norm:
          bn = trainer.model.get_layer('bn')
          got['stats'] = [listed(strategy.experimental_local_results(v.value))
                          for v in (bn.moving_mean, bn.moving_variance)]
        out[kind][name] = got

    # Two replicas by hand: each half of the batch through the model with its
    # own batch statistics, the gradients summed (one loss over the global
    # batch); replica r keeps the moving statistics of its own half only.
    halves = (slice(0, 4), slice(4, 8))
    def per_replica_reference(own):
      model = build(True)
      bn = model.get_layer('bn')
      optimizer = keras.optimizers.SGD(LR, momentum=MOMENTUM)
      decayed = [v for v in model.trainable_variables if len(v.shape) >= 2]
      for _ in range(2):
        with tf.GradientTape() as tape:
          loss = DECAY * tf.add_n([tf.nn.l2_loss(v) for v in decayed])
          for r, half in enumerate(halves):
            kept = [v.numpy() for v in (bn.moving_mean, bn.moving_variance)]
            logits = model(x[half], training=True)
            loss += tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(
                y[half], logits, from_logits=True)) / 8
            if r != own:
              bn.moving_mean.assign(kept[0])
              bn.moving_variance.assign(kept[1])
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
      return {'trainable': listed(model.trainable_weights),
              'stats': listed([bn.moving_mean, bn.moving_variance])}
    out['bn']['reference'] = [per_replica_reference(r) for r in (0, 1)]
    try:
      loop.Trainer(lambda: build(False), strategies['two'], 7, 0.1, 0.9, 0.0, 1)
    except ValueError as e:
      out['error'] = str(e)
    print('RESULT' + json.dumps(out))
''')


@pytest.fixture(scope='module')
def mirrored():
  proc = subprocess.run([sys.executable, '-c', MIRRORED_SCRIPT],
                        capture_output=True, text=True, timeout=300, env=ENV)
  assert proc.returncode == 0, proc.stderr[-3000:]
  line = [l for l in proc.stdout.splitlines() if l.startswith('RESULT')][0]
  return json.loads(line[len('RESULT'):])


def _max_change(before, after):
  import numpy as np  # pylint: disable=g-import-not-at-top
  return [float(np.max(np.abs(np.subtract(a, b)))) for a, b in zip(before, after)]


def test_two_replicas_step_equals_one_device_step(mirrored):
  import numpy as np  # pylint: disable=g-import-not-at-top
  one, two = mirrored['plain']['one'], mirrored['plain']['two']
  assert (one['replicas'], two['replicas']) == (1, 2)
  assert one['count'] == two['count'] == 8
  assert abs(one['loss'] - two['loss']) < 1e-4 * max(1.0, abs(one['loss']))
  for w1, w2 in zip(one['trainable'], two['trainable']):
    np.testing.assert_allclose(w1, w2, rtol=1e-4, atol=1e-5)
  # The weights really moved in the two steps (momentum + weight decay), by
  # far more than the tolerance of the comparison above.
  moved = _max_change(mirrored['plain']['initial'], two['trainable'])
  assert len(moved) == 4 and min(moved) > 1e-3, moved
  assert 'not divisible by the 2 replicas' in mirrored['error']


def test_batch_norm_statistics_are_per_replica(mirrored):
  import numpy as np  # pylint: disable=g-import-not-at-top
  bn = mirrored['bn']
  one, two, reference = bn['one'], bn['two'], bn['reference']
  assert two['replicas'] == 2 and two['count'] == 8
  # Normalised with each replica's own 4 examples: the same step as the
  # hand-made per-half reference, not as one device normalising all 8.
  for got, want in zip(two['trainable'], reference[0]['trainable']):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
  apart = _max_change(one['trainable'], two['trainable'])
  assert max(apart) > 1e-2, apart
  # Each replica's moving averages follow its own half of the batch.
  for stat in (0, 1):   # moving mean, moving variance
    for replica in (0, 1):
      np.testing.assert_allclose(two['stats'][stat][replica],
                                 reference[replica]['stats'][stat], rtol=1e-4, atol=1e-6)
  initial = bn['initial']   # kernel, gamma, beta, mean, variance, kernel, bias
  moved = _max_change(initial[:3] + initial[5:], two['trainable'])
  assert len(moved) == 5 and min(moved) > 1e-3, moved
  assert min(_max_change(initial[3:5], [s[0] for s in two['stats']])) > 1e-4


def _train_cmd(model_dir, data_dir, max_steps):
  # C3D (8 convs) traces much faster than ResNet-50; the resume logic is the
  # same for every model.
  return [sys.executable, '-m', 'kinetics_tf.train',
          '--experiment=synthetic_rgb', '--model=c3d', f'--model_dir={model_dir}',
          f'--data_dir={data_dir}', '--dataset=synthetic_actions/tiny',
          '--crop_size=32', '--batch_size=4', f'--max_steps={max_steps}',
          '--eval_every=10', '--checkpoint_every=10', '--eval_batches=1',
          '--log_every=10', '--patience=1', '--base_lr=0.01']


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
