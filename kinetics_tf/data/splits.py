"""UCF-101 and HMDB-51 split files -> (video path, class name, split) entries.

UCF-101: ``classInd.txt`` ("1 ApplyEyeMakeup"), ``trainlist0N.txt``
("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1") and ``testlist0N.txt`` (the
path alone).  HMDB-51: ``<class>_test_splitN.txt`` ("video.avi 1"), code 0 =
unused, 1 = train, 2 = test; videos live in one folder per class.

Neither set has a validation split, and the clips of one group (UCF-101's
``gXX``: the same actor and scene; HMDB-51: the same source video) look
alike, so ``hold_out_validation`` moves whole groups of each class's
training list (about 10%) into a 'validation' split for the plateau rule.
"""

import collections
import os
import pathlib
import re
import zlib
from typing import Callable, Iterable, NamedTuple

from kinetics_tf import errors

SPLITS = (1, 2, 3)
# Share of each class's training clips held out (whole groups) for validation.
VALIDATION_FRACTION = 0.1
_UCF_GROUP = re.compile(r'_g(?P<group>\d+)_c\d+$', re.IGNORECASE)
# HMDB-51 names end in visible body parts, camera motion, people, viewpoint,
# quality and the clip's number: "<source video>_f_cm_np1_le_med_0".
_HMDB_TAGS = re.compile(r'^(?P<source>.+)_[a-z]+_(?:cm|nm)_np\d+_(?:fr|ba|le|ri)_'
                        r'(?:bad|med|goo)_\d+$', re.IGNORECASE)
_HMDB_CODES = {'0': None, '1': 'train', '2': 'test'}
_HMDB_FILE = re.compile(r'^(?P<label>.+)_test_split(?P<n>\d+)\.txt$')


class SplitFileError(errors.UserError):
  """A bad line of a split file; names the file, the line and the problem."""

  def __init__(self, path, line: int, problem: str):
    self.path, self.line, self.problem = str(path), line, problem
    super().__init__(f'{self.path}, line {line}: {problem}. Use the official, '
                     'unmodified split files')


class SplitEntry(NamedTuple):
  """One video of a split; ``path`` is relative to the videos' root."""
  path: str
  label: str
  split: str


def _check_split(split: int) -> int:
  if split not in SPLITS:
    raise ValueError(f'split must be one of {SPLITS}, not {split!r}')
  return split


def _lines(path: pathlib.Path):
  """(line number, stripped text) of non-blank lines; clear error if absent."""
  if not path.is_file():
    raise FileNotFoundError(
        f'split file {path} not found; point to the folder of the official '
        'split files (UCF-101: ucfTrainTestlist, HMDB-51: '
        'testTrainMulti_7030_splits)')
  text = path.read_text(encoding='utf-8-sig', errors='replace')
  return [(i, l.strip()) for i, l in enumerate(text.splitlines(), 1)
          if l.strip()]


def _check_video_path(path, line, video):
  parts = video.replace('\\', '/').split('/')
  if video.startswith(('/', '\\')) or '..' in parts or '' in parts:
    raise SplitFileError(path, line, f'video path {video!r} is not a plain '
                         'relative path')
  return '/'.join(parts)


def ucf101_classes(split_dir) -> tuple[str, ...]:
  """UCF-101 class names in ``classInd.txt`` order (index = number - 1).

  Raises:
    FileNotFoundError: no classInd.txt in ``split_dir``.
    SplitFileError: a line is not "<number> <name>", or numbers are not
      1, 2, 3, ... in order, or a name repeats.
  """
  path = pathlib.Path(split_dir) / 'classInd.txt'
  names = []
  for line, text in _lines(path):
    fields = text.split()
    if len(fields) != 2 or not fields[0].isdigit():
      raise SplitFileError(path, line, f'{text!r} is not "<number> <class>"')
    if int(fields[0]) != len(names) + 1:
      raise SplitFileError(path, line, f'class number {fields[0]} where '
                           f'{len(names) + 1} was expected')
    if fields[1] in names:
      raise SplitFileError(path, line, f'class {fields[1]!r} listed twice')
    names.append(fields[1])
  if not names:
    raise SplitFileError(path, 1, 'no classes listed')
  return tuple(names)


def _ucf_class(path, line, video, names, by_fold):
  folder = video.split('/')[0] if '/' in video else None
  label = folder if folder in names else by_fold.get((folder or '').casefold())
  if label is None:
    raise SplitFileError(path, line, f'{video!r} is not under a class folder '
                         'of classInd.txt ("<Class>/<video>")')
  return label


def read_ucf101_split(split_dir, split: int = 1) -> list[SplitEntry]:
  """Train then test entries of UCF-101 split ``split`` (1..3).

  Raises:
    FileNotFoundError: classInd.txt, trainlist0N.txt or testlist0N.txt absent.
    SplitFileError: a bad line (unknown class folder, a class number that
      disagrees with the folder, a test line with an index, a repeated video).
  """
  _check_split(split)
  names = ucf101_classes(split_dir)
  by_fold = {n.casefold(): n for n in names}
  entries, seen = [], {}
  for subset, fields_wanted in (('train', 2), ('test', 1)):
    path = pathlib.Path(split_dir) / f'{subset}list{split:02d}.txt'
    for line, text in _lines(path):
      fields = text.split()
      if len(fields) != fields_wanted:
        want = '"<Class>/<video> <number>"' if subset == 'train' else (
            '"<Class>/<video>" alone')
        raise SplitFileError(path, line, f'{text!r}: expected {want}')
      video = _check_video_path(path, line, fields[0])
      label = _ucf_class(path, line, video, names, by_fold)
      if subset == 'train' and fields[1] != str(names.index(label) + 1):
        raise SplitFileError(path, line, f'class number {fields[1]} disagrees '
                             f'with folder {label!r} (number '
                             f'{names.index(label) + 1} in classInd.txt)')
      _check_repeat(seen, video, path, line)
      entries.append(SplitEntry(video, label, subset))
  return entries


