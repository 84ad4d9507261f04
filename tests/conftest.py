"""Shared test helpers and fixtures: one place for each.

* ``fixtures_dir`` / ``fixture_videos``: the real clips of ../shared/fixtures,
  when present.
* ``write_video``: the one writer of test clips (OpenCV or PyAV).
* ``tiny_data_dir`` / ``tiny_builder``: ``synthetic_actions/tiny``, built once
  per session (per pytest-xdist worker).
* ``eager_and_mapped``: a function run eagerly and inside ``tf.data.map``.

The plain functions are imported by the tests (``from conftest import
write_video``: pytest puts tests/ on sys.path); heavy libraries are imported
inside them so collecting the flow tests stays cheap.
"""

import os
import pathlib

import numpy as np
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

TINY = 'synthetic_actions/tiny'  # 16 classes, 32x32, 12 frames, 2/1/1 clips.



# With -I -S, Python reads no .pth file (the editable install's finder) and
# puts neither cwd nor the repository on sys.path; _HIDE adds the
# environment's site-packages (SITE_DIRS) back and checks the project stays
# out of reach.
_HIDE = '''
import importlib.util, os, sys
sys.path += os.environ['SITE_DIRS'].split(os.pathsep)
assert importlib.util.find_spec('kinetics_tf') is None, 'the project is importable'
assert importlib.util.find_spec('flow') is None, 'the project is importable'
'''


def hidden_python(code, *args, cwd, timeout=600):
  """Runs ``code`` in a Python that cannot import the project, as a user of
  a release or a dataset has it (only the installed packages)."""
  import site  # pylint: disable=g-import-not-at-top
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2',
             SITE_DIRS=os.pathsep.join(site.getsitepackages()))
  env.pop('PYTHONPATH', None)
  return subprocess.run([sys.executable, '-I', '-S', '-c', _HIDE + code,
                         *args], cwd=cwd, capture_output=True, text=True,
                        timeout=timeout, env=env)

def panning_texture(num_frames=16, size=(64, 48), seed=0):
  """uint8 RGB [T, H, W, 3]: a blurred random texture panning 2 px a frame.

  Args:
    num_frames: frames T.
    size: (width, height).
    seed: the texture's random seed.
  """
  import cv2  # pylint: disable=g-import-not-at-top
  width, height = size
  rng = np.random.default_rng(seed)
  base = cv2.GaussianBlur(
      (rng.random((height, width + 2 * num_frames, 3)) * 255).astype(np.uint8),
      (5, 5), 0)
  return np.stack([base[:, 2 * i:2 * i + width] for i in range(num_frames)])


def write_video(path, frames=16, size=(64, 48), fps=25, codec=None, seed=0):
  """Writes a test clip (creating its folder); returns its path.

  Args:
    path: the file to write; its suffix picks the container.
    frames: uint8 RGB frames [T, H, W, 3], or a frame count T for
      ``panning_texture(T, size, seed)``.
    size: (width, height) of the generated frames (ignored for an array).
    fps: frame rate.
    codec: a four-character code ('mp4v', 'MJPG') is written with OpenCV's
      VideoWriter; any other name ('libx264', 'mpeg4') is a PyAV encoder,
      written in yuv420p.  Default: 'MJPG' for .avi, 'mp4v' otherwise.
    seed: the generated texture's seed.

  Returns:
    ``path`` as a pathlib.Path.
  """
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  if isinstance(frames, (int, np.integer)):
    frames = panning_texture(frames, size, seed)
  frames = np.asarray(frames, np.uint8)
  height, width = frames.shape[1:3]
  if codec is None:
    codec = 'MJPG' if path.suffix.lower() == '.avi' else 'mp4v'
  if len(codec) == 4:
    import cv2  # pylint: disable=g-import-not-at-top
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps,
                             (width, height))
    assert writer.isOpened(), f'OpenCV cannot write {codec} to {path}'
    for frame in frames:
      writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
  else:
    import av  # pylint: disable=g-import-not-at-top
    with av.open(str(path), 'w') as container:
      stream = container.add_stream(codec, rate=fps)
      stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
      for frame in frames:
        container.mux(stream.encode(av.VideoFrame.from_ndarray(
            np.ascontiguousarray(frame), format='rgb24')))
      container.mux(stream.encode(None))
  assert path.stat().st_size > 0, path
  return path


