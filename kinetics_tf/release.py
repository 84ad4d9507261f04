"""The release format (§5: "we will release trained baseline models"): SavedModels and their metadata.

``export`` writes one SavedModel per model (``out_dir/rgb``, ``out_dir/flow``,
...) and, for an RGB and a flow stream, the fused ``out_dir/two_stream``.  Each
serves the dense test protocol of Table 3 on one raw video:

  inputs   frames  uint8 [T, H, W, 3] RGB at 25 fps (any size: the shorter
                   side is resized to ``short_side``, then centre-cropped)
           flow    uint8 [T-1, H, W, 2] TV-L1 flow, quantised as flow.quantize
                   (flow and two-stream models; see docs/releasing_models.md)
  outputs  probabilities [C], top5_names [5], top5_probabilities [5],
           top5_indices [5], features [D] (pooled, averaged over snapshots)

Two endpoints serve the same function: ``serving_default`` takes the inputs
as named tensors (TF Serving, ``saved_model_cli``, the TF2 and TF1 loaders),
``serve`` takes one tensor, or for two_stream one dict {'frames', 'flow'}
(``keras.layers.TFSMLayer``'s default endpoint).  The SavedModel is written by
``keras.export.ExportArchive``: a Keras 3 model saved as an attribute of a
plain ``tf.Module`` does not restore in the session-based (TF1) loader that
TF Serving's C++ loader also uses.

``METADATA`` (``kinetics_tf.json``) beside ``saved_model.pb`` records the
protocol (kind, inputs, crop, short_side, class names, the dataset) and
``model_card.write`` a README.md; ``Predictor`` reads the metadata back and
runs the signature.  Which input a model serves on is its row's
``serving_input`` in ``kinetics_tf.model_table``.
"""

import dataclasses
import json
import os
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import tensorflow as tf

from kinetics_tf import constants
from kinetics_tf import errors
from kinetics_tf import model_table
from kinetics_tf.input import dense

if TYPE_CHECKING:  # Predictor needs no Keras: export imports scoring itself.
  import keras  # pylint: disable=g-bad-import-order
  from kinetics_tf import scoring

METADATA = 'kinetics_tf.json'
SIGNATURE = 'serving_default'
DICT_ENDPOINT = 'serve'  # keras.layers.TFSMLayer's default call_endpoint
TOP_K = 5
SERVING_SPECS = {'frames': tf.TensorSpec([None, None, None, 3], tf.uint8, name='frames'),
                 'flow': tf.TensorSpec([None, None, None, 2], tf.uint8, name='flow')}
FRAMES_SPEC, FLOW_SPEC = SERVING_SPECS['frames'], SERVING_SPECS['flow']
_CHANNELS = {'frames': 3, 'flow': 2}
_EXPECTED = {'frames': 'uint8 [T, H, W, 3] RGB frames at 25 fps',
             'flow': 'uint8 [T-1, H, W, 2] quantised TV-L1 flow (x, y) at 25 fps'}


def _checked(x, name: str) -> tf.Tensor:
  """Fails with a message naming the input unless ``x`` is [T, H, W, C] with the right C."""
  channels = _CHANNELS[name]
  ok = tf.logical_and(tf.equal(tf.rank(x), 4),
                      tf.reduce_all(tf.equal(tf.shape(x)[-1:], channels)))
  check = tf.debugging.Assert(ok, [f'serving input {name} must be {_EXPECTED[name]}; got shape',
                                   tf.shape(x)])
  with tf.control_dependencies([check]):
    return tf.ensure_shape(tf.identity(x), [None, None, None, channels])


def _matching_flow(frames, flow) -> tf.Tensor:
  """``flow`` unless it does not have T-1 fields of the frames' size (then an error)."""
  want = tf.concat([[tf.shape(frames)[0] - 1], tf.shape(frames)[1:3]], axis=0)
  ok = tf.reduce_all(tf.equal(tf.shape(flow)[:3], want))
  check = tf.debugging.Assert(ok, [
      'serving input flow must have T-1 fields of the frames\' size [T-1, H, W, 2] '
      '(flow of the same frames, as flow.quantised_flow computes it); frames',
      tf.shape(frames), 'flow', tf.shape(flow)])
  with tf.control_dependencies([check]):
    return tf.identity(flow)


def default_short_side(kind: str, crop: int) -> int:
  """The shorter side that keeps the paper's ratio to the crop (§4.4: 340/299, 128/112)."""
  row = model_table.row(kind)
  return int(round(crop * row.short_side / row.crop))


