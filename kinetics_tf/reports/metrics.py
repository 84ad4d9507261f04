"""Classification metrics of the paper's evaluation (§4.5): accuracies and analyses.

Everything works on NumPy arrays of video-level class scores ``[N, C]`` and
integer labels ``[N]``; nothing here knows about models or TensorFlow.
"""

from typing import Mapping, Sequence

import numpy as np


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  scores = np.asarray(scores, dtype=np.float64)
  labels = np.asarray(labels, dtype=np.int64)
  if scores.ndim != 2:
    raise ValueError(f'scores must be [num_clips, num_classes], got shape {scores.shape}')
  if labels.shape != (scores.shape[0],):
    raise ValueError(f'labels must be [{scores.shape[0]}] to match scores {scores.shape}, '
                     f'got shape {labels.shape}')
  if labels.size and (labels.min() < 0 or labels.max() >= scores.shape[1]):
    raise ValueError(f'labels must lie in [0, {scores.shape[1]}), got values '
                     f'{labels.min()}..{labels.max()}: scores and labels disagree on the class list')
  return scores, labels


def top_k_predictions(scores: np.ndarray, k: int) -> np.ndarray:
  """Indices of the k highest scores per row, best first (ties: lower index first)."""
  scores = np.asarray(scores)
  k = min(k, scores.shape[1])
  return np.argsort(-scores, axis=1, kind='stable')[:, :k]


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
  """Fraction of clips whose label is among the k best-scored classes.

  Returns NaN when there are no clips.
  """
  scores, labels = _check(scores, labels)
  if not labels.size:
    return float('nan')
  hits = (top_k_predictions(scores, k) == labels[:, None]).any(axis=1)
  return float(hits.mean())


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray,
                     num_classes: int) -> np.ndarray:
  """Counts ``[C, C]``: row = true class, column = predicted class."""
  labels = np.asarray(labels, dtype=np.int64)
  predictions = np.asarray(predictions, dtype=np.int64)
  cm = np.zeros((num_classes, num_classes), dtype=np.int64)
  np.add.at(cm, (labels, predictions), 1)
  return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
  """Top-1 accuracy per true class from a confusion matrix; NaN where a class has no clips."""
  cm = np.asarray(cm)
  totals = cm.sum(axis=1)
  with np.errstate(invalid='ignore', divide='ignore'):
    return np.where(totals > 0, np.diag(cm) / np.maximum(totals, 1), np.nan)


def mean_per_class_accuracy(cm: np.ndarray) -> float:
  """Mean of the per-class accuracies over the classes that have clips."""
  acc = per_class_accuracy(cm)
  return float(np.nanmean(acc)) if np.isfinite(acc).any() else float('nan')


def summary(scores: np.ndarray, labels: np.ndarray) -> dict:
  """Top-1, top-5 and mean per-class accuracy of one set of scores."""
  scores, labels = _check(scores, labels)
  cm = confusion_matrix(labels, scores.argmax(axis=1) if labels.size else labels,
                        scores.shape[1])
  return {
      'top1': top_k_accuracy(scores, labels, 1),
      'top5': top_k_accuracy(scores, labels, 5),
      'mean_class_accuracy': mean_per_class_accuracy(cm),
      'num_clips': int(labels.size),
  }


def top_confusions(cm: np.ndarray, class_names: Sequence[str], k: int = 10) -> list[dict]:
  """The k most confused (true, predicted) class pairs, as in the paper's Table 5.

  A pair's rate is the fraction of the true class's clips predicted as the
  other class; pairs are ranked by rate, then count; zero counts are left out.
  """
  cm = np.asarray(cm)
  totals = cm.sum(axis=1)
  pairs = []
  for i, j in zip(*np.nonzero(cm)):
    if i != j:
      pairs.append({'true': class_names[i], 'predicted': class_names[j],
                    'count': int(cm[i, j]), 'true_clips': int(totals[i]),
                    'rate': float(cm[i, j] / totals[i])})
  pairs.sort(key=lambda p: (-p['rate'], -p['count'], p['true'], p['predicted']))
  return pairs[:k]


def flow_gains(rgb_accuracy: np.ndarray, flow_accuracy: np.ndarray,
               class_names: Sequence[str]) -> list[dict]:
  """Per-class accuracy of flow minus RGB, largest gain first (§4.5, motion matters most).

  Classes without clips (NaN accuracy) are left out.
  """
  rows = []
  for name, rgb, flo in zip(class_names, rgb_accuracy, flow_accuracy):
    if np.isfinite(rgb) and np.isfinite(flo):
      rows.append({'class': name, 'rgb': float(rgb), 'flow': float(flo),
                   'gain': float(flo - rgb)})
  rows.sort(key=lambda r: (-r['gain'], r['class']))
  return rows


def groups_from_family(family: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
  """Turns a class -> group mapping (e.g. CLASS_FAMILY) into group -> classes."""
  groups: dict[str, list[str]] = {}
  for name, group in family.items():
    groups.setdefault(group, []).append(name)
  return {g: tuple(names) for g, names in groups.items()}


def group_accuracy(cm: np.ndarray, class_names: Sequence[str],
                   groups: Mapping[str, Sequence[str]]) -> list[dict]:
  """Accuracy per group of classes (Appendix B groups, or any mapping), best first.

  For each group: clip-level top-1 accuracy over the clips whose true class is
  in the group, mean per-class accuracy over its classes with clips, and counts.

  Raises:
    ValueError: a group names a class that is not in ``class_names``.
  """
  index = {name: i for i, name in enumerate(class_names)}
  cm = np.asarray(cm)
  acc = per_class_accuracy(cm)
  rows = []
  for group, names in groups.items():
    missing = [n for n in names if n not in index]
    if missing:
      raise ValueError(f'group {group!r} names classes not in the class list: {missing}; '
                       'pass the group mapping of the evaluated dataset')
    ids = np.array([index[n] for n in names], dtype=np.int64)
    clips = int(cm[ids].sum())
    class_acc = acc[ids]
    rows.append({
        'group': group, 'num_classes': len(ids), 'num_clips': clips,
        'accuracy': float(np.diag(cm)[ids].sum() / clips) if clips else float('nan'),
        'mean_class_accuracy': (float(np.nanmean(class_acc))
                                if np.isfinite(class_acc).any() else float('nan')),
    })
  rows.sort(key=lambda r: (-np.nan_to_num(r['accuracy'], nan=-1.0), r['group']))
  return rows
