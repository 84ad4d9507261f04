"""Charts of an evaluation (per-class accuracy like the paper's Fig. 4, flow gains, groups).

Matplotlib with the Agg backend, so the charts render on machines without a display.
"""

import math
from typing import Sequence

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402

from kinetics_tf.reports import files as files_lib  # noqa: E402

_ROWS_PER_COLUMN = 100


def per_class_chart(accuracy: np.ndarray, class_names: Sequence[str], path: str,
                    title: str) -> str:
  """Horizontal bars of per-class accuracy, sorted best first (Fig. 4).

  Classes without clips are left out. Long class lists are split into
  columns of 100 classes, as the paper lays out its 400 classes.

  Returns:
    The path written.
  """
  accuracy = np.asarray(accuracy, dtype=np.float64)
  keep = np.isfinite(accuracy)
  order = sorted(np.nonzero(keep)[0], key=lambda i: (-accuracy[i], class_names[i]))
  num_cols = max(1, math.ceil(len(order) / _ROWS_PER_COLUMN))
  rows = max(1, math.ceil(len(order) / num_cols))
  fig, axes = plt.subplots(1, num_cols, figsize=(4.0 * num_cols, 0.6 + 0.16 * rows),
                           squeeze=False)
  for col, ax in enumerate(axes[0]):
    part = order[col * rows:(col + 1) * rows]
    ax.barh(np.arange(len(part)), [accuracy[i] for i in part], color='tab:blue')
    ax.set_yticks(np.arange(len(part)))
    ax.set_yticklabels([class_names[i] for i in part], fontsize=6)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlim(0.0, 1.0)
    ax.tick_params(axis='x', labelsize=6)
    ax.set_xlabel('accuracy', fontsize=7)
  fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  with files_lib.atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=100)
  plt.close(fig)
  return path


def flow_gain_chart(gains: Sequence[dict], path: str, k: int = 20) -> str:
  """Bars of flow-minus-RGB accuracy for the k largest and k smallest gains."""
  rows = list(gains[:k])
  rows += [r for r in gains[-k:] if r not in rows]
  fig, ax = plt.subplots(figsize=(6.0, 0.6 + 0.18 * max(1, len(rows))))
  values = [r['gain'] for r in rows]
  colors = ['tab:green' if v >= 0 else 'tab:red' for v in values]
  ax.barh(np.arange(len(rows)), values, color=colors)
  ax.set_yticks(np.arange(len(rows)))
  ax.set_yticklabels([r['class'] for r in rows], fontsize=6)
  ax.set_ylim(len(rows) - 0.5, -0.5)
  ax.axvline(0.0, color='black', linewidth=0.5)
  ax.set_xlabel('flow accuracy - RGB accuracy', fontsize=7)
  ax.set_title('Classes where motion matters most', fontsize=9)
  fig.tight_layout()
  with files_lib.atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=100)
  plt.close(fig)
  return path


def group_chart(groups: Sequence[dict], path: str, title: str) -> str:
  """Bars of clip-level accuracy per group, best first."""
  rows = [g for g in groups if np.isfinite(g['accuracy'])]
  fig, ax = plt.subplots(figsize=(6.0, 0.6 + 0.2 * max(1, len(rows))))
  ax.barh(np.arange(len(rows)), [g['accuracy'] for g in rows], color='tab:purple')
  ax.set_yticks(np.arange(len(rows)))
  ax.set_yticklabels([f"{g['group']} ({g['num_classes']})" for g in rows], fontsize=7)
  ax.set_ylim(len(rows) - 0.5, -0.5)
  ax.set_xlim(0.0, 1.0)
  ax.set_xlabel('accuracy', fontsize=7)
  ax.set_title(title, fontsize=9)
  fig.tight_layout()
  with files_lib.atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=100)
  plt.close(fig)
  return path
