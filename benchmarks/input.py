r"""Training and dense test input at paper sizes: the library's TFDS sets against rawframes.

Builds once (kept in ``--cache_dir``) a small set with the library's own
``video_folder`` builder from the 10 s Kinetics fixture clip at the paper's
sizes (§4.4: shorter side 340 for the ResNet-50 models, with TV-L1 flow;
128 for C3D), in every flow layout ('png', the default; 'jpeg'; 'zlib', the
builders' earlier layout), an RGB-only and a flow-only set, and next to it
the rawframes reference that mmaction2 users keep: one JPEG per frame and per
flow channel
(``img_00001.jpg``, ``flow_x_00001.jpg``, ``flow_y_00001.jpg``), the same
frames (the stored JPEG bytes) and the same flow.

Then, each case in its own process pinned to one thread (TF intra/inter-op,
the tf.data thread pool, OpenCV), with TFDS's auto-cache off (as for any
real copy of Kinetics: TFDS caches a dataset under 250 MiB after one pass,
which hides every decode at small sizes):

* training: ``train_pipeline.load_examples`` + ``make_dataset`` (the model's
  Table 3 footprint, random crop and flip, batch 1) against reading the
  footprint's files with ``cv2.imread`` and the same crop / flip / scale;
  RGB and flow also with K samples per read (``samples_per_read``) and RGB
  from the combined RGB+flow set (the bytes a stream reads of the other's);
* dense test input (Table 3 test protocol): ``dense.views`` on examples read
  as ``evaluate`` reads them, against reading the same frames / fields.

For each: CPU ms per example (process CPU time), examples/s on one core,
bytes read per example (``rchar`` of /proc/self/io: every byte through
read(), page cache or disk) and peak RSS.  It prints the JPEG flow's error
against the lossless flow, the cores per GPU each model's training input
needs at a published GPU rate, and checks the targets (within 1.5x of the
reference, 3x for lossless flow; flow at least 20x faster than the zlib
layout).

  python benchmarks/input.py                      # paper sizes, ~10 min
  python benchmarks/input.py --short_side 40 --c3d_side 32 --crop 32 \
      --c3d_crop 24 --seconds 1 --examples 3      # seconds, for tests

The flow is TV-L1 with cheaper settings than OpenCV's defaults (the
synthetic set's: 3 scales, 2 warps), computed once for all layouts: OpenCV's
defaults cost ~3.7 CPU s per pair at side 340 (docs/BENCHMARKS.md), 15 CPU
minutes for one clip.  Decoding cost depends on the field's size and
content, not on how it was computed.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np

# benchmarks/flow.py would shadow the flow package that kinetics_tf imports:
# drop this folder from the import path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLIP = 'k400_arm_wrestling_340x256_28fps.mp4'
CHEAP_TVL1 = (('nscales', 3), ('warps', 2), ('epsilon', 0.1),
              ('innnerIterations', 20), ('outerIterations', 5))
MODELS = ('rgb', 'flow', 'c3d', 'convnet_lstm')
# Published ResNet-50 v1.5 training rates on one GPU, mixed precision + XLA,
# batch 256, images/s: NVIDIA DeepLearningExamples,
# TensorFlow/Classification/ConvNets/resnet50v1.5/README.md ("Training
# performance results", TensorFlow 20.06-tf1 container): 1,270 on a V100 16GB
# (DGX-1), 2,375 on an A100 40GB (DGX A100).
RESNET50_GPU_IMAGES_S = {'V100': 1270, 'A100': 2375}
# Images through the ResNet-50 per training example (C3D: no published
# rate for the paper's C3D at 112x112 known to us; not estimated).
IMAGES_PER_EXAMPLE = {'rgb': 1, 'flow': 1, 'convnet_lstm': 25}


# ---------------------------------------------------------------- children --


def _rchar() -> int:
  with open('/proc/self/io') as f:
    for line in f:
      if line.startswith('rchar:'):
        return int(line.split()[1])
  return 0


def _measure(step, n: int, warmup: int = 2) -> dict:
  for _ in range(warmup):
    step()
  r0, c0, w0 = _rchar(), time.process_time(), time.perf_counter()
  for _ in range(n):
    step()
  wall = time.perf_counter() - w0
  cpu = time.process_time() - c0
  return {'cpu_ms': 1000 * cpu / n, 'ex_per_s': n / wall,
          'bytes': (_rchar() - r0) / n,
          'rss_mib': _peak_rss_mib()}


def _peak_rss_mib() -> float:
  """VmHWM: this process's peak RSS since exec (ru_maxrss would carry the
  parent's peak over fork)."""
  with open('/proc/self/status') as f:
    for line in f:
      if line.startswith('VmHWM:'):
        return int(line.split()[1]) / 1024
  return float('nan')


