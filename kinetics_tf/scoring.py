"""Trained models scored with the dense protocol of Table 3: loading, stream kinds, scores.

What evaluation (``kinetics_tf.evaluation``), export (``kinetics_tf.release``)
and the demo share:

  model = scoring.load_model('runs/rgb/final.keras')
  dms = scoring.dense_models(model)          # {'rgb': DenseModel}
  result = scoring.score_dataset(dms, examples)

A ``DenseModel`` is one network with its row of ``kinetics_tf.model_table``:
the row's test protocol cuts a clip into views (``kinetics_tf.input.dense``),
the views of a batch of clips go through the network in one forward pass, and
the softmax scores are averaged per clip.  An RGB and a flow stream are also
fused (RGB+Flow, §4.2).
"""

import dataclasses
import os
from typing import Any, Mapping

import keras
import numpy as np
import tensorflow as tf
import tqdm

from kinetics_tf import errors
from kinetics_tf import model_table
from kinetics_tf import models as models_lib
from kinetics_tf.input import dense
from kinetics_tf.input import ops

FUSED = 'rgb+flow'


def stream_kind(model: keras.Model) -> str:
  """The row name of a model of kinetics_tf.models, or 'two_stream' for a TwoStream.

  Raises:
    ValueError: a model this library did not build.
  """
  if isinstance(model, models_lib.TwoStream):
    return model_table.TWO_STREAM
  for row in model_table.MODELS.values():
    if row.is_model(model):
      return row.name
  raise ValueError(f'model {getattr(model, "name", model)!r} ({type(model).__name__}) is not '
                   'a model of kinetics_tf.model_table.MODELS (or a TwoStream of two)')


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
    kind: a name of ``model_table.MODELS`` ('rgb', 'flow', 'c3d', ...).
    model: a model of kinetics_tf.models returning logits, with 'logits' and
      'features' endpoints.
    crop: centre-crop side (default: the model's input size).
    short_side: resize the shorter side to this before cropping (None: the
      frames are already at the training size, as in a TFDS build).
    flip: average over mirrored views too (off by default, as in §4.4).
  """
  kind: str
  model: keras.Model
  crop: int | None = None
  short_side: int | None = None
  flip: bool = False

  def __post_init__(self):
    if self.kind not in model_table.MODELS:
      raise ValueError(f'kind={self.kind!r}: use one of {model_table.NAMES}')
    self.row = model_table.MODELS[self.kind]
    self.crop = self.crop or getattr(self.model, 'input_size', None)
    if not self.crop:
      raise ValueError(f'{self.model.name}: the model takes any input size; pass crop=')
    size = getattr(self.model, 'input_size', None)
    if size and self.crop != size:
      raise errors.UserError(f'crop {self.crop} (--crop) does not fit {self.model.name}, '
                             f'built for {size}x{size} inputs; leave --crop out or give {size}')
    if self.short_side is not None and self.short_side < self.crop:
      raise errors.UserError(f'shorter side {self.short_side} (--short_side) is smaller than '
                             f'the {self.crop}x{self.crop} crop of {self.model.name}')
    self.spec = self.row.test_protocol
    if self.row.tested_longer and self.model.num_frames not in (None, self.spec.clip_frames):
      # Trained on 25 frames, tested on 50 (Table 3): the same weights, any length.
      trained = self.model
      self.model = type(trained).from_config({**trained.get_config(), 'num_frames': None})
      self.model.set_weights(trained.get_weights())
    self.net = self.model.endpoint_model(['logits', 'features'])

  @property
  def input_key(self) -> str:
    """The example feature the views are cut from (the row's: 'video' or 'flow')."""
    return self.row.feature

  @property
  def views_per_clip(self) -> int:
    return self.spec.num_clips * (2 if self.flip else 1)

  def view_shape(self) -> list[int]:
    c = self.crop
    if self.row.layout == 'stack':
      return [self.views_per_clip, c, c, 2 * self.spec.clip_frames]
    inner = [] if self.row.layout == 'frame' else [self.spec.clip_frames]
    return [self.views_per_clip] + inner + [c, c, 3]

  def views(self, video) -> tf.Tensor:
    """Dense views of one clip (its frames, or its flow for a flow model)."""
    return dense.views(self.kind, video, self.crop, short_side=self.short_side,
                       flip=self.flip)

  def score(self, batch) -> tuple[tf.Tensor, tf.Tensor]:
    """Views [B, S, ...] of B clips -> (class scores [B, C], pooled features [B, D]).

    The S views of every clip are folded into the batch: one forward pass.
    """
    num = tf.shape(batch)[0]
    out = self.net(dense.fold(batch), training=False)
    return dense.video_scores(out['logits'], num), dense.video_features(out['features'], num)


def dense_models(model: keras.Model, **kwargs) -> dict[str, DenseModel]:
  """kind -> DenseModel for one model; a TwoStream gives its 'rgb' and 'flow' streams.

  ``kwargs`` go to every DenseModel (crop, short_side, flip).
  """
  kind = stream_kind(model)
  if kind == model_table.TWO_STREAM:
    return {'rgb': DenseModel('rgb', model.rgb_stream, **kwargs),
            'flow': DenseModel('flow', model.flow_stream, **kwargs)}
  return {kind: DenseModel(kind, model, **kwargs)}


def reads(dm: Mapping[str, DenseModel], feature: str) -> bool:
  """True when a model of ``dm`` reads the example feature ``feature``."""
  return any(m.input_key == feature for m in dm.values())


def failure_reason(dm: Mapping[str, DenseModel], num_frames: int, height: int, width: int,
                   flow_fields: int | None, label: int = 0) -> tuple[str, str] | None:
  """(kind, reason) when a clip cannot be scored by every model in ``dm``, else None."""
  if label < 0:
    return 'unlabelled', 'the clip has no label (label -1), so accuracy cannot count it'
  if num_frames < 1:
    return 'no_frames', 'the clip has no frames'
  crop = max(m.crop for m in dm.values())
  if reads(dm, 'video') and min(height, width) < crop and not any(
      m.short_side for m in dm.values()):
    return 'too_small', f'frames are {height}x{width}, smaller than the {crop}x{crop} crop'
  if reads(dm, 'flow'):
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
  on_flow = reads(dm, 'flow')

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
    ok = (num_frames >= (2 if on_flow else 1)) & (example['label'] >= 0)
    if not resized:
      ok &= tf.minimum(height, width) >= crop
    if on_flow:
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
    'clips': N names, 'failures': one dict per clip that could not be scored};
    with an RGB and a flow stream, 'scores' also has FUSED.
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
  if all(k in dm for k in model_table.FUSED_STREAMS):
    out['scores'][FUSED] = dense.fuse(
        *(out['scores'][k] for k in model_table.FUSED_STREAMS)).numpy() \
        if labels else np.zeros([0])
  return out
