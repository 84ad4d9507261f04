"""Drives one training run: data, checkpoints, validation, plateau, logging.

``run`` is what ``python -m kinetics_tf.train`` calls and what a program can
call in-process (through ``kinetics_tf.training.experiments.run``, which
passes the model of the config's row of ``kinetics_tf.model_table``).  Files under ``model_dir``:
``config.json``, ``checkpoints/ckpt-<step>``, TensorBoard events under
``train/`` and ``validation/``, and ``final.keras`` once max_steps is reached.
"""

import contextlib
import dataclasses
import json
import os
import signal
import threading
import time
from typing import Callable, Optional

from absl import logging
import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow.core.framework import summary_pb2

from kinetics_tf.input import train_pipeline
from kinetics_tf.training import distribute
from kinetics_tf.training.config import Config
from kinetics_tf.training.loop import Metrics, Trainer, check_finite

# What tensorboard.summary.scalar writes: a float32 scalar + the plugin name.
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name='scalars'))

# examples_fn(split, input_context, seed) -> tf.data.Dataset of example dicts.
ExamplesFn = Callable[[str, Optional[tf.distribute.InputContext],
                       Optional[int]], tf.data.Dataset]


@dataclasses.dataclass
class Result:
  """What a run ended with (also written to model_dir/result.json).

  stopped is 'max_steps' or 'preempted' (SIGTERM: a checkpoint was saved;
  run again to resume).  train holds the means of the last logging window;
  validation those of the last validation; history every validation.
  """
  model_dir: str
  step: int
  stopped: str
  learning_rate: float
  plateau: dict
  train: dict
  validation: dict
  history: list
  checkpoint: Optional[str]
  final_model: Optional[str]
  steps_per_second: float


def tfds_examples(config: Config) -> ExamplesFn:
  """Reads config.dataset with TFDS (frames decoded only when sampled)."""
  def fn(split, input_context, seed):
    footprint = config.footprint
    return train_pipeline.load_examples(
        config.dataset, split, config.model, data_dir=config.data_dir,
        seed=seed, input_context=input_context,
        shuffle_files=split == config.train_split,
        num_frames=footprint.num_frames, stride=footprint.stride)
  return fn


def dataset_num_classes(config: Config) -> int:
  import kinetics_tf.datasets  # noqa: F401  pylint: disable=g-import-not-at-top
  builder = tfds.builder(config.dataset, data_dir=config.data_dir)
  return builder.info.features['label'].num_classes


@contextlib.contextmanager
def sigterm_flag():
  """Yields a dict whose 'set' turns True when SIGTERM arrives (preemption)."""
  flag = {'set': False}
  if threading.current_thread() is not threading.main_thread():
    yield flag
    return
  def handler(signum, frame):
    del signum, frame
    flag['set'] = True
  previous = signal.signal(signal.SIGTERM, handler)
  try:
    yield flag
  finally:
    signal.signal(signal.SIGTERM, previous)


def pipeline_seed(seed: int, input_pipeline_id: int) -> int:
  """The seed of input pipeline ``input_pipeline_id`` of a run seeded
  ``seed``: the two folded (NumPy's SeedSequence), so that no two pipelines
  and no two resumed starts (``seed`` moves with the step) share one."""
  state = np.random.SeedSequence([seed, input_pipeline_id]).generate_state(1)
  return int(state[0] >> 1)  # int31: what tf.data's seeds take


def train_input_fn(config: Config, examples_fn: ExamplesFn, seed: int):
  """The ``fn(input_context)`` of the training batches of one run."""
  footprint = config.footprint

  def train_fn(ctx):
    # Each input pipeline its own seed: W workers draw W augmentations of
    # their element i, not one (SPEC.md: "Each replica's input pipeline
    # draws its own augmentations").
    own = pipeline_seed(seed, ctx.input_pipeline_id)
    ds = examples_fn(config.train_split, ctx, own)
    return train_pipeline.make_dataset(
        ds, config.model, config.crop_size,
        ctx.get_per_replica_batch_size(config.batch_size),
        shuffle_buffer=config.shuffle_buffer, seed=own,
        deterministic=config.deterministic,
        num_frames=footprint.num_frames, stride=footprint.stride)
  return train_fn


def _datasets(config, strategy, examples_fn, seed):
  """(distributed infinite training batches, distributed validation)."""
  footprint = config.footprint
  common = dict(num_frames=footprint.num_frames, stride=footprint.stride)
  train_fn = train_input_fn(config, examples_fn, seed)

  val = train_pipeline.make_dataset(
      examples_fn(config.val_split, None, config.seed), config.model,
      config.crop_size, config.batch_size, training=False, **common)
  # Built once; each validation iterates it afresh (the same examples).  Over
  # workers, each takes its share of the batches (sums are all-reduced).
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  val = strategy.experimental_distribute_dataset(
      val.take(config.eval_batches).with_options(options))
  return strategy.distribute_datasets_from_function(train_fn), val


