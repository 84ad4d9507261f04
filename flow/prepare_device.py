"""The preparation stage with its TV-L1 on accelerators: one process per device solves batches of frame pairs gathered across clips.

``flow.prepare_run`` gives each core a whole clip; a GPU wants batches of
dozens of pairs of one size, and a clip cut into chunks of its own pairs
leaves it short batches and idle time.  Here the work is split by kind:

  CPU workers (``workers`` processes, no GPU)   one device owner per device
  decode a clip (25 fps, side), JPEG frames ──► its pairs join a queue; the
                                                owner solves ``batch`` pairs
                                                at a time, pairs of several
                                                clips in one call (the TF
                                                TV-L1, quantised on the
                                                device)
  PNG-encode the flow, write the clip's     ◄── a clip whose pairs are all
  file atomically (flow.prepare.store)          solved goes back

The clip's file is exactly the file ``flow.prepare.ensure`` writes (same
folder, same atomic write), so a killed run loses only the clips in flight,
a rerun skips finished clips, and the builders read them as any prepared
clip.  A clip that does not decode never reaches a device, so it cannot
stall a batch: an owner solves a short batch (padded to ``batch`` pairs by
repeating its last pair, so one program per frame size is compiled) when
no pairs arrived for ``linger`` seconds.

Devices: 'GPU:i' (each owner sees only its GPU through CUDA_VISIBLE_DEVICES
and takes memory as it needs it, or ``memory_mb``) or 'CPU:i', a stand-in
that runs the same batched solver on the CPU (tests; never faster than
``flow.prepare_run``'s one clip per core).  On a device the TF TV-L1 runs
its fixed budget (``flow.tvl1_tf``: OpenCV's rule would make a batch wait
for its slowest pair); each clip's file records the rule (``tvl1_rule``).

``PairBatcher`` is the bookkeeping of pairs and batches, without processes.
"""

import collections
import dataclasses
import multiprocessing
import os
import queue
import time
from typing import Callable, Optional, Sequence

import numpy as np
import tqdm

from flow import prepare
from flow import prepare_run
from flow import storage
from flow.backends import pin_threads, tensorflow_installed

# Pairs per solver call on a GPU (flow.tvl1_tf.default_batch_size's).  Not
# measured on a GPU yet: benchmarks/gpu.sh prints pairs/s per batch size.
DEFAULT_BATCH = 64
# Seconds an owner waits for more pairs before it solves a short batch.
DEFAULT_LINGER = 0.05
# Seconds between checks that the other processes of a run are alive.
_POLL = 1.0


@dataclasses.dataclass
class Batch:
  """``batch`` pairs of one frame size: frames0[i] -> frames1[i]; slots[i]
  = (clip key, pair index) for the real pairs (the rest are padding)."""
  frames0: np.ndarray
  frames1: np.ndarray
  slots: list

  @property
  def clips(self) -> int:
    return len({key for key, _ in self.slots})


class _Held:
  """A clip's frames, its flow as it comes back, and what goes with it."""

  def __init__(self, frames, payload, flow=None):
    self.frames = frames
    self.flow = np.empty((len(frames) - 1, *frames.shape[1:], 2),
                         np.uint8) if flow is None else flow
    self.left = len(frames) - 1
    self.payload = payload


