"""The ``kinetics-tf`` command: the demo, and the library's binaries by name.

  kinetics-tf demo [--out_dir=DIR] [--videos=DIR] [--max_steps=N]
  kinetics-tf train|evaluate|export|predict [flags]   (= python -m kinetics_tf.X)
"""

import argparse
import os
import runpy
import sys

BINARIES = {
    'train': 'kinetics_tf.train',
    'evaluate': 'kinetics_tf.evaluate',
    'export': 'kinetics_tf.export',
    'predict': 'kinetics_tf.predict',
    'flow': 'flow.extract',
    'download': 'kinetics_tf.download',
}


def demo_main(argv) -> int:
  parser = argparse.ArgumentParser(
      prog='kinetics-tf demo',
      description='Build the synthetic set (or your videos) with TV-L1 flow, '
      'train an RGB and a flow stream, evaluate them with the dense protocol, '
      'fuse them, export SavedModels and print a Table 4.')
  parser.add_argument('--helpfull', action='help',
                      help='the same as --help: every flag is listed here')
  parser.add_argument('--out_dir', default='kinetics_tf_demo',
                      help='where the dataset, models and reports go')
  parser.add_argument('--videos', default=None,
                      help='a folder with one sub-folder of videos per class, '
                      'instead of the synthetic set')
  parser.add_argument('--config', default='demo',
                      help='synthetic_actions config (demo, tiny, ...)')
  parser.add_argument('--max_steps', type=int, default=None,
                      help='training steps per stream (default: experiments/'
                      'synthetic_rgb.py and synthetic_flow.py)')
  parser.add_argument('--workers', type=int, default=None,
                      help='dataset build processes (default: every core)')
  parser.add_argument('--seed', type=int, default=0,
                      help='seed of both streams\' training')
  args = parser.parse_args(argv)
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # TF's C++ info/warnings
  from absl import logging  # pylint: disable=g-import-not-at-top
  logging.set_verbosity(logging.ERROR)
  from kinetics_tf import demo  # pylint: disable=g-import-not-at-top
  result = demo.run(args.out_dir, videos=args.videos, config=args.config,
                    max_steps=args.max_steps, num_workers=args.workers,
                    seed=args.seed)
  print()
  print(result.table)
  print()
  print(f'Finished in {result.seconds / 60:.1f} min.')
  print(f'Report:        {result.report_dir}/report.md (plots, CSVs, '
        'summary.json beside it)')
  for kind, path in result.saved_models.items():
    print(f'SavedModel:    {path}  ({kind})')
  print(f'Try:           python -m kinetics_tf.predict '
        f'--model={result.saved_models.get("two_stream", "")} --video=CLIP.mp4')
  return 0


def main(argv=None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  if not argv or argv[0] in ('-h', '--help', '--helpfull'):
    print(__doc__)
    return 0 if argv else 2
  command, rest = argv[0], argv[1:]
  if command == 'demo':
    return demo_main(rest)
  if command in BINARIES:
    sys.argv = [f'kinetics-tf {command}'] + rest
    runpy.run_module(BINARIES[command], run_name='__main__', alter_sys=True)
    return 0
  print(f'kinetics-tf: unknown command {command!r}; use demo or one of '
        f'{sorted(BINARIES)}', file=sys.stderr)
  return 2


if __name__ == '__main__':
  sys.exit(main())