def _restore(trainer: Trainer, manager) -> Optional[str]:
  path = manager.latest_checkpoint
  if path:
    trainer.checkpoint.restore(path).assert_existing_objects_matched()
    logging.info('resumed from %s at step %d (lr %g, plateau %s)', path,
                 int(trainer.step.numpy()), trainer.learning_rate,
                 trainer.plateau.state())
  trainer.sync_learning_rate()
  return path


def _say(line: str) -> None:
  """Progress and validation lines: stdout, so an in-process run shows them."""
  print(line, flush=True)


def _progress(step, max_steps, means, lr, rate):
  eta = (max_steps - step) / rate if rate > 0 else float('inf')
  eta_s = (f'{int(eta // 3600)}h{int(eta % 3600 // 60):02d}m{int(eta % 60):02d}s'
           if eta != float('inf') else '?')
  return (f'step {step}/{max_steps} ({100 * step / max_steps:.1f}%) | loss '
          f'{means["loss"]:.4f} top1 {means["top1"]:.3f} top5 '
          f'{means["top5"]:.3f} | lr {lr:.3g} | {rate:.2f} steps/s | ETA '
          f'{eta_s}')


def _scalars(writer, step, values: dict):
  """TensorBoard scalars, written without needing the tensorboard package."""
  with writer.as_default(step=step):
    for name, value in values.items():
      tf.summary.write(name, tf.constant(value, tf.float32),
                       metadata=_SCALAR_METADATA)
  writer.flush()


def run(config: Config, model_dir: str,
        build_model: Callable[[Config, int], keras.Model], *,
        strategy: Optional[tf.distribute.Strategy] = None,
        examples_fn: Optional[ExamplesFn] = None,
        mixed_precision: Optional[str] = None,
        jit_compile: bool = False) -> Result:
  """Trains (or resumes) ``config`` in ``model_dir``; see the module docstring.

  Args:
    config: the experiment.
    model_dir: where checkpoints, summaries and results go; a run finding a
      checkpoint there resumes from it.
    build_model: (config, num_classes) -> Keras model returning logits.
    strategy: default: distribute.make_strategy().
    examples_fn: default: read config.dataset with TFDS.
    mixed_precision: None, 'mixed_float16' or 'mixed_bfloat16'.
    jit_compile: XLA-compile the steps.

  Returns:
    Result.

  Raises:
    loop.DivergedError: the loss became NaN/inf (the last good checkpoint is
      kept and named in the message).
  """
  strategy = strategy or distribute.make_strategy()
  examples_fn = examples_fn or tfds_examples(config)
  num_classes = config.num_classes or dataset_num_classes(config)
  # The initial weights come from config.seed too (Python, NumPy and TF
  # global seeds), so two runs of one config start alike.
  keras.utils.set_random_seed(config.seed)
  trainer = Trainer(lambda: build_model(config, num_classes), strategy,
                    config.batch_size, config.base_lr, config.momentum,
                    config.weight_decay, config.patience,
                    mixed_precision=mixed_precision, jit_compile=jit_compile)
  write_dir = distribute.worker_dir(model_dir, strategy)
  chief = distribute.is_chief(strategy)
  manager = tf.train.CheckpointManager(
      trainer.checkpoint, os.path.join(write_dir, 'checkpoints'),
      max_to_keep=3)
  last_ckpt = _restore(trainer, manager)
  if chief:
    tf.io.gfile.makedirs(model_dir)
    _write_json(dataclasses.asdict(config), model_dir, 'config.json')
  start = int(trainer.step.numpy())
  # A resumed run draws new batches rather than replaying the first ones.
  seed = config.seed + start
  train_ds, val_ds = _datasets(config, strategy, examples_fn, seed)
  writers = {name: (tf.summary.create_file_writer(os.path.join(model_dir, name))
                    if chief else tf.summary.create_noop_writer())
             for name in ('train', 'validation')}
  state = _State(history=_read_history(model_dir, start) if start else [])
  _say(f'training {config.name}: {strategy.num_replicas_in_sync} replica(s), '
       f'global batch {config.batch_size}, steps {start}..{config.max_steps}'
       + (f' (resumed from {last_ckpt})' if last_ckpt else ''))
  with sigterm_flag() as preempted:
    stopped = _loop(config, trainer, manager, train_ds, val_ds, writers,
                    state, preempted, last_ckpt, model_dir)
  if not state.validation:
    state.validation = trainer.evaluate(val_ds)
  final_model = None
  if stopped == 'max_steps' and chief:
    final_model = os.path.join(model_dir, 'final.keras')
    trainer.model.save(final_model)
  result = Result(
      model_dir=model_dir, step=int(trainer.step.numpy()), stopped=stopped,
      learning_rate=trainer.learning_rate, plateau=trainer.plateau.state(),
      train=state.train, validation=state.validation, history=state.history,
      checkpoint=manager.latest_checkpoint, final_model=final_model,
      steps_per_second=state.rate)
  if chief:
    _write_json(dataclasses.asdict(result), model_dir, 'result.json')
  _say(f'stopped ({stopped}) at step {result.step}: validation {result.validation}'
       f', lr {result.learning_rate:g}, checkpoint {result.checkpoint}')
  return result


