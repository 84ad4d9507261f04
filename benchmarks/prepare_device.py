"""The preparation stage with the TV-L1 on devices (flow/prepare_device.py): the solver alone, parity, and the whole stage.

On a GPU machine (benchmarks/gpu.sh runs it; a few minutes):
  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/prepare_device.py
Tiny sizes, on the CPU (CPU:0 stands in for a device; a check of the
script, not figures):
  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/prepare_device.py --smoke

Sections (--sections, default all; they run in the order solver, stage,
parity, feed: the device's figures first):
  feed: the CPU work of the stage per clip at side 340, which sets the
    cores a device needs: decode + JPEG frames, PNG flow + write, and the
    trip of its frames and flow through the queues between processes;
    cores needed per 1,000 pairs/s.
  solver: pairs/s of flow.tvl1_tf.tvl1_pairs (fixed budget, quantised on
    the device) alone, per batch size at 340x256 (the fixture Kinetics
    clip's stored size), then with the fastest of those batches at the
    stage's frame size (side 340: 453x340), with the peak device memory.
  parity: mean end-point difference of the device's fixed budget (several
    budgets) from OpenCV's CPU flow, on consecutive pairs of the fixture
    Kinetics clip at 340x256, against OpenCV's own sensitivity (its change
    when epsilon is halved): the rule of flow.tvl1_tf.fixed_iterations.
  stage: the whole preparation (kinetics-tf prepare's path) of --clips
    copies of the fixture Kinetics clip (10 s, side 340) with every CPU core
    but one decoding and writing, one owner per device: pairs/s once
    compiled against the solver's at the same size and batch, the solver's
    busy fraction, GPU utilisation and memory (nvidia-smi, sampled), and
    what it means for Kinetics-400.
"""

import functools
import os
import subprocess
import sys
import tempfile
import threading
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
# benchmarks/flow.py would shadow the flow package.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags  # pylint: disable=wrong-import-position
import cv2  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

from flow import decoding  # pylint: disable=wrong-import-position
from flow import prepare  # pylint: disable=wrong-import-position
from flow import prepare_device  # pylint: disable=wrong-import-position

_FIXTURES = flags.DEFINE_string(
    'fixtures', os.environ.get('KINETICS_TF_FIXTURES'),
    'Fixtures folder holding videos/ (default: $KINETICS_TF_FIXTURES).')
_SECTIONS = flags.DEFINE_list('sections', ['solver', 'stage', 'parity',
                                          'feed'],
                              'Which sections to run.')
_BATCHES = flags.DEFINE_list('batches', ['32', '64', '128', '256'],
                             'Solver batch sizes (at 340x256).')
_BATCH = flags.DEFINE_integer('batch', 0, "The stage's batch (0: the "
                              "solver section's fastest at 340x256, else "
                              'flow.prepare_device.DEFAULT_BATCH).')
_CLIPS = flags.DEFINE_integer('clips', 48, 'Clips the stage prepares.')
_PAIRS = flags.DEFINE_integer('parity_pairs', 8, 'Pairs of the parity check.')
_FEED_CLIPS = flags.DEFINE_integer('feed_clips', 8, 'Clips of the feed '
                                   'ceiling run.')
_BUDGETS = flags.DEFINE_list('budgets', ['20', '25', '30'],
                             'Fixed budgets (steps per warp) of the parity '
                             'check.')
_SMOKE = flags.DEFINE_bool('smoke', False, 'Tiny sizes (side 32, 2 clips, '
                           'small batches) and a CPU stand-in device.')
_K400 = 'k400_arm_wrestling_340x256_28fps.mp4'
KINETICS400_PAIRS = 66e6  # ~300k clips x ~220 pairs (10 s at 25 fps).


def _devices(smoke: bool) -> list:
  gpus = prepare_device.visible_gpus()
  return ['CPU:0'] if smoke or not gpus else [f'GPU:{i}' for i in range(gpus)]


def _fixture() -> str:
  if not _FIXTURES.value:
    raise app.UsageError('set KINETICS_TF_FIXTURES (or --fixtures) to the '
                         'fixtures folder')
  return os.path.join(_FIXTURES.value, 'videos', _K400)


def _copies(folder, n, end) -> list:
  """n Clips of the fixture Kinetics clip under other names (links)."""
  clips = []
  for i in range(n):
    path = os.path.join(folder, f'clip{i}.mp4')
    os.symlink(_fixture(), path)
    clips.append(prepare.Clip(f'clip{i}', path, None, end))
  return clips


