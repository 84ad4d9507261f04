"""The newcomer's first run (`kinetics-tf demo`), in settings small enough for CI.

* The paper's two-stream result in miniature, on the synthetic set with a
  fixed seed: flow beats RGB on the motion classes, RGB beats flow on the
  appearance classes, and the fusion beats both overall (~3 min).
* The same command on a folder of videos (one sub-folder per class), through
  the console script, with its printed table checked against summary.json.
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import write_video
from kinetics_tf import demo
from kinetics_tf.datasets.synthetic import renderer

MARGIN = 0.10  # accuracy points the orderings must hold by.


@pytest.fixture(scope='module')
def synthetic_run(tmp_path_factory):
  # 500 steps per stream instead of the demo's 1500: the orderings already
  # hold by wide margins (the full demo: docs in README.md).
  return demo.run(str(tmp_path_factory.mktemp('demo')), max_steps=500, seed=0)


def test_flow_wins_on_motion_rgb_on_appearance_fusion_overall(synthetic_run):
  fam = synthetic_run.families
  assert set(fam) == {'motion', 'appearance'}
  assert fam['motion']['flow'] >= fam['motion']['rgb'] + MARGIN, fam
  assert fam['appearance']['rgb'] >= fam['appearance']['flow'] + MARGIN, fam
  streams = synthetic_run.summary['streams']
  best_single = max(streams['rgb']['top1'], streams['flow']['top1'])
  assert streams['rgb+flow']['top1'] >= best_single + MARGIN, streams


def test_demo_writes_reports_and_loadable_saved_models(synthetic_run):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  assert set(synthetic_run.saved_models) == {'rgb', 'flow', 'two_stream'}
  fused = tf.saved_model.load(synthetic_run.saved_models['two_stream'])
  assert 'serving_default' in fused.signatures
  for name in ('report.md', 'summary.json', 'table4.md', 'families.json',
               'scores.npz'):
    assert os.path.isfile(os.path.join(synthetic_run.report_dir, name)), name
  with open(os.path.join(synthetic_run.report_dir, 'families.json')) as f:
    assert json.load(f) == synthetic_run.families


@pytest.fixture(scope='module')
def video_folder(tmp_path_factory):
  """3 classes x 6 H.264 clips of 24 frames at 64x64 (4 train, 1 validation,
  1 test each)."""
  root = tmp_path_factory.mktemp('my_videos')
  for c, name in enumerate(('move_left', 'move_right', 'red_stripes')):
    (root / name).mkdir()
    for i in range(6):
      frames = renderer.render(name, (c, i), size=64, num_frames=24)
      write_video(root / name / f'{name}_{i}.mp4', frames, codec='libx264')
  return root


def test_demo_on_a_folder_of_videos_prints_the_summary(video_folder, tmp_path):
  out = tmp_path / 'run'
  proc = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.cli', 'demo', f'--videos={video_folder}',
       f'--out_dir={out}', '--max_steps=4', '--workers=1'],
      capture_output=True, text=True, timeout=900, check=False)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  printed = demo.parse_table(proc.stdout)
  with open(out / 'report' / 'summary.json') as f:
    summary = json.load(f)
  assert summary['clips']['failed'] == 0
  assert summary['clips']['scored'] == summary['clips']['expected'] == 3
  for stream, (top1, top5) in printed.items():
    assert top1 == pytest.approx(100 * summary['streams'][stream]['top1'], abs=0.05)
    assert top5 == pytest.approx(100 * summary['streams'][stream]['top5'], abs=0.05)
  assert 'per class family' not in proc.stdout  # no families for user folders
  for kind in ('rgb', 'flow', 'two_stream'):
    assert (out / 'saved_models' / kind / 'saved_model.pb').is_file(), kind
  assert str(out / 'report' / 'report.md') in proc.stdout


def test_parse_table_reads_what_format_table_writes():
  summary = {'streams': {s: {'top1': t1, 'top5': t5} for s, t1, t5 in
                         (('rgb', 0.5, 0.9), ('flow', 0.25, 0.75),
                          ('rgb+flow', 0.625, 1.0))}}
  text = demo.format_table(summary, None, 'title')
  assert demo.parse_table(text) == {'rgb': (50.0, 90.0), 'flow': (25.0, 75.0),
                                    'rgb+flow': (62.5, 100.0)}
  with pytest.raises(ValueError, match='no "| Two-Stream" row'):
    demo.parse_table('nothing here')
