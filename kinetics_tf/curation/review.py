"""Noisy classes and final filtering (paper §3.4).

"This allowed us to find the top confusions for each class" and "the class
scores from the two-stream model ... allowed sorting the examples from most
confident to least confident ... noisy examples were often among the lowest
ranked". From an evaluation's per-clip scores this writes, for review:
- confusions.csv: each class's top confusions (true class -> predicted);
- ranking.csv: each class's clips from least to most confident.

Usage:
  python -m kinetics_tf.curation.review --scores=EVAL_DIR/scores.npz \
      --out_dir=DIR [--top=5]
"""

import collections

from absl import flags
import numpy as np

from kinetics_tf import app as cli_app
from kinetics_tf.curation import common
from kinetics_tf.curation import scores as scores_lib


def top_confusions(s: scores_lib.Scores, top: int) -> list[dict]:
  """Per true class, the `top` most frequent wrong predictions."""
  out = []
  predicted = s.predicted
  for c in np.unique(s.labels[s.labels >= 0]):
    mask = s.labels == c
    wrong = collections.Counter(predicted[mask & (predicted != c)].tolist())
    for rank, (p, n) in enumerate(wrong.most_common(top), start=1):
      out.append(dict(label=s.class_names[c], confused_with=s.class_names[p],
                      rank=rank, count=n, clips=int(mask.sum()),
                      fraction=n / mask.sum()))
  return out


def confidence_ranking(s: scores_lib.Scores) -> list[dict]:
  """Each labelled clip with its true-class score, least confident first."""
  out = []
  predicted = s.predicted
  for c in np.unique(s.labels[s.labels >= 0]):
    idx = np.flatnonzero(s.labels == c)
    idx = idx[np.argsort(s.scores[idx, c], kind='stable')]
    for rank, i in enumerate(idx, start=1):
      out.append(dict(label=s.class_names[c], rank=rank, clip_id=s.ids[i],
                      score=float(s.scores[i, c]),
                      predicted=s.class_names[predicted[i]]))
  return out


def main(argv):
  del argv
  f = flags.FLAGS
  s = scores_lib.load_scores(f.scores)
  confusions = top_confusions(s, f.top)
  ranking = confidence_ranking(s)
  common.write_rows(f'{f.out_dir}/confusions.csv', confusions,
                    ['label', 'rank', 'confused_with', 'count', 'clips',
                     'fraction'])
  common.write_rows(f'{f.out_dir}/ranking.csv', ranking,
                    ['label', 'rank', 'clip_id', 'score', 'predicted'])
  print(f'{len(ranking)} clips ranked over {len(set(r["label"] for r in ranking))} '
        f'classes; {len(confusions)} confusions -> {f.out_dir}')


if __name__ == '__main__':
  flags.DEFINE_string('scores', None, 'scores.npz written by the evaluator.')
  flags.DEFINE_string('out_dir', None, 'Folder for the outputs.')
  flags.DEFINE_integer('top', 5, 'Confusions listed per class.', lower_bound=1)
  flags.mark_flags_as_required(['scores', 'out_dir'])
  cli_app.run(main, 'review')
