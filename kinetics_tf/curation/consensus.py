"""Labelling consensus, worker quality, class yield and annotation tasks (paper §3.3).

Rules, with the paper's numbers as defaults (kinetics_tf.constants):
- a clip is accepted with at least 3 "yes" responses;
- each clip is annotated at most 5 times, and annotation stops as soon as
  one response has more than 2 votes ("if 3 out of 3 workers had said it did
  not contain an example of the action we would immediately remove it");
- a task is 20 videos, "each with a different class where possible", in a
  random order; "two of the video slots were used by us to inject
  groundtruth clips" (gold), so a task holds 18 clips to label and 2 gold;
- "if a worker fell below a 50% success rating on these [gold clips], we
  showed them a 'low accuracy' warning screen": a warning is raised each
  time a worker's running success on gold drops under 50%;
- a class's accuracy (yield) is measured once 20 of its clips are annotated
  and classes under a threshold (typically 50%) are dropped.

Usage:
  python -m kinetics_tf.curation.consensus --records=annotations.csv \
      --out_dir=DIR [--gold=gold.csv] [--num_tasks=0] [--yield_threshold=0.5] \
      [--seed=0]

records CSV columns: clip_id, label, worker_id, response (yes / no / unsure /
broken), is_gold (0/1), gold_answer (for gold clips). Rows are in the order
the annotations arrived. The gold clips injected into the next tasks are
those of --gold (columns clip_id, label, gold_answer), else the records'
gold clips. Writes clips.csv, workers.csv, warnings.csv, classes.json,
tasks.csv (task, slot, clip_id, label, is_gold, gold_answer: the next tasks)
and next_batch.csv (their clips to label, one row each) to DIR.
"""

import collections
import dataclasses
import random

from absl import app
from absl import flags

from kinetics_tf import app as cli_app
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


def _running_gold(rows, path):
  """Yields (row, worker_id, gold answered, gold correct) at each gold answer,
  the counts being that worker's running totals."""
  answered = collections.Counter()
  correct = collections.Counter()
  for row in rows:
    if not _is_gold(row):
      continue
    worker = row['worker_id']
    answered[worker] += 1
    correct[worker] += (_check_response(row, path)
                        == _check_response(row, path, 'gold_answer'))
    yield row, worker, answered[worker], correct[worker]


def gold_warnings(rows, path='records',
                  min_accuracy=constants.WORKER_MIN_ACCURACY) -> list[dict]:
  """The 'low accuracy' warnings of §3.3, in the order the answers arrived.

  A worker is warned at the gold answer that takes their running success on
  gold clips under ``min_accuracy`` (50%), and again after each recovery to
  at least 50% followed by a new fall.

  Returns:
    One dict per warning: worker_id, line (of the records file), clip_id,
    gold_answered, gold_correct, accuracy (all at that answer).
  """
  below = set()
  warnings = []
  for row, worker, answered, correct in _running_gold(rows, path):
    accuracy = correct / answered
    if accuracy < min_accuracy and worker not in below:
      below.add(worker)
      warnings.append(dict(worker_id=worker, line=row['_line'], clip_id=row['clip_id'],
                           gold_answered=answered, gold_correct=correct,
                           accuracy=accuracy))
    elif accuracy >= min_accuracy:
      below.discard(worker)
  return warnings