def _outputs(probs, names, features: Mapping[str, tf.Tensor]) -> dict:
  top = tf.math.top_k(probs, k=min(TOP_K, len(names)))
  out = {'probabilities': probs, 'top5_names': tf.gather(tf.constant(list(names)), top.indices),
         'top5_probabilities': top.values, 'top5_indices': top.indices}
  out.update(features)
  return out


def serving_fn(dms: Mapping[str, 'scoring.DenseModel'], class_names: Sequence[str]):
  """The serving function of one model ({kind: dm}) or of the fused two streams."""
  if set(dms) == set(model_table.FUSED_STREAMS):
    rgb, flo = dms['rgb'], dms['flow']
    rgb_spec, flow_spec = (SERVING_SPECS[d.row.serving_input] for d in (rgb, flo))

    def serve_two_stream(frames, flow):
      frames, flow = _checked(frames, rgb_spec.name), _checked(flow, flow_spec.name)
      flow = _matching_flow(frames, flow)
      rgb_probs, rgb_feats = rgb.score(rgb.views(frames)[None])
      flow_probs, flow_feats = flo.score(flo.views(flow)[None])
      probs = dense.fuse(rgb_probs, flow_probs)[0]
      return _outputs(probs, class_names, {
          'features': tf.concat([rgb_feats[0], flow_feats[0]], axis=-1),
          'rgb_probabilities': rgb_probs[0], 'flow_probabilities': flow_probs[0]})

    return serve_two_stream, [rgb_spec, flow_spec]
  (dm,) = dms.values()
  spec = SERVING_SPECS[dm.row.serving_input]

  def serve(video):
    video = _checked(video, spec.name)
    probs, feats = dm.score(dm.views(video)[None])
    return _outputs(probs[0], class_names, {'features': feats[0]})

  return serve, [spec]


def write_metadata(path: str, meta: dict) -> str:
  """Writes ``meta`` as ``path/METADATA``; returns the file's path."""
  out = os.path.join(path, METADATA)
  with open(out, 'w') as f:
    json.dump(meta, f, indent=2)
  return out


def read_metadata(path: str) -> dict:
  """The metadata of a SavedModel folder written by :func:`export_one`.

  Raises:
    FileNotFoundError: ``path`` holds no METADATA (not exported here).
  """
  meta_path = os.path.join(path, METADATA)
  if not os.path.isfile(meta_path):
    raise FileNotFoundError(f'{path}: not a SavedModel written by kinetics_tf.export '
                            f'({METADATA} is missing); export the model first')
  with open(meta_path) as f:
    return json.load(f)


def _archive(dms: Mapping[str, 'scoring.DenseModel'], class_names: Sequence[str]):
  """A keras.export.ExportArchive with the two endpoints of the module docstring."""
  import keras  # pylint: disable=g-import-not-at-top,redefined-outer-name
  fn, signature = serving_fn(dms, class_names)
  archive = keras.export.ExportArchive()
  for dm in dms.values():
    archive.track(dm.net)
  archive.add_endpoint(SIGNATURE, fn, input_signature=signature)
  if len(signature) == 1:
    archive.add_endpoint(DICT_ENDPOINT, fn, input_signature=signature)
  else:
    names = [s.name for s in signature]
    archive.add_endpoint(DICT_ENDPOINT, lambda inputs: fn(*(inputs[n] for n in names)),
                         input_signature=[{s.name: s for s in signature}])
  return archive, signature


def export_one(dms: Mapping[str, 'scoring.DenseModel'], class_names: Sequence[str],
               path: str, info: Mapping | None = None) -> str:
  """Writes one SavedModel serving ``dms`` (one kind, or 'rgb' + 'flow' fused) to ``path``.

  ``info`` adds to the metadata (the dataset, where the short side came from,
  the evaluation); a model card (README.md) is written from it.

  Raises:
    ValueError: the class list does not match the models' outputs.
  """
  from kinetics_tf import model_card  # pylint: disable=g-import-not-at-top
  for dm in dms.values():
    if dm.model.output_shape[-1] != len(class_names):
      raise ValueError(f'{dm.model.name} outputs {dm.model.output_shape[-1]} classes but '
                       f'{len(class_names)} class names were given; pass the class list of '
                       'the dataset it was trained on (--dataset or --class_names)')
  archive, signature = _archive(dms, class_names)
  archive.write_out(path, verbose=False)
  meta = {
      'kind': model_table.TWO_STREAM if len(dms) == 2 else next(iter(dms)),
      'inputs': [s.name for s in signature],
      'signature': SIGNATURE,
      'dict_endpoint': DICT_ENDPOINT,
      'fps': constants.FPS,
      'flow_bound': constants.FLOW_BOUND,
      'streams': {k: {'model': dm.model.name, 'crop': dm.crop, 'short_side': dm.short_side,
                      'flip': dm.flip, 'views_per_clip': dm.views_per_clip,
                      'footprint': dataclasses.asdict(dm.spec)}
                  for k, dm in dms.items()},
      'short_side': max(dm.short_side for dm in dms.values()),
      **dict(info or {}),
      'class_names': list(class_names),
  }
  write_metadata(path, meta)
  model_card.write(path, meta)
  return path


