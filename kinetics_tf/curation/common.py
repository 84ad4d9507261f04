"""CSV/JSON reading and atomic writing shared by the curation binaries."""

import csv
import json
import pathlib
from typing import Iterable, Mapping, Sequence

from kinetics_tf import errors
from kinetics_tf.reports import files as files_lib


class CurationInputError(errors.UserError):
  """A curation input file is malformed; the message names file and line."""


def read_rows(path, required: Sequence[str]) -> list[dict]:
  """Reads a CSV with a header into dicts, checking required columns.

  Args:
    path: the CSV file.
    required: column names that must be present.

  Returns:
    One dict per data row, with an extra '_line' key (1-based file line).

  Raises:
    CurationInputError: the file is missing or lacks a required column.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise CurationInputError(f'{path}: no such file')
  with path.open(newline='') as f:
    reader = csv.DictReader(f)
    missing = [c for c in required if c not in (reader.fieldnames or ())]
    if missing:
      raise CurationInputError(
          f'{path}: missing column(s) {missing}; the header must contain '
          f'{list(required)} (found {reader.fieldnames})')
    rows = []
    for i, row in enumerate(reader, start=2):
      row['_line'] = i
      rows.append(row)
  return rows


def parse_float(row: Mapping, column: str, path) -> float:
  try:
    return float(row[column])
  except (TypeError, ValueError):
    raise CurationInputError(
        f'{path}:{row["_line"]}: column {column!r} is {row[column]!r}, '
        'not a number') from None


def _atomic_write(path, write_fn) -> pathlib.Path:
  """Writes through a temporary file in the same folder, then renames."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  with files_lib.atomic_path(str(path)) as tmp, open(tmp, 'w', newline='') as f:
    write_fn(f)
  return path


def write_rows(path, rows: Iterable[Mapping], fieldnames: Sequence[str]):
  """Writes dict rows as CSV atomically (never a half-written file)."""
  def write(f):
    writer = csv.DictWriter(f, fieldnames=fieldnames, extrasaction='ignore')
    writer.writeheader()
    for row in rows:
      writer.writerow(row)
  return _atomic_write(path, write)


def write_json(path, obj):
  """Writes JSON atomically."""
  return _atomic_write(path, lambda f: json.dump(obj, f, indent=2))
