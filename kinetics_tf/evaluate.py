"""Dense-snapshot evaluation (§4.4, Table 3) of trained models on a TFDS split, with reports.

  python -m kinetics_tf.evaluate --model=runs/rgb/model.keras \
      --model=runs/flow/model.keras --dataset=synthetic_actions/tiny \
      --split=test --out_dir=out/eval

Each clip is cut into its model's dense test views (``kinetics_tf.input.dense``),
the views of ``--batch_size`` clips go through the network in one forward pass,
and the softmax scores are averaged per clip; an RGB and a flow stream are
also fused (RGB+Flow).  The reports of ``kinetics_tf.reports`` are written to
``--out_dir``.  ``run(...)`` does the same from Python and returns the summary.
"""

import csv
import dataclasses
import json
import os
import sys
from typing import Any, Mapping, Sequence

from absl import app
from absl import flags
import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
import tqdm

from kinetics_tf import app as cli_app
from kinetics_tf import models as models_lib
from kinetics_tf import reports
from kinetics_tf.data import classes
from kinetics_tf.input import dense
from kinetics_tf.input import ops
from kinetics_tf.input import train_pipeline

KINDS = dense.MODELS  # 'rgb', 'flow', 'c3d', 'convnet_lstm'
FUSED = 'rgb+flow'


def stream_kind(model: keras.Model) -> str:
  """'rgb', 'flow', 'c3d', 'convnet_lstm' or 'two_stream' for a model of kinetics_tf.models.

  Raises:
    ValueError: a model this library did not build.
  """
  if isinstance(model, models_lib.TwoStream):
    return 'two_stream'
  if isinstance(model, models_lib.ResNet50Classifier):
    return 'rgb' if model.channels == 3 else 'flow'
  if isinstance(model, models_lib.C3D):
    return 'c3d'
  if isinstance(model, models_lib.ConvNetLSTM):
    return 'convnet_lstm'
  raise ValueError(f'model {getattr(model, "name", model)!r} ({type(model).__name__}) is not '
                   'one of kinetics_tf.models (ResNet50Classifier, TwoStream, C3D, ConvNetLSTM)')


def load_model(path: str) -> keras.Model:
  """Loads a trained model: a ``.keras`` file, or a folder holding one ``*.keras`` file.

  Raises:
    FileNotFoundError: nothing to load at ``path``.
  """
  if os.path.isdir(path):
    found = sorted(f for f in os.listdir(path) if f.endswith('.keras'))
    if len(found) != 1:
      raise FileNotFoundError(f'{path}: expected one trained model (*.keras) in the folder, '
                              f'found {found or "none"}; pass the .keras file itself')
    path = os.path.join(path, found[0])
  if not os.path.isfile(path):
    raise FileNotFoundError(f'{path}: no such model file; pass a .keras file written by '
                            'kinetics_tf.train (or a folder holding one)')
  return keras.saving.load_model(path, compile=False)


@dataclasses.dataclass
class DenseModel:
  """One network (logits) with its dense test protocol: views in, clip scores out.

  Attributes:
    kind: 'rgb', 'flow', 'c3d' or 'convnet_lstm'.
    model: a model of kinetics_tf.models returning logits, with 'logits' and
      'features' endpoints.
    crop: centre-crop side (default: the model's input size).
    short_side: resize the shorter side to this before cropping (None: the
      frames are already at the training size, as in a TFDS build).
    flip: average over mirrored views too (off by default, as in §4.4).
    normalization: 'unit' or 'imagenet', as in training.
  """
  kind: str
  model: keras.Model
  crop: int | None = None
  short_side: int | None = None
  flip: bool = False
  normalization: str = 'unit'

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f'kind={self.kind!r}: use one of {KINDS}')
    self.crop = self.crop or getattr(self.model, 'input_size', None)
    if not self.crop:
      raise ValueError(f'{self.model.name}: the model takes any input size; pass crop=')
    self.spec = dense.spec_for(self.kind)
    if self.kind == 'convnet_lstm' and self.model.num_frames not in (None, self.spec.clip_frames):
      # Trained on 25 frames, tested on 50 (Table 3): the same weights, any length.
      trained = self.model
      self.model = type(trained).from_config({**trained.get_config(), 'num_frames': None})
      self.model.set_weights(trained.get_weights())
    self.net = self.model.endpoint_model(['logits', 'features'])

  @property
  def input_key(self) -> str:
    """The example feature the views are cut from: 'flow' or 'video'."""
    return 'flow' if self.kind == 'flow' else 'video'

  @property
  def views_per_clip(self) -> int:
    return self.spec.num_clips * (2 if self.flip else 1)

  def view_shape(self) -> list[int]:
    c = self.crop
    if self.kind == 'flow':
      return [self.views_per_clip, c, c, 2 * self.spec.clip_frames]
    inner = [] if self.spec.clip_frames == 1 else [self.spec.clip_frames]
    return [self.views_per_clip] + inner + [c, c, 3]

  def views(self, video) -> tf.Tensor:
    """Dense views of one clip (frames, or flow for the flow stream)."""
    return dense.views(self.kind, video, self.crop, short_side=self.short_side,
                       flip=self.flip, normalization=self.normalization)

  def score(self, batch) -> tuple[tf.Tensor, tf.Tensor]:
    """Views [B, S, ...] of B clips -> (class scores [B, C], pooled features [B, D]).

    The S views of every clip are folded into the batch: one forward pass.
    """
    num = tf.shape(batch)[0]
    out = self.net(dense.fold(batch), training=False)
    return dense.video_scores(out['logits'], num), dense.video_features(out['features'], num)


