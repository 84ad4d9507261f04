"""Tests of flow/prepare.py, flow/prepare_run.py and flow/storage.py: the preparation stage.

Tiny generated clips (64x48, side 32) and cheap TV-L1 settings: one clip
prepares in well under a second.
"""

import os
import pathlib
import random
import signal
import subprocess
import sys
import textwrap
import time

import cv2
import numpy as np
import pytest

from conftest import write_video
import flow
from flow import decoding
from flow import prepare
from flow import prepare_run

CHEAP = (('nscales', 3), ('warps', 2), ('epsilon', 0.1))
PARAMS = prepare.Params(short_side=32, tvl1_params=CHEAP)


def clips_in(folder, n, frames=12):
  """n generated clips in ``folder``, keyed c0..c{n-1}."""
  return [prepare.Clip(f'c{i}', str(write_video(
      pathlib.Path(folder) / f'c{i}.mp4', frames, seed=i))) for i in range(n)]


def contents(root, params=PARAMS):
  """key -> (frames, flow) of every prepared clip under root."""
  folder = pathlib.Path(prepare.folder_for(root, params))
  out = {}
  for path in sorted(folder.rglob('*.npz')):
    clip = prepare.unpack(path.read_bytes())
    out[path.name.split('.')[0]] = (clip.frames, clip.flow)
  return out


def png_flow(flow_png):
  return np.stack([np.stack([cv2.imdecode(np.frombuffer(b, np.uint8),
                                          cv2.IMREAD_UNCHANGED)
                             for b in flow_png[a]]) for a in 'xy'], axis=-1)


