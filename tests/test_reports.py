"""The report writer: files, JSON summary and Markdown of a small hand-computed evaluation."""

import csv
import json
import os

import numpy as np
import pytest

from kinetics_tf import reports

NAMES = ('a', 'b', 'c', 'd')
LABELS = np.array([0, 0, 1, 2, 3])
RGB = np.array([[.7, .1, .1, .1], [.1, .7, .1, .1], [.1, .7, .1, .1],
                [.1, .1, .1, .7], [.1, .1, .1, .7]])      # right: clips 0, 2, 4.
FLOW = np.array([[.7, .1, .1, .1], [.7, .1, .1, .1], [.1, .1, .7, .1],
                 [.1, .1, .7, .1], [.1, .1, .1, .7]])     # right: clips 0, 1, 3, 4.


@pytest.fixture(scope='module')
def written(tmp_path_factory):
  out = str(tmp_path_factory.mktemp('report'))
  summary = reports.write_report(
      out, {'rgb': RGB, 'flow': FLOW, 'rgb+flow': (RGB + FLOW) / 2}, LABELS, NAMES,
      clip_ids=['v0', 'v1', 'v2', 'v3', 'v4'],
      groups={'first': ('a', 'b'), 'second': ('c', 'd')},
      expected=7,
      failures=[{'clip': 'v5', 'kind': 'decode', 'reason': 'v5.mp4: moov atom not found'}],
      title='Tiny', meta={'dataset': 'hand-made'})
  return out, summary


def test_summary_counts_and_accuracies(written):
  out, summary = written
  assert summary['clips']['expected'] == 7
  assert summary['clips']['scored'] == 5
  assert summary['clips']['failed'] == 1
  assert summary['clips']['failure_kinds'] == {'decode': 1}
  assert summary['streams']['rgb']['top1'] == pytest.approx(3 / 5)
  assert summary['streams']['flow']['top1'] == pytest.approx(4 / 5)
  # rgb: a 1/2, b 1/1, c 0/1, d 1/1 -> mean 0.625.
  assert summary['streams']['rgb']['mean_class_accuracy'] == pytest.approx(0.625)
  assert summary['primary'] == 'rgb+flow'
  with open(os.path.join(out, 'summary.json')) as f:
    assert json.load(f) == summary


def test_flow_gain_lists_c_first(written):
  out, summary = written
  # Per class, flow - rgb: a 1.0-0.5, b 0.0-1.0, c 1.0-0.0, d 0.
  gains = [(g['class'], g['gain']) for g in summary['flow_gain_top10']]
  assert gains == [('c', 1.0), ('a', 0.5), ('d', 0.0), ('b', -1.0)]
  with open(os.path.join(out, 'flow_gain.csv')) as f:
    rows = list(csv.DictReader(f))
  assert [r['class'] for r in rows] == ['c', 'a', 'd', 'b']


def test_per_class_csv_sorted_and_confusions(written):
  out, summary = written
  with open(os.path.join(out, 'per_class_accuracy_rgb.csv')) as f:
    rows = list(csv.DictReader(f))
  assert [(r['class'], float(r['accuracy'])) for r in rows] == [
      ('b', 1.0), ('d', 1.0), ('a', 0.5), ('c', 0.0)]
  with open(os.path.join(out, 'top_confusions_rgb.csv')) as f:
    rows = list(csv.DictReader(f))
  assert [(r['true_class'], r['predicted_class'], r['count']) for r in rows] == [
      ('c', 'd', '1'), ('a', 'b', '1')]
  cm = np.load(os.path.join(out, 'confusion_matrix_rgb.npy'))
  assert cm.sum() == 5 and cm[2, 3] == 1 and cm[0, 1] == 1


def test_groups_and_failures_files(written):
  out, summary = written
  groups = {g['group']: g['accuracy'] for g in summary['groups']}
  fused = (RGB + FLOW) / 2  # predictions: a, a|b tie -> a, b, c|d tie -> c, d
  assert list(fused.argmax(1)) == [0, 0, 1, 2, 3]
  assert groups == {'first': 1.0, 'second': 1.0}
  with open(os.path.join(out, 'failures.csv')) as f:
    assert list(csv.DictReader(f)) == [
        {'clip': 'v5', 'kind': 'decode', 'reason': 'v5.mp4: moov atom not found'}]