def dense_models(model: keras.Model, **kwargs) -> dict[str, DenseModel]:
  """kind -> DenseModel for one model; a TwoStream gives its 'rgb' and 'flow' streams."""
  kind = stream_kind(model)
  if kind == 'two_stream':
    return {'rgb': DenseModel('rgb', model.rgb_stream, **kwargs),
            'flow': DenseModel('flow', model.flow_stream, **kwargs)}
  return {kind: DenseModel(kind, model, **kwargs)}


def failure_reason(dm: Mapping[str, DenseModel], num_frames: int, height: int, width: int,
                   flow_fields: int | None, label: int = 0) -> tuple[str, str] | None:
  """(kind, reason) when a clip cannot be scored by every model in ``dm``, else None."""
  if label < 0:
    return 'unlabelled', 'the clip has no label (label -1), so accuracy cannot count it'
  if num_frames < 1:
    return 'no_frames', 'the clip has no frames'
  crop = max(m.crop for m in dm.values())
  if dm.keys() & {'rgb', 'c3d', 'convnet_lstm'} and min(height, width) < crop and not any(
      m.short_side for m in dm.values()):
    return 'too_small', f'frames are {height}x{width}, smaller than the {crop}x{crop} crop'
  if 'flow' in dm:
    if num_frames < 2:
      return 'too_short', f'{num_frames} frame: flow needs at least 2 frames'
    if flow_fields != num_frames - 1:
      return 'flow_mismatch', (f'{flow_fields} flow fields for {num_frames} frames '
                               f'(expected {num_frames - 1})')
  return None


def _first_frame(video) -> tf.Tensor:
  """The first frame of a clip as uint8 [H, W, 3] (decoded if the frames are encoded)."""
  if video.dtype == tf.string:
    return tf.io.decode_image(video[0], channels=3, expand_animations=False)
  return video[0]


def _prepare_fn(dm: Mapping[str, DenseModel]):
  """tf.data map: an example -> views of every model, or zeros when it cannot be scored."""
  crop = max(m.crop for m in dm.values())
  resized = any(m.short_side for m in dm.values())

  def prepare(example):
    if 'video' in example:
      video = example['video']
      num_frames = tf.shape(video)[0]
      first = tf.cond(num_frames > 0, lambda: _first_frame(video),
                      lambda: tf.zeros([0, 0, 3], tf.uint8))
    else:  # a flow-only set: T - 1 fields give T frames of the same size
      num_frames = ops.num_frames(example['flow']) + 1
      first = tf.cond(num_frames > 1,
                      lambda: ops.gather_fields(example['flow'], [0])[0],
                      lambda: tf.zeros([0, 0, 2], tf.uint8))
    height, width = tf.shape(first)[0], tf.shape(first)[1]
    flow_fields = ops.num_frames(example['flow']) if 'flow' in example else num_frames - 1
    ok = (num_frames >= (2 if 'flow' in dm else 1)) & (example['label'] >= 0)
    if not resized:
      ok &= tf.minimum(height, width) >= crop
    if 'flow' in dm:
      ok &= tf.equal(flow_fields, num_frames - 1)
    out = {'label': example['label'], 'ok': ok, 'num_frames': num_frames,
           'height': height, 'width': width, 'flow_fields': flow_fields,
           'clip': example.get('youtube_id', tf.strings.as_string(example['label']))}
    for kind, m in dm.items():
      out[kind] = tf.cond(ok, lambda m=m: tf.ensure_shape(m.views(example[m.input_key]),
                                                          m.view_shape()),
                          lambda m=m: tf.zeros(m.view_shape(), tf.float32))
    return out

  return prepare


