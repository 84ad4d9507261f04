"""Reads per-clip evaluation scores for the review and bias tools.

The evaluator writes ``scores.npz`` with arrays ``ids`` [N] (str),
``labels`` [N] (int, -1 when unknown), ``scores`` [N, C] (class
probabilities) and ``class_names`` [C].
"""

import dataclasses
import pathlib

import numpy as np

from kinetics_tf.curation import common


@dataclasses.dataclass
class Scores:
  ids: np.ndarray
  labels: np.ndarray
  scores: np.ndarray
  class_names: np.ndarray

  @property
  def predicted(self) -> np.ndarray:
    return self.scores.argmax(axis=1)


def load_scores(path) -> Scores:
  """Loads and checks a scores.npz file.

  Raises:
    CurationInputError: the file is missing, lacks an array or is inconsistent.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise common.CurationInputError(
        f'{path}: no such file (run kinetics_tf.evaluate, which writes '
        'scores.npz to its output folder)')
  with np.load(path, allow_pickle=False) as data:
    missing = {'ids', 'labels', 'scores', 'class_names'} - set(data.files)
    if missing:
      raise common.CurationInputError(f'{path}: missing arrays {sorted(missing)}')
    s = Scores(data['ids'].astype(str), data['labels'].astype(np.int64),
               data['scores'].astype(np.float64), data['class_names'].astype(str))
  n, c = s.scores.shape
  if len(s.ids) != n or len(s.labels) != n or len(s.class_names) != c:
    raise common.CurationInputError(
        f'{path}: {n}x{c} scores but {len(s.ids)} ids, {len(s.labels)} labels '
        f'and {len(s.class_names)} class names')
  if s.labels.max(initial=-1) >= c:
    raise common.CurationInputError(f'{path}: a label is >= {c} classes')
  return s
