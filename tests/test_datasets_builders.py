"""Tests of the file-based builders: kinetics400, ucf101_local, hmdb51_local, video_folder.

Each builds a tiny fake manual_dir (fixture clips where the test needs real
ones, clips generated here otherwise) with a small short side and cheap TV-L1
settings, then checks the examples, the report and the summary.
"""

import json
import os
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from conftest import write_video
import flow
from flow import decoding as video_lib
from kinetics_tf.datasets import features as features_lib
from kinetics_tf.datasets import generate
from kinetics_tf.datasets import kinetics400
from kinetics_tf.datasets import synthetic
from kinetics_tf.datasets import ucf_hmdb
from kinetics_tf.datasets import video_folder

SIDE = 32
CHEAP = synthetic.SYNTHETIC_TVL1


def corrupt_copy(src, dst):
  """The first half of an MP4 (its index, the moov atom, is at the end): a
  truncated download no decoder can open."""
  data = pathlib.Path(src).read_bytes()
  pathlib.Path(dst).parent.mkdir(parents=True, exist_ok=True)
  pathlib.Path(dst).write_bytes(data[:len(data) // 2])


def build(builder_cls, config, data_dir, manual_dir=None, beam=False):
  dl = tfds.download.DownloadConfig(manual_dir=manual_dir and str(manual_dir))
  if beam:
    import apache_beam  # pylint: disable=g-import-not-at-top
    dl.beam_runner = apache_beam.runners.DirectRunner()
  builder = builder_cls(config=config, data_dir=str(data_dir))
  builder.download_and_prepare(download_config=dl)
  return builder


def examples(builder, split):
  """youtube_id -> example, read with plain TFDS; flow as uint8 [T-1,H,W,2]."""
  out = {}
  for ex in tfds.as_numpy(builder.as_dataset(split=split)):
    if 'flow' in ex:
      ex['flow'] = features_lib.flow_array(ex['flow'])
    out[ex['youtube_id'].decode()] = ex
  return out


def report(builder):
  return {(r['split'], r['clip_id']): r
          for r in generate.read_report(builder.data_path)}


def expected_flow(frames):
  """The flow the builders store by default (flow backend 'auto')."""
  return flow.quantize(flow.tvl1(video_lib.to_gray(frames), 'auto',
                                 **dict(CHEAP)))


# ----------------------------------------------------------------- kinetics400

K400_TRAIN = """label,youtube_id,time_start,time_end,split,is_cc
arm wrestling,armwrestl01,1,2,train,0
air drumming,shortclip01,3,4,train,0
abseiling,generated01,10,20,train,0
abseiling,corrupted01,0,10,train,0
abseiling,notonDisk01,0,10,train,0
not a class,badlabel001,0,10,train,0
"""


def k400_manual_dir(root, fixture_videos=None):
  """Train: 3 good clips (2 real when fixtures are given), a corrupt file, a
  row without file, a bad row; validation: 1; test (no labels): 1."""
  gen = write_video(root / 'train' / 'abseiling' /
                    'generated01_000010_000020.mp4')
  if fixture_videos is not None:
    # A full video cut by time, and a short trimmed clip in a flat folder.
    (root / 'train' / 'arm wrestling').mkdir()
    shutil.copy(fixture_videos / 'k400_arm_wrestling_340x256_28fps.mp4',
                root / 'train' / 'arm wrestling' / 'armwrestl01.mp4')
    shutil.copy(fixture_videos / 'short_32frames_30fps.mp4',
                root / 'train' / 'shortclip01_000003_000004.mp4')
  else:
    write_video(root / 'train' / 'armwrestl01.mp4', frames=60, seed=1)
    write_video(root / 'train' / 'shortclip01_000003_000004.mp4', seed=2)
  corrupt_copy(gen, root / 'train' / 'corrupted01_000000_000010.mp4')
  write_video(root / 'val' / 'validclip01_000001_000002.mp4', seed=3)
  write_video(root / 'test' / 'testclip001_000005_000006.mp4', seed=4)
  (root / 'annotations').mkdir()
  (root / 'annotations' / 'kinetics_400_train.csv').write_text(K400_TRAIN)
  (root / 'annotations' / 'validate.csv').write_text(
      'label,youtube_id,time_start,time_end,split\n'
      'abseiling,validclip01,1,2,val\n')
  (root / 'annotations' / 'test.csv').write_text(
      'youtube_id,time_start,time_end,split\ntestclip001,5,6,test\n')
  return root


def k400_config(name='t32'):
  return kinetics400.Kinetics400Config(name=name, short_side=SIDE,
                                       with_flow=True, tvl1_params=CHEAP)


def check_k400_report(builder):
  rows = report(builder)
  assert rows[('train', 'corrupted01_000000_000010')]['status'] == 'corrupt'
  assert rows[('train', 'notonDisk01_000000_000010')]['status'] == 'missing'
  assert rows[('train', 'kinetics_400_train.csv:7')]['status'] == 'bad_row'
  assert 'not a class' in rows[('train', 'kinetics_400_train.csv:7')]['reason']
  assert len(rows) == 3
  summary = json.loads((builder.data_path / generate.SUMMARY).read_text())
  assert summary['train'] == {'built': 3, 'missing': 1, 'corrupt': 1,
                              'too_short': 0, 'failed': 0, 'bad_row': 1}
  assert summary['validation']['built'] == summary['test']['built'] == 1


def test_kinetics400_on_fixture_clips(tmp_path, fixture_videos):
  manual = k400_manual_dir(tmp_path / 'manual', fixture_videos)
  builder = build(kinetics400.Kinetics400, k400_config(), tmp_path / 'tfds',
                  manual)
  check_k400_report(builder)
  labels = builder.info.features['label']
  assert labels.num_classes == 400 and labels.names[0] == 'abseiling'
  train = examples(builder, 'train')
  assert sorted(train) == ['armwrestl01', 'generated01', 'shortclip01']
  arm = train['armwrestl01']
  # Full video cut at [1 s, 2 s): 25 frames at 25 fps; 340x256 -> 43x32.
  frames = video_lib.decode(manual / 'train' / 'arm wrestling' /
                            'armwrestl01.mp4', 1, 2, short_side=SIDE)
  assert arm['video'].shape == frames.shape == (25, 32, 43, 3)
  assert arm['num_frames'] == 25 and arm['source_fps'] == 28
  assert (arm['time_start'], arm['time_end']) == (1, 2)
  assert labels.int2str(arm['label']) == 'arm wrestling'
  np.testing.assert_array_equal(arm['flow'], expected_flow(frames))
  # JPEG (q95, 4:2:0 chroma) on 32-pixel frames: a few levels off.
  assert np.abs(arm['video'].astype(int) - frames).mean() < 8
  short = train['shortclip01']
  assert labels.int2str(short['label']) == 'air drumming'
  assert short['num_frames'] == len(video_lib.decode(
      manual / 'train' / 'shortclip01_000003_000004.mp4', short_side=SIDE))
  assert short['flow'].shape[0] == short['num_frames'] - 1
  test = examples(builder, 'test')
  assert test['testclip001']['label'] == -1  # unlabelled test CSV


def test_kinetics400_through_beam(tmp_path):
  """The Beam path (DirectRunner) gives the same examples and report."""
  manual = k400_manual_dir(tmp_path / 'manual')
  local = build(kinetics400.Kinetics400, k400_config(), tmp_path / 'local',
                manual)
  beam = build(kinetics400.Kinetics400, k400_config(), tmp_path / 'beam',
               manual, beam=True)
  check_k400_report(beam)
  assert report(beam) == report(local)
  for split in ('train', 'validation', 'test'):
    a, b = examples(local, split), examples(beam, split)
    assert sorted(a) == sorted(b)
    for key in a:
      np.testing.assert_array_equal(a[key]['flow'], b[key]['flow'])
      assert a[key]['label'] == b[key]['label']


def test_kinetics400_trial_keeps_a_few_clips_per_class(tmp_path):
  manual = tmp_path / 'manual'
  rows = ['label,youtube_id,time_start,time_end,split']
  for i in range(5):
    rows.append(f'abseiling,abseil{i:05d},0,1,train')
    if i != 1:
      write_video(manual / f'abseil{i:05d}_000000_000001.mp4', frames=4)
  (manual / 'train.csv').write_text('\n'.join(rows) + '\n')
  config = kinetics400.Kinetics400Config(
      name='trial_t', short_side=SIDE, clips_per_class=(3, 1, 1))
  builder = build(kinetics400.Kinetics400, config, tmp_path / 'tfds', manual)
  # The first three found, in CSV order; the missing one is not needed.
  assert sorted(examples(builder, 'train')) == ['abseil00000', 'abseil00002',
                                                'abseil00003']
  assert 'flow' not in builder.info.features
  assert report(builder) == {}


def test_kinetics400_needs_the_csvs(tmp_path):
  (tmp_path / 'manual').mkdir()
  with pytest.raises(FileNotFoundError, match='annotation CSV'):
    kinetics400.find_csvs(tmp_path / 'manual')
  for name in ('train.csv', 'kinetics_train.csv'):
    (tmp_path / 'manual' / name).write_text('x')
  with pytest.raises(ValueError, match='several annotation CSVs'):
    kinetics400.find_csvs(tmp_path / 'manual')


# ------------------------------------------------------------ UCF-101, HMDB-51

def test_ucf101_local_split1(tmp_path):
  manual = tmp_path / 'manual'
  names = ucf_hmdb.ucf101_class_names()
  lists = manual / 'ucfTrainTestlist'
  lists.mkdir(parents=True)
  (lists / 'classInd.txt').write_text(
      ''.join(f'{i + 1} {n}\n' for i, n in enumerate(names)))
  (lists / 'trainlist01.txt').write_text(
      'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n'
      'Archery/v_Archery_g08_c01.avi 3\n')
  (lists / 'testlist01.txt').write_text(
      'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\n'
      'Archery/v_Archery_g01_c01.avi\n')
  videos = manual / 'UCF-101'
  write_video(videos / 'ApplyEyeMakeup' / 'v_ApplyEyeMakeup_g08_c01.avi')
  write_video(videos / 'Archery' / 'v_Archery_g08_c01.avi', seed=1)
  write_video(videos / 'ApplyEyeMakeup' / 'v_ApplyEyeMakeup_g01_c01.avi',
              seed=2)
  config = ucf_hmdb.LocalSplitConfig(name='t', short_side=SIDE,
                                     tvl1_params=CHEAP)
  builder = build(ucf_hmdb.Ucf101Local, config, tmp_path / 'tfds', manual)
  assert builder.name == 'ucf101_local'
  labels = builder.info.features['label']
  assert labels.num_classes == 101
  train = examples(builder, 'train')
  assert labels.int2str(train['v_Archery_g08_c01']['label']) == 'Archery'
  ex = train['v_ApplyEyeMakeup_g08_c01']
  assert ex['video'].shape == (16, 32, 43, 3) and ex['flow'].shape == (
      15, 32, 43, 2)
  assert ex['time_end'] == pytest.approx(16 / 25)
  assert list(examples(builder, 'test')) == ['v_ApplyEyeMakeup_g01_c01']
  assert report(builder)[('test', 'Archery/v_Archery_g01_c01.avi')][
      'status'] == 'missing'


def test_hmdb51_local_split2(tmp_path):
  manual = tmp_path / 'manual'
  splits = manual / 'testTrainMulti_7030_splits'
  splits.mkdir(parents=True)
  for name in ucf_hmdb.HMDB51_CLASSES:
    (splits / f'{name}_test_split2.txt').write_text('')
  (splits / 'wave_test_split2.txt').write_text(
      'wave_a.avi 1\nwave_b.avi 2\nwave_c.avi 0\n')
  for stem in ('wave_a', 'wave_b', 'wave_c'):
    write_video(manual / 'hmdb51_org' / 'wave' / f'{stem}.avi', frames=8)
  config = ucf_hmdb.LocalSplitConfig(name='t', split=2, short_side=SIDE,
                                     with_flow=False)
  builder = build(ucf_hmdb.Hmdb51Local, config, tmp_path / 'tfds', manual)
  labels = builder.info.features['label']
  assert labels.num_classes == 51
  assert list(examples(builder, 'train')) == ['wave_a']
  test = examples(builder, 'test')
  assert list(test) == ['wave_b']  # code 0 (wave_c) is left out
  assert labels.int2str(test['wave_b']['label']) == 'wave'
  assert test['wave_b']['video'].shape == (8, 32, 43, 3)


# ---------------------------------------------------------------- video_folder

def test_assign_splits_spreads_the_fractions():
  assert video_folder.assign_splits(10, (0.7, 0.1, 0.2)).count(0) == 7
  assert video_folder.assign_splits(10, (0.7, 0.1, 0.2)).count(2) == 2
  assert video_folder.assign_splits(3, (0.7, 0.1, 0.2)) == [0, 0, 2]
  assert video_folder.assign_splits(4, (0.7, 0.1, 0.2)) == [0, 0, 2, 0]


def test_video_folder_builds_a_folder_of_classes(tmp_path):
  root = tmp_path / 'my videos'
  for label in ('waving', 'clapping'):
    for i in range(3):
      write_video(root / label / f'{label}{i}.mp4', frames=6, seed=i)
  (root / 'notes.txt').write_text('not a class')
  corrupt_copy(root / 'waving' / 'waving0.mp4', root / 'waving' / 'zbad.mp4')
  config = video_folder.video_folder_config(root, short_side=SIDE,
                                            tvl1_params=CHEAP)
  assert config.class_names == ('clapping', 'waving')
  assert config.name == 'my_videos'
  builder = build(video_folder.VideoFolder, config, tmp_path / 'tfds')
  splits = {n: s.num_examples for n, s in builder.info.splits.items()}
  # Sorted files spread over (train, validation, test) = (0.7, 0.1, 0.2):
  # clapping [train, train, test]; waving the same + zbad.mp4 in train.
  assert splits == {'train': 4, 'test': 2}
  rows = report(builder)
  assert rows[('train', os.path.join('waving', 'zbad.mp4'))][
      'status'] == 'corrupt'
  assert len(rows) == 1
  ex = examples(builder, 'train')['waving0']
  assert builder.info.features['label'].int2str(ex['label']) == 'waving'
  assert ex['video'].shape == (6, 32, 43, 3)
  assert ex['flow'].shape == (5, 32, 43, 2)


def test_video_folder_needs_its_config(tmp_path):
  with pytest.raises(ValueError, match='video_folder_config'):
    video_folder.VideoFolder(data_dir=str(tmp_path))
  (tmp_path / 'empty').mkdir()
  with pytest.raises(ValueError, match='no class sub-folders'):
    video_folder.video_folder_config(tmp_path / 'empty')
