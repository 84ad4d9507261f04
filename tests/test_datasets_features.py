"""Flow stored per field: lossless, read by plain TFDS, and a sample decodes only what it uses.

Builds the synthetic set with one clip per class in each flow layout
('png', the default; 'zlib', the builders' earlier layout; 'jpeg') and reads
them through the training pipeline with spies on the decoders.
"""

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import flow
from flow.decoding import to_gray
from kinetics_tf.datasets import features as features_lib
from kinetics_tf.datasets import synthetic
from kinetics_tf.input import dense
from kinetics_tf.input import ops
from kinetics_tf.input import train_pipeline

SIZE, FRAMES = 32, 14  # 13 fields: a stack of 10 has 4 starts.


@pytest.fixture(scope='module')
def layouts(tmp_path_factory):
  """flow_format -> a built synthetic_actions builder in that layout."""
  data_dir = str(tmp_path_factory.mktemp('layouts'))
  base = synthetic.SyntheticActions.BUILDER_CONFIGS[1]  # 'tiny'
  out = {}
  kinds = [(fmt, fmt, True) for fmt in features_lib.FLOW_FORMATS]
  kinds.append(('flow_only', 'png', False))
  for name, fmt, with_video in kinds:
    config = dataclasses.replace(base, name=f'layout_{name}', size=SIZE,
                                 num_frames=FRAMES, clips_per_class=(1, 0, 0),
                                 flow_format=fmt, with_video=with_video)
    builder = synthetic.SyntheticActions(config=config, data_dir=data_dir)
    builder.download_and_prepare()
    out[name] = builder
  return out


def plain_examples(builder):
  """youtube_id -> example, read with plain TFDS (no decoders, no package code)."""
  return {ex['youtube_id'].decode(): ex for ex in tfds.as_numpy(
      builder.as_dataset(split='train', shuffle_files=False))}


def test_the_default_layout_is_per_field_png_and_versioned(layouts):
  builder = layouts['png']
  assert builder.version == synthetic.SyntheticActions.PER_FIELD_FLOW_VERSION
  feature = builder.info.features['flow']
  assert isinstance(feature, tfds.features.FeaturesDict)
  assert sorted(feature) == ['x', 'y']
  for channel in ('x', 'y'):
    assert isinstance(feature[channel], tfds.features.Video)
    assert feature[channel].feature.encoding_format == 'png'
  assert features_lib.flow_format_of(builder.info.features) == 'png'
  assert features_lib.flow_format_of(layouts['zlib'].info.features) == 'zlib'
  notes = synthetic.SyntheticActions.RELEASE_NOTES
  assert 'per field' in notes[str(builder.version)]
  # Datasets built by the earlier version, zlib tensors, still read.
  old = synthetic.SyntheticActions(config='tiny', version='1.1.0',
                                   data_dir=str(builder.data_dir))
  assert isinstance(old.info.features['flow'], tfds.features.Tensor)
  with pytest.raises(ValueError, match='flow_format'):
    features_lib.flow_feature('webp')


def test_stored_flow_is_bit_identical_to_quantised_tvl1(layouts):
  builder = layouts['png']
  jobs = {j.key: j for j in synthetic.split_jobs(builder.builder_config,
                                                 'train')}
  exs = plain_examples(builder)
  assert len(exs) == len(synthetic.CLASS_NAMES)
  for key, ex in list(exs.items())[:4]:
    # Plain TFDS decodes both channels: uint8 [T-1, H, W, 1] each.
    assert ex['flow']['x'].shape == (FRAMES - 1, SIZE, SIZE, 1)
    assert ex['flow']['x'].dtype == np.uint8
    frames, _ = synthetic.clip_arrays(builder.builder_config, jobs[key])
    expected = flow.quantize(flow.tvl1(to_gray(frames),
                                       **dict(synthetic.SYNTHETIC_TVL1)))
    np.testing.assert_array_equal(features_lib.flow_array(ex['flow']),
                                  expected)


