"""Flow outputs written atomically: uint8 .npy arrays or x/y JPEG folders.

An output appears only by renaming a finished temporary file or folder, so
its existence means it is complete; temporary names carry the writer's host
and process id, so that leftovers of killed runs can be told from live work.
"""

import os
import pathlib
import shutil
import socket

import cv2
import numpy as np

from flow.constants import FLOW_JPEG_QUALITY

FORMATS = ('npy', 'jpeg')
_TMP = '.tmp'


def output_path(out_dir, key, fmt: str) -> pathlib.Path:
  """Where the flow of the video keyed `key` goes."""
  if fmt not in FORMATS:
    raise ValueError(f'unknown flow format {fmt!r}; use one of {FORMATS}')
  path = pathlib.Path(out_dir) / key
  return path.with_name(path.name + '.npy') if fmt == 'npy' else path


def is_done(output) -> bool:
  """True once `output` is complete (it only appears by an atomic rename)."""
  return os.path.exists(output)


def _tmp_name(output: pathlib.Path) -> pathlib.Path:
  host = socket.gethostname().replace('.', '_')
  return output.with_name(f'.{output.name}.{host}-{os.getpid()}{_TMP}')


def write_npy(flow_u8: np.ndarray, output: pathlib.Path) -> None:
  """Writes `flow_u8` to `output` atomically (temp file + rename)."""
  tmp = _tmp_name(output)
  try:
    with open(tmp, 'wb') as f:
      np.save(f, flow_u8)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, output)
  finally:
    if tmp.exists():
      tmp.unlink()


def write_jpeg(flow_u8: np.ndarray, output: pathlib.Path,
               quality: int = FLOW_JPEG_QUALITY) -> None:
  """Writes x_00001.jpg / y_00001.jpg ... into a temp folder, then renames it."""
  tmp = _tmp_name(output)
  try:
    tmp.mkdir()
    args = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    for i, field in enumerate(flow_u8, start=1):
      for c, axis in enumerate('xy'):
        name = str(tmp / f'{axis}_{i:05d}.jpg')
        if not cv2.imwrite(name, np.ascontiguousarray(field[..., c]), args):
          raise OSError(f'could not write {name}')
    if output.exists():  # Only with --overwrite.
      shutil.rmtree(output)
    os.rename(tmp, output)
  finally:
    if tmp.exists():
      shutil.rmtree(tmp)


def read_flow(output) -> np.ndarray:
  """The uint8 [T-1,H,W,2] flow stored at `output` (.npy or JPEG folder)."""
  output = pathlib.Path(output)
  if output.suffix == '.npy':
    return np.load(output)
  xs = sorted(output.glob('x_*.jpg'))
  fields = [np.stack([cv2.imread(str(x), cv2.IMREAD_GRAYSCALE),
                      cv2.imread(str(x.with_name('y' + x.name[1:])),
                                 cv2.IMREAD_GRAYSCALE)], axis=-1) for x in xs]
  return np.stack(fields)


def check_writable(out_dir) -> str | None:
  """None if files can be created in `out_dir` (made if absent), else why not."""
  out_dir = pathlib.Path(out_dir)
  try:
    out_dir.mkdir(parents=True, exist_ok=True)
    probe = _tmp_name(out_dir / 'write-probe')
    probe.write_bytes(b'')
    probe.unlink()
  except OSError as e:
    return (f'cannot write to output folder {out_dir} ({type(e).__name__}: '
            f'{e.strerror or e}); choose a folder you can write to. '
            'Nothing was computed or marked done.')
  return None


def remove_stale_tmps(out_dir) -> int:
  """Deletes temp outputs left by killed runs of this host; returns how many.

  A temp name carries its writer's host and pid, so live writers (this run's
  or another's on a shared folder) are never touched.
  """
  host = socket.gethostname().replace('.', '_')
  removed = 0
  for root, dirs, files in os.walk(out_dir):
    for name in list(dirs) + files:
      owner = name.rsplit('.', 2)[-2] if name.endswith(_TMP) else ''
      if not owner.startswith(host + '-'):
        continue
      pid = owner[len(host) + 1:]
      if pid.isdigit() and not _alive(int(pid)):
        path = os.path.join(root, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        removed += 1
        if name in dirs:
          dirs.remove(name)
  return removed


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)  # Signal 0: only checks that the process exists.
  except ProcessLookupError:
    return False
  except PermissionError:
    pass
  return True
