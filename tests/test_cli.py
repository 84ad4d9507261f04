"""`kinetics-tf NAME`: every binary is reachable, has --helpfull, and answers a
user's mistake with one line and exit code 2 (kinetics_tf/app.py)."""

import os
import re
import subprocess
import sys

import pytest

from kinetics_tf import app
from kinetics_tf import cli



def _run(*args, timeout=300):
  env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
  done = subprocess.run([sys.executable, '-m', 'kinetics_tf.cli', *args],
                        capture_output=True, text=True, timeout=timeout,
                        env=env)
  # Every line counts: TF's start-up lines must not be there either.
  return done.returncode, done.stdout, done.stderr.splitlines()


def test_help_lists_every_binary():
  code, out, _ = _run('--help')
  assert code == 0
  for name in ('demo', 'download', 'prepare', 'flow', 'flow_beam', 'train', 'evaluate',
               'export', 'predict', 'candidates', 'consensus', 'dedup',
               'review', 'bias'):
    assert re.search(rf'^  {name} ', out, re.M), name
  assert set(cli.BINARIES) == {
      'demo', 'download', 'prepare', 'flow', 'flow_beam', 'train', 'evaluate', 'export',
      'predict', 'candidates', 'consensus', 'dedup', 'review', 'bias'}


def test_unknown_command_names_the_close_ones():
  code, out, err = _run('evalute')
  assert code == 2 and not out
  assert err == ["kinetics-tf: error: unknown command 'evalute'; did you mean "
                 'evaluate? (kinetics-tf --help lists them)']


@pytest.mark.parametrize('name, flag', [
    ('demo', '--videos'), ('download', '--base_url'),
    ('prepare', '--manual_dir'), ('prepare', '--workers'), ('flow', '--out_dir'),
    ('flow', '--workers'), ('flow_beam', '--out_dir'),
    ('train', '--experiment'), ('evaluate', '--dataset'),
    ('export', '--class_names'), ('predict', '--video'),
    ('candidates', '--positions'), ('consensus', '--records'),
    ('dedup', '--clips'), ('review', '--scores'), ('bias', '--attribute'),
])
def test_helpfull_lists_the_flags(name, flag):
  code, out, _ = _run(name, '--helpfull')
  assert code == 0, out[-2000:]
  assert flag in out


