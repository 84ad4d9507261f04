"""Build figures of the two stages: preparing clips once (flow.prepare), then builds that only write.

Run (about 5 minutes on 2 shared cores):
  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/build_stages.py

Sections (--sections, default all):
  prepare: at paper sizes (the 10 s Kinetics fixture clip at side 340):
    CPU of preparing it (decode, JPEG, TV-L1 with OpenCV's defaults, timed
    on a few pairs and scaled to 249), CPU of the write stage from its
    prepared file (worker and TFDS's parent, PNG and zlib flow layouts),
    the pool's utilisation at per-clip time spreads sigma 0.3 and 0.8 (with
    and without worker recycling), and the wall time of 6 clips on 2
    workers against their CPU time.
  write_memory: peak RSS of the writing process and of its largest worker
    over builds of 16 / 160 tiny clips from video files in 1 / 8 frame
    shapes (2 recycled workers preparing them on demand).
"""

import glob
import json
import os
import resource
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

from flow import prepare  # pylint: disable=wrong-import-position
from flow import prepare_run  # pylint: disable=wrong-import-position
from flow import storage  # pylint: disable=wrong-import-position
from kinetics_tf.datasets import clips  # pylint: disable=wrong-import-position
from kinetics_tf.datasets import features as features_lib  # pylint: disable=wrong-import-position
from kinetics_tf.datasets import synthetic  # pylint: disable=wrong-import-position

_FIXTURES = flags.DEFINE_string(
    'fixtures', os.environ.get('KINETICS_TF_FIXTURES'),
    'Fixtures folder holding videos/ (default: $KINETICS_TF_FIXTURES).')
_SECTIONS = flags.DEFINE_list('sections', ['prepare', 'write_memory'],
                              'Which sections to run.')
_WRITE_CHILD = flags.DEFINE_string('write_child', None, 'internal: k,shapes')
_K400 = 'k400_arm_wrestling_340x256_28fps.mp4'


def _timed(fn, *args):
  t0, c0 = time.perf_counter(), time.process_time()
  out = fn(*args)
  return out, time.perf_counter() - t0, time.process_time() - c0


