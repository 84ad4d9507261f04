"""Clip embeddings for de-duplication (paper §3.4): a frame embedding averaged over 25 centre crops.

Each clip is decoded at 25 fps with its shorter side resized to 224, 25 frames
are sampled uniformly (``np.linspace`` over the decoded frames), each is centre
cropped to 224x224 and scaled to [-1, 1], the 25 crops go through the model in
one batch and the frame embeddings are averaged.

Models (``--model``):
- ``pyramid`` (default): a descriptor that needs no training. Each crop is
  area-averaged to 2x2, 4x4 and 8x8 RGB grids; every grid is centred per
  channel (invariant to brightness and colour offsets) and L2-normalised
  (invariant to an overall contrast scale; colour balance still counts),
  and the three are concatenated with equal weight (252 values). The cosine
  similarity of two clips is then an average of image correlations at three
  scales. The paper's Inception-v1 ImageNet
  weights cannot be downloaded here, and a randomly initialised ResNet-50's
  pooled ReLU features are all positive and nearly constant: on the fixture
  clips every pair of different clips scored 0.988-0.998, above the 0.97
  threshold, so such a trunk would merge everything. With the pyramid, a
  resized, re-encoded copy scores > 0.99 against its source while different
  clips score < 0.7; being pixel based, it tolerates crops of up to about 6%
  per side at 0.97 (docs/BENCHMARKS.md, Curation), where a learned
  embedding is more invariant.
- ``resnet50``: the project's ResNet-50 trunk (its 2048-d 'features'
  endpoint), with Keras ResNet50 ImageNet weights from the local .h5 file
  given as ``weights`` (random initialisation without it: only for testing
  the plumbing, see above).
- a path: a Keras model (``.keras`` / ``.h5``) or a SavedModel folder, fed
  float [25, 224, 224, 3] in [-1, 1]; ``endpoint`` names the output when it
  has several. Outputs [B, h, w, C] are average-pooled to [B, C].

Embeddings are cached in an ``.npz`` file keyed by clip and model, written
atomically every ``save_every`` clips, and reused for clips already embedded.
"""

import dataclasses
import os
import pathlib
from typing import Callable, Optional, Sequence

import cv2
import numpy as np
import tqdm

from kinetics_tf import constants
from flow import decoding as video
from kinetics_tf.reports import files as files_lib

PYRAMID = 'pyramid'
RESNET50 = 'resnet50'
# Grid sides of the default descriptor: coarse enough for crops and resizes.
PYRAMID_GRIDS = (2, 4, 8)
# A clip whose averaged embedding has a smaller norm has no image structure
# (every sampled crop uniform): cosine similarity would be meaningless.
MIN_NORM = 1e-6
# Failed clips printed as they happen (all of them go to the returned dict).
MAX_FAILURES_SHOWN = 20


@dataclasses.dataclass(frozen=True)
class ClipRef:
  """A clip to embed: its id, video file and optional trim (seconds)."""
  clip_id: str
  path: str
  time_start: Optional[float] = None
  time_end: Optional[float] = None

  @property
  def key(self) -> str:
    """Cache key: a clip is re-embedded when its file or trim changes."""
    return f'{self.clip_id}\t{self.path}\t{self.time_start}\t{self.time_end}'


def sample_crops(path, start=None, end=None,
                 num_frames: int = constants.DEDUP_FRAMES,
                 crop: int = constants.DEDUP_CROP) -> np.ndarray:
  """uint8 [num_frames, crop, crop, 3]: uniformly sampled centre crops (§3.4).

  The clip is decoded at 25 fps with its shorter side resized to ``crop``;
  a clip with fewer frames than ``num_frames`` repeats some.

  Raises:
    DecodeError: the file gives no frames.
  """
  frames = video.decode(path, start=start, end=end, short_side=crop)
  idx = np.linspace(0, len(frames) - 1, num_frames).round().astype(np.int64)
  frames = frames[idx]
  h, w = frames.shape[1:3]
  y, x = (h - crop) // 2, (w - crop) // 2
  return frames[:, y:y + crop, x:x + crop]