def score_dataset(dm: Mapping[str, DenseModel], ds: tf.data.Dataset, *, batch_size: int = 4,
                  total: int | None = None) -> dict[str, Any]:
  """Scores every clip of ``ds`` with every model of ``dm`` (snapshots folded into the batch).

  Args:
    dm: kind -> DenseModel; all read the same examples.
    ds: examples with 'video' (uint8 [T,H,W,3] or encoded frames), 'label',
      optionally 'flow' (uint8 [T-1,H,W,2]) and 'youtube_id'.
    batch_size: clips per forward pass.
    total: clips expected, for the progress bar.

  Returns:
    {'scores': kind -> [N, C], 'features': kind -> [N, D], 'labels': [N],
    'clips': N names, 'failures': one dict per clip that could not be scored}.
  """
  ds = ds.map(_prepare_fn(dm), num_parallel_calls=tf.data.AUTOTUNE)
  ds = ds.batch(batch_size).prefetch(2)
  fns = {k: tf.function(m.score, reduce_retracing=True) for k, m in dm.items()}
  scores = {k: [] for k in dm}
  features = {k: [] for k in dm}
  labels, clips, failures = [], [], []
  with tqdm.tqdm(total=total, unit='clip', desc='evaluate') as bar:
    for batch in ds:
      ok = batch['ok'].numpy()
      names = [c.decode() if isinstance(c, bytes) else str(c) for c in batch['clip'].numpy()]
      for i in np.nonzero(~ok)[0]:
        kind, reason = failure_reason(
            dm, int(batch['num_frames'][i]), int(batch['height'][i]), int(batch['width'][i]),
            int(batch['flow_fields'][i]), int(batch['label'][i])) or ('error', 'could not be scored')
        failures.append({'clip': names[i], 'kind': kind, 'reason': f'{names[i]}: {reason}'})
      if ok.any():
        for k, fn in fns.items():
          s, f = fn(batch[k])
          scores[k].append(s.numpy()[ok])
          features[k].append(f.numpy()[ok])
        labels.append(batch['label'].numpy()[ok])
        clips += [n for n, o in zip(names, ok) if o]
      bar.update(len(ok))
      bar.set_postfix(failed=len(failures))
  cat = lambda parts: np.concatenate(parts) if parts else np.zeros([0])
  out = {'scores': {k: cat(v) for k, v in scores.items()},
         'features': {k: cat(v) for k, v in features.items()},
         'labels': cat(labels).astype(np.int64), 'clips': clips, 'failures': failures}
  if 'rgb' in dm and 'flow' in dm:
    out['scores'][FUSED] = dense.fuse(out['scores']['rgb'], out['scores']['flow']).numpy() \
        if labels else np.zeros([0])
  return out


def build_failures(data_dir: str, split: str) -> list[dict]:
  """Clips of ``split`` the dataset build skipped (its build_report.csv), as failures."""
  path = os.path.join(data_dir, 'build_report.csv')
  if not os.path.isfile(path):
    return []
  base = split.split('[')[0]
  with open(path, newline='') as f:
    rows = [r for r in csv.DictReader(f) if r.get('split') == base and r.get('status') != 'built']
  return [{'clip': r['clip_id'], 'kind': f"build {r['status']}",
           'reason': f"{r['clip_id']}: skipped when the dataset was built: {r['reason']}"}
          for r in rows]


