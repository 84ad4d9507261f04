"""SavedModel release of trained models (§5: "we will release trained baseline models").

  python -m kinetics_tf.export --model=runs/rgb/model.keras \
      --model=runs/flow/model.keras --dataset=synthetic_actions/tiny --out_dir=export/

writes one SavedModel per model (``export/rgb``, ``export/flow``, ...) and, for
an RGB and a flow stream, the fused ``export/two_stream``.  Each serves the
dense test protocol of Table 3 on one raw video:

  inputs   frames  uint8 [T, H, W, 3] RGB at 25 fps (any size: the shorter
                   side is resized to ``short_side``, then centre-cropped)
           flow    uint8 [T-1, H, W, 2] TV-L1 flow, quantised as flow.quantize
                   (flow and two-stream models; see docs/releasing_models.md)
  outputs  probabilities [C], top5_names [5], top5_probabilities [5],
           top5_indices [5], features [D] (pooled, averaged over snapshots)

``kinetics_tf.json`` beside ``saved_model.pb`` records the protocol
(kind, inputs, crop, short_side, class names) for ``kinetics_tf.predict``.
"""

import json
import os
from typing import Mapping, Sequence

from absl import app
from absl import flags
import keras
import tensorflow as tf

from kinetics_tf import app as cli_app
from kinetics_tf import constants
from kinetics_tf import evaluate
from kinetics_tf.input import dense

METADATA = 'kinetics_tf.json'
SIGNATURE = 'serving_default'
TOP_K = 5
# Any rank at the signature, so that a wrong rank reaches the checks of
# _checked (a rank-4 spec is not enforced by TF and would fail deep inside).
FRAMES_SPEC = tf.TensorSpec(None, tf.uint8, name='frames')
FLOW_SPEC = tf.TensorSpec(None, tf.uint8, name='flow')
_EXPECTED = {'frames': 'uint8 [T, H, W, 3] RGB frames at 25 fps',
             'flow': 'uint8 [T-1, H, W, 2] quantised TV-L1 flow (x, y) at 25 fps'}


def _checked(x, name: str) -> tf.Tensor:
  """Fails with a message naming the input unless ``x`` is [T, H, W, C] with the right C."""
  channels = 3 if name == 'frames' else 2
  ok = tf.logical_and(tf.equal(tf.rank(x), 4),
                      tf.reduce_all(tf.equal(tf.shape(x)[-1:], channels)))
  check = tf.debugging.Assert(ok, [f'serving input {name} must be {_EXPECTED[name]}; got shape',
                                   tf.shape(x)])
  with tf.control_dependencies([check]):
    return tf.ensure_shape(tf.identity(x), [None, None, None, channels])


def default_short_side(kind: str, crop: int) -> int:
  """The shorter side that keeps the paper's ratio to the crop (§4.4: 340/299, 128/112)."""
  if kind == 'c3d':
    return int(round(crop * constants.C3D_SHORT_SIDE / constants.C3D_CROP))
  return int(round(crop * constants.RESNET_SHORT_SIDE / constants.RESNET_CROP))


def _outputs(probs, names, features: Mapping[str, tf.Tensor]) -> dict:
  top = tf.math.top_k(probs, k=min(TOP_K, len(names)))
  out = {'probabilities': probs, 'top5_names': tf.gather(tf.constant(list(names)), top.indices),
         'top5_probabilities': top.values, 'top5_indices': top.indices}
  out.update(features)
  return out


def serving_fn(dms: Mapping[str, evaluate.DenseModel], class_names: Sequence[str]):
  """The serving function of one model ({kind: dm}) or of the fused two streams."""
  if set(dms) == {'rgb', 'flow'}:
    rgb, flo = dms['rgb'], dms['flow']

    def serve_two_stream(frames, flow):
      frames, flow = _checked(frames, 'frames'), _checked(flow, 'flow')
      rgb_probs, rgb_feats = rgb.score(rgb.views(frames)[None])
      flow_probs, flow_feats = flo.score(flo.views(flow)[None])
      probs = dense.fuse(rgb_probs, flow_probs)[0]
      return _outputs(probs, class_names, {
          'features': tf.concat([rgb_feats[0], flow_feats[0]], axis=-1),
          'rgb_probabilities': rgb_probs[0], 'flow_probabilities': flow_probs[0]})

    return serve_two_stream, [FRAMES_SPEC, FLOW_SPEC]
  (dm,) = dms.values()

  spec = FLOW_SPEC if dm.kind == 'flow' else FRAMES_SPEC

  def serve(video):
    video = _checked(video, spec.name)
    probs, feats = dm.score(dm.views(video)[None])
    return _outputs(probs[0], class_names, {'features': feats[0]})

  return serve, [spec]