@pytest.mark.parametrize('args, message', [
    (['demo', '--videos=/no/such/folder'],
     'kinetics-tf demo: error: --videos=/no/such/folder is not a folder'),
    (['download', '--dataset=kinetics500', '--out_dir=/tmp/x'],
     "kinetics-tf download: error: unknown dataset 'kinetics500'"),
    (['prepare', '--manual_dir=/no/such/folder'],
     'kinetics-tf prepare: error: --manual_dir=/no/such/folder is not a '
     'folder'),
    (['prepare', '--manual_dir=/tmp', '--flow', '--devices=GPU:0'],
     'kinetics-tf prepare: error: device GPU:0: TensorFlow sees 0 GPU(s) '
     'here'),
    (['prepare', '--manual_dir=/tmp', '--devices=CPU:0'],
     'kinetics-tf prepare: error: --devices=CPU:0: devices run the TV-L1; '
     'add --flow'),
    (['prepare', '--manual_dir=/tmp', '--flow', '--devices=CPU:0',
      '--flow_backend=opencv'],
     'kinetics-tf prepare: error: --devices=CPU:0: devices run the TF TV-L1'),
    (['prepare', '--manual_dir=/tmp', '--dataset=kinetics500'],
     "kinetics-tf prepare: error: --dataset=kinetics500: the preparation "
     'lists the clips of'),
    (['flow', '/no/such/video.mp4', '--out_dir=/tmp/x'],
     'flow.extract: error: flow input /no/such/video.mp4 does not exist'),
    (['flow', '/no/such/video.mp4'],
     'flow.extract: error: flag --out_dir=None: '),
    (['flow', '/no/such/video.mp4', '--out_dir=/tmp/x', '--format=png'],
     'flow.extract: error: flag --format=png: '),
    (['flow', '/no/such/video.mp4', '--out_dir=/tmp/x', '--workers=0'],
     'flow.extract: error: flag --workers=0: '),
    (['flow', '/no/such/video.mp4', '--out_dir=/tmp/x', '--fps=0'],
     'flow.extract: error: flag --fps=0: 0.0 is not number >= 0.001'),
    (['flow_beam', '/no/such/video.mp4', '--out_dir=/tmp/x',
      '--jpeg_quality=101'],
     'flow.beam: error: flag --jpeg_quality=101: '),
    (['flow', '/no/such/video.mp4', '--out_dir=/tmp/x', '--tvl1=taux'],
     "flow.extract: error: --tvl1 wants NAME=VALUE, got 'taux'"),
    (['flow', '--out_dir=/tmp/x'], 'flow.extract: error: no videos given'),
    (['flow_beam', '/no/such/video.mp4', '--out_dir=/tmp/x',
      '--runner=DirectRunner'],
     'flow.beam: error: flow input /no/such/video.mp4 does not exist'),
    (['train', '--experiment=synthetc_rgb'],
     "kinetics-tf train: error: unknown experiment 'synthetc_rgb'; did you "
     'mean synthetic_rgb'),
    (['train', '--experiment=synthetic_rgb', '--max_steps=abc'],
     'kinetics-tf train: error: flag --max_steps=abc: '),
    (['train', '--experiment=synthetic_rgb', '--dataset=synthetic_action/demo'],
     "kinetics-tf train: error: unknown TFDS dataset 'synthetic_action'; did "
     'you mean synthetic_actions'),
    (['train', '--experiment=synthetic_rgb', '--dataset=synthetic_actions/dem'],
     "kinetics-tf train: error: unknown config of synthetic_actions 'dem'; "
     'did you mean demo'),
    (['evaluate', '--model=/no/such/model.keras', '--out_dir=/tmp/x'],
     'kinetics-tf evaluate: error: /no/such/model.keras: no such model file'),
    (['export', '--model=/no/such/model.keras', '--out_dir=/tmp/x'],
     'kinetics-tf export: error: /no/such/model.keras: no such model file'),
    (['predict', '--model=/no/such/saved_model', '--video=/no/such.mp4'],
     'kinetics-tf predict: error: /no/such/saved_model: not a SavedModel'),
    (['candidates', '--positions=/no/such.csv', '--out=/tmp/x.csv'],
     'kinetics-tf candidates: error: /no/such.csv: no such file'),
    (['consensus', '--out_dir=/tmp/x'],
     'kinetics-tf consensus: error: flag --records=None: '),
    (['dedup', '--clips=/no/such.csv', '--out_dir=/tmp/x'],
     'kinetics-tf dedup: error: '),
    (['review', '--scores=/no/such.npz', '--out_dir=/tmp/x'],
     'kinetics-tf review: error: '),
    (['bias', '--scores=/no/such.npz', '--attributes=/no/such.csv',
      '--attribute=gender', '--out=/tmp/x.csv'], 'kinetics-tf bias: error: '),
    # Bad flag values (issue 25, item 7): a crop below the model's minimum,
    # a side smaller than the crop, a negative count.
    (['train', '--experiment=synthetic_rgb', '--crop_size=28'],
     'kinetics-tf train: error: --crop_size=28: the rgb model needs a crop of at least 32 px'),
    (['train', '--experiment=synthetic_rgb', '--crop_size=64'],
     'kinetics-tf train: error: --crop_size=64 is larger than the shorter side (48 px) of '
     'the frames of synthetic_actions/demo'),
    (['train', '--experiment=synthetic_rgb', '--max_steps=-1'],
     'kinetics-tf train: error: flag --max_steps=-1: '),
    (['train', '--experiment=synthetic_rgb', '--base_lr=-0.1'],
     'kinetics-tf train: error: flag --base_lr=-0.1: '),
    (['evaluate', '--model=/no/such.keras', '--out_dir=/tmp/x', '--batch_size=0'],
     'kinetics-tf evaluate: error: flag --batch_size=0: '),
    (['evaluate', '--model=/no/such.keras', '--out_dir=/tmp/x', '--crop=32',
      '--short_side=16'],
     'kinetics-tf evaluate: error: --short_side=16 is smaller than --crop=32'),
    (['evaluate', '--model=/no/such.keras', '--out_dir=/tmp/x', '--max_clips=-3'],
     'kinetics-tf evaluate: error: flag --max_clips=-3: '),
    (['export', '--model=/no/such.keras', '--out_dir=/tmp/x', '--short_side=0'],
     'kinetics-tf export: error: flag --short_side=0: '),
    (['export', '--model=/no/such.keras', '--out_dir=/tmp/x', '--clip_shape=1,32'],
     'kinetics-tf export: error: --clip_shape=1,32: give T,H,W'),
    (['demo', '--max_steps=-5'], 'kinetics-tf demo: error: flag --max_steps=-5: '),
    (['download', '--dataset=kinetics400', '--out_dir=/tmp/x', '--workers=0'],
     'kinetics-tf download: error: flag --workers=0: '),
    (['candidates', '--positions=/no/such.csv', '--out=/tmp/x.csv', '--top_k=0'],
     'kinetics-tf candidates: error: flag --top_k=0: '),
    (['consensus', '--records=/no/such.csv', '--out_dir=/tmp/x', '--task_size=-1'],
     'kinetics-tf consensus: error: flag --task_size=-1: '),
    (['dedup', '--clips=/no/such.csv', '--out_dir=/tmp/x', '--threshold=2'],
     'kinetics-tf dedup: error: flag --threshold=2'),
    (['review', '--scores=/no/such.npz', '--out_dir=/tmp/x', '--top=-1'],
     'kinetics-tf review: error: flag --top=-1: '),
    (['bias', '--scores=/no/such.npz', '--attributes=/no/such.csv',
      '--attribute=gender', '--out=/tmp/x.csv', '--min_count=-2'],
     'kinetics-tf bias: error: flag --min_count=-2: '),
])
def test_a_mistake_is_one_line_and_exit_2(args, message):
  code, out, err = _run(*args)
  assert code == 2, (out[-1000:], err[-20:])
  assert len(err) == 1, err[-20:]
  assert err[0].startswith(message), err[0]
  assert 'Traceback' not in err[0]