@functools.lru_cache(maxsize=None)
def _clip_gray(side) -> np.ndarray:
  """The fixture clip's gray frames at ``side``, decoded once per side."""
  return np.stack([decoding.to_gray(f)
                   for f in decoding.decode(_fixture(), short_side=side)])


def _gray_frames(side, count) -> np.ndarray:
  """Its first ``count`` gray frames (callers only read them)."""
  return _clip_gray(side)[:count]


def _memory_reset(on_gpu):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if on_gpu:
    tf.config.experimental.reset_memory_stats('GPU:0')


def _memory_peak(on_gpu) -> float:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if not on_gpu:
    return float('nan')
  return tf.config.experimental.get_memory_info('GPU:0')['peak'] / 2**20


def _echo(inbox, outbox):
  """A process that sends back what it gets, until None."""
  while (item := inbox.get()) is not None:
    outbox.put(item)


def feed(smoke: bool) -> None:
  import multiprocessing  # pylint: disable=import-outside-toplevel
  from flow import storage  # pylint: disable=import-outside-toplevel
  from flow.tvl1 import quantize  # pylint: disable=import-outside-toplevel
  side = 32 if smoke else 340
  params = prepare.Params(short_side=side, backend='tf')
  clip = prepare.Clip('k', _fixture(), None, 2.0 if smoke else None)
  c0 = time.process_time()
  jpegs, grays, fps = prepare.decode(clip, params, True)
  decode_cpu = time.process_time() - c0
  gray = np.stack(grays)
  pairs = len(gray) - 1
  # Real flow of 2 pairs (the PNGs' cost depends on the content), tiled:
  # OpenCV's, so that no device program is compiled for it.
  some = quantize(np.stack([cv2.optflow.DualTVL1OpticalFlow_create().calc(
      gray[i], gray[i + 1], None) for i in range(2)]))
  flow_u8 = some[np.arange(pairs) % len(some)]
  with tempfile.TemporaryDirectory() as tmp:
    c0 = time.process_time()
    prepared = prepare.Prepared(jpegs, prepare.encode_flow_png(flow_u8), fps,
                                'fixed:25')
    storage.write_atomic(os.path.join(tmp, 'k.rgb_flow.npz'),
                         prepare.pack(prepared))
    write_cpu = time.process_time() - c0
  ctx = multiprocessing.get_context('spawn')
  inbox, outbox = ctx.Queue(), ctx.Queue()
  echo = ctx.Process(target=_echo, args=(inbox, outbox), daemon=True)
  echo.start()
  inbox.put(('warm', np.zeros(1), None))
  outbox.get()
  t0, c0 = time.perf_counter(), time.process_time()
  inbox.put(('k', gray, (jpegs, fps, 0.0)))
  outbox.get()
  inbox.put(('k', None, jpegs, flow_u8, 'fixed:25'))
  outbox.get()
  trip, trip_cpu = time.perf_counter() - t0, time.process_time() - c0
  inbox.put(None)
  echo.join()
  per_pair = (decode_cpu + write_cpu) / pairs
  print(f'== feed: one clip of {_K400} at side {side} '
        f'({gray.shape[2]}x{gray.shape[1]}, {pairs} pairs; frames '
        f'{gray.nbytes / 2**20:.0f} MiB gray, flow {flow_u8.nbytes / 2**20:.0f}'
        ' MiB uint8)')
  print(f'worker CPU per clip: decode + JPEG {decode_cpu:.2f} s, PNG flow + '
        f'pack + write {write_cpu:.2f} s; {per_pair * 1e3:.2f} ms per pair: '
        f'{per_pair * 1000:.1f} cores per 1,000 pairs/s')
  print(f'queue trips of its frames and flow (there and back, both ways): '
        f'{trip:.2f} s wall, {trip_cpu:.2f} s CPU of this process')
  # The stage around a device that returns zero flow at once: what the
  # workers and one owner can feed a device on this host, with frames and
  # flow in shared memory and through pipes (its fallback).
  cores = len(os.sched_getaffinity(0))
  workers = max(1, cores - 1)
  n = 2 if smoke else _FEED_CLIPS.value
  room = prepare_device.shared_memory_room
  for transport in ('shared memory', 'pipes'):
    if transport == 'pipes':
      prepare_device.shared_memory_room = lambda *a: 'measuring pipes'
    with tempfile.TemporaryDirectory() as tmp:
      clips = _copies(tmp, n, 2.0 if smoke else None)
      t0 = time.perf_counter()
      try:
        counts, (stats,) = prepare_device.run(
            clips, os.path.join(tmp, 'prep'), params, ['CPU:0'], workers,
            batch=4 if smoke else prepare_device.DEFAULT_BATCH,
            progress=False, log=lambda line: None, _solver='zeros')
      finally:
        prepare_device.shared_memory_room = room
      wall = time.perf_counter() - t0
    owner_ms = stats.steady_cpu_seconds / max(stats.steady_pairs, 1) * 1e3
    print(f'feed ceiling, {transport} (no TV-L1, zero flow): '
          f'{counts[prepare.PREPARED]} clips, {stats.pairs} pairs in '
          f'{wall:.1f} s with {workers} worker(s), start-up included; the '
          f'owner process {owner_ms:.2f} ms CPU per pair (one owner feeds '
          f'at most {1000 / max(owner_ms, 1e-9):.0f} pairs/s)', flush=True)