class PairBatcher:
  """Frame pairs of many clips cut into solver batches of ``batch`` pairs,
  and each batch's flow put back where it belongs.

  Pairs wait in one queue per frame size, in arrival order; ``take`` gives a
  full batch of the oldest size that has one, or (``short``) the oldest
  size's pairs padded to ``batch``; ``put`` stores a batch's flow and
  returns the clips it completed.
  """

  def __init__(self, batch: int):
    if batch < 1:
      raise ValueError(f'batch must be >= 1 pair; got {batch}')
    self.batch = batch
    self._clips = {}
    self._waiting = collections.OrderedDict()  # (H, W) -> deque of slots

  def add(self, key: str, frames: np.ndarray, payload=None,
          flow: Optional[np.ndarray] = None) -> None:
    """Queues the T-1 pairs of uint8 frames [T, H, W] (T >= 2) of a clip;
    its flow is gathered in ``flow`` (uint8 [T-1, H, W, 2]) if given."""
    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.dtype != np.uint8 or len(frames) < 2:
      raise ValueError(f'{key}: want uint8 [T>=2, H, W] frames; got '
                       f'{frames.dtype} {frames.shape}')
    if key in self._clips:
      raise ValueError(f'{key}: already queued')
    if flow is not None and flow.shape != (len(frames) - 1,
                                           *frames.shape[1:], 2):
      raise ValueError(f'{key}: flow array {flow.shape} does not fit '
                       f'frames {frames.shape}')
    self._clips[key] = _Held(frames, payload, flow)
    waiting = self._waiting.setdefault(frames.shape[1:], collections.deque())
    waiting.extend((key, i) for i in range(len(frames) - 1))

  def waiting(self) -> int:
    """Pairs not yet in a batch."""
    return sum(len(q) for q in self._waiting.values())

  def held(self) -> int:
    """Clips whose flow is not complete."""
    return len(self._clips)

  def take(self, short: bool = False) -> Optional[Batch]:
    """The next batch, or None (no full batch, and not ``short``)."""
    shape = next((s for s, q in self._waiting.items()
                  if len(q) >= self.batch), None)
    if shape is None and short:
      shape = next(iter(self._waiting), None)
    if shape is None:
      return None
    waiting = self._waiting[shape]
    slots = [waiting.popleft() for _ in range(min(self.batch, len(waiting)))]
    if not waiting:
      del self._waiting[shape]
    padded = slots + [slots[-1]] * (self.batch - len(slots))
    frames0 = np.stack([self._clips[k].frames[i] for k, i in padded])
    frames1 = np.stack([self._clips[k].frames[i + 1] for k, i in padded])
    return Batch(frames0, frames1, slots)

  def put(self, batch: Batch, flow_u8: np.ndarray) -> list:
    """Stores ``batch``'s flow [batch, H, W, 2]; returns (key, flow
    [T-1, H, W, 2], payload) of every clip this completed."""
    done = []
    for (key, i), field in zip(batch.slots, flow_u8):
      held = self._clips.get(key)
      if held is None:  # Dropped by fail().
        continue
      held.flow[i] = field
      held.left -= 1
      if not held.left:
        del self._clips[key]
        done.append((key, held.flow, held.payload))
    return done

  def fail(self, batch: Batch) -> list:
    """Drops every clip with a pair in ``batch`` (its solve failed), with
    its pairs still waiting; returns their (key, payload)."""
    keys = list(dict.fromkeys(key for key, _ in batch.slots))
    dropped = [(k, self._clips.pop(k).payload) for k in keys
               if k in self._clips]
    for shape in list(self._waiting):
      kept = collections.deque(s for s in self._waiting[shape]
                               if s[0] not in keys)
      if kept:
        self._waiting[shape] = kept
      else:
        del self._waiting[shape]
    return dropped


