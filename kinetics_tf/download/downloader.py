"""The download itself: lists, annotations, archives in parallel, the replacement clips, the tally.

``download(dataset, out_dir)`` makes ``out_dir`` a manual_dir the Kinetics
builders read with no step in between:

  out_dir/annotations/   the annotation files the bucket has (CSVs; a
                         Kinetics-600 .txt list is also written as a CSV)
  out_dir/train/ val/ test/   the clips, as the archives hold them
  out_dir/archives/      archives while they download (kept with
                         keep_archives)
  out_dir/manifest.json  what was fetched, checked and extracted

Each step is recorded in the manifest only once it is on disk, so a rerun
(after a failure, a full disk, Ctrl-C or a kill) skips what is done and
resumes the rest; a rerun over a finished download fetches nothing.
"""

import concurrent.futures
import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import os
import posixpath
import re
import threading
import time
from typing import Callable, Optional, Sequence

import tqdm

from kinetics_tf.data import annotations as annotations_lib
from kinetics_tf.data import classes
from kinetics_tf.download import archives
from kinetics_tf.download import bucket
from kinetics_tf.download import fetch
from kinetics_tf.download import manifest as manifest_lib

try:
  import fcntl  # pylint: disable=g-import-not-at-top
except ImportError:  # not on Windows: no lock there
  fcntl = None

ARCHIVES_DIR = 'archives'
ANNOTATIONS_DIR = 'annotations'
_CLIP_NAME = re.compile(r'^(?P<id>.+)_(?P<start>\d{6})_(?P<end>\d{6})'
                        r'(?:\.[A-Za-z0-9]+)?$')


class UserError(ValueError):
  """A mistake in what was asked (dataset, split, out_dir): one line to say."""


@dataclasses.dataclass
class Result:
  """What a run did.

  Attributes:
    out_dir: the manual_dir.
    manifest: path of manifest.json.
    nothing_to_do: the download was complete already; nothing fetched.
    fetched: archives fetched and extracted in this run.
    fetched_bytes: bytes downloaded in this run.
    clips: split -> clips on disk.
    missing: split -> annotated clips that no archive held.
    replaced: replacement clips placed (over a corrupt original or not).
    failures: one line per thing that could not be done (a rerun retries).
    seconds: the run's duration.
  """
  out_dir: str
  manifest: str
  nothing_to_do: bool = False
  fetched: int = 0
  fetched_bytes: int = 0
  clips: dict = dataclasses.field(default_factory=dict)
  missing: dict = dataclasses.field(default_factory=dict)
  replaced: int = 0
  failures: list = dataclasses.field(default_factory=list)
  seconds: float = 0.0

  @property
  def ok(self) -> bool:
    return not self.failures


def normalize_splits(splits: Sequence[str]) -> tuple:
  """The CVDF split names ('train', 'val', 'test'); 'validation' -> 'val'.

  Raises:
    UserError: an unknown split.
  """
  out = []
  for s in splits:
    s = bucket.SPLIT_ALIASES.get(s.strip().lower(), s.strip().lower())
    if s not in bucket.SPLITS:
      raise UserError(f'unknown split {s!r}; use some of '
                      f'{",".join(bucket.SPLITS)}')
    if s not in out:
      out.append(s)
  if not out:
    raise UserError('no split given; use some of ' + ','.join(bucket.SPLITS))
  return tuple(out)


def layout_of(dataset: str) -> bucket.Layout:
  if dataset not in bucket.LAYOUTS:
    raise UserError(f'unknown dataset {dataset!r}; use one of '
                    f'{", ".join(bucket.LAYOUTS)}')
  return bucket.LAYOUTS[dataset]


def _writable(out_dir: str) -> None:
  try:
    os.makedirs(out_dir, exist_ok=True)
    probe = os.path.join(out_dir, f'.write_test.{os.getpid()}')
    with open(probe, 'w') as f:
      f.write('ok')
    os.remove(probe)
  except OSError as e:
    raise UserError(f'cannot write to --out_dir {out_dir}: '
                    f'{e.strerror or e}; choose a folder you can write '
                    'to') from None


@contextlib.contextmanager
def _locked(out_dir: str):
  """Holds out_dir/.download.lock: one download per folder at a time."""
  if fcntl is None:
    yield
    return
  with open(os.path.join(out_dir, '.download.lock'), 'a+') as f:
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      raise UserError(f'another download is running in {out_dir}; wait '
                      'for it to end (or stop it) and rerun') from None
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


