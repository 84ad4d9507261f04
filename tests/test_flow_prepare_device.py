"""Tests of flow/prepare_device.py: the TV-L1 on devices, pairs batched across clips.

No GPU here: 'CPU:i' stand-in owners run the same batched solver on the
CPU.  Tiny generated clips (64x48, side 32) and cheap TV-L1 settings.
"""

import os
import pathlib

import numpy as np
import pytest

from conftest import write_video
from test_flow_prepare import png_flow
from flow import decoding
from flow import prepare
from flow import prepare_device
from flow.tvl1 import chunk_size, quantised_flow, quantize
from flow.constants import FLOW_CHUNK

CHEAP = (('nscales', 3), ('warps', 2), ('epsilon', 0.1))
PARAMS = prepare.Params(short_side=32, backend='tf', tvl1_params=CHEAP)


def fake_flow(frames0, frames1):
  """A per-pair function standing in for the solver: routing errors show."""
  a, b = frames0.astype(np.int32), frames1.astype(np.int32)
  return np.stack([(a + 3 * b) % 256, (7 * a - b) % 256], -1).astype(np.uint8)


def random_clip(rng, frames, shape):
  return rng.integers(0, 256, (frames, *shape), dtype=np.uint8)


def test_batches_hold_pairs_of_several_clips_and_flow_goes_back_to_its_clip():
  rng = np.random.default_rng(0)
  small, large = (6, 8), (8, 10)
  clips = {'a': random_clip(rng, 7, small), 'b': random_clip(rng, 3, small),
           'c': random_clip(rng, 12, large), 'd': random_clip(rng, 2, small),
           'e': random_clip(rng, 5, large)}
  batcher = prepare_device.PairBatcher(4)
  done, batches = {}, []
  for key, frames in clips.items():
    batcher.add(key, frames, payload=key.upper())
    while (work := batcher.take()) is not None:  # Full batches only.
      batches.append(work)
      done.update({k: (f, p) for k, f, p in batcher.put(
          work, fake_flow(work.frames0, work.frames1))})
  assert batcher.waiting() == (6 + 2 + 1) % 4 + (11 + 4) % 4
  while (work := batcher.take(short=True)) is not None:
    batches.append(work)
    done.update({k: (f, p) for k, f, p in batcher.put(
        work, fake_flow(work.frames0, work.frames1))})
  assert batcher.held() == 0 and batcher.waiting() == 0
  assert sorted(done) == sorted(clips)
  for key, frames in clips.items():
    flow, payload = done[key]
    assert payload == key.upper()
    np.testing.assert_array_equal(flow, fake_flow(frames[:-1], frames[1:]))
  # Every call has the fixed batch size and one frame size; pairs of several
  # clips share calls; only the last call of each frame size is padded.
  assert all(len(b.frames0) == 4 and b.frames0.shape == b.frames1.shape
             for b in batches)
  assert sum(len(b.slots) for b in batches) == sum(
      len(f) - 1 for f in clips.values())
  assert any(b.clips > 1 for b in batches)
  assert [len(b.slots) for b in batches].count(4) == len(batches) - 2
  assert [b.slots[0][0] for b in batches if b.clips > 1]


def test_a_failed_batch_drops_its_clips_and_no_other():
  rng = np.random.default_rng(1)
  batcher = prepare_device.PairBatcher(4)
  batcher.add('a', random_clip(rng, 3, (5, 5)), 'pa')
  batcher.add('b', random_clip(rng, 9, (5, 5)), 'pb')
  batcher.add('c', random_clip(rng, 4, (5, 5)), 'pc')
  first = batcher.take()  # a's 2 pairs and b's first 2.
  assert {k for k, _ in first.slots} == {'a', 'b'}
  assert sorted(batcher.fail(first)) == [('a', 'pa'), ('b', 'pb')]
  rest = []
  while (work := batcher.take(short=True)) is not None:
    assert {k for k, _ in work.slots} == {'c'}
    rest += batcher.put(work, fake_flow(work.frames0, work.frames1))
  assert [k for k, _, _ in rest] == ['c'] and batcher.held() == 0