def default_groups(dataset: str) -> dict[str, tuple[str, ...]] | None:
  """Class groups for accuracy per group: Appendix B for Kinetics-400, families for the synthetic set."""
  name = dataset.split('/')[0]
  if name == 'kinetics400':  # Appendix B groups name Kinetics-400's classes
    return dict(classes.GROUPS)
  if name == 'synthetic_actions':
    from kinetics_tf.datasets import synthetic  # pylint: disable=g-import-not-at-top
    return reports.groups_from_family(synthetic.CLASS_FAMILY)
  return None


def trained_on(path: str) -> str | None:
  """The dataset a model file was trained on: ``dataset`` of the config.json that
  kinetics_tf.train writes beside it (None when there is none)."""
  folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
  try:
    with open(os.path.join(folder, 'config.json')) as f:
      return json.load(f).get('dataset')
  except (OSError, ValueError, AttributeError):
    return None


def version_warning(trained: str | None, dataset: str, split: str) -> str | None:
  """A warning when a model trained on one Kinetics version is evaluated on another's split.

  The versions share clips: a later version's training set holds much of an
  earlier one's validation and test sets (the CVDF notes that Kinetics-400's
  validation set lies largely inside Kinetics-700's training set), so such an
  accuracy is not a held-out result.
  """
  a, b = (trained or '').split('/')[0], dataset.split('/')[0]
  if a == b or a not in classes.VERSIONS or b not in classes.VERSIONS:
    return None
  later = classes.VERSIONS.index(a) > classes.VERSIONS.index(b)
  return (f'the model was trained on {a} and is evaluated on {b} ({split}): the '
          'Kinetics versions share clips' +
          (f', and much of {b}\'s {split} split lies inside {a}\'s training set (the '
           "CVDF notes it for Kinetics-400's validation set and Kinetics-700's "
           'training set)' if later else '') +
          f'; this is not a held-out result. Evaluate on {a}\'s own validation split.')


def run(models: keras.Model | str | Sequence[keras.Model | str], dataset: str,
        split: str = 'test', *, out_dir: str | None = None, data_dir: str | None = None,
        batch_size: int = 4, flip: bool = False, crop: int | None = None,
        short_side: int | None = None, normalization: str = 'unit',
        max_clips: int | None = None, groups: Mapping[str, Sequence[str]] | None = None,
        title: str | None = None) -> dict:
  """Evaluates trained models with the dense protocol and writes the reports.

  Args:
    models: one or more trained models (Keras objects or .keras paths): an RGB
      and a flow stream (fused into RGB+Flow), a TwoStream, a C3D or a
      ConvNet+LSTM.
    dataset: TFDS name with config, e.g. 'synthetic_actions/tiny'.
    split: TFDS split (e.g. 'test', 'validation', 'test[:100]').
    out_dir: where the reports go (None: score only, write nothing).
    data_dir: TFDS data_dir.
    batch_size: clips per forward pass (each clip adds its snapshots).
    flip: also average over mirrored views (off in the paper).
    crop: centre-crop side (default: each model's input size).
    short_side: resize frames first (default: keep the stored size).
    normalization: 'unit' or 'imagenet', as in training.
    max_clips: evaluate only the first clips of the split.
    groups: group -> class names (default: Appendix B / synthetic families).
    title: heading of the Markdown report.

  Returns:
    The summary (as in summary.json): clip counts, per-stream top-1/top-5/mean
    per-class accuracy, confusions, groups, flow gains; plus 'result', the raw
    scores of :func:`score_dataset`.
  """
  models = list(models) if isinstance(models, (list, tuple)) else [models]
  dm, warnings = {}, []
  for m in models:
    if isinstance(m, str):
      warning = version_warning(trained_on(m), dataset, split)
      if warning and warning not in warnings:
        warnings.append(warning)
        print(f'evaluate: warning: {warning}', file=sys.stderr, flush=True)
    m = load_model(m) if isinstance(m, str) else m
    for kind, d in dense_models(m, crop=crop, short_side=short_side, flip=flip,
                                normalization=normalization).items():
      if kind in dm:
        raise ValueError(f'two {kind!r} models given; evaluate them in separate runs')
      dm[kind] = d
  builder = tfds.builder(dataset, data_dir=data_dir)
  if 'video' not in builder.info.features and dm.keys() - {'flow'}:
    raise ValueError(f'{dataset} stores no RGB frames (a flow-only set); '
                     f'{sorted(dm.keys() - {"flow"})} need them')
  # Frames and per-field flow stay encoded until the views pick them; a
  # dataset's flow is parsed only when a flow stream scores it.
  keys = ['video', 'label', 'youtube_id'] + (['flow'] if 'flow' in dm else [])
  decoders = train_pipeline.read_only(builder.info.features, keys)
  ds = builder.as_dataset(split=split, decoders=decoders, shuffle_files=False)
  stored = builder.info.splits[split].num_examples
  if max_clips:
    ds, stored = ds.take(max_clips), min(stored, max_clips)
  class_names = builder.info.features['label'].names
  skipped = [] if max_clips else build_failures(builder.data_dir, split)
  result = score_dataset(dm, ds, batch_size=batch_size, total=stored)
  if groups is None:
    groups = default_groups(dataset)
  summary = None
  meta = {'dataset': dataset, 'split': split, 'models': ', '.join(
      f'{k}: {d.model.name}' for k, d in dm.items()),
          'protocol': 'dense snapshots of Table 3, centre crop' + (', flip-averaged' if flip else ''),
          'batch_size': batch_size}
  if warnings:
    meta['warning'] = ' '.join(warnings)
  if out_dir:
    summary = reports.write_report(
        out_dir, result['scores'], result['labels'], class_names, clip_ids=result['clips'],
        groups=groups, expected=stored + len(skipped), failures=skipped + result['failures'],
        title=title or f'Evaluation of {meta["models"]} on {dataset} ({split})', meta=meta)
  else:
    summary = {'streams': {k: reports.summary(s, result['labels'])
                           for k, s in result['scores'].items()},
               'clips': {'expected': stored + len(skipped), 'scored': len(result['labels']),
                         'failed': len(skipped) + len(result['failures']),
                         'failures': skipped + result['failures']}}
  c = summary['clips']
  print(f"evaluate: {c['scored']} of {c['expected']} clips scored, {c['failed']} failed; " +
        '; '.join(f"{k} top-1 {100 * (v['top1'] or 0):.1f}%" for k, v in summary['streams'].items()))
  summary['result'] = result
  return summary


