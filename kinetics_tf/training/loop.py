"""The training loop of §4.4: synchronous SGD + momentum, plateau x0.1, resume.

``Trainer`` holds the model, optimizer and compiled steps under a strategy;
``kinetics_tf.train.run`` drives it.  A checkpoint holds the weights, the
optimizer (momentum, learning rate), the global step and the plateau state,
so a run killed at any point resumes at the step of its last checkpoint with
the same learning rate and the same count towards the next drop.
"""

import dataclasses
import math
from typing import Callable, Optional

import keras
import tensorflow as tf

from kinetics_tf.training.plateau import Plateau


class DivergedError(RuntimeError):
  """The training loss became NaN or infinite; nothing after it is saved."""


@dataclasses.dataclass
class Metrics:
  """Sums over examples, reduced over replicas: loss, top-1, top-5 hits."""
  loss: float = 0.0
  top1: float = 0.0
  top5: float = 0.0
  count: float = 0.0

  def add(self, sums) -> None:
    loss, top1, top5, count = (float(v) for v in sums)
    self.loss += loss
    self.top1 += top1
    self.top5 += top5
    self.count += count

  def means(self) -> dict:
    n = max(self.count, 1.0)
    return {'loss': self.loss / n, 'top1': self.top1 / n,
            'top5': self.top5 / n}


def _hits(labels, logits, k):
  k = min(k, logits.shape[-1])
  return tf.reduce_sum(tf.cast(tf.math.in_top_k(labels, logits, k), tf.float32))


class Trainer:
  """Model, SGD with momentum, L2 weight decay and the train/eval steps.

  Args:
    build_model: builds the Keras model (called under the strategy scope).
    strategy: the tf.distribute strategy.
    global_batch_size: examples per step over all replicas.
    base_lr, momentum, weight_decay: SGD hyper-parameters; weight decay is
      an L2 term ``weight_decay / 2 * sum ||W||^2`` over kernels (rank >= 2).
    patience: validations without improvement before LR x0.1.
    mixed_precision: None, 'mixed_float16' (with loss scaling) or
      'mixed_bfloat16'; for GPUs / TPUs.
    jit_compile: XLA-compile the steps (off: slower on CPU, and not
      supported under MirroredStrategy over logical CPUs).
  """

  def __init__(self, build_model: Callable[[], keras.Model],
               strategy: tf.distribute.Strategy, global_batch_size: int,
               base_lr: float, momentum: float, weight_decay: float,
               patience: int, mixed_precision: Optional[str] = None,
               jit_compile: bool = False):
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
      raise ValueError(f'batch_size={global_batch_size} is not divisible by '
                       f'the {replicas} replicas; use a multiple of {replicas}')
    self.strategy = strategy
    self.global_batch_size = global_batch_size
    self.weight_decay = weight_decay
    previous_policy = keras.mixed_precision.global_policy()
    if mixed_precision:
      keras.mixed_precision.set_global_policy(mixed_precision)
    try:
      with strategy.scope():
        self.model = build_model()
    finally:  # layers keep the policy they were built with
      keras.mixed_precision.set_global_policy(previous_policy)
    with strategy.scope():
      optimizer = keras.optimizers.SGD(learning_rate=base_lr,
                                       momentum=momentum)
      if mixed_precision == 'mixed_float16':
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
      optimizer.build(self.model.trainable_variables)
      self.optimizer = optimizer
    self._decayed = [v for v in self.model.trainable_variables
                     if len(v.shape) >= 2]
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
    self.plateau = Plateau(base_lr, patience)
    self.checkpoint = tf.train.Checkpoint(
        model=self.model, optimizer=self.optimizer, step=self.step,
        plateau=self.plateau)
    self._train = tf.function(self._train_step, jit_compile=jit_compile)
    self._eval = tf.function(self._eval_step, jit_compile=jit_compile)

  @property
  def learning_rate(self) -> float:
    return self.plateau.learning_rate

  def sync_learning_rate(self) -> None:
    """Sets the optimizer's rate to the plateau rule's (after an update)."""
    self.optimizer.learning_rate.assign(self.plateau.learning_rate)

  def _sums(self, labels, logits, per_example):
    return (tf.reduce_sum(per_example), _hits(labels, logits, 1),
            _hits(labels, logits, 5),
            tf.cast(tf.shape(labels)[0], tf.float32))

  def _train_step(self, inputs, labels):
    def replica_fn(x, y):
      with tf.GradientTape() as tape:
        logits = tf.cast(self.model(x, training=True), tf.float32)
        per_example = tf.keras.losses.sparse_categorical_crossentropy(
            y, logits, from_logits=True)
        loss = tf.nn.compute_average_loss(
            per_example, global_batch_size=self.global_batch_size)
        if self.weight_decay and self._decayed:
          l2 = tf.add_n([tf.nn.l2_loss(tf.cast(v, tf.float32))
                         for v in self._decayed])
          loss += tf.nn.scale_regularization_loss(self.weight_decay * l2)
        scaled = (self.optimizer.scale_loss(loss)
                  if hasattr(self.optimizer, 'scale_loss') else loss)
      grads = tape.gradient(scaled, self.model.trainable_variables)
      self.optimizer.apply_gradients(
          zip(grads, self.model.trainable_variables))
      return self._sums(y, logits, per_example)

    sums = self.strategy.run(replica_fn, args=(inputs, labels))
    return [self.strategy.reduce('SUM', s, axis=None) for s in sums]

  def _eval_step(self, inputs, labels):
    def replica_fn(x, y):
      logits = tf.cast(self.model(x, training=False), tf.float32)
      per_example = tf.keras.losses.sparse_categorical_crossentropy(
          y, logits, from_logits=True)
      return self._sums(y, logits, per_example)

    sums = self.strategy.run(replica_fn, args=(inputs, labels))
    return [self.strategy.reduce('SUM', s, axis=None) for s in sums]

  def train_step(self, batch) -> list:
    """One synchronous SGD step on a (distributed) batch; returns the sums."""
    sums = self._train(*batch)
    self.step.assign_add(1)
    return sums

  def weights_finite(self) -> bool:
    """Whether every model variable is finite (checked before each save)."""
    return bool(self._finite())

  @tf.function
  def _finite(self):
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(v))
                          for v in self.model.variables
                          if 'float' in str(v.dtype)])

  def evaluate(self, dist_dataset) -> dict:
    """Mean loss, top-1 and top-5 over a distributed dataset (one pass)."""
    metrics = Metrics()
    for batch in dist_dataset:
      metrics.add(self._eval(*batch))
    if not metrics.count:
      raise ValueError('the validation set gave no examples; check the '
                       'split name and eval_batches')
    return metrics.means()


def check_finite(loss: float, step: int, last_checkpoint: Optional[str],
                 what: str = 'training loss'):
  """Raises DivergedError naming the step and the checkpoint kept."""
  if math.isfinite(loss):
    return
  kept = last_checkpoint or 'none (no checkpoint was written yet)'
  raise DivergedError(
      f'{what} is {loss} at step {step}: stopped without saving. The '
      f'last good checkpoint is {kept}; lower --base_lr (or raise '
      '--weight_decay) and rerun to resume from it.')
