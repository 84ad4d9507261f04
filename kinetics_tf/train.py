r"""Trains one baseline of the paper (§4.4): ``python -m kinetics_tf.train --experiment=NAME``.

Synchronous SGD with momentum over every local device (MirroredStrategy), or
over machines (MultiWorkerMirroredStrategy) when TF_CONFIG is set; LR x0.1
after ``patience`` validations without a lower validation loss; checkpoints
every ``checkpoint_every`` steps and on SIGTERM; rerunning the same command
resumes.  Experiments are the modules of ``experiments/`` (each opens with its
command and cost); flags override their fields.  Example:

  python -m kinetics_tf.train --experiment=synthetic_rgb \
      --model_dir=/tmp/syn_rgb --max_steps=200

Two workers on one machine over localhost (one process per worker, each with
its own task index; worker 0 is the chief and writes model_dir):

  CLUSTER='{"worker": ["localhost:12345", "localhost:12346"]}'
  TF_CONFIG="{\"cluster\": $CLUSTER, \"task\": {\"type\": \"worker\", \"index\": 0}}" \
      python -m kinetics_tf.train --experiment=synthetic_rgb --model_dir=/tmp/mw &
  TF_CONFIG="{\"cluster\": $CLUSTER, \"task\": {\"type\": \"worker\", \"index\": 1}}" \
      python -m kinetics_tf.train --experiment=synthetic_rgb --model_dir=/tmp/mw

On a cluster, list each machine's host:port instead; --batch_size stays the
global batch.  Batch norm statistics are per replica, as in the paper's
per-GPU batches (§4.3: 15 videos per GPU for C3D).

The binary is its flags; loading an experiment, building its model (from the
model's row of ``kinetics_tf.model_table``) and training it in-process are
``kinetics_tf.training.experiments`` (``run``, ``load_experiment``, ...,
also reachable here by the same names).
"""

import functools
import sys

from absl import app
from absl import flags
from absl import logging

from kinetics_tf import app as cli_app
from kinetics_tf import model_table
from kinetics_tf.training import loop
from kinetics_tf.training.config import Config
# The library calls of the binary (also what a program calls in-process).
from kinetics_tf.training.experiments import build_model  # noqa: F401
from kinetics_tf.training.experiments import experiment_names
from kinetics_tf.training.experiments import load_experiment
from kinetics_tf.training.experiments import run

FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues = FLAGS) -> None:
  """Defines the binary's flags (only the binary calls this on FLAGS, so
  importing this module for ``run`` defines no flags)."""
  string, integer, real, boolean, enum = (
      functools.partial(define, flag_values=flag_values) for define in (
          flags.DEFINE_string, flags.DEFINE_integer, flags.DEFINE_float,
          flags.DEFINE_boolean, flags.DEFINE_enum))
  string('experiment', None, 'Experiment module in experiments/ '
                      '(e.g. kinetics400_c3d, synthetic_rgb).')
  string('model_dir', None, 'Folder for checkpoints, TensorBoard '
                      'events and results; a checkpoint there is resumed. '
                      'Default: /tmp/kinetics_tf/<experiment>.')
  string('data_dir', None, 'TFDS data_dir of the dataset.')
  string('dataset', None, 'TFDS name/config, overriding the '
                      "experiment's.")
  enum('model', None, list(model_table.NAMES), "Model (and training "
                    "footprint), overriding the experiment's.")
  integer('batch_size', None, 'Global batch size (all replicas).', lower_bound=1)
  real('base_lr', None, 'Initial learning rate.', lower_bound=0.0)
  real('momentum', None, 'SGD momentum.', lower_bound=0.0)
  real('weight_decay', None, 'L2 weight decay on kernels.', lower_bound=0.0)
  integer('patience', None, 'Validations without a lower '
                       'validation loss before LR x0.1.', lower_bound=1)
  integer('max_steps', None, 'Training steps (paper: up to 100k).', lower_bound=1)
  integer('eval_every', None, 'Steps between validations.', lower_bound=1)
  integer('eval_batches', None, 'Batches per validation.', lower_bound=1)
  integer('checkpoint_every', None, 'Steps between checkpoints.', lower_bound=1)
  integer('log_every', None, 'Steps between progress lines.', lower_bound=1)
  integer('crop_size', None, 'Random crop side in pixels.', lower_bound=1)
  integer('seed', None, 'Seed of initialisation and input.', lower_bound=0)
  boolean('deterministic', None, 'Reproducible input pipeline.')
  string('imagenet_weights', None, 'Path of the Keras ResNet-50 '
                      'ImageNet weight file (.h5) to start from.')
  enum('mixed_precision', None, ['mixed_float16', 'mixed_bfloat16'],
                    'Mixed precision policy (GPUs: mixed_float16).')
  boolean('jit_compile', False, 'XLA-compile the steps (off by '
                       'default: slower on CPU, unsupported under '
                       'MirroredStrategy over logical CPUs).')