def test_pngs_and_markdown(written):
  out, summary = written
  for name in ('per_class_accuracy_rgb+flow.png'.replace('+', '_'), 'flow_gain.png',
               'group_accuracy_rgb_flow.png'):
    with open(os.path.join(out, name), 'rb') as f:
      assert f.read(8) == b'\x89PNG\r\n\x1a\n', name
  with open(os.path.join(out, 'report.md')) as f:
    md = f.read()
  assert 'Expected 7, scored 5, failed 1.' in md
  assert '| rgb | 60.0 | 100.0 | 62.5 | 5 |' in md
  assert '| c | 0.0 | 100.0 | 100.0 |' in md  # flow gain row
  assert '![per-class accuracy](per_class_accuracy_rgb_flow.png)' in md


def _runs(indices):
  """Contiguous runs of sorted indices -> [(first, last)]."""
  runs = []
  for i in indices:
    if runs and i == runs[-1][1] + 1:
      runs[-1][1] = i
    else:
      runs.append([i, i])
  return [tuple(r) for r in runs]


def test_per_class_chart_draws_one_bar_per_class_to_scale(written):
  import matplotlib.image  # pylint: disable=g-import-not-at-top
  out, _ = written
  path = os.path.join(out, 'per_class_accuracy_rgb.png')
  with open(path, 'rb') as f:
    head = f.read(24)
  # 4 classes: a 4.0 x (0.6 + 0.16 * 4) inch figure at 100 dpi (plots.py).
  assert head[:8] == b'\x89PNG\r\n\x1a\n'
  assert (int.from_bytes(head[16:20], 'big'), int.from_bytes(head[20:24], 'big')) == (400, 124)
  image = matplotlib.image.imread(path)
  assert image.shape[:2] == (124, 400)
  blue = np.all(np.abs(image[..., :3] - np.array([31, 119, 180]) / 255) < 0.02, axis=-1)
  bars = _runs(np.nonzero(blue.any(axis=1))[0])
  # RGB, best first (Fig. 4): b 1.0, d 1.0, a 0.5; c (0.0) draws no bar.
  assert len(bars) == 3, bars
  spans = [np.nonzero(blue[(top + bottom) // 2])[0] for top, bottom in bars]
  assert len({int(s.min()) for s in spans}) == 1          # from the same axis origin
  widths = [int(s.max() - s.min() + 1) for s in spans]
  assert widths[0] == widths[1] > 100
  assert abs(widths[2] / widths[0] - 0.5) < 0.01, widths


def test_bad_stream_shape_raises(tmp_path):
  with pytest.raises(ValueError, match="stream 'rgb' have shape \\(5, 3\\)"):
    reports.write_report(str(tmp_path), {'rgb': RGB[:, :3]}, LABELS, NAMES)


def test_scores_npz_feeds_the_curation_tools(written):
  from kinetics_tf.curation import scores as scores_lib  # pylint: disable=g-import-not-at-top
  out, summary = written
  primary = scores_lib.load_scores(os.path.join(out, 'scores.npz'))
  assert list(primary.ids) == ['v0', 'v1', 'v2', 'v3', 'v4']
  np.testing.assert_array_equal(primary.labels, LABELS)
  np.testing.assert_allclose(primary.scores, (RGB + FLOW) / 2, rtol=1e-6)
  assert tuple(primary.class_names) == NAMES
  flow = scores_lib.load_scores(os.path.join(out, summary['files']['flow']['scores_npz']))
  np.testing.assert_allclose(flow.scores, FLOW, rtol=1e-6)


def test_no_temporary_files_are_left(written):
  out, _ = written
  assert not [n for n in os.listdir(out) if '.tmp' in n]


def test_a_failed_write_keeps_the_old_file(tmp_path):
  from kinetics_tf.reports import files  # pylint: disable=g-import-not-at-top
  path = tmp_path / 'summary.json'
  path.write_text('old')
  with pytest.raises(RuntimeError):
    with files.atomic_path(str(path)) as tmp, open(tmp, 'w') as f:
      f.write('half')
      raise RuntimeError('killed mid-write')
  assert path.read_text() == 'old'
  assert os.listdir(tmp_path) == ['summary.json']
