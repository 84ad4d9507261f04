"""Classifier bias by attribute (paper §3.5).

The paper asks whether imbalance in an attribute (gender, age, ...) leads to
"a biased performance of the action classifiers". This tool splits each
class's accuracy by a user-provided attribute column and flags classes whose
accuracy gap between attribute values exceeds a threshold, with the sample
sizes beside it (small groups give large gaps by chance).

Usage:
  python -m kinetics_tf.curation.bias --scores=EVAL_DIR/scores.npz \
      --attributes=attrs.csv --attribute=gender --out=bias.csv \
      [--gap=0.2] [--min_count=5]

attributes CSV columns: clip_id and the attribute column; clips without a
value are left out.
"""

import collections

from absl import flags

from kinetics_tf import app as cli_app
from kinetics_tf.curation import common
from kinetics_tf.curation import scores as scores_lib


def accuracy_by_attribute(s: scores_lib.Scores, attributes: dict,
                          gap: float, min_count: int) -> list[dict]:
  """Per (class, attribute value): count, correct, accuracy, gap flag.

  The gap of a class is max - min accuracy over its values with at least
  min_count clips; every row of a class carries it and 'flagged'.
  """
  counts = collections.Counter()
  correct = collections.Counter()
  predicted = s.predicted
  for i, clip in enumerate(s.ids):
    if s.labels[i] < 0 or clip not in attributes:
      continue
    key = (s.class_names[s.labels[i]], attributes[clip])
    counts[key] += 1
    correct[key] += int(predicted[i] == s.labels[i])
  rows = [dict(label=c, value=v, count=n, correct=correct[c, v],
               accuracy=correct[c, v] / n) for (c, v), n in sorted(counts.items())]
  by_class = collections.defaultdict(list)
  for r in rows:
    by_class[r['label']].append(r)
  for group in by_class.values():
    accs = [r['accuracy'] for r in group if r['count'] >= min_count]
    class_gap = max(accs) - min(accs) if len(accs) >= 2 else None
    for r in group:
      r['gap'] = class_gap
      r['flagged'] = class_gap is not None and class_gap > gap
  return rows


def main(argv):
  del argv
  f = flags.FLAGS
  s = scores_lib.load_scores(f.scores)
  rows = common.read_rows(f.attributes, ('clip_id', f.attribute))
  attributes = {r['clip_id']: r[f.attribute] for r in rows if r[f.attribute]}
  out = accuracy_by_attribute(s, attributes, f.gap, f.min_count)
  common.write_rows(f.out, out, ['label', 'value', 'count', 'correct',
                                 'accuracy', 'gap', 'flagged'])
  flagged = sorted({r['label'] for r in out if r['flagged']})
  print(f'{len(out)} (class, {f.attribute}) groups; gap > {f.gap:.0%} in '
        f'{len(flagged)} classes: {flagged or "none"} -> {f.out}')
  for r in out:
    if r['flagged']:
      print(f"  {r['label']:30s} {r['value']:12s} {r['correct']}/{r['count']}"
            f" = {r['accuracy']:.2f}")


if __name__ == '__main__':
  flags.DEFINE_string('scores', None, 'scores.npz written by the evaluator.')
  flags.DEFINE_string('attributes', None, 'CSV: clip_id,<attribute>.')
  flags.DEFINE_string('attribute', None, 'The attribute column to split by.')
  flags.DEFINE_string('out', None, 'Output CSV.')
  flags.DEFINE_float('gap', 0.2, 'Flag classes whose accuracy gap exceeds this.',
                     lower_bound=0.0, upper_bound=1.0)
  flags.DEFINE_integer('min_count', 5, 'Values with fewer clips are not compared.',
                       lower_bound=1)
  flags.mark_flags_as_required(['scores', 'attributes', 'attribute', 'out'])
  cli_app.run(main, 'bias')
