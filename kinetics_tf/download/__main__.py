r"""Downloads a Kinetics version from the CVDF: ``python -m kinetics_tf.download --dataset=NAME --out_dir=DIR``.

  kinetics-tf download --dataset=kinetics400 --out_dir=/data/kinetics400
  kinetics-tf download --dataset=kinetics600 --out_dir=/data/k600 \
      --splits=val --workers=8 --keep_archives

Fetches the split lists and annotation files, then every archive (in
parallel, resumable, retried), checks each before extracting its clips into
DIR/{train,val,test}/, puts Kinetics-400's replacement clips over the corrupt
originals and writes DIR/manifest.json.  Rerun the same command after a
failure, a full disk or Ctrl-C: it resumes; over a finished download it
fetches nothing.  Then:

  tfds build kinetics400 --imports kinetics_tf.datasets --manual_dir=DIR

Exit status: 0 done; 1 something could not be fetched or was corrupt (named;
a rerun tries it again); 2 a mistake in the flags; 3 the disk is full; 130
interrupted.
"""

import functools
import signal
import sys

from absl import flags

from kinetics_tf import app as cli_app
from kinetics_tf.download import bucket
from kinetics_tf.download import downloader
from kinetics_tf.download import fetch

FLAGS = flags.FLAGS
PROG = 'kinetics-tf download'


def define_flags(flag_values: flags.FlagValues = FLAGS) -> None:
  """Defines the binary's flags (only the binary calls this on FLAGS)."""
  string, integer, real, boolean = (
      functools.partial(define, flag_values=flag_values) for define in (
          flags.DEFINE_string, flags.DEFINE_integer, flags.DEFINE_float,
          flags.DEFINE_boolean))
  string('dataset', None, 'Kinetics version: '
         f'{" | ".join(bucket.LAYOUTS)}.')
  string('out_dir', None, 'Folder to download into (the manual_dir of tfds '
         'build); a rerun resumes there.')
  flags.DEFINE_list('splits', list(bucket.SPLITS), 'Splits to fetch '
                    '(train, val, test).', flag_values=flag_values)
  string('base_url', bucket.DEFAULT_BASE_URL, 'Root of the CVDF bucket or a '
         'mirror of it; archive URLs in the lists are rewritten to it.')
  integer('workers', 4, 'Archives fetched and extracted at once.', lower_bound=1)
  boolean('keep_archives', False, 'Keep the archives in DIR/archives after '
          'a checked extraction.')
  integer('retries', 5, 'Retries in a row without progress before a file '
          'counts as failed.', lower_bound=0)
  real('timeout', 60.0, 'Seconds a connection may stay silent.',
       lower_bound=0.001)
  boolean('progress', None, 'Show the progress bar (default: on a '
          'terminal).')


def _terminate(signum, frame):
  del signum, frame
  raise KeyboardInterrupt()


def main(argv) -> int:
  if len(argv) > 1:
    return _user_error(f'unexpected arguments: {" ".join(argv[1:])}')
  if not FLAGS.dataset or not FLAGS.out_dir:
    return _user_error('--dataset and --out_dir are required (--dataset='
                       f'{"|".join(bucket.LAYOUTS)})')
  if FLAGS.retries < 0 or FLAGS.timeout <= 0:
    return _user_error('--retries must be >= 0 and --timeout > 0')
  signal.signal(signal.SIGTERM, _terminate)
  try:
    result = downloader.download(
        FLAGS.dataset, FLAGS.out_dir, splits=FLAGS.splits,
        base_url=FLAGS.base_url, workers=FLAGS.workers,
        keep_archives=FLAGS.keep_archives,
        retry=fetch.Retry(attempts=FLAGS.retries, timeout=FLAGS.timeout),
        progress=FLAGS.progress)
  except downloader.UserError as e:
    return _user_error(str(e))
  except fetch.DiskFull as e:
    print(f'{PROG}: stopped: {e}. Nothing was marked done for it; free '
          'space (extracting an archive needs its size again, until the '
          'archive is deleted) and rerun the same command: finished '
          'archives stay done and partial ones resume.', file=sys.stderr)
    return 3
  except KeyboardInterrupt:
    print(f'{PROG}: interrupted; rerun the same command to resume.',
          file=sys.stderr)
    return 130
  for line in downloader.summary(result, FLAGS.dataset):
    print(line, file=sys.stderr if line.startswith(('FAILED', '  ')) and
          result.failures else sys.stdout, flush=True)
  return 0 if result.ok else 1


def _user_error(message: str) -> int:
  print(f'{PROG}: error: {message}', file=sys.stderr)
  return 2


def run() -> None:
  define_flags()
  cli_app.run(main, 'download')


if __name__ == '__main__':
  run()