def test_old_and_new_layouts_give_the_same_values(layouts):
  png, zlib, jpeg = (plain_examples(layouts[f]) for f in ('png', 'zlib',
                                                           'jpeg'))
  assert sorted(png) == sorted(zlib) == sorted(jpeg)
  idx = tf.constant([12, 0, 5, 5, 7])
  errors = []
  for key in png:
    new, old = png[key]['flow'], zlib[key]['flow']
    assert isinstance(old, np.ndarray) and old.shape == (FRAMES - 1, SIZE,
                                                         SIZE, 2)
    np.testing.assert_array_equal(features_lib.flow_array(new), old)
    # The pipeline's gather gives the same fields from either layout.
    np.testing.assert_array_equal(ops.gather_fields(new, idx).numpy(),
                                  ops.gather_fields(old, idx).numpy())
    errors.append(np.abs(features_lib.flow_array(jpeg[key]['flow'])
                         .astype(int) - old).max())
  # JPEG is lossy but close (benchmarks/input.py measures it at paper sizes).
  assert 0 < max(errors) <= 32


def _pipeline_values(builder, model, training):
  ds = train_pipeline.load_examples(builder, 'train', model,
                                    shuffle_files=False)
  ds = train_pipeline.make_dataset(ds, model, 24, 4, training=training,
                                   seed=7, deterministic=True)
  return [x for x, _ in ds.take(2).as_numpy_iterator()]


@pytest.mark.parametrize('training', [True, False])
def test_the_pipeline_gives_the_same_samples_from_either_layout(layouts,
                                                                training):
  new = _pipeline_values(layouts['png'], 'flow', training)
  old = _pipeline_values(layouts['zlib'], 'flow', training)
  assert new[0].shape == (4, 24, 24, 20)
  for a, b in zip(new, old):
    np.testing.assert_array_equal(a, b)


class _Counter:
  """Counts the images ``ops.decode_frame`` decodes inside tf.data, and their channels."""

  def __init__(self, monkeypatch):
    self.images = tf.Variable(0, dtype=tf.int64)
    self.channels = tf.Variable(0, dtype=tf.int64)
    real = ops.decode_frame

    def counting(encoded):
      image = real(encoded)
      with tf.control_dependencies([
          self.images.assign_add(1),
          self.channels.assign_add(tf.cast(tf.shape(image)[-1], tf.int64))]):
        return tf.identity(image)

    monkeypatch.setattr(ops, 'decode_frame', counting)


@pytest.fixture
def tfds_decodes(monkeypatch):
  """Channels of every image (and zlib tensor) TFDS itself decodes, at trace."""
  seen = []
  image_decode = tfds.features.Image.decode_example
  tensor_decode = tfds.features.Tensor.decode_example

  def image_spy(self, example):
    seen.append(('image', self.shape[-1]))
    return image_decode(self, example)

  def tensor_spy(self, example):
    if self.shape:  # not the scalar label
      seen.append(('tensor', self.shape))
    return tensor_decode(self, example)

  monkeypatch.setattr(tfds.features.Image, 'decode_example', image_spy)
  monkeypatch.setattr(tfds.features.Tensor, 'decode_example', tensor_spy)
  return seen


def _one_sample(builder, model):
  ds = train_pipeline.load_examples(builder, 'train', model,
                                    shuffle_files=False)
  spec = ds.element_spec
  ds = train_pipeline.make_dataset(ds.take(1), model, 24, 1, training=False)
  x, _ = next(iter(ds))
  return spec, x


def test_a_flow_sample_decodes_exactly_its_10_fields(layouts, monkeypatch,
                                                     tfds_decodes):
  counter = _Counter(monkeypatch)
  spec, x = _one_sample(layouts['png'], 'flow')
  assert x.shape == (1, 24, 24, 20)
  assert sorted(spec) == ['flow', 'label']  # no RGB frames parsed
  assert spec['flow']['x'].dtype == tf.string  # fields left encoded
  # 10 fields, x and y each: 20 single-channel images, nothing else.
  assert int(counter.images.numpy()) == 20
  assert int(counter.channels.numpy()) == 20
  assert tfds_decodes == []  # TFDS decoded neither flow nor frames