FLAGS = flags.FLAGS


def define_flags():
  """Defines the binary's flags (only when run as a program, so modules import cleanly)."""
  flags.DEFINE_multi_string('model', None, 'Trained model(s): .keras files (or folders with one). '
                            'An RGB and a flow stream are also fused (RGB+Flow).')
  flags.DEFINE_string('dataset', 'synthetic_actions/tiny', 'TFDS name/config.')
  flags.DEFINE_string('split', 'test', 'TFDS split.')
  flags.DEFINE_string('data_dir', None, 'TFDS data_dir.')
  flags.DEFINE_string('out_dir', None, 'Folder for the reports.')
  flags.DEFINE_integer('batch_size', 4, 'Clips per forward pass.')
  flags.DEFINE_bool('flip', False, 'Also average over left-right flipped views.')
  flags.DEFINE_integer('crop', None, 'Centre-crop side (default: the model input size).')
  flags.DEFINE_integer('short_side', None, 'Resize the shorter side first (default: as stored).')
  flags.DEFINE_enum('normalization', 'unit', ['unit', 'imagenet'], 'RGB scaling, as in training.')
  flags.DEFINE_integer('max_clips', None, 'Evaluate only the first clips of the split.')
  flags.DEFINE_string('groups', None, 'JSON file {group: [class names]} for accuracy per group.')


def main(argv):
  del argv
  if not FLAGS.model or not FLAGS.out_dir:
    raise app.UsageError('--model and --out_dir are required')
  cli_app.check_dataset(FLAGS.dataset)
  groups = None
  if FLAGS.groups:
    with open(FLAGS.groups) as f:
      groups = json.load(f)
  summary = run(FLAGS.model, FLAGS.dataset, FLAGS.split, out_dir=FLAGS.out_dir,
                data_dir=FLAGS.data_dir, batch_size=FLAGS.batch_size, flip=FLAGS.flip,
                crop=FLAGS.crop, short_side=FLAGS.short_side, normalization=FLAGS.normalization,
                max_clips=FLAGS.max_clips, groups=groups)
  print(f"evaluate: report in {os.path.join(FLAGS.out_dir, 'report.md')}")
  del summary


if __name__ == '__main__':
  define_flags()
  cli_app.run(main, 'evaluate')
