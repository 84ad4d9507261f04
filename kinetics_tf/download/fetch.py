"""HTTP downloads that survive: resume with Range into a partial file, retry with backoff, rename when complete.

``fetch_file(url, dest)`` writes ``dest.part`` and renames it to ``dest`` once
every byte the server announced has arrived.  A partial file left by a
dropped connection, a timeout or a killed run is continued with
``Range: bytes=N-``; a server that ignores Range (200) starts the file again.
Timeouts, dropped connections, 408/429 and 5xx answers are retried with
exponential backoff (a retry that made progress resets the count);
404/403/410 are final (``NotFound``).  A full disk raises ``DiskFull`` and
keeps the partial file for the next run.
"""

import dataclasses
import errno
import http.client
import os
import random
import re
import threading
import time
import urllib.error
import urllib.request
from typing import Callable, Optional

CHUNK = 1 << 20
USER_AGENT = 'kinetics-tf-download/1'
_NOT_FOUND = (403, 404, 410)  # S3 answers 403 for a missing key
_RETRIED = (408, 425, 429, 500, 502, 503, 504)
_CONTENT_RANGE = re.compile(r'bytes\s+(\d+)-(\d+)/(\d+|\*)')
_UNSATISFIABLE = re.compile(r'bytes\s+\*/(\d+)')


class FetchError(Exception):
  """A URL that could not be fetched (after the retries, where it helps)."""

  def __init__(self, url: str, reason: str):
    self.url = url
    self.reason = reason
    super().__init__(f'{url}: {reason}')


class NotFound(FetchError):
  """The server has no such file (404, 403 or 410)."""


class DiskFull(OSError):
  """No space left on the device while writing ``path``."""

  def __init__(self, path: str, error: OSError):
    self.path = path
    super().__init__(error.errno, f'no space left writing {path} '
                     f'({error.strerror})')


class Stopped(Exception):
  """The run was asked to stop (Ctrl-C, a kill, a full disk elsewhere)."""


@dataclasses.dataclass(frozen=True)
class Retry:
  """How hard to try.

  Attributes:
    attempts: retries in a row without progress before giving up.
    backoff: seconds before the first retry; doubled each time (with
      jitter), at most ``max_backoff``.
    max_backoff: the longest wait between two tries.
    timeout: seconds a connection may stay silent.
  """
  attempts: int = 5
  backoff: float = 1.0
  max_backoff: float = 60.0
  timeout: float = 60.0

  def wait(self, attempt: int, stop: Optional[threading.Event]) -> None:
    delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
    delay *= 0.5 + random.random() / 2
    if stop is not None:
      if stop.wait(delay):
        raise Stopped()
    else:
      time.sleep(delay)


def is_disk_full(error: OSError) -> bool:
  return error.errno in (errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC))


def _open(url: str, offset: int, timeout: float):
  headers = {'User-Agent': USER_AGENT}
  if offset:
    headers['Range'] = f'bytes={offset}-'
  return urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                timeout=timeout)


def _total_of(resp, offset: int) -> tuple[Optional[int], bool]:
  """(the file's full size if the answer says it, whether it resumes)."""
  if resp.status == 206:
    m = _CONTENT_RANGE.match(resp.headers.get('Content-Range', ''))
    if m and int(m[1]) == offset:
      return (None if m[3] == '*' else int(m[3])), True
    return None, False  # a range we did not ask for: start again
  length = resp.headers.get('Content-Length')
  return (int(length) if length and length.isdigit() else None), False


def _local(path: str, error: OSError) -> OSError:
  """A local file error, told apart from the network's (``DiskFull`` for a
  full disk)."""
  if is_disk_full(error):
    return DiskFull(path, error)
  error.local_file = path
  return error


def _remove(path: str) -> None:
  try:
    os.remove(path)
  except FileNotFoundError:
    pass


