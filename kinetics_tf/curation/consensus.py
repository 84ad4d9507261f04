"""Labelling consensus, worker quality and class yield (paper §3.3).

Rules, with the paper's numbers as defaults (kinetics_tf.constants):
- a clip is accepted with at least 3 "yes" responses;
- each clip is annotated at most 5 times, and annotation stops as soon as
  one response has more than 2 votes ("if 3 out of 3 workers had said it did
  not contain an example of the action we would immediately remove it");
- 2 of the 20 clips of a task are gold; a worker under 50% on them is warned;
- a class's accuracy (yield) is measured once 20 of its clips are annotated
  and classes under a threshold (typically 50%) are dropped.

Usage:
  python -m kinetics_tf.curation.consensus --records=annotations.csv \
      --out_dir=DIR [--batch_size=18] [--yield_threshold=0.5] [--seed=0]

records CSV columns: clip_id, label, worker_id, response (yes / no / unsure /
broken), is_gold (0/1), gold_answer (for gold clips). Rows are in the order
the annotations arrived. Writes clips.csv, workers.csv, classes.json and
next_batch.csv to DIR.
"""

import collections
import dataclasses
import random

from absl import app
from absl import flags

from kinetics_tf import constants
from kinetics_tf.curation import common

RESPONSES = ('yes', 'no', 'unsure', 'broken')


@dataclasses.dataclass
class ClipDecision:
  clip_id: str
  label: str
  status: str            # 'accepted', 'rejected' or 'pending'
  annotations: int       # responses counted (ignored extras excluded)
  yes: int
  no: int
  unsure: int
  broken: int
  ignored: int = 0       # responses after the clip was already decided


def decide_clip(clip_id, label, responses,
                min_yes=constants.CONSENSUS_MIN_YES,
                stop_votes=constants.CONSENSUS_STOP_VOTES,
                max_annotations=constants.MAX_ANNOTATIONS) -> ClipDecision:
  """Applies the stopping and acceptance rules to one clip's responses."""
  counts = collections.Counter()
  used = 0
  for response in responses:
    if used == max_annotations or max(counts.values(), default=0) > stop_votes:
      break
    counts[response] += 1
    used += 1
  stopped = (used == max_annotations
             or max(counts.values(), default=0) > stop_votes)
  if counts['yes'] >= min_yes:
    status = 'accepted'
  elif stopped:
    status = 'rejected'
  else:
    status = 'pending'
  return ClipDecision(clip_id, label, status, used, counts['yes'],
                      counts['no'], counts['unsure'], counts['broken'],
                      ignored=len(responses) - used)


def _check_response(row, path, column='response'):
  value = row[column].strip().lower()
  if value not in RESPONSES:
    raise common.CurationInputError(
        f'{path}:{row["_line"]}: {column} {row[column]!r} is not one of '
        f'{RESPONSES}')
  return value


def _is_gold(row):
  return row['is_gold'].strip().lower() in ('1', 'true', 'yes')


def decide_all(rows, path='records') -> list[ClipDecision]:
  """Decides every non-gold clip of the annotation records, in file order."""
  responses = collections.defaultdict(list)
  labels = {}
  for row in rows:
    if _is_gold(row):
      continue
    clip = row['clip_id']
    if labels.setdefault(clip, row['label']) != row['label']:
      raise common.CurationInputError(
          f'{path}:{row["_line"]}: clip {clip!r} has label {row["label"]!r} '
          f'but earlier rows say {labels[clip]!r}')
    responses[clip].append(_check_response(row, path))
  return [decide_clip(c, labels[c], r) for c, r in responses.items()]


def worker_accuracy(rows, path='records',
                    min_accuracy=constants.WORKER_MIN_ACCURACY) -> list[dict]:
  """Each worker's accuracy on gold clips; 'warn' when under min_accuracy."""
  answered = collections.Counter()
  correct = collections.Counter()
  for row in rows:
    if not _is_gold(row):
      continue
    worker = row['worker_id']
    answered[worker] += 1
    correct[worker] += (_check_response(row, path)
                        == _check_response(row, path, 'gold_answer'))
  return [dict(worker_id=w, gold_answered=n, gold_correct=correct[w],
               accuracy=correct[w] / n, warn=correct[w] / n < min_accuracy)
          for w, n in sorted(answered.items())]