def test_the_rgb_stream_decodes_no_flow(layouts, monkeypatch, tfds_decodes):
  for model, frames in (('rgb', 1), ('c3d', 16)):
    counter = _Counter(monkeypatch)
    spec, _ = _one_sample(layouts['png'], model)
    assert sorted(spec) == ['label', 'video']  # flow not even parsed
    assert int(counter.images.numpy()) == frames
    assert int(counter.channels.numpy()) == 3 * frames  # RGB frames only
  # The earlier zlib layout: still no flow for the RGB stream.
  spec, _ = _one_sample(layouts['zlib'], 'rgb')
  assert sorted(spec) == ['label', 'video']
  assert tfds_decodes == []


def test_dense_flow_views_from_either_layout(layouts):
  new = next(iter(plain_examples(layouts['png']).values()))['flow']
  old = next(iter(plain_examples(layouts['zlib']).values()))['flow']
  spec = dense.spec_for('flow')
  a = dense.flow_views(new, spec, 24).numpy()
  b = dense.flow_views(old, spec, 24).numpy()
  assert a.shape == (25, 24, 24, 20)
  np.testing.assert_array_equal(a, b)


def _record_bytes(builder):
  return sum(os.path.getsize(f) for f in
             builder.data_path.glob('*-train.tfrecord-*'))


def test_a_flow_only_set_holds_no_frames_and_gives_the_same_flow(layouts):
  flow_only, both = layouts['flow_only'], layouts['png']
  assert 'video' not in flow_only.info.features
  assert flow_only.info.supervised_keys is None
  assert both.info.supervised_keys == ('video', 'label')
  # The flow stream's records lose the frames' bytes.
  assert _record_bytes(flow_only) < _record_bytes(both)
  a, b = plain_examples(flow_only), plain_examples(both)
  assert sorted(a) == sorted(b)
  for key in a:
    np.testing.assert_array_equal(features_lib.flow_array(a[key]['flow']),
                                  features_lib.flow_array(b[key]['flow']))
  for x, y in zip(_pipeline_values(flow_only, 'flow', True),
                  _pipeline_values(both, 'flow', True)):
    np.testing.assert_array_equal(x, y)
  with pytest.raises(ValueError, match="no 'video' feature"):
    train_pipeline.load_examples(flow_only, 'train', 'rgb')
  with pytest.raises(ValueError, match='frames, flow or both'):
    features_lib.clip_features(['a'], with_flow=False, with_video=False)


def test_evaluate_reads_a_flow_only_set(layouts):
  """Dense views and clip checks of a flow-only example equal the full set's."""
  from kinetics_tf import evaluate  # pylint: disable=g-import-not-at-top
  from kinetics_tf import models  # pylint: disable=g-import-not-at-top
  net = models.flow_stream(num_classes=16, input_size=SIZE,
                           width_multiplier=1 / 16,
                           blocks_per_stage=(1, 1, 1, 1))
  dm = evaluate.dense_models(net)
  prepare = evaluate._prepare_fn(dm)  # pylint: disable=protected-access
  outs = []
  for name in ('flow_only', 'png'):
    builder = layouts[name]
    keys = ['video', 'label', 'youtube_id', 'flow']
    ds = builder.as_dataset(
        split='train', shuffle_files=False,
        decoders=train_pipeline.read_only(builder.info.features, keys))
    outs.append(next(iter(ds.map(prepare))))
  a, b = outs
  for key in ('ok', 'num_frames', 'height', 'width', 'flow_fields'):
    assert int(a[key]) == int(b[key]), key
  assert bool(a['ok']) and int(a['num_frames']) == FRAMES
  np.testing.assert_array_equal(a['flow'].numpy(), b['flow'].numpy())