def _tiled(prepared, pairs):
  """A Prepared clip whose flow fields are the computed ones repeated to
  ``pairs`` (the bytes of a 10 s clip without computing 249 pairs)."""
  fields = {a: (v * (pairs // len(v) + 1))[:pairs]
            for a, v in prepared.flow.items()}
  return prepare.Prepared(prepared.frames, fields, prepared.source_fps)


def _write_cost(job, root, fmt):
  """(worker CPU s, TFDS parent CPU s) of one prepared clip's example."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  opts = clips.Options(short_side=340, with_flow=True, flow_format=fmt,
                       flow_backend='opencv', prepared_dir=root)
  (key, example), _, worker = _timed(clips.process, job, clips.FileSource(),
                                     opts)
  feats = features_lib.clip_features(['arm wrestling'], True,
                                     flow_format=fmt)
  serializer = tfds.core.example_serializer.ExampleSerializer(
      feats.get_serialized_info())
  _, _, parent = _timed(lambda: serializer.serialize_example(
      feats.encode_example(example)))
  del key
  return worker, parent


def _sleep_span(seconds):
  start = time.time()
  time.sleep(seconds)
  return start, time.time()


def _utilisation(sigma, max_tasks, workers=2, n=100, mean=1.0):
  """Busy share of the real pool (flow.prepare_run.unordered) from its
  first task's start to its last task's end, over tasks whose times are
  lognormal with this sigma (sleeps: the pool's scheduling alone, whatever
  else runs on the machine).  ``max_tasks``: tasks per worker process."""
  rng = np.random.default_rng(0)
  times = list(mean * rng.lognormal(-sigma ** 2 / 2, sigma, n))
  spans = list(prepare_run.unordered(_sleep_span, times, workers,
                                     max_tasks=max_tasks))
  wall = max(e for _, e in spans) - min(s for s, _ in spans)
  return sum(times) / (workers * wall)


def _two_workers(path, n=6, seconds=0.2):
  """(wall s of n clips on 2 workers, n x CPU s of one clip / 2): short
  windows of the fixture at side 340 with flow, each clip its own key."""
  params = prepare.Params(short_side=340)
  clip = prepare.Clip('k', path, 0, seconds)
  _, _, cpu = _timed(prepare.compute, clip, params, True)
  with tempfile.TemporaryDirectory() as root:
    todo = [prepare.Clip(f'k{i}', path, 0, seconds) for i in range(n)]
    t0 = time.perf_counter()
    prepare_run.run(todo, root, params, True, workers=2, progress=False,
                    log=lambda line: None)
    return time.perf_counter() - t0, n * cpu / 2


def prepare_stages():
  """The preparation and write stages at side 340 (see the docstring)."""
  print('## preparation and write stages (side 340, 10 s Kinetics clip)')
  # Tasks of 1 s: with recycling every 16 of them a worker restarts
  # ~300x as often as with clips of minutes, so both are shown.
  for sigma in (0.3, 0.8):
    print(f'pool utilisation, 2 workers, 100 tasks of 1 s on average, '
          f'spread sigma {sigma}: '
          f'{_utilisation(sigma, 10 ** 6):.0%} (workers kept), '
          f'{_utilisation(sigma, prepare_run.MAX_TASKS_PER_CHILD):.0%} '
          f'(recycled every {prepare_run.MAX_TASKS_PER_CHILD} tasks)')
  if not _FIXTURES.value:
    print('(no fixtures: clip figures skipped)')
    return
  path = os.path.join(_FIXTURES.value, 'videos', _K400)
  params = prepare.Params(short_side=340)
  rgb, _, rgb_cpu = _timed(prepare.compute, prepare.Clip('k', path), params,
                           False)
  few, _, few_cpu = _timed(prepare.compute, prepare.Clip('k', path, 0, 0.25),
                           params, True)
  per_pair = (few_cpu - rgb_cpu * len(few.frames) / len(rgb.frames)) / (
      len(few.frames) - 1)
  pairs = len(rgb.frames) - 1
  prep = rgb_cpu + per_pair * pairs
  print(f'prepare: decode + JPEG {rgb_cpu:.2f} s, TV-L1 (OpenCV defaults) '
        f'{per_pair:.2f} s/pair -> {prep:.0f} CPU s per clip with flow '
        f'({len(rgb.frames)} frames)')
  with tempfile.TemporaryDirectory() as root:
    clip = _tiled(prepare.Prepared(rgb.frames, few.flow, rgb.source_fps),
                  pairs)
    folder = prepare.folder_for(root, params)
    prepare.write_manifest(folder, params)
    job = clips.Job('k', 'train', 'k', 'arm wrestling', path=path)
    os.makedirs(os.path.join(folder, 'train'))
    data = prepare.pack(clip)
    storage.write_atomic(
        prepare.clip_file(folder, 'train/k', True), data)
    print(f'prepared file: {len(data) / 1e6:.1f} MB per clip')
    for fmt in ('png', 'zlib'):
      worker, parent = _write_cost(job, root, fmt)
      print(f'write stage, flow {fmt}: worker {worker:.2f} s, TFDS parent '
            f'{parent:.2f} s per clip = {parent / prep:.2%} of the '
            'preparation')
  wall, ideal = _two_workers(path)
  print(f'6 clips (0.2 s, side 340, flow) on 2 workers: {wall:.1f} s wall '
        f'for {ideal:.1f} s of CPU per core ({wall / ideal:.2f}x)')


_SHAPES = [(64 + 16 * i, 48 + 12 * i) for i in range(8)]


def _write_child(spec):
  """Builds 16*k tiny clips of ``shapes`` frame sizes from video files
  (RGB + flow, 2 workers preparing them on demand); prints peak RSS (MB) of
  this writing process and of its largest worker as JSON."""
  k, shapes = map(int, spec.split(','))
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import video_folder  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  with tempfile.TemporaryDirectory() as tmp:
    for i in range(16 * k):
      size = _SHAPES[i % shapes]
      os.makedirs(os.path.join(tmp, 'v', f'c{i % 4}'), exist_ok=True)
      out = cv2.VideoWriter(os.path.join(tmp, 'v', f'c{i % 4}', f'{i}.mp4'),
                            cv2.VideoWriter_fourcc(*'mp4v'), 25, size)
      base = cv2.GaussianBlur(rng.integers(0, 255, (size[1], size[0] + 24, 3),
                                           dtype=np.uint8), (5, 5), 0)
      for t in range(12):
        out.write(np.ascontiguousarray(base[:, 2 * t:2 * t + size[0]]))
      out.release()
    config = video_folder.video_folder_config(
        os.path.join(tmp, 'v'), name='w', with_flow=True,
        tvl1_params=synthetic.SYNTHETIC_TVL1)
    builder = video_folder.VideoFolder(config=config, data_dir=tmp,
                                       num_workers=2, flow_backend='opencv')
    peaks, done = [0], threading.Event()
    watch = threading.Thread(target=_watch_children, args=(peaks, done))
    watch.start()
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig())
    done.set()
    watch.join()
  parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  print(json.dumps({'parent_mb': parent, 'worker_mb': peaks[0] / 1024}))


def _watch_children(peaks, done):
  """Keeps in peaks[0] the largest VmHWM (kB, peak RSS since exec) seen in
  this process's spawned workers, sampled every 0.1 s (ru_maxrss of
  children counts the parent's pages a child had before its exec)."""
  while not done.wait(0.1):
    for tasks in glob.glob(f'/proc/{os.getpid()}/task/*/children'):
      with open(tasks) as f:
        pids = f.read().split()
      for pid in pids:
        try:
          with open(f'/proc/{pid}/cmdline', 'rb') as f:
            if b'spawn_main' not in f.read():
              continue  # Forked, not yet a worker: the parent's pages.
          with open(f'/proc/{pid}/status') as f:
            hwm = [l for l in f if l.startswith('VmHWM:')]
        except OSError:
          continue
        if hwm:
          peaks[0] = max(peaks[0], int(hwm[0].split()[1]))


def write_memory():
  """Peak RSS of builds from video files: 1x / 10x clips, 1 / 8 shapes."""
  print('## peak RSS of a build from files (2 workers, 12-frame clips)')
  print('| clips, frame shapes | writing process | largest worker |')
  print('|---|---|---|')
  for k, shapes in ((1, 1), (10, 1), (1, 8), (10, 8)):
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), f'--write_child={k},'
         f'{shapes}'], capture_output=True, text=True, check=True,
        env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(f'| {16 * k}, {shapes} | {row["parent_mb"]:.0f} MB | '
          f'{row["worker_mb"]:.0f} MB |')


def main(argv):
  del argv
  if _WRITE_CHILD.value:
    _write_child(_WRITE_CHILD.value)
    return
  for section in _SECTIONS.value:
    {'prepare': prepare_stages, 'write_memory': write_memory}[section]()


if __name__ == '__main__':
  app.run(main)