def fetch_file(url: str, dest: str, retry: Retry = Retry(), *,
               on_size: Optional[Callable[[int], None]] = None,
               on_bytes: Optional[Callable[[int], None]] = None,
               stop: Optional[threading.Event] = None) -> int:
  """Downloads ``url`` to ``dest`` (see the module docstring); returns its size.

  Args:
    url: http(s) URL.
    dest: the final path; bytes go to ``dest + '.part'`` until complete.
    retry: attempts, backoff and timeout.
    on_size: called once with the bytes still to fetch, when known.
    on_bytes: called with the size of each chunk written.
    stop: set it to make the download stop (raises ``Stopped``) at the next
      chunk, keeping the partial file.

  Raises:
    NotFound: 404/403/410.
    FetchError: another HTTP error, or too many failed retries.
    DiskFull: no space left; the partial file is kept.
    Stopped: ``stop`` was set.
    OSError: ``dest`` cannot be written for another reason.
  """
  part = dest + '.part'
  os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
  failures, announced = 0, False
  while True:
    if stop is not None and stop.is_set():
      raise Stopped()
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    progressed, reason = False, None
    try:
      with _open(url, offset, retry.timeout) as resp:
        total, resumed = _total_of(resp, offset)
        if resp.status == 206 and not resumed:
          _remove(part)
          raise _Retry('the server sent another range than the one asked '
                       'for: starting again')
        if not resumed:
          offset = 0
        if total is not None and not announced:
          announced = True
          if on_size:
            on_size(total - offset)
        try:
          f = open(part, 'ab' if resumed else 'wb')
        except OSError as e:
          raise _local(part, e) from None
        with f:
          while True:
            if stop is not None and stop.is_set():
              raise Stopped()
            chunk = resp.read1(CHUNK)  # what has arrived: stops promptly
            if not chunk:
              break
            try:
              f.write(chunk)
            except OSError as e:
              raise _local(part, e) from None
            offset += len(chunk)
            progressed = True
            if on_bytes:
              on_bytes(len(chunk))
      if total is None or offset == total:
        os.replace(part, dest)
        return offset
      if offset > total:
        _remove(part)
        reason = f'{offset} bytes received, more than the {total} announced'
      else:
        reason = f'connection closed at byte {offset} of {total}'
    except _Retry as e:
      reason = str(e)
    except urllib.error.HTTPError as e:
      if e.code == 416:  # nothing left after the partial file
        m = _UNSATISFIABLE.match(e.headers.get('Content-Range', '') or '')
        if offset and m and int(m[1]) == offset:
          os.replace(part, dest)
          return offset
        _remove(part)
        reason = 'the partial file does not fit the file: starting again'
      elif e.code in _NOT_FOUND:
        raise NotFound(url, f'HTTP {e.code} {e.reason}: the bucket has no '
                       'such file') from None
      elif e.code in _RETRIED:
        reason = f'HTTP {e.code} {e.reason}'
      else:
        raise FetchError(url, f'HTTP {e.code} {e.reason}') from None
    except OSError as e:
      if isinstance(e, DiskFull) or hasattr(e, 'local_file'):
        raise
      # The network: URLError, ConnectionError, timeouts, socket errors.
      reason = f'{type(e).__name__}: {getattr(e, "reason", e)}'
    except http.client.HTTPException as e:  # IncompleteRead, BadStatusLine
      reason = f'{type(e).__name__}: {e!r}'
    failures = 1 if progressed else failures + 1
    if failures > retry.attempts:
      raise FetchError(url, f'gave up after {retry.attempts} retries: '
                       f'{reason}')
    retry.wait(failures, stop)


class _Retry(Exception):
  """A reason to try again."""


def fetch_bytes(url: str, retry: Retry = Retry(),
                stop: Optional[threading.Event] = None) -> bytes:
  """A small file's content (a list, a CSV), with fetch_file's retries.

  Raises:
    NotFound, FetchError, Stopped: as fetch_file.
  """
  failures = 0
  while True:
    try:
      with _open(url, 0, retry.timeout) as resp:
        data = resp.read()
        length = resp.headers.get('Content-Length')
        if length and length.isdigit() and len(data) != int(length):
          raise http.client.IncompleteRead(data, int(length) - len(data))
        return data
    except urllib.error.HTTPError as e:
      if e.code in _NOT_FOUND:
        raise NotFound(url, f'HTTP {e.code} {e.reason}: the bucket has no '
                       'such file') from None
      if e.code not in _RETRIED:
        raise FetchError(url, f'HTTP {e.code} {e.reason}') from None
      reason = f'HTTP {e.code} {e.reason}'
    except OSError as e:
      reason = f'{type(e).__name__}: {getattr(e, "reason", e)}'
    except http.client.HTTPException as e:
      reason = f'{type(e).__name__}: {e!r}'
    failures += 1
    if failures > retry.attempts:
      raise FetchError(url, f'gave up after {retry.attempts} retries: '
                       f'{reason}')
    retry.wait(failures, stop)
