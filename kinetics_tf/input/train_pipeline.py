"""tf.data training pipelines: one model's footprint of Table 3, augmented as in §4.4.

Examples are dicts with ``'video'`` uint8 [T, H, W, 3] (or string [T] of JPEG
frames, when read with ``tfds.decode.SkipDecoding``), ``'flow'`` uint8
[T-1, H, W, 2] (or, stored per field, ``{'x': string [T-1], 'y': ...}``) and
``'label'``.  :func:`load_examples` reads only the model's own feature and
leaves it encoded: a sample decodes its own frames (or flow fields) and
nothing else.  For each model:

  ================  ==============================================  ==========
  model             input (training)                                footprint
  ================  ==============================================  ==========
  'convnet_lstm'    [25, crop, crop, 3]: every 5th frame             5 s
  'rgb'             [crop, crop, 3]: one frame                       1 frame
  'flow'            [crop, crop, 20]: 10 flow fields, [x0,y0,x1,...]  0.4 s
  'c3d'             [16, crop, crop, 3]: consecutive frames          0.64 s
  ================  ==============================================  ==========

A random start among those early enough for the whole footprint, looping of
short clips, one random crop and one random flip for all frames of a sample
(flow x negated); values in [-1, 1].  Each model's feature, layout and
footprint come from its row of ``kinetics_tf.model_table``.  With
``training=False`` the footprint is centred, the crop is central and nothing
is flipped: the validation input of the training loop.
"""

import dataclasses
from typing import Optional

import tensorflow as tf
import tensorflow_datasets as tfds

from kinetics_tf import errors
from kinetics_tf import model_table
from kinetics_tf.input import ops
from kinetics_tf.input import record_sampling

AUTOTUNE = tf.data.AUTOTUNE


def feature_key(model: str) -> str:
  """The example feature a model reads (its row's ``feature``: 'video' or 'flow')."""
  return model_table.row(model).feature


def _train_span(model: str, num_frames: Optional[int] = None,
                stride: Optional[int] = None) -> tuple[int, bool]:
  """(span, on_flow): the units (frames, or flow fields when on_flow) that
  ``model``'s training footprint covers, with the overrides applied."""
  facts = model_table.row(model)
  footprint = facts.train_footprint
  return (ops.footprint_span(num_frames or footprint.num_frames,
                             stride or footprint.stride),
          facts.feature == 'flow')


def sample_clip(frames, start, num_frames: int, stride: int, crop_size: int,
                training: bool = True, seed=None):
  """The footprint at ``start`` of one clip, cropped, still uint8.

  Args:
    frames: [T, H, W, C] uint8, string [T] of encoded frames, or flow
      stored per field (any layout ``ops.gather_frames`` takes).
    start: the first index (:func:`preprocess` draws it).
    num_frames, stride: the footprint (looped over a clip shorter than it).
    crop_size: crop side.
    training: a random crop; otherwise the centred one.
    seed: optional shape-[2] stateless seed of the crop.

  Returns:
    uint8 [num_frames, crop_size, crop_size, C].
  """
  available = ops.num_frames(frames)
  indices = ops.temporal_indices(start, num_frames, stride, available)
  clip = ops.gather_frames(frames, indices)
  if training:
    return ops.random_crop(clip, crop_size, seed=seed)
  return ops.centre_crop(clip, crop_size)