def export_one(dms: Mapping[str, evaluate.DenseModel], class_names: Sequence[str],
               path: str) -> str:
  """Writes one SavedModel serving ``dms`` (one kind, or 'rgb' + 'flow' fused) to ``path``.

  Raises:
    ValueError: the class list does not match the models' outputs.
  """
  for dm in dms.values():
    if dm.model.output_shape[-1] != len(class_names):
      raise ValueError(f'{dm.model.name} outputs {dm.model.output_shape[-1]} classes but '
                       f'{len(class_names)} class names were given; pass the class list of '
                       'the dataset it was trained on (--dataset or --class_names)')
  fn, signature = serving_fn(dms, class_names)
  module = tf.Module()
  module.nets = [dm.net for dm in dms.values()]  # tracks the weights
  module.serve = tf.function(fn, input_signature=signature)
  tf.saved_model.save(module, path, signatures={SIGNATURE: module.serve.get_concrete_function()})
  meta = {
      'kind': 'two_stream' if len(dms) == 2 else next(iter(dms)),
      'inputs': [s.name for s in signature],
      'signature': SIGNATURE,
      'fps': constants.FPS,
      'flow_bound': constants.FLOW_BOUND,
      'streams': {k: {'model': dm.model.name, 'crop': dm.crop, 'short_side': dm.short_side,
                      'flip': dm.flip, 'normalization': dm.normalization,
                      'views_per_clip': dm.views_per_clip} for k, dm in dms.items()},
      'short_side': max(dm.short_side for dm in dms.values()),
      'class_names': list(class_names),
  }
  with open(os.path.join(path, METADATA), 'w') as f:
    json.dump(meta, f, indent=2)
  return path


def run(models: keras.Model | str | Sequence[keras.Model | str], out_dir: str,
        class_names: Sequence[str], *, short_side: int | None = None, flip: bool = False,
        normalization: str = 'unit', each: bool = True) -> dict[str, str]:
  """Exports each model, and the fused two-stream when an RGB and a flow stream are given.

  Args:
    models: trained models (Keras objects or .keras paths); a TwoStream
      counts as its two streams.
    out_dir: parent folder; each SavedModel goes to ``out_dir/<kind>``.
    class_names: the C class names in index order (top-5 names).
    short_side: shorter side raw frames are resized to (default: the
      paper's ratio to each model's crop, ``default_short_side``); give the
      frame size the model was trained on.
    flip: serve flip-averaged scores (off by default, as in the paper).
    normalization: 'unit' or 'imagenet', as in training.
    each: export every model on its own; with False and an RGB and a flow
      stream, only the fused two-stream is written.

  Returns:
    kind -> SavedModel path ('rgb', 'flow', 'c3d', 'convnet_lstm', 'two_stream').
  """
  models = list(models) if isinstance(models, (list, tuple)) else [models]
  dms = {}
  for m in models:
    m = evaluate.load_model(m) if isinstance(m, str) else m
    for kind, dm in evaluate.dense_models(m, flip=flip, normalization=normalization).items():
      dm.short_side = short_side or default_short_side(kind, dm.crop)
      dms[kind] = dm
  paths = {}
  fused = 'rgb' in dms and 'flow' in dms
  for kind, dm in dms.items():
    if each or not fused or kind not in ('rgb', 'flow'):
      paths[kind] = export_one({kind: dm}, class_names, os.path.join(out_dir, kind))
  if fused:
    paths['two_stream'] = export_one({'rgb': dms['rgb'], 'flow': dms['flow']}, class_names,
                                     os.path.join(out_dir, 'two_stream'))
  for kind, path in paths.items():
    print(f'export: {kind} -> {path}')
  return paths


def class_names_for(dataset: str | None, names_file: str | None,
                    data_dir: str | None = None) -> list[str]:
  """The class list from a file (one name per line), a TFDS dataset, or Kinetics-400."""
  if names_file:
    with open(names_file) as f:
      return [line.strip() for line in f if line.strip()]
  if dataset:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    return list(tfds.builder(dataset, data_dir=data_dir).info.features['label'].names)
  from kinetics_tf.data import classes  # pylint: disable=g-import-not-at-top
  return list(classes.CLASS_NAMES)


FLAGS = flags.FLAGS


def define_flags():
  """Defines the binary's flags (only when run as a program, so modules import cleanly)."""
  flags.DEFINE_multi_string('model', None, 'Trained model(s): .keras files (or folders with one).')
  flags.DEFINE_string('out_dir', None, 'Parent folder of the SavedModels.')
  flags.DEFINE_string('dataset', None, 'TFDS name/config whose class list the models predict '
                      '(default: Kinetics-400).')
  flags.DEFINE_string('data_dir', None, 'TFDS data_dir.')
  flags.DEFINE_string('class_names', None, 'Text file, one class name per line (overrides --dataset).')
  flags.DEFINE_integer('short_side', None, 'Shorter side raw frames are resized to '
                       '(default: 340/299 or 128/112 of the crop).')
  flags.DEFINE_bool('flip', False, 'Serve flip-averaged scores.')
  flags.DEFINE_bool('each', True, 'Also export the RGB and flow streams on their own '
                    '(besides the fused two-stream).')
  flags.DEFINE_enum('normalization', 'unit', ['unit', 'imagenet'], 'RGB scaling, as in training.')


def main(argv):
  del argv
  if not FLAGS.model or not FLAGS.out_dir:
    raise app.UsageError('--model and --out_dir are required')
  if FLAGS.dataset and not FLAGS.class_names:
    cli_app.check_dataset(FLAGS.dataset)
  names = class_names_for(FLAGS.dataset, FLAGS.class_names, FLAGS.data_dir)
  run(FLAGS.model, FLAGS.out_dir, names, short_side=FLAGS.short_side, flip=FLAGS.flip,
      normalization=FLAGS.normalization, each=FLAGS.each)


if __name__ == '__main__':
  define_flags()
  cli_app.run(main, 'export')
