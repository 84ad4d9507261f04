"""ImageNet init of the ResNet-50 models and cross-modality init (§4.2, §4.4).

Reads the Keras ResNet50 weight file from a local path (e.g.
``resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5``; nothing is
downloaded) and assigns it by layer name. A flow stream's first convolution
takes the RGB kernels averaged over the 3 colour channels and replicated over
its flow channels (Wang et al. 2016's cross-modality initialisation).
"""

import os

import h5py
import keras
import numpy as np

# The first convolution, whose input channels differ between RGB and flow.
FIRST_CONV = 'conv1_conv'


def cross_modality_kernel(rgb_kernel: np.ndarray, channels: int) -> np.ndarray:
  """RGB first-conv kernel [kh, kw, 3, out] -> [kh, kw, channels, out].

  The kernel is averaged over its input (colour) channels and the average is
  replicated over ``channels`` input channels.
  """
  rgb_kernel = np.asarray(rgb_kernel)
  mean = rgb_kernel.mean(axis=2, keepdims=True)
  return np.repeat(mean, channels, axis=2)


def _attribute(group, name):
  """A string-list attribute, also when Keras split it into name0, name1..."""
  if name in group.attrs:
    values = list(group.attrs[name])
  else:
    values, chunk = [], 0
    while f'{name}{chunk}' in group.attrs:
      values.extend(group.attrs[f'{name}{chunk}'])
      chunk += 1
  return [v.decode('utf8') if isinstance(v, bytes) else str(v) for v in values]


def read_keras_h5(path) -> dict:
  """Layer name -> list of arrays from a Keras (2.x legacy format) h5 file.

  Accepts a weights file (``model.save_weights`` in Keras 2, as the
  keras.applications files are) or a whole-model ``.h5`` (its
  ``model_weights`` group).

  Raises:
    FileNotFoundError: ``path`` does not exist.
    ValueError: the file is not in the Keras h5 weight format.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(
        f'{path}: no such ImageNet weight file; download '
        'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5 (the Keras '
        'ResNet50 weights) once and pass its local path.')
  with h5py.File(path, 'r') as f:
    group = f['model_weights'] if 'model_weights' in f else f
    names = _attribute(group, 'layer_names')
    if not names:
      raise ValueError(
          f'{path}: not a Keras h5 weight file (no layer_names attribute); '
          'expected the keras.applications ResNet50 weight file, or a model '
          'saved to .h5 by Keras.')
    weights = {}
    for name in names:
      weight_names = _attribute(group[name], 'weight_names')
      if weight_names:
        weights[name] = [np.asarray(group[name][w]) for w in weight_names]
  return weights


def _flat_layers(model):
  """Every layer with weights, looking inside nested models."""
  for layer in model.layers:
    if isinstance(layer, keras.Model):
      yield from _flat_layers(layer)
    elif layer.weights:
      yield layer


def assign_by_name(model: keras.Model, weights: dict, source: str) -> list:
  """Assigns ``weights`` (layer name -> arrays) to the model's layers.

  The first convolution gets the cross-modality kernel when the source has 3
  input channels and the model another number. Layers absent from
  ``weights`` (e.g. the classifier) keep their values.

  Returns:
    The names of the layers assigned.

  Raises:
    ValueError: no layer matched, or a matched layer's shapes differ (e.g. a
      width_multiplier other than 1 against full-width weights).
  """
  assigned = []
  for layer in _flat_layers(model):
    values = weights.get(layer.name)
    if values is None:
      continue
    values = list(values)
    targets = [tuple(w.shape) for w in layer.weights]
    if (layer.name == FIRST_CONV and values[0].ndim == 4 and
        values[0].shape[2] == 3 and targets[0][2] != 3):
      values[0] = cross_modality_kernel(values[0], targets[0][2])
    shapes = [tuple(v.shape) for v in values]
    if shapes != targets:
      raise ValueError(
          f'{source}: layer {layer.name!r} of {model.name} has weight shapes '
          f'{targets} but the source has {shapes}; ImageNet weights fit only '
          'width_multiplier=1.0.')
    layer.set_weights(values)
    assigned.append(layer.name)
  if not assigned:
    raise ValueError(
        f'{source}: no layer of {model.name} matched by name; expected the '
        'Keras ResNet50 layer names (conv1_conv, conv2_block1_1_conv, ...).')
  return assigned


def load_imagenet_weights(model: keras.Model, path) -> list:
  """Loads Keras ResNet50 ImageNet weights from a local file into ``model``.

  Works for any model holding the ResNet-50 layers (ResNet50Classifier for
  RGB or flow, ConvNetLSTM, TwoStream); a flow model's first convolution gets
  the cross-modality kernel. The classifier is left as initialised. The
  weights expect Caffe-convention inputs: build the model with
  ``imagenet_preprocessing=True`` to feed [-1, 1] inputs.

  Args:
    model: the model to initialise.
    path: local path of the Keras ResNet50 h5 weight file.

  Returns:
    The names of the layers loaded.
  """
  return assign_by_name(model, read_keras_h5(path), os.fspath(path))


def init_flow_from_rgb(flow_model: keras.Model,
                       rgb_model: keras.Model) -> list:
  """Cross-modality init of a flow stream from an RGB model's weights.

  Every layer of ``rgb_model`` with weights is copied by name; the first
  convolution's kernel is averaged over RGB and replicated over the flow
  channels. The classifier ('logits') is copied only if its shape matches.
  Returns the names of the layers copied.
  """
  weights = {layer.name: layer.get_weights()
             for layer in _flat_layers(rgb_model)}
  targets = {layer.name: layer for layer in _flat_layers(flow_model)}
  if 'logits' in weights and 'logits' in targets and [
      w.shape for w in weights['logits']] != [
          tuple(w.shape) for w in targets['logits'].weights]:
    del weights['logits']
  return assign_by_name(flow_model, weights, rgb_model.name)
