"""Round trip on a tiny model: train a few steps, evaluate, export, reload, predict; bad inputs."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from flow import decoding as flow_video
from kinetics_tf import evaluation
from kinetics_tf import models
from kinetics_tf import predict
from kinetics_tf import release
from kinetics_tf import scoring
from kinetics_tf.training import experiments
from kinetics_tf.training.config import Config

# saved_model_cli as a module of this Python's TensorFlow (not from PATH).
SAVED_MODEL_CLI = 'tensorflow.python.tools.saved_model_cli'

DATASET = 'synthetic_actions/tiny'  # 16 classes, 32x32, 12 frames, 1 test clip per class.


@pytest.fixture(scope='module')
def world(tmp_path_factory, tiny_data_dir):
  """On the session's tiny set: trains the RGB stream 3 steps, evaluates with a fresh flow stream, exports."""
  root = tmp_path_factory.mktemp('round_trip')
  data_dir = tiny_data_dir
  config = Config(name='tiny_rgb', dataset=DATASET, model='rgb',
                  model_kwargs={'width_multiplier': 1 / 16}, crop_size=32, batch_size=4,
                  base_lr=0.001, weight_decay=0.0, max_steps=3, eval_every=3, eval_batches=1,
                  checkpoint_every=3, log_every=1, data_dir=data_dir)
  rgb_path = os.path.join(str(root / 'rgb'), 'final.keras')
  experiments.run(config, str(root / 'rgb'))
  tf.keras.utils.set_random_seed(1)
  flow_model = models.flow_stream(num_classes=16, input_size=32, width_multiplier=1 / 16)
  summary = evaluation.run([rgb_path, flow_model], DATASET, 'test', out_dir=str(root / 'eval'),
                           data_dir=data_dir, batch_size=8)
  names = tfds.builder(DATASET, data_dir=data_dir).info.features['label'].names
  rgb_model = scoring.load_model(rgb_path)
  # No short side, no class names: export reads them from the dataset (of
  # the RGB model's config.json; given for the fresh flow stream).
  paths = release.export([rgb_path, flow_model], str(root / 'export'), dataset=DATASET,
                         data_dir=data_dir, evaluation=str(root / 'eval'), each=False)
  return {'root': root, 'data_dir': data_dir, 'summary': summary, 'paths': paths,
          'rgb': rgb_model, 'flow': flow_model, 'names': names,
          'predictor': release.Predictor(paths['two_stream'])}


def test_evaluate_counts_every_clip_and_writes_reports(world):
  summary = world['summary']
  assert summary['clips'] == {'expected': 16, 'scored': 16, 'failed': 0, 'failure_kinds': {},
                              'failures': []}
  assert set(summary['streams']) == {'rgb', 'flow', 'rgb+flow'}
  result = summary['result']
  fused = (result['scores']['rgb'] + result['scores']['flow']) / 2
  np.testing.assert_allclose(result['scores']['rgb+flow'], fused, rtol=1e-6)
  np.testing.assert_allclose(result['scores']['rgb'].sum(axis=1), 1.0, rtol=1e-5)
  top1 = np.mean(result['scores']['rgb'].argmax(1) == result['labels'])
  assert summary['streams']['rgb']['top1'] == pytest.approx(top1)
  assert {g['group'] for g in summary['groups']} == {'motion', 'appearance'}
  out = world['root'] / 'eval'
  for name in ('report.md', 'summary.json', 'per_class_accuracy_rgb_flow.png', 'flow_gain.csv',
               'top_confusions_rgb_flow.csv', 'confusion_matrix_rgb_flow.npy'):
    assert (out / name).is_file(), name


def test_saved_model_scores_as_the_keras_model(world):
  examples = tfds.load(DATASET, split='test[:2]', data_dir=world['data_dir'])
  predictor = world['predictor']
  result = world['summary']['result']
  for i, ex in enumerate(tfds.as_numpy(examples)):
    out = predictor.predict(ex['video'], ex['flow'])
    assert result['clips'][i] == ex['youtube_id'].decode()
    np.testing.assert_allclose(out['probabilities'], result['scores']['rgb+flow'][i], atol=1e-6)
    assert predictor.meta['short_side'] == 32 and predictor.meta['dataset'] == DATASET
    feats = np.concatenate([result['features']['rgb'][i], result['features']['flow'][i]])
    # Features reach 1e7 in an untrained net; float32 sums in another order differ ~2e-4.
    np.testing.assert_allclose(out['features'], feats, rtol=1e-3, atol=1e-6)
    best = np.argsort(-out['probabilities'], kind='stable')[:5]
    assert [n.decode() for n in out['top5_names']] == [world['names'][j] for j in best]


def test_predict_on_a_real_clip_equals_keras(world, fixture_videos):
  clip = str(fixture_videos / 'short_32frames_30fps.mp4')
  predictor = world['predictor']
  frames, flow = predict.load_clip(clip, predictor)
  # 32 frames at 30 fps (1.07 s) -> 27 at 25 fps; 340x256 -> shorter side 32: 43x32.
  assert frames.shape == (27, 32, 43, 3)
  assert flow.dtype == np.uint8 and flow.shape == (len(frames) - 1,) + frames.shape[1:3] + (2,)
  out = predictor.predict(frames, flow)
  dms = {**scoring.dense_models(world['rgb'], short_side=32),
         **scoring.dense_models(world['flow'], short_side=32)}
  rgb, _ = dms['rgb'].score(dms['rgb'].views(frames)[None])
  flo, _ = dms['flow'].score(dms['flow'].views(flow)[None])
  np.testing.assert_allclose(out['probabilities'], ((rgb + flo) / 2)[0].numpy(), atol=1e-6)


