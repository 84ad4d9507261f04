"""Many clips through the preparation stage on one machine's cores, with bounded memory.

``unordered`` is the worker pool of the stage and of the dataset builders'
local builds: spawned processes (``concurrent.futures``), results in
completion order so one slow clip never idles the other cores, one clip in
flight per worker so memory does not grow with the number of clips, and
each worker replaced after ``MAX_TASKS_PER_CHILD`` clips, so what a worker
keeps per frame shape (the TF TV-L1's compiled programs, decoder buffers)
is freed.  One clip per worker also keeps clear of a deadlock of Python
3.11-3.13's ProcessPoolExecutor, which stops replacing recycled workers when
tasks wait in its queue (python/cpython#115634; a test covers it).  Each worker pins OpenCV's threads (and TensorFlow's,
importing it only when the TF TV-L1 runs there).

``run`` prepares clips into a folder of ``flow.prepare``: finished clips and
recorded failures are counted without a worker, the rest go to the pool;
it shows done/total, rate and ETA and ends with ``summary``'s line.
Temporary files of killed runs on this host are removed at start.
"""

import collections
import concurrent.futures as futures
import functools
import multiprocessing
import time
from typing import Callable, Iterable, Iterator, Optional, Sequence

import tqdm

from flow import outputs
from flow import prepare
from flow import storage
from flow.backends import pin_threads

# Clips a worker process prepares before it is replaced by a fresh one.
MAX_TASKS_PER_CHILD = 16


def init_worker(threads: int, backend: str) -> None:
  """Pins a worker's OpenCV threads, and TensorFlow's when the TF TV-L1
  runs in it (TensorFlow is imported only then)."""
  pin_threads(threads, tensorflow=backend == 'tf')


def unordered(fn: Callable, items: Iterable, workers: int,
              initializer: Optional[Callable] = None, initargs: tuple = (),
              max_tasks: int = MAX_TASKS_PER_CHILD) -> Iterator:
  """Yields ``fn(item)`` for every item, in completion order.

  ``workers`` <= 1 runs in this process (in order).  Otherwise at most
  ``workers`` items are submitted at once (none waits in the executor's
  queue: see the module docstring), to spawned processes replaced after
  ``max_tasks`` items each.  Closing the generator cancels what has not
  started.
  """
  if workers <= 1:
    if initializer is not None:
      initializer(*initargs)
    yield from map(fn, items)
    return
  pool = futures.ProcessPoolExecutor(
      workers, mp_context=multiprocessing.get_context('spawn'),
      initializer=initializer, initargs=initargs,
      max_tasks_per_child=max_tasks)
  items, pending = iter(items), set()
  try:
    for item in items:
      pending.add(pool.submit(fn, item))
      if len(pending) < workers:
        continue
      done, pending = futures.wait(pending,
                                   return_when=futures.FIRST_COMPLETED)
      for f in done:
        yield f.result()
    for f in futures.as_completed(pending):
      yield f.result()
  finally:
    pool.shutdown(wait=True, cancel_futures=True)


def summary(counts: collections.Counter, seconds: float) -> str:
  """'prepare: N clips: a prepared (b with TV-L1), c reused, ... in S s'."""
  done = counts[prepare.PREPARED]
  kinds = [f'{counts[prepare.REUSED]} reused'] + [
      f'{counts[k]} {k.replace("_", " ")}' for k in (
          prepare.MISSING, prepare.CORRUPT, prepare.TOO_SHORT,
          prepare.FAILED)]
  total = sum(counts[k] for k in (prepare.PREPARED, prepare.REUSED,
                                  prepare.MISSING, prepare.CORRUPT,
                                  prepare.TOO_SHORT, prepare.FAILED))
  return (f'prepare: {total} clips: {done} prepared ({counts["tvl1"]} with '
          f'TV-L1, {done / max(seconds, 1e-9):.2f} clips/s), '
          + ', '.join(kinds) + f' in {seconds:.0f} s')


def known_result(clip: prepare.Clip, folder, with_flow: bool,
           retry_failed: bool):
  """The Result of a clip that needs no worker (finished or recorded), or
  None; with ``retry_failed`` a recorded FAILED (an error that was not the
  video's: corrupt and too short stay) is forgotten and tried again."""
  if prepare.find(folder, clip.key, with_flow) is not None:
    return prepare.Result(clip.key, prepare.REUSED)
  recorded = prepare.read_skip(folder, clip.key)
  if recorded is not None and retry_failed and (
      recorded.status == prepare.FAILED):
    storage.remove(prepare.skip_file(folder, clip.key))
    return None
  return recorded


def sort_out(clips: Sequence[prepare.Clip], root, params: prepare.Params,
             with_flow: bool, retry_failed: bool, log: Callable) -> tuple:
  """The start of a run: (its folder, the counts of the clips that need no
  work, the clips that do).  Makes the folder and its manifest, and removes
  the temporary files of killed runs on this host."""
  folder = prepare.folder_for(root, params)
  prepare.write_manifest(folder, params)
  if not storage.is_remote(folder):
    stale = outputs.remove_stale_tmps(folder)
    if stale:
      log(f'prepare: removed {stale} unfinished file(s) of killed runs')
  counts, todo = collections.Counter(), []
  for clip in clips:
    known = known_result(clip, folder, with_flow, retry_failed)
    if known is None:
      todo.append(clip)
    else:
      counts[known.status] += 1
  return folder, counts, todo


def run(clips: Sequence[prepare.Clip], root, params: prepare.Params,
        with_flow: bool, workers: int = 1, threads: int = 1,
        progress: bool = True, log: Callable = print,
        retry_failed: bool = False) -> collections.Counter:
  """Prepares ``clips`` into ``folder_for(root, params)``; returns the counts.

  Counts: one per status (prepare.PREPARED, REUSED and the skip kinds) and
  'tvl1' (clips whose TV-L1 ran).  ``log`` gets the closing summary line
  (failures of this run are printed as they come).  ``retry_failed``: try
  again the clips recorded as FAILED.
  """
  folder, counts, todo = sort_out(clips, root, params, with_flow,
                                  retry_failed, log)
  start = time.perf_counter()
  fn = functools.partial(prepare.prepare_clip, folder=folder, params=params,
                         with_flow=with_flow, threads=threads)
  bar = tqdm.tqdm(total=len(todo), unit='clip', desc='prepare',
                  disable=not progress, dynamic_ncols=True)
  try:
    for result in unordered(fn, todo, workers, init_worker,
                            (threads, params.backend)):
      counts[result.status] += 1
      counts['tvl1'] += result.tvl1
      if result.status not in (prepare.PREPARED, prepare.REUSED):
        tqdm.tqdm.write(f'prepare: {result.status} {result.key}: '
                        f'{result.reason}')
      bar.update()
  finally:
    bar.close()
    log(summary(counts, time.perf_counter() - start) + f' ({folder})')
  return counts