def _check_repeat(seen, video, path, line):
  first = seen.setdefault(video, (path, line))
  if first != (path, line):
    raise SplitFileError(path, line, f'{video!r} already listed at '
                         f'{first[0]}, line {first[1]}')


def hmdb51_classes(split_dir, split: int = 1) -> tuple[str, ...]:
  """HMDB-51 class names (sorted) from the ``<class>_test_splitN.txt`` files.

  Raises:
    FileNotFoundError: ``split_dir`` holds no file for split ``split``.
  """
  _check_split(split)
  split_dir = pathlib.Path(split_dir)
  if not split_dir.is_dir():
    raise FileNotFoundError(f'HMDB-51 split folder {split_dir} not found')
  names = sorted(m['label'] for m in map(_HMDB_FILE.match,
                                         os.listdir(split_dir))
                 if m and int(m['n']) == split)
  if not names:
    raise FileNotFoundError(f'no <class>_test_split{split}.txt files in '
                            f'{split_dir}; point to testTrainMulti_7030_splits')
  return tuple(names)


def read_hmdb51_split(split_dir, split: int = 1) -> list[SplitEntry]:
  """Train and test entries of HMDB-51 split ``split`` (code-0 videos left out).

  Paths are ``<class>/<video>``, the layout of the extracted HMDB-51 archive.
  Entries come class by class (sorted), in file order.

  Raises:
    FileNotFoundError: no split files for ``split`` in ``split_dir``.
    SplitFileError: a line is not "<video> <0|1|2>", or a video repeats.
  """
  entries, seen = [], {}
  for label in hmdb51_classes(split_dir, split):
    path = pathlib.Path(split_dir) / f'{label}_test_split{split}.txt'
    for line, text in _lines(path):
      fields = text.split()
      if len(fields) != 2 or fields[1] not in _HMDB_CODES:
        raise SplitFileError(path, line, f'{text!r} is not "<video> <code>" '
                             'with code 0 (unused), 1 (train) or 2 (test)')
      video = _check_video_path(path, line, fields[0])
      if '/' in video:
        raise SplitFileError(path, line, f'{video!r}: expected a file name')
      video = f'{label}/{video}'
      _check_repeat(seen, video, path, line)
      if _HMDB_CODES[fields[1]] is not None:
        entries.append(SplitEntry(video, label, _HMDB_CODES[fields[1]]))
  return entries


def ucf101_group(path: str) -> str:
  """'<Class>/v_<Class>_g08_c01.avi' -> '<Class>/g08' (a name without gXX: itself)."""
  folder, _, name = path.rpartition('/')
  stem = os.path.splitext(name)[0]
  m = _UCF_GROUP.search(stem)
  return f'{folder}/g{int(m["group"]):02d}' if m else path


def hmdb51_group(path: str) -> str:
  """'<class>/<source video>_f_cm_np1_le_med_0.avi' -> '<class>/<source video>'."""
  folder, _, name = path.rpartition('/')
  m = _HMDB_TAGS.match(os.path.splitext(name)[0])
  return f'{folder}/{m["source"]}' if m else path


def _ucf_order(group: str):
  """Highest group number first (g25, g24, ...: training groups of every split)."""
  m = re.search(r'/g(\d+)$', group)
  return (-int(m[1]) if m else 0, group)


def _hmdb_order(group: str):
  """A fixed pseudo-random order of source videos (crc32 of the name)."""
  return (zlib.crc32(group.encode()), group)


_GROUPING = {'ucf101': (ucf101_group, _ucf_order), 'hmdb51': (hmdb51_group, _hmdb_order)}


def hold_out_groups(entries: Iterable[SplitEntry], group_of: Callable[[str], str],
                    order: Callable[[str], object],
                    fraction: float = VALIDATION_FRACTION) -> list[SplitEntry]:
  """Moves whole groups of each class's 'train' entries to 'validation'.

  Per class, groups are taken in ``order`` while fewer than ``fraction`` of
  the class's training clips are held out; a class keeps at least one group
  for training.  Test entries are unchanged; the order of entries is kept.
  """
  entries = list(entries)
  groups = collections.defaultdict(lambda: collections.defaultdict(int))
  for e in entries:
    if e.split == 'train':
      groups[e.label][group_of(e.path)] += 1
  held = set()
  for sizes in groups.values():
    total = sum(sizes.values())
    count = 0
    for group in sorted(sizes, key=order)[:-1]:
      if count >= fraction * total:
        break
      held.add(group)
      count += sizes[group]
  return [e._replace(split='validation') if e.split == 'train' and group_of(e.path) in held
          else e for e in entries]


def hold_out_validation(entries: Iterable[SplitEntry], dataset: str,
                        fraction: float = VALIDATION_FRACTION) -> list[SplitEntry]:
  """``hold_out_groups`` with the groups of 'ucf101' (gXX) or 'hmdb51' (source video)."""
  if dataset not in _GROUPING:
    raise ValueError(f'dataset must be one of {sorted(_GROUPING)}, not {dataset!r}')
  group_of, order = _GROUPING[dataset]
  return hold_out_groups(entries, group_of, order, fraction)
