"""Atomic file writes: a report file is either absent, the old one, or whole."""

import contextlib
import os
import tempfile
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path beside ``path``; renames it onto ``path`` on success.

  The temporary name keeps ``path``'s extension so writers that infer the
  format from it (matplotlib, NumPy) behave alike. On an exception the
  temporary file is removed and ``path`` is left as it was.
  """
  directory, name = os.path.split(os.path.abspath(path))
  stem, ext = os.path.splitext(name)
  fd, tmp = tempfile.mkstemp(prefix=f'.{stem}.', suffix=f'.tmp{ext}', dir=directory)
  os.close(fd)
  try:
    yield tmp
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.remove(tmp)
    raise