def _child_lib(spec: dict) -> dict:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  threads = spec.get('threads', 1)  # 0: every core of the host
  if threads:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from kinetics_tf.input import dense  # pylint: disable=g-import-not-at-top
  from kinetics_tf.input import train_pipeline  # pylint: disable=g-import-not-at-top
  import cv2  # pylint: disable=g-import-not-at-top
  cv2.setNumThreads(1)
  builder = tfds.builder_from_directory(spec['data_path'])
  model, crop = spec['model'], spec['crop']
  read_config = tfds.ReadConfig(try_autocache=False)
  options = tf.data.Options()
  calls = tf.data.AUTOTUNE
  if threads:
    options.threading.private_threadpool_size = threads
    options.threading.max_intra_op_parallelism = 1
    if threads == 1:
      options.autotune.enabled = False
      calls = 1
  if spec['mode'] == 'train':
    ds = train_pipeline.load_examples(builder, 'train', model,
                                      shuffle_files=False,
                                      read_config=read_config)
    ds = train_pipeline.make_dataset(ds, model, crop, 1, seed=0,
                                     shuffle_buffer=1, num_parallel_calls=calls,
                                     samples_per_read=spec.get('k', 1))
  else:
    key = train_pipeline.feature_key(model)
    ds = builder.as_dataset(
        split='train', shuffle_files=False, read_config=read_config,
        decoders=train_pipeline.read_only(builder.info.features,
                                          [key, 'label']))
    ds = ds.repeat().map(lambda ex: dense.views(model, ex[key], crop),
                         num_parallel_calls=calls)
  it = iter(ds.with_options(options))
  return _measure(lambda: next(it)[0].numpy(), spec['n'])


def _child_ref(spec: dict) -> dict:
  import cv2  # pylint: disable=g-import-not-at-top
  cv2.setNumThreads(1)
  folder, model, crop = spec['folder'], spec['model'], spec['crop']
  num = spec['num_frames'] - (1 if model == 'flow' else 0)
  rng = np.random.default_rng(0)
  samples = iter(spec['indices']) if spec['mode'] == 'dense' else None

  def read(i):
    if model == 'flow':
      x = cv2.imread(f'{folder}/flow_x_{i + 1:05d}.jpg', cv2.IMREAD_GRAYSCALE)
      y = cv2.imread(f'{folder}/flow_y_{i + 1:05d}.jpg', cv2.IMREAD_GRAYSCALE)
      return np.stack([x, y], axis=-1)
    return cv2.imread(f'{folder}/img_{i + 1:05d}.jpg')[..., ::-1]

  def step():
    if samples is not None:
      idx = next(samples, None) or spec['indices'][0]
    else:
      n, stride = spec['footprint']
      span = (n - 1) * stride + 1
      start = rng.integers(0, max(num - span, 0) + 1)
      idx = [(start + k * stride) % num for k in range(n)]
    clip = np.stack([read(i) for i in idx])
    h, w = clip.shape[1:3]
    if samples is not None:
      top, left = (h - crop) // 2, (w - crop) // 2
    else:
      top, left = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
    x = clip[:, top:top + crop, left:left + crop].astype(np.float32)
    x = x / 127.5 - 1.0
    if samples is None and rng.integers(2):
      x = x[:, :, ::-1]
      if model == 'flow':
        x[..., 0] *= -1
    if model == 'flow':  # [T,H,W,2] -> [H,W,2T]
      x = np.ascontiguousarray(x.transpose(1, 2, 0, 3)).reshape(crop, crop, -1)
    return x

  return _measure(step, spec['n'])


# ------------------------------------------------------------------ parent --


@dataclasses.dataclass
class Sets:
  """Where the built sets and the rawframes folders are."""
  paths: dict  # set name -> TFDS data path
  frames: dict  # side -> rawframes folder
  num_frames: dict  # side -> T
  stats: dict