# Flags that override the Config field of the same name.
OVERRIDES = ('model', 'dataset', 'data_dir', 'batch_size', 'base_lr', 'momentum',
             'weight_decay', 'patience', 'max_steps', 'eval_every',
             'eval_batches', 'checkpoint_every', 'log_every', 'crop_size',
             'seed', 'deterministic', 'imagenet_weights')


def config_from_flags(flag_values: flags.FlagValues = FLAGS) -> Config:
  """The experiment's Config with every flag that was given applied."""
  if not flag_values.experiment:
    raise ValueError('--experiment is required; one of: '
                     f'{", ".join(experiment_names())}')
  config = load_experiment(flag_values.experiment)
  changes = {name: flag_values[name].value for name in OVERRIDES
             if flag_values[name].value is not None}
  return config.replace(**changes)


def check_crop(config: Config) -> None:
  """A UserError naming --crop_size when the model or the dataset's frames cannot take it."""
  from kinetics_tf import release  # pylint: disable=g-import-not-at-top
  from kinetics_tf.models import c3d, resnet50  # pylint: disable=g-import-not-at-top
  # Five 2x downsamplings: the ResNet-50s and C3D need 32 px (models/*.py).
  minimum = c3d.MIN_INPUT_SIZE if config.model == 'c3d' else resnet50.MIN_INPUT_SIZE
  if config.crop_size < minimum:
    raise cli_app.UserError(f'--crop_size={config.crop_size}: the {config.model} model needs '
                            f'a crop of at least {minimum} px (the paper crops '
                            f'{model_table.MODELS[config.model].crop}, §4.4)')
  side = release.stored_short_side(config.dataset, config.data_dir)
  if side is not None and side < config.crop_size:
    raise cli_app.UserError(f'--crop_size={config.crop_size} is larger than the shorter side '
                            f'({side} px) of the frames of {config.dataset}; use a crop <= {side}')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  try:
    config = config_from_flags()
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  cli_app.check_dataset(config.dataset)
  check_crop(config)
  model_dir = FLAGS.model_dir or f'/tmp/kinetics_tf/{config.name}'
  try:
    result = run(config, model_dir, mixed_precision=FLAGS.mixed_precision,
                 jit_compile=FLAGS.jit_compile)
  except loop.DivergedError as e:
    logging.error('%s', e)
    sys.exit(2)
  print(f'{config.name}: stopped ({result.stopped}) at step {result.step}; '
        f'validation loss {result.validation.get("loss", float("nan")):.4f} '
        f'top1 {result.validation.get("top1", float("nan")):.3f}; lr '
        f'{result.learning_rate:g}; checkpoint {result.checkpoint}', flush=True)
  if result.stopped == 'preempted':
    sys.exit(143)  # 128 + SIGTERM: not finished, rerun to resume


if __name__ == '__main__':
  define_flags()
  cli_app.run(main, 'train')
