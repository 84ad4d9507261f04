"""Batch-normalised LSTM of Cooijmans et al. 2016, "Recurrent Batch Normalization" (§4.1).

Each step computes (BN_t = batch norm with step t's statistics)
  gates = BN_t(W_x x; gamma_x) + BN_t(W_h h; gamma_h) + b
  c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
  h' = sigmoid(o) * tanh(BN_t(c'; gamma_c, beta_c))
with the three batch norms separate, gammas initialised to 0.1, and
population statistics kept per time step for ``max_steps`` steps (later steps
use the last step's statistics). Training uses the batch's statistics and
updates step t's moving averages; inference uses step t's moving averages.
"""

import keras
from keras import layers
from keras import ops

from kinetics_tf import constants
from kinetics_tf.models import common

# Cooijmans et al. §4: "gamma = 0.1" avoids saturating tanh early on.
GAMMA_INIT = 0.1
# Statistics kept for the training footprint's 25 steps (Table 3); the test
# footprint's 50 steps reuse step 25's.
MAX_STEPS = constants.TRAIN_FOOTPRINTS['convnet_lstm'].num_frames


@keras.saving.register_keras_serializable(package=common.PACKAGE)
class BNLSTMCell(layers.Layer):
  """One step of the batch-normalised LSTM, for ``keras.layers.RNN``.

  States are (h [B, units], c [B, units], step [B, 1]); ``step`` counts the
  steps taken and picks the batch-norm statistics.
  """

  def __init__(self, units, max_steps=MAX_STEPS, gamma_init=GAMMA_INIT,
               momentum=0.99, epsilon=1e-3, **kwargs):
    super().__init__(**kwargs)
    common.check_positive_int('BNLSTMCell', 'units', units)
    common.check_positive_int('BNLSTMCell', 'max_steps', max_steps)
    if not 0.0 <= momentum < 1.0:
      raise ValueError(f'BNLSTMCell: momentum={momentum!r} is not allowed; '
                       'use a number in [0, 1).')
    self.units = units
    self.max_steps = max_steps
    self.gamma_init = gamma_init
    self.momentum = momentum
    self.epsilon = epsilon
    self.state_size = [units, units, 1]
    self.output_size = units

  def build(self, input_shape):
    units, gates = self.units, 4 * self.units
    self.kernel = self.add_weight(
        name='kernel', shape=(input_shape[-1], gates),
        initializer='glorot_uniform')
    self.recurrent_kernel = self.add_weight(
        name='recurrent_kernel', shape=(units, gates),
        initializer='orthogonal')
    # Gate order i, f, g, o; the forget gate's bias starts at 1.
    self.bias = self.add_weight(
        name='bias', shape=(gates,),
        initializer=lambda shape, dtype: ops.concatenate(
            [ops.zeros((units,)), ops.ones((units,)),
             ops.zeros((2 * units,))]))
    self.norms = {}
    for key, size in (('x', gates), ('h', gates), ('c', units)):
      self.norms[key] = self._add_norm(key, size, with_beta=key == 'c')

  def _add_norm(self, key, size, with_beta):
    gamma = self.add_weight(
        name=f'gamma_{key}', shape=(size,),
        initializer=keras.initializers.Constant(self.gamma_init))
    beta = self.add_weight(name=f'beta_{key}', shape=(size,),
                           initializer='zeros') if with_beta else None
    mean = self.add_weight(name=f'moving_mean_{key}',
                           shape=(self.max_steps, size),
                           initializer='zeros', trainable=False)
    var = self.add_weight(name=f'moving_variance_{key}',
                          shape=(self.max_steps, size),
                          initializer='ones', trainable=False)
    return gamma, beta, mean, var

  def get_initial_state(self, batch_size=None):
    return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype),
            ops.zeros((batch_size, self.units), dtype=self.compute_dtype),
            ops.zeros((batch_size, 1), dtype=self.compute_dtype)]

  def _normalize(self, x, key, step, training):
    """Batch norm of x with step ``step``'s statistics."""
    gamma, beta, moving_mean, moving_var = self.norms[key]
    if training:
      mean, var = ops.moments(x, axes=[0])
      # Update only row ``step`` of the per-step moving averages.
      row = ops.expand_dims(ops.one_hot(step, self.max_steps,
                                        dtype=x.dtype), -1)
      rate = (1.0 - self.momentum) * row
      moving_mean.assign(moving_mean * (1.0 - rate) + rate * mean)
      moving_var.assign(moving_var * (1.0 - rate) + rate * var)
    else:
      mean = ops.take(moving_mean, step, axis=0)
      var = ops.take(moving_var, step, axis=0)
    y = (x - mean) * ops.rsqrt(var + self.epsilon) * gamma
    return y if beta is None else y + beta

  def call(self, inputs, states, training=False):
    h, c, count = states
    step = ops.minimum(ops.cast(count[0, 0], 'int32'), self.max_steps - 1)
    gates = (self._normalize(ops.matmul(inputs, self.kernel), 'x', step,
                             training) +
             self._normalize(ops.matmul(h, self.recurrent_kernel), 'h', step,
                             training) + self.bias)
    i, f, g, o = ops.split(gates, 4, axis=-1)
    c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
    h = ops.sigmoid(o) * ops.tanh(self._normalize(c, 'c', step, training))
    return h, [h, c, count + 1.0]

  def get_config(self):
    config = super().get_config()
    config.update(units=self.units, max_steps=self.max_steps,
                  gamma_init=self.gamma_init, momentum=self.momentum,
                  epsilon=self.epsilon)
    return config


def bn_lstm_layer(units=constants.LSTM_UNITS, max_steps=MAX_STEPS,
            return_sequences=True, name='bn_lstm', **cell_kwargs):
  """A batch-normalised LSTM layer: [B, T, D] -> [B, T, units] (or [B, units]).

  Args:
    units: hidden units (512 in §4.1).
    max_steps: steps with their own batch-norm statistics.
    return_sequences: output every step (True) or the last one.
    name: layer name.
    **cell_kwargs: gamma_init, momentum, epsilon of BNLSTMCell.
  """
  return layers.RNN(BNLSTMCell(units, max_steps=max_steps, **cell_kwargs),
                    return_sequences=return_sequences, name=name)