def solver(smoke: bool) -> tuple:
  """Pairs/s per batch at 340x256, then at the stage's size with the best
  of those batches; returns ({(h, w): {batch: rate}}, that batch)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
  on_gpu = bool(tf.config.list_physical_devices('GPU'))
  for gpu in tf.config.list_physical_devices('GPU'):
    tf.config.experimental.set_memory_growth(gpu, True)
  device = '/GPU:0' if on_gpu else '/CPU:0'
  batches = [2, 4] if smoke else [int(b) for b in _BATCHES.value]
  print(f'== solver alone on {device} '
        f'({tf.config.list_physical_devices("GPU")}): fixed budget, '
        'quantised on the device')
  print('| frames | batch | pairs/s | first call s | peak memory MiB |')
  print('|---|---|---|---|---|')
  out = {}

  def measure(name, gray, batch):
    h, w = gray.shape[1:]
    idx = np.arange(batch) % (len(gray) - 1)
    a, b = gray[idx], gray[idx + 1]
    with tf.device(device):
      _memory_reset(on_gpu)
      t0 = time.perf_counter()
      tvl1_tf.quantize(tvl1_tf.tvl1_pairs(a, b, stopping='fixed')).numpy()
      first = time.perf_counter() - t0
      reps = 1 if smoke else 3
      t0 = time.perf_counter()
      for _ in range(reps):
        tvl1_tf.quantize(tvl1_tf.tvl1_pairs(a, b, stopping='fixed')).numpy()
      rate = batch * reps / (time.perf_counter() - t0)
    out.setdefault((h, w), {})[batch] = rate
    print(f'| {w}x{h} ({name}) | {batch} | {rate:.1f} | {first:.1f} | '
          f'{_memory_peak(on_gpu):.0f} |', flush=True)

  small = _gray_frames(32 if smoke else None, 9)
  for batch in batches:
    measure('stored size' if not smoke else 'smoke', small, batch)
  rates = out[small.shape[1:]]
  best = _BATCH.value or max(rates, key=rates.get)
  stage_gray = _gray_frames(32 if smoke else 340, 9)
  if stage_gray.shape[1:] not in out or best not in out[stage_gray.shape[1:]]:
    measure('stage size', stage_gray, best)
  return out, best


def parity(smoke: bool) -> None:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
  pairs = 2 if smoke else _PAIRS.value
  gray = _gray_frames(32 if smoke else None, pairs + 1)
  h, w = gray.shape[1:]
  a, b = gray[:-1], gray[1:]
  epd = lambda x, y: float(np.sqrt(((x - y) ** 2).sum(-1)).mean())
  t0 = time.perf_counter()
  ref = np.stack([cv2.optflow.DualTVL1OpticalFlow_create().calc(x, y, None)
                  for x, y in zip(a, b)])
  half = np.stack([cv2.optflow.DualTVL1OpticalFlow_create(
      epsilon=0.005).calc(x, y, None) for x, y in zip(a, b)])
  cpu = time.perf_counter() - t0
  sensitivity = epd(half, ref)
  device = ('/GPU:0' if tf.config.list_physical_devices('GPU') else
            '/CPU:0')
  default = tvl1_tf.fixed_iterations(h, w)
  print(f'== parity on {device}: {pairs} consecutive pairs of {_K400} at '
        f'{w}x{h}; OpenCV (CPU, {cpu / pairs / 2:.2f} s/pair) eps/2 vs eps: '
        f'{sensitivity:.4f} px; default budget {default} steps/warp')
  print('| budget (steps/warp) | mean |device - OpenCV| px | within '
        'sensitivity |')
  print('|---|---|---|')
  budgets = [default] if smoke else sorted({int(x) for x in _BUDGETS.value}
                                           | {default})
  for budget in budgets:
    with tf.device(device):
      flow = tvl1_tf.tvl1_pairs(a, b, stopping='fixed',
                                iterations=budget).numpy()
    diff = epd(flow, ref)
    mark = ' (default)' if budget == default else ''
    print(f'| {budget}{mark} | {diff:.4f} | '
          f'{"yes" if diff <= sensitivity else "NO"} |', flush=True)


class _GpuSampler:
  """nvidia-smi's utilisation and memory every 0.5 s, while it runs."""

  def __init__(self):
    self.samples, self._stop = [], threading.Event()
    self._thread = threading.Thread(target=self._run, daemon=True)

  def _run(self):
    while not self._stop.is_set():
      try:
        out = subprocess.run(
            ['nvidia-smi', '--query-gpu=utilization.gpu,memory.used',
             '--format=csv,noheader,nounits'], capture_output=True,
            text=True, timeout=5, check=True).stdout
        self.samples.append([[float(v) for v in line.split(',')]
                             for line in out.strip().splitlines()])
      except (OSError, subprocess.SubprocessError, ValueError):
        return
      self._stop.wait(0.5)

  def __enter__(self):
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()


