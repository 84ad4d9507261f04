"""Archives in, clips out: each archive checked whole before any clip of it takes its name.

``extract(path, dest)`` reads the archive once: a gzip-compressed tar, or a
plain tar whatever its name says (the CVDF's ``part_120.tar.gz`` of
Kinetics-400 was one, CVDF issue 21).  Each member goes to a hidden temporary
name beside its destination (``.NAME.part``, which the builders' file index
skips); only when the whole archive has been read, the gzip trailer's CRC and
length checked and the byte count equals the expected size are the members
renamed to their names.  A corrupt or truncated archive raises
``CorruptArchive`` and leaves no clip behind; the sha256 of the archive's
bytes comes out of the same pass.
"""

import dataclasses
import gzip
import hashlib
import os
import posixpath
import tarfile
import threading
import zlib
from typing import Callable, Iterable, Optional

from kinetics_tf.download import fetch

_COPY = 1 << 20


class CorruptArchive(Exception):
  """An archive that is not a whole, readable (gzipped) tar."""

  def __init__(self, path: str, reason: str):
    self.path = path
    self.reason = reason
    super().__init__(f'{path}: {reason}')


@dataclasses.dataclass
class Extracted:
  """What extract wrote.

  Attributes:
    files: destination paths written, in archive order.
    kept: member names left out because ``place`` returned None.
    sha256: hex digest of the archive file.
    size: bytes of the archive file.
    format: 'tar.gz' or 'tar' (what the bytes are, whatever the name says).
  """
  files: list
  kept: list
  sha256: str
  size: int
  format: str


class _Hashing:
  """A binary reader that hashes and counts what passes through it."""

  def __init__(self, raw):
    self._raw = raw
    self.sha256 = hashlib.sha256()
    self.count = 0

  def read(self, n=-1):
    data = self._raw.read(n)
    self.sha256.update(data)
    self.count += len(data)
    return data


def sniff(path: str) -> Optional[str]:
  """'tar.gz', 'tar' or None, from the file's first bytes."""
  with open(path, 'rb') as f:
    head = f.read(512)
  if head[:2] == b'\x1f\x8b':
    return 'tar.gz'
  if len(head) == 512 and head[257:262] == b'ustar':
    return 'tar'
  return None


def safe_name(name: str) -> Optional[str]:
  """The member's relative path, or None if it would leave the folder."""
  name = posixpath.normpath(name.replace('\\', '/'))
  if (not name or name == '.' or name.startswith('/') or
      name.split('/')[0] == '..' or ':' in name.split('/')[0]):
    return None
  return name


def extract(path: str, dest: str, *,
            place: Optional[Callable[[str], Optional[str]]] = None,
            expected_size: Optional[int] = None,
            stop: Optional[threading.Event] = None) -> Extracted:
  """Checks and extracts an archive (see the module docstring).

  Args:
    path: the archive.
    dest: the folder members go to (their paths inside the archive kept).
    place: member path -> destination path, or None to leave the member out;
      default ``dest/member``.
    expected_size: the archive's size as the server announced it.
    stop: set it to stop (raises fetch.Stopped; nothing renamed).

  Returns:
    Extracted.

  Raises:
    CorruptArchive: not gzip nor tar, truncated, a bad CRC, a member leaving
      the folder, or a size other than ``expected_size``.
    fetch.DiskFull: no space left (nothing renamed).
  """
  kind = sniff(path)
  if kind is None:
    raise CorruptArchive(path, 'neither a gzip file nor a tar archive')
  size = os.path.getsize(path)
  if expected_size is not None and size != expected_size:
    raise CorruptArchive(path, f'{size} bytes where the server announced '
                         f'{expected_size}')
  temps, kept = [], []
  try:
    with open(path, 'rb') as raw:
      hashing = _Hashing(raw)
      stream = gzip.GzipFile(fileobj=hashing, mode='rb') if kind == 'tar.gz' \
          else hashing
      with tarfile.open(fileobj=stream, mode='r|') as tar:
        for member in tar:
          if not member.isfile():
            continue  # folders are made as needed; links are not clips
          name = safe_name(member.name)
          if name is None:
            raise CorruptArchive(path, f'member {member.name!r} would be '
                                 'written outside the destination folder')
          target = place(name) if place else os.path.join(dest, name)
          if target is None:
            kept.append(name)
            continue
          tmp = os.path.join(os.path.dirname(target),
                             f'.{os.path.basename(target)}.part')
          temps.append((tmp, target))
          _copy(tar.extractfile(member), tmp, member.size, stop)
      # The rest of the stream: the gzip trailer (CRC-32 and length) is only
      # checked when the decompressor reaches it.
      while stream.read(_COPY):
        pass
      while hashing.read(_COPY):
        pass
  except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
    _remove_all(t for t, _ in temps)
    raise CorruptArchive(path, f'{type(e).__name__}: {e}') from None
  except BaseException:
    _remove_all(t for t, _ in temps)
    raise
  if hashing.count != size:
    _remove_all(t for t, _ in temps)
    raise CorruptArchive(path, f'read {hashing.count} of {size} bytes')
  for tmp, target in temps:
    os.replace(tmp, target)
  return Extracted(files=[t for _, t in temps], kept=kept,
                   sha256=hashing.sha256.hexdigest(), size=size, format=kind)


def _copy(src, tmp: str, size: int, stop) -> None:
  os.makedirs(os.path.dirname(tmp), exist_ok=True)
  written = 0
  try:
    with open(tmp, 'wb') as out:
      while True:
        if stop is not None and stop.is_set():
          raise fetch.Stopped()
        chunk = src.read(_COPY)
        if not chunk:
          break
        out.write(chunk)
        written += len(chunk)
  except OSError as e:
    if fetch.is_disk_full(e):
      raise fetch.DiskFull(tmp, e) from None
    raise
  if written != size:
    raise tarfile.ReadError(f'{os.path.basename(tmp)[1:-5]}: {written} of '
                            f'{size} bytes')


def _remove_all(paths: Iterable[str]) -> None:
  for p in paths:
    try:
      os.remove(p)
    except FileNotFoundError:
      pass
