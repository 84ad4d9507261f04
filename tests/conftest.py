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
