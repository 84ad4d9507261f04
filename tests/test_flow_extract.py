"""Tests of the flow extractor (flow.extract, flow.jobs) and its Beam pipeline (flow.beam)."""

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import write_video
import flow
from flow import decoding
from flow import extract
from flow import inputs
from flow import jobs
from flow import outputs

W, H = 64, 48


def _write_video(path, num_frames, size=(W, H), seed=0):
  """A small mpeg4 video of a smooth texture drifting right 1 px per frame."""
  w, h = size
  y, x = np.mgrid[0:h, 0:w + num_frames].astype(np.float64)
  rng = np.random.default_rng(seed)
  tex = sum(np.sin(rng.uniform(0.3, 0.8) * (np.cos(a) * x + np.sin(a) * y)
                   + rng.uniform(0, 6)) for a in rng.uniform(0, np.pi, 8))
  tex = np.round(128 + 100 * tex / np.abs(tex).max()).astype(np.uint8)
  gray = np.stack([tex[:, num_frames - i:num_frames - i + w]
                   for i in range(num_frames)])
  return write_video(path, np.repeat(gray[..., None], 3, axis=-1),
                     codec='mpeg4')


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
  folder = tmp_path_factory.mktemp('videos')
  return [_write_video(folder / f'clip{i}.mp4', 4, seed=i) for i in range(2)]


def _main(*args, default_backend=False):
  """Runs the CLI; with OpenCV's backend unless asked for the default (the
  TF backend compiles for ~10 s per frame size and process; the tests of
  the default are test_npy_output_matches_the_library and the TF backend's
  own)."""
  args = [str(a) for a in args] + ['--no_progress']
  if not default_backend and '--backend' not in args:
    args += ['--backend', 'opencv']
  return extract.main(args)


def test_npy_output_matches_the_library(videos, tmp_path, capsys):
  out = tmp_path / 'out'
  assert _main(*videos, '--out_dir', out, '--short_side', 0,
               '--workers', 1, default_backend=True) == 0
  printed = capsys.readouterr().out
  assert 'TV-L1 backend tf (auto)' in printed and '2 done (6 pairs' in printed
  for path in videos:
    stored = np.load(out / f'{path.stem}.npy')
    gray = decoding.to_gray(decoding.decode(path))
    assert stored.dtype == np.uint8 and stored.shape == (3, H, W, 2)
    np.testing.assert_array_equal(stored,
                                  flow.quantize(flow.tvl1(gray, 'tf')))
    # The texture drifts right by 1 px per frame.
    dx = flow.dequantize(stored)[:, 8:-8, 8:-8, 0]
    assert abs(np.median(dx) - 1.0) < 0.2


def test_tf_backend_in_worker_processes(videos, tmp_path, capsys):
  """The default (TF) backend in spawned workers, one TF thread each."""
  out = tmp_path / 'out'
  assert _main(*videos, '--out_dir', out, '--short_side', 0, '--workers', 2,
               default_backend=True) == 0
  printed = capsys.readouterr().out
  assert 'TV-L1 backend tf (auto), 2 worker(s) x 1 thread(s)' in printed
  for path in videos:
    gray = decoding.to_gray(decoding.decode(path))
    np.testing.assert_array_equal(np.load(out / f'{path.stem}.npy'),
                                  flow.quantize(flow.tvl1(gray, 'tf')))


def test_tvl1_flags_reach_opencv(videos, tmp_path, capsys):
  out = tmp_path / 'out'
  assert _main(videos[0], '--out_dir', out, '--short_side', 0, '--workers', 1,
               '--tvl1', 'warps=1', '--tvl1', 'nscales=1') == 0
  assert 'TV-L1 backend opencv,' in capsys.readouterr().out
  gray = decoding.to_gray(decoding.decode(videos[0]))
  np.testing.assert_array_equal(
      np.load(out / 'clip0.npy'),
      flow.quantize(flow.tvl1(gray, warps=1, nscales=1)))
  assert _main(videos[0], '--out_dir', out, '--tvl1', 'taux=1') == 2
  assert "unknown TV-L1 parameter 'taux'" in capsys.readouterr().err
  assert _main(videos[0], '--out_dir', out, '--backend', 'tf', '--tvl1',
               'gamma=0.1') == 2
  assert '--backend tf does not implement gamma' in capsys.readouterr().err
  assert _main(videos[0], '--out_dir', tmp_path / 'g', '--short_side', 0,
               '--tvl1', 'gamma=0.1', '--tvl1', 'warps=1', '--tvl1',
               'nscales=1', default_backend=True) == 0
  assert 'TV-L1 backend opencv (auto)' in capsys.readouterr().out