def pyramid_features(images: np.ndarray,
                     grids: Sequence[int] = PYRAMID_GRIDS) -> np.ndarray:
  """The training-free frame descriptor: float32 [N, 3 * sum(g * g)].

  Args:
    images: float [N, H, W, 3] (any range: the descriptor is invariant to an
      offset per channel and to one positive scale of all channels).
    grids: grid sides; each grid is centred per channel, L2-normalised and
      weighted 1 / sqrt(len(grids)), so a frame's descriptor has norm 1 (0 for
      a uniform frame).
  """
  out = []
  for image in np.asarray(images, np.float32):
    parts = []
    for g in grids:
      cells = cv2.resize(image, (g, g), interpolation=cv2.INTER_AREA)
      cells = cells - cells.mean(axis=(0, 1), keepdims=True)
      norm = np.linalg.norm(cells)
      parts.append((cells / norm if norm > MIN_NORM else 0 * cells).ravel())
    out.append(np.concatenate(parts) / np.sqrt(len(grids)))
  return np.stack(out)


def _pool(output, endpoint, source) -> np.ndarray:
  """A model's output (tensor, list or dict) -> float32 [B, D]."""
  if isinstance(output, dict):
    if endpoint is None and len(output) == 1:
      endpoint = next(iter(output))
    if endpoint not in output:
      raise ValueError(f'{source}: outputs {sorted(output)}; pass --endpoint '
                       'with one of them')
    output = output[endpoint]
  elif isinstance(output, (list, tuple)):
    raise ValueError(f'{source}: {len(output)} unnamed outputs; pass a model '
                     'with one output or named outputs and --endpoint')
  x = np.asarray(output, np.float32)
  if x.ndim == 4:
    x = x.mean(axis=(1, 2))
  return x.reshape(len(x), -1)


def _keras_fn(model, endpoint, source):
  names = list(getattr(model, 'output_names', None) or ())

  def fn(x):
    out = model(x, training=False)
    if isinstance(out, (list, tuple)) and len(out) == len(names):
      out = dict(zip(names, out))
    return _pool(out, endpoint, source)
  return fn


def _saved_model_fn(path, endpoint):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  obj = tf.saved_model.load(path)
  sig = obj.signatures.get('serving_default')
  if sig is None:
    return lambda x: _pool(obj(tf.constant(x)), endpoint, path)
  (name,) = sig.structured_input_signature[1]
  return lambda x: _pool(sig(**{name: tf.constant(x)}), endpoint, path)


def resnet50_trunk(weights=None, width_multiplier=1.0, seed=0):
  """The project's ResNet-50 up to its pooled 'features' endpoint.

  Args:
    weights: local Keras ResNet50 ImageNet .h5 file, or None for a random
      initialisation (seeded; its features do not separate clips).
    width_multiplier: channel scale (1.0 = ResNet-50; smaller for tests).
    seed: initialisation seed when ``weights`` is None (it seeds Keras'
      global generators, as keras.utils.set_random_seed does).
  """
  import keras  # pylint: disable=g-import-not-at-top
  from kinetics_tf.models import imagenet  # pylint: disable=g-import-not-at-top
  from kinetics_tf.models import resnet50  # pylint: disable=g-import-not-at-top
  if weights is None:
    keras.utils.set_random_seed(seed)
  model = resnet50.ResNet50Classifier(
      input_size=constants.DEDUP_CROP, width_multiplier=width_multiplier,
      imagenet_preprocessing=weights is not None)
  if weights is not None:
    imagenet.load_imagenet_weights(model, weights)
  return model.endpoint_model('features')


def load_frame_model(model: str = PYRAMID, weights=None, endpoint=None,
                     seed=0) -> tuple[Callable, str]:
  """(frame_fn, name): frame_fn maps float [B,224,224,3] in [-1,1] to [B, D].

  ``name`` identifies the model in the embedding cache.

  Raises:
    ValueError: ``model`` is neither a built-in name nor an existing path.
  """
  if model == PYRAMID:
    grids = 'x'.join(map(str, PYRAMID_GRIDS))
    return pyramid_features, f'{PYRAMID}:{grids}'
  if model == RESNET50:
    trunk = resnet50_trunk(weights, seed=seed)
    name = (f'{RESNET50}:{os.path.abspath(weights)}' if weights
            else f'{RESNET50}:random-init:seed={seed}')
    return _keras_fn(trunk, None, RESNET50), name
  path = pathlib.Path(model)
  if not path.exists():
    raise ValueError(
        f'--model {model!r}: not {PYRAMID!r}, {RESNET50!r} or an existing '
        '.keras/.h5 file or SavedModel folder')
  stat = (path / 'saved_model.pb' if path.is_dir() else path).stat()
  name = f'{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{endpoint}'
  if path.is_dir():
    return _saved_model_fn(str(path), endpoint), name
  import keras  # pylint: disable=g-import-not-at-top
  return _keras_fn(keras.saving.load_model(path), endpoint, model), name