def preprocess(example: dict, model: str, crop_size: int, *,
               num_frames: Optional[int] = None, stride: Optional[int] = None,
               training: bool = True, seed=None, with_position: bool = False):
  """One example -> (model input, label) for ``model``'s training footprint.

  Args:
    example: dict with 'video' or 'flow' (see the module docstring), 'label'.
    model: a name of ``model_table.MODELS`` ('convnet_lstm', 'rgb', 'flow',
      'c3d').
    crop_size: side of the crop.
    num_frames, stride: override of the row's training footprint (tiny
      configs); a 'flow' feature counts flow fields.
    training: augment (random start, crop, flip) or centre (validation).
    seed: optional shape-[2] stateless seed.
    with_position: also return where the sample lies in its clip.

  Returns:
    (float32 input, int64 label); shapes as in the module docstring.  With
    ``with_position``, a third element {'clip_frames': int32, 'start':
    int32}: the clip's frames and the sample's first frame (field) in it.
  """
  facts = model_table.row(model)
  footprint = facts.train_footprint
  num_frames = num_frames or footprint.num_frames
  stride = stride or footprint.stride
  seed_crop, seed_flip, seed_start = ops.split_seed(seed, 3)
  frames = example[facts.feature]
  on_flow = facts.feature == 'flow'
  records = training and record_sampling.has_records(example)
  if records:
    # A record: a start among those it owns (every start of a clip alike).
    start = record_sampling.random_offset(
        example, ops.footprint_span(num_frames, stride), on_flow,
        seed=seed_start)
  elif training:
    start = ops.random_start(ops.num_frames(frames), num_frames, stride,
                             seed=seed_start)
  else:
    start = ops.centre_start(ops.num_frames(frames), num_frames, stride)
  clip = sample_clip(frames, start, num_frames, stride, crop_size,
                     training=training, seed=seed_crop)
  if facts.feature == 'flow':
    # Stacked and flipped still uint8 (a quarter of the bytes of float32),
    # then scaled once: x -> 255 - x is the negation of the dequantised x.
    # Flipping the stack moves 10 (x, y) pairs a pixel at once: half the
    # time of flipping the fields (docs/BENCHMARKS.md, "Training input").
    if facts.layout == 'stack':
      clip = ops.stack_flow(clip)
    if training:
      clip, _ = ops.random_flip(clip, seed=seed_flip, is_flow=True)
    clip = ops.dequantize_flow(clip)
  else:
    clip = ops.scale_to_unit(clip)
    if training:
      clip, _ = ops.random_flip(clip, seed=seed_flip)
  if facts.layout == 'frame':
    clip = clip[0]
  label = tf.cast(example['label'], tf.int64)
  if not with_position:
    return clip, label
  if records:
    position = {'clip_frames': tf.cast(example['clip_frames'], tf.int32),
                'start': start + tf.cast(example['first_frame'], tf.int32)}
  else:
    position = {'clip_frames': ops.num_frames(frames) + int(on_flow),
                'start': start}
  return clip, label, position