def test_chunks_join_without_a_gap(videos, tmp_path):
  opts = jobs.Options(short_side=None, chunk=2)
  count, chunked = jobs.compute_flow(videos[0], opts)
  _, whole = jobs.compute_flow(videos[0], jobs.Options(short_side=None))
  assert count == 4 and chunked.shape == (3, H, W, 2)
  np.testing.assert_array_equal(chunked, whole)


def test_jpeg_layout(videos, tmp_path):
  out = tmp_path / 'out'
  assert _main(videos[0], '--out_dir', out, '--format', 'jpeg',
               '--short_side', 32, '--workers', 1) == 0
  folder = out / videos[0].stem
  assert sorted(p.name for p in folder.iterdir()) == [
      f'{a}_{i:05d}.jpg' for a in 'xy' for i in (1, 2, 3)]
  _, exact = jobs.compute_flow(videos[0], jobs.Options(short_side=32))
  stored = outputs.read_flow(folder)
  assert stored.shape == exact.shape == (3, 32, 43, 2)
  assert np.abs(stored.astype(int) - exact).mean() < 2  # JPEG is lossy.
  assert not [p for p in out.iterdir() if p.name.startswith('.')]


def test_list_file_and_clashing_names(videos, tmp_path, capsys):
  listing = tmp_path / 'videos.txt'
  listing.write_text(f'# two clips\n{videos[0]}\n\n{videos[1]}\n')
  pairs = inputs.list_videos([listing])
  assert [str(k) for _, k in pairs] == ['clip0', 'clip1']
  sub = tmp_path / 'a'
  sub.mkdir()
  (sub / 'clip0.avi').write_bytes(b'x')
  assert _main(videos[0], sub / 'clip0.avi', '--out_dir', tmp_path / 'o') == 2
  assert 'would both write flow "clip0"' in capsys.readouterr().err
  assert _main(tmp_path / 'missing.mp4', '--out_dir', tmp_path / 'o') == 2