def test_cli_lists_signature_and_counts_failed_clips(world, fixture_videos, tmp_path):
  path = world['paths']['two_stream']
  shown = subprocess.run([sys.executable, '-m', SAVED_MODEL_CLI, 'show', '--all', '--dir', path],
                         capture_output=True, text=True, timeout=300)
  assert "signature_def['serving_default']" in shown.stdout
  for name in ("inputs['frames']", "inputs['flow']", "outputs['probabilities']",
               "outputs['top5_names']", "outputs['features']"):
    assert name in shown.stdout, name
  folder = tmp_path / 'videos'
  folder.mkdir()
  shutil.copy(fixture_videos / 'short_32frames_30fps.mp4', folder / 'good.mp4')
  (folder / 'broken.mp4').write_bytes(b'\x00' * 100)  # does not decode
  out_file = tmp_path / 'features.npz'
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  done = subprocess.run([sys.executable, '-m', 'kinetics_tf.predict', f'--model={path}',
                         f'--video={folder}', f'--features_out={out_file}'],
                        capture_output=True, text=True, timeout=600, env=env)
  assert done.returncode == 0, done.stderr[-2000:]
  assert '2 videos, 1 done, 1 failed' in done.stdout
  assert 'failed broken' in done.stdout and 'broken.mp4' in done.stdout
  saved = np.load(out_file)
  assert saved['videos'].tolist() == ['good'] and saved['failed'].tolist() == ['broken']
  assert saved['features'].shape == (1, 2 * 128) and saved['probabilities'].shape == (1, 16)


def test_bad_inputs_give_clear_errors(world, tmp_path):
  predictor = world['predictor']
  frames = np.zeros((5, 32, 32, 3), np.uint8)
  flow = np.zeros((4, 32, 32, 2), np.uint8)
  with pytest.raises(ValueError, match=r'frames must be uint8 \[T, H, W, 3\]; got float32'):
    predictor.predict(frames.astype(np.float32), flow)
  with pytest.raises(ValueError, match=r'flow must be uint8 \[T, H, W, 2\]; got uint8 \[4, 32, 32\]'):
    predictor.predict(frames, flow[..., 0])
  with pytest.raises(ValueError, match="needs 'flow'"):
    predictor.predict(frames, None)
  # At the signature itself: wrong dtype, wrong rank, wrong channels.
  sig = predictor.signature
  with pytest.raises((tf.errors.InvalidArgumentError, TypeError), match='uint8'):
    sig(frames=tf.zeros([5, 32, 32, 3], tf.float32), flow=tf.constant(flow))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r"serving input frames must be uint8 \[T, H, W, 3\]|not compatible"):
    sig(frames=tf.zeros([32, 32, 3], tf.uint8), flow=tf.constant(flow))
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"serving input flow must be uint8 \[T-1, H, W, 2\]"):
    sig(frames=tf.constant(frames), flow=tf.zeros([4, 32, 32, 3], tf.uint8))
  broken = tmp_path / 'broken.mp4'
  broken.write_bytes(b'not a video')
  with pytest.raises(flow_video.DecodeError, match='broken.mp4'):
    predict.predict_video(predictor, str(broken))
  with pytest.raises(FileNotFoundError, match='not a SavedModel written by kinetics_tf.export'):
    release.Predictor(str(tmp_path))


def test_short_or_unlabelled_clips_are_counted_not_dropped(world):
  dm = {**scoring.dense_models(world['rgb']), **scoring.dense_models(world['flow'])}
  rng = np.random.default_rng(0)
  clips = [(12, 'ok', 3), (1, 'one_frame', 3), (12, 'unlabelled', -1)]
  ds = tf.data.Dataset.from_generator(
      lambda: ({'video': rng.integers(0, 255, (t, 32, 32, 3), np.uint8),
                'flow': rng.integers(0, 255, (t - 1, 32, 32, 2), np.uint8),
                'label': label, 'youtube_id': name} for t, name, label in clips),
      output_signature={'video': tf.TensorSpec([None, 32, 32, 3], tf.uint8),
                        'flow': tf.TensorSpec([None, 32, 32, 2], tf.uint8),
                        'label': tf.TensorSpec([], tf.int64),
                        'youtube_id': tf.TensorSpec([], tf.string)})
  result = scoring.score_dataset(dm, ds, batch_size=2)
  assert result['clips'] == ['ok']
  assert result['scores']['rgb+flow'].shape == (1, 16)
  assert result['failures'] == [
      {'clip': 'one_frame', 'kind': 'too_short',
       'reason': 'one_frame: 1 frame: flow needs at least 2 frames'},
      {'clip': 'unlabelled', 'kind': 'unlabelled',
       'reason': 'unlabelled: the clip has no label (label -1), so accuracy cannot count it'}]