def _build(args) -> Sets:
  # Heavy imports here: the children that read rawframes never pay them.
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import features as features_lib  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import video_folder  # pylint: disable=g-import-not-at-top
  fixtures = os.environ.get('KINETICS_TF_FIXTURES')
  if not fixtures:
    sys.exit('input.py: set KINETICS_TF_FIXTURES to the fixtures folder '
             f'(it needs videos/{CLIP})')
  tag = f's{args.short_side}_c{args.c3d_side}_{args.seconds:g}s'
  cache = pathlib.Path(args.cache_dir) / tag
  root = cache / 'videos'
  clip_dir = root / 'train' / 'arm_wrestling'
  if not (clip_dir / CLIP).exists():
    clip_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(pathlib.Path(fixtures) / 'videos' / CLIP, clip_dir / CLIP)
  # One TV-L1 run for every layout: the builds share one data_dir, so they
  # read the same prepared clip (flow.prepare).
  sets = {
      'rgb340': dict(short_side=args.short_side, with_flow=False),
      'rgb340_flow': dict(short_side=args.short_side, with_flow=True,
                          flow_format='png'),
      'rgb340_flow_jpeg': dict(short_side=args.short_side, with_flow=True,
                               flow_format='jpeg'),
      'rgb340_flow_zlib': dict(short_side=args.short_side, with_flow=True,
                               flow_format='zlib'),
      'rgb128': dict(short_side=args.c3d_side, with_flow=False),
      'flow340': dict(short_side=args.short_side, with_flow=True,
                      flow_format='png', with_video=False),
      # The streams' training configs: the train split in records of one
      # frame (RGB) or overlapping records of S flow stacks' starts (flow),
      # StorageConfig's train_record_stride / train_record_overlap.
      'rgb340_frames': dict(short_side=args.short_side, with_flow=False,
                            train_record_stride=1),
  }
  from kinetics_tf import constants  # pylint: disable=g-import-not-at-top
  stack = dict(train_record_overlap=constants.FLOW_STACK)
  if args.record_strides:
    # One set for both streams, as the kinetics config two_stream340:
    # frames and zlib flow in records of S starts.
    n = args.record_strides[0]
    sets[f'two_stream_s{n}'] = dict(short_side=args.short_side,
                                    with_flow=True, flow_format='zlib',
                                    train_record_stride=n, **stack)
  for n in args.record_strides:
    for fmt in args.layouts:
      sets[f'flow340_{fmt}_s{n}'] = dict(
          short_side=args.short_side, with_flow=True, flow_format=fmt,
          with_video=False, train_record_stride=n, **stack)
  paths = {}
  started = time.perf_counter()
  for name, kwargs in sets.items():
    config = video_folder.video_folder_config(
        root, name=name, max_seconds=args.seconds, tvl1_params=CHEAP_TVL1,
        **kwargs)
    builder = video_folder.VideoFolder(config=config, flow_backend='opencv',
                                       data_dir=str(cache / 'tfds'))
    if not builder.is_prepared():
      print(f'building {name} ...', flush=True)
      builder.download_and_prepare()
    paths[name] = str(builder.data_path)
  built_s = time.perf_counter() - started

  def one(name, decoders=None):
    b = tfds.builder_from_directory(paths[name])
    ds = b.as_dataset(split='train', decoders=decoders, shuffle_files=False)
    return next(iter(tfds.as_numpy(ds)))

  skip = tfds.decode.SkipDecoding()
  frames, num_frames = {}, {}
  for side, name in ((args.short_side, 'rgb340'), (args.c3d_side, 'rgb128')):
    folder = cache / f'rawframes_{side}'
    ex = one(name, {'video': skip})
    num_frames[side] = len(ex['video'])
    if not (folder / 'done').exists():
      folder.mkdir(parents=True, exist_ok=True)
      for i, jpeg in enumerate(ex['video']):  # the very bytes stored
        (folder / f'img_{i + 1:05d}.jpg').write_bytes(jpeg)
      if side == args.short_side:
        coded = one('rgb340_flow_jpeg', {'flow': {'x': skip, 'y': skip}})
        for c in ('x', 'y'):
          for i, jpeg in enumerate(coded['flow'][c]):
            (folder / f'flow_{c}_{i + 1:05d}.jpg').write_bytes(jpeg)
      (folder / 'done').write_text('')
    frames[side] = str(folder)
  # The JPEG layout's error against the lossless flow, and stored sizes.
  lossless = features_lib.flow_array(one('rgb340_flow')['flow'])
  lossy = features_lib.flow_array(one('rgb340_flow_jpeg')['flow'])
  err = np.abs(lossy.astype(int) - lossless)
  step_px = 40 / 255  # flow.quantize: 0..255 over [-20, 20] px
  zlib = one('rgb340_flow_zlib')['flow']
  assert np.array_equal(zlib, lossless), 'png and zlib layouts differ'
  sizes = {}
  records = {}
  for name in sets:
    records[name] = tfds.builder_from_directory(
        paths[name]).info.splits['train'].num_examples
    files = list(pathlib.Path(paths[name]).glob('*-train.tfrecord-*'))
    sizes[name] = sum(f.stat().st_size for f in files)
  fields = lossless.shape[0]
  stats = {
      'build_s': built_s, 'fields': fields, 'field_shape': lossless.shape[1:3],
      'jpeg_err_max_steps': int(err.max()),
      'jpeg_err_mean_steps': float(err.mean()),
      'jpeg_err_p99_steps': float(np.percentile(err, 99)),
      'jpeg_err_max_px': float(err.max() * step_px),
      'jpeg_err_mean_px': float(err.mean() * step_px),
      'record_bytes': sizes,
      'records': records,
      'flow_kb_per_field': {
          f: (sizes[f'rgb340_flow{s}'] - sizes['rgb340']) / fields / 1e3
          for f, s in (('png', ''), ('jpeg', '_jpeg'), ('zlib', '_zlib'))},
  }
  return Sets(paths, frames, num_frames, stats)


