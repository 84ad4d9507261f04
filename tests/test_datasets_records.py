"""Training clips stored as several records (StorageConfig.train_record_stride).

Builds the synthetic set from the same seeds once with one record per clip,
once with the train split in overlapping records of 4 starts for a 10-field
flow stack (overlap 10), once in records of one frame (RGB only) and once as
flow-only zlib records, and checks that the records hold exactly the clip's
frames and fields where ``kinetics_tf.data.records`` cuts them, that the
other splits keep whole clips, that the build summary still counts clips,
and that a training sample reads one record and decodes only its footprint.
The distribution the training input draws from them is tested in
test_input_record_sampling.py.
"""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from kinetics_tf.datasets import builder as builder_lib
from kinetics_tf.datasets import features as features_lib
from kinetics_tf.datasets import generate
from kinetics_tf.datasets import synthetic
from kinetics_tf.input import ops
from kinetics_tf.input import train_pipeline

SIZE, FRAMES = 32, 24
# 14 starts of an 11-frame footprint in 4 records: frames [0, 13), [3, 17),
# [7, 20) and [10, 24), and the fields between them.
STRIDE, OVERLAP = 4, 10
BOUNDS = [(0, 13), (3, 17), (7, 20), (10, 24)]
NUM_CLASSES = len(synthetic.CLASS_NAMES)


def _build(data_dir, name, beam=False, **kwargs):
  base = synthetic.SyntheticActions.BUILDER_CONFIGS[1]  # 'tiny'
  config = dataclasses.replace(base, name=name, size=SIZE, num_frames=FRAMES,
                               clips_per_class=(1, 1, 0), **kwargs)
  builder = synthetic.SyntheticActions(config=config, data_dir=data_dir)
  download_config = tfds.download.DownloadConfig()
  if beam:
    import apache_beam  # pylint: disable=g-import-not-at-top
    download_config.beam_runner = apache_beam.runners.DirectRunner()
  builder.download_and_prepare(download_config=download_config)
  return builder


@pytest.fixture(scope='module')
def sets(tmp_path_factory):
  data_dir = str(tmp_path_factory.mktemp('records'))
  return {
      'whole': _build(data_dir, 'whole'),
      'fields': _build(data_dir, 'fields', train_record_stride=STRIDE,
                       train_record_overlap=OVERLAP),
      'frames1': _build(data_dir, 'frames1', with_flow=False,
                        train_record_stride=1),
      'zlib': _build(data_dir, 'zlib', with_video=False, flow_format='zlib',
                     train_record_stride=STRIDE,
                     train_record_overlap=OVERLAP),
  }


def _plain(builder, split):
  """Every example of a split, decoded by plain TFDS (no package code)."""
  return list(tfds.as_numpy(builder.as_dataset(split=split,
                                               shuffle_files=False)))


def test_records_hold_exactly_the_clips_frames_and_fields(sets):
  whole = {ex['youtube_id']: ex for ex in _plain(sets['whole'], 'train')}
  records = _plain(sets['fields'], 'train')
  assert len(whole) == NUM_CLASSES
  assert len(records) == len(BOUNDS) * NUM_CLASSES
  seen = {}
  for rec in records:
    clip = whole[rec['youtube_id']]
    a, n = int(rec['first_frame']), int(rec['num_frames'])
    fields = features_lib.flow_array(rec['flow'])
    assert len(fields) == n - 1  # the fields between its frames
    assert (rec['clip_frames'], rec['clip_records']) == (FRAMES, len(BOUNDS))
    assert (rec['record_stride'], rec['record_overlap']) == (STRIDE, OVERLAP)
    assert BOUNDS[rec['record_index']] == (a, a + n)
    assert rec['label'] == clip['label']
    assert (rec['time_start'], rec['time_end']) == (clip['time_start'],
                                                    clip['time_end'])
    # The very JPEG frames and PNG fields of the clip, at the same indices.
    np.testing.assert_array_equal(rec['video'], clip['video'][a:a + n])
    np.testing.assert_array_equal(
        fields, features_lib.flow_array(clip['flow'])[a:a + len(fields)])
    seen.setdefault(rec['youtube_id'], []).append((a, a + n))
  for key, parts in seen.items():
    assert sorted(parts) == BOUNDS, key


def test_a_beam_build_writes_the_same_records(sets, tmp_path):
  beam = _build(str(tmp_path), 'fields', beam=True,
                train_record_stride=STRIDE, train_record_overlap=OVERLAP)
  key = lambda ex: (ex['youtube_id'], int(ex['first_frame']))
  local = {key(ex): ex for ex in _plain(sets['fields'], 'train')}
  built = {key(ex): ex for ex in _plain(beam, 'train')}
  assert sorted(built) == sorted(local)
  assert len(built) == len(BOUNDS) * NUM_CLASSES
  for k, ex in built.items():
    np.testing.assert_array_equal(ex['video'], local[k]['video'])
    np.testing.assert_array_equal(features_lib.flow_array(ex['flow']),
                                  features_lib.flow_array(local[k]['flow']))
  summary = json.loads((beam.data_path / generate.SUMMARY).read_text())
  assert summary['train']['built'] == NUM_CLASSES
  assert summary['train']['records'] == len(BOUNDS) * NUM_CLASSES


