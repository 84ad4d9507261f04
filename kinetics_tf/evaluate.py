"""Dense-snapshot evaluation (§4.4, Table 3) of trained models on a TFDS split, with reports.

  python -m kinetics_tf.evaluate --model=runs/rgb/model.keras \
      --model=runs/flow/model.keras --dataset=synthetic_actions/tiny \
      --split=test --out_dir=out/eval

Each clip is cut into its model's dense test views (``kinetics_tf.input.dense``),
the views of ``--batch_size`` clips go through the network in one forward pass,
and the softmax scores are averaged per clip; an RGB and a flow stream are
also fused (RGB+Flow).  The reports of ``kinetics_tf.reports`` are written to
``--out_dir``.  The binary is its flags: ``kinetics_tf.evaluation.run`` (also
``run`` here) does the same from Python and returns the summary, with the
scoring of ``kinetics_tf.scoring``.
"""

import json
import os

from absl import app
from absl import flags

from kinetics_tf import app as cli_app
from kinetics_tf.evaluation import run
# Library names that programs and docs reach through this module.
from kinetics_tf.evaluation import default_groups, trained_on, version_warning  # noqa: F401
from kinetics_tf.scoring import _prepare_fn, DenseModel, dense_models, load_model  # noqa: F401


FLAGS = flags.FLAGS


def define_flags():
  """Defines the binary's flags (only when run as a program, so modules import cleanly)."""
  flags.DEFINE_multi_string('model', None, 'Trained model(s): .keras files (or folders with one). '
                            'An RGB and a flow stream are also fused (RGB+Flow).')
  flags.DEFINE_string('dataset', 'synthetic_actions/tiny', 'TFDS name/config.')
  flags.DEFINE_string('split', 'test', 'TFDS split.')
  flags.DEFINE_string('data_dir', None, 'TFDS data_dir.')
  flags.DEFINE_string('out_dir', None, 'Folder for the reports.')
  flags.DEFINE_integer('batch_size', 4, 'Clips per forward pass.', lower_bound=1)
  flags.DEFINE_bool('flip', False, 'Also average over left-right flipped views.')
  flags.DEFINE_integer('crop', None, 'Centre-crop side (default: the model input size).',
                       lower_bound=1)
  flags.DEFINE_integer('short_side', None, 'Resize the shorter side first (default: as stored).',
                       lower_bound=1)
  flags.DEFINE_integer('max_clips', None, 'Evaluate only the first clips of the split.',
                       lower_bound=1)
  flags.DEFINE_string('groups', None, 'JSON file {group: [class names]} for accuracy per group.')


def main(argv):
  del argv
  if not FLAGS.model or not FLAGS.out_dir:
    raise app.UsageError('--model and --out_dir are required')
  cli_app.check_dataset(FLAGS.dataset)
  if FLAGS.crop and FLAGS.short_side and FLAGS.short_side < FLAGS.crop:
    raise cli_app.UserError(f'--short_side={FLAGS.short_side} is smaller than '
                            f'--crop={FLAGS.crop}; use a shorter side >= the crop')
  groups = None
  if FLAGS.groups:
    with open(FLAGS.groups) as f:
      groups = json.load(f)
  summary = run(FLAGS.model, FLAGS.dataset, FLAGS.split, out_dir=FLAGS.out_dir,
                data_dir=FLAGS.data_dir, batch_size=FLAGS.batch_size, flip=FLAGS.flip,
                crop=FLAGS.crop, short_side=FLAGS.short_side, max_clips=FLAGS.max_clips,
                groups=groups)
  print(f"evaluate: report in {os.path.join(FLAGS.out_dir, 'report.md')}")
  del summary


if __name__ == '__main__':
  define_flags()
  cli_app.run(main, 'evaluate')