def stage(smoke: bool, rates: dict, best: int) -> None:
  side = 32 if smoke else 340
  devices = _devices(smoke)
  cores = len(os.sched_getaffinity(0))
  workers = max(1, cores - len(devices))
  clips_n = 2 if smoke else _CLIPS.value
  with tempfile.TemporaryDirectory() as tmp:
    clips = _copies(tmp, clips_n, 2.0 if smoke else None)
    params = prepare.Params(short_side=side, backend='tf')
    gray = _gray_frames(side, 2)
    size = gray.shape[1:]
    at_size = rates.get(size, {})
    batch = _BATCH.value or best or (4 if smoke else
                                     prepare_device.DEFAULT_BATCH)
    print(f'== stage: {clips_n} clips of {_K400} (side {side}: '
          f'{size[1]}x{size[0]}), {workers} CPU workers, devices {devices}, '
          f'batch {batch}')
    lines = []
    with _GpuSampler() as gpu:
      t0 = time.perf_counter()
      counts, stats = prepare_device.run(
          clips, os.path.join(tmp, 'prep'), params, devices, workers,
          batch=batch, progress=False, log=lines.append)
      wall = time.perf_counter() - t0
  for line in lines:
    print(line)
  pairs = sum(s.pairs for s in stats)
  steady = sum(s.steady_rate for s in stats)
  print(f'stage: {counts[prepare.PREPARED]} clips, {pairs} pairs in '
        f'{wall:.1f} s wall (compiles included); once compiled '
        f'{steady:.1f} pairs/s over {len(devices)} device(s)')
  alone = at_size.get(batch)
  if alone:
    print(f'stage / solver alone at {size[1]}x{size[0]}, batch {batch}: '
          f'{steady / (alone * len(devices)):.0%} (target >= 80%)')
  if gpu.samples:
    util = np.array([[g[0] for g in s] for s in gpu.samples])
    mem = np.array([[g[1] for g in s] for s in gpu.samples])
    print(f'nvidia-smi ({len(util)} samples): GPU utilisation mean '
          f'{util.mean():.0f}% (per GPU {np.round(util.mean(0))}), memory '
          f'max {mem.max():.0f} MiB')
  if steady > 0:
    hours = KINETICS400_PAIRS / steady / 3600
    print(f'Kinetics-400 at this rate: {KINETICS400_PAIRS:.0e} pairs in '
          f'{hours:.1f} h on this machine (a crash at 90% loses only the '
          f'clips in flight: {workers + 2 * len(devices)} at most)')


def main(argv):
  del argv
  smoke = _SMOKE.value
  rates, best = {}, 0
  # The device's own figures first, the host's last.
  if 'solver' in _SECTIONS.value:
    rates, best = solver(smoke)
  if 'stage' in _SECTIONS.value:
    stage(smoke, rates, best)
  if 'parity' in _SECTIONS.value:
    parity(smoke)
  if 'feed' in _SECTIONS.value:
    feed(smoke)


if __name__ == '__main__':
  app.run(main)
