"""Files on a local disk or on any file system TensorFlow reaches (gs://, ram://, ...).

The preparation stage (``flow.prepare``) keeps its prepared folder and reads
its source videos through these few functions, so the same code runs on one
machine and on a cluster whose storage is a bucket.  A local path uses the
``os`` module; a URI (``scheme://...``) uses ``tf.io.gfile``, imported only
then, so a local run never imports TensorFlow.  Decoders read local files
only: ``local_copy`` stages a remote video to a temporary local file.
"""

import contextlib
import os
import socket
import tempfile
import uuid


def is_remote(path) -> bool:
  """True for a URI such as gs://bucket/x or ram://x (not a local path)."""
  return '://' in str(path)


def _gfile():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf.io.gfile


def join(*parts) -> str:
  """Joins path parts with '/' (also on URIs)."""
  return '/'.join(str(p).rstrip('/') for p in parts if str(p))


def exists(path) -> bool:
  return _gfile().exists(str(path)) if is_remote(path) else os.path.exists(path)


def makedirs(path) -> None:
  if is_remote(path):
    _gfile().makedirs(str(path))
  else:
    os.makedirs(path, exist_ok=True)


def read_bytes(path) -> bytes:
  if is_remote(path):
    with _gfile().GFile(str(path), 'rb') as f:
      return f.read()
  with open(path, 'rb') as f:
    return f.read()


def listdir(path) -> list:
  """Names in a folder ([] when it does not exist)."""
  if not exists(path):
    return []
  if is_remote(path):
    return [n.rstrip('/') for n in _gfile().listdir(str(path))]
  return os.listdir(path)


def remove(path) -> None:
  if is_remote(path):
    _gfile().remove(str(path))
  else:
    os.remove(path)


def tmp_name(path) -> str:
  """A temporary name beside ``path``, unique to this host, process and call
  (``.NAME.RANDOM.HOST-PID.tmp``: ``flow.outputs.remove_stale_tmps`` finds
  those of dead processes)."""
  host = socket.gethostname().replace('.', '_')
  head, _, name = str(path).rpartition('/')
  return f'{head}/.{name}.{uuid.uuid4().hex[:8]}.{host}-{os.getpid()}.tmp'


def write_atomic(path, data: bytes) -> None:
  """Writes ``data`` to ``path`` so that ``path`` exists only once complete:
  written under a temporary name (flushed to disk locally), then renamed."""
  tmp = tmp_name(path)
  try:
    if is_remote(path):
      with _gfile().GFile(tmp, 'wb') as f:
        f.write(data)
      _gfile().rename(tmp, str(path), overwrite=True)
    else:
      with open(tmp, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
      os.replace(tmp, path)
  finally:
    if exists(tmp):
      remove(tmp)


@contextlib.contextmanager
def local_copy(path):
  """Yields a local path holding the file at ``path``: itself when local, a
  temporary copy (deleted after) when remote."""
  if not is_remote(path):
    yield str(path)
    return
  suffix = os.path.splitext(str(path))[1]
  fd, tmp = tempfile.mkstemp(suffix=suffix, prefix='kinetics-clip-')
  try:
    with os.fdopen(fd, 'wb') as f:
      f.write(read_bytes(path))
    yield tmp
  finally:
    os.unlink(tmp)
