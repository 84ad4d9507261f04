"""Small pieces the models share: argument checks, width scaling, time folding.

Every layer here is registered for Keras serialization, so models built from
them save to ``.keras`` and load back without custom objects.
"""

import keras
from keras import ops

PACKAGE = 'kinetics_tf'

# Smallest and largest width multipliers: 1/64 keeps ResNet's 64-channel stem
# at one channel at least.
MIN_WIDTH = 1 / 64
MAX_WIDTH = 4.0


def scaled(channels: int, width_multiplier: float) -> int:
  """Channel count ``channels`` scaled by ``width_multiplier`` (at least 1)."""
  return max(1, int(round(channels * width_multiplier)))


def check_width(model: str, width_multiplier: float) -> None:
  """Raises ValueError unless MIN_WIDTH <= width_multiplier <= MAX_WIDTH."""
  if not isinstance(width_multiplier, (int, float)) or not (
      MIN_WIDTH <= width_multiplier <= MAX_WIDTH):
    raise ValueError(
        f'{model}: width_multiplier={width_multiplier!r} is not allowed; use a '
        f'number in [{MIN_WIDTH:g}, {MAX_WIDTH:g}] (1.0 is the paper model, '
        '1/16 a tiny test model).')


def check_positive_int(model: str, name: str, value, minimum: int = 1):
  """Raises ValueError unless ``value`` is an int >= ``minimum``."""
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    raise ValueError(
        f'{model}: {name}={value!r} is not allowed; use an integer >= '
        f'{minimum}.')


def check_dropout(model: str, dropout) -> None:
  """Raises ValueError unless 0 <= dropout < 1."""
  if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
    raise ValueError(
        f'{model}: dropout={dropout!r} is not allowed; use a rate in [0, 1).')


def check_input_size(model: str, name: str, value, minimum: int,
                     reason: str, allow_none: bool = False) -> None:
  """Raises ValueError unless ``value`` is an int >= ``minimum`` (or None)."""
  if value is None and allow_none:
    return
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    allowed = f'an integer >= {minimum}' + (' or None' if allow_none else '')
    raise ValueError(
        f'{model}: {name}={value!r} is too small or not an integer for the '
        f'network ({reason}); use {allowed}.')


class EndpointsMixin:
  """Named intermediate tensors of a functional model, as sub-models.

  A model sets ``self._endpoint_tensors`` (name -> KerasTensor of its own
  graph) in ``__init__``; ``endpoint_model`` then returns a model sharing the
  layers and weights that outputs any of them.
  """

  @property
  def endpoint_names(self) -> tuple:
    """Names accepted by ``endpoint_model``, input side first."""
    return tuple(self._endpoint_tensors)

  def endpoint_model(self, names='features') -> keras.Model:
    """A model from this model's inputs to the named endpoint(s).

    Args:
      names: one endpoint name (the model then has that single output) or a
        sequence of names (the model outputs a dict name -> tensor).

    Returns:
      A functional keras.Model sharing this model's layers and weights.

    Raises:
      ValueError: a name is not one of ``endpoint_names``.
    """
    single = isinstance(names, str)
    wanted = [names] if single else list(names)
    unknown = [n for n in wanted if n not in self._endpoint_tensors]
    if unknown or not wanted:
      raise ValueError(
          f'{self.name}: unknown endpoint(s) {unknown or names!r}; valid '
          f'endpoints are {list(self._endpoint_tensors)}.')
    if single:
      outputs = self._endpoint_tensors[names]
    else:
      outputs = {n: self._endpoint_tensors[n] for n in wanted}
    return keras.Model(self.input, outputs, name=f'{self.name}_endpoints')

  def features_model(self) -> keras.Model:
    """A model from the inputs to the features the classifier sees."""
    return self.endpoint_model('features')


@keras.saving.register_keras_serializable(package=PACKAGE)
class FoldTime(keras.layers.Layer):
  """[B, T, ...] -> [B*T, ...]: frames folded into the batch for a 2D net."""

  def call(self, x):
    return ops.reshape(x, (-1,) + tuple(ops.shape(x)[2:]))

  def compute_output_shape(self, input_shape):
    batch, time = input_shape[0], input_shape[1]
    folded = None if batch is None or time is None else batch * time
    return (folded,) + tuple(input_shape[2:])


@keras.saving.register_keras_serializable(package=PACKAGE)
class UnfoldTime(keras.layers.Layer):
  """([B*T, ...], [B, T, ...]) -> [B, T, ...]: undoes FoldTime.

  The second input is only read for its (dynamic) T.
  """

  def call(self, inputs):
    folded, reference = inputs
    time = ops.shape(reference)[1]
    return ops.reshape(folded, (-1, time) + tuple(ops.shape(folded)[1:]))

  def compute_output_shape(self, input_shapes):
    folded, reference = input_shapes
    return (reference[0], reference[1]) + tuple(folded[1:])


@keras.saving.register_keras_serializable(package=PACKAGE)
class LastStep(keras.layers.Layer):
  """[B, T, D] -> [B, D]: the last time step."""

  def call(self, x):
    return x[:, -1]

  def compute_output_shape(self, input_shape):
    return (input_shape[0],) + tuple(input_shape[2:])


@keras.saving.register_keras_serializable(package=PACKAGE)
class MeanOf(keras.layers.Layer):
  """Element-wise mean of a list of same-shaped tensors."""

  def call(self, inputs):
    return ops.mean(ops.stack(inputs, axis=0), axis=0)

  def compute_output_shape(self, input_shapes):
    return input_shapes[0]