def make_dataset(ds: tf.data.Dataset, model: str, crop_size: int,
                 batch_size: int, *, training: bool = True,
                 num_frames: Optional[int] = None, stride: Optional[int] = None,
                 shuffle_buffer: int = 1024,
                 seed: Optional[int] = None, deterministic: bool = False,
                 drop_remainder: Optional[bool] = None,
                 num_parallel_calls=AUTOTUNE,
                 samples_per_read: int = 1,
                 with_position: bool = False) -> tf.data.Dataset:
  """Batched (input, label) pairs from a dataset of examples.

  Training repeats forever and shuffles; validation makes one pass.  Every
  example gets its own stateless seed from ``tf.data.Dataset.random(seed)``,
  so with ``deterministic=True`` and a fixed ``seed`` the batches (order,
  starts, crops and flips) are identical run after run, whatever the
  parallelism.

  Args:
    ds: examples (see :func:`preprocess`).
    model, crop_size, num_frames, stride: see preprocess.
    batch_size: examples per batch (per replica under tf.distribute).
    training: see preprocess; also repeat + shuffle.
    shuffle_buffer: shuffle buffer size (training).
    seed: seed of shuffling and augmentation (None: not reproducible).
    deterministic: keep the element order of the parallel map.
    drop_remainder: default True when training, False otherwise.
    num_parallel_calls: parallelism of decoding and augmentation.
    samples_per_read: K > 1 (training only): K samples from each clip read,
      each with its own seed, so K different footprints, crops and flips
      (SlowFast's repeated sampling), then shuffled again through a buffer
      of ``shuffle_buffer`` so that a batch does not hold one clip K times.
      A clip's record is read and parsed once for K samples (its bytes per
      sample divided by K); each sample still decodes only its own frames.
      The K samples of a clip are correlated: use it when reading, not
      decoding, bounds the input (docs/BENCHMARKS.md, "Training input").
    with_position: batches of (input, label, position) (:func:`preprocess`):
      where each sample lies in its clip, for checking the distribution.

  A training split stored as records (``record_sampling.has_records``)
  gives each record read a random number of samples (``K`` times
  ``record_sampling.samples_per_read``) and each sample a start among those
  its record owns: every start of every clip equally likely, as from whole
  clips (``kinetics_tf.data.records``).

  Returns:
    tf.data.Dataset of (float32 [B, ...], int64 [B]).
  """
  model_table.row(model)  # an unknown name fails here, not inside map()
  if batch_size < 1 or crop_size < 1:
    raise ValueError(f'batch_size={batch_size}, crop_size={crop_size}: both '
                     'must be >= 1')
  if deterministic and seed is None:
    raise ValueError('deterministic=True needs a seed')
  if samples_per_read < 1 or (samples_per_read > 1 and not training):
    raise ValueError(f'samples_per_read={samples_per_read}: must be >= 1, '
                     'and 1 unless training')
  if training:
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.repeat()
    records = record_sampling.has_records(ds.element_spec)
    if records or samples_per_read > 1:
      # The copies share the read's tensors (no copy); the second shuffle
      # spreads them over batches.
      ds = _samples_of_reads(ds, model, num_frames, stride, samples_per_read,
                             seed, records)
      ds = ds.shuffle(max(shuffle_buffer, 2 * samples_per_read * batch_size),
                      seed=None if seed is None else seed + 1,
                      reshuffle_each_iteration=True)
  seeds = tf.data.Dataset.random(seed=seed).batch(2)
  ds = tf.data.Dataset.zip(ds, seeds)

  def fn(example, element_seed):
    return preprocess(example, model, crop_size, num_frames=num_frames,
                      stride=stride, training=training, seed=element_seed,
                      with_position=with_position)

  ds = ds.map(fn, num_parallel_calls=num_parallel_calls,
              deterministic=deterministic)
  if drop_remainder is None:
    drop_remainder = training
  ds = ds.batch(batch_size, drop_remainder=drop_remainder)
  options = tf.data.Options()
  options.deterministic = deterministic
  return ds.with_options(options).prefetch(AUTOTUNE)


def _samples_of_reads(ds, model, num_frames, stride, k, seed, records):
  """Each example read, repeated: ``k`` times, times its record's random
  ``record_sampling.samples_per_read`` where it is a record."""
  span, on_flow = _train_span(model, num_frames, stride)
  seeds = tf.data.Dataset.random(
      seed=None if seed is None else seed + 2).batch(2)

  def repeat(example, count_seed):
    count = tf.constant(k, tf.int64)
    if records:
      count *= record_sampling.samples_per_read(example, span, on_flow,
                                                seed=count_seed)
    return tf.data.Dataset.from_tensors(example).repeat(count)

  return tf.data.Dataset.zip(ds, seeds).flat_map(repeat)


def _skip_videos(feature):
  """SkipDecoding for every Video inside ``feature`` (None: nothing to skip)."""
  if isinstance(feature, tfds.features.Video):
    return tfds.decode.SkipDecoding()
  if isinstance(feature, tfds.features.FeaturesDict):
    inner = {k: _skip_videos(f) for k, f in feature.items()}
    inner = {k: d for k, d in inner.items() if d is not None}
    return inner or None
  return None


def read_only(features: tfds.features.FeaturesDict, keys) -> (
    tfds.decode.PartialDecoding):
  """The ``decoders=`` that parse only ``keys`` and leave their videos encoded.

  Features not in ``keys`` are not parsed at all (``PartialDecoding``); the
  JPEG frames and per-field flow images of those kept stay strings until
  ``ops.gather_frames`` decodes the ones a sample uses.  A zlib flow tensor
  (the builders' earlier layout) is decoded whole, as it must be.
  """
  keys = [k for k in keys if k in features]
  skips = {k: _skip_videos(features[k]) for k in keys}
  return tfds.decode.PartialDecoding(
      {k: features[k] for k in keys},
      decoders={k: d for k, d in skips.items() if d is not None})


