"""Experiments of experiments/, the model of a Config, and one training run in-process.

What ``python -m kinetics_tf.train`` calls, and what a program (the demo, a
benchmark) calls without going through the binary:

  config = experiments.load_experiment('synthetic_rgb')
  result = experiments.run(config.replace(max_steps=10), '/tmp/syn_rgb')
"""

import importlib
import os
import pkgutil

from absl import logging

from kinetics_tf import app as cli_app
from kinetics_tf import model_table
from kinetics_tf.training import runner
from kinetics_tf.training.config import Config

EXPERIMENTS_PACKAGE = 'experiments'


def experiment_names() -> list:
  """Names of the experiment modules in experiments/."""
  package = importlib.import_module(EXPERIMENTS_PACKAGE)
  return sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                if not m.name.startswith('_'))


def load_experiment(name: str) -> Config:
  """The Config of experiments/<name>.py (its get_config()).

  Raises:
    kinetics_tf.errors.UserError: no such experiment (the message names the
      closest ones).
  """
  names = experiment_names()
  if name not in names:
    raise cli_app.unknown('experiment', name, names)
  module = importlib.import_module(f'{EXPERIMENTS_PACKAGE}.{name}')
  return module.get_config()


def build_model(config: Config, num_classes: int):
  """The model of ``config``'s row, at its sizes; loads ImageNet weights if given.

  Raises:
    FileNotFoundError: ``config.imagenet_weights`` names no file.
  """
  kwargs = dict(num_classes=num_classes, input_size=config.crop_size)
  if config.imagenet_weights:
    kwargs['imagenet_preprocessing'] = True
  kwargs.update(config.model_kwargs)
  model = model_table.MODELS[config.model].build(config.footprint, **kwargs)
  if config.imagenet_weights:
    path = os.path.expanduser(config.imagenet_weights)
    if not os.path.exists(path):
      raise FileNotFoundError(
          f'{config.name}: ImageNet weight file {path} does not exist; give '
          'the Keras ResNet50 notop .h5 file with --imagenet_weights=PATH')
    from kinetics_tf import models  # pylint: disable=g-import-not-at-top
    loaded = models.load_imagenet_weights(model, path)
    logging.info('ImageNet weights from %s: %d layers', path, len(loaded))
  return model


def run(config: Config, model_dir: str, **kwargs) -> runner.Result:
  """Trains ``config`` in ``model_dir`` in-process (resuming a checkpoint there).

  Keyword arguments go to ``runner.run``: strategy, examples_fn,
  mixed_precision, jit_compile.  Returns a ``runner.Result`` (final step, LR,
  train/validation metrics, checkpoint and final.keras paths).
  """
  return runner.run(config, model_dir, build_model, **kwargs)