def _run_child(spec: dict) -> dict:
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', OMP_NUM_THREADS='1')
  done = subprocess.run(
      [sys.executable, __file__, '--child', json.dumps(spec)],
      capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
  if done.returncode:
    sys.exit(f'input.py: case {spec["kind"]} {spec["mode"]} {spec["model"]} '
             f'failed:\n{done.stderr[-3000:]}')
  return json.loads(done.stdout.strip().splitlines()[-1])


def _cases(args, sets: Sets):
  """(label, spec of the library case, spec of the reference case or None)."""
  from kinetics_tf import constants  # pylint: disable=g-import-not-at-top
  from kinetics_tf.input import dense  # pylint: disable=g-import-not-at-top
  side, side128 = args.short_side, args.c3d_side
  out = []
  for mode in args.modes:
    n = args.examples if mode == 'train' else args.dense_examples
    for model in args.models:
      s = side128 if model == 'c3d' else side
      crop = args.c3d_crop if model == 'c3d' else args.crop
      fp = constants.TRAIN_FOOTPRINTS[model]
      ref = {'kind': 'ref', 'mode': mode, 'model': model, 'crop': crop,
             'n': n, 'folder': sets.frames[s],
             'num_frames': sets.num_frames[s],
             'footprint': [fp.num_frames, fp.stride]}
      if mode == 'dense':
        idx = dense.snapshot_indices_np(model, sets.num_frames[s])
        ref['indices'] = [idx.reshape(-1).tolist()]
      names = {'png': 'rgb340_flow', 'jpeg': 'rgb340_flow_jpeg',
               'zlib': 'rgb340_flow_zlib'}
      layouts = ([(f, names[f]) for f in args.layouts] if model == 'flow'
                 else [('', 'rgb128' if model == 'c3d' else 'rgb340')])
      if model == 'flow' and 'png' in args.layouts:
        layouts.append(('png, flow-only set', 'flow340'))
      if model == 'rgb' and mode == 'train':
        layouts.append(('from rgb+flow set', 'rgb340_flow'))
        layouts.append(('one frame per record', 'rgb340_frames'))
        if args.record_strides:
          n = args.record_strides[0]
          layouts.append((f'rgb+zlib flow set, {n} starts per record',
                          f'two_stream_s{n}'))
      if model == 'flow' and mode == 'train':
        layouts += [(f'{fmt}, {n} starts per record', f'flow340_{fmt}_s{n}')
                    for n in args.record_strides for fmt in args.layouts]
        if args.record_strides and 'zlib' in args.layouts:
          n = args.record_strides[0]
          layouts.append((f'zlib, rgb+flow set, {n} starts per record',
                          f'two_stream_s{n}'))
      if mode == 'train' and args.k > 1 and model in ('rgb', 'flow'):
        layouts.append((layouts[0][0], layouts[0][1], args.k))
      for tag, name, *k in layouts:
        # TFDS reads a file through an 8 MiB buffer: a record of one frame
        # or ten fields needs hundreds of samples for the bytes read (and
        # the reads' CPU) to show at their steady-state rate.
        lib = {'kind': 'lib', 'mode': mode, 'model': model, 'crop': crop,
               'n': args.record_examples if 'per record' in tag else n,
               'data_path': sets.paths[name], 'threads': args.threads,
               'set': name}
        if k:
          lib['k'] = k[0]
          tag = f'{tag}, ' if tag else ''
          tag += f'K={k[0]}'
        label = f'{model} ({tag})' if tag else model
        out.append((mode, model, label, lib, ref))
  return out


def _fit_and_validate(stream, builder, model, train, crop, batch, steps):
  """Compiles and fits a tiny stream for ``steps``, then its validation
  top-1 on the builder's whole-clip validation split; (top-1, seconds)."""
  import keras  # pylint: disable=g-import-not-at-top
  from kinetics_tf.input import train_pipeline  # pylint: disable=g-import-not-at-top
  model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                loss=keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True), metrics=['accuracy'])
  val = train_pipeline.make_dataset(
      train_pipeline.load_examples(builder, 'validation', stream,
                                   shuffle_files=False),
      stream, crop, batch, training=False)
  started = time.perf_counter()
  model.fit(train, steps_per_epoch=steps, epochs=1, verbose=0)
  took = time.perf_counter() - started
  _, acc = model.evaluate(val, verbose=0)
  return acc, took