def list_to_csv(data: bytes, split: str, source: str) -> str:
  """A Kinetics-600 ``train.txt`` / ``val.txt`` list as an annotation CSV.

  Understands a JSON object {class name: [clip file names]} and text with
  one ``class name/clip file`` per line; clip files are named
  ``{youtube_id}_{start:06d}_{end:06d}.mp4``.

  Raises:
    ValueError: another format (names the file and what was expected).
  """
  pairs = []
  text = data.decode('utf-8-sig', errors='replace')
  try:
    obj = json.loads(text)
  except ValueError:
    obj = None
  if isinstance(obj, dict):
    for label, names in obj.items():
      if isinstance(names, list):
        pairs += [(label, str(n)) for n in names]
  elif obj is None:
    for line in text.splitlines():
      line = line.strip()
      if line:
        label, _, name = line.rpartition('/')
        pairs.append((posixpath.basename(label), name))
  rows = []
  for label, name in pairs:
    m = _CLIP_NAME.match(posixpath.basename(name))
    if not label or not m:
      raise ValueError(
          f'{source}: {label!r}/{name!r} is not a class and a clip file '
          '{youtube_id}_{start:06d}_{end:06d}.mp4; expected a JSON object '
          '{class: [clip files]} or "class/clip file" lines. Put the split\'s '
          f'annotation CSV in {ANNOTATIONS_DIR}/ by hand instead')
    rows.append((label, m['id'], int(m['start']), int(m['end']), split))
  if not rows:
    raise ValueError(f'{source}: no clip listed; expected a JSON object '
                     '{class: [clip files]} or "class/clip file" lines')
  out = io.StringIO()
  writer = csv.writer(out, lineterminator='\n')
  writer.writerow(('label', 'youtube_id', 'time_start', 'time_end', 'split'))
  writer.writerows(rows)
  return out.getvalue()


def csv_problem(data: bytes) -> Optional[str]:
  """Why ``data`` is not an annotation CSV (None when its header is one)."""
  first = data[:4096].decode('utf-8-sig', errors='replace').split('\n')[0]
  header = {h.strip() for h in first.split(',')}
  needed = set(annotations_lib.REQUIRED_COLUMNS) - {'split'}
  if needed <= header:
    return None
  return (f'not an annotation CSV: its first line is {first[:60]!r} '
          '(expected label,youtube_id,time_start,time_end,split)')


class _Progress:
  """One tqdm bar: bytes, rate, ETA, and archives done of all."""

  def __init__(self, desc: str, archives_total: int, enabled: Optional[bool]):
    disable = None if enabled is None else not enabled  # None: on a tty
    self.bar = tqdm.tqdm(total=0, unit='B', unit_scale=True,
                         unit_divisor=1024, desc=desc, disable=disable,
                         dynamic_ncols=True)
    self.lock = threading.Lock()
    self.archives_total = archives_total
    self.done = 0
    self.sizes = []
    self.bytes = 0

  def on_size(self, remaining: int) -> None:
    with self.lock:
      self.sizes.append(remaining)
      unknown = max(self.archives_total - len(self.sizes), 0)
      mean = sum(self.sizes) / len(self.sizes)
      self.bar.total = int(sum(self.sizes) + unknown * mean)
      self.bar.refresh()

  def on_bytes(self, n: int) -> None:
    with self.lock:
      self.bytes += n
      self.bar.update(n)

  def archive_done(self) -> None:
    with self.lock:
      self.done += 1
      self.bar.set_postfix_str(f'archives {self.done}/{self.archives_total}')

  def close(self):
    self.bar.close()