def test_verbose_shows_the_traceback():
  code, _, err = _run('evaluate', '--model=/no/such/model.keras',
                      '--out_dir=/tmp/x', '--verbose')
  assert code == 1
  assert any(l.startswith('Traceback') for l in err)
  assert 'no such model file' in err[-1]
  code, _, err = _run('flow', '/no/such/video.mp4', '--out_dir=/tmp/x',
                      '--verbose')
  assert code == 1
  assert any(l.startswith('Traceback') for l in err)
  assert 'does not exist' in err[-1]


def test_tensorflow_start_up_lines_are_recognised():
  assert app.TF_STARTUP_LINE.match(
      'I0000 00:00:1796161817.403281   18760 port.cc:153] oneDNN custom '
      'operations are on.')
  assert app.TF_STARTUP_LINE.match('WARNING: All log messages before '
                                   'absl::InitializeLog() is called are '
                                   'written to STDERR')
  assert not app.TF_STARTUP_LINE.match('kinetics-tf train: error: x')
  assert not app.TF_STARTUP_LINE.match('E0000 00:00:1.0 1 x.cc:1] an error')


def test_user_message_tells_mistakes_from_bugs():
  assert app.user_message(app.UserError('bad')) == 'bad'
  missing = FileNotFoundError(2, 'No such file or directory', '/x/y')
  assert app.user_message(missing) == 'No such file or directory: /x/y'
  assert app.user_message(KeyError('k')) is None  # a bug keeps its traceback
  assert app.user_message(ValueError('x')) is None
  error = app.unknown('experiment', 'kinetic400_c3d',
                      ['kinetics400_c3d', 'ucf101_c3d', 'synthetic_rgb'])
  assert str(error).startswith(
      "unknown experiment 'kinetic400_c3d'; did you mean kinetics400_c3d")
  assert 'synthetic_rgb' not in str(error)
  assert 'one of: a, b' in str(app.unknown('x', 'zzz', ['b', 'a']))


def _imported_names(path):
  """Every module name a file imports ('from a import b' counts a and a.b)."""
  import ast  # pylint: disable=g-import-not-at-top
  names = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      names |= {a.name for a in node.names}
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      names |= {node.module} | {f'{node.module}.{a.name}' for a in node.names}
  return names


def test_no_module_imports_a_binary():
  # ARCHITECTURE.md: binaries are flag parsing plus calls into library
  # modules; no binary (nor library module) imports another binary.
  import pathlib  # pylint: disable=g-import-not-at-top
  root = pathlib.Path(__file__).resolve().parents[1]
  binaries = {}
  for module, _ in cli.BINARIES.values():
    path = root / (module.replace('.', '/') + '.py')
    if not path.exists():  # a package run as python -m: its __main__
      path, module = path.with_suffix('') / '__main__.py', f'{module}.__main__'
    binaries[module] = path
  bad = {}
  for path in sorted((root / 'kinetics_tf').rglob('*.py')) + sorted(
      (root / 'flow').rglob('*.py')):
    own = {m for m, p in binaries.items() if p == path}
    found = (_imported_names(path) & set(binaries)) - own
    if found:
      bad[str(path.relative_to(root))] = sorted(found)
  assert not bad, f'modules importing a binary: {bad}'