def test_a_prepared_clip_holds_the_frames_and_flow_of_the_conventions(
    tmp_path):
  (clip,) = clips_in(tmp_path, 1)
  folder = prepare.folder_for(tmp_path / 'prep', PARAMS)
  prepare.write_manifest(folder, PARAMS)
  result, prepared = prepare.ensure(clip, folder, PARAMS, with_flow=True)
  assert result.status == prepare.PREPARED and result.tvl1
  frames = decoding.decode(clip.path, short_side=32)
  assert len(prepared.frames) == len(frames) == 12
  assert prepared.frames == [  # The builders' JPEG, byte for byte.
      cv2.imencode('.jpg', f[..., ::-1].copy(),
                   [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
      for f in frames]
  want = flow.quantised_flow(decoding.to_gray(frames), 'opencv', **dict(CHEAP))
  np.testing.assert_array_equal(png_flow(prepared.flow), want)
  again, reread = prepare.ensure(clip, folder, PARAMS, with_flow=True)
  assert again.status == prepare.REUSED and not again.tvl1
  assert reread == prepared


def test_rerun_reuses_and_a_failure_is_recorded_once(tmp_path, monkeypatch):
  good = clips_in(tmp_path, 2)
  bad = tmp_path / 'bad.mp4'
  bad.write_bytes(b'not a video')
  todo = good + [prepare.Clip('bad', str(bad)), prepare.Clip('gone', None)]
  counts = prepare_run.run(todo, tmp_path / 'prep', PARAMS, True,
                           progress=False)
  assert (counts[prepare.PREPARED], counts['tvl1'], counts[prepare.CORRUPT],
          counts[prepare.MISSING]) == (2, 2, 1, 1)
  tried = []
  real = prepare.compute
  monkeypatch.setattr(prepare, 'compute',
                      lambda *a, **k: tried.append(a[0].key) or real(*a, **k))
  lines = []
  counts = prepare_run.run(todo, tmp_path / 'prep', PARAMS, True,
                           progress=False, log=lines.append)
  assert tried == []  # Neither the finished clips nor the corrupt one.
  assert (counts[prepare.REUSED], counts[prepare.CORRUPT],
          counts[prepare.MISSING], counts[prepare.PREPARED]) == (2, 1, 1, 0)
  assert '2 reused, 1 missing, 1 corrupt' in lines[-1]


def test_a_damaged_prepared_file_is_made_again(tmp_path):
  (clip,) = clips_in(tmp_path, 1)
  folder = prepare.folder_for(tmp_path / 'prep', PARAMS)
  _, good = prepare.ensure(clip, folder, PARAMS, with_flow=True)
  path = pathlib.Path(prepare.clip_file(folder, 'c0', True))
  path.write_bytes(path.read_bytes()[:1000])  # A truncated copy.
  result, again = prepare.ensure(clip, folder, PARAMS, with_flow=True)
  assert result.status == prepare.PREPARED and again == good


def test_a_clip_with_other_parameters_is_not_reused(tmp_path):
  todo = clips_in(tmp_path, 1)
  other_side = prepare.Params(short_side=24, tvl1_params=CHEAP)
  other_tvl1 = prepare.Params(short_side=32, tvl1_params=(('warps', 1),))
  names = {p.folder_name() for p in (PARAMS, other_side, other_tvl1)}
  assert len(names) == 3
  for params in (PARAMS, other_side, other_tvl1):
    counts = prepare_run.run(todo, tmp_path / 'prep', params, True,
                             progress=False)
    assert counts[prepare.PREPARED] == 1, params
  folder = prepare.folder_for(tmp_path / 'prep', PARAMS)
  (pathlib.Path(folder) / prepare.MANIFEST).write_text('{"params": {}}')
  with pytest.raises(ValueError, match='other parameters'):
    prepare.write_manifest(folder, PARAMS)


def test_frames_first_then_flow_computes_flow_once(tmp_path):
  todo = clips_in(tmp_path, 1)
  root = tmp_path / 'prep'
  assert prepare_run.run(todo, root, PARAMS, False,
                         progress=False)['tvl1'] == 0
  counts = prepare_run.run(todo, root, PARAMS, True, progress=False)
  assert counts[prepare.PREPARED] == counts['tvl1'] == 1
  files = os.listdir(prepare.folder_for(root, PARAMS))
  assert sorted(files) == ['c0.rgb_flow.npz', prepare.MANIFEST]
  assert prepare_run.run(todo, root, PARAMS, False,
                         progress=False)[prepare.REUSED] == 1


def test_a_ram_filesystem_root_and_source(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  (local,) = clips_in(tmp_path, 1)
  tf.io.gfile.makedirs('ram://videos')
  tf.io.gfile.copy(local.path, 'ram://videos/c0.mp4', overwrite=True)
  remote = prepare.Clip('c0', 'ram://videos/c0.mp4')
  counts = prepare_run.run([remote], 'ram://prep', PARAMS, True,
                           progress=False)
  assert counts[prepare.PREPARED] == 1
  folder = prepare.folder_for('ram://prep', PARAMS)
  assert sorted(tf.io.gfile.listdir(folder)) == [
      'c0.rgb_flow.npz', prepare.MANIFEST]
  prepare_run.run([local], tmp_path / 'prep', PARAMS, True, progress=False)
  with tf.io.gfile.GFile(folder + '/c0.rgb_flow.npz', 'rb') as f:
    assert prepare.unpack(f.read()) == prepare.unpack(
        (pathlib.Path(prepare.folder_for(tmp_path / 'prep', PARAMS)) /
         'c0.rgb_flow.npz').read_bytes())


_RUN = textwrap.dedent('''
    import sys
    sys.path[:0] = {path!r}
    from flow import prepare, prepare_run
    if __name__ == '__main__':
      todo = [prepare.Clip(f'c{{i}}', f'{videos}/c{{i}}.mp4')
              for i in range({n})]
      prepare_run.run(todo, {root!r}, prepare.Params(
          short_side=32, tvl1_params={cheap!r}), True, workers=2,
          progress=False)
''')


def _start(tmp_path, root, n):
  script = tmp_path / f'run_{root.name}.py'
  script.write_text(_RUN.format(path=sys.path, videos=tmp_path, n=n,
                                root=str(root), cheap=CHEAP))
  return subprocess.Popen([sys.executable, str(script)],
                          start_new_session=True)


def test_kill_9_loses_only_the_clips_in_flight(tmp_path):
  n = 10
  clips_in(tmp_path, n, frames=30)
  full = _start(tmp_path, tmp_path / 'full', n)
  assert full.wait(120) == 0
  killed_root = tmp_path / 'killed'
  folder = pathlib.Path(prepare.folder_for(killed_root, PARAMS))
  job = _start(tmp_path, killed_root, n)
  want = random.Random().randint(1, n // 2)
  deadline = time.monotonic() + 120
  while (not folder.exists() or len(list(folder.glob('*.npz'))) < want):
    assert time.monotonic() < deadline and job.poll() is None
    time.sleep(0.02)
  os.killpg(job.pid, signal.SIGKILL)  # The job and its workers at once.
  job.wait()
  deadline = time.monotonic() + 30
  while True:  # Until every worker is gone (reaped), as after a crash.
    try:
      os.killpg(job.pid, 0)
    except ProcessLookupError:
      break
    assert time.monotonic() < deadline, 'processes of the killed job remain'
    time.sleep(0.05)
  done = {p.name: p.stat().st_mtime_ns for p in folder.glob('*.npz')}
  assert want <= len(done) < n
  todo = [prepare.Clip(f'c{i}', str(tmp_path / f'c{i}.mp4'))
          for i in range(n)]
  counts = prepare_run.run(todo, killed_root, PARAMS, True, progress=False)
  # Only the clips not finished at the kill are computed again: at most the
  # 2 workers' clips in flight then, plus those not started.
  assert counts[prepare.PREPARED] == n - len(done)
  assert counts[prepare.REUSED] == len(done)
  assert {p.name: p.stat().st_mtime_ns for p in folder.glob('*.npz')
          if p.name in done} == done
  assert not list(folder.glob('.*.tmp'))
  assert contents(killed_root) == contents(tmp_path / 'full')


def test_unordered_yields_in_completion_order_and_recycles_workers():
  # The slow item goes first; the others finish while it runs (4 s leave
  # the second worker time to start on a loaded machine).
  results = list(prepare_run.unordered(_sleep_pid, [4.0] + [0.0] * 5, 2))
  assert [s for s, _ in results] == [0.0] * 5 + [4.0]
  results = list(prepare_run.unordered(_sleep_pid, [0.0] * 4, 2,
                                       max_tasks=1))
  assert len({pid for _, pid in results}) == 4  # One process per item.


def test_recycled_workers_never_stall_the_pool():
  # python/cpython#115634: ProcessPoolExecutor with max_tasks_per_child
  # stopped replacing workers when tasks waited in its queue (200 tasks
  # queued at once on 2 workers of 2 tasks each hung there after ~150).
  code = ('import sys; sys.path[:0] = %r\n'
          'from flow import prepare_run\n'
          'import test_flow_prepare as t\n'
          "if __name__ == '__main__':\n"
          '  out = list(prepare_run.unordered(t._sleep_pid, [0.0] * 60, 2,\n'
          '                                   max_tasks=2))\n'
          '  print(len(out), len({p for _, p in out}))\n' % sys.path)
  done = subprocess.run([sys.executable, '-c', code], capture_output=True,
                        text=True, timeout=240, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  results, processes = map(int, done.stdout.split())
  assert results == 60 and processes >= 30  # At most 2 tasks a process.


def _sleep_pid(seconds):
  time.sleep(seconds)
  return seconds, os.getpid()


def test_beam_prepares_the_same_files_as_the_local_pool(tmp_path):
  import apache_beam as beam  # pylint: disable=g-import-not-at-top
  from apache_beam.runners.direct import direct_runner  # pylint: disable=g-import-not-at-top
  from apache_beam.testing import util as beam_util  # pylint: disable=g-import-not-at-top
  from flow import beam as flow_beam  # pylint: disable=g-import-not-at-top
  bad = tmp_path / 'bad.mp4'
  bad.write_bytes(b'not a video')
  todo = clips_in(tmp_path, 3) + [prepare.Clip('bad', str(bad))]
  prepare_run.run(todo, tmp_path / 'local', PARAMS, True, workers=2,
                  progress=False)
  # The classic in-process runner (Beam 2.77's default tries Prism first).
  with beam.Pipeline(runner=direct_runner.BundleBasedDirectRunner()) as p:
    results = (p | beam.Create([tuple(c) for c in todo])
               | flow_beam.PrepareClips(tmp_path / 'beam', PARAMS, True))
    statuses = results | beam.Map(lambda r: (r['key'], r['status']))
    beam_util.assert_that(statuses, beam_util.equal_to(
        [('c0', 'prepared'), ('c1', 'prepared'), ('c2', 'prepared'),
         ('bad', 'corrupt')]))
  assert contents(tmp_path / 'beam') == contents(tmp_path / 'local')
  assert len(contents(tmp_path / 'beam')) == 3


def test_a_failed_clip_is_kept_failed_until_retried(tmp_path, monkeypatch):
  todo = clips_in(tmp_path, 1)
  real = prepare.compute

  def broken(*args, **kwargs):
    raise MemoryError('no room')

  monkeypatch.setattr(prepare, 'compute', broken)
  root = tmp_path / 'prep'
  assert prepare_run.run(todo, root, PARAMS, True,
                         progress=False)[prepare.FAILED] == 1
  monkeypatch.setattr(prepare, 'compute', real)
  assert prepare_run.run(todo, root, PARAMS, True,
                         progress=False)[prepare.FAILED] == 1
  (recorded,) = pathlib.Path(prepare.folder_for(root, PARAMS)).glob(
      '*' + prepare.SKIP_SUFFIX)
  assert 'MemoryError: no room' in recorded.read_text()
  counts = prepare_run.run(todo, root, PARAMS, True, progress=False,
                           retry_failed=True)
  assert counts[prepare.PREPARED] == 1 and not recorded.exists()
