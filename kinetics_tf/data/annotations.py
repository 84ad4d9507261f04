"""Kinetics annotation CSVs -> Clip records, and Clip records -> video files.

``read_csv`` parses ``label,youtube_id,time_start,time_end,split[,is_cc]``
(SPEC.md; a test CSV may lack ``label``); ``resolve`` finds each clip's file in
any of the layouts downloads come in, indexing the folder tree once.
"""

import collections
import csv
import dataclasses
import logging
import math
import os
import pathlib
from typing import Iterable, Optional, Sequence

from kinetics_tf import errors
from kinetics_tf.data import classes

# Containers the Kinetics downloaders produce, in order of preference.
VIDEO_EXTENSIONS = ('.mp4', '.webm', '.mkv', '.avi')
REQUIRED_COLUMNS = ('youtube_id', 'time_start', 'time_end', 'split')
OPTIONAL_COLUMNS = ('label', 'is_cc')


class AnnotationError(errors.UserError):
  """A bad row (or header) of an annotation CSV; names the CSV and the line."""

  def __init__(self, csv_path, line: int, problem: str):
    self.csv_path = str(csv_path)
    self.line = line
    self.problem = problem
    super().__init__(f'{self.csv_path}, line {line}: {problem}. Fix or remove '
                     "the row, or read with on_error='skip' to skip bad rows")


@dataclasses.dataclass(frozen=True)
class BadRow:
  """A row that read_csv(on_error='skip') left out, and why."""
  csv_path: str
  line: int
  problem: str

  def __str__(self):
    return f'{self.csv_path}, line {self.line}: {self.problem}'


@dataclasses.dataclass(frozen=True)
class Clip:
  """One annotated clip: a window of a YouTube video, and its file once found.

  Attributes:
    youtube_id: the video's id (never holds a path separator).
    label: official class name, or None (unlabelled test CSV).
    time_start: start of the clip in the source video, seconds.
    time_end: end of the clip in the source video, seconds.
    split: 'train', 'val', 'test', ... as the CSV says.
    is_cc: the CSV's is_cc flag, or None when the CSV has no such column.
    path: the video file, set by resolve(); None before or when missing.
    trimmed: True when ``path`` holds only the clip, False when it is the
      full video to cut at [time_start, time_end]; None while unresolved.
  """
  youtube_id: str
  label: Optional[str]
  time_start: float
  time_end: float
  split: str
  is_cc: Optional[bool] = None
  path: Optional[str] = None
  trimmed: Optional[bool] = None

  @property
  def clip_id(self) -> str:
    """``{youtube_id}_{time_start:06d}_{time_end:06d}``, the usual file stem."""
    return (f'{self.youtube_id}_{int(self.time_start):06d}_'
            f'{int(self.time_end):06d}')

  @property
  def window(self) -> tuple[Optional[float], Optional[float]]:
    """(start, end) seconds to decode from ``path``: (None, None) if trimmed."""
    if self.trimmed is None:
      raise ValueError(f'clip {self.clip_id} has no file yet: resolve() it')
    if self.trimmed:
      return None, None
    return self.time_start, self.time_end


@dataclasses.dataclass
class Annotations:
  """What read_csv returns: the good clips and the rows it skipped."""
  csv_path: str
  clips: list[Clip]
  bad_rows: list[BadRow]

  def __len__(self):
    return len(self.clips)

  def __iter__(self):
    return iter(self.clips)

  def summary(self) -> str:
    return (f'{self.csv_path}: {len(self.clips)} clips read, '
            f'{len(self.bad_rows)} bad rows skipped')


class _Labels:
  """Maps a CSV label to its official spelling, or raises ValueError."""

  def __init__(self, class_names: Optional[Sequence[str]]):
    self._names = None if class_names is None else tuple(class_names)
    if self._names is not None:
      self._exact = set(self._names)
      self._by_key = {classes.name_key(n): n for n in self._names}

  def __call__(self, label: str) -> str:
    if self._names is None:
      return classes.canonical_name(label)
    if label in self._exact:
      return label
    found = self._by_key.get(classes.name_key(label))
    if found is None:
      raise ValueError(f'{label!r} is not one of the {len(self._names)} '
                       'given class names')
    return found


def _parse_time(row, column):
  text = row[column]
  try:
    value = float(text)
  except (TypeError, ValueError):
    raise ValueError(f'{column} {text!r} is not a number') from None
  if not math.isfinite(value) or value < 0:
    raise ValueError(f'{column} {text!r} is not a finite time >= 0')
  return value


def _parse_row(header, fields, labels: _Labels) -> Clip:
  """One CSV row -> Clip; ValueError with the problem when it is bad."""
  if len(fields) != len(header):
    raise ValueError(f'{len(fields)} fields where the header has '
                     f'{len(header)} ({",".join(header)})')
  row = dict(zip(header, fields))
  youtube_id = row['youtube_id'].strip()
  if not youtube_id:
    raise ValueError('empty youtube_id')
  if '/' in youtube_id or '\\' in youtube_id or '..' in youtube_id:
    raise ValueError(f'youtube_id {youtube_id!r} holds a path separator or '
                     "'..'; ids are plain YouTube ids")
  start, end = _parse_time(row, 'time_start'), _parse_time(row, 'time_end')
  if end <= start:
    raise ValueError(f'time_end {row["time_end"]} <= time_start '
                     f'{row["time_start"]}')
  split = row['split'].strip()
  if not split:
    raise ValueError('empty split')
  label = (row.get('label') or '').strip()
  label = labels(label) if label else None
  is_cc = (row.get('is_cc') or '').strip()
  if is_cc not in ('', '0', '1'):
    raise ValueError(f'is_cc {is_cc!r} is not 0 or 1')
  return Clip(youtube_id, label, start, end, split,
              None if not is_cc else is_cc == '1')