def class_yield(decisions, min_clips=constants.CLASS_YIELD_MIN_CLIPS,
                threshold=constants.CLASS_YIELD_THRESHOLD) -> dict:
  """Per class: decided and accepted clips, yield, and 'keep'/'drop'/'wait'.

  The yield is only judged once min_clips clips of the class are decided.
  """
  decided = collections.Counter()
  accepted = collections.Counter()
  for d in decisions:
    if d.status != 'pending':
      decided[d.label] += 1
      accepted[d.label] += d.status == 'accepted'
  out = {}
  for label in sorted({d.label for d in decisions}):
    n = decided[label]
    y = accepted[label] / n if n else None
    verdict = 'wait' if n < min_clips else ('drop' if y < threshold else 'keep')
    out[label] = {'decided': n, 'accepted': accepted[label], 'yield': y,
                  'verdict': verdict}
  return out


def next_batch(decisions, batch_size, seed=0, dropped=(),
               max_annotations=constants.MAX_ANNOTATIONS) -> list[ClipDecision]:
  """Pending clips to send next, one per class first, never past 5 annotations.

  Classes in `dropped` are not sent. The paper's task mixes classes ("each with
  a different class where possible"), so the batch takes one clip of each
  class in random order before taking a second of any.
  """
  rng = random.Random(seed)
  pool = collections.defaultdict(list)
  for d in decisions:
    if (d.status == 'pending' and d.annotations < max_annotations
        and d.label not in dropped):
      pool[d.label].append(d)
  for clips in pool.values():
    rng.shuffle(clips)
  batch = []
  while pool and len(batch) < batch_size:
    labels = list(pool)
    rng.shuffle(labels)
    for label in labels[:batch_size - len(batch)]:
      batch.append(pool[label].pop())
      if not pool[label]:
        del pool[label]
  return batch


def run(records, out_dir, batch_size, yield_threshold, seed=0) -> dict:
  """Writes clips.csv, workers.csv, classes.json, next_batch.csv; returns counts."""
  rows = common.read_rows(
      records, ('clip_id', 'label', 'worker_id', 'response', 'is_gold',
                'gold_answer'))
  decisions = decide_all(rows, records)
  workers = worker_accuracy(rows, records)
  classes = class_yield(decisions, threshold=yield_threshold)
  dropped = {c for c, v in classes.items() if v['verdict'] == 'drop'}
  batch = next_batch(decisions, batch_size, seed=seed, dropped=dropped)
  fields = [f.name for f in dataclasses.fields(ClipDecision)]
  common.write_rows(f'{out_dir}/clips.csv',
                    (dataclasses.asdict(d) for d in decisions), fields)
  common.write_rows(f'{out_dir}/workers.csv', workers,
                    ['worker_id', 'gold_answered', 'gold_correct', 'accuracy',
                     'warn'])
  common.write_json(f'{out_dir}/classes.json', classes)
  common.write_rows(f'{out_dir}/next_batch.csv',
                    (dataclasses.asdict(d) for d in batch), fields)
  status = collections.Counter(d.status for d in decisions)
  return dict(status, workers_warned=sum(w['warn'] for w in workers),
              classes_dropped=sorted(dropped), next_batch=len(batch))


def main(argv):
  del argv
  f = flags.FLAGS
  summary = run(f.records, f.out_dir, f.batch_size, f.yield_threshold, f.seed)
  print(f"clips: {summary.get('accepted', 0)} accepted, "
        f"{summary.get('rejected', 0)} rejected, "
        f"{summary.get('pending', 0)} pending; "
        f"{summary['workers_warned']} workers under "
        f"{constants.WORKER_MIN_ACCURACY:.0%} on gold; classes to drop: "
        f"{summary['classes_dropped'] or 'none'}; next batch "
        f"{summary['next_batch']} clips -> {f.out_dir}")


if __name__ == '__main__':
  flags.DEFINE_string('records', None, 'Annotation records CSV.')
  flags.DEFINE_string('out_dir', None, 'Folder for the outputs.')
  flags.DEFINE_integer('batch_size',
                       constants.TASK_SIZE - constants.GOLD_PER_TASK,
                       'Clips per next task (paper: 20 slots, 2 gold).')
  flags.DEFINE_float('yield_threshold', constants.CLASS_YIELD_THRESHOLD,
                     'Drop classes whose yield after 20 clips is below this.')
  flags.DEFINE_integer('seed', 0, 'Seed for the next batch.')
  flags.mark_flags_as_required(['records', 'out_dir'])
  app.run(main)
