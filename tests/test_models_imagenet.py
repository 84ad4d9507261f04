"""ImageNet weight loading by layer name and the cross-modality init of flow."""

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format

from kinetics_tf import constants
from kinetics_tf import models
from kinetics_tf.models import imagenet
from kinetics_tf.models import resnet50

SIZE = 32


@pytest.fixture(scope='module')
def keras_resnet():
  """keras.applications.ResNet50 (no top) with random, distinct weights."""
  model = keras.applications.ResNet50(weights=None, include_top=False,
                                      input_shape=(SIZE, SIZE, 3))
  rng = np.random.default_rng(0)
  model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype('float32')
                     for w in model.get_weights()])
  return model


@pytest.fixture(scope='module')
def weight_file(keras_resnet, tmp_path_factory):
  """The model's weights in the Keras h5 weight-file format (as the
  keras.applications ``*_notop.h5`` files are), written by Keras itself."""
  path = tmp_path_factory.mktemp('imagenet') / 'resnet50_notop.h5'
  with h5py.File(path, 'w') as f:
    legacy_h5_format.save_weights_to_hdf5_group(f, keras_resnet)
  return path


def _by_name(model):
  return {layer.name: layer for layer in imagenet._flat_layers(model)}


def test_cross_modality_kernel_averages_rgb_and_replicates():
  rgb = np.random.default_rng(1).normal(size=(7, 7, 3, 64))
  flow = imagenet.cross_modality_kernel(rgb, constants.FLOW_CHANNELS)
  assert flow.shape == (7, 7, constants.FLOW_CHANNELS, 64)
  for channel in range(constants.FLOW_CHANNELS):
    np.testing.assert_allclose(flow[:, :, channel],
                               (rgb[:, :, 0] + rgb[:, :, 1] + rgb[:, :, 2]) / 3)


def test_loads_both_streams_by_name_with_cross_modality_first_conv(
    keras_resnet, weight_file):
  model = models.TwoStream(num_classes=3, input_size=SIZE)
  classifier = [w.copy() for w in model.flow_stream.get_layer(
      'logits').get_weights()]
  loaded = imagenet.load_imagenet_weights(model, weight_file)
  source = {layer.name: layer.get_weights() for layer in keras_resnet.layers}
  # 53 convs + 53 batch norms per stream.
  assert len(loaded) == 2 * 106
  for stream in (model.rgb_stream, model.flow_stream):
    for name, layer in _by_name(stream).items():
      if name == 'logits' or (name == 'conv1_conv' and stream.channels != 3):
        continue
      for got, want in zip(layer.get_weights(), source[name], strict=True):
        np.testing.assert_array_equal(got, want)
  kernel, bias = model.flow_stream.get_layer('conv1_conv').get_weights()
  rgb_kernel, rgb_bias = source['conv1_conv']
  np.testing.assert_allclose(
      kernel, np.repeat(rgb_kernel.mean(axis=2, keepdims=True), 20, axis=2),
      rtol=1e-6)
  np.testing.assert_array_equal(bias, rgb_bias)
  # The classifier keeps its own initialisation.
  for got, want in zip(model.flow_stream.get_layer('logits').get_weights(),
                       classifier):
    np.testing.assert_array_equal(got, want)


def test_loads_a_whole_model_h5_file(keras_resnet, tmp_path):
  path = tmp_path / 'resnet50_model.h5'
  keras_resnet.save(path)
  model = models.ConvNetLSTM(num_classes=3, input_size=SIZE)
  imagenet.load_imagenet_weights(model, path)
  np.testing.assert_array_equal(
      model.get_layer('conv5_block3_3_bn').moving_variance,
      keras_resnet.get_layer('conv5_block3_3_bn').moving_variance)


def test_loader_errors(weight_file, tmp_path):
  tiny = models.rgb_stream(num_classes=3, input_size=SIZE,
                           width_multiplier=1 / 16)
  with pytest.raises(ValueError, match='width_multiplier=1.0'):
    imagenet.load_imagenet_weights(tiny, weight_file)
  with pytest.raises(FileNotFoundError, match='no such ImageNet weight file'):
    imagenet.load_imagenet_weights(tiny, tmp_path / 'missing.h5')
  other = tmp_path / 'other.h5'
  with h5py.File(other, 'w') as f:
    f['x'] = np.zeros(3)
  with pytest.raises(ValueError, match='not a Keras h5 weight file'):
    imagenet.load_imagenet_weights(tiny, other)


def test_init_flow_from_a_trained_rgb_model():
  kwargs = dict(num_classes=5, input_size=SIZE, width_multiplier=1 / 16,
                blocks_per_stage=(1, 1, 1, 1))
  rgb = models.rgb_stream(**kwargs)
  flow = models.flow_stream(**kwargs)
  copied = imagenet.init_flow_from_rgb(flow, rgb)
  assert 'logits' in copied
  rgb_kernel = rgb.get_layer('conv1_conv').kernel.numpy()
  flow_kernel = flow.get_layer('conv1_conv').kernel.numpy()
  np.testing.assert_allclose(flow_kernel[:, :, 7],
                             rgb_kernel.mean(axis=2), rtol=1e-6)
  # A flow stack whose channels all hold v responds like an RGB image whose
  # 3 channels hold v, times 20 / 3, at the first conv (before its bias).
  v = np.random.default_rng(2).uniform(-1, 1, (1, SIZE, SIZE, 1))
  conv = lambda kernel, c, x=v: keras.ops.convert_to_numpy(keras.ops.conv(
      np.repeat(x, c, axis=-1).astype('float32'), kernel, strides=2))
  rgb_k = rgb.get_layer('conv1_conv').kernel
  flow_k = flow.get_layer('conv1_conv').kernel
  got, want = conv(flow_k, 20), conv(rgb_k, 3) * 20 / 3
  # The two sides are equal in exact arithmetic; each float32 output is a
  # sum of n = 7*7*C products, whose rounding error is at most
  # gamma_n * sum|k * x| with gamma_n = n*u / (1 - n*u), u = 2**-24, in any
  # summation order (Higham, Accuracy and Stability, 2nd ed., eq. 3.5).
  # Storing the mean kernel and scaling by 20/3 add 2u relative each.  An
  # output near zero (cancellation) can differ by much more than 1e-4 of
  # itself, which is why a relative tolerance failed for some weights.
  u = 2.0**-24
  gamma = lambda n: n * u / (1 - n * u)
  abs_flow = conv(np.abs(flow_k), 20, np.abs(v))
  abs_rgb = conv(np.abs(rgb_k), 3, np.abs(v)) * 20 / 3
  bound = (gamma(7 * 7 * 20) + 2 * u) * abs_flow + (
      gamma(7 * 7 * 3) + 2 * u) * abs_rgb
  assert np.all(np.abs(got - want) <= bound), np.max(
      np.abs(got - want) / bound)
  # The bound is tight enough to catch a wrong init (e.g. sum, not mean).
  assert np.median(bound / np.abs(want)) < 1e-3
  assert not np.all(np.abs(got * 3 - want) <= bound)


def test_unit_to_caffe_matches_keras_preprocessing():
  rgb = np.random.default_rng(3).uniform(-1, 1, (2, 4, 4, 3))
  expected = keras.applications.resnet50.preprocess_input((rgb + 1) * 127.5)
  np.testing.assert_allclose(resnet50.UnitToCaffe()(rgb.astype('float32')),
                             expected, rtol=1e-5, atol=1e-3)
  flow = np.full((1, 2, 2, 20), 0.5, 'float32')
  np.testing.assert_allclose(resnet50.UnitToCaffe()(flow), 63.75)
