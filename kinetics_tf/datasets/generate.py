"""Local, streaming generation of clip examples, and the build report with its summary.

``local_examples`` runs ``clips.build`` over jobs in this process or in a
few worker processes (``flow.prepare_run.unordered``: completion order, one
clip in flight per worker, so memory does not grow with the number of
clips, and workers recycled), yields examples as they are built and
writes every skipped clip to a report part file as it goes.  ``finish_report`` merges the
parts of all splits into ``build_report.csv`` in the dataset folder, writes
``build_summary.json`` and returns the closing summary line.
"""

import collections
import csv
import functools
import json
import logging
import os
from typing import Iterable, Iterator, Optional, Sequence

from etils import epath
import tqdm

import flow
from flow import prepare_run
from kinetics_tf.datasets import clips

REPORT = 'build_report.csv'
SUMMARY = 'build_summary.json'
REPORT_COLUMNS = ('split', 'clip_id', 'status', 'reason')
_PART = 'build_report.{split}.part.csv'


def part_path(data_dir, split: str) -> epath.Path:
  """Where a split's skipped clips are written during the build."""
  return epath.Path(data_dir) / _PART.format(split=split)


def write_rows(path, skips: Iterable[clips.Skip]) -> int:
  """Writes skip records to a report part file; returns how many."""
  n = 0
  with epath.Path(path).open('w') as f:
    writer = csv.writer(f)
    for skip in skips:
      writer.writerow((skip.split, skip.key, skip.kind, skip.reason))
      n += 1
  return n


def _backend(opts: clips.Options) -> str:
  """The TV-L1 backend workers run ('opencv' when no flow: no TensorFlow)."""
  if not opts.with_flow:
    return 'opencv'
  return flow.choose_backend(opts.flow_backend, **dict(opts.tvl1_params))


def local_examples(jobs: Sequence[clips.Job], source, opts: clips.Options,
                   report_path, num_workers: int = 1,
                   desc: str = 'clips') -> Iterator[tuple]:
  """Yields (key, example) for each built clip; skips go to `report_path`.

  Args:
    jobs: the clips of one split.
    source: a picklable object with ``frames(job, opts)`` (FileSource, ...).
    opts: clips.Options.
    report_path: the split's report part file (written as skips come).
    num_workers: processes building clips (1 = this process).
    desc: progress bar label.
  """
  fn = functools.partial(clips.build, source=source, opts=opts)
  counts = collections.Counter()
  results = prepare_run.unordered(fn, jobs, num_workers,
                                  prepare_run.init_worker,
                                  (1, _backend(opts)))
  with epath.Path(report_path).open('w') as f:
    writer = csv.writer(f)
    bar = tqdm.tqdm(total=len(jobs), desc=desc, unit=' clips', leave=False)
    for result in results:
      bar.update()
      if isinstance(result, clips.Skip):
        writer.writerow((result.split, result.key, result.kind, result.reason))
        f.flush()
        counts[result.kind] += 1
        bar.set_postfix(counts, refresh=False)
        logging.info('skipped %s (%s): %s', result.key, result.kind,
                     result.reason)
        continue
      counts['built'] += 1
      yield from result
    bar.close()
  if not counts['built'] and jobs:
    # TFDS cannot write an empty split; say why instead of its bare assert.
    raise RuntimeError(
        f'every clip of split {jobs[0].split!r} was skipped '
        f'({dict(counts)}); the reasons are in {report_path}. Check the '
        'video files (or leave this split\'s CSV out) and build again.')


def finish_report(data_dir, built: dict, name: str = '',
                  num_clips: Optional[dict] = None) -> str:
  """Merges the split report parts, writes the summary files, returns its line.

  Args:
    data_dir: the dataset folder (holds the part files).
    built: split -> number of examples written.
    name: dataset name for the summary line.
    num_clips: split -> clips attempted (built or skipped), where a clip may
      be several examples (``StorageConfig.train_record_stride``): the
      built clips are then those not skipped, and the summary also gives
      the examples as 'records'.

  Returns:
    One line: built / missing / corrupt (/ too short / failed) per split.
  """
  data_dir = epath.Path(data_dir)
  rows = []
  for part in sorted(data_dir.glob(_PART.format(split='*'))):
    with part.open() as f:
      rows.extend(tuple(r) for r in csv.reader(f) if r)
    part.unlink()
  skipped = collections.Counter(split for split, *_ in rows)
  counts = {}
  for s, n in built.items():
    clips_built = n
    if num_clips and s in num_clips:
      clips_built = num_clips[s] - skipped[s]
    counts[s] = collections.Counter(built=clips_built)
    if clips_built != n:
      counts[s]['records'] = n
  for split, _, kind, _ in rows:
    counts.setdefault(split, collections.Counter(built=0))[kind] += 1
  with (data_dir / REPORT).open('w') as f:
    writer = csv.writer(f)
    writer.writerow(REPORT_COLUMNS)
    writer.writerows(sorted(rows))
  summary = {s: {k: c[k] for k in ('built',) + clips.SKIP_KINDS +
                 (('records',) if 'records' in c else ())}
             for s, c in counts.items()}
  (data_dir / SUMMARY).write_text(json.dumps(summary, indent=2))
  return summary_line(summary, name)


def summary_line(summary: dict, name: str = '') -> str:
  """'NAME: train 9 built, 1 missing, 1 corrupt; test ...' (zeros of the
  rarer kinds left out)."""
  parts = []
  for split, c in summary.items():
    kinds = [f"{c['built']} built", f"{c[clips.MISSING]} missing",
             f"{c[clips.CORRUPT]} corrupt"]
    kinds += [f'{c[k]} {k.replace("_", " ")}'
              for k in (clips.TOO_SHORT, clips.FAILED, clips.BAD_ROW)
              if c.get(k)]
    if 'records' in c:
      kinds[0] += f' ({c["records"]} records)'
    parts.append(f'{split} ' + ', '.join(kinds))
  prefix = f'{name}: ' if name else ''
  return prefix + '; '.join(parts) + f' (skipped clips: {REPORT})'


def read_report(data_dir) -> list[dict]:
  """The rows of a built dataset's ``build_report.csv`` as dicts."""
  path = epath.Path(data_dir) / REPORT
  with path.open() as f:
    return list(csv.DictReader(f))


def cpu_count() -> int:
  return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (
      os.cpu_count() or 1)
