"""Training: the plateau rule, configs and flags, each model learning, NaN stop."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import flags

from kinetics_tf import constants
from kinetics_tf import train
from kinetics_tf.input import train_pipeline
from kinetics_tf.training import loop
from kinetics_tf.training.config import Config
from kinetics_tf.training.plateau import Plateau


def test_plateau_drops_exactly_after_patience_bad_validations():
  plateau = Plateau(base_lr=1.0, patience=2)
  losses = [5.0, 4.0, 4.0, 4.5, 3.9, 3.95, 3.9, 3.0, 3.5, 3.2, 3.1, 3.4]
  expect_lr = [1, 1, 1, .1, .1, .1, .01, .01, .01, .001, .001, .0001]
  drops = [plateau.update(x) for x in losses]
  lrs = []
  plateau2 = Plateau(base_lr=1.0, patience=2)
  for x in losses:
    plateau2.update(x)
    lrs.append(plateau2.learning_rate)
  np.testing.assert_allclose(lrs, expect_lr)
  assert drops == [False, False, False, True, False, False, True, False,
                   False, True, False, True]
  assert plateau.state()['num_drops'] == 4 and plateau.best.numpy() == 3.0


def test_plateau_state_round_trips_through_a_checkpoint(tmp_path):
  plateau = Plateau(base_lr=0.5, patience=3)
  for x in (2.0, 1.0, 1.5, 1.2):  # best 1.0, two bad validations
    plateau.update(x)
  path = tf.train.Checkpoint(plateau=plateau).save(str(tmp_path / 'ck'))
  fresh = Plateau(base_lr=0.5, patience=3)
  tf.train.Checkpoint(plateau=fresh).restore(path).assert_consumed()
  assert fresh.state() == plateau.state() == {
      'lr': 0.5, 'best': 1.0, 'num_bad': 2, 'num_drops': 0}
  assert fresh.update(1.1) and fresh.learning_rate == pytest.approx(0.05)


def test_plateau_rejects_bad_arguments():
  with pytest.raises(ValueError, match='patience'):
    Plateau(0.1, patience=0)
  with pytest.raises(ValueError, match='base_lr'):
    Plateau(-1.0, patience=1)
  with pytest.raises(ValueError, match='validation loss is nan'):
    Plateau(0.1, patience=1).update(float('nan'))


def test_every_experiment_loads_with_the_papers_numbers():
  names = train.experiment_names()
  for dataset in ('kinetics400', 'ucf101', 'hmdb51'):
    for model in ('convnet_lstm', 'two_stream_rgb', 'two_stream_flow', 'c3d'):
      assert f'{dataset}_{model}' in names
  assert {'synthetic_rgb', 'synthetic_flow'} <= set(names)
  for name in names:
    config = train.load_experiment(name)
    assert config.name == name
    if name.startswith('synthetic'):
      continue
    crop = constants.C3D_CROP if config.model == 'c3d' else constants.RESNET_CROP
    assert config.crop_size == crop
    assert config.footprint == constants.TRAIN_FOOTPRINTS[config.model]
    assert config.max_steps <= constants.MAX_STEPS
    pretrained = not name.startswith('kinetics') and config.model != 'c3d'
    assert bool(config.imagenet_weights) == pretrained, name


def test_every_experiment_names_a_dataset_config_that_fits_its_model():
  import kinetics_tf.datasets  # pylint: disable=g-import-not-at-top,unused-import
  for name in train.experiment_names():
    config = train.load_experiment(name)
    builder_name, config_name = config.dataset.split('/')
    cls = tfds.builder_cls(builder_name)
    configs = {c.name: c for c in cls.BUILDER_CONFIGS}
    assert config_name in configs, (name, config.dataset, sorted(configs))
    stored = configs[config_name]
    if config.model == 'flow':
      assert stored.with_flow, (name, config.dataset)
    if name.startswith('synthetic'):
      continue
    side = (constants.C3D_SHORT_SIDE if config.model == 'c3d'
            else constants.RESNET_SHORT_SIDE)
    assert stored.short_side == side, (name, config.dataset)


def test_config_errors_name_the_field():
  good = train.load_experiment('synthetic_rgb')
  with pytest.raises(ValueError, match=r"model='i3d'"):
    good.replace(model='i3d')
  with pytest.raises(ValueError, match='batch_size=0'):
    good.replace(batch_size=0)
  with pytest.raises(ValueError, match='3D ConvNet trains from scratch'):
    train.load_experiment('kinetics400_c3d').replace(imagenet_weights='x.h5')
  with pytest.raises(ValueError, match="unknown experiment 'nope'.*synthetic"):
    train.load_experiment('nope')


def test_binary_reports_an_unknown_experiment():
  out = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.train', '--experiment=nope'],
      capture_output=True, text=True, timeout=120,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
  assert out.returncode == 2  # a user's mistake (kinetics_tf/app.py)
  assert "unknown experiment 'nope'" in out.stderr
  assert 'kinetics400_c3d' in out.stderr


def test_bad_flags_give_clear_errors():
  def parse(*argv):
    flag_values = flags.FlagValues()
    train.define_flags(flag_values)
    flag_values(['train', *argv])
    return flag_values

  with pytest.raises(flags.IllegalFlagValueError, match='max_steps'):
    parse('--max_steps=ten')
  with pytest.raises(flags.IllegalFlagValueError, match='model'):
    parse('--model=i3d')
  with pytest.raises(flags.IllegalFlagValueError, match='batch_size=0'):
    parse('--experiment=synthetic_rgb', '--batch_size=0')
  with pytest.raises(ValueError, match='--experiment is required'):
    train.config_from_flags(parse())
  config = train.config_from_flags(parse(
      '--experiment=synthetic_flow', '--max_steps=7', '--base_lr=0.3'))
  assert (config.model, config.max_steps, config.base_lr) == ('flow', 7, 0.3)


TINY = {  # model -> (model_kwargs, num_frames, stride, base_lr)
    'rgb': ({'width_multiplier': 1 / 16}, None, None, 0.02),
    'flow': ({'width_multiplier': 1 / 16}, None, None, 0.02),
    # The BN-LSTM (gammas 0.1) needs a larger rate to move in a few steps.
    'convnet_lstm': ({'width_multiplier': 1 / 16}, 3, 3, 0.5),
    'c3d': ({'width_multiplier': 1 / 16, 'dropout': 0.0}, None, None, 0.02),
}


def tiny_config(model, data_dir, **changes):
  kwargs, num_frames, stride, base_lr = TINY[model]
  return Config(
      name=f'tiny_{model}', dataset='synthetic_actions/tiny', model=model,
      model_kwargs=kwargs, num_frames=num_frames, stride=stride, crop_size=32,
      batch_size=4, base_lr=base_lr, max_steps=10, data_dir=data_dir,
      weight_decay=0.0, eval_batches=1).replace(**changes)


@pytest.mark.parametrize('model', list(TINY))
def test_a_few_steps_of_each_model_lower_the_loss(model, tiny_data_dir):
  config = tiny_config(model, tiny_data_dir)
  examples = train_pipeline.load_examples(
      config.dataset, 'train', model, data_dir=tiny_data_dir,
      shuffle_files=False)
  fp = config.footprint
  batch = next(iter(train_pipeline.make_dataset(
      examples, model, 32, 4, num_frames=fp.num_frames, stride=fp.stride,
      training=False)))
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  tf.keras.utils.set_random_seed(0)
  trainer = loop.Trainer(lambda: train.build_model(config, 16), strategy, 4,
                         config.base_lr, 0.9, 0.0, patience=1)
  # Batch norm over 4 examples makes single steps noisy: 10 steps, and the
  # mean of the last 3 against the first.
  losses = [float(trainer.train_step(batch)[0]) / 4 for _ in range(10)]
  assert all(math.isfinite(x) for x in losses)
  assert np.mean(losses[-3:]) < 0.8 * losses[0], losses
  assert int(trainer.step.numpy()) == 10


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tiny_data_dir,
                                                           tmp_path):
  config = tiny_config('rgb', tiny_data_dir, checkpoint_every=1, eval_every=50,
                       max_steps=20).replace(base_lr=1e12)
  with pytest.raises(loop.DivergedError, match='training loss is') as info:
    train.run(config, str(tmp_path))
  ckpt = tf.train.latest_checkpoint(str(tmp_path / 'checkpoints'))
  assert ckpt and ckpt in str(info.value)
  nan_step = int(str(info.value).split(' at step ')[1].split(':')[0])
  assert int(ckpt.rsplit('-', 1)[1]) < nan_step
  reader = tf.train.load_checkpoint(ckpt)
  for name in reader.get_variable_to_shape_map():
    value = reader.get_tensor(name)
    if isinstance(value, np.ndarray) and value.dtype.kind == 'f':
      assert np.isfinite(value).all(), name
  assert not (tmp_path / 'final.keras').exists()


def test_mixed_precision_trains_and_leaves_the_global_policy_alone():
  import keras  # pylint: disable=g-import-not-at-top

  def build():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, activation='relu')(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(5)(x))

  trainer = loop.Trainer(build, tf.distribute.OneDeviceStrategy('/cpu:0'), 4,
                         0.1, 0.9, 1e-4, patience=1,
                         mixed_precision='mixed_float16')
  assert keras.mixed_precision.global_policy().name == 'float32'
  assert trainer.model.layers[1].compute_dtype == 'float16'
  assert trainer.model.layers[1].kernel.dtype == 'float32'
  x = tf.random.stateless_uniform([4, 8, 8, 3], [1, 2])
  y = tf.constant([0, 1, 2, 3], tf.int64)
  sums = [trainer.train_step((x, y)) for _ in range(3)][-1]
  assert math.isfinite(float(sums[0])) and float(sums[3]) == 4
  trainer.plateau.lr.assign(0.01)
  trainer.sync_learning_rate()
  assert float(trainer.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
