"""benchmarks/input.py runs at tiny sizes and prints its figures (the real clip, CPU)."""

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROW = re.compile(r'^\| (\S+(?: \([^)]*\))?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \|'
                 r' ([\d.]+) \| ([\d.]+) \| ([\d.]+) (kB|MB) \|', re.M)


def test_input_benchmark_at_tiny_sizes(fixtures_dir, tmp_path):
  env = dict(os.environ, KINETICS_TF_FIXTURES=str(fixtures_dir),
             TF_CPP_MIN_LOG_LEVEL='2')
  done = subprocess.run(
      [sys.executable, 'benchmarks/input.py', '--short_side', '40',
       '--c3d_side', '32', '--crop', '32', '--c3d_crop', '24', '--seconds',
       '1', '--examples', '3', '--dense_examples', '1', '--models', 'flow',
       '--layouts', 'png', '--k', '2', '--record_strides', '4',
       '--record_examples', '300', '--cache_dir', str(tmp_path)],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  out = done.stdout
  assert re.search(r'25 frames 53x40 \(side 40\), 24 flow fields', out), out
  err = re.search(r'JPEG flow \(q95\) against lossless: max (\d+) steps', out)
  assert err and 0 < int(err.group(1)) < 64
  rows = ROW.findall(out)
  # Training (one sample per read, records of 4 starts, then K = 2), then
  # dense (whole clips only).
  assert [r[0] for r in rows] == [
      'flow (png)', 'flow (png, flow-only set)',
      'flow (png, 4 starts per record)', 'flow (png, K=2)',
      'flow (png)', 'flow (png, flow-only set)']
  for row in rows:
    assert all(float(v) > 0 for v in row[1:7])
  assert re.search(r'flow \(png\): [\d.]+-[\d.]+ cores', out)
  assert re.search(r'^  (PASS|MISS) flow \(png, 4 starts per record\): '
                   r'[\d.]+x the reference', out, re.M)
  # 25 frames: 15 starts of a stack in 4 records of 3-4 starts.
  assert re.search(r'flow340_png_s4 [\d.]+ kB \(4\)', out), out
  # Bytes read against used, and disk against whole clips.
  assert re.search(r'^  (PASS|MISS) flow \(png, 4 starts per record\): '
                   r'reads [\d.]+x the bytes it uses', out, re.M), out
  assert re.search(r'^  (PASS|MISS) flow \(png, 4 starts per record\): '
                   r'train split [\d.]+x whole clips', out, re.M), out
  # The cached build is reused by a second run.
  # 6 whole-clip sets, rgb340_frames, flow340_png_s4, two_stream_s4.
  assert len(list(tmp_path.glob('*/tfds/video_folder/*/*'))) == 9


def test_learning_section_at_tiny_sizes(tmp_path):
  """--learning: accuracy at equal steps for each K (a few steps, 2 clips a class)."""
  done = subprocess.run(
      [sys.executable, 'benchmarks/input.py', '--learning', '--learning_k',
       '1,2', '--learning_steps', '3', '--learning_clips', '2',
       '--learning_seeds', '0',
       '--cache_dir', str(tmp_path)],
      cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'),
      capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  rows = re.findall(r'^\| (\d+) \| 0 \| (\d+) \| ([\d.]+) \| \d+ \|$',
                    done.stdout, re.M)
  assert [r[0] for r in rows] == ['1', '2'], done.stdout
  for _, reads, acc in rows:
    assert int(reads) > 0 and 0 <= float(acc) <= 1


def test_learning_records_section_at_tiny_sizes(tmp_path):
  """--learning_records: the flow stream from whole clips and from records."""
  done = subprocess.run(
      [sys.executable, 'benchmarks/input.py', '--learning_records',
       '--learning_steps', '2', '--learning_clips', '1', '--learning_seeds',
       '0,1', '--learning_frames', '24', '--record_strides', '4',
       '--cache_dir', str(tmp_path)],
      cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'),
      capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  rows = re.findall(r'^\| (whole clips|records of 4 starts) \| (\d+) \| '
                    r'[01] \| ([\d.]+) \| \d+ \|$', done.stdout, re.M)
  # 16 clips of 24 frames: 14 stack starts each in 4 records.
  assert [(r[0], r[1]) for r in rows] == [
      ('whole clips', '16'), ('whole clips', '16'),
      ('records of 4 starts', '64'), ('records of 4 starts', '64')]
  assert all(0 <= float(r[2]) <= 1 for r in rows)
  assert re.search(r'^records of 4 starts - whole clips: [+-][\d.]+ \+- '
                   r'[\d.]+ \(SE\)', done.stdout, re.M), done.stdout