@dataclasses.dataclass
class DeviceStats:
  """What one device owner did: pairs solved, batches, the first call of
  each frame size (the compile), and its steady state after the first
  compile."""
  device: str
  pid: int = 0
  pairs: int = 0
  batches: int = 0
  clip_slots: int = 0  # Sum over batches of the clips in each.
  mixed_batches: int = 0  # Batches holding pairs of more than one clip.
  clips: int = 0
  shared_clips: int = 0  # Clips whose frames came in shared memory.
  compile_seconds: float = 0.0  # First batches of each size, start to end.
  shapes: int = 0
  peak_memory_mb: float = float('nan')
  # From the end of the first compile to the end of the last batch: the
  # pairs solved then, the seconds, and this process's CPU seconds.
  steady_pairs: int = 0
  steady_seconds: float = 0.0
  steady_cpu_seconds: float = 0.0
  # Seconds of device calls in that window (each call from its start to
  # its flow on the host): the device's busy fraction is this over
  # steady_seconds.
  steady_device_seconds: float = 0.0

  @property
  def steady_rate(self) -> float:
    """Pairs/s of the owner once compiled: the stage's rate when the CPU
    workers cannot keep up, the solver's when they can."""
    return self.steady_pairs / max(self.steady_seconds, 1e-9)

  def line(self, batch: int) -> str:
    pad = 1 - self.pairs / max(self.batches * batch, 1)
    steady = (f'{self.steady_rate:.1f} pairs/s once compiled, the device '
              f'busy {self.steady_device_seconds / self.steady_seconds:.0%},'
              f' this process\'s CPU '
              f'{self.steady_cpu_seconds / self.steady_pairs * 1e3:.2f} ms '
              'per pair'
              if self.steady_pairs else 'too few batches for a steady rate')
    return (f'device {self.device} (pid {self.pid}): {self.pairs} pairs in '
            f'{self.batches} batches of {batch} ({pad:.0%} padding, '
            f'{self.clip_slots / max(self.batches, 1):.2f} clips per batch, '
            f'{self.mixed_batches} with pairs of several clips; '
            f'{self.shared_clips} of {self.clips} clips in shared memory); '
            f'{steady}; '
            f'{self.shapes} frame size(s) compiled in '
            f'{self.compile_seconds:.1f} s; peak memory '
            f'{self.peak_memory_mb:.0f} MiB')


def parse_devices(spec: str, gpus: int) -> list:
  """Device names from a flag: '' or 'none' -> []; 'all' -> every GPU;
  'GPU:0,GPU:1' / 'CPU:0,CPU:1' as given (CPU:i are stand-ins).

  Raises:
    ValueError: an unknown name, a GPU that is not there, a repeat.
  """
  spec = (spec or '').strip()
  if spec.lower() in ('', 'none'):
    return []
  if spec.lower() == 'all':
    return [f'GPU:{i}' for i in range(gpus)]
  out = []
  for part in spec.split(','):
    kind, _, index = part.strip().upper().partition(':')
    if kind not in ('GPU', 'CPU') or not index.isdigit():
      raise ValueError(f'device {part.strip()!r}: use GPU:i or CPU:i (a CPU '
                       "stand-in), 'all' or 'none'")
    if kind == 'GPU' and int(index) >= gpus:
      raise ValueError(f'device {part.strip()}: TensorFlow sees {gpus} '
                       'GPU(s) here')
    out.append(f'{kind}:{int(index)}')
  if len(set(out)) != len(out):
    raise ValueError(f'devices {spec!r}: a device named twice')
  return out


def visible_gpus() -> int:
  """GPUs TensorFlow sees in this process (0 without TensorFlow)."""
  if not tensorflow_installed():
    return 0
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return len(tf.config.list_physical_devices('GPU'))


def _cuda_ids(device: str) -> str:
  """CUDA_VISIBLE_DEVICES for an owner of ``device`` ('' hides every GPU):
  GPU:i is the i-th GPU this process sees, so the i-th entry of its own
  CUDA_VISIBLE_DEVICES when it has one."""
  kind, index = device.split(':')
  if kind != 'GPU':
    return ''
  seen = os.environ.get('CUDA_VISIBLE_DEVICES')
  if seen is None:
    return index
  return [s.strip() for s in seen.split(',') if s.strip()][int(index)]


def _start(process: multiprocessing.Process, cuda_ids: str) -> None:
  """Starts a spawned process with CUDA_VISIBLE_DEVICES=cuda_ids: set in
  its environment from the start, before anything in it imports
  TensorFlow."""
  before = os.environ.get('CUDA_VISIBLE_DEVICES')
  os.environ['CUDA_VISIBLE_DEVICES'] = cuda_ids
  try:
    process.start()
  finally:
    if before is None:
      del os.environ['CUDA_VISIBLE_DEVICES']
    else:
      os.environ['CUDA_VISIBLE_DEVICES'] = before