def test_bad_frames_and_devices_are_refused_with_the_reason():
  batcher = prepare_device.PairBatcher(2)
  with pytest.raises(ValueError, match='k1: want uint8'):
    batcher.add('k1', np.zeros((1, 4, 4), np.uint8))
  with pytest.raises(ValueError, match='batch must be >= 1'):
    prepare_device.PairBatcher(0)
  assert prepare_device.parse_devices('none', 2) == []
  assert prepare_device.parse_devices('all', 2) == ['GPU:0', 'GPU:1']
  assert prepare_device.parse_devices('gpu:1, CPU:0', 2) == ['GPU:1', 'CPU:0']
  with pytest.raises(ValueError, match='sees 1 GPU'):
    prepare_device.parse_devices('GPU:1', 1)
  with pytest.raises(ValueError, match='use GPU:i or CPU:i'):
    prepare_device.parse_devices('TPU:0', 1)
  with pytest.raises(ValueError, match='named twice'):
    prepare_device.parse_devices('CPU:0,cpu:0', 0)


def test_an_owner_sees_only_its_gpu(monkeypatch):
  monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
  assert prepare_device._cuda_ids('GPU:3') == '3'
  assert prepare_device._cuda_ids('CPU:0') == ''
  monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '4,6')
  assert prepare_device._cuda_ids('GPU:1') == '6'


def test_on_an_accelerator_the_clip_chunk_is_the_solver_batch(monkeypatch):
  """A chunk of FLOW_CHUNK pairs would give a device batches of 16."""
  from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
  calls = []

  def recorded(frames0, frames1, **kwargs):
    calls.append(len(frames0))
    return tvl1_tf.tf.zeros((*np.shape(frames0), 2))

  frames = np.zeros((150, 8, 8), np.uint8)
  monkeypatch.setattr(tvl1_tf, 'tvl1_pairs', recorded)
  quantised_flow(frames, 'tf')
  assert set(calls) == {1}  # CPU: one pair per call, in chunks of 16.
  assert chunk_size('tf') == chunk_size('opencv') == (
      FLOW_CHUNK)
  monkeypatch.setattr(tvl1_tf, '_on_accelerator', lambda: True)
  calls.clear()
  quantised_flow(frames, 'tf')
  assert chunk_size('tf') == tvl1_tf.default_batch_size() == 64
  assert calls == [64, 64, 32]  # 149 pairs: 64, 64, then 21 padded to 32.
  assert chunk_size('opencv') == FLOW_CHUNK


def _blocks():
  """The shared-memory blocks of this process's runs that exist now."""
  return prepare_device.blocks_of(os.getpid())


def _prepared(folder):
  out = {}
  for path in sorted(pathlib.Path(folder).rglob('*.rgb_flow.npz')):
    out[path.name.split('.')[0]] = prepare.unpack(path.read_bytes())
  return out


