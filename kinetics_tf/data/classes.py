"""Kinetics class metadata: Kinetics-400 names, Appendix A counts, Appendix B groups; the 600 and 700 class lists.

The data ship with the package (``kinetics400_classes.csv``,
``kinetics400_groups.txt``, ``kinetics600_classes.txt``,
``kinetics700_classes.txt``); the official label lists fix spelling and order.
The module-level names (CLASS_NAMES, canonical_name, ...) are Kinetics-400's;
``class_names(version)`` gives any version's list.
"""

import csv
import difflib
import functools
import pathlib
import re
import types
from typing import Mapping

from kinetics_tf import constants
from kinetics_tf import errors

_DATA_DIR = pathlib.Path(__file__).resolve().parent
CLASSES_FILE = _DATA_DIR / 'kinetics400_classes.csv'
GROUPS_FILE = _DATA_DIR / 'kinetics400_groups.txt'

# The Kinetics versions the library builds, and their class counts (Kinetics-
# 600: Carreira et al. 2018; Kinetics-700-2020: Smaira et al. 2020, the 700
# classes of Kinetics-700 with more clips).
VERSIONS = ('kinetics400', 'kinetics600', 'kinetics700_2020')
VERSION_NUM_CLASSES: Mapping[str, int] = types.MappingProxyType(
    {'kinetics400': constants.NUM_CLASSES, 'kinetics600': 600,
     'kinetics700_2020': 700})
# Class lists of the later versions, one name per line in index order:
# Kinetics-600 as kinetics-i3d's label_map_600.txt, Kinetics-700 sorted (as
# mmaction2 and MediaPipe index it).
_VERSION_FILES = {'kinetics600': _DATA_DIR / 'kinetics600_classes.txt',
                  'kinetics700_2020': _DATA_DIR / 'kinetics700_classes.txt'}


class UnknownClassError(errors.UserError):
  """A class or group name that Kinetics-400 does not have."""


def _strip_comments(lines):
  return [l for l in lines if l.strip() and not l.lstrip().startswith('#')]


def _load_classes():
  with open(CLASSES_FILE, encoding='utf-8', newline='') as f:
    rows = list(csv.DictReader(_strip_comments(f)))
  names = tuple(r['name'] for r in rows)
  if [int(r['index']) for r in rows] != list(range(len(rows))):
    raise RuntimeError(f'{CLASSES_FILE}: indices are not 0..{len(rows) - 1}')
  counts = {r['name']: int(r['clip_count']) for r in rows}
  return names, counts


def _load_groups(known):
  groups, current = {}, None
  with open(GROUPS_FILE, encoding='utf-8') as f:
    for line in _strip_comments(f):
      line = line.strip()
      if line.startswith('[') and line.endswith(']'):
        current = line[1:-1]
        groups[current] = []
      elif current is None or line not in known:
        raise RuntimeError(f'{GROUPS_FILE}: bad line {line!r} (not a class '
                           'of a group); the package data is damaged')
      else:
        groups[current].append(line)
  return {g: tuple(m) for g, m in groups.items()}


_NAMES, _COUNTS = _load_classes()

# §2 / Appendix A: the 400 class names in official index order.
CLASS_NAMES: tuple[str, ...] = _NAMES
# Appendix A: clips per class (they sum to constants.TOTAL_CLIPS, Table 1).
CLIP_COUNTS: Mapping[str, int] = types.MappingProxyType(_COUNTS)
# Appendix B: 38 non-exclusive parent-child groups, group -> member classes.
GROUPS: Mapping[str, tuple[str, ...]] = types.MappingProxyType(
    _load_groups(set(_NAMES)))

if len(CLASS_NAMES) != constants.NUM_CLASSES:
  raise RuntimeError(f'{CLASSES_FILE}: {len(CLASS_NAMES)} classes, expected '
                     f'{constants.NUM_CLASSES}')

_INDEX = {name: i for i, name in enumerate(CLASS_NAMES)}


