"""benchmarks/gpu.sh runs in its CPU smoke mode (CI has no GPU) with the Python it is given."""

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_gpu_script_smoke_mode_on_the_cpu(fixtures_dir):
  env = dict(os.environ, PYTHON=sys.executable, TF_CPP_MIN_LOG_LEVEL='2',
             KINETICS_TF_FIXTURES=str(fixtures_dir))
  done = subprocess.run(['bash', 'benchmarks/gpu.sh', '--smoke'], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=900)
  assert done.returncode == 0, done.stderr[-3000:]
  out = done.stdout
  # 1. Models: mixed-precision training steps, with and without XLA.
  rows = re.findall(r'^\| (rgb|c3d) \| [\dx]+ \| \d+ \| (True|False) \| '
                    r'([\d.]+) \|', out, re.M)
  assert [(m, j) for m, j, _ in rows] == [('rgb', 'False'), ('rgb', 'True'),
                                          ('c3d', 'False')], out
  assert all(float(r) > 0 for _, _, r in rows)
  # 2. The input pipeline on every core.
  assert re.search(r'^train: library on \d+ threads', out, re.M), out
  assert re.search(r'^\| flow \(png\) \| [\d.]+ \|', out, re.M)
  assert re.search(r'^\| flow \(png, K=8\) \| [\d.]+ \|', out, re.M)
  # 3. TV-L1 on a (stand-in) device: the solver, parity, the whole stage.
  assert re.findall(r'^\| 43x32 \(smoke\) \| (\d+) \| [\d.]+ \|', out,
                    re.M) == ['2', '4']
  assert re.search(r'^\| 40 \(default\) \| [\d.]+ \| (yes|NO) \|$', out,
                   re.M), out
  assert re.search(r'^device CPU:0 \(pid \d+\): 98 pairs in \d+ batches',
                   out, re.M), out
  assert re.search(r'^stage: 2 clips, 98 pairs in [\d.]+ s wall', out, re.M)
  assert re.search(r'^gpu.sh: done in \d+ s$', out, re.M)