def eager_and_mapped(fn, *args, signature=None):
  """Runs fn(*args) eagerly and inside tf.data.Dataset.map.

  Args:
    fn: the function under test.
    *args: its arguments (arrays or tensors).
    signature: optional tf.TensorSpec per argument (a tuple), for the mapped
      run, e.g. with dimensions None as when they are known only at run time;
      default: the arguments' own shapes.

  Returns:
    (eager, mapped): fn's two results, as numpy.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  eager = fn(*args)
  if signature is None:
    ds = tf.data.Dataset.from_tensors(tuple(args))
  else:
    ds = tf.data.Dataset.from_generator(lambda: [tuple(args)],
                                        output_signature=tuple(signature))
  mapped = next(iter(ds.map(lambda *a: fn(*a))))
  return tf.nest.map_structure(np.asarray, (eager, mapped))


@pytest.fixture(scope='session')
def fixtures_dir() -> pathlib.Path:
  """The folder named by KINETICS_TF_FIXTURES; skips the test without it."""
  path = os.environ.get('KINETICS_TF_FIXTURES')
  if not path:
    pytest.skip('KINETICS_TF_FIXTURES is not set: real-clip fixtures absent')
  path = pathlib.Path(path)
  if not (path / 'videos').is_dir():
    pytest.skip(f'KINETICS_TF_FIXTURES={path} has no videos/ folder')
  return path


@pytest.fixture(scope='session')
def fixture_videos(fixtures_dir) -> pathlib.Path:
  return fixtures_dir / 'videos'


@pytest.fixture(scope='session')
def tiny_data_dir(tmp_path_factory) -> str:
  """A TFDS data_dir holding synthetic_actions/tiny, built once per session.

  Tests only read it; one that needs to change a built set builds its own.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import kinetics_tf.datasets  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  data_dir = str(tmp_path_factory.mktemp('tiny_tfds'))
  tfds.builder(TINY, data_dir=data_dir).download_and_prepare()
  return data_dir


@pytest.fixture(scope='session')
def tiny_builder(tiny_data_dir):
  """The built synthetic_actions/tiny builder (of ``tiny_data_dir``)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return tfds.builder(TINY, data_dir=tiny_data_dir)


def pytest_configure(config):
  """Warnings: ours are errors, third-party ones we cannot fix are filtered.

  Each filter names the package that raises the warning.  Every run also
  lists its 15 slowest tests (CI has 30 minutes for everything).
  """
  if config.option.durations is None:
    config.option.durations = 15
  for line in (
      # numpy 2's copy keyword: our code and tests must not pass TF tensors
      # or Keras variables to np.array/np.asarray (use .numpy() or
      # keras.ops.convert_to_numpy).
      r"error:__array__ implementation doesn't accept a copy keyword"
      r":DeprecationWarning:(kinetics_tf|flow|test_|conftest)",
      # keras/src/backend/tensorflow/core.py (convert_to_numpy) calls
      # np.array on a TF EagerTensor, whose __array__ (TF 2.21) lacks copy=.
      r"ignore:__array__ implementation doesn't accept a copy keyword"
      r":DeprecationWarning:keras",
      # protobuf 6 deprecates FieldDescriptor.label, which tensorflow_datasets
      # (core/logging, reading its dataset_info proto) still calls.
      r"ignore:label\(\) is deprecated:DeprecationWarning:tensorflow_datasets",
      # matplotlib 3.9 (the lowest version tested) uses pyparsing 3.3's
      # deprecated camelCase names in _fontconfig_pattern and _mathtext.
      r"ignore::DeprecationWarning:matplotlib",
  ):
    config.addinivalue_line('filterwarnings', line)