@dataclasses.dataclass
class _State:
  history: list
  train: dict = dataclasses.field(default_factory=dict)
  validation: dict = dataclasses.field(default_factory=dict)
  rate: float = 0.0


def _write_json(value, model_dir, name) -> None:
  """Writes model_dir/name atomically (a kill never leaves half a file)."""
  path = os.path.join(model_dir, name)
  with tf.io.gfile.GFile(path + '.tmp', 'w') as f:
    json.dump(value, f, indent=2)
  tf.io.gfile.rename(path + '.tmp', path, overwrite=True)


def _read_history(model_dir, step) -> list:
  """Validations up to the restored step (written just before each save)."""
  path = os.path.join(model_dir, 'history.json')
  if not tf.io.gfile.exists(path):
    return []
  with tf.io.gfile.GFile(path) as f:
    return [h for h in json.load(f) if h['step'] <= step]


def _validate(trainer, val_ds, writers, state, step, last_ckpt):
  """Validation, the plateau rule and its record (model_dir/history.json)."""
  val = trainer.evaluate(val_ds)
  check_finite(val['loss'], step, last_ckpt, what='validation loss')
  dropped = trainer.plateau.update(val['loss'])
  trainer.sync_learning_rate()
  state.validation = val
  state.history = [h for h in state.history if h['step'] < step] + [
      dict(step=step, lr=trainer.learning_rate, dropped=dropped, **val)]
  _scalars(writers['validation'], step,
           {'loss': val['loss'], 'top1': val['top1'], 'top5': val['top5']})
  _say(f'validation at step {step}: loss {val["loss"]:.4f} top1 '
       f'{val["top1"]:.3f} top5 {val["top5"]:.3f}' +
       (f' -> lr x{trainer.plateau.factor:g} = {trainer.learning_rate:g}'
        if dropped else ''))


def _loop(config, trainer, manager, train_ds, val_ds, writers, state,
          preempted, last_ckpt, model_dir) -> str:
  """Steps until max_steps or SIGTERM; returns why it stopped."""
  iterator = iter(train_ds)
  window, t_window, n_window = Metrics(), 0.0, 0
  step = int(trainer.step.numpy())
  while step < config.max_steps:
    if preempted['set'] and trainer.weights_finite():
      path = manager.save(checkpoint_number=step)
      _say(f'SIGTERM: saved {path} at step {step}; rerun the same command '
           'to resume')
      return 'preempted'
    t0 = time.perf_counter()
    sums = trainer.train_step(next(iterator))
    loss_sum, count = float(sums[0]), float(sums[3])
    t_window += time.perf_counter() - t0
    n_window += 1
    step = int(trainer.step.numpy())
    check_finite(loss_sum / max(count, 1.0), step, last_ckpt)
    window.add(sums)
    if step % config.log_every == 0 or step == config.max_steps:
      state.train, state.rate = window.means(), n_window / max(t_window, 1e-9)
      _say(_progress(step, config.max_steps, state.train,
                     trainer.learning_rate, state.rate))
      _scalars(writers['train'], step, dict(
          state.train, learning_rate=trainer.learning_rate,
          steps_per_second=state.rate))
      window, t_window, n_window = Metrics(), 0.0, 0
    if step % config.eval_every == 0 or step == config.max_steps:
      _validate(trainer, val_ds, writers, state, step, last_ckpt)
    if step % config.checkpoint_every == 0 or step == config.max_steps:
      if not trainer.weights_finite():
        check_finite(float('nan'), step, last_ckpt, what='a model weight')
      if distribute.is_chief(trainer.strategy):
        _write_json(state.history, model_dir, 'history.json')
      last_ckpt = manager.save(checkpoint_number=step)
  return 'max_steps'