def test_zlib_records_are_bit_identical_to_quantised_tvl1(sets):
  """The flow-only zlib layout of the flow340 config: each record is
  exactly its fields of flow.quantize(flow.tvl1(...)) of the clip."""
  builder = sets['zlib']
  assert features_lib.flow_format_of(builder.info.features) == 'zlib'
  assert 'video' not in builder.info.features
  config = builder.builder_config
  jobs = {j.youtube_id: j for j in synthetic.split_jobs(config, 'train')}
  records = _plain(builder, 'train')
  assert len(records) == len(BOUNDS) * NUM_CLASSES
  for rec in records[:8]:
    _, flow_u8 = synthetic.clip_arrays(config, jobs[rec['youtube_id'].decode()])
    a = int(rec['first_frame'])
    np.testing.assert_array_equal(rec['flow'], flow_u8[a:a + len(rec['flow'])])


def test_other_splits_keep_whole_clips_and_the_summary_counts_clips(sets):
  builder = sets['fields']
  features = builder.info.features
  for name in features_lib.RECORD_FEATURES:
    assert features[name].dtype == np.int32
    assert name not in sets['whole'].info.features
  val = _plain(builder, 'validation')
  assert len(val) == NUM_CLASSES
  for ex in val:
    assert ex['first_frame'] == 0 and ex['num_frames'] == FRAMES
    assert (ex['clip_frames'], ex['record_index'], ex['clip_records']) == (
        FRAMES, 0, 1)
    assert ex['video'].shape[0] == FRAMES
  assert builder.info.splits['train'].num_examples == (
      len(BOUNDS) * NUM_CLASSES)
  summary = json.loads((builder.data_path / generate.SUMMARY).read_text())
  assert summary['train']['built'] == NUM_CLASSES
  assert summary['train']['records'] == len(BOUNDS) * NUM_CLASSES
  assert summary['validation']['built'] == NUM_CLASSES
  assert 'records' not in summary['validation']


def test_one_frame_records_and_shuffled_order(sets):
  builder = sets['frames1']
  assert 'flow' not in builder.info.features
  records = _plain(builder, 'train')
  assert len(records) == FRAMES * NUM_CLASSES
  assert all(r['video'].shape[0] == 1 and r['num_frames'] == 1
             for r in records)
  # TFDS shuffles the records at write time: consecutive ones come from
  # different clips, so a batch mixes videos.
  ids = [r['youtube_id'] for r in records[:FRAMES]]
  assert len(set(ids)) > NUM_CLASSES // 2
  whole = {ex['youtube_id']: ex for ex in _plain(sets['whole'], 'train')}
  for rec in records[:40]:
    a = int(rec['first_frame'])
    np.testing.assert_array_equal(rec['video'][0],
                                  whole[rec['youtube_id']]['video'][a])


class _Counter:
  """Images ``ops.decode_frame`` decodes inside tf.data."""

  def __init__(self, monkeypatch):
    self.images = tf.Variable(0, dtype=tf.int64)
    real = ops.decode_frame

    def counting(encoded):
      image = real(encoded)
      with tf.control_dependencies([self.images.assign_add(1)]):
        return tf.identity(image)

    monkeypatch.setattr(ops, 'decode_frame', counting)


def test_a_flow_sample_reads_one_record_and_decodes_its_10_fields(
    sets, monkeypatch):
  builder = sets['fields']
  counter = _Counter(monkeypatch)
  ds = train_pipeline.load_examples(builder, 'train', 'flow',
                                    shuffle_files=False)
  assert sorted(ds.element_spec) == sorted(
      ('flow', 'label') + tuple(features_lib.RECORD_FEATURES))
  first = next(iter(tfds.as_numpy(ds.take(1))))
  ds = train_pipeline.make_dataset(ds.take(1), 'flow', 24, 1, training=False,
                                   seed=0, deterministic=True)
  x, _ = next(iter(ds))
  assert x.shape == (1, 24, 24, 20)
  assert int(counter.images.numpy()) == 20  # 10 fields, x and y
  # The centred stack of the record's own fields (no other record read).
  fields = np.stack([np.stack([tf.io.decode_png(f).numpy()[..., 0]
                               for f in first['flow'][c]], 0)
                     for c in ('x', 'y')], -1)
  start = (len(fields) - 10) // 2
  crop = fields[start:start + 10, 4:28, 4:28]  # [10, 24, 24, 2]
  want = crop.transpose(1, 2, 0, 3).reshape(24, 24, 20) / 127.5 - 1.0
  np.testing.assert_allclose(x[0].numpy(), want, atol=1e-6)


def test_the_rgb_stream_trains_from_one_frame_records(sets, monkeypatch):
  counter = _Counter(monkeypatch)
  ds = train_pipeline.load_examples(sets['frames1'], 'train', 'rgb', seed=0)
  x, y = next(iter(train_pipeline.make_dataset(ds, 'rgb', 24, 8, seed=0)))
  assert x.shape == (8, 24, 24, 3) and y.shape == (8,)
  assert int(counter.images.numpy()) >= 8  # one frame per sample
  assert np.isfinite(x.numpy()).all()


def test_train_record_stride_and_overlap_are_checked():
  with pytest.raises(ValueError, match='train_record_stride'):
    builder_lib.StorageConfig(name='bad', train_record_stride=0)
  with pytest.raises(ValueError, match='train_record_overlap'):
    builder_lib.StorageConfig(name='bad', with_flow=True,
                              train_record_stride=20)
