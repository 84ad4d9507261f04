"""Keeps BUILD true: every module and test is in a target, no target dangles.

Bazel cannot run here, so this test reads BUILD (Starlark, a Python subset)
with stand-ins for the rules and checks it against the tree.
"""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ('kinetics_tf', 'flow', 'experiments', 'tests', 'benchmarks')


def _load_targets():
  targets = []

  def rule(kind):
    def record(name, srcs=(), deps=(), main=None, data=(), **kwargs):
      del kwargs
      targets.append(dict(kind=kind, name=name, srcs=list(srcs),
                          deps=list(deps), main=main, data=list(data)))
    return record

  scope = {k: rule(k) for k in ('py_library', 'py_binary', 'py_test')}
  scope['package'] = lambda **kwargs: None
  scope['glob'] = lambda patterns: [str(p.relative_to(ROOT))
                                    for pat in patterns
                                    for p in sorted(ROOT.glob(pat))]
  exec(compile((ROOT / 'BUILD').read_text(), 'BUILD', 'exec'), scope)  # pylint: disable=exec-used
  return targets


TARGETS = _load_targets()


def test_target_names_are_unique():
  names = [t['name'] for t in TARGETS]
  assert len(names) == len(set(names)), sorted(
      n for n in names if names.count(n) > 1)


@pytest.mark.parametrize('target', TARGETS, ids=lambda t: t['name'])
def test_every_named_file_exists(target):
  for src in target['srcs'] + target['data']:
    assert (ROOT / src).exists(), f"BUILD target {target['name']!r} names missing {src}"


def test_every_dep_is_a_target():
  names = {f":{t['name']}" for t in TARGETS}
  for t in TARGETS:
    for dep in t['deps']:
      assert dep in names, f"BUILD target {t['name']!r} depends on unknown {dep}"


def test_every_python_file_is_in_a_target():
  listed = {src for t in TARGETS for src in t['srcs']}
  missing = sorted(
      str(p.relative_to(ROOT)) for pkg in PACKAGES
      for p in (ROOT / pkg).rglob('*.py')
      if '__pycache__' not in p.parts and str(p.relative_to(ROOT)) not in listed)
  assert not missing, f'Python files in no BUILD target: {missing}'


def test_tests_are_py_test_targets():
  for t in TARGETS:
    for src in t['srcs']:
      if pathlib.Path(src).name.startswith('test_'):
        assert t['kind'] == 'py_test', f'{src} is in {t["kind"]} {t["name"]}'
