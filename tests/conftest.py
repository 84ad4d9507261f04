"""Shared test fixtures: the real clips of ../shared/fixtures, when present."""

import os
import pathlib

import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


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