def embed_clip(ref: ClipRef, frame_fn: Callable) -> np.ndarray:
  """float32 [D]: frame embeddings of the 25 centre crops, averaged (§3.4).

  Raises:
    DecodeError: the clip gives no frames, or every sampled crop is uniform
      (no structure to compare).
  """
  try:
    crops = sample_crops(ref.path, ref.time_start, ref.time_end)
  except ValueError as e:  # a bad trim, e.g. time_end <= time_start
    raise video.DecodeError(ref.path, str(e)) from None
  x = crops.astype(np.float32) / 127.5 - 1.0
  emb = np.asarray(frame_fn(x), np.float32).mean(axis=0)
  if not np.isfinite(emb).all() or np.linalg.norm(emb) < MIN_NORM:
    raise video.DecodeError(ref.path, 'no image structure to compare: every '
                            'sampled crop is uniform (or the model output is '
                            'zero / not finite)')
  return emb


def load_cache(path, model_name: str) -> dict:
  """Clip key -> embedding from a cache file written for ``model_name``.

  A missing file, or one written for another model, gives an empty cache.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    return {}
  with np.load(path, allow_pickle=False) as data:
    if str(data['model']) != model_name:
      print(f'{path}: embeddings of model {str(data["model"])!r}, not '
            f'{model_name!r}: re-embedding every clip')
      return {}
    return dict(zip(data['keys'].tolist(), data['embeddings']))


def save_cache(path, model_name: str, cache: dict) -> pathlib.Path:
  """Writes the cache atomically (a temporary file, then a rename)."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  keys = sorted(cache)
  emb = (np.stack([cache[k] for k in keys]) if keys
         else np.zeros((0, 0), np.float32))
  with files_lib.atomic_path(str(path)) as tmp, open(tmp, 'wb') as f:
    np.savez(f, keys=np.array(keys, dtype=str), embeddings=emb,
             model=np.array(model_name))
  return path


def embed_clips(refs: Sequence[ClipRef], frame_fn: Callable, model_name: str,
                cache_path=None, save_every: int = 100,
                progress: bool = True) -> tuple[dict, dict]:
  """Embeds clips, reusing and updating the cache file when given.

  Clips that fail to decode are reported (returned with the reason) and
  skipped.

  Returns:
    (embeddings: clip_id -> float32 [D], failed: clip_id -> reason).
  """
  cache = load_cache(cache_path, model_name) if cache_path else {}
  todo = [r for r in refs if r.key not in cache]
  failed, dirty = {}, 0
  for ref in tqdm.tqdm(todo, desc='embedding clips', unit='clip',
                       disable=not progress or not todo):
    try:
      cache[ref.key] = embed_clip(ref, frame_fn)
      dirty += 1
    except video.DecodeError as e:
      failed[ref.clip_id] = str(e)
      if progress and len(failed) <= MAX_FAILURES_SHOWN:
        tqdm.tqdm.write(f'skipping clip {ref.clip_id}: {e}')
      continue
    if cache_path and dirty >= save_every:
      save_cache(cache_path, model_name, cache)
      dirty = 0
  if cache_path and (dirty or not pathlib.Path(cache_path).is_file()):
    save_cache(cache_path, model_name, cache)
  embeddings = {r.clip_id: cache[r.key] for r in refs if r.key in cache}
  if progress:
    print(f'embedded {len(todo) - len(failed)} clips, reused '
          f'{len(refs) - len(todo)} from the cache, {len(failed)} failed')
  return embeddings, failed
