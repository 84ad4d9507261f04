"""The paper's numbers, written out literally, against what the code does with them.

Each number below is typed from Kay et al. 2017 (section or table cited), not
read from kinetics_tf.constants, and each is checked where it takes effect:
the training input, the dense test views, the experiments, the models, the
builders and the §3 curation rules.  A changed constant fails here.
"""

import importlib
import inspect

import numpy as np
import pytest

from kinetics_tf import constants
from kinetics_tf.curation import consensus
from kinetics_tf.curation import dedup
from kinetics_tf.curation import embed
from kinetics_tf.input import dense
from kinetics_tf.input import train_pipeline


def _coded_example(num_frames=200, size=8):
  """Frame t has every pixel = t; flow field t has y code t (x: 128 = no motion)."""
  t = np.arange(num_frames, dtype=np.uint8)
  video = np.broadcast_to(t[:, None, None, None], (num_frames, size, size, 3)).copy()
  flow = np.full((num_frames - 1, size, size, 2), 128, np.uint8)
  flow[..., 1] = t[:-1, None, None]
  return {'video': video, 'flow': flow, 'label': np.int64(0)}


def _codes(x):
  return np.round((np.asarray(x) + 1.0) * 127.5).astype(int)


# --- Table 3: training footprints at 25 fps (§4.4) ---------------------------

def test_training_input_of_each_model_is_table_3s():
  assert constants.FPS == 25   # §4.4: "all videos are resampled to 25 fps" (SPEC.md)
  ex = _coded_example()
  # ConvNet+LSTM: 25 RGB frames, every 5th (5 s).
  x, _ = train_pipeline.preprocess(ex, 'convnet_lstm', 8, seed=[1, 2])
  frames = _codes(x[:, 0, 0, 0])
  assert x.shape == (25, 8, 8, 3)
  np.testing.assert_array_equal(np.diff(frames), 5)
  assert (frames[-1] - frames[0] + 5) / 25 == 5.0
  # Two-Stream RGB: 1 frame.
  x, _ = train_pipeline.preprocess(ex, 'rgb', 8, seed=[1, 2])
  assert x.shape == (8, 8, 3)
  # Two-Stream flow: 10 consecutive flow fields, x and y -> 20 channels (0.4 s).
  x, _ = train_pipeline.preprocess(ex, 'flow', 8, seed=[1, 2])
  assert x.shape == (8, 8, 20)
  np.testing.assert_array_equal(np.diff(_codes(x[0, 0, 1::2])), 1)
  # 3D ConvNet: 16 consecutive frames (0.64 s).
  x, _ = train_pipeline.preprocess(ex, 'c3d', 8, seed=[1, 2])
  assert x.shape == (16, 8, 8, 3)
  np.testing.assert_array_equal(np.diff(_codes(x[:, 0, 0, 0])), 1)
  seconds = {m: constants.TRAIN_FOOTPRINTS[m].seconds for m in ('convnet_lstm', 'flow', 'c3d')}
  assert seconds == {'convnet_lstm': 5.0, 'flow': 0.4, 'c3d': 0.64}


# --- Table 3: test protocol over 10 s (§4.4) ---------------------------------

def test_dense_test_views_are_table_3s():
  clip = 251   # 10 s at 25 fps, plus the frame that ends the last flow field
  # Two-Stream: 25 RGB frames and 25 stacks of 10 flow frames (250 flow).
  assert dense.snapshot_indices_np('rgb', clip).shape == (25, 1)
  flow = dense.snapshot_indices_np('flow', clip)
  assert flow.shape == (25, 10) and np.unique(flow).size == 250
  # 3D ConvNet: 240 frames (9.6 s) as 15 non-overlapping clips of 16.
  c3d = dense.snapshot_indices_np('c3d', 250)
  assert c3d.shape == (15, 16) and np.unique(c3d).size == 240
  np.testing.assert_array_equal(np.diff(c3d, axis=1), 1)
  assert (c3d.max() - c3d.min() + 1) / 25 == 9.6
  # ConvNet+LSTM: 50 frames over 10 s (every 5th), one sequence.
  lstm = dense.snapshot_indices_np('convnet_lstm', 250)
  assert lstm.shape == (1, 50)
  np.testing.assert_array_equal(np.diff(lstm[0]), 5)
  assert (lstm[0, -1] - lstm[0, 0] + 5) / 25 == 10.0


# --- §4.4: crops and resize sides --------------------------------------------

def _experiment(name):
  return importlib.import_module(f'experiments.{name}').get_config()


def test_crops_are_299_for_resnet_models_and_112_for_the_3d_convnet():
  from kinetics_tf import models  # pylint: disable=g-import-not-at-top
  for name in ('kinetics400_two_stream_rgb', 'kinetics400_two_stream_flow',
               'kinetics400_convnet_lstm', 'ucf101_two_stream_rgb', 'hmdb51_convnet_lstm'):
    assert _experiment(name).crop_size == 299, name
  for name in ('kinetics400_c3d', 'ucf101_c3d', 'hmdb51_c3d'):
    assert _experiment(name).crop_size == 112, name
  defaults = {f.__name__: inspect.signature(f).parameters['input_size'].default
              for f in (models.rgb_stream, models.flow_stream, models.ConvNetLSTM, models.C3D)}
  assert defaults == {'rgb_stream': 299, 'flow_stream': 299, 'ConvNetLSTM': 299, 'C3D': 112}