def training_config(path: str) -> dict:
  """The config.json kinetics_tf.train wrote beside a model file ({} when there is none)."""
  folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
  try:
    with open(os.path.join(folder, 'config.json')) as f:
      config = json.load(f)
  except (OSError, ValueError):
    return {}
  return config if isinstance(config, dict) else {}


def stored_short_side(dataset: str, data_dir: str | None = None) -> int | None:
  """The shorter side of a TFDS dataset's stored frames (None: it varies from clip to clip).

  The config's ``short_side`` (every clip resized to it), else the fixed
  height and width of its ``video`` (or ``flow``) feature.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  builder = tfds.builder(dataset, data_dir=data_dir)
  side = getattr(builder.builder_config, 'short_side', None)
  if side:
    return int(side)
  features = builder.info.features
  feature = features['video'] if 'video' in features else features['flow']
  if isinstance(feature, tfds.features.FeaturesDict):  # flow stored per field
    feature = feature['x']
  height, width = feature.shape[1:3]
  return int(min(height, width)) if height and width else None


def _split_counts(dataset: str, data_dir: str | None) -> dict | None:
  """Examples per split of a built dataset (None when it is not built here)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  builder = tfds.builder(dataset, data_dir=data_dir)
  if not builder.is_prepared():
    return None
  return {name: s.num_examples for name, s in builder.info.splits.items()}


def _preprocessing(model, dataset: str | None, data_dir: str | None,
                   short_side: int | None) -> tuple[int | None, dict]:
  """(shorter side, where it came from) for one model: what ``evaluate`` fed it."""
  config = training_config(model) if isinstance(model, str) else {}
  dataset = dataset or config.get('dataset')
  data_dir = data_dir or config.get('data_dir')
  info = {'dataset': dataset, 'data_dir': data_dir, 'training_config': config or None,
          'split_counts': _split_counts(dataset, data_dir) if dataset else None}
  if short_side:
    return short_side, {**info, 'short_side_from': 'given (--short_side)'}
  if dataset:
    side = stored_short_side(dataset, data_dir)
    if side:
      return side, {**info, 'short_side_from': f'the stored frames of {dataset}'}
  return None, {**info, 'short_side_from': "the paper's ratio to the crop (§4.4)"}


