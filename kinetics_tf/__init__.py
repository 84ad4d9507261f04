"""kinetics-tf: the Kinetics paper (Kay et al. 2017) in TensorFlow/Keras.

``import kinetics_tf`` makes the library's TFDS builders (kinetics400,
ucf101_local, hmdb51_local, synthetic_actions, video_folder) known to
``tfds.load`` / ``tfds.builder``.  Registration waits until
``tensorflow_datasets`` is imported (now, if it already is), so that
``import kinetics_tf.data`` and the other modules that do not need TFDS stay
cheap: importing TFDS and the builders costs about a second.

TensorFlow comes from an extra (setup.py): ``kinetics-tf[cpu]`` or
``kinetics-tf[gpu]``.  Without it the import fails at once with an
ImportError that says which to install; the ``flow`` package (OpenCV's
TV-L1) still imports.
"""

import importlib
import importlib.abc
import importlib.util
import logging
import sys

__version__ = '0.1.0'

_TFDS = 'tensorflow_datasets'
_BUILDERS = 'kinetics_tf.datasets'

INSTALL_TENSORFLOW = (
    "kinetics_tf needs TensorFlow, which is not installed: pip install "
    "'kinetics-tf[cpu]' (CPU) or 'kinetics-tf[gpu]' (Linux, NVIDIA GPUs); "
    "in a checkout, pip install -e '.[cpu]'")



class TensorFlowMissing(ImportError):
  """TensorFlow is not installed (the base install has none)."""


def _one_line_if_uncaught(hook):
  """sys.excepthook that prints a TensorFlowMissing nobody caught (e.g. in
  the `kinetics-tf` command, which imports this package first) as one
  line, and anything else as ``hook`` does."""

  def excepthook(kind, value, traceback):
    if issubclass(kind, TensorFlowMissing):
      print(f'kinetics-tf: error: {value}', file=sys.stderr)
      return
    hook(kind, value, traceback)

  return excepthook


if importlib.util.find_spec('tensorflow') is None:
  sys.excepthook = _one_line_if_uncaught(sys.excepthook)
  raise TensorFlowMissing(INSTALL_TENSORFLOW, name='tensorflow')


def _register_builders():
  try:
    importlib.import_module(_BUILDERS)
  except Exception as e:  # pylint: disable=broad-except
    # Never break the user's `import tensorflow_datasets`; say what failed.
    logging.warning('kinetics_tf: TFDS builders not registered: %s: %s',
                    type(e).__name__, e)


class _RegisterAfterTfds(importlib.abc.MetaPathFinder):
  """Imports kinetics_tf.datasets right after tensorflow_datasets is."""

  def find_spec(self, fullname, path, target=None):
    if fullname != _TFDS:
      return None
    sys.meta_path.remove(self)  # fire once; let the real finders find it
    spec = importlib.util.find_spec(fullname)
    if spec is None or spec.loader is None:
      return spec
    exec_module = spec.loader.exec_module

    def exec_then_register(module):
      exec_module(module)
      _register_builders()

    spec.loader.exec_module = exec_then_register
    return spec


if _TFDS in sys.modules:
  _register_builders()
elif not any(isinstance(f, _RegisterAfterTfds) for f in sys.meta_path):
  sys.meta_path.insert(0, _RegisterAfterTfds())
