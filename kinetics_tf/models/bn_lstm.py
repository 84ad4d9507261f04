"""Batch-normalised LSTM (§4.1): Cooijmans et al. 2016, "Recurrent Batch
Normalization".

Each step computes (BN_t = batch norm with step t's statistics)
  gates = BN_t(W_x x; gamma_x) + BN_t(W_h h; gamma_h) + b
  c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
  h' = sigmoid(o) * tanh(BN_t(c'; gamma_c, beta_c))
with the three batch norms separate, gammas initialised to 0.1, and
population statistics kept per time step for ``max_steps`` steps (later steps
use the last step's statistics). Training uses the batch's statistics and
updates step t's moving averages; inference uses step t's moving averages.

The loop over time is a ``tf.scan`` without side effects: it returns
every step's batch statistics and the moving averages are updated once after
it (so the layer also compiles with XLA). The input-to-hidden products and
their batch norm are computed for all steps at once, outside the loop.
"""

import keras
from keras import layers
from keras import ops
import tensorflow as tf

from kinetics_tf import constants
from kinetics_tf.models import common

# Cooijmans et al. §4: "gamma = 0.1" avoids saturating tanh early on.
GAMMA_INIT = 0.1
# Statistics kept for the training footprint's 25 steps (Table 3); the test
# footprint's 50 steps reuse step 25's.
MAX_STEPS = constants.TRAIN_FOOTPRINTS['convnet_lstm'].num_frames


@keras.saving.register_keras_serializable(package=common.PACKAGE)
class BNLSTM(layers.Layer):
  """Batch-normalised LSTM layer: [B, T, D] -> [B, T, units] (or [B, units]).

  T may vary between calls (25 steps when training, 50 at test, Table 3);
  steps from ``max_steps`` on use the statistics of step ``max_steps - 1``.
  """

  def __init__(self, units=constants.LSTM_UNITS, max_steps=MAX_STEPS,
               gamma_init=GAMMA_INIT, momentum=0.99, epsilon=1e-3,
               return_sequences=True, **kwargs):
    """Creates the layer.

    Args:
      units: hidden units (512 in §4.1).
      max_steps: steps with their own batch-norm statistics.
      gamma_init: initial batch-norm scale (0.1, Cooijmans et al.).
      momentum: of the moving averages, as in keras BatchNormalization.
      epsilon: added to variances.
      return_sequences: output every step (True) or only the last.
      **kwargs: passed to keras.layers.Layer (e.g. name).

    Raises:
      ValueError: units or max_steps not a positive int, momentum not in
        [0, 1).
    """
    super().__init__(**kwargs)
    common.check_positive_int('BNLSTM', 'units', units)
    common.check_positive_int('BNLSTM', 'max_steps', max_steps)
    if not 0.0 <= momentum < 1.0:
      raise ValueError(f'BNLSTM: momentum={momentum!r} is not allowed; '
                       'use a number in [0, 1).')
    self.units = units
    self.max_steps = max_steps
    self.gamma_init = gamma_init
    self.momentum = momentum
    self.epsilon = epsilon
    self.return_sequences = return_sequences

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
        initializer=lambda shape, dtype=None: ops.concatenate(
            [ops.zeros((units,)), ops.ones((units,)),
             ops.zeros((2 * units,))]))
    self.norms = {}
    for key, size in (('x', gates), ('h', gates), ('c', units)):
      self.norms[key] = self._add_norm(key, size, with_beta=key == 'c')

  def _add_norm(self, key, size, with_beta):
    """(gamma, beta or None, moving_mean, moving_variance) of one BN."""
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

  def _normalize(self, x, mean, var, key):
    gamma, beta = self.norms[key][:2]
    y = (x - mean) * ops.rsqrt(var + self.epsilon) * gamma
    return y if beta is None else y + beta

  def call(self, inputs, training=False):
    training = bool(training)
    steps = ops.shape(inputs)[1]
    last = self.max_steps - 1
    # Input-to-hidden term of every step at once: [B, T, 4 units].
    xh = ops.matmul(inputs, self.kernel)
    if training:
      stats_x = ops.moments(xh, axes=[0])
    else:
      rows = ops.minimum(ops.arange(steps), last)
      stats_x = tuple(ops.take(v, rows, axis=0) for v in self.norms['x'][2:])
    xh = self._normalize(xh, *stats_x, 'x') + self.bias
    population = [ops.convert_to_tensor(v) for key in ('h', 'c')
                  for v in self.norms[key][2:]]

    def step(carry, xh_t):
      h, c, *_, t = carry
      if not training:
        row = ops.minimum(ops.cast(t, 'int32'), last)
        mean_h, var_h, mean_c, var_c = (v[row] for v in population)
      hh = ops.matmul(h, self.recurrent_kernel)
      if training:
        mean_h, var_h = ops.moments(hh, axes=[0])
      i, f, g, o = ops.split(xh_t + self._normalize(hh, mean_h, var_h, 'h'),
                             4, axis=-1)
      c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
      if training:
        mean_c, var_c = ops.moments(c, axes=[0])
      h = ops.sigmoid(o) * ops.tanh(self._normalize(c, mean_c, var_c, 'c'))
      return (h, c, mean_h, var_h, mean_c, var_c, t + 1.0)

    # The carry also holds the step's batch statistics (so that the scan
    # returns them) and the step count t.
    zeros = ops.zeros((ops.shape(inputs)[0], self.units), dtype=xh.dtype)
    init = (zeros, zeros) + tuple(
        ops.zeros((size,), dtype=xh.dtype)
        for size in (4 * self.units, 4 * self.units, self.units, self.units)
    ) + (ops.zeros((), dtype=xh.dtype),)
    # tf.scan bounds its while loop (maximum_iterations), which XLA needs to
    # compile the loop's gradient; keras.ops.scan does not.
    ys = tf.scan(step, ops.transpose(xh, (1, 0, 2)), initializer=init)
    if training:
      self._update_moving_stats(steps, {'x': stats_x, 'h': ys[2:4],
                                        'c': ys[4:6]})
    outputs = ops.transpose(ys[0], (1, 0, 2))
    return outputs if self.return_sequences else outputs[:, -1]

  def _update_moving_stats(self, steps, batch_stats):
    """Moves row t of each moving average towards step t's batch statistics.

    Steps past ``max_steps`` do not update (Cooijmans et al. reuse the last
    trained step's statistics for them).
    """
    # [T, max_steps]: step t -> row t; all-zero rows for t >= max_steps.
    scatter = ops.one_hot(ops.arange(steps), self.max_steps)
    seen = ops.expand_dims(ops.sum(scatter, axis=0), -1)
    rate = (1.0 - self.momentum) * seen
    for key, stats in batch_stats.items():
      for moving, batch in zip(self.norms[key][2:], stats):
        rows = ops.matmul(ops.transpose(scatter), batch)
        moving.assign(moving * (1.0 - rate) + rate * rows)

  def compute_output_shape(self, input_shape):
    if self.return_sequences:
      return tuple(input_shape[:2]) + (self.units,)
    return (input_shape[0], self.units)

  def get_config(self):
    config = super().get_config()
    config.update(units=self.units, max_steps=self.max_steps,
                  gamma_init=self.gamma_init, momentum=self.momentum,
                  epsilon=self.epsilon,
                  return_sequences=self.return_sequences)
    return config