def _parent_alive() -> bool:
  parent = multiprocessing.parent_process()
  return parent is None or parent.is_alive()


def _get(q, timeout: float):
  """q.get that ends this process once its parent has died, so no orphan
  keeps a GPU after a killed run.  It ends at once (os._exit): a normal
  exit would wait for its queues' feeder threads to hand their last
  messages to pipes that nobody reads any more, and could wait forever;
  its shared blocks go with the resource tracker, which outlives it."""
  while True:
    try:
      return q.get(timeout=timeout)
    except queue.Empty:
      if not _parent_alive():
        os._exit(1)  # pylint: disable=protected-access


def _setup_device(device: str, memory_mb: int, threads: int) -> str:
  """Configures TensorFlow in an owner; returns the TF device to run on."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  gpus = tf.config.list_physical_devices('GPU')
  if not device.startswith('GPU'):
    pin_threads(threads, tensorflow=True)
    return '/CPU:0'
  if len(gpus) != 1:
    raise RuntimeError(f'{device}: the owner sees {len(gpus)} GPUs, not 1 '
                       f'(CUDA_VISIBLE_DEVICES='
                       f'{os.environ.get("CUDA_VISIBLE_DEVICES")!r})')
  if memory_mb:
    tf.config.set_logical_device_configuration(
        gpus[0], [tf.config.LogicalDeviceConfiguration(memory_limit=memory_mb)])
  else:
    tf.config.experimental.set_memory_growth(gpus[0], True)
  return '/GPU:0'


# Frames and flow travel between the processes in shared memory (POSIX
# /dev/shm), by name: a pickled clip through a pipe costs the owner ~1 ms of
# CPU per pair at side 340 (benchmarks/prepare_device.py's feed section),
# about what a GPU needs per pair.  The spawned processes share one
# multiprocessing resource tracker, which removes what a killed run left.
_SHM_PREFIX = 'kinetics_tf_'


class _Shared:
  """An array in a shared-memory block of its own: made (``create``) or
  attached by name.  ``ref`` names it for another process."""

  def __init__(self, shape, dtype=np.uint8, name=None):
    from multiprocessing import shared_memory  # pylint: disable=import-outside-toplevel
    size = max(1, int(np.prod(shape)) * np.dtype(dtype).itemsize)
    self.shm = shared_memory.SharedMemory(
        name=name or (f'{_SHM_PREFIX}{os.getppid()}_{os.getpid()}_'
                      f'{next(_COUNTER)}'),
        create=name is None, size=size if name is None else 0)
    self.array = np.ndarray(shape, dtype, buffer=self.shm.buf)
    self.ref = ('shm', self.shm.name, tuple(shape), np.dtype(dtype).str)

  @classmethod
  def attach(cls, ref):
    _, name, shape, dtype = ref
    return cls(shape, np.dtype(dtype), name)

  def release(self, unlink: bool) -> None:
    """Drops this process's mapping (and the block, with ``unlink``)."""
    self.array = None
    try:
      self.shm.close()
    except BufferError:  # A view is still alive; the mapping goes with it.
      pass
    if unlink:
      try:
        self.shm.unlink()
      except FileNotFoundError:
        pass


_COUNTER = iter(range(1 << 62))


def blocks_of(run_pid: int) -> list:
  """The shared blocks that the processes of the run in process
  ``run_pid`` made and that exist now."""
  try:
    return [n for n in os.listdir('/dev/shm')
            if n.startswith(f'{_SHM_PREFIX}{run_pid}_')]
  except OSError:
    return []


def remove_blocks(run_pid: int) -> int:
  """Removes the shared blocks of the run in process ``run_pid`` (what a
  failed run's clips in flight held); returns how many."""
  from multiprocessing import resource_tracker  # pylint: disable=import-outside-toplevel
  names = blocks_of(run_pid)
  for name in names:
    try:
      os.remove(os.path.join('/dev/shm', name))
    except FileNotFoundError:
      continue
    resource_tracker.unregister('/' + name, 'shared_memory')
  return len(names)


