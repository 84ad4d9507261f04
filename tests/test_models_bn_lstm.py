"""Tests of the batch-normalised LSTM against a NumPy reference."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kinetics_tf.models import bn_lstm

# A variable's value as a NumPy array (np.array(variable) goes through
# __array__ without numpy 2's copy keyword).
_numpy = keras.ops.convert_to_numpy

UNITS, DEPTH, MAX_STEPS = 6, 5, 3


def _layer(momentum=0.99):
  layer = bn_lstm.BNLSTM(UNITS, max_steps=MAX_STEPS, momentum=momentum)
  layer.build((None, None, DEPTH))
  return layer


def _sequence(batch=4, steps=5, seed=0):
  rng = np.random.default_rng(seed)
  # Each step has its own mean and scale, so shared statistics would not fit.
  offsets = np.arange(steps, dtype='float32')[None, :, None]
  return (rng.normal(size=(batch, steps, DEPTH)) * (1 + offsets) +
          3 * offsets).astype('float32')


def _randomise_statistics(layer, seed=1):
  rng = np.random.default_rng(seed)
  for gamma, beta, mean, var in layer.norms.values():
    for v in (gamma, beta):
      if v is not None:
        v.assign(rng.uniform(0.5, 1.5, v.shape))
    mean.assign(rng.normal(size=mean.shape))
    var.assign(rng.uniform(0.5, 4.0, var.shape))


def _sigmoid(v):
  return 1 / (1 + np.exp(-v))


def _reference(layer, x, training):
  """NumPy forward pass of the layer's equations; returns every step's h."""
  norms = {k: [None if v is None else _numpy(v) for v in vs]
           for k, vs in layer.norms.items()}
  kernel, recurrent = _numpy(layer.kernel), _numpy(layer.recurrent_kernel)

  def norm(v, key, step):
    gamma, beta, mean, var = norms[key]
    if training:
      mean, var = v.mean(axis=0), v.var(axis=0)
    else:
      mean, var = mean[min(step, MAX_STEPS - 1)], var[min(step, MAX_STEPS - 1)]
    v = (v - mean) / np.sqrt(var + layer.epsilon) * gamma
    return v if beta is None else v + beta

  h = c = np.zeros((x.shape[0], UNITS))
  outputs = []
  for t in range(x.shape[1]):
    gates = (norm(x[:, t] @ kernel, 'x', t) + norm(h @ recurrent, 'h', t) +
             _numpy(layer.bias))
    i, f, g, o = np.split(gates, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    h = _sigmoid(o) * np.tanh(norm(c, 'c', t))
    outputs.append(h)
  return np.stack(outputs, axis=1)


def test_initial_values_follow_cooijmans():
  layer = _layer()
  for gamma, _, mean, var in layer.norms.values():
    np.testing.assert_array_equal(gamma, np.float32(0.1))
    assert mean.shape[0] == var.shape[0] == MAX_STEPS
  np.testing.assert_array_equal(layer.norms['c'][1], 0.0)
  assert layer.norms['x'][1] is None and layer.norms['h'][1] is None
  # Forget-gate bias (second quarter) starts at 1, the rest at 0.
  np.testing.assert_array_equal(
      layer.bias, np.repeat([0.0, 1.0, 0.0, 0.0], UNITS))


def test_inference_uses_each_steps_statistics_and_reuses_the_last():
  layer = _layer()
  _randomise_statistics(layer)
  x = _sequence(steps=5)  # Steps 3 and 4 are past max_steps = 3.
  expected = _reference(layer, x, training=False)
  np.testing.assert_allclose(layer(x, training=False), expected, atol=1e-5)
  # Sanity check of the test: with step 0's statistics everywhere the result
  # would differ.
  for _, _, mean, var in layer.norms.values():
    mean.assign(np.repeat(_numpy(mean)[:1], MAX_STEPS, axis=0))
    var.assign(np.repeat(_numpy(var)[:1], MAX_STEPS, axis=0))
  assert np.abs(layer(x, training=False) - expected).max() > 1e-2


@pytest.mark.parametrize('graph', [False, True])
def test_training_uses_batch_statistics_and_updates_its_steps_rows(graph):
  layer = _layer(momentum=0.5)
  _randomise_statistics(layer)
  before = {k: (_numpy(v[2]), _numpy(v[3]))
            for k, v in layer.norms.items()}
  x = _sequence(steps=2)  # Two steps: row 2 of the statistics is untouched.
  expected = _reference(layer, x, training=True)
  call = tf.function(layer) if graph else layer
  np.testing.assert_allclose(call(x, training=True), expected, atol=1e-5)

  mean_x, var_x = before['x']
  for t in range(2):
    projected = x[:, t] @ _numpy(layer.kernel)
    np.testing.assert_allclose(layer.norms['x'][2][t],
                               0.5 * mean_x[t] + 0.5 * projected.mean(0),
                               atol=1e-5)
    np.testing.assert_allclose(layer.norms['x'][3][t],
                               0.5 * var_x[t] + 0.5 * projected.var(0),
                               rtol=1e-4)
  for key, (mean, var) in before.items():
    np.testing.assert_array_equal(layer.norms[key][2][2], mean[2])
    np.testing.assert_array_equal(layer.norms[key][3][2], var[2])


def test_training_and_inference_differ_as_batch_norm_should():
  layer = _layer()
  _randomise_statistics(layer)
  x = _sequence()
  shifted = x + np.float32(5.0)  # The same shift for the whole batch.
  # Training normalises with the batch's own statistics: a shift common to
  # the batch cancels. Inference uses fixed statistics: it does not.
  np.testing.assert_allclose(layer(x, training=True),
                             layer(shifted, training=True), atol=1e-4)
  assert np.abs(layer(x, training=False) -
                layer(shifted, training=False)).max() > 1e-2
  # Inference leaves the statistics alone.
  mean = _numpy(layer.norms['x'][2])
  layer(x, training=False)
  np.testing.assert_array_equal(layer.norms['x'][2], mean)


def test_gradients_reach_the_first_of_25_steps():
  layer = _layer()
  x = tf.constant(_sequence(steps=25) / 25)
  with tf.GradientTape() as tape:
    tape.watch(x)
    last = layer(x, training=True)[:, -1]
    loss = tf.reduce_sum(last * tf.range(1.0, UNITS + 1.0))
  grad = tape.gradient(loss, x).numpy()
  assert np.isfinite(grad).all()
  assert np.abs(grad[:, 0]).max() > 1e-6


def test_bad_arguments_raise_value_error():
  with pytest.raises(ValueError, match='units=0'):
    bn_lstm.BNLSTM(0)
  with pytest.raises(ValueError, match='max_steps=0'):
    bn_lstm.BNLSTM(4, max_steps=0)
  with pytest.raises(ValueError, match=r'momentum=1.0 .* \[0, 1\)'):
    bn_lstm.BNLSTM(4, momentum=1.0)


def test_layer_config_round_trips():
  layer = _layer(momentum=0.9)
  clone = bn_lstm.BNLSTM.from_config(layer.get_config())
  assert clone.get_config() == layer.get_config()
  assert clone.momentum == 0.9 and clone.return_sequences
  last = bn_lstm.BNLSTM(UNITS, return_sequences=False)
  assert last(_sequence()).shape == (4, UNITS)


def test_training_step_compiles_with_xla():
  layer = _layer(momentum=0.5)
  x = tf.constant(_sequence(steps=4))

  @tf.function(jit_compile=True)
  def train_step(x):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(layer(x, training=True)[:, -1])
    return tape.gradient(loss, layer.trainable_variables)

  grads = train_step(x)
  assert all(np.isfinite(g.numpy()).all() for g in grads)
  assert np.abs(grads[0].numpy()).max() > 0  # The input kernel.
  # The moving averages moved for the 3 steps that have rows.
  assert np.abs(_numpy(layer.norms['x'][2])).min() > 0