def test_frames_are_resized_to_a_side_of_340_or_128():
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import kinetics_tf.datasets  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  from kinetics_tf import release  # pylint: disable=g-import-not-at-top
  sides = {c.name: c.short_side for c in tfds.builder_cls('kinetics400').BUILDER_CONFIGS}
  assert (sides['rgb340'], sides['rgb340_flow'], sides['rgb128']) == (340, 340, 128)
  assert (sides['two_stream340'], sides['rgb340_frames'], sides['flow340']) == (340, 340, 340)
  sides = {c.name: c.short_side for c in tfds.builder_cls('ucf101_local').BUILDER_CONFIGS}
  assert (sides['split1'], sides['split1_rgb'], sides['split1_rgb128']) == (340, 340, 128)
  assert _experiment('kinetics400_c3d').dataset == 'kinetics400/rgb128'
  assert _experiment('kinetics400_two_stream_rgb').dataset == 'kinetics400/two_stream340'
  assert _experiment('kinetics400_convnet_lstm').dataset == 'kinetics400/rgb340'
  # Serving keeps the ratio of side to crop: 340 for 299, 128 for 112.
  assert (release.default_short_side('rgb', 299), release.default_short_side('c3d', 112)) == (
      340, 128)


# --- §3.3: labelling consensus, gold clips, class yield ----------------------

@pytest.mark.parametrize('responses,status,used', [
    (['yes', 'yes', 'yes'], 'accepted', 3),                        # "at least 3 positive"
    (['yes', 'no', 'yes', 'no', 'yes'], 'accepted', 5),
    (['no', 'no', 'no', 'yes', 'yes'], 'rejected', 3),             # "3 out of 3 ... remove it"
    (['yes', 'yes', 'no', 'unsure', 'no', 'yes'], 'rejected', 5),  # "annotated 5 times"
    (['yes', 'yes', 'no', 'unsure'], 'pending', 4),
])
def test_a_clip_needs_3_yes_of_up_to_5_annotations(responses, status, used):
  d = consensus.decide_clip('c', 'x', responses)
  assert (d.status, d.annotations) == (status, used)


def _gold_rows(worker, answers):
  return [dict(_line=i + 2, clip_id=f'g{i}', label='x', worker_id=worker,
               response=given, is_gold='1', gold_answer='yes')
          for i, given in enumerate(answers)]


def test_a_worker_under_50_percent_on_gold_is_warned():
  half = consensus.worker_accuracy(_gold_rows('w', ['yes', 'no']))[0]
  assert (half['accuracy'], half['warn']) == (0.5, False)
  under = consensus.worker_accuracy(_gold_rows('w', ['yes', 'no', 'no', 'yes', 'no']))[0]
  assert (under['accuracy'], under['warn']) == (0.4, True)


def test_a_task_is_20_videos_2_of_them_gold():
  decisions = [consensus.decide_clip(f'c{i}', f'class{i}', ['yes']) for i in range(40)]
  gold = [consensus.GoldClip(f'g{i}', f'gold{i}', 'yes') for i in range(3)]
  tasks = consensus.assemble_tasks(decisions, gold)
  assert [len(t) for t in tasks] == [20, 20, 6]          # 40 = 18 + 18 + 4
  assert [sum(s.is_gold for s in t) for t in tasks] == [2, 2, 2]


def test_class_accuracy_is_judged_after_20_clips_at_50_percent():
  def clips(label, yes, no):
    return ([consensus.decide_clip(f'{label}y{i}', label, ['yes'] * 3) for i in range(yes)]
            + [consensus.decide_clip(f'{label}n{i}', label, ['no'] * 3) for i in range(no)])
  verdicts = consensus.class_yield(clips('half', 10, 10) + clips('under', 9, 11)
                                   + clips('early', 0, 19))
  assert {k: v['verdict'] for k, v in verdicts.items()} == {
      'half': 'keep', 'under': 'drop', 'early': 'wait'}


# --- §3.4: de-duplication ----------------------------------------------------

def test_dedup_links_clips_above_cosine_097_from_25_centre_crops_of_224():
  params = inspect.signature(embed.sample_crops).parameters
  assert (params['num_frames'].default, params['crop'].default) == (25, 224)
  def unit(cos):
    return np.array([cos, np.sqrt(1.0 - cos ** 2)])
  embeddings = {'a': unit(1.0), 'b': unit(0.975), 'c': unit(0.965) * [1, -1]}
  clips = [dict(clip_id=k, youtube_id=k, label='x') for k in embeddings]
  out = dedup.dedup(clips, embeddings)
  # a-b (0.975) is a duplicate pair; a-c (0.965) and b-c are not.
  assert [c['members'] for c in out['components']['x']] == [['a', 'b']]
  assert len(out['kept']) == 2 and 'c' in {c['clip_id'] for c in out['kept']}