# /dev/shm space (MiB) the stage leaves to other programs.
SHM_RESERVE_ENV = 'KINETICS_TF_SHM_RESERVE_MB'


def _shm_free() -> int:
  """Bytes of /dev/shm this stage may use now (0 without /dev/shm)."""
  try:
    st = os.statvfs('/dev/shm')
  except OSError:
    return 0
  reserve = float(os.environ.get(SHM_RESERVE_ENV) or 0) * 2**20
  return max(0, int(st.f_bavail * st.f_frsize - reserve))


def _room_for(nbytes: int) -> bool:
  """Whether /dev/shm has room for a block of ``nbytes`` now (a block
  written past a full /dev/shm would kill its writer with SIGBUS); an
  array without room goes through a pipe."""
  return _shm_free() > 2 * nbytes


def _is_ref(item) -> bool:
  return isinstance(item, tuple) and item[:1] == ('shm',)


def shared_memory_room(clip_bytes: int, clips: int) -> str:
  """'' when /dev/shm can hold ``clips`` clips of ``clip_bytes``, else why
  not (frames and flow then go through pipes)."""
  if not os.path.isdir('/dev/shm'):
    return 'no /dev/shm here'
  need = clip_bytes * clips
  if not _room_for(need):
    return (f'/dev/shm has {_shm_free() / 2**20:.0f} MiB free (less '
            f'{SHM_RESERVE_ENV}) and the clips in flight need about '
            f'{need / 2**20:.0f} MiB (twice that is asked for)')
  return ''


