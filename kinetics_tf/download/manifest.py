"""``manifest.json``: what a download fetched, checked and extracted, written atomically after every change.

The file is the download's memory: a rerun reads it to skip what is done and
to resume the rest, so it only ever records a step once the step is on disk
(an archive is 'downloaded' once renamed from its partial file, 'extracted'
once its clips have their names).  Keys:

* ``dataset``, ``base_url``, ``updated`` (UTC);
* ``lists``: split -> the list's URL and the archive URLs it names;
* ``archives``: archive key ('400/train/part_0.tar.gz') -> split, url,
  status ('downloaded', 'extracted' or 'failed' with the error), size,
  sha256, format ('tar.gz' or 'tar'), clips extracted, replacement clips kept,
  and ``file`` where the archive was kept;
* ``annotations``: split -> the file used, its source name and URL, size,
  sha256 and the candidates the bucket did not have;
* ``extra_annotations``: file name -> the same;
* ``replacement``: the replacement archive (size, sha256), the splits it was
  applied to, ``replaced`` (clip file -> split: an original overwritten),
  ``added`` (placed where no archive held the original) and ``unused``;
* ``clips``: split -> clips extracted from archives, clips on disk, clips the
  annotations list, and ``missing`` (annotated clips no archive held);
* ``failures``: what the last run could not do (a rerun tries them again).
"""

import datetime
import json
import os
import threading

from kinetics_tf import errors
from kinetics_tf.reports import files

NAME = 'manifest.json'
FORMAT = 1


class ManifestError(errors.UserError):
  """A manifest that cannot be used for this download."""


class Manifest:
  """The manifest of one out_dir; every change is saved (thread-safe)."""

  def __init__(self, path: str, data: dict):
    self.path = path
    self.data = data
    self.lock = threading.RLock()

  @classmethod
  def load(cls, out_dir: str, dataset: str, base_url: str) -> 'Manifest':
    """The manifest of ``out_dir``, or a new one.

    Raises:
      ManifestError: unreadable, or written for another dataset.
    """
    path = os.path.join(out_dir, NAME)
    data = {'format': FORMAT, 'dataset': dataset, 'base_url': base_url,
            'lists': {}, 'archives': {}, 'annotations': {},
            'extra_annotations': {}, 'replacement': {}, 'clips': {},
            'failures': []}
    if os.path.exists(path):
      try:
        with open(path, encoding='utf-8') as f:
          old = json.load(f)
      except (OSError, ValueError) as e:
        raise ManifestError(
            f'{path} cannot be read ({e}); move it away to start the '
            'bookkeeping again (archives and clips on disk are kept, and '
            'downloaded archives are checked again)') from None
      if not isinstance(old, dict) or old.get('format') != FORMAT:
        raise ManifestError(f'{path} is not a manifest of this downloader '
                            f'(format {FORMAT}); move it away or use another '
                            '--out_dir')
      if old.get('dataset') != dataset:
        raise ManifestError(
            f'{out_dir} holds a download of {old.get("dataset")!r}, not '
            f'{dataset!r}; use another --out_dir')
      data.update(old)
      data['base_url'] = base_url
    return cls(path, data)

  def __getitem__(self, key):
    return self.data[key]

  def save(self) -> None:
    with self.lock:
      self.data['updated'] = datetime.datetime.now(
          datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
      text = json.dumps(self.data, indent=1, sort_keys=True)
      with files.atomic_path(self.path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
          f.write(text + '\n')

  def set(self, section: str, key: str, value) -> None:
    """data[section][key] = value, saved."""
    with self.lock:
      self.data[section][key] = value
      self.save()

  def update_archive(self, key: str, **fields) -> dict:
    """Merges ``fields`` into the archive's record (None removes a field)."""
    with self.lock:
      record = dict(self.data['archives'].get(key, {}))
      record.update(fields)
      record = {k: v for k, v in record.items() if v is not None}
      self.data['archives'][key] = record
      self.save()
      return record

  def archive(self, key: str) -> dict:
    with self.lock:
      return dict(self.data['archives'].get(key, {}))

  def protected_clips(self) -> frozenset:
    """File names of the replacement clips placed so far (an archive
    extracted again leaves them alone)."""
    with self.lock:
      rep = self.data['replacement']
      return frozenset(rep.get('replaced', {})) | frozenset(
          rep.get('added', {}))
