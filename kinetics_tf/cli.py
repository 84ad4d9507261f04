"""The ``kinetics-tf`` command: every binary of the library by name.

  kinetics-tf NAME [flags]        (the same as python -m MODULE [flags])
  kinetics-tf NAME --helpfull     (its flags)
"""

import os
import runpy
import sys

from kinetics_tf import app as cli_app

# name -> (module, what it does). Every one parses absl flags.
BINARIES = {
    'demo': ('kinetics_tf.demo', 'build, train, evaluate and export a '
             'two-stream model on the synthetic set (or --videos=DIR)'),
    'download': ('kinetics_tf.download', 'fetch and verify Kinetics-400/600/'
                 '700-2020 from the CVDF into a manual_dir'),
    'prepare': ('kinetics_tf.prepare', 'decode, resize, JPEG and TV-L1 '
                'each clip of a Kinetics copy once, on all cores (resumable)'),
    'flow': ('flow.extract', 'TV-L1 flow of a folder of videos (= '
             'kinetics-flow)'),
    'flow_beam': ('flow.beam', 'the same on an Apache Beam runner (Dataflow, '
                  'Flink, Spark)'),
    'train': ('kinetics_tf.train', 'train an experiment of experiments/'),
    'evaluate': ('kinetics_tf.evaluate', 'dense-protocol evaluation and '
                 'reports (Table 3/4, Fig. 4, Table 5)'),
    'export': ('kinetics_tf.export', 'SavedModels with a signature on raw '
               'frames'),
    'predict': ('kinetics_tf.predict', 'top-5 classes (or features) of a '
                'video with a SavedModel'),
    'candidates': ('kinetics_tf.curation.candidates', '§3.2: candidate clips '
                   'around classifier peaks'),
    'consensus': ('kinetics_tf.curation.consensus', '§3.3: AMT tasks, votes, '
                  'gold-clip worker accuracy'),
    'dedup': ('kinetics_tf.curation.dedup', '§3.4: one clip per video, '
              'near-duplicates by embedding'),
    'review': ('kinetics_tf.curation.review', '§3.5: noisy classes from an '
               "evaluation's scores"),
    'bias': ('kinetics_tf.curation.bias', '§5: accuracy by attribute (e.g. '
             'gender)'),
}

# The binaries that import TensorFlow (the others start without it).
USES_TENSORFLOW = ('demo', 'prepare', 'flow', 'flow_beam', 'train', 'evaluate', 'export', 'predict',
                   'dedup')


def usage() -> str:
  width = max(map(len, BINARIES))
  lines = [__doc__.rstrip(), '', 'Binaries:']
  lines += [f'  {name:<{width}}  {text}' for name, (_, text) in BINARIES.items()]
  return '\n'.join(lines)


def main(argv=None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  if not argv or argv[0] in ('-h', '--help', '--helpshort', '--helpfull'):
    print(usage())
    return 0 if argv else 2
  command, rest = argv[0], argv[1:]
  if command not in BINARIES:
    print(f'kinetics-tf: error: {cli_app.unknown("command", command, BINARIES)}'
          ' (kinetics-tf --help lists them)', file=sys.stderr)
    return 2
  # TF's start-up lines, before the binary imports TensorFlow.
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  if command in USES_TENSORFLOW:
    cli_app.import_tensorflow_quietly()
  sys.argv = [f'kinetics-tf {command}'] + rest
  runpy.run_module(BINARIES[command][0], run_name='__main__', alter_sys=True)
  return 0


if __name__ == '__main__':
  sys.exit(main())
