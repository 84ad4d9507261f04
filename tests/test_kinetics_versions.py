"""Kinetics-600 and Kinetics-700-2020: builders on tiny annotation files, experiments, the cross-version warning.

Their class lists are tested in test_classes.py.
"""

import json

import pytest
import tensorflow_datasets as tfds

from conftest import write_video
from kinetics_tf import evaluate
from kinetics_tf import train
from kinetics_tf.data import classes
from kinetics_tf.datasets import generate
from kinetics_tf.datasets import kinetics400 as kinetics

HEADER = 'label,youtube_id,time_start,time_end,split\n'


def only_in(version, *others):
  """The first class of ``version`` that none of ``others`` has."""
  taken = {n for o in others for n in classes.class_names(o)}
  return next(n for n in classes.class_names(version) if n not in taken)


def build_version(builder_cls, version, tmp_path):
  """A tiny manual_dir of ``version``: a class only it has, a Kinetics-400
  spelling it renamed (a bad row), a missing clip, an unlabelled test CSV
  and (ignored) a held-out test CSV; built at shorter side 32, no flow."""
  own = only_in(version, 'kinetics400') if version == 'kinetics600' else \
      only_in(version, 'kinetics400', 'kinetics600')
  manual = tmp_path / 'manual'
  write_video(manual / 'train' / own / 'ownclass001_000000_000010.mp4', 6)
  write_video(manual / 'train' / 'abseiling' / 'abseiling01_000000_000010.mp4',
              6, seed=1)
  write_video(manual / 'val' / 'valclip0001_000001_000011.mp4', 6, seed=2)
  write_video(manual / 'test' / 'testclip001_000002_000012.mp4', 6, seed=3)
  ann = manual / 'annotations'
  ann.mkdir()
  # 'dying hair' is Kinetics-400's spelling; the later versions say 'dyeing'.
  (ann / 'train.csv').write_text(
      HEADER + f'{own},ownclass001,0,10,train\n'
      'abseiling,abseiling01,0,10,train\n'
      'abseiling,notondisk01,0,10,train\n'
      'dying hair,renamed0001,0,10,train\n')
  (ann / 'validate.csv').write_text(HEADER + 'zumba,valclip0001,1,11,val\n')
  (ann / 'test.csv').write_text('youtube_id,time_start,time_end,split\n'
                                'testclip001,2,12,test\n')
  (ann / f'{version}_holdout_test.csv').write_text(
      'youtube_id,time_start,time_end,split\nholdout0001,0,10,test\n')
  config = kinetics.KineticsConfig(name='t32', short_side=32)
  builder = builder_cls(config=config, data_dir=str(tmp_path / 'tfds'))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(manual)))
  return builder, own


@pytest.mark.parametrize('builder_cls', [kinetics.Kinetics600,
                                         kinetics.Kinetics700_2020])
def test_later_versions_build_from_their_own_csvs(tmp_path, builder_cls):
  version = builder_cls.KINETICS.name
  builder, own = build_version(builder_cls, version, tmp_path)
  assert builder.name == version
  assert [c.name for c in builder_cls.BUILDER_CONFIGS] == [
      c.name for c in kinetics.Kinetics400.BUILDER_CONFIGS]
  labels = builder.info.features['label']
  assert tuple(labels.names) == classes.class_names(version)
  train_ex = {ex['youtube_id'].decode(): ex for ex in
              tfds.as_numpy(builder.as_dataset(split='train'))}
  assert sorted(train_ex) == ['abseiling01', 'ownclass001']
  assert labels.int2str(train_ex['ownclass001']['label']) == own
  assert train_ex['ownclass001']['video'].shape[1] == 32
  rows = {(r['split'], r['clip_id']): r
          for r in generate.read_report(builder.data_path)}
  assert rows[('train', 'notondisk01_000000_000010')]['status'] == 'missing'
  bad = rows[('train', 'train.csv:5')]
  assert bad['status'] == 'bad_row' and 'dying hair' in bad['reason']
  summary = json.loads((builder.data_path / generate.SUMMARY).read_text())
  assert summary['validation']['built'] == summary['test']['built'] == 1
  # The held-out test CSV was no second 'test' CSV.
  assert builder.info.splits['test'].num_examples == 1


def test_kinetics400_rejects_a_later_versions_class(tmp_path):
  manual = tmp_path / 'manual'
  own = only_in('kinetics600', 'kinetics400')
  write_video(manual / 'newclass001_000000_000010.mp4', 6)
  write_video(manual / 'abseiling01_000000_000010.mp4', 6, seed=1)
  (manual / 'train.csv').write_text(
      HEADER + f'{own},newclass001,0,10,train\n'
      'abseiling,abseiling01,0,10,train\n')
  jobs, bad = kinetics.csv_jobs(manual / 'train.csv', 'train', manual)
  assert [j.youtube_id for j in jobs] == ['abseiling01']
  assert len(bad) == 1 and own in bad[0].reason


def test_experiments_of_the_later_versions_fit_their_datasets():
  names = train.experiment_names()
  for version in ('kinetics600', 'kinetics700_2020'):
    for model in ('two_stream_rgb', 'two_stream_flow', 'c3d'):
      config = train.load_experiment(f'{version}_{model}')
      assert config.dataset.split('/')[0] == version
      assert config.num_classes == len(classes.class_names(version))
      assert config.imagenet_weights is None  # from scratch, as §4.4
    assert f'{version}_c3d' in names


def test_cross_version_evaluation_is_warned(tmp_path, capsys):
  warning = evaluate.version_warning('kinetics700_2020/rgb340',
                                     'kinetics400/rgb340', 'validation')
  assert 'trained on kinetics700_2020' in warning
  assert "Kinetics-400's validation set" in warning
  assert 'not a held-out result' in warning
  assert evaluate.version_warning('kinetics400/rgb128', 'kinetics400/rgb340',
                                  'validation') is None
  assert evaluate.version_warning(None, 'kinetics400/rgb340', 'test') is None
  assert evaluate.version_warning('synthetic_actions/tiny',
                                  'kinetics600/rgb340', 'test') is None
  # run() reads the training config beside the model and warns first.
  run_dir = tmp_path / 'run'
  run_dir.mkdir()
  (run_dir / 'config.json').write_text(json.dumps(
      {'dataset': 'kinetics700_2020/rgb340'}))
  assert evaluate.trained_on(str(run_dir / 'final.keras')) == \
      'kinetics700_2020/rgb340'
  with pytest.raises(FileNotFoundError):
    evaluate.run(str(run_dir), 'kinetics400/rgb340', 'validation')
  assert 'warning: the model was trained on kinetics700_2020' in \
      capsys.readouterr().err
  # Appendix B groups are Kinetics-400's classes only.
  assert evaluate.default_groups('kinetics600/rgb340') is None
  assert evaluate.default_groups('kinetics400/rgb340')