def read_csv(csv_path, on_error: str = 'raise',
             class_names: Optional[Sequence[str]] = None) -> Annotations:
  """Reads an official Kinetics annotation CSV.

  Args:
    csv_path: path of the CSV (header row first; column order free).
    on_error: 'raise' stops at the first bad row; 'skip' leaves bad rows
      out and lists them in the result's ``bad_rows``.
    class_names: the allowed labels (default: the 400 Kinetics-400 names);
      folder spellings (underscores, any case) map to the official name.

  Returns:
    Annotations with ``clips`` (file order) and ``bad_rows``.

  Raises:
    AnnotationError: a bad header, or (on_error='raise') a bad row: unknown
      label, non-numeric time, time_end <= time_start, an id holding a path
      separator or '..', a duplicate id within a split, a wrong field count.
    FileNotFoundError: no such CSV.
  """
  if on_error not in ('raise', 'skip'):
    raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
  csv_path = os.fspath(csv_path)
  labels = _Labels(class_names)
  clips, bad_rows, seen = [], [], {}
  with open(csv_path, encoding='utf-8-sig', newline='') as f:
    reader = csv.reader(f, skipinitialspace=True)
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
      raise AnnotationError(csv_path, 1, f'header {header} lacks column(s) '
                            f'{missing}; expected label,youtube_id,'
                            'time_start,time_end,split[,is_cc]')
    try:
      rows = [(reader.line_num, fields) for fields in reader]
    except csv.Error as e:
      raise AnnotationError(csv_path, reader.line_num,
                            f'not a readable CSV ({e})') from None
  for line, fields in rows:
    if not ''.join(fields).strip():
      continue
    try:
      clip = _parse_row(header, fields, labels)
      first = seen.setdefault((clip.split, clip.youtube_id), line)
      if first != line:
        raise ValueError(f'youtube_id {clip.youtube_id!r} already appears '
                         f'in split {clip.split!r} on line {first}')
    except ValueError as e:
      if on_error == 'raise':
        raise AnnotationError(csv_path, line, str(e)) from None
      bad_rows.append(BadRow(csv_path, line, str(e)))
      continue
    clips.append(clip)
  result = Annotations(csv_path, clips, bad_rows)
  logging.info(result.summary())
  return result


@dataclasses.dataclass
class Resolved:
  """What resolve returns: clips with their files, and clips without."""
  found: list[Clip]
  missing: list[Clip]

  def summary(self) -> str:
    total = len(self.found) + len(self.missing)
    untrimmed = sum(1 for c in self.found if not c.trimmed)
    return (f'{len(self.found)} of {total} clips found ({untrimmed} to cut '
            f'from full videos), {len(self.missing)} missing')


def index_videos(root, extensions: Sequence[str] = VIDEO_EXTENSIONS
                 ) -> dict[str, list[str]]:
  """Walks ``root`` once: file stem -> paths of video files with that stem.

  Raises:
    NotADirectoryError: ``root`` is not a folder.
  """
  root = os.fspath(root)
  if not os.path.isdir(root):
    raise NotADirectoryError(f'video folder {root!r} does not exist or is not '
                             'a folder')
  exts = tuple(e.lower() for e in extensions)
  index = collections.defaultdict(list)
  for folder, _, names in os.walk(root, followlinks=True):
    for name in names:
      stem, ext = os.path.splitext(name)
      if ext.lower() in exts and not name.startswith('.'):
        index[stem].append(os.path.join(folder, name))
  return index


def _pick(paths: list[str], clip: Clip, root: str, exts) -> str:
  """The best of several files with the clip's stem (label/split folder)."""
  if len(paths) == 1:
    return paths[0]
  label_key = classes.name_key(clip.label) if clip.label else None

  def rank(path):
    parts = pathlib.PurePath(os.path.relpath(path, root)).parts[:-1]
    keys = [classes.name_key(p) for p in parts]
    ext = os.path.splitext(path)[1].lower()
    return (label_key not in keys, clip.split not in parts,
            exts.index(ext), path)

  return min(paths, key=rank)


def resolve(clips: Iterable[Clip], root,
            extensions: Sequence[str] = VIDEO_EXTENSIONS,
            full_videos_trimmed: bool = False) -> Resolved:
  """Finds each clip's video file under ``root``.

  Layouts found (at any depth, so also one folder per split):
    ``{youtube_id}_{time_start:06d}_{time_end:06d}.{mp4,webm,mkv,avi}`` flat,
    or in one folder per class (spaces or underscores), the trimmed clip;
    ``{youtube_id}.{ext}``, the full untrimmed video to cut by time.
  Where several files match, the one in the clip's class folder, then its
  split folder, then the earlier extension of ``extensions`` wins.

  Args:
    clips: Clip records (e.g. read_csv(...).clips).
    root: the folder holding the videos.
    extensions: file extensions to consider, in order of preference.
    full_videos_trimmed: True when ``{youtube_id}.ext`` files hold the clip
      already (some mirrors name trimmed clips so).

  Returns:
    Resolved: ``found`` clips with ``path`` and ``trimmed`` set, ``missing``
    clips (no file), both in input order.
  """
  root = os.fspath(root)
  exts = [e.lower() for e in extensions]
  index = index_videos(root, exts)
  found, missing = [], []
  for clip in clips:
    paths, trimmed = index.get(clip.clip_id), True
    if not paths:
      paths, trimmed = index.get(clip.youtube_id), full_videos_trimmed
    if not paths:
      missing.append(clip)
      continue
    path = _pick(paths, clip, root, exts)
    found.append(dataclasses.replace(clip, path=path, trimmed=trimmed))
  result = Resolved(found, missing)
  logging.info('%s: %s', root, result.summary())
  return result