def test_two_owners_batch_across_clips_and_each_clip_equals_its_flow_alone(
    tmp_path):
  from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
  clips = [prepare.Clip(f'c{i}', str(write_video(
      tmp_path / f'c{i}.mp4', frames, seed=i)))
           for i, frames in enumerate((12, 9, 14, 5))]
  bad = tmp_path / 'bad.mp4'
  bad.write_bytes(b'not a video')
  clips.append(prepare.Clip('bad', str(bad)))
  clips.append(prepare.Clip('gone', None))
  batch = 8
  lines = []
  counts, stats = prepare_device.run(
      clips, tmp_path / 'prep', PARAMS, ['CPU:0', 'CPU:1'], workers=2,
      batch=batch, linger=2.0, progress=False, log=lines.append)
  assert counts[prepare.PREPARED] == counts['tvl1'] == 4
  assert counts[prepare.CORRUPT] == 1 and counts[prepare.MISSING] == 1
  # One owner process per device, each a process of its own, both used.
  assert [s.device for s in stats] == ['CPU:0', 'CPU:1']
  pids = {s.pid for s in stats}
  assert len(pids) == 2 and os.getpid() not in pids
  assert all(s.pairs > 0 for s in stats)
  assert sum(s.pairs for s in stats) == 11 + 8 + 13 + 4
  assert sum(s.mixed_batches for s in stats) >= 1
  # Every clip's frames came in shared memory (there is room here).
  assert [s.shared_clips for s in stats] == [s.clips for s in stats] == [2, 2]
  assert any(line.startswith('device CPU:0') for line in lines)
  folder = prepare.folder_for(tmp_path / 'prep', PARAMS)
  got = _prepared(folder)
  assert sorted(got) == ['c0', 'c1', 'c2', 'c3']
  assert prepare.read_skip(folder, 'bad').status == prepare.CORRUPT
  for clip in clips[:4]:
    jpegs, grays, _ = prepare.decode(clip, PARAMS, True)
    gray = np.stack(grays)
    alone = tvl1_tf.tvl1(gray, stopping='fixed', batch_size=batch,
                         **dict(CHEAP))
    np.testing.assert_array_equal(png_flow(got[clip.key].flow),
                                  quantize(alone))
    assert got[clip.key].frames == jpegs
    assert got[clip.key].tvl1_rule == (
        f'fixed:{tvl1_tf.fixed_iterations(*gray.shape[1:])}')
  assert _blocks() == []  # Every shared block was removed.
  # A rerun finds every clip done and starts no solver work.
  counts, stats = prepare_device.run(
      clips, tmp_path / 'prep', PARAMS, ['CPU:0'], workers=1, batch=batch,
      progress=False, log=lines.append)
  assert counts[prepare.REUSED] == 4 and counts[prepare.PREPARED] == 0
  assert stats[0].pairs == 0


def test_a_dead_owner_stops_the_run_with_the_reason_and_a_rerun_goes_on(
    tmp_path):
  import multiprocessing  # pylint: disable=import-outside-toplevel
  import signal  # pylint: disable=import-outside-toplevel
  import threading  # pylint: disable=import-outside-toplevel
  clips = [prepare.Clip(f'c{i}', str(write_video(
      tmp_path / f'c{i}.mp4', 6, seed=i))) for i in range(3)]

  def kill_the_owner():
    while True:
      owners = [p for p in multiprocessing.active_children()
                if p.name.startswith('flow-owner')]
      if owners and owners[0].pid:
        os.kill(owners[0].pid, signal.SIGKILL)
        return

  killer = threading.Thread(target=kill_the_owner, daemon=True)
  killer.start()
  with pytest.raises(prepare_device.DeviceRunError,
                     match=r'flow-owner-CPU:0 died .*run again to go on'):
    prepare_device.run(clips, tmp_path / 'prep', PARAMS, ['CPU:0'],
                       workers=1, batch=4, progress=False, log=print)
  killer.join(5)
  assert not [p for p in multiprocessing.active_children()
              if p.name.startswith('flow-')]  # No process left behind,
  assert _blocks() == []  # nor the shared memory of the clips in flight.
  counts, _ = prepare_device.run(clips, tmp_path / 'prep', PARAMS, ['CPU:0'],
                                 workers=1, batch=4, progress=False,
                                 log=print)
  assert counts[prepare.PREPARED] + counts[prepare.REUSED] == 3


