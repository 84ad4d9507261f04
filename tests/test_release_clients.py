"""Released SavedModels in the clients their users run, with the project's modules hidden.

Tiny RGB and flow streams (config.json beside them naming the tiny set, as
kinetics_tf.train writes it) are evaluated, then exported by the binary with
no --short_side and converted to TFLite and ONNX.  Each client then runs in a
Python that cannot import kinetics_tf or flow (site-packages without their
.pth files, cwd outside the repository), as a user with only tensorflow-cpu,
tensorflow-datasets (and onnxruntime) has it: the TF2 loader, the TF1
session loader (the path of TF Serving's C++ loader), ``saved_model_cli
run``, ``keras.layers.TFSMLayer``, the TFLite interpreter and onnxruntime.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from kinetics_tf import conversions
from kinetics_tf import evaluation
from kinetics_tf import models
from kinetics_tf import predict

from conftest import hidden_python

DATASET = 'synthetic_actions/tiny'  # 16 classes, 32x32, 12 frames, 1 test clip per class.
NUM_CLIPS = 2

_CLIENTS = '''
import json, os, sys, warnings
import keras, numpy as np, onnxruntime, tensorflow as tf, tensorflow_datasets as tfds
warnings.simplefilter('ignore')
args = json.loads(sys.argv[1])
feeds = []
for i, ex in enumerate(tfds.as_numpy(tfds.load(
    args['dataset'], split=f"test[:{args['clips']}]", data_dir=args['data_dir']))):
  feeds.append({'frames': ex['video'],
                'flow': np.concatenate([ex['flow']['x'], ex['flow']['y']], axis=-1)})
  np.savez(f'clip{i}.npz', **feeds[-1])
out = {}
for kind, inputs in args['kinds'].items():
  path = os.path.join(args['export'], kind)
  clips = [{n: f[n] for n in inputs} for f in feeds]
  serve = tf.saved_model.load(path).signatures['serving_default']
  out[f'tf2/{kind}'] = [serve(**c)['probabilities'] for c in clips]
  with tf.compat.v1.Session(graph=tf.Graph()) as sess:
    sig = tf.compat.v1.saved_model.loader.load(sess, ['serve'], path).signature_def[
        'serving_default']
    out[f'tf1/{kind}'] = [sess.run(sig.outputs['probabilities'].name,
                                   {sig.inputs[n].name: v for n, v in c.items()})
                          for c in clips]
  layer = keras.layers.TFSMLayer(path)  # its default endpoint, 'serve'
  out[f'tfsm/{kind}'] = [layer(c if len(c) == 2 else c[inputs[0]])['probabilities']
                         for c in clips]
  runner = tf.lite.Interpreter(model_path=path + '.tflite').get_signature_runner()
  out[f'tflite/{kind}'] = [runner(**c)['probabilities'] for c in clips]
  session = onnxruntime.InferenceSession(path + '.onnx')
  at = [o.name for o in session.get_outputs()].index('probabilities')
  out[f'onnx/{kind}'] = [session.run(None, c)[at] for c in clips]
np.savez(args['out'], **{k: np.stack([np.asarray(p) for p in v]) for k, v in out.items()})
'''


@pytest.fixture(scope='module')
def released(tmp_path_factory, tiny_data_dir):
  """Fresh tiny streams saved as kinetics_tf.train does, evaluated, then exported by the binary."""
  root = tmp_path_factory.mktemp('clients')
  tf.keras.utils.set_random_seed(3)
  files = []
  for name, build in (('rgb', models.rgb_stream), ('flow', models.flow_stream)):
    (root / name).mkdir()
    build(num_classes=16, input_size=32, width_multiplier=1 / 16).save(root / name / 'final.keras')
    (root / name / 'config.json').write_text(json.dumps(
        {'dataset': DATASET, 'data_dir': tiny_data_dir, 'model': name, 'crop_size': 32}))
    files.append(str(root / name / 'final.keras'))
  summary = evaluation.run(files, DATASET, f'test[:{NUM_CLIPS}]', out_dir=str(root / 'eval'),
                           data_dir=tiny_data_dir, batch_size=4)
  done = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.export', *(f'--model={f}' for f in files),
       f'--out_dir={root / "export"}', f'--evaluation={root / "eval"}',
       '--convert=tflite', '--convert=onnx', '--clip_shape=12,32,32'],
      capture_output=True, text=True, timeout=900, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  assert done.returncode == 0, done.stderr[-3000:]
  return {'root': root, 'data_dir': tiny_data_dir, 'scores': summary['result']['scores'],
          'export': root / 'export', 'stdout': done.stdout}


@pytest.fixture(scope='module')
def client_scores(released, tmp_path_factory):
  work = tmp_path_factory.mktemp('user')
  args = {'dataset': DATASET, 'data_dir': released['data_dir'], 'clips': NUM_CLIPS,
          'export': str(released['export']), 'out': str(work / 'scores.npz'),
          'kinds': {'rgb': ['frames'], 'flow': ['flow'], 'two_stream': ['frames', 'flow']}}
  done = hidden_python(_CLIENTS, json.dumps(args), cwd=work)
  assert done.returncode == 0, done.stderr[-3000:]
  return dict(np.load(work / 'scores.npz')), work


def test_export_takes_the_stored_side_from_the_models_dataset(released):
  meta = json.loads((released['export'] / 'two_stream' / 'kinetics_tf.json').read_text())
  assert meta['short_side'] == 32 and meta['dataset'] == DATASET
  assert meta['short_side_from'] == f'the stored frames of {DATASET}'
  assert 'shorter side 32, from the stored frames' in released['stdout']


@pytest.mark.parametrize('kind, stream', [('rgb', 'rgb'), ('flow', 'flow'),
                                          ('two_stream', 'rgb+flow')])
def test_every_client_scores_as_evaluate(client_scores, released, kind, stream):
  scores, _ = client_scores
  want = released['scores'][stream]
  assert want.shape == (NUM_CLIPS, 16)
  print(f'{kind}: max |dp| release-evaluate {np.abs(scores[f"tf2/{kind}"] - want).max():.1e}; '
        'against the release: ' + ', '.join(
            f'{c} {np.abs(scores[f"{c}/{kind}"] - scores[f"tf2/{kind}"]).max():.1e}'
            for c in ('tf1', 'tfsm', 'tflite', 'onnx')))
  # The release against evaluate (the target: 1e-5).
  np.testing.assert_allclose(scores[f'tf2/{kind}'], want, rtol=0, atol=1e-5)
  # The session loader and TFSMLayer run the same graph.
  np.testing.assert_allclose(scores[f'tf1/{kind}'], scores[f'tf2/{kind}'], rtol=0, atol=1e-6)
  np.testing.assert_allclose(scores[f'tfsm/{kind}'], scores[f'tf2/{kind}'], rtol=0, atol=1e-6)
  # Converted models against the SavedModel.
  np.testing.assert_allclose(scores[f'tflite/{kind}'], scores[f'tf2/{kind}'], rtol=0, atol=1e-4)
  np.testing.assert_allclose(scores[f'onnx/{kind}'], scores[f'tf2/{kind}'], rtol=0, atol=1e-4)


def test_saved_model_cli_run(client_scores, released):
  scores, work = client_scores
  path = released['export'] / 'two_stream'
  code = ("import runpy; sys.argv = ['saved_model_cli'] + sys.argv[1:]; "
          "runpy.run_module('tensorflow.python.tools.saved_model_cli', run_name='__main__')")
  done = hidden_python(code, 'run', '--dir', str(path), '--tag_set', 'serve',
                       '--signature_def', 'serving_default',
                       '--inputs', 'frames=clip0.npz[frames];flow=clip0.npz[flow]',
                       '--outdir', str(work / 'cli'), '--overwrite', cwd=work)
  assert done.returncode == 0, done.stderr[-3000:]
  got = np.load(work / 'cli' / 'probabilities.npy')
  np.testing.assert_allclose(got, scores['tf2/two_stream'][0], rtol=0, atol=1e-6)


def test_flow_of_another_length_or_size_is_refused(released, tmp_path):
  code = '''
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default']
frames = tf.zeros([12, 32, 32, 3], tf.uint8)
for flow in (tf.zeros([12, 32, 32, 2], tf.uint8), tf.zeros([7, 32, 32, 2], tf.uint8),
             tf.zeros([11, 16, 16, 2], tf.uint8)):
  try:
    serve(frames=frames, flow=flow)
    print('accepted', flow.shape)
  except tf.errors.InvalidArgumentError as e:
    print('refused:', ' '.join(e.message.split()))
'''
  done = hidden_python(code, str(released['export'] / 'two_stream'), cwd=tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  lines = done.stdout.splitlines()
  assert len(lines) == 3 and all(l.startswith('refused:') for l in lines), lines
  assert all('flow must have T-1 fields' in l for l in lines), lines


def test_model_card_beside_each_release(released):
  card = (released['export'] / 'two_stream' / 'README.md').read_text()
  assert 'Table 4, Kinetics RGB+Flow top-1 / top-5: 61.0 / 81.3' in card
  assert f'`{DATASET}`' in card and 'clips per split: ' in card
  assert f'{NUM_CLIPS} clips found, {NUM_CLIPS} scored, 0 failed' in card
  assert 'resized to 32 (from the stored frames' in card
  assert 'saved_model_cli run --dir .' in card and 'TFSMLayer' in card
  assert '## Classes (16, in output order)' in card
  for kind in ('rgb', 'flow'):
    assert (released['export'] / kind / 'README.md').is_file()


_CONVERTED = '''
import numpy as np, onnxruntime, tensorflow as tf
path, clip = sys.argv[1], dict(np.load(sys.argv[2]))
want = tf.saved_model.load(path).signatures['serving_default'](**clip)['probabilities']
lite = tf.lite.Interpreter(model_path=sys.argv[3]).get_signature_runner()(**clip)
session = onnxruntime.InferenceSession(sys.argv[4])
at = [o.name for o in session.get_outputs()].index('probabilities')
onnx = session.run(None, clip)[at]
print(np.abs(lite['probabilities'] - want).max(), np.abs(onnx - want).max())
'''


def test_converted_models_on_a_real_clip(released, fixture_videos, tmp_path):
  path = str(released['export'] / 'two_stream')
  frames, flow = predict.load_clip(str(fixture_videos / 'short_32frames_30fps.mp4'),
                                   predict.Predictor(path))
  assert frames.shape == (27, 32, 43, 3)  # 25 fps, shorter side 32
  np.savez(tmp_path / 'clip.npz', frames=frames, flow=flow)
  shape = frames.shape[:3]
  lite = conversions.tflite(path, str(tmp_path / 'm.tflite'), shape)
  onnx = conversions.onnx(path, str(tmp_path / 'm.onnx'), shape)
  done = hidden_python(_CONVERTED, path, str(tmp_path / 'clip.npz'), lite, onnx, cwd=tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  lite_diff, onnx_diff = map(float, done.stdout.split())
  print(f'real clip: max |dp| TFLite {lite_diff:.2e}, ONNX {onnx_diff:.2e}')
  assert lite_diff <= 1e-4 and onnx_diff <= 1e-4


def test_export_refuses_a_side_below_the_crop(released, tmp_path):
  env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
  done = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.cli', 'export',
       f'--model={released["root"] / "rgb" / "final.keras"}', '--short_side=16',
       f'--out_dir={tmp_path}'], capture_output=True, text=True, timeout=300, env=env)
  assert done.returncode == 2, done.stderr[-2000:]
  assert done.stderr.splitlines() == [
      'kinetics-tf export: error: shorter side 16 (given (--short_side)) is smaller than '
      'the 32x32 crop of the rgb model; give --short_side >= 32']