class _Run:
  """One call of download(): the state shared by its threads."""

  def __init__(self, layout, out_dir, splits, base_url, workers,
               keep_archives, retry, progress, log):
    self.layout = layout
    self.out = out_dir
    self.splits = splits
    self.base = base_url.rstrip('/')
    self.workers = workers
    self.keep = keep_archives
    self.retry = retry
    self.progress_enabled = progress
    self.log = log
    self.stop = threading.Event()
    self.m = manifest_lib.Manifest.load(out_dir, layout.dataset, self.base)
    self.failures = []
    self.progress = None
    self.fetched = 0

  # ------------------------------------------------------------- completeness

  def complete(self) -> bool:
    m, out = self.m, self.out
    for s in self.splits:
      if s not in m['lists'] or s not in m['clips']:
        return False
      if any(m['archives'].get(k, {}).get('status') != 'extracted'
             for k in m['lists'][s]['archives']):
        return False
      rec = m['annotations'].get(s)
      if not rec or not os.path.exists(os.path.join(out, rec['file'])):
        return False
      for name in self.layout.extra_annotations.get(s, ()):
        rec = m['extra_annotations'].get(name)
        if not rec or not os.path.exists(os.path.join(out, rec['file'])):
          return False
      if (self.layout.replacement and
          s not in m['replacement'].get('splits', [])):
        return False
    return True

  # -------------------------------------------------------------------- lists

  def fetch_lists(self) -> None:
    for split in self.splits:
      if split in self.m['lists']:
        continue
      url = self.layout.list_url(self.base, split)
      try:
        text = fetch.fetch_bytes(url, self.retry, self.stop).decode(
            'utf-8', errors='replace')
        urls = bucket.parse_list(text, url)
        if not urls:
          raise ValueError(f'{url}: the list names no archive')
      except fetch.NotFound as e:
        self.failures.append(f'{split} list {e}')
        continue
      except (fetch.FetchError, ValueError) as e:
        self.failures.append(f'{split} list: {e}')
        continue
      self.m.set('lists', split, {
          'url': url, 'archives': [bucket.archive_key(u) for u in urls],
          'urls': urls})
      self.log(f'{split}: {len(urls)} archives listed in {url}')

  # -------------------------------------------------------------- annotations

  def _save_small(self, data: bytes, rel: str) -> str:
    path = os.path.join(self.out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.part'
    try:
      with open(tmp, 'wb') as f:
        f.write(data)
      os.replace(tmp, path)
    except OSError as e:
      if fetch.is_disk_full(e):
        raise fetch.DiskFull(path, e) from None
      raise
    return path

  def _record(self, name: str, rel: str, url: str, data: bytes, **extra):
    return dict(file=rel, source=name, url=url, size=len(data),
                sha256=hashlib.sha256(data).hexdigest(), **extra)

  def fetch_annotations(self) -> None:
    for split in self.splits:
      rec = self.m['annotations'].get(split)
      if not rec or not os.path.exists(os.path.join(self.out, rec['file'])):
        self._annotation(split)
      for name in self.layout.extra_annotations.get(split, ()):
        rec = self.m['extra_annotations'].get(name)
        if rec and os.path.exists(os.path.join(self.out, rec['file'])):
          continue
        url = self.layout.annotation_url(self.base, name)
        try:
          data = fetch.fetch_bytes(url, self.retry, self.stop)
        except fetch.FetchError as e:
          self.failures.append(f'{split} annotations: {e}')
          continue
        if csv_problem(data):
          self.failures.append(f'{split} annotations: {url}: '
                               f'{csv_problem(data)}')
          continue
        rel = posixpath.join(ANNOTATIONS_DIR, name)
        self._save_small(data, rel)
        self.m.set('extra_annotations', name,
                   self._record(name, rel, url, data))
        self.log(f'{split} annotations: also {name}')

  def _annotation(self, split: str) -> None:
    candidates = self.layout.annotations[split]
    absent = []
    for name in candidates:
      url = self.layout.annotation_url(self.base, name)
      try:
        data = fetch.fetch_bytes(url, self.retry, self.stop)
      except fetch.NotFound:
        absent.append(name)
        continue
      except fetch.FetchError as e:
        self.failures.append(f'{split} annotations: {e}')
        return
      if name.endswith('.csv') and csv_problem(data):
        self.failures.append(f'{split} annotations: {url}: '
                             f'{csv_problem(data)}')
        return
      rel = posixpath.join(ANNOTATIONS_DIR, name)
      extra = {'absent': absent} if absent else {}
      if name.endswith('.txt'):
        try:
          text = list_to_csv(data, split, url)
        except ValueError as e:
          self.failures.append(f'{split} annotations: {e}')
          return
        self._save_small(data, rel)
        extra['converted_from'] = rel
        rel = posixpath.join(ANNOTATIONS_DIR, f'{split}.csv')
        data = text.encode('utf-8')
      self._save_small(data, rel)
      self.m.set('annotations', split, self._record(name, rel, url, data,
                                                    **extra))
      note = f' (the bucket has no {", ".join(absent)})' if absent else ''
      conv = f', written as {rel}' if name.endswith('.txt') else ''
      self.log(f'{split} annotations: {name}{conv}{note}')
      return
    self.failures.append(
        f'{split} annotations: none of {", ".join(candidates)} in '
        f'{self.layout.annotation_url(self.base, "")}')

  # ----------------------------------------------------------------- archives

  def _local(self, key: str, split: Optional[str]) -> str:
    parts = [self.out, ARCHIVES_DIR] + ([split] if split else [])
    return os.path.join(*parts, posixpath.basename(key))

  def _fetch(self, key: str, url: str, local: str, split: str) -> int:
    """The archive on disk (downloaded unless it is there already)."""
    rec = self.m.archive(key)
    if (rec.get('status') in ('downloaded', 'extracted') and
        os.path.exists(local) and os.path.getsize(local) == rec.get('size')):
      return rec['size']
    size = fetch.fetch_file(
        url, local, self.retry, stop=self.stop,
        on_size=self.progress.on_size if self.progress else None,
        on_bytes=self.progress.on_bytes if self.progress else None)
    self.m.update_archive(key, split=split, url=url, status='downloaded',
                          size=size, error=None, sha256=None)
    return size

  def fetch_and_extract(self, key: str, url: str, local: str, split: str,
                        extract: Callable[[str, int], archives.Extracted]
                        ) -> archives.Extracted:
    """Downloads, checks and extracts one archive; a corrupt one is fetched
    once more from scratch before it counts as failed."""
    for attempt in (1, 2):
      size = self._fetch(key, url, local, split)
      try:
        return extract(local, size)
      except archives.CorruptArchive as e:
        os.remove(local)
        self.m.update_archive(key, status='failed', error=str(e))
        if attempt == 2:
          raise
        self.log(f'{key}: {e.reason}; fetching it again')
    raise AssertionError('unreachable')

  def _archive_task(self, split: str, key: str, url: str) -> dict:
    local = self._local(key, split)
    dest = os.path.join(self.out, split)
    protected = self.m.protected_clips()

    def place(name):
      if posixpath.basename(name) in protected:
        return None
      return os.path.join(dest, *name.split('/'))

    ex = self.fetch_and_extract(
        key, url, local, split,
        lambda path, size: archives.extract(path, dest, place=place,
                                            expected_size=size,
                                            stop=self.stop))
    kept = os.path.relpath(local, self.out) if self.keep else None
    record = self.m.update_archive(
        key, split=split, url=url, status='extracted', size=ex.size,
        sha256=ex.sha256, format=ex.format, clips=len(ex.files),
        replacement_kept=len(ex.kept) or None, error=None, file=kept)
    if not self.keep:
      os.remove(local)
    return record

  def fetch_archives(self) -> None:
    tasks = []
    for split in self.splits:
      listed = self.m['lists'].get(split)
      if not listed:
        continue
      for key, url in zip(listed['archives'], listed['urls']):
        rec = self.m.archive(key)
        if rec.get('status') == 'extracted':
          continue
        tasks.append((split, key, bucket.rewrite(url, self.base)))
    if not tasks:
      return
    self.log(f'{len(tasks)} archives to fetch with {self.workers} workers')
    self.progress = _Progress(self.layout.dataset, len(tasks),
                              self.progress_enabled)
    stop_error = None
    pool = concurrent.futures.ThreadPoolExecutor(self.workers)
    try:
      futures = {pool.submit(self._archive_task, *t): t for t in tasks}
      for future in concurrent.futures.as_completed(futures):
        split, key, url = futures[future]
        try:
          future.result()
          self.fetched += 1
        except fetch.Stopped:
          continue
        except fetch.DiskFull as e:
          self.stop.set()  # the others stop at their next chunk
          stop_error = e
          break
        except (fetch.FetchError, archives.CorruptArchive) as e:
          self.m.update_archive(key, split=split, url=url, status='failed',
                                error=str(e))
          self.failures.append(f'{key}: {e}')
          self.log(f'FAILED {key}: {e}')
        self.progress.archive_done()
    except BaseException:
      self.stop.set()
      raise
    finally:
      pool.shutdown(wait=True, cancel_futures=True)
      self.progress.close()
    if stop_error is not None:
      raise stop_error

  # -------------------------------------------------------------- replacement

  def _annotated(self, split: str) -> list:
    """Clip ids of the split's annotation file ([] when there is none)."""
    rec = self.m['annotations'].get(split)
    if not rec:
      return []
    path = os.path.join(self.out, rec['file'])
    if not os.path.exists(path):
      return []
    table = annotations_lib.read_csv(
        path, on_error='skip',
        class_names=classes.class_names(self.layout.dataset))
    return [c.clip_id for c in table.clips]

  def apply_replacement(self) -> None:
    rel = self.layout.replacement
    if not rel:
      return
    rep = self.m['replacement']
    # A split's replacement clips are placed once its annotations are here
    # (they place the clips whose original no archive held); an archive of
    # it extracted later leaves them alone.
    todo = [s for s in self.splits if s not in rep.get('splits', [])
            and s in self.m['annotations']]
    if not todo:
      return
    url = bucket.join(self.base, rel)
    local = self._local(rel, None)
    on_disk = {}
    for split in todo:
      for path in _videos(os.path.join(self.out, split)):
        on_disk.setdefault(os.path.basename(path), (split, path))
    by_clip = {}
    for split in todo:
      for clip_id in self._annotated(split):
        by_clip.setdefault(clip_id, split)
    done = self.m.protected_clips()
    replaced, added, unused = {}, {}, []

    def place(name):
      base = posixpath.basename(name)
      stem, ext = os.path.splitext(base)
      if ext.lower() not in annotations_lib.VIDEO_EXTENSIONS or base in done:
        return None
      if base in on_disk:
        replaced[base] = on_disk[base][0]
        return on_disk[base][1]
      if stem in by_clip:
        added[base] = by_clip[stem]
        return os.path.join(self.out, by_clip[stem], base)
      unused.append(base)
      return None

    def extract(path, size):
      replaced.clear()
      added.clear()
      unused.clear()
      return archives.extract(path, self.out, place=place, expected_size=size,
                              stop=self.stop)

    try:
      ex = self.fetch_and_extract(rel, url, local, 'replacement', extract)
    except (fetch.FetchError, archives.CorruptArchive) as e:
      self.failures.append(f'{rel}: {e}')
      self.log(f'FAILED {rel}: {e}')
      return
    with self.m.lock:
      rep = self.m['replacement']
      rep.update(archive=rel, url=url, size=ex.size, sha256=ex.sha256,
                 format=ex.format,
                 splits=sorted(set(rep.get('splits', [])) | set(todo)),
                 replaced={**rep.get('replaced', {}), **replaced},
                 added={**rep.get('added', {}), **added},
                 unused=sorted(set(rep.get('unused', [])) | set(unused)))
      self.m.save()
    kept = os.path.relpath(local, self.out) if self.keep else None
    self.m.update_archive(rel, split='replacement', url=url,
                          status='extracted', size=ex.size, sha256=ex.sha256,
                          format=ex.format, clips=len(ex.files), error=None,
                          file=kept)
    if not self.keep:
      os.remove(local)
    self.log(f'replacement clips: {len(replaced)} corrupt originals replaced,'
             f' {len(added)} placed where no archive held them, '
             f'{len(unused)} of clips not annotated in {",".join(todo)}')

  # -------------------------------------------------------------------- tally

  def tally(self) -> None:
    """Counts clips per split; lists annotated clips no archive held."""
    for split in self.splits:
      listed = self.m['lists'].get(split)
      if not listed:
        continue
      stems = set()
      for path in _videos(os.path.join(self.out, split), sweep=True):
        stems.add(os.path.splitext(os.path.basename(path))[0])
      annotated = self._annotated(split)
      missing = sorted(set(annotated) - stems)
      extracted = sum(self.m['archives'].get(k, {}).get('clips', 0)
                      for k in listed['archives'])
      with self.m.lock:
        self.m.data['clips'][split] = {
            'extracted': extracted, 'on_disk': len(stems),
            'annotated': len(annotated), 'missing_count': len(missing),
            'missing': missing}
        self.m.save()


def _videos(folder: str, sweep: bool = False):
  """Video files under ``folder``; with ``sweep``, removes the hidden
  ``.NAME.part`` files a killed extraction left."""
  if not os.path.isdir(folder):
    return
  exts = annotations_lib.VIDEO_EXTENSIONS
  for root, _, names in os.walk(folder):
    for name in names:
      if name.startswith('.'):
        if sweep and name.endswith('.part'):
          with contextlib.suppress(OSError):
            os.remove(os.path.join(root, name))
        continue
      if os.path.splitext(name)[1].lower() in exts:
        yield os.path.join(root, name)


def download(dataset: str, out_dir: str, *,
             splits: Sequence[str] = bucket.SPLITS,
             base_url: str = bucket.DEFAULT_BASE_URL, workers: int = 4,
             keep_archives: bool = False, retry: fetch.Retry = fetch.Retry(),
             progress: Optional[bool] = None,
             log: Callable[[str], None] = print) -> Result:
  """Downloads a Kinetics version from the CVDF bucket into ``out_dir``.

  Args:
    dataset: 'kinetics400', 'kinetics600' or 'kinetics700_2020'.
    out_dir: the folder to fill (a manual_dir for ``tfds build``).
    splits: some of 'train', 'val' ('validation'), 'test'.
    base_url: the bucket root (a mirror of the CVDF's).
    workers: archives fetched and extracted at once.
    keep_archives: keep the archives (in out_dir/archives) after a checked
      extraction.
    retry: attempts, backoff and timeout of each request.
    progress: the progress bar: True, False, or None = on a terminal.
    log: where progress lines go.

  Returns:
    Result; ``failures`` lists what a rerun will try again.

  Raises:
    UserError: an unknown dataset or split, an out_dir that cannot be
      written, a manifest of another dataset, a download running there.
    fetch.DiskFull: the disk filled up; nothing was marked done for the
      files being written (rerun once there is space).
    KeyboardInterrupt: the manifest is saved first; rerun to resume.
  """
  start = time.time()
  layout = layout_of(dataset)
  splits = normalize_splits(splits)
  if workers < 1:
    raise UserError(f'--workers must be at least 1, not {workers}')
  out_dir = os.path.abspath(os.path.expanduser(out_dir))
  _writable(out_dir)
  with _locked(out_dir):
    try:
      run = _Run(layout, out_dir, splits, base_url, workers, keep_archives,
                 retry, progress, log)
    except manifest_lib.ManifestError as e:
      raise UserError(str(e)) from None
    result = Result(out_dir=out_dir, manifest=run.m.path)
    if run.complete():
      result.nothing_to_do = True
    else:
      try:
        run.fetch_lists()
        run.fetch_annotations()
        run.fetch_archives()
        run.apply_replacement()
        run.tally()
      finally:
        with run.m.lock:
          run.m.data['failures'] = list(run.failures)
          run.m.save()
    result.failures = list(run.failures)
    result.fetched = run.fetched
    result.fetched_bytes = run.progress.bytes if run.progress else 0
    for split in splits:
      info = run.m['clips'].get(split)
      if info:
        result.clips[split] = info['on_disk']
        result.missing[split] = info['missing_count']
    rep = run.m['replacement']
    result.replaced = len(rep.get('replaced', {})) + len(rep.get('added', {}))
    result.seconds = time.time() - start
    return result


def _size(n: float) -> str:
  if n < 1000:
    return f'{n:.0f} B'
  for unit in ('kB', 'MB', 'GB'):
    n /= 1000
    if n < 1000 or unit == 'GB':
      return f'{n:.1f} {unit}'


def summary(result: Result, dataset: str) -> list:
  """The closing lines of a run."""
  lines = []
  if result.nothing_to_do:
    lines.append(f'{dataset} in {result.out_dir} is complete: nothing to '
                 'fetch.')
  for split, n in result.clips.items():
    lines.append(f'{split}: {n:,} clips; {result.missing[split]:,} annotated '
                 'clips in no archive (listed in the manifest)')
  if result.replaced:
    lines.append(f'replacement clips placed: {result.replaced:,}')
  if not result.nothing_to_do:
    lines.append(f'this run: {result.fetched} archives, '
                 f'{_size(result.fetched_bytes)} in '
                 f'{result.seconds / 60:.1f} min')
  lines.append(f'manifest: {result.manifest}')
  if result.failures:
    lines.append(f'FAILED ({len(result.failures)}); rerun the same command '
                 'to try them again:')
    lines += [f'  {f}' for f in result.failures]
  else:
    lines.append(f'next: tfds build {dataset} --imports kinetics_tf.datasets '
                 f'--manual_dir={result.out_dir}')
  return lines
