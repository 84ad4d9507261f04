"""Model tests: Table 3 parameter counts, shapes, save/load, bad arguments."""

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from kinetics_tf import constants
from kinetics_tf import models

# Tiny variants: 1/16 of the width on 32-px frames.
TINY = dict(num_classes=7, input_size=32, width_multiplier=1 / 16)
SIZE = TINY['input_size']
# Round trips only test serialisation: one bottleneck block per stage is
# enough and makes SavedModel export several times cheaper.
SHALLOW = dict(TINY, blocks_per_stage=(1, 1, 1, 1))


def _inputs(shape, seed=0):
  return np.random.default_rng(seed).uniform(-1, 1, shape).astype('float32')


@pytest.fixture(scope='module')
def tiny():
  """One tiny model of each kind, built once for the module."""
  return {
      'rgb': models.rgb_stream(**TINY),
      'flow': models.flow_stream(**TINY),
      'convnet_lstm': models.ConvNetLSTM(**TINY),
      'two_stream': models.TwoStream(**TINY),
      'c3d': models.C3D(**TINY),
  }


# --- Table 3 parameter counts --------------------------------------------


@functools.cache
def _default(build):
  """The paper-sized model (built once per test session)."""
  return build()


@pytest.mark.parametrize('key, build', [
    ('convnet_lstm', models.ConvNetLSTM),
    ('two_stream', models.TwoStream),
    ('c3d', models.C3D),
])
def test_default_parameter_counts_match_table3(key, build):
  count = _default(build).count_params()
  paper = constants.PAPER_PARAMS[key]
  assert abs(count - paper) / paper <= 0.03, (key, count, paper)


def test_resnet_backbone_is_keras_resnet50():
  # The backbone (no classifier) has keras.applications.ResNet50's 23,587,712
  # parameters; the 400-way classifier adds 2048 * 400 + 400.
  rgb = _default(models.TwoStream).rgb_stream
  assert rgb.count_params() == 23_587_712 + 2048 * 400 + 400
  # The flow stream's first conv has 20 instead of 3 input channels.
  flow = _default(models.TwoStream).flow_stream
  assert flow.count_params() - rgb.count_params() == 7 * 7 * 17 * 64


# --- Output shapes at the training and test footprints -------------------


