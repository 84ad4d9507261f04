"""setup.py's extras give one TensorFlow, and none without an extra.

pip resolves each install (``--dry-run --report``: it builds the project's
metadata only, installs nothing) and the report must hold no TensorFlow for
the base, exactly tensorflow-cpu for ``[cpu]`` (on Linux x86_64, as here)
and exactly tensorflow with pip's CUDA libraries for ``[gpu]``; ``[test]``
adds none.  Each resolution takes 10-40 s and needs the package index: it
is skipped when the index cannot be reached.  Without TensorFlow,
``import kinetics_tf`` names the extras and the flow tool runs OpenCV.
"""

import json
import pathlib
import platform
import re
import subprocess
import sys
import textwrap

import pytest

import kinetics_tf

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Every distribution that installs the `tensorflow` module.
TENSORFLOWS = {'tensorflow', 'tensorflow-cpu', 'tensorflow-intel',
               'tensorflow-macos', 'tf-nightly', 'tf-nightly-cpu'}

# pip's words when it cannot reach the index (then the test is skipped).
_NO_INDEX = re.compile(
    r'NewConnectionError|ConnectTimeout|Max retries exceeded|'
    r'Temporary failure in name resolution|Name or service not known|'
    r'Network is unreachable|ProxyError')


def _normalise(name: str) -> str:
  return re.sub(r'[-_.]+', '-', name).lower()


def _resolve(extras: str, tmp_path) -> set:
  """The distributions pip would install for ROOT[extras], normalised."""
  report = tmp_path / 'report.json'
  target = f'{ROOT}[{extras}]' if extras else str(ROOT)
  run = subprocess.run(
      [sys.executable, '-m', 'pip', 'install', '--dry-run',
       '--ignore-installed', '--quiet', '--retries', '1', '--report',
       str(report), target],
      capture_output=True, text=True, timeout=600, cwd=tmp_path)
  if run.returncode != 0:
    output = run.stdout + run.stderr
    if _NO_INDEX.search(output):
      pytest.skip(f'the package index is not reachable: '
                  f'{_NO_INDEX.search(output).group(0)}')
    pytest.fail(f'pip could not resolve {target}:\n{output[-3000:]}')
  install = json.loads(report.read_text())['install']
  return {_normalise(item['metadata']['name']) for item in install}


@pytest.mark.parametrize('extras', ['', 'cpu', 'cpu,test', 'gpu', 'gpu,test'],
                         ids=lambda e: f'[{e}]' if e else 'base')
def test_extras_bring_one_tensorflow(extras, tmp_path):
  names = _resolve(extras, tmp_path)
  assert 'kinetics-tf' in names, sorted(names)
  tensorflows = sorted(names & TENSORFLOWS)
  if not extras:
    assert not tensorflows, f'the base install brings {tensorflows}'
  elif 'cpu' in extras:
    if sys.platform == 'linux' and platform.machine() == 'x86_64':
      assert tensorflows == ['tensorflow-cpu'], tensorflows
    else:  # no tensorflow-cpu wheel: the plain one is the CPU build there
      assert len(tensorflows) == 1, tensorflows
  else:
    assert tensorflows == ['tensorflow'], tensorflows
    assert 'nvidia-cudnn-cu12' in names, 'no CUDA libraries from pip'


# TensorFlow made unimportable (as if not installed), then what the user sees.
_WITHOUT_TF = textwrap.dedent('''
    import sys
    sys.modules['tensorflow'] = None
    try:
      import kinetics_tf
    except ImportError as e:
      print('kinetics_tf:', e)
    else:
      print('kinetics_tf: imported')
    from flow.backends import choose_backend
    print('auto:', choose_backend('auto'))
    try:
      choose_backend('tf')
    except ValueError as e:
      print('tf:', e)
    else:
      print('tf: chosen')
    ''')


def test_without_tensorflow_the_extras_are_named():
  run = subprocess.run([sys.executable, '-c', _WITHOUT_TF], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
  assert run.returncode == 0, run.stderr
  lines = dict(line.split(': ', 1) for line in run.stdout.splitlines())
  assert "'kinetics-tf[cpu]'" in lines['kinetics_tf'], lines
  assert "'kinetics-tf[gpu]'" in lines['kinetics_tf'], lines
  assert lines['auto'] == 'opencv', lines
  assert "'kinetics-tf[cpu]'" in lines['tf'], lines


def test_without_tensorflow_the_command_says_it_in_one_line():
  """The `kinetics-tf` command imports the package first: no traceback."""
  script = ("import sys; sys.modules['tensorflow'] = None; "
            "sys.argv = ['kinetics-tf', '--help']; "
            'from kinetics_tf.cli import main; main()')
  run = subprocess.run([sys.executable, '-c', script], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
  assert run.returncode == 1
  assert run.stderr.splitlines() == [
      'kinetics-tf: error: ' + kinetics_tf.INSTALL_TENSORFLOW], run.stderr