def worker_accuracy(rows, path='records',
                    min_accuracy=constants.WORKER_MIN_ACCURACY) -> list[dict]:
  """Each worker's accuracy on gold clips; 'warn' when under min_accuracy now.

  'warnings' counts the times the worker fell under it (``gold_warnings``).
  """
  answered, correct = {}, {}
  for _, worker, n, k in _running_gold(rows, path):
    answered[worker], correct[worker] = n, k  # the last answer's totals
  warned = collections.Counter(
      w['worker_id'] for w in gold_warnings(rows, path, min_accuracy))
  return [dict(worker_id=w, gold_answered=n, gold_correct=correct[w],
               accuracy=correct[w] / n, warn=correct[w] / n < min_accuracy,
               warnings=warned[w])
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


def _pending_by_class(decisions, dropped, max_annotations, rng) -> dict:
  """{label: shuffled pending clips} that may still be sent (< max answers)."""
  pool = collections.defaultdict(list)
  for d in decisions:
    if (d.status == 'pending' and d.annotations < max_annotations
        and d.label not in dropped):
      pool[d.label].append(d)
  for clips in pool.values():
    rng.shuffle(clips)
  return pool


def next_batch(decisions, batch_size, seed=0, dropped=(),
               max_annotations=constants.MAX_ANNOTATIONS) -> list[ClipDecision]:
  """Pending clips to send next, one per class first, never past 5 annotations.

  Classes in `dropped` are not sent. The paper's task mixes classes ("each with
  a different class where possible"), so the batch takes one clip of each
  class in random order before taking a second of any.
  """
  rng = random.Random(seed)
  pool = _pending_by_class(decisions, dropped, max_annotations, rng)
  batch = []
  while pool and len(batch) < batch_size:
    labels = list(pool)
    rng.shuffle(labels)
    for label in labels[:batch_size - len(batch)]:
      batch.append(pool[label].pop())
      if not pool[label]:
        del pool[label]
  return batch


@dataclasses.dataclass
class GoldClip:
  """A groundtruth clip: its class and the response a worker should give."""
  clip_id: str
  label: str
  gold_answer: str


@dataclasses.dataclass
class Slot:
  """One video slot of an annotation task."""
  task: int
  slot: int
  clip_id: str
  label: str
  is_gold: bool
  gold_answer: str = ''


SLOT_FIELDS = [f.name for f in dataclasses.fields(Slot)]


def gold_clips(rows, path='records', answer_column='gold_answer') -> list[GoldClip]:
  """The distinct gold clips of records (rows with is_gold) or of a gold CSV.

  Rows without an is_gold column (a gold CSV) all count as gold.

  Raises:
    CurationInputError: a gold clip with two labels or two answers.
  """
  found = {}
  for row in rows:
    if 'is_gold' in row and not _is_gold(row):
      continue
    clip = GoldClip(row['clip_id'], row['label'],
                    _check_response(row, path, answer_column))
    first = found.setdefault(clip.clip_id, clip)
    if first != clip:
      raise common.CurationInputError(
          f'{path}:{row["_line"]}: gold clip {clip.clip_id!r} is ({clip.label!r}, '
          f'{clip.gold_answer!r}) but earlier rows say ({first.label!r}, '
          f'{first.gold_answer!r})')
  return list(found.values())


def assemble_tasks(decisions, gold, *, num_tasks=None,
                   task_size=constants.TASK_SIZE,
                   gold_per_task=constants.GOLD_PER_TASK, seed=0, dropped=(),
                   max_annotations=constants.MAX_ANNOTATIONS) -> list[list[Slot]]:
  """The next annotation tasks (§3.3): 20 slots, 2 of them gold, classes mixed.

  Each task takes ``task_size - gold_per_task`` pending clips (18), one per
  class before a second of any class ("each with a different class where
  possible"; the classes with the most clips left go first, so that later
  tasks can mix classes too), and ``gold_per_task`` distinct gold
  clips, of classes not already in the task where possible; the slots are
  then shuffled ("we randomised all the videos and classes").  A pending
  clip goes into one task at most (its answers come back before it is sent
  again) and never past ``max_annotations``; classes in ``dropped`` are not
  sent.

  Args:
    decisions: ``decide_all`` output.
    gold: GoldClip list (``gold_clips``).
    num_tasks: tasks to assemble; None: as many as the pending clips fill
      (the last one may hold fewer clips, still with its gold slots).

  Returns:
    One list of Slots per task, in slot order.

  Raises:
    ValueError: task_size <= gold_per_task, or fewer distinct gold clips
      than gold slots.
  """
  per_task = task_size - gold_per_task
  if per_task < 1 or gold_per_task < 0:
    raise ValueError(f'task_size={task_size} with gold_per_task={gold_per_task} leaves '
                     'no slot to label')
  if len(gold) < gold_per_task:
    raise common.CurationInputError(
        f'{len(gold)} gold clip(s) for {gold_per_task} gold slots per task; give at '
        'least that many groundtruth clips (is_gold rows of the records, or --gold)')
  rng = random.Random(seed)
  pool = _pending_by_class(decisions, dropped, max_annotations, rng)
  if num_tasks is None:
    num_tasks = -(-sum(map(len, pool.values())) // per_task)
  tasks = []
  for number in range(num_tasks):
    if not pool:
      break
    clips = _take_mixed(pool, per_task, rng)
    classes = {d.label for d in clips}
    fresh = [g for g in gold if g.label not in classes]
    reused = [g for g in gold if g.label in classes]
    rng.shuffle(fresh)
    rng.shuffle(reused)
    picked = []
    for g in fresh + reused:  # a new class first, one gold clip per class first
      if len(picked) < gold_per_task and g.label not in {p.label for p in picked}:
        picked.append(g)
    for g in fresh + reused:
      if len(picked) < gold_per_task and g not in picked:
        picked.append(g)
    slots = ([(d.clip_id, d.label, False, '') for d in clips]
             + [(g.clip_id, g.label, True, g.gold_answer) for g in picked])
    rng.shuffle(slots)
    tasks.append([Slot(number, i, *s) for i, s in enumerate(slots)])
  return tasks


def _take_mixed(pool, count, rng) -> list[ClipDecision]:
  """Takes up to ``count`` clips from ``pool`` (label -> clips), one per class
  before a second of any, the classes with the most clips left first (ties in
  random order), so that the tasks after this one can mix classes too."""
  taken = []
  while pool and len(taken) < count:
    ties = {label: rng.random() for label in pool}
    labels = sorted(pool, key=lambda label: (-len(pool[label]), ties[label]))
    for label in labels[:count - len(taken)]:
      taken.append(pool[label].pop())
      if not pool[label]:
        del pool[label]
  return taken


def run(records, out_dir, yield_threshold, seed=0, *, gold=None, num_tasks=None,
        task_size=constants.TASK_SIZE,
        gold_per_task=constants.GOLD_PER_TASK) -> dict:
  """Writes clips, workers, warnings, classes, tasks and next_batch; returns counts."""
  rows = common.read_rows(
      records, ('clip_id', 'label', 'worker_id', 'response', 'is_gold',
                'gold_answer'))
  decisions = decide_all(rows, records)
  workers = worker_accuracy(rows, records)
  warnings = gold_warnings(rows, records)
  classes = class_yield(decisions, threshold=yield_threshold)
  dropped = {c for c, v in classes.items() if v['verdict'] == 'drop'}
  if gold:
    gold_list = gold_clips(common.read_rows(gold, ('clip_id', 'label', 'gold_answer')), gold)
  else:
    gold_list = gold_clips(rows, records)
  tasks = assemble_tasks(decisions, gold_list, num_tasks=num_tasks, task_size=task_size,
                         gold_per_task=gold_per_task, seed=seed, dropped=dropped)
  by_id = {d.clip_id: d for d in decisions}
  batch = [by_id[s.clip_id] for task in tasks for s in task if not s.is_gold]
  fields = [f.name for f in dataclasses.fields(ClipDecision)]
  common.write_rows(f'{out_dir}/clips.csv',
                    (dataclasses.asdict(d) for d in decisions), fields)
  common.write_rows(f'{out_dir}/workers.csv', workers,
                    ['worker_id', 'gold_answered', 'gold_correct', 'accuracy',
                     'warn', 'warnings'])
  common.write_rows(f'{out_dir}/warnings.csv', warnings,
                    ['worker_id', 'line', 'clip_id', 'gold_answered', 'gold_correct',
                     'accuracy'])
  common.write_json(f'{out_dir}/classes.json', classes)
  common.write_rows(f'{out_dir}/tasks.csv',
                    (dataclasses.asdict(s) for task in tasks for s in task), SLOT_FIELDS)
  common.write_rows(f'{out_dir}/next_batch.csv',
                    (dataclasses.asdict(d) for d in batch), fields)
  status = collections.Counter(d.status for d in decisions)
  return dict(status, workers_warned=sum(w['warn'] for w in workers),
              warned=[(w['worker_id'], w['gold_correct'], w['gold_answered'])
                      for w in workers if w['warn']],
              classes_dropped=sorted(dropped), next_batch=len(batch),
              tasks=len(tasks))


def main(argv):
  del argv
  f = flags.FLAGS
  try:
    summary = run(f.records, f.out_dir, f.yield_threshold, f.seed, gold=f.gold,
                  num_tasks=f.num_tasks or None, task_size=f.task_size,
                  gold_per_task=f.gold_per_task)
  except ValueError as e:  # a malformed file (CurationInputError) or bad flags
    raise app.UsageError(str(e)) from e
  for worker, right, answered in summary['warned']:
    print(f'low accuracy: worker {worker} is at {right}/{answered} on gold clips '
          f'(under {constants.WORKER_MIN_ACCURACY:.0%}): show the warning screen')
  print(f"clips: {summary.get('accepted', 0)} accepted, "
        f"{summary.get('rejected', 0)} rejected, "
        f"{summary.get('pending', 0)} pending; "
        f"{summary['workers_warned']} workers under "
        f"{constants.WORKER_MIN_ACCURACY:.0%} on gold; classes to drop: "
        f"{summary['classes_dropped'] or 'none'}; next {summary['tasks']} task(s) of "
        f"{f.task_size} slots ({f.gold_per_task} gold): {summary['next_batch']} clips "
        f"-> {f.out_dir}")


if __name__ == '__main__':
  flags.DEFINE_string('records', None, 'Annotation records CSV.')
  flags.DEFINE_string('out_dir', None, 'Folder for the outputs.')
  flags.DEFINE_string('gold', None, 'Gold clips CSV (clip_id, label, gold_answer) to '
                      "inject; default: the records' gold clips.")
  flags.DEFINE_integer('num_tasks', 0, 'Tasks to assemble (0: as many as the '
                       'pending clips fill).', lower_bound=0)
  flags.DEFINE_integer('task_size', constants.TASK_SIZE,
                       'Video slots per task (paper: 20).', lower_bound=1)
  flags.DEFINE_integer('gold_per_task', constants.GOLD_PER_TASK,
                       'Slots per task holding a gold clip (paper: 2).',
                       lower_bound=0)
  flags.DEFINE_float('yield_threshold', constants.CLASS_YIELD_THRESHOLD,
                     'Drop classes whose yield after 20 clips is below this.',
                     lower_bound=0.0, upper_bound=1.0)
  flags.DEFINE_integer('seed', 0, 'Seed of the task assembly.', lower_bound=0)
  flags.mark_flags_as_required(['records', 'out_dir'])
  cli_app.run(main, 'consensus')