def name_key(name: str) -> str:
  """Spelling-insensitive key: case, '_', punctuation and spacing ignored."""
  name = name.replace('\u2019', "'").replace("'", '')
  return re.sub(r'[^a-z0-9]+', ' ', name.lower()).strip()


_BY_KEY = {name_key(name): name for name in CLASS_NAMES}
if len(_BY_KEY) != len(CLASS_NAMES):
  raise RuntimeError('two Kinetics-400 names share a spelling-insensitive key')
_GROUP_BY_KEY = {name_key(g): g for g in GROUPS}
_GROUPS_OF = {name: tuple(g for g, members in GROUPS.items()
                          if name in members) for name in CLASS_NAMES}


def _unknown(kind: str, name, choices) -> UnknownClassError:
  close = difflib.get_close_matches(str(name), list(choices), n=3, cutoff=0.6)
  hint = (f'; did you mean {", ".join(repr(c) for c in close)}?' if close
          else f'; see kinetics_tf.data.classes.{kind}')
  return UnknownClassError(f'{name!r} is not a Kinetics-400 '
                           f'{"group" if kind == "GROUPS" else "class"}{hint}')


def canonical_name(name: str) -> str:
  """The official spelling of a class name or class folder name.

  Accepts the official name and the spellings folders use: underscores for
  spaces, any case, parentheses or apostrophes dropped
  (``'passing_American_football_(in_game)'``, ``'massaging_persons_head'``).

  Raises:
    UnknownClassError: no class has this name; close matches are suggested.
  """
  if name in _INDEX:
    return name
  if isinstance(name, str):
    found = _BY_KEY.get(name_key(name))
    if found is not None:
      return found
  raise _unknown('CLASS_NAMES', name, CLASS_NAMES)


def name_to_index(name: str) -> int:
  """Index 0..399 of a class (official order); see canonical_name."""
  return _INDEX[canonical_name(name)]


def index_to_name(index: int) -> str:
  """Official name of class ``index`` (0..399).

  Raises:
    IndexError: index outside 0..399 (or not an integer).
  """
  try:
    i = int(index)
  except (TypeError, ValueError):
    raise IndexError(f'class index {index!r} is not an integer') from None
  if i != index or not 0 <= i < len(CLASS_NAMES):
    raise IndexError(f'class index {index!r} is outside 0..'
                     f'{len(CLASS_NAMES) - 1}')
  return CLASS_NAMES[i]


def clip_count(name: str) -> int:
  """Clips of a class in the released dataset (Appendix A)."""
  return CLIP_COUNTS[canonical_name(name)]


def groups_of(name: str) -> tuple[str, ...]:
  """Appendix B groups holding a class, in appendix order (may be empty)."""
  return _GROUPS_OF[canonical_name(name)]


def classes_of(group: str) -> tuple[str, ...]:
  """Member classes of an Appendix B group (en dash or '-' both accepted).

  Raises:
    UnknownClassError: no group has this name; close matches are suggested.
  """
  if group in GROUPS:
    return GROUPS[group]
  if isinstance(group, str):
    found = _GROUP_BY_KEY.get(name_key(group))
    if found is not None:
      return GROUPS[found]
  raise _unknown('GROUPS', group, GROUPS)


@functools.lru_cache(maxsize=None)
def class_names(version: str = 'kinetics400') -> tuple[str, ...]:
  """The class names of a Kinetics version ('kinetics400', 'kinetics600',
  'kinetics700_2020'), in index order.

  Raises:
    ValueError: an unknown version.
  """
  if version not in VERSION_NUM_CLASSES:
    raise ValueError(f'unknown Kinetics version {version!r}; use one of '
                     f'{", ".join(VERSIONS)}')
  if version == 'kinetics400':
    return CLASS_NAMES
  path = _VERSION_FILES[version]
  with open(path, encoding='utf-8') as f:
    names = tuple(line.strip() for line in _strip_comments(f))
  expected = VERSION_NUM_CLASSES[version]
  if len(names) != expected or len({name_key(n) for n in names}) != expected:
    raise RuntimeError(f'{path}: {len(names)} class names, expected '
                       f'{expected} distinct ones; the package data is damaged')
  return names
