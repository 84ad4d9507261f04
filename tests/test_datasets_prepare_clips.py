"""Tests of kinetics_tf/datasets/prepare_clips.py and of builds from prepared clips.

The preparation stage computes each clip's TV-L1 once; builds of configs
with the same side (records or whole clips, frames and flow or flow only)
only read the prepared files.  Tiny generated Kinetics copies (64x48 clips,
side 32, OpenCV's TV-L1).
"""

import importlib
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds


from kinetics_tf.datasets import builder as builder_lib
from kinetics_tf.datasets import features as features_lib
from kinetics_tf.datasets import kinetics400
from kinetics_tf.datasets import prepare_clips
from test_datasets_builders import k400_manual_dir, SIDE

# The module (the package's name 'flow.tvl1' is its function).
tvl1_module = importlib.import_module('flow.tvl1')

BUILT = 5  # Clips of k400_manual_dir that decode: 3 train, 1 + 1.


def two_configs():
  """A two_stream340-like and a flow340-like config at side 32."""
  common = dict(short_side=SIDE, with_flow=True, train_record_stride=20,
                train_record_overlap=10,
                flow_format=features_lib.FLOW_ZLIB)
  return (kinetics400.Kinetics400Config(name='ts32', **common),
          kinetics400.Kinetics400Config(name='fl32', with_video=False,
                                        **common))


def build(config, data_dir, manual_dir, flow_backend='opencv'):
  builder = kinetics400.Kinetics400(config=config, data_dir=str(data_dir),
                                    flow_backend=flow_backend)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(manual_dir)))
  return builder


@pytest.fixture
def tvl1_calls(monkeypatch):
  """Counts the TV-L1 computations (one per clip: one chunked pass)."""
  calls = []
  real = tvl1_module.quantised_chunks

  def counted(*args, **kwargs):
    calls.append(1)
    return real(*args, **kwargs)

  monkeypatch.setattr(tvl1_module, 'quantised_chunks', counted)
  return calls


def files(folder):
  return {p.relative_to(folder): (p.stat().st_mtime_ns, p.read_bytes())
          for p in pathlib.Path(folder).rglob('*') if p.is_file()}


def flows(builder, split='train'):
  out = {}
  for ex in tfds.as_numpy(builder.as_dataset(split=split)):
    key = (ex['youtube_id'], int(ex['first_frame']))
    out[key] = features_lib.flow_array(ex['flow'])
  return out


def test_prepare_binary_then_two_configs_compute_no_tvl1(tmp_path,
                                                         tvl1_calls):
  manual = k400_manual_dir(tmp_path / 'manual')
  data_dir = tmp_path / 'tfds'
  done = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.cli', 'prepare',
       f'--manual_dir={manual}', f'--data_dir={data_dir}',
       f'--short_side={SIDE}', '--flow', '--workers=2',
       '--flow_backend=opencv', '--no_progress'],
      capture_output=True, text=True, timeout=300, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  assert (f'{BUILT + 2} clips: {BUILT} prepared ({BUILT} with TV-L1'
          in done.stdout), done.stdout
  assert '1 missing, 1 corrupt' in done.stdout
  root = builder_lib.default_prepared_dir(data_dir, 'kinetics400')
  (folder,) = pathlib.Path(root).iterdir()
  before = files(folder)
  assert len([p for p in before if p.suffix == '.npz']) == BUILT
  both, flow_only = (build(c, data_dir, manual) for c in two_configs())
  assert tvl1_calls == []  # The builds read the prepared flow.
  assert files(folder) == before  # Used unchanged by both configs.
  assert both.info.splits['train'].num_examples > 0
  a, b = flows(both), flows(flow_only)
  assert a.keys() == b.keys()
  for key in a:
    np.testing.assert_array_equal(a[key], b[key])


def test_prepare_on_a_device_then_a_build_computes_no_tvl1(tmp_path,
                                                           tvl1_calls):
  """kinetics-tf prepare --devices (a CPU stand-in here) writes the prepared
  clips a build of the TF backend reads: every pair solved on the device,
  in batches of pairs of several clips, none in the build."""
  manual = k400_manual_dir(tmp_path / 'manual')
  data_dir = tmp_path / 'tfds'
  done = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.cli', 'prepare',
       f'--manual_dir={manual}', f'--data_dir={data_dir}',
       f'--short_side={SIDE}', '--flow', '--workers=2', '--flow_backend=tf',
       '--devices=CPU:0', '--flow_batch=16', '--no_progress'],
      capture_output=True, text=True, timeout=300, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  assert (f'{BUILT + 2} clips: {BUILT} prepared ({BUILT} with TV-L1'
          in done.stdout), done.stdout
  assert '1 missing, 1 corrupt' in done.stdout
  assert 'device CPU:0 (pid ' in done.stdout
  builder = build(two_configs()[1], data_dir, manual, flow_backend='tf')
  assert tvl1_calls == []
  assert builder.info.splits['train'].num_examples > 0


def test_builds_alone_prepare_on_demand_once(tmp_path, tvl1_calls):
  manual = k400_manual_dir(tmp_path / 'manual')
  first, second = two_configs()
  build(first, tmp_path / 'tfds', manual)
  assert len(tvl1_calls) == BUILT
  build(second, tmp_path / 'tfds', manual)
  assert len(tvl1_calls) == BUILT  # Once per clip over both builds.
  folder, counts = prepare_clips.prepare_kinetics(
      'kinetics400', manual, SIDE, True, data_dir=str(tmp_path / 'tfds'),
      flow_backend='opencv', progress=False)
  assert counts['reused'] == BUILT and counts['tvl1'] == 0
  assert len(tvl1_calls) == BUILT
  assert os.path.dirname(folder) == builder_lib.default_prepared_dir(
      tmp_path / 'tfds', 'kinetics400')


def test_stale_incomplete_folders_are_removed_and_said(tmp_path, capsys):
  manual = k400_manual_dir(tmp_path / 'manual')
  config = kinetics400.Kinetics400Config(name='rgb32', short_side=SIDE)
  stale = (tmp_path / 'tfds' / 'kinetics400' / 'rgb32' /
           f'incomplete.AB12CD_{kinetics400.Kinetics400.VERSION}')
  stale.mkdir(parents=True)
  (stale / 'kinetics400-train.tfrecord-00000-of-00001').write_bytes(b'x')
  build(config, tmp_path / 'tfds', manual)
  assert not stale.exists()
  assert 'removed 1 incomplete folder(s) of earlier killed builds' in (
      capsys.readouterr().out)


def test_an_unknown_dataset_is_refused(tmp_path):
  with pytest.raises(ValueError, match='kinetics500'):
    prepare_clips.prepare_kinetics('kinetics500', tmp_path, SIDE, False,
                                   data_dir=str(tmp_path))


def test_a_build_reads_and_writes_prepared_clips_on_ram_fs(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  manual = k400_manual_dir(tmp_path / 'manual')
  config = kinetics400.Kinetics400Config(name='ram32', short_side=SIDE,
                                         with_flow=True)
  builder = kinetics400.Kinetics400(config=config, data_dir=str(tmp_path),
                                    flow_backend='opencv',
                                    prepared_dir='ram://k400prep')
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(manual)))
  assert builder.info.splits['train'].num_examples == 3
  (folder,) = tf.io.gfile.listdir('ram://k400prep')
  train = tf.io.gfile.listdir(f'ram://k400prep/{folder}/train')
  assert sum(n.endswith('.rgb_flow.npz') for n in train) == 3
  assert sum(n.endswith('.skip.json') for n in train) == 1  # The corrupt.
