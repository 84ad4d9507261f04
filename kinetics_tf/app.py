"""How every kinetics-tf binary runs: absl flags, quiet logs, one-line errors.

A binary ends with

  if __name__ == '__main__':
    define_flags()
    app.run(main, 'evaluate')

and raises ``UserError`` (or lets a missing file, an unknown TFDS dataset or
a bad flag value through) for a mistake in the command.  That is printed as
one line, ``kinetics-tf evaluate: error: ...``, with exit code 2; the
traceback follows only with ``--verbose``.  Anything else is a bug and keeps
its traceback.  ``--help`` and ``--helpfull`` print the flags and exit 0.
"""

import difflib
import functools
import os
import re
import sys
import tempfile

from absl import app as absl_app
from absl import flags
from absl import logging

from flow import app as flow_app
from kinetics_tf.errors import UserError  # pylint: disable=unused-import

_HELP = ('-h', '--help', '--helpshort', '--helpfull', '-?')


# TF 2.21 writes these from C++ at import, before absl::InitializeLog, and
# ignores TF_CPP_MIN_LOG_LEVEL for them (tensorflow/tensorflow#100442).
TF_STARTUP_LINE = re.compile(r'^(WARNING: All log messages before absl::|'
                             r'[IW]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\])')


def import_tensorflow_quietly() -> None:
  """Imports TensorFlow holding back its C++ start-up lines (oneDNN, CPU
  features); every other line it writes to stderr is passed on, and an import
  error is raised as usual.  TF_CPP_MIN_LOG_LEVEL=0 keeps them all."""
  if 'tensorflow' in sys.modules or os.environ.get(
      'TF_CPP_MIN_LOG_LEVEL') == '0':
    return
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as held:
    os.dup2(held.fileno(), 2)
    try:
      import tensorflow  # pylint: disable=g-import-not-at-top,unused-import
    finally:
      os.dup2(saved, 2)
      os.close(saved)
      held.seek(0)
      for line in held.read().decode(errors='replace').splitlines(True):
        if not TF_STARTUP_LINE.match(line):
          sys.stderr.write(line)
      sys.stderr.flush()




def unknown(kind: str, name: str, choices) -> UserError:
  """'unknown <kind> NAME; did you mean ...?' with the closest choices."""
  choices = sorted(choices)
  close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
  if close:
    hint = f'did you mean {" or ".join(close)}?'
  elif len(choices) <= 40:
    hint = f'one of: {", ".join(choices)}'
  else:
    hint = f'{len(choices)} exist, e.g. {", ".join(choices[:6])}, ...'
  return UserError(f'unknown {kind} {name!r}; {hint}')


def check_dataset(spec: str) -> None:
  """Raises UserError unless 'name[:version][/config]' names a TFDS builder
  (ours included) and one of its configs; tfds itself answers a page of text
  and may look for community datasets on the network first."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  name, _, config = spec.partition('/')
  name = name.split(':')[0]
  if name not in _builder_names():
    raise _unknown_dataset(name)
  configs = [c.name for c in tfds.builder_cls(name).BUILDER_CONFIGS or ()]
  if config and configs and config not in configs:
    raise unknown(f'config of {name}', config, configs)


def _builder_names() -> list:
  """The TFDS builders known here (ours included), without the network."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import kinetics_tf.datasets  # pylint: disable=g-import-not-at-top,unused-import
  return tfds.list_builders(with_community_datasets=False)


def _unknown_dataset(spec: str) -> UserError:
  name = spec.split('/')[0].split(':')[0]
  return unknown('TFDS dataset', name, _builder_names())


def _dataset_not_found(error) -> UserError:
  """tfds' DatasetNotFoundError (a page of text) as one line."""
  words = str(error).split()
  return _unknown_dataset(words[1] if len(words) > 1 else str(error))


def _is_dataset_not_found(error) -> bool:
  return any(c.__name__ == 'DatasetNotFoundError' for c in type(error).__mro__)


def user_message(error: BaseException):
  """The one line for a user's mistake, or None if ``error`` is a bug.

  ``flow.app.user_message`` (UserError, a bad flag, a missing file), plus
  absl's UsageError and TFDS's unknown datasets.
  """
  message = flow_app.user_message(error)
  if message is not None:
    return message
  if isinstance(error, absl_app.UsageError):
    return str(error)
  if _is_dataset_not_found(error):
    return str(_dataset_not_found(error))
  return None


def fail(prog: str, message: str) -> None:
  print(f'{prog}: error: {message.splitlines()[0] if message else message}',
        file=sys.stderr)
  sys.exit(2)


def _parse_flags(prog: str, argv):
  try:
    return flags.FLAGS(argv)
  except SystemExit as done:
    # absl's help flags print and exit 1; help asked for is a success.
    if any(a.split('=')[0] in _HELP for a in argv[1:]):
      sys.exit(0)
    raise done
  except flags.Error as e:
    fail(prog, f'{e} (see --helpfull)')


def _run_main(main, prog: str, argv):
  # absl logs at INFO under app.run (tfds' loading chatter); --verbosity=0
  # brings it back.
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  try:
    return main(argv)
  except Exception as e:  # pylint: disable=broad-except
    message = user_message(e)
    if message is None or flags.FLAGS.verbose:
      raise
    fail(prog, message)


def run(main, name: str) -> None:
  """absl's app.run for the binary ``kinetics-tf NAME`` (see the module doc)."""
  # TF's C++ start-up lines (oneDNN, CPU features, XLA) unless asked for;
  # effective for TF imported after this, as under `kinetics-tf NAME`.
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  if 'verbose' not in flags.FLAGS:
    flags.DEFINE_bool('verbose', False,
                      'On a mistake in the command, print the traceback too.')
  prog = f'kinetics-tf {name}'
  absl_app.run(functools.partial(_run_main, main, prog),
               flags_parser=functools.partial(_parse_flags, prog))