def test_without_room_in_shared_memory_frames_and_flow_go_through_pipes(
    tmp_path, monkeypatch):
  from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
  monkeypatch.setattr(prepare_device, 'shared_memory_room',
                      lambda *args: '/dev/shm has 64 MiB free')
  clips = [prepare.Clip(f'c{i}', str(write_video(
      tmp_path / f'c{i}.mp4', frames, seed=i)))
           for i, frames in enumerate((7, 4))]
  lines = []
  counts, (stats,) = prepare_device.run(
      clips, tmp_path / 'prep', PARAMS, ['CPU:0'], workers=1, batch=4,
      progress=False, log=lines.append)
  assert counts[prepare.PREPARED] == 2
  assert (stats.clips, stats.shared_clips) == (2, 0)
  assert lines[0].startswith('prepare: /dev/shm has 64 MiB free: frames and '
                             'flow go through pipes instead')
  got = _prepared(prepare.folder_for(tmp_path / 'prep', PARAMS))
  for clip in clips:
    _, grays, _ = prepare.decode(clip, PARAMS, True)
    alone = tvl1_tf.tvl1(np.stack(grays), stopping='fixed', batch_size=4,
                         **dict(CHEAP))
    np.testing.assert_array_equal(png_flow(got[clip.key].flow), quantize(alone))


def test_a_full_shared_memory_mid_run_sends_that_clip_through_a_pipe(
    tmp_path, monkeypatch):
  """/dev/shm may fill while a run goes on (a long video): a block written
  past it would kill its writer, so that clip's arrays take a pipe."""
  monkeypatch.setattr(prepare_device, 'shared_memory_room', lambda *a: '')
  monkeypatch.setenv(prepare_device.SHM_RESERVE_ENV, str(2**40))  # All of it.
  clips = [prepare.Clip('c0', str(write_video(tmp_path / 'c0.mp4', 6)))]
  counts, (stats,) = prepare_device.run(
      clips, tmp_path / 'prep', PARAMS, ['CPU:0'], workers=1, batch=4,
      progress=False, log=print)
  assert counts[prepare.PREPARED] == 1
  assert (stats.clips, stats.shared_clips) == (1, 0)
  assert _blocks() == []


_RUN = '''
import sys
sys.path[:0] = {path!r}
from flow import prepare, prepare_device
if __name__ == '__main__':  # Spawned processes import this file.
  clips = [prepare.Clip(f'c{{i}}', f'{videos}/c{{i}}.mp4')
           for i in range({n})]
  params = prepare.Params(short_side=32, backend='tf', tvl1_params={cheap!r})
  prepare_device.run(clips, {root!r}, params, ['CPU:0'], workers=1, batch=8,
                     progress=False)
'''


def test_a_killed_run_leaves_no_process_nor_memory_and_a_rerun_goes_on(
    tmp_path):
  """kill -9 of the run's process alone: its workers and owner see it gone
  and stop, the shared blocks go, finished clips stay."""
  import signal  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel
  n = 60
  clips = [prepare.Clip(f'c{i}', str(write_video(
      tmp_path / f'c{i}.mp4', 30, seed=i))) for i in range(n)]
  script = tmp_path / 'run.py'
  root = tmp_path / 'prep'
  script.write_text(_RUN.format(path=sys.path, videos=tmp_path, n=n,
                                root=str(root), cheap=CHEAP))
  job = subprocess.Popen([sys.executable, str(script)],
                         start_new_session=True)
  folder = pathlib.Path(prepare.folder_for(root, PARAMS))
  deadline = time.monotonic() + 120
  while not folder.exists() or len(list(folder.glob('*.npz'))) < 3:
    assert time.monotonic() < deadline and job.poll() is None
    time.sleep(0.02)
  os.kill(job.pid, signal.SIGKILL)  # The run's process only.
  job.wait()
  deadline = time.monotonic() + 30
  while True:  # Its workers, owner and resource tracker end by themselves.
    try:
      os.killpg(job.pid, 0)
    except ProcessLookupError:
      break
    assert time.monotonic() < deadline, 'processes of the killed run remain'
    time.sleep(0.2)
  assert prepare_device.blocks_of(job.pid) == []
  done = {p.name for p in folder.glob('*.npz')}
  assert 3 <= len(done) < n
  counts, _ = prepare_device.run(clips, root, PARAMS, ['CPU:0'], workers=1,
                                 batch=8, progress=False, log=print)
  assert counts[prepare.REUSED] == len(done)
  assert counts[prepare.PREPARED] == n - len(done)
  assert not list(folder.glob('.*.tmp'))
