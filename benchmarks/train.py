r"""Training input cost: steps/s fed from TFRecords vs cached tensors, per model.

For each model (tiny widths, small crops) on a built synthetic set: training
steps/s when batches come through the real pipeline (TFRecords -> JPEG decode
of the sampled frames / zlib flow -> crop, flip, scale), and when the same
model is fed batches cached in memory; their ratio is the input pipeline's
overhead (the feeds alternate, best of two each).  Then the pipeline alone, in clips/s per core.

  python benchmarks/train.py --data_dir=/tmp/bench_tfds --steps=15
"""

import os
import time

from absl import app
from absl import flags
import tensorflow as tf
import tensorflow_datasets as tfds

import kinetics_tf.datasets  # noqa: F401  (registers synthetic_actions)
from kinetics_tf import train
from kinetics_tf.datasets.synthetic import synthetic_actions
from kinetics_tf.input import train_pipeline
from kinetics_tf.training import loop
from kinetics_tf.training.config import Config

flags.DEFINE_string('data_dir', '/tmp/kinetics_tf_bench_tfds', 'TFDS data_dir.')
flags.DEFINE_integer('steps', 15, 'Timed steps per measurement.')
flags.DEFINE_integer('batch_size', 8, 'Batch size.')
flags.DEFINE_list('models', ['rgb', 'flow', 'c3d', 'convnet_lstm'], 'Models.')
FLAGS = flags.FLAGS

BENCH = synthetic_actions.SyntheticActionsConfig(
    name='bench', size=48, num_frames=16, clips_per_class=(4, 1, 0),
    description='benchmarks/train.py: 48x48, 16 frames, TV-L1 flow.')


def _config(model):
  frames = {'convnet_lstm': (4, 3)}.get(model, (None, None))
  return Config(name=f'bench_{model}', dataset='synthetic_actions/bench',
                model=model, model_kwargs={'width_multiplier': 1 / 8},
                num_frames=frames[0], stride=frames[1], crop_size=40,
                batch_size=FLAGS.batch_size, base_lr=0.01, max_steps=1)


def _pipeline(builder, config):
  examples = train_pipeline.load_examples(builder, 'train', config.model)
  fp = config.footprint
  return train_pipeline.make_dataset(
      examples, config.model, config.crop_size, config.batch_size,
      num_frames=fp.num_frames, stride=fp.stride, shuffle_buffer=64, seed=0)


def _steps_per_s(trainer, batches):
  it = iter(batches)
  for _ in range(3):  # trace + warm up
    trainer.train_step(next(it))
  start = time.perf_counter()
  for _ in range(FLAGS.steps):
    float(trainer.train_step(next(it))[0])
  return FLAGS.steps / (time.perf_counter() - start)


def _clips_per_s(ds, batches=20):
  it = iter(ds)
  next(it)
  start = time.perf_counter()
  for _ in range(batches):
    next(it)
  return batches * FLAGS.batch_size / (time.perf_counter() - start)


def main(argv):
  del argv
  builder = tfds.builder('synthetic_actions', config=BENCH,
                         data_dir=FLAGS.data_dir)
  builder.download_and_prepare()
  cores = os.cpu_count()
  print(f'{"model":<14}{"TFRecord steps/s":>18}{"cached steps/s":>16}'
        f'{"overhead":>10}{"pipeline clips/s/core":>23}')
  for model in FLAGS.models:
    config = _config(model)
    ds = _pipeline(builder, config)
    cached = list(ds.take(4))
    trainer = loop.Trainer(lambda c=config: train.build_model(c, 16),
                           tf.distribute.OneDeviceStrategy('/cpu:0'),
                           config.batch_size, 0.01, 0.9, 1e-4, patience=1)
    memory = tf.data.Dataset.from_tensor_slices(
        tuple(tf.stack(t) for t in zip(*cached))).repeat()
    # Alternate the two feeds and keep the best of each (load on a shared
    # machine drifts; the first measurement also pays for warm-up).
    fed, mem = 0.0, 0.0
    for _ in range(2):
      mem = max(mem, _steps_per_s(trainer, memory))
      fed = max(fed, _steps_per_s(trainer, ds))
    alone = _clips_per_s(ds) / cores
    print(f'{model:<14}{fed:>18.2f}{mem:>16.2f}{mem / fed:>9.2f}x'
          f'{alone:>23.1f}', flush=True)
  print(f'batch {FLAGS.batch_size}, crop 40 of 48x48 frames, width 1/8, '
        f'{FLAGS.steps} timed steps; {cores} cores')


if __name__ == '__main__':
  app.run(main)