def _owner(device, batch, linger, memory_mb, threads, tvl1_params, iterations,
           solver, pairs_in, tasks, results):
  """An owner process: solves its device's batches until it reads None.

  A thread of its own makes the device calls, up to two batches ahead, so
  the device computes while this thread gathers the next pairs and hands
  finished flow back (TensorFlow releases the GIL while it computes,
  whether a call returns before the device is done or after).
  """
  import threading  # pylint: disable=import-outside-toplevel
  stats = DeviceStats(device, os.getpid())
  compiled = cpu_compiled = None
  to_device, from_device = queue.Queue(), queue.Queue()
  caller = None
  try:
    tf_device = _setup_device(device, memory_mb, threads)
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from flow import tvl1_tf  # pylint: disable=import-outside-toplevel

    def solve(work):
      if solver == 'zeros':  # benchmarks/prepare_device.py's feed ceiling.
        return np.zeros((*work.frames0.shape, 2), np.uint8)
      with tf.device(tf_device):
        return tvl1_tf.quantize(tvl1_tf.tvl1_pairs(
            work.frames0, work.frames1, stopping='fixed',
            iterations=iterations, **dict(tvl1_params))).numpy()

    def call_device():
      while (work := to_device.get()) is not None:
        t0 = time.perf_counter()
        try:
          flow, error = solve(work), None
        except Exception as e:  # pylint: disable=broad-except
          flow, error = None, e
        from_device.put((work, flow, error, time.perf_counter() - t0))

    caller = threading.Thread(target=call_device, daemon=True)
    caller.start()

    def finish(work, flow, error, seconds):
      nonlocal compiled, cpu_compiled
      if error is not None:
        failed(work, error)
        return
      end = time.perf_counter()
      shape = work.frames0.shape[1:]
      first_of_its_size = shape not in shapes  # Its call compiled.
      shapes.add(shape)
      if first_of_its_size:
        stats.compile_seconds += seconds
      if compiled is None:
        compiled, cpu_compiled = end, time.process_time()
      elif not first_of_its_size:
        stats.steady_pairs += len(work.slots)
        stats.steady_seconds = end - compiled
        stats.steady_cpu_seconds = time.process_time() - cpu_compiled
        stats.steady_device_seconds += seconds
      stats.pairs += len(work.slots)
      stats.batches += 1
      stats.clip_slots += work.clips
      stats.mixed_batches += work.clips > 1
      rule = f'fixed:{iterations or tvl1_tf.fixed_iterations(*shape)}'
      for key, flow_u8, payload in batcher.put(work, flow):
        frames_block, flow_block = blocks.pop(key, (None, None))
        if frames_block is not None:
          frames_block.release(unlink=True)
        if flow_block is not None:
          flow_u8 = flow_block.ref  # The worker unlinks it.
          flow_block.release(unlink=False)
        tasks.put(('finish', key, payload, flow_u8, rule))
      results.put(('pairs', len(work.slots)))

    def failed(work, error):
      for key, payload in batcher.fail(work):
        for block in blocks.pop(key, ()):
          if block is not None:
            block.release(unlink=True)
        results.put(('failed', key, payload,
                     f'TV-L1 on {device}: {type(error).__name__}: {error}'))

    def add(key, frames, payload):
      stats.clips += 1
      stats.shared_clips += _is_ref(frames)
      if not _is_ref(frames):
        batcher.add(key, frames, payload)
        return
      frames_block = _Shared.attach(frames)
      t, h, w = frames_block.array.shape
      shape = (t - 1, h, w, 2)
      flow_block = (_Shared(shape) if _room_for(int(np.prod(shape)))
                    else None)
      blocks[key] = (frames_block, flow_block)
      batcher.add(key, frames_block.array, payload,
                  flow=None if flow_block is None else flow_block.array)

    batcher, shapes, stopping = PairBatcher(batch), set(), False
    blocks = {}  # key -> its frames' and flow's shared blocks
    ahead = 0  # Batches given to the device thread and not finished.
    while ahead or not stopping or batcher.waiting():
      while True:  # Finished batches first: they free memory.
        try:
          finish(*from_device.get_nowait())
          ahead -= 1
        except queue.Empty:
          break
      # Every pair that has arrived joins its queue before a batch is taken.
      while not stopping:
        try:
          if ahead or batcher.waiting() >= batch:
            item = pairs_in.get_nowait()
          elif batcher.waiting():
            item = pairs_in.get(timeout=linger)
          else:
            item = _get(pairs_in, _POLL)
        except queue.Empty:
          break
        if item is None:
          stopping = True
        else:
          add(*item)
      # Up to two batches ahead; a short one only when the device is idle.
      given = False
      while ahead < 2:
        work = batcher.take(short=not ahead)
        if work is None:
          break
        to_device.put(work)
        ahead += 1
        given = True
      if ahead and not given:  # Nothing to do until the device is done.
        try:
          finish(*from_device.get(timeout=0.005))
          ahead -= 1
        except queue.Empty:
          pass
    stats.shapes = len(shapes)
    if tf_device.startswith('/GPU'):
      stats.peak_memory_mb = tf.config.experimental.get_memory_info(
          'GPU:0')['peak'] / 2**20
  except Exception as e:  # pylint: disable=broad-except
    results.put(('owner_error', device, f'{type(e).__name__}: {e}'))
    raise
  finally:
    if caller is not None:
      to_device.put(None)
    for held in locals().get('blocks', {}).values():  # Clips not finished.
      for block in held:
        if block is not None:
          block.release(unlink=True)
    results.put(('stats', stats))


