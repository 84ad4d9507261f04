"""The learning-rate rule of §4.4: x0.1 when validation loss stops improving."""

import math

import tensorflow as tf

from kinetics_tf import constants


class Plateau(tf.Module):
  """Drops the learning rate by ``factor`` after ``patience`` bad validations.

  A validation is *bad* when its loss is not below ``best - min_delta``; after
  ``patience`` bad validations in a row the rate is multiplied by ``factor``
  (§4.4: 0.1) and the count restarts.  The state lives in tf.Variables so a
  ``tf.train.Checkpoint`` saves it with the weights, and a resumed run keeps
  the same rate and the same count towards the next drop.
  """

  def __init__(self, base_lr: float, patience: int,
               factor: float = constants.LR_DROP_FACTOR,
               min_delta: float = 0.0, min_lr: float = 0.0):
    super().__init__(name='plateau')
    if base_lr <= 0 or not math.isfinite(base_lr):
      raise ValueError(f'Plateau: base_lr={base_lr} must be a positive number')
    if patience < 1:
      raise ValueError(f'Plateau: patience={patience} must be >= 1 validation')
    if not 0 < factor < 1:
      raise ValueError(f'Plateau: factor={factor} must be in (0, 1)')
    self.patience = patience
    self.factor = factor
    self.min_delta = min_delta
    self.min_lr = min_lr
    self.lr = tf.Variable(base_lr, dtype=tf.float64, trainable=False, name='lr')
    self.best = tf.Variable(math.inf, dtype=tf.float64, trainable=False,
                            name='best')
    self.num_bad = tf.Variable(0, dtype=tf.int64, trainable=False,
                               name='num_bad')
    self.num_drops = tf.Variable(0, dtype=tf.int64, trainable=False,
                                 name='num_drops')

  @property
  def learning_rate(self) -> float:
    return float(self.lr.numpy())

  def update(self, val_loss: float) -> bool:
    """Records one validation loss; returns True when the rate was dropped."""
    val_loss = float(val_loss)
    if not math.isfinite(val_loss):
      raise ValueError(f'Plateau.update: validation loss is {val_loss}')
    if val_loss < float(self.best.numpy()) - self.min_delta:
      self.best.assign(val_loss)
      self.num_bad.assign(0)
      return False
    self.num_bad.assign_add(1)
    if int(self.num_bad.numpy()) < self.patience:
      return False
    self.num_bad.assign(0)
    new_lr = max(self.learning_rate * self.factor, self.min_lr)
    dropped = new_lr < self.learning_rate
    self.lr.assign(new_lr)
    if dropped:
      self.num_drops.assign_add(1)
    return dropped

  def state(self) -> dict:
    return {'lr': self.learning_rate, 'best': float(self.best.numpy()),
            'num_bad': int(self.num_bad.numpy()),
            'num_drops': int(self.num_drops.numpy())}