def test_resnet_rgb_and_flow_shapes(tiny):
  assert tiny['rgb'].input.shape[1:] == (SIZE, SIZE, 3)
  assert tiny['flow'].input.shape[1:] == (SIZE, SIZE,
                                          constants.FLOW_CHANNELS)
  for key, channels in (('rgb', 3), ('flow', constants.FLOW_CHANNELS)):
    x = _inputs((2, SIZE, SIZE, channels))
    assert tiny[key](x).shape == (2, 7)
    features = tiny[key].features_model()(x)
    assert features.shape == (2, 2048 // 16)


@pytest.mark.parametrize('footprints', [constants.TRAIN_FOOTPRINTS,
                                        constants.TEST_FOOTPRINTS])
def test_convnet_lstm_shapes_at_footprints(tiny, footprints):
  num_frames = footprints['convnet_lstm'].num_frames  # 25, then 50.
  model = tiny['convnet_lstm']
  x = _inputs((2, num_frames, SIZE, SIZE, 3))
  ends = model.endpoint_model(
      ['frame_features', 'step_features', 'step_logits', 'features',
       'logits'])(x)
  assert ends['frame_features'].shape == (2, num_frames, 2048 // 16)
  assert ends['step_features'].shape == (2, num_frames, 512 // 16)
  assert ends['step_logits'].shape == (2, num_frames, 7)
  assert ends['features'].shape == (2, 512 // 16)
  # The prediction is the last step's logits.
  np.testing.assert_allclose(ends['logits'], ends['step_logits'][:, -1])
  np.testing.assert_allclose(model(x), ends['logits'], atol=1e-5)


def test_convnet_lstm_folds_frames_into_one_resnet(tiny):
  names = [layer.name for layer in tiny['convnet_lstm'].layers]
  assert names.count('conv1_conv') == 1
  assert 'fold_time' in names
  assert not any(isinstance(layer, keras.layers.TimeDistributed)
                 for layer in tiny['convnet_lstm'].layers)


def test_c3d_shapes(tiny):
  num_frames = constants.TRAIN_FOOTPRINTS['c3d'].num_frames
  x = _inputs((2, num_frames, SIZE, SIZE, 3))
  ends = tiny['c3d'].endpoint_model(['pool1', 'pool5', 'features'])(x)
  # pool1 is 2x2x2: time halves too (§4.3).
  assert ends['pool1'].shape == (2, num_frames // 2, SIZE // 2, SIZE // 2, 4)
  assert ends['pool5'].shape == (2, 1, 1, 1, 32)
  assert ends['features'].shape == (2, 4096 // 16)
  assert tiny['c3d'](x).shape == (2, 7)


def test_c3d_paper_input_gives_8192_fc6_inputs():
  model = models.C3D(width_multiplier=1 / 16)
  assert model.endpoint_model('pool5').output.shape[1:] == (1, 4, 4, 32)
  # fc6: 4 * 4 * 512 inputs at full width -> 4096.
  assert _default(models.C3D).get_layer('fc6').kernel.shape == (8192, 4096)


def test_two_stream_averages_softmax_scores(tiny):
  model = tiny['two_stream']
  inputs = {'rgb': _inputs((3, SIZE, SIZE, 3), 1),
            'flow': _inputs((3, SIZE, SIZE, constants.FLOW_CHANNELS), 2)}
  probabilities = model(inputs).numpy()
  ends = model.endpoint_model(['rgb_logits', 'flow_probabilities'])(inputs)
  np.testing.assert_allclose(ends['rgb_logits'],
                             model.rgb_stream(inputs['rgb']), atol=1e-5)
  rgb = tf.nn.softmax(ends['rgb_logits']).numpy()
  flow = tf.nn.softmax(model.flow_stream(inputs['flow'])).numpy()
  np.testing.assert_allclose(ends['flow_probabilities'], flow, atol=1e-6)
  np.testing.assert_allclose(probabilities, (rgb + flow) / 2, atol=1e-6)
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_two_stream_from_separately_trained_streams(tiny):
  fused = models.TwoStream.from_streams(tiny['rgb'], tiny['flow'])
  x = _inputs((2, SIZE, SIZE, 3))
  np.testing.assert_allclose(fused.rgb_stream(x), tiny['rgb'](x), atol=1e-6)
  with pytest.raises(ValueError, match='RGB .* and a flow'):
    models.TwoStream.from_streams(tiny['flow'], tiny['rgb'])


def test_unknown_endpoint_raises(tiny):
  with pytest.raises(ValueError, match='valid endpoints are'):
    tiny['c3d'].endpoint_model('fc8')


# --- Saving and loading ---------------------------------------------------


def _example(key):
  if key == 'rgb':
    return _inputs((2, SIZE, SIZE, 3))
  if key == 'flow':
    return _inputs((2, SIZE, SIZE, constants.FLOW_CHANNELS))
  if key == 'convnet_lstm':
    return _inputs((2, 5, SIZE, SIZE, 3))
  if key == 'c3d':
    return _inputs((2, 16, SIZE, SIZE, 3))
  return {'rgb': _inputs((2, SIZE, SIZE, 3)),
          'flow': _inputs((2, SIZE, SIZE, constants.FLOW_CHANNELS))}


@pytest.mark.parametrize('key, build', [
    ('flow', models.flow_stream),
    ('convnet_lstm', models.ConvNetLSTM),
    ('two_stream', models.TwoStream),
    ('c3d', None),
])
def test_save_and_load_give_identical_outputs(tiny, key, build, tmp_path):
  model = build(**SHALLOW) if build else tiny[key]
  x = _example(key)
  model(x, training=True)  # Moves batch-norm statistics off their init.
  expected = model(x, training=False).numpy()

  model.save(tmp_path / 'model.keras')
  loaded = keras.models.load_model(tmp_path / 'model.keras')
  assert type(loaded) is type(model)
  assert loaded.get_config() == model.get_config()
  np.testing.assert_allclose(loaded(x, training=False), expected, atol=1e-5)

  model.export(str(tmp_path / 'saved_model'), verbose=False)
  reloaded = tf.saved_model.load(str(tmp_path / 'saved_model'))
  served = reloaded.serve(x)
  np.testing.assert_allclose(served, expected, atol=1e-5)


# --- Bad arguments ---------------------------------------------------------


@pytest.mark.parametrize('build, kwargs, match', [
    (models.ResNet50Classifier, dict(channels=5), 'channels=5 .* use 3'),
    (models.ResNet50Classifier, dict(channels=1), 'channels=1 .* use 3'),
    (models.ResNet50Classifier, dict(input_size=16), 'input_size=16 .* >= 32'),
    (models.ResNet50Classifier, dict(width_multiplier=0), 'width_multiplier'),
    (models.ResNet50Classifier, dict(dropout=1.0), r'dropout=1.0 .* \[0, 1\)'),
    (models.ResNet50Classifier, dict(num_classes=0), 'num_classes=0'),
    (models.flow_stream, dict(flow_stack=0), 'flow_stack=0'),
    (models.ConvNetLSTM, dict(input_size=31), 'input_size=31 .* >= 32'),
    (models.ConvNetLSTM, dict(lstm_units=0), 'lstm_units=0'),
    (models.ConvNetLSTM, dict(width_multiplier=8.0), r'\[0.015625, 4\]'),
    (models.TwoStream, dict(input_size=8), 'input_size=8'),
    (models.TwoStream, dict(blocks_per_stage=(3, 4, 6)), '4 positive'),
    (models.C3D, dict(num_frames=8), 'num_frames=8 .* >= 16'),
    (models.C3D, dict(input_size=None), 'input_size=None .* >= 32'),
])
def test_bad_arguments_raise_value_error(build, kwargs, match):
  with pytest.raises(ValueError, match=match):
    build(**kwargs)


# --- The model table: one row per model, read by every stage ---------------


def test_every_row_builds_its_model_and_recognises_it(tiny):
  from kinetics_tf import model_table  # pylint: disable=g-import-not-at-top
  from kinetics_tf import scoring  # pylint: disable=g-import-not-at-top
  for name, row in model_table.MODELS.items():
    built = row.build(**TINY)
    assert isinstance(built, row.model_class())
    assert scoring.stream_kind(built) == name
    assert scoring.stream_kind(tiny[name]) == name
    assert [r.name for r in model_table.MODELS.values() if r.is_model(built)] == [name]
  assert scoring.stream_kind(tiny['two_stream']) == model_table.TWO_STREAM
  # The row's footprint gives the frames (or flow channels) of the model.
  assert model_table.MODELS['flow'].build(**TINY).channels == constants.FLOW_CHANNELS
  assert model_table.MODELS['c3d'].build(**TINY).num_frames == 16
  assert model_table.MODELS['convnet_lstm'].build(**TINY).num_frames == 25
  assert model_table.MODELS['convnet_lstm'].tested_longer
  assert not model_table.MODELS['c3d'].tested_longer
  with pytest.raises(ValueError, match="unknown model 'i3d'"):
    model_table.row('i3d')
