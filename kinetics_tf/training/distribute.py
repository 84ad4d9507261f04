"""tf.distribute set-up of the trainer: which strategy, which worker writes."""

import json
import os

import tensorflow as tf


def make_strategy(devices=None) -> tf.distribute.Strategy:
  """MultiWorkerMirroredStrategy under TF_CONFIG, else MirroredStrategy.

  Args:
    devices: devices of a MirroredStrategy; None: every local GPU, or every
      logical CPU when there is no GPU (one replica on a plain CPU).

  Returns:
    The strategy (synchronous data parallelism: gradients all-reduced).
  """
  if os.environ.get('TF_CONFIG'):
    try:
      json.loads(os.environ['TF_CONFIG'])
    except json.JSONDecodeError as e:
      raise ValueError(f'TF_CONFIG is not valid JSON ({e}); unset it for a '
                       'one-machine run') from e
    return tf.distribute.MultiWorkerMirroredStrategy()
  if devices is None:
    gpus = tf.config.list_logical_devices('GPU')
    devices = [d.name for d in (gpus or tf.config.list_logical_devices('CPU'))]
  return tf.distribute.MirroredStrategy(devices)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """True on the worker that writes checkpoints and summaries."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not resolver.task_type:
    return True
  if resolver.task_type == 'chief':
    return True
  has_chief = 'chief' in resolver.cluster_spec().as_dict()
  return (resolver.task_type == 'worker' and resolver.task_id == 0
          and not has_chief)


def worker_dir(model_dir: str, strategy: tf.distribute.Strategy) -> str:
  """model_dir on the chief; a scratch folder under it on other workers.

  Every MultiWorkerMirroredStrategy worker must take part in saving; only
  the chief's copy is the real checkpoint.
  """
  if is_chief(strategy):
    return model_dir
  resolver = strategy.cluster_resolver
  return os.path.join(model_dir, 'workers',
                      f'{resolver.task_type}_{resolver.task_id}')
