r"""Prepare a Kinetics copy's clips once (decode, 25 fps, resize, JPEG, TV-L1), on all cores.

  kinetics-tf prepare --dataset=kinetics400 --manual_dir=DIR \
      --short_side=340 [--flow] [--workers=N] [--data_dir=DIR] \
      [--devices=auto]

Every clip of the annotation CSVs becomes one file in the prepared folder
the builders read (``<data_dir>/prepared/<dataset>/side340_...``), written
atomically: rerun it after a crash and only the clips that were in flight
are redone; corrupt and too-short clips are recorded once and reported on
every run.  Then ``tfds build kinetics400 --config=...`` only reads them and
writes the TFRecords.  The same on a Beam runner: ``flow.beam.PrepareClips``.

On a machine with GPUs (``pip install 'kinetics-tf[gpu]'``) the TV-L1 runs
there by default (``--devices=auto``): one process per GPU solves batches
of frame pairs gathered across clips, while ``--workers`` processes decode
and write (``flow.prepare_device``).
"""

import os

from absl import flags

from kinetics_tf import app as cli_app
from kinetics_tf.errors import UserError

FLAGS = flags.FLAGS


def define_flags():
  """Defines the binary's flags (only when run as a program)."""
  flags.DEFINE_string('dataset', 'kinetics400', 'kinetics400, kinetics600 '
                      'or kinetics700_2020.')
  flags.DEFINE_string('manual_dir', None, 'The annotation CSVs and clips '
                      '(kinetics-tf download --out_dir).')
  flags.DEFINE_integer('short_side', 340, 'Shorter side of the frames '
                       '(§4.4: 340 for the ResNet-50 models, 128 for the 3D '
                       'ConvNet); 0 keeps the stored size.')
  flags.DEFINE_bool('flow', False, 'Also compute the TV-L1 flow (the '
                    '*_flow, two_stream340 and flow340 configs need it).')
  flags.DEFINE_integer('workers', len(os.sched_getaffinity(0)),
                       'Worker processes (default: every core).')
  flags.DEFINE_string('data_dir', None, "The TFDS data_dir the builds use "
                      "(default TFDS's); the prepared folder is in it.")
  flags.DEFINE_string('prepared_dir', None, 'Root of the prepared folders '
                      '(default <data_dir>/prepared/<dataset>; also '
                      'KINETICS_TF_PREPARED_DIR).')
  flags.DEFINE_string('flow_backend', None, 'TV-L1 backend: opencv, tf or '
                      'auto (default KINETICS_TF_FLOW_BACKEND, else auto), '
                      'as the builds will use.')
  flags.DEFINE_bool('retry_failed', False, 'Try again the clips an earlier '
                    'run recorded as failed (an error that was not the '
                    "video's, e.g. out of memory); corrupt and too-short "
                    'clips stay recorded.')
  flags.DEFINE_string('devices', 'auto', 'Where the TV-L1 runs: auto (every '
                      'GPU TensorFlow sees, when --flow and the TF backend; '
                      'else the per-core path), none, all, or a list such as '
                      'GPU:0,GPU:1. With devices, --workers decode and write.')
  flags.DEFINE_integer('flow_batch', 0, 'Frame pairs per device call (0: '
                       'the default, 64).', lower_bound=0)
  flags.DEFINE_integer('device_memory_mb', 0, 'GPU memory per device '
                       'process (0: grown as needed).', lower_bound=0)
  flags.DEFINE_bool('no_progress', False, 'No progress bar.')


def main(argv):
  del argv
  # Imported here: --help stays quick.
  from kinetics_tf.datasets import builder as builder_lib  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import prepare_clips  # pylint: disable=g-import-not-at-top
  from flow import prepare_device  # pylint: disable=g-import-not-at-top
  if not FLAGS.manual_dir:
    raise UserError('--manual_dir is required: the folder of the annotation '
                    'CSVs and clips')
  if not os.path.isdir(FLAGS.manual_dir):
    raise UserError(f'--manual_dir={FLAGS.manual_dir} is not a folder')
  if FLAGS.workers < 1:
    raise UserError(f'--workers={FLAGS.workers}: use 1 or more')
  backend = (FLAGS.flow_backend or os.environ.get(builder_lib.FLOW_BACKEND_ENV)
             or builder_lib.ClipBuilder.DEFAULT_FLOW_BACKEND)
  try:
    folder, counts = prepare_clips.prepare_kinetics(
        FLAGS.dataset, FLAGS.manual_dir, FLAGS.short_side or None, FLAGS.flow,
        FLAGS.workers, FLAGS.data_dir, FLAGS.prepared_dir, backend,
        progress=not FLAGS.no_progress, retry_failed=FLAGS.retry_failed,
        devices=FLAGS.devices, flow_batch=FLAGS.flow_batch,
        device_memory_mb=FLAGS.device_memory_mb)
  except (ValueError, FileNotFoundError) as e:
    raise UserError(str(e).splitlines()[0]) from e
  except prepare_device.DeviceRunError as e:
    raise UserError(str(e).splitlines()[0]) from e
  print(f'prepare: clips in {folder}')
  del counts


if __name__ == '__main__':
  define_flags()
  cli_app.run(main, 'prepare')
