"""Training samples from records, on what the builders write: the paper's distribution (§4.4).

A folder of three clips of 50, 125 and 250 frames is built as a dataset of
the ``two_stream340`` layout (records of 20 starts, overlap 10; RGB + flow)
and read by the training input.  From the layout (the records written, and
the input's own arithmetic) every RGB frame and every 10-field flow stack of
a clip has probability exactly 1/C and every clip the same share; drawn
through ``load_examples`` + ``make_dataset``, the starts and the clip
shares pass a chi-square test.
"""

import collections

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from kinetics_tf import constants
from kinetics_tf import errors
from kinetics_tf import evaluation
from kinetics_tf.data import records
from kinetics_tf.datasets import video_folder
from kinetics_tf.input import record_sampling
from kinetics_tf.input import train_pipeline
from kinetics_tf.training import experiments
from kinetics_tf.training import runner

from conftest import write_video

LENGTHS = (50, 125, 250)
STRIDE, OVERLAP = constants.TRAIN_RECORD_STRIDE, constants.FLOW_STACK
SPANS = {'rgb': (1, False), 'flow': (constants.FLOW_STACK, True)}


@pytest.fixture(scope='module')
def built(tmp_path_factory):
  root = tmp_path_factory.mktemp('lengths')
  for n in LENGTHS:
    write_video(root / 'train' / 'moving' / f'clip{n:03d}.avi', n,
                size=(24, 24), seed=n)
  config = video_folder.video_folder_config(
      root, name='lengths', short_side=None, with_flow=True,
      train_record_stride=STRIDE,
      train_record_overlap=OVERLAP)
  builder = video_folder.VideoFolder(
      config=config, data_dir=str(tmp_path_factory.mktemp('data')),
      flow_backend='opencv')
  builder.download_and_prepare()
  return builder


def _records(builder):
  """Every record of the train split, as plain TFDS decodes it."""
  keys = record_sampling.KEYS + ('num_frames',)
  ds = builder.as_dataset(split='train', shuffle_files=False,
                          decoders=tfds.decode.PartialDecoding(
                              {k: builder.info.features[k] for k in keys}))
  return list(tfds.as_numpy(ds))


def test_the_builder_wrote_the_layout(built):
  by_clip = collections.defaultdict(list)
  for r in _records(built):
    by_clip[int(r['clip_frames'])].append(r)
  assert sorted(by_clip) == list(LENGTHS)
  for t, recs in by_clip.items():
    bounds = records.record_bounds(t, STRIDE, OVERLAP)
    got = sorted((int(r['first_frame']), int(r['first_frame'] +
                                             r['num_frames'])) for r in recs)
    assert got == bounds
    assert {int(r['clip_records']) for r in recs} == {len(bounds)}


@pytest.mark.parametrize('model', ['rgb', 'flow'])
def test_every_start_and_every_clip_alike_from_the_layout(built, model):
  """Exact: P(start s of clip c) from the records written and the input's
  own functions (expected samples per read x 1 / owned starts)."""
  span, on_flow = SPANS[model]
  prob = collections.defaultdict(float)
  share = collections.defaultdict(float)
  for r in _records(built):
    begin, end, _ = (int(v) for v in record_sampling.owned_starts(
        r, span, on_flow))
    mean = float(record_sampling.expected_samples(r, span, on_flow))
    t = int(r['clip_frames'])
    share[t] += mean
    for s in range(begin, end):
      prob[t, s] += mean / (end - begin)
  total = sum(share.values())
  for t in LENGTHS:
    assert share[t] / total == pytest.approx(1 / len(LENGTHS), abs=1e-9)
    starts = records.num_starts(t - int(on_flow), span)
    assert sorted(s for c, s in prob if c == t) == list(range(starts))
    within = np.array([prob[t, s] for s in range(starts)]) / share[t]
    np.testing.assert_allclose(within, 1 / starts, rtol=0, atol=1e-9)


def _chi2_p(observed, expected):
  """Upper-tail p of Pearson's chi-square (cells = len(observed))."""
  observed, expected = np.asarray(observed, float), np.asarray(expected, float)
  stat = float(((observed - expected) ** 2 / expected).sum())
  dof = len(observed) - 1
  return float(tf.math.igammac(dof / 2.0, stat / 2.0))


@pytest.mark.parametrize('model', ['rgb', 'flow'])
def test_the_training_input_draws_it(built, model):
  span, on_flow = SPANS[model]
  ds = train_pipeline.load_examples(built, 'train', model, seed=1)
  ds = train_pipeline.make_dataset(ds, model, 16, 500, seed=1,
                                   deterministic=True, with_position=True)
  starts = collections.Counter()
  for _, _, pos in ds.take(18):  # 9,000 samples
    starts.update(zip(pos['clip_frames'].numpy().tolist(),
                      pos['start'].numpy().tolist()))
  clips = collections.Counter()
  for (t, _), n in starts.items():
    clips[t] += n
  total = sum(clips.values())
  assert sorted(clips) == list(LENGTHS)
  assert _chi2_p([clips[t] for t in LENGTHS], [total / 3] * 3) > 1e-3
  for t in LENGTHS:
    c = records.num_starts(t - int(on_flow), span)
    counts = [starts[t, s] for s in range(c)]
    assert sum(counts) == clips[t]  # no start outside [0, C)
    assert _chi2_p(counts, [clips[t] / c] * c) > 1e-3, (model, t)