def _learning(args):
  """Validation accuracy at equal steps with K samples per read (synthetic set)."""
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from kinetics_tf import models  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import synthetic  # pylint: disable=g-import-not-at-top
  from kinetics_tf.input import train_pipeline  # pylint: disable=g-import-not-at-top
  base = synthetic.SyntheticActions.BUILDER_CONFIGS[2]  # demo_rgb
  config = dataclasses.replace(
      base, name=f'learning_{args.learning_clips}',
      clips_per_class=(args.learning_clips, max(1, args.learning_clips // 5),
                       0))
  builder = synthetic.SyntheticActions(
      config=config, data_dir=str(pathlib.Path(args.cache_dir) / 'learning'))
  builder.download_and_prepare()
  crop, batch = 40, 16
  print(f'\nlearning: rgb stream (width 1/4, one block a stage) on '
        f'synthetic_actions {config.size}x{config.size}, '
        f'{args.learning_clips} clips a class; {args.learning_steps} steps of '
        f'{batch}; validation top-1 (chance 1/16; the RGB stream '
        'can tell only the 8 appearance classes)\n')
  print('| K samples per read | seed | clips read | validation top-1 | '
        'train s |')
  print('|---|---|---|---|---|')
  runs = [(k, seed) for k in args.learning_k for seed in args.learning_seeds]
  for k, seed in runs:
    keras.utils.set_random_seed(seed)
    model = models.rgb_stream(num_classes=16, input_size=crop,
                              width_multiplier=1 / 4,
                              blocks_per_stage=(1, 1, 1, 1))
    reads = tf.Variable(0, dtype=tf.int64)

    def count(ex, reads=reads):
      with tf.control_dependencies([reads.assign_add(1)]):
        return tf.nest.map_structure(tf.identity, ex)

    train = train_pipeline.load_examples(builder, 'train', 'rgb', seed=seed)
    train = train_pipeline.make_dataset(train.map(count), 'rgb', crop, batch,
                                        seed=seed, shuffle_buffer=640,
                                        samples_per_read=k)
    acc, took = _fit_and_validate('rgb', builder, model, train, crop, batch,
                                  args.learning_steps)
    print(f'| {k} | {seed} | {int(reads.numpy())} | {acc:.3f} | {took:.0f} |',
          flush=True)


def _learning_records(args):
  """Validation top-1 at equal steps of the flow stream trained from whole
  clips or from records of S starts (--record_strides; synthetic set, clips
  of --learning_frames frames), over --learning_seeds, with each layout's
  mean and standard error and the difference's."""
  import keras  # pylint: disable=g-import-not-at-top
  from kinetics_tf import constants  # pylint: disable=g-import-not-at-top
  from kinetics_tf import models  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import clips as clips_lib  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import synthetic  # pylint: disable=g-import-not-at-top
  from kinetics_tf.input import train_pipeline  # pylint: disable=g-import-not-at-top
  base = synthetic.SyntheticActions.BUILDER_CONFIGS[0]  # demo: with flow
  frames, crop, batch = args.learning_frames, 40, 16
  clips = args.learning_clips
  builders, memo, real_flow_of = {}, {}, clips_lib.flow_of

  def flow_once(gray, opts):  # one TV-L1 run per clip for every layout
    key = hashlib.sha1(gray.tobytes()).hexdigest()
    if key not in memo:
      memo[key] = real_flow_of(gray, opts)
    return memo[key]

  clips_lib.flow_of = flow_once
  try:
    for n in [None] + args.record_strides:
      config = dataclasses.replace(
          base, name=f'records_s{n or "whole"}_{clips}_{frames}',
          num_frames=frames, train_record_stride=n,
          train_record_overlap=constants.FLOW_STACK if n else 0,
          clips_per_class=(clips, max(1, clips // 5), 0))
      builders[n] = synthetic.SyntheticActions(
          config=config,
          data_dir=str(pathlib.Path(args.cache_dir) / 'learning'))
      builders[n].download_and_prepare()
  finally:
    clips_lib.flow_of = real_flow_of
  print(f'\nlearning: flow stream (width 1/4, one block a stage) on '
        f'synthetic_actions {base.size}x{base.size}, {frames} frames '
        f'({frames - 10} stack starts a clip), {clips} clips a class; '
        f'{args.learning_steps} steps of {batch}; validation top-1 on whole '
        'clips (chance 1/16; the flow stream can tell only the 8 motion '
        'classes)\n')
  print('| train split | records | seed | validation top-1 | train s |')
  print('|---|---|---|---|---|')
  accs = {}
  for n, builder in builders.items():
    records = builder.info.splits['train'].num_examples
    label = 'whole clips' if n is None else f'records of {n} starts'
    for seed in args.learning_seeds:
      keras.utils.set_random_seed(seed)
      model = models.flow_stream(num_classes=16, input_size=crop,
                                 width_multiplier=1 / 4,
                                 blocks_per_stage=(1, 1, 1, 1))
      train = train_pipeline.make_dataset(
          train_pipeline.load_examples(builder, 'train', 'flow', seed=seed),
          'flow', crop, batch, seed=seed, shuffle_buffer=1024)
      acc, took = _fit_and_validate('flow', builder, model, train, crop,
                                    batch, args.learning_steps)
      accs.setdefault(label, []).append(acc)
      print(f'| {label} | {records} | {seed} | {acc:.3f} | {took:.0f} |',
            flush=True)
  _print_means(accs)


def _print_means(accs: dict) -> None:
  """Each layout's mean top-1 +- standard error, and each difference from
  the first layout with its standard error."""
  print()
  stats = {}
  for label, values in accs.items():
    v = np.asarray(values)
    se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float('nan')
    stats[label] = (v.mean(), se)
    print(f'{label}: mean top-1 {v.mean():.3f} +- {se:.3f} (SE, {len(v)} '
          'runs)')
  first, (m0, s0) = next(iter(stats.items()))
  for label, (m, se) in list(stats.items())[1:]:
    diff_se = float(np.hypot(s0, se))
    resolves = (f'a difference of 0.02 is {0.02 / diff_se:.1f} SE'
                if diff_se > 0 else 'no spread between runs: not resolved')
    print(f'{label} - {first}: {m - m0:+.3f} +- {diff_se:.3f} (SE); '
          f'{resolves}')


def _whole_clip_bytes(name: str, sizes: dict) -> float:
  """Train-split bytes of the whole-clip layout holding what set ``name``
  holds (flow-only sets: the flow's share of the RGB + flow set)."""
  if name == 'rgb340_frames':
    return sizes['rgb340']
  if name.startswith('two_stream'):
    return sizes['rgb340_flow_zlib']
  fmt = name.split('_')[1]
  with_flow = {'png': 'rgb340_flow', 'jpeg': 'rgb340_flow_jpeg',
               'zlib': 'rgb340_flow_zlib'}[fmt]
  return sizes[with_flow] - sizes['rgb340']


def _record_targets(args, results, sets: Sets) -> list:
  """Bytes read per sample against the bytes of what it uses (<= 3x) and
  disk of the train split against whole clips (<= 1.5x), per record set."""
  st, out = sets.stats, []
  sizes = st['record_bytes']
  frame_bytes = sizes['rgb340'] / sets.num_frames[args.short_side]
  print('\nrecords: bytes read per sample against the bytes of the frames '
        'or fields it uses, and the train split against whole clips\n')
  print('| input | set | bytes/sample | used | read/used | split | whole '
        'clips | disk ratio |')
  print('|---|---|---|---|---|---|---|---|')
  for (mode, label), (model, r) in results.items():
    if mode != 'train' or 'per record' not in label:
      continue
    name = r['set']
    fmt = 'zlib' if 'zlib' in label else 'jpeg' if 'jpeg' in label else 'png'
    used = (frame_bytes if model == 'rgb' else
            10 * st['flow_kb_per_field'][fmt] * 1e3)
    whole = _whole_clip_bytes(name, sizes)
    read_ratio, disk = r['bytes'] / used, sizes[name] / whole
    print(f'| {label} | {name} | {_fmt_bytes(r["bytes"])} | '
          f'{_fmt_bytes(used)} | {read_ratio:.2f}x | {_fmt_bytes(sizes[name])}'
          f' | {_fmt_bytes(whole)} | {disk:.2f}x |')
    out.append((f'{label}: reads {read_ratio:.2f}x the bytes it uses '
                '(target <= 3x)', read_ratio <= 3))
    out.append((f'{label}: train split {disk:.2f}x whole clips (target '
                '<= 1.5x)', disk <= 1.5))
  return out


def _fmt_bytes(b: float) -> str:
  return f'{b / 1e6:.2f} MB' if b >= 1e5 else f'{b / 1e3:.1f} kB'


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--child', help=argparse.SUPPRESS)
  p.add_argument('--cache_dir', default='/tmp/kinetics_tf_bench_input')
  p.add_argument('--short_side', type=int, default=340)
  p.add_argument('--c3d_side', type=int, default=128)
  p.add_argument('--crop', type=int, default=299)
  p.add_argument('--c3d_crop', type=int, default=112)
  p.add_argument('--seconds', type=float, default=10.0)
  p.add_argument('--examples', type=int, default=30,
                 help='timed training examples per case')
  p.add_argument('--record_examples', type=int, default=600,
                 help='timed training examples per case of the per-record '
                 'sets (over 2x the records in TFDS\'s 8 MiB read buffer)')
  p.add_argument('--dense_examples', type=int, default=3,
                 help='timed clips per dense case')
  p.add_argument('--k', type=int, default=8,
                 help='also time rgb and flow with K samples per read (1: not)')
  p.add_argument('--threads', type=int, default=1,
                 help="the library's threads (0: every core, tf.data "
                 'autotuned); the reference stays on one')
  p.add_argument('--modes', default='train,dense')
  p.add_argument('--learning', action='store_true',
                 help='only the effect of K samples per read on learning')
  p.add_argument('--learning_records', action='store_true',
                 help='only the effect of records of --record_strides starts '
                 'on learning (flow stream)')
  p.add_argument('--learning_frames', type=int, default=48,
                 help='frames per synthetic clip of --learning_records')
  p.add_argument('--learning_k', default='1,4,16')
  p.add_argument('--learning_steps', type=int, default=400)
  p.add_argument('--learning_seeds', default='0,1,2')
  p.add_argument('--learning_clips', type=int, default=40,
                 help='training clips per class of the synthetic set')
  p.add_argument('--models', default=','.join(MODELS))
  p.add_argument('--layouts', default='png,jpeg,zlib',
                 help='flow layouts measured')
  p.add_argument('--record_strides', default='20',
                 help='starts per training record of the per-record flow '
                 'sets measured (overlap 10: a record of S starts holds '
                 'S + 9 fields)')
  args = p.parse_args(argv)
  if args.child:
    spec = json.loads(args.child)
    fn = _child_lib if spec['kind'] == 'lib' else _child_ref
    print(json.dumps(fn(spec)))
    return
  args.record_strides = [int(n) for n in args.record_strides.split(',') if n]
  if args.learning or args.learning_records:
    args.learning_k = [int(k) for k in args.learning_k.split(',')]
    args.learning_seeds = [int(k) for k in args.learning_seeds.split(',')]
    (_learning_records if args.learning_records else _learning)(args)
    return
  args.modes = args.modes.split(',')
  args.models = args.models.split(',')
  args.layouts = args.layouts.split(',')
  import cv2  # pylint: disable=g-import-not-at-top
  import platform  # pylint: disable=g-import-not-at-top
  started = time.perf_counter()
  sets = _build(args)
  st = sets.stats
  cpu = platform.processor() or platform.machine()
  try:
    with open('/proc/cpuinfo') as f:
      cpu = next(l.split(':', 1)[1].strip() for l in f
                 if l.startswith('model name'))
  except (OSError, StopIteration):
    pass
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  print(f'machine: {cpu}, {os.cpu_count()} cores; load average '
        f'{os.getloadavg()[0]:.1f}; TensorFlow {tf.__version__}, OpenCV '
        f'{cv2.__version__}')
  h, w = st['field_shape']
  print(f'clip: {CLIP}, {args.seconds:g} s -> {sets.num_frames[args.short_side]}'
        f' frames {w}x{h} (side {args.short_side}), {st["fields"]} flow '
        f'fields; side {args.c3d_side} for C3D; built in {st["build_s"]:.0f} s')
  print('stored per clip (train records): ' + ', '.join(
      f'{k} {_fmt_bytes(v)} ({st["records"][k]})'
      for k, v in st['record_bytes'].items()))
  print('flow per field: ' + ', '.join(
      f'{k} {v:.1f} kB' for k, v in st['flow_kb_per_field'].items()))
  print(f'JPEG flow (q95) against lossless: max {st["jpeg_err_max_steps"]} '
        f'steps ({st["jpeg_err_max_px"]:.2f} px), mean '
        f'{st["jpeg_err_mean_steps"]:.2f} steps ({st["jpeg_err_mean_px"]:.3f} '
        f'px), 99th percentile {st["jpeg_err_p99_steps"]:.0f} steps')
  results = {}
  refs = {}
  for mode, model, label, lib, ref in _cases(args, sets):
    key = (mode, model)
    if key not in refs:
      refs[key] = _run_child(ref)
    results[(mode, label)] = (model, dict(_run_child(lib), set=lib['set']))
  targets = []
  for mode in args.modes:
    where = ('one thread' if args.threads == 1 else
             f'library on {args.threads or os.cpu_count()} threads, reference '
             'on one')
    print(f'\n{mode}: {where}, TFDS auto-cache off; library vs rawframes '
          '(cv2.imread of the same frames)\n')
    cores = ('1 core' if args.threads == 1 else
             f'{args.threads or os.cpu_count()} cores')
    print('| input | library CPU ms/ex | reference CPU ms/ex | ratio | '
          f'library ex/s ({cores}) | reference ex/s | library bytes/ex | '
          'reference bytes/ex | library peak RSS MiB | reference MiB |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for (m, label), (model, r) in results.items():
      if m != mode:
        continue
      ref = refs[(mode, model)]
      ratio = r['cpu_ms'] / ref['cpu_ms']
      print(f'| {label} | {r["cpu_ms"]:.1f} | {ref["cpu_ms"]:.1f} | '
            f'{ratio:.2f}x | {r["ex_per_s"]:.1f} | {ref["ex_per_s"]:.1f} | '
            f'{_fmt_bytes(r["bytes"])} | {_fmt_bytes(ref["bytes"])} | '
            f'{r["rss_mib"]:.0f} | {ref["rss_mib"]:.0f} |')
      # Targets on each model's training input: the record-per-frame /
      # per-stack configs for the two streams, whole clips for the others.
      if mode == 'train' and (model in ('c3d', 'convnet_lstm') or
                              'per record' in label):
        lossless = label.startswith(('flow (png', 'flow (zlib'))
        limit = 3.0 if lossless else 1.5
        targets.append((f'{label}: {ratio:.2f}x the reference (target '
                        f'<= {limit}x)', ratio <= limit))
    if mode == 'train':
      zlib = results.get(('train', 'flow (zlib)'))
      for label in [f'flow ({fmt}, {n} starts per record)'
                    for n in args.record_strides for fmt in args.layouts]:
        per_record = results.get(('train', label))
        if per_record and zlib:
          gain = zlib[1]['cpu_ms'] / per_record[1]['cpu_ms']
          targets.append((f'{label} {gain:.1f}x faster than the zlib layout '
                          '(target >= 20x)', gain >= 20))
      gpus = ', '.join(f'{g} {r:,}' for g, r in RESNET50_GPU_IMAGES_S.items())
      print('\ncores per GPU for training input, at ResNet-50\'s published '
            f'images/s with mixed precision + XLA ({gpus}; NVIDIA '
            'DeepLearningExamples), V100-A100:')
      for (m, label), (model, r) in results.items():
        if m != 'train' or model not in IMAGES_PER_EXAMPLE:
          continue
        rates = [g / IMAGES_PER_EXAMPLE[model]
                 for g in RESNET50_GPU_IMAGES_S.values()]
        lo, hi = (x * r['cpu_ms'] / 1000 for x in rates)
        ref = refs[('train', model)]
        rlo, rhi = (x * ref['cpu_ms'] / 1000 for x in rates)
        print(f'  {label}: {lo:.1f}-{hi:.1f} cores (reference '
              f'{rlo:.1f}-{rhi:.1f})')
      print('  c3d: no published GPU training rate for the paper\'s C3D; '
            'not estimated')
  if 'train' in args.modes:
    targets += _record_targets(args, results, sets)
  print('\ntargets:')
  for line, ok in targets:
    print(f'  {"PASS" if ok else "MISS"} {line}')
  print(f'\ntotal {time.perf_counter() - started:.0f} s')


if __name__ == '__main__':
  main()
