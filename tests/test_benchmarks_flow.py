"""The TV-L1 benchmark scripts run and print their figures (tiny sizes, CPU).

benchmarks/flow_gpu.sh is for a GPU machine, which this project's CI does
not have; its --smoke mode runs the same code at 64x48 on the CPU so that
the script is ready when a GPU is lent.
"""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(cmd, **env):
  environ = {k: v for k, v in os.environ.items()
             if k != 'KINETICS_TF_FIXTURES'}
  environ.update(env, TF_CPP_MIN_LOG_LEVEL='2')
  done = subprocess.run(cmd, cwd=ROOT, env=environ, capture_output=True,
                        text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  return done.stdout


def test_gpu_script_smoke_mode_on_the_cpu():
  out = _run(['bash', 'benchmarks/flow_gpu.sh', '--smoke'],
             PYTHON=sys.executable)
  assert 'frames 64x48; fixed budget 40 steps/warp' in out
  rates = re.findall(r'batch +(\d+): +([\d.]+) pairs/s', out)
  assert [int(b) for b, _ in rates] == [2, 4]
  assert all(float(r) > 0 for _, r in rates)
  assert 'parity check skipped' in out  # No fixtures given on purpose.


def test_step_and_size_sections(fixtures_dir):
  out = _run([sys.executable, 'benchmarks/flow_tf.py', '--sections',
              'step,sizes', '--size', '64x48', '--sweep', '48x32',
              '--pairs', '2'],
             KINETICS_TF_FIXTURES=str(fixtures_dir))
  step = dict(re.findall(r'^  (plain|solver) +([\d.]+) ms/step', out, re.M))
  assert set(step) == {'plain', 'solver'} and all(
      float(v) > 0 for v in step.values())
  diff = float(re.search(r'largest flow difference after 200 steps (\S+)',
                         out).group(1))
  assert diff < 1e-4  # Two formulations of the same step.
  row = re.search(r'^\| 48x32 \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \| '
                  r'([\d.]+) \|', out, re.M)
  assert row and all(float(v) > 0 for v in row.groups())


def test_opencv_versions_script(fixtures_dir, tmp_path):
  npz = tmp_path / 'ocv.npz'
  out = _run([sys.executable, 'benchmarks/opencv_versions.py', '--pairs', '1',
              '--size', '64x48', '--npz', str(npz)],
             KINETICS_TF_FIXTURES=str(fixtures_dir))
  rows = dict(re.findall(r'^\| (.+?) \| ([\d.]+) \|$', out, re.M))
  assert len(rows) == 3 and all(float(v) < 0.5 for v in rows.values()), rows
  # The two TF warps differ (by about 0.02 px at 340x256), but not by much.
  assert 0 < float(rows['TF exact vs TF 1/32 px warp']) < 0.2
  assert np.load(npz)['flow'].shape == (1, 48, 64, 2)  # kept for --against