def test_a_sample_is_its_clips_frames_at_its_start(built):
  """The record's sample is the clip's own footprint at the drawn start."""
  whole = {}
  for ex in tfds.as_numpy(built.as_dataset(split='train',
                                           shuffle_files=False)):
    whole.setdefault(int(ex['clip_frames']), []).append(ex)
  ds = train_pipeline.load_examples(built, 'train', 'flow', seed=3)
  ds = train_pipeline.make_dataset(ds, 'flow', 24, 16, seed=3,
                                   with_position=True)
  x, _, pos = next(iter(ds))
  for i in range(16):
    t, s = int(pos['clip_frames'][i]), int(pos['start'][i])
    # Any record holding fields [s, s + 10) (they are the clip's, once).
    rec = next(r for r in whole[t] if r['first_frame'] <= s and
               s + 10 <= r['first_frame'] + r['num_frames'] - 1)
    a = s - int(rec['first_frame'])
    fields = np.concatenate([rec['flow']['x'], rec['flow']['y']], -1)[a:a + 10]
    want = fields.transpose(1, 2, 0, 3).reshape(24, 24, 20) / 127.5 - 1.0
    flipped = (255 - fields[..., ::-1, :])  # mirrored, x negated
    flipped[..., 1] = fields[..., ::-1, 1]
    want_flip = flipped.transpose(1, 2, 0, 3).reshape(24, 24, 20) / 127.5 - 1
    got = x[i].numpy()
    assert (np.allclose(got, want, atol=1e-6) or
            np.allclose(got, want_flip, atol=1e-6)), i


def test_input_pipelines_draw_their_own_augmentations(built):
  """The trainer's input of two pipelines reading the same records draws
  other starts, crops and flips; one pipeline twice draws the same."""
  assert len({runner.pipeline_seed(7, i) for i in range(64)}) == 64
  assert runner.pipeline_seed(7, 1) != runner.pipeline_seed(8, 0)
  config = experiments.load_experiment('synthetic_rgb').replace(
      batch_size=16, crop_size=16, deterministic=True)

  def same_records(split, ctx, seed):
    del split, ctx  # both pipelines read every record, in file order
    return train_pipeline.load_examples(built, 'train', 'rgb', seed=seed,
                                        shuffle_files=False)

  train_fn = runner.train_input_fn(config, same_records, seed=7)

  def first_batch(pipeline):
    ctx = tf.distribute.InputContext(num_input_pipelines=2,
                                     input_pipeline_id=pipeline,
                                     num_replicas_in_sync=2)
    return next(iter(train_fn(ctx)))[0].numpy()

  first = first_batch(0)
  np.testing.assert_array_equal(first, first_batch(0))
  assert not np.array_equal(first, first_batch(1))


def test_a_footprint_longer_than_the_records_is_refused(built):
  with pytest.raises(errors.UserError, match='c3d.*spans 16 frames'):
    train_pipeline.load_examples(built, 'train', 'c3d')
  with pytest.raises(errors.UserError, match='11 frames'):
    train_pipeline.load_examples(built, 'train', 'rgb', num_frames=12)
  # Whole clips of the same set take any footprint.
  train_pipeline.check_records(built, 'validation', 'c3d')


def test_tf_arithmetic_equals_the_layouts():
  for t in (2, 11, 12, 31, 50, 125, 250, 251):
    count = records.num_records(t, STRIDE, OVERLAP)
    for j in range(count):
      example = {'clip_frames': t, 'record_index': j, 'clip_records': count,
                 'record_stride': STRIDE, 'record_overlap': OVERLAP}
      for span, on_flow in SPANS.values():
        if t - int(on_flow) < 1:
          continue
        begin, end, _ = record_sampling.owned_starts(example, span, on_flow)
        assert (int(begin), int(end)) == records.owned_starts(
            j, count, t, span, on_flow)
        assert float(record_sampling.expected_samples(
            example, span, on_flow)) == pytest.approx(records.expected_samples(
                j, count, t, span, on_flow, STRIDE, OVERLAP), abs=1e-12)


def test_evaluating_a_split_of_records_is_refused(built):
  with pytest.raises(errors.UserError, match=r"'train\[:10\]' split is stored as "
                     'records'):
    evaluation.refuse_records(built, 'lengths', 'train[:10]')
  evaluation.refuse_records(built, 'lengths', 'validation')


def test_every_experiment_fits_its_datasets_records():
  """The footprint check on every experiment's own dataset config (the
  builders are only constructed: nothing is built or read)."""
  import kinetics_tf.datasets  # noqa: F401  pylint: disable=g-import-not-at-top
  checked = 0
  for name in experiments.experiment_names():
    config = experiments.load_experiment(name)
    builder = tfds.builder(config.dataset)
    if not train_pipeline.stored_as_records(builder, 'train'):
      continue
    footprint = config.footprint
    train_pipeline.check_records(builder, 'train', config.model,
                                 footprint.num_frames, footprint.stride)
    checked += 1
  assert checked >= 6  # the Kinetics two-stream experiments