def _worker(folder, params, threads, shared, pairs_out, tasks, results):
  """A CPU worker: decodes clips and writes finished ones until it reads None."""
  pin_threads(threads, tensorflow=False)
  while True:
    task = _get(tasks, _POLL)
    if task is None:
      return
    if task[0] == 'decode':
      _, clip, owner = task
      start = time.perf_counter()
      prepare.make_room(folder, clip.key, params)
      try:
        jpegs, grays, fps = prepare.decode(clip, params, True, threads)
      except Exception as e:  # pylint: disable=broad-except
        results.put(('result', prepare.failed(folder, clip.key, e, start)))
        continue
      if len(grays) < 2:  # No pair: stored as flow.prepare.ensure does.
        results.put(('result', prepare.store(
            folder, clip.key, prepare.Prepared(jpegs, None, fps), True,
            start)))
        continue
      if shared and _room_for(len(grays) * grays[0].size):
        block = _Shared((len(grays), *grays[0].shape))
        np.stack(grays, out=block.array)
        frames = block.ref
        block.release(unlink=False)  # The owner unlinks it.
      else:
        frames = np.stack(grays)
      del grays
      pairs_out[owner].put((clip.key, frames, (jpegs, fps, start)))
    else:
      _, key, (jpegs, fps, start), flow_u8, rule = task
      block = _Shared.attach(flow_u8) if _is_ref(flow_u8) else None
      try:
        flow_png = prepare.encode_flow_png(
            flow_u8 if block is None else block.array)
        if block is not None:
          block.release(unlink=True)
          block = None
        result = prepare.store(folder, key, prepare.Prepared(
            jpegs, flow_png, fps, rule), True, start)
      except Exception as e:  # pylint: disable=broad-except
        result = prepare.failed(folder, key, e, start)
      finally:
        if block is not None:
          block.release(unlink=True)
      results.put(('result', result))


class DeviceRunError(RuntimeError):
  """A process of a device run died or its device failed; finished clips
  are kept, and a rerun goes on from them."""


def _check_alive(processes, counts) -> None:
  """Raises DeviceRunError when a process of the run has died (its clips in
  flight would never come back)."""
  dead = [p for p in processes if not p.is_alive()]
  if dead:
    raise DeviceRunError(
        f'{", ".join(p.name for p in dead)} died (exit codes '
        f'{[p.exitcode for p in dead]}); {counts[prepare.PREPARED]} clips '
        'were written and are kept: run again to go on')