def test_bad_inputs_are_reported_and_skipped(videos, tmp_path, capsys):
  bad = tmp_path / 'in'
  bad.mkdir()
  (bad / 'good.mp4').write_bytes(videos[0].read_bytes())
  (bad / 'empty.mp4').write_bytes(b'')
  (bad / 'noise.mp4').write_bytes(np.random.default_rng(0).bytes(5000))
  data = videos[1].read_bytes()
  (bad / 'truncated.mp4').write_bytes(data[:len(data) // 2])
  _write_video(bad / 'single.mp4', 1)
  out = tmp_path / 'out'
  assert _main(bad, '--out_dir', out, '--short_side', 0, '--workers', 1) == 1
  captured = capsys.readouterr()
  assert ('5 videos: 1 done (3 pairs' in captured.out and
          '1 skipped (1 too few frames), 3 failed' in captured.out)
  for name in ('empty', 'noise', 'truncated'):
    assert f'failed {bad / name}.mp4: cannot decode' in captured.err
  assert f'skipped {bad / "single"}.mp4: 1 frame(s) decoded' in captured.err
  assert sorted(p.name for p in out.iterdir()) == ['good.npy']


def test_unwritable_out_dir_marks_nothing_done(videos, tmp_path, capsys):
  blocker = tmp_path / 'file'
  blocker.write_text('not a folder')
  assert _main(videos[0], '--out_dir', blocker / 'flow') == 2
  err = capsys.readouterr().err
  assert f'cannot write to output folder {blocker / "flow"}' in err
  assert 'Nothing was computed' in err
  if os.geteuid() != 0:  # root writes anywhere.
    locked = tmp_path / 'locked'
    locked.mkdir(mode=0o500)
    assert _main(videos[0], '--out_dir', locked) == 2
    assert list(locked.iterdir()) == []


def test_killed_run_resumes_without_recomputing(tmp_path, capsys):
  src, out = tmp_path / 'in', tmp_path / 'out'
  src.mkdir()
  for i in range(6):
    _write_video(src / f'v{i}.mp4', 5, seed=i)
  cmd = [sys.executable, '-m', 'flow.extract', str(src), '--out_dir',
         str(out), '--short_side', '0', '--workers', '1', '--no_progress',
         '--backend', 'opencv']
  proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  deadline = time.time() + 120
  while not list(out.glob('*.npy')) and time.time() < deadline:
    time.sleep(0.01)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  finished = {p.name: p.stat().st_mtime_ns for p in out.glob('*.npy')}
  assert 1 <= len(finished) < 6, 'the kill came too late to test resuming'
  for name in finished:  # Whatever looks finished is complete.
    assert np.load(out / name).shape == (4, H, W, 2)
  # A write the kill interrupted: a temp name that must never count as done.
  host = socket.gethostname().replace('.', '_')
  stale = out / f'.v5.npy.{host}-{proc.pid}.tmp'
  stale.write_bytes(b'\x93NUMPY half')
  assert _main(src, '--out_dir', out, '--short_side', 0, '--workers', 2) == 0
  captured = capsys.readouterr().out
  assert f'{len(finished)} already done' in captured
  assert f'{6 - len(finished)} done' in captured
  assert not stale.exists() and not list(out.glob('.*'))
  assert sorted(p.name for p in out.iterdir()) == [f'v{i}.npy' for i in range(6)]
  for name, mtime in finished.items():
    assert (out / name).stat().st_mtime_ns == mtime, f'{name} was recomputed'


def test_fixture_clips_give_t_minus_1_fields(fixture_videos, tmp_path):
  clips = sorted(fixture_videos.iterdir())
  out = tmp_path / 'out'
  assert _main(fixture_videos, '--out_dir', out, '--short_side', 32,
               '--max_frames', 3, '--workers', 1) == 0
  for clip in clips:
    info = decoding.probe(clip)
    h, w = decoding.resized_size(info.height, info.width, 32)
    assert np.load(out / f'{clip.stem}.npy').shape == (2, h, w, 2), clip.name
  # A whole clip: one field per pair of the frames decoded at 25 fps.
  short = fixture_videos / 'short_32frames_30fps.mp4'
  num_frames = len(decoding.decode(short, short_side=32))
  count, whole = jobs.compute_flow(short, jobs.Options(short_side=32))
  assert count == num_frames and whole.shape[0] == num_frames - 1


def test_beam_pipeline_on_two_videos(videos, tmp_path, caplog):
  from flow import beam as flow_beam  # pylint: disable=import-outside-toplevel
  out = tmp_path / 'out'
  args = [str(v) for v in videos] + ['--out_dir', str(out), '--short_side',
                                     '32', '--runner', 'DirectRunner',
                                     '--backend', 'opencv']
  assert flow_beam.main(args) == 0
  assert sorted(p.name for p in out.glob('*.npy')) == ['clip0.npy', 'clip1.npy']
  assert np.load(out / 'clip0.npy').shape == (3, 32, 43, 2)
  rows = [json.loads(line) for f in out.glob('flow_results*.jsonl')
          for line in f.read_text().splitlines()]
  assert sorted((r['status'], r['pairs']) for r in rows) == [('done', 3)] * 2
  mtime = (out / 'clip0.npy').stat().st_mtime_ns
  for f in out.glob('flow_results*.jsonl'):
    f.unlink()
  assert flow_beam.main(args) == 0
  rows = [json.loads(line) for f in out.glob('flow_results*.jsonl')
          for line in f.read_text().splitlines()]
  assert [r['reason'] for r in rows] == ['already done'] * 2
  assert (out / 'clip0.npy').stat().st_mtime_ns == mtime


def test_flow_imports_nothing_from_kinetics_tf():
  """A cluster worker installs and runs flow/ alone."""
  code = ('import sys, flow, flow.extract, flow.beam; '
          "print([m for m in sys.modules if m.startswith('kinetics_tf')])")
  done = subprocess.run([sys.executable, '-c', code], capture_output=True,
                        text=True, check=True, timeout=300)
  assert done.stdout.strip() == '[]'


def test_through_a_prepared_folder_tvl1_runs_once(videos, tmp_path,
                                                  monkeypatch):
  tvl1_module = importlib.import_module('flow.tvl1')
  calls, real = [], tvl1_module.quantised_chunks
  monkeypatch.setattr(tvl1_module, 'quantised_chunks',
                      lambda *a, **k: calls.append(1) or real(*a, **k))
  prepared = tmp_path / 'prepared'
  assert _main(*videos, '--out_dir', tmp_path / 'npy', '--workers', 1,
               '--prepared_dir', prepared) == 0
  assert len(calls) == len(videos)
  assert _main(*videos, '--out_dir', tmp_path / 'jpeg', '--format', 'jpeg',
               '--workers', 1, '--prepared_dir', prepared) == 0
  assert len(calls) == len(videos)  # The second format reused the flow.
  assert _main(*videos, '--out_dir', tmp_path / 'direct',
               '--workers', 1) == 0
  for path in videos:
    np.testing.assert_array_equal(np.load(tmp_path / 'npy' / f'{path.stem}.npy'),
                                  np.load(tmp_path / 'direct' /
                                          f'{path.stem}.npy'))