def load_examples(dataset, split: str, model: str, *,
                  data_dir: Optional[str] = None, shuffle_files: bool = True,
                  seed: Optional[int] = None,
                  input_context: Optional[tf.distribute.InputContext] = None,
                  read_config: Optional[tfds.ReadConfig] = None,
                  num_frames: Optional[int] = None,
                  stride: Optional[int] = None) -> tf.data.Dataset:
  """Reads a TFDS dataset, keeping frames encoded until they are sampled.

  Args:
    dataset: TFDS name with config, e.g. 'synthetic_actions/tiny', or a
      tfds DatasetBuilder (a custom config).
    split: TFDS split ('train', 'validation', 'train[:10%]', ...).
    model: decides the feature read (its row's ``feature``).
    data_dir: TFDS data_dir.
    shuffle_files, seed: file-order shuffling.
    input_context: shards the files over input pipelines (tf.distribute).
    read_config: a tfds.ReadConfig to start from (e.g.
      ``try_autocache=False``, as for any dataset over TFDS's 250 MiB cache
      limit); its shuffle seed and input context are set here.
    num_frames, stride: the training footprint, if not the row's (checked
      against a split stored as records: :func:`check_records`).

  Returns:
    Dataset of dicts {feature_key(model): ..., 'label': int64} (and the
    record features of a set with records), the feature still encoded; no
    other feature is parsed (:func:`read_only`).
  """
  key = feature_key(model)
  import kinetics_tf.datasets  # noqa: F401  pylint: disable=g-import-not-at-top
  builder = (dataset if isinstance(dataset, tfds.core.DatasetBuilder)
             else tfds.builder(dataset, data_dir=data_dir))
  features = builder.info.features
  if key not in features:
    raise ValueError(f'{dataset} has no {key!r} feature (it has '
                     f'{sorted(features)}); the {model!r} model needs a '
                     'config built with it')
  check_records(builder, split, model, num_frames, stride)
  decoders = read_only(features, (key, 'label') + record_sampling.KEYS)
  shard_examples = None
  if input_context and input_context.num_input_pipelines > 1:
    shards = builder.info.splits[split].num_shards
    if shards < input_context.num_input_pipelines:
      # Too few files to give each input pipeline its own: split examples.
      shard_examples, input_context = input_context, None
  read_config = dataclasses.replace(read_config or tfds.ReadConfig(),
                                    shuffle_seed=seed,
                                    input_context=input_context)
  ds = builder.as_dataset(split=split, shuffle_files=shuffle_files,
                          decoders=decoders, read_config=read_config)
  if shard_examples:
    ds = ds.shard(shard_examples.num_input_pipelines,
                  shard_examples.input_pipeline_id)
  return ds


def check_records(builder, split: str, model: str,
                  num_frames: Optional[int] = None,
                  stride: Optional[int] = None) -> None:
  """Refuses a split of records that cannot give ``model``'s samples.

  Raises UserError naming the dataset when its records are of the layout
  before the record features (every start not reachable) or hold a
  footprint shorter than the model's.
  """
  features = builder.info.features
  name = f'{builder.name}/{builder.info.config_name}'
  if 'first_frame' in features and 'clip_records' not in features:
    raise errors.UserError(
        f'{name} (version {builder.version}) stores records of a layout that '
        'reaches only some starts of each clip and weighs clips by their '
        'length; build the current version (tfds build ... or '
        'download_and_prepare) and train from it.')
  if not stored_as_records(builder, split):
    return
  config = builder.builder_config
  span, on_flow = _train_span(model, num_frames, stride)
  record_sampling.check_footprint(
      name, config.train_record_stride, config.train_record_overlap, span,
      on_flow, model)


def stored_as_records(builder, split: str) -> bool:
  """Whether ``split`` (e.g. 'train[:10%]') of ``builder``'s config is
  stored as records of a few frames rather than whole clips."""
  stride = getattr(builder.builder_config, 'train_record_stride', None)
  return stride is not None and split.split('[')[0] == 'train'