def run(clips: Sequence[prepare.Clip], root, params: prepare.Params,
        devices: Sequence[str], workers: int = 1, threads: int = 1,
        batch: int = DEFAULT_BATCH, linger: float = DEFAULT_LINGER,
        memory_mb: int = 0, iterations: Optional[int] = None,
        in_flight: Optional[int] = None, progress: bool = True,
        log: Callable = print, retry_failed: bool = False,
        _solver: str = 'tvl1') -> tuple:
  """Prepares ``clips`` with flow into ``folder_for(root, params)``, the
  TV-L1 on ``devices``; returns (counts, [DeviceStats per device]).

  Args:
    clips, root, params, workers, threads, progress, log, retry_failed: as
      for flow.prepare_run.run (``params.backend`` must be 'tf').
    devices: 'GPU:i' or 'CPU:i' (a stand-in), one owner process each.
    batch: pairs per solver call.
    linger: seconds an owner waits for more pairs before a short batch.
    memory_mb: GPU memory per owner (0: grown as needed).
    iterations: the fixed budget's steps per warp (default
      flow.tvl1_tf.fixed_iterations of the frame size).
    in_flight: clips decoded and not yet written, at most (default: workers
      + 2 per device, so that an owner has a next clip's pairs at hand).
    _solver: 'tvl1', or 'zeros' (no TV-L1, zero flow: only for measuring
      what the processes around a device can feed it; a benchmark's).

  Raises:
    ValueError: no devices, a backend that is not 'tf'.
    DeviceRunError: a worker or owner died (finished clips are kept).
  """
  if not devices:
    raise ValueError('no devices: use flow.prepare_run.run for the per-core '
                     'path')
  if params.backend != 'tf':
    raise ValueError(f'the device path runs the TF TV-L1; these parameters '
                     f'name backend {params.backend!r}')
  folder, counts, todo = prepare_run.sort_out(clips, root, params, True,
                                              retry_failed, log)
  found = [c for c in todo if c.path is not None and storage.exists(c.path)]
  if len(found) < len(todo):
    counts[prepare.MISSING] += len(todo) - len(found)
  todo = found
  if not todo:
    log(prepare_run.summary(counts, 0.0) + f' ({folder})')
    return counts, [DeviceStats(d) for d in devices]
  limit = in_flight or workers + 2 * len(devices)
  # A 10 s clip's frames and flow at the frames' side, 16:9, 25 fps.
  side = params.short_side or 340
  seconds = min(params.max_seconds or 10.0, 10.0)
  clip_bytes = int(3 * side * side * 16 / 9 * params.fps * seconds)
  no_room = shared_memory_room(clip_bytes, limit)
  if no_room:
    log(f'prepare: {no_room}: frames and flow go through pipes instead '
        '(about 1 ms of CPU per pair more in each device process; give the '
        'machine or container more shared memory, e.g. docker run '
        '--shm-size=8g)')
  shared = not no_room
  ctx = multiprocessing.get_context('spawn')
  tasks, results = ctx.Queue(), ctx.Queue()
  pairs_in = [ctx.Queue() for _ in devices]
  owners = [ctx.Process(
      target=_owner, name=f'flow-owner-{d}', daemon=True,
      args=(d, batch, linger, memory_mb, threads, params.tvl1_params,
            iterations, _solver, pairs_in[i], tasks, results))
            for i, d in enumerate(devices)]
  pool = [ctx.Process(target=_worker, name=f'flow-worker-{i}', daemon=True,
                      args=(folder, params, threads, shared, pairs_in, tasks,
                            results))
          for i in range(max(1, workers))]
  for device, owner in zip(devices, owners):
    _start(owner, _cuda_ids(device))
  for worker in pool:
    _start(worker, '')
  stats, load, where = {}, [0] * len(devices), {}
  pending = iter(todo)
  start = checked = time.perf_counter()
  pairs = 0
  bar = tqdm.tqdm(total=len(todo), unit='clip', desc='prepare',
                  disable=not progress, dynamic_ncols=True)
  try:
    while True:
      while len(where) < limit:
        clip = next(pending, None)
        if clip is None:
          break
        owner = load.index(min(load))
        load[owner] += 1
        where[clip.key] = owner
        tasks.put(('decode', clip, owner))
      if not where:
        break
      if time.perf_counter() - checked > _POLL:
        _check_alive(owners + pool, counts)
        checked = time.perf_counter()
      try:
        message = results.get(timeout=_POLL)
      except queue.Empty:
        continue
      kind = message[0]
      if kind == 'pairs':
        pairs += message[1]
        bar.set_postfix_str(
            f'{pairs / (time.perf_counter() - start):.0f} pairs/s',
            refresh=False)
        continue
      if kind == 'owner_error':
        raise DeviceRunError(f'the owner of {message[1]} failed: '
                             f'{message[2]}')
      if kind == 'stats':
        stats[message[1].device] = message[1]
        continue
      if kind == 'failed':
        _, key, (_, _, t0), reason = message
        result = prepare.record(folder, key, prepare.FAILED, reason, t0)
      else:
        result = message[1]
      counts[result.status] += 1
      counts['tvl1'] += result.tvl1
      load[where.pop(result.key)] -= 1
      if result.status not in (prepare.PREPARED, prepare.REUSED):
        tqdm.tqdm.write(f'prepare: {result.status} {result.key}: '
                        f'{result.reason}')
      bar.update()
    for q in pairs_in:
      q.put(None)
    for _ in pool:
      tasks.put(None)
    while len(stats) < len(devices):
      try:
        message = results.get(timeout=60)
      except queue.Empty:
        break
      if message[0] == 'stats':
        stats[message[1].device] = message[1]
  except BaseException:
    for p in owners + pool:  # Nothing of a failed run keeps a device.
      p.terminate()
    for p in owners + pool:
      p.join(timeout=30)
    remove_blocks(os.getpid())
    raise
  finally:
    bar.close()
    for p in owners + pool:
      p.join(timeout=30)
      if p.is_alive():
        p.kill()
        p.join()
    seconds = time.perf_counter() - start
    log(prepare_run.summary(counts, seconds) + f' ({folder})')
    for device in devices:
      if device in stats:
        log(stats[device].line(batch))
  return counts, [stats.get(d, DeviceStats(d)) for d in devices]

