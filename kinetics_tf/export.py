"""SavedModel release of trained models (§5: "we will release trained baseline models").

  python -m kinetics_tf.export --model=runs/rgb/final.keras \
      --model=runs/flow/final.keras --evaluation=out/eval --out_dir=export/

writes one SavedModel per model (``export/rgb``, ``export/flow``, ...) and, for
an RGB and a flow stream, the fused ``export/two_stream``, with
``kinetics_tf.json`` (for ``kinetics_tf.predict``) and a model card
(README.md) beside each.  The dataset, its stored frame size and class names
come from the config.json that ``kinetics_tf.train`` wrote beside each model
(``--dataset`` / ``--short_side`` override them).  The binary is
its flags: the release format (inputs, outputs, metadata) and ``export``
(``run`` here) are ``kinetics_tf.release``.
"""

from absl import app
from absl import flags

from kinetics_tf import app as cli_app
from kinetics_tf import conversions
from kinetics_tf import release

# The library call, reachable here by the name programs use.
run = release.export


FLAGS = flags.FLAGS


def define_flags():
  """Defines the binary's flags (only when run as a program, so modules import cleanly)."""
  flags.DEFINE_multi_string('model', None, 'Trained model(s): .keras files (or folders with one).')
  flags.DEFINE_string('out_dir', None, 'Parent folder of the SavedModels.')
  flags.DEFINE_string('dataset', None, 'TFDS name/config the models were trained and evaluated '
                      "on (default: the models' config.json); its stored frame size and class "
                      'list are served.')
  flags.DEFINE_string('data_dir', None, 'TFDS data_dir.')
  flags.DEFINE_string('class_names', None, 'Text file, one class name per line (overrides --dataset).')
  flags.DEFINE_integer('short_side', None, 'Shorter side raw frames are resized to '
                       "(default: the dataset's stored side, else 340/299 or 128/112 of the crop).",
                       lower_bound=1)
  flags.DEFINE_string('evaluation', None, "kinetics_tf.evaluate's --out_dir for the model card.")
  flags.DEFINE_bool('flip', False, 'Serve flip-averaged scores.')
  flags.DEFINE_multi_enum('convert', [], ['tflite', 'onnx'], 'Also write out_dir/<kind>.tflite '
                          '/ .onnx (kinetics_tf.conversions) at --clip_shape.')
  flags.DEFINE_list('clip_shape', None, 'T,H,W of the converted models\' input frames '
                    '(default: 251 frames, the test footprint, at the served shorter side, square).')
  flags.DEFINE_bool('each', True, 'Also export the RGB and flow streams on their own '
                    '(besides the fused two-stream).')


def main(argv):
  del argv
  if not FLAGS.model or not FLAGS.out_dir:
    raise app.UsageError('--model and --out_dir are required')
  if FLAGS.dataset:
    cli_app.check_dataset(FLAGS.dataset)
  shape = _clip_shape(FLAGS.clip_shape)
  names = (release.class_names_for(None, FLAGS.class_names) if FLAGS.class_names else None)
  paths = release.export(FLAGS.model, FLAGS.out_dir, names, dataset=FLAGS.dataset,
                 data_dir=FLAGS.data_dir, short_side=FLAGS.short_side, flip=FLAGS.flip,
                 each=FLAGS.each, evaluation=FLAGS.evaluation)
  for kind, path in paths.items():
    side = release.read_metadata(path)['short_side']
    for fmt in FLAGS.convert:
      out = getattr(conversions, fmt)(path, f'{path}.{fmt}',
                                      shape or (conversions.FOOTPRINT_FRAMES, side, side))
      print(f'export: {kind} -> {out}')


def _clip_shape(values):
  """--clip_shape as (T, H, W), or None; a UserError naming the flag otherwise."""
  if not values:
    return None
  try:
    shape = tuple(int(v) for v in values)
  except ValueError:
    shape = ()
  if len(shape) != 3 or min(shape) < 1 or shape[0] < 2:
    raise cli_app.UserError(f'--clip_shape={",".join(values)}: give T,H,W with T >= 2 frames '
                            'and H, W >= 1 px, e.g. 251,256,340')
  return shape


if __name__ == '__main__':
  define_flags()
  cli_app.run(main, 'export')