def export(models: 'keras.Model | str | Sequence[keras.Model | str]', out_dir: str,
           class_names: Sequence[str] | None = None, *, dataset: str | None = None,
           data_dir: str | None = None, short_side: int | None = None, flip: bool = False,
           each: bool = True, evaluation: str | None = None) -> dict[str, str]:
  """Exports each model, and the fused two-stream when an RGB and a flow stream are given.

  Every preprocessing fact comes from the model and its data, so that a
  release scores a clip as ``kinetics_tf.evaluate`` does: the crop and the
  footprints are the model's, the shorter side that of the stored frames of
  ``dataset`` (default: the ``dataset`` of the config.json that
  kinetics_tf.train wrote beside a model file), the class names the dataset's.

  Args:
    models: trained models (Keras objects or .keras paths); a TwoStream
      counts as its two streams.
    out_dir: parent folder; each SavedModel goes to ``out_dir/<kind>``.
    class_names: the C class names in index order (default: the dataset's,
      else Kinetics-400's).
    dataset, data_dir: the TFDS dataset the models were trained and evaluated
      on (default: from each model's config.json).
    short_side: override the shorter side raw frames are resized to
      (default: the dataset's stored side, else the paper's ratio to the crop).
    flip: serve flip-averaged scores (off by default, as in the paper).
    each: export every model on its own; with False and an RGB and a flow
      stream, only the fused two-stream is written.
    evaluation: an ``evaluate`` --out_dir (or its summary.json) for the
      model card's evaluation table.

  Returns:
    kind -> SavedModel path ('rgb', 'flow', 'c3d', 'convnet_lstm', 'two_stream').
  """
  from kinetics_tf import scoring  # pylint: disable=g-import-not-at-top,redefined-outer-name
  models = list(models) if isinstance(models, (list, tuple)) else [models]
  dms, infos = {}, {}
  for m in models:
    side, info = _preprocessing(m, dataset, data_dir, short_side)
    m = scoring.load_model(m) if isinstance(m, str) else m
    for kind, dm in scoring.dense_models(m, flip=flip).items():
      served = side or default_short_side(kind, dm.crop)
      if served < dm.crop:
        raise errors.UserError(
            f'shorter side {served} ({info["short_side_from"]}) is smaller than the '
            f'{dm.crop}x{dm.crop} crop of the {kind} model; give --short_side >= {dm.crop}')
      dms[kind], infos[kind] = dataclasses.replace(dm, short_side=served), info
  first = next(iter(infos.values()))
  if class_names is None:
    class_names = class_names_for(first['dataset'], None, first['data_dir'])
  extra = {'evaluation': read_evaluation(evaluation)} if evaluation else {}
  paths = {}
  fused = all(k in dms for k in model_table.FUSED_STREAMS)
  for kind, dm in dms.items():
    if each or not fused or kind not in model_table.FUSED_STREAMS:
      paths[kind] = export_one({kind: dm}, class_names, os.path.join(out_dir, kind),
                               {**infos[kind], **extra})
  if fused:
    paths[model_table.TWO_STREAM] = export_one(
        {k: dms[k] for k in model_table.FUSED_STREAMS}, class_names,
        os.path.join(out_dir, model_table.TWO_STREAM), {**infos['rgb'], **extra})
  for kind, path in paths.items():
    print(f'export: {kind} -> {path} (shorter side {read_metadata(path)["short_side"]}, '
          f'from {infos.get(kind, infos["rgb"])["short_side_from"]})')
  return paths


def read_evaluation(path: str) -> dict:
  """The clip counts and accuracies of an evaluate --out_dir (or its summary.json).

  Raises:
    FileNotFoundError: no summary.json there.
  """
  file = os.path.join(path, 'summary.json') if os.path.isdir(path) else path
  if not os.path.isfile(file):
    raise FileNotFoundError(f'{path}: no summary.json of kinetics_tf.evaluate there; pass '
                            "evaluate's --out_dir")
  with open(file) as f:
    summary = json.load(f)
  return {'clips': {k: summary['clips'][k] for k in ('expected', 'scored', 'failed')},
          'streams': {k: {m: v.get(m) for m in ('top1', 'top5', 'mean_class_accuracy')}
                      for k, v in summary['streams'].items()},
          'dataset': summary.get('meta', {}).get('dataset'),
          'split': summary.get('meta', {}).get('split')}


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


class Predictor:
  """An exported model: checks inputs, runs its serving signature, returns NumPy arrays."""

  def __init__(self, path: str):
    self.meta = read_metadata(path)
    self.path = path
    self.signature = tf.saved_model.load(path).signatures[self.meta['signature']]

  @property
  def needs_flow(self) -> bool:
    return 'flow' in self.meta['inputs']

  @property
  def needs_frames(self) -> bool:
    return 'frames' in self.meta['inputs']

  def predict(self, frames: np.ndarray | None = None,
              flow: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Scores one clip: frames uint8 [T,H,W,3] and/or flow uint8 [T-1,H,W,2].

    ``flow`` may also be a dataset example's flow as plain TFDS decodes the
    per-field layout, {'x': uint8 [T-1,H,W,1], 'y': ...}
    (``kinetics_tf.datasets.features``).

    Raises:
      ValueError: a missing input, or one of the wrong dtype or shape.
    """
    inputs = {}
    for name, value in (('frames', frames), ('flow', flow)):
      if name not in self.meta['inputs']:
        continue
      channels = _CHANNELS[name]
      if value is None:
        raise ValueError(f'{self.path} needs {name!r} ({self.meta["kind"]} model)')
      if name == 'flow' and isinstance(value, dict):  # stored per field
        value = np.concatenate([np.asarray(value['x']), np.asarray(value['y'])], axis=-1)
      value = np.asarray(value)
      if value.dtype != np.uint8 or value.ndim != 4 or value.shape[-1] != channels:
        raise ValueError(f'{name} must be uint8 [T, H, W, {channels}]; got {value.dtype} '
                         f'{list(value.shape)}' + (' (quantise flow with flow.quantize)'
                                                   if name == 'flow' else ''))
      if not len(value):
        raise ValueError(f'{name} is empty: the clip has no {name}')
      inputs[name] = tf.constant(value)
    return {k: v.numpy() for k, v in self.signature(**inputs).items()}
