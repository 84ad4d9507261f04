"""Metrics of kinetics_tf.reports against small hand-computed examples."""

import math

import numpy as np
import pytest

from kinetics_tf.reports import metrics

NAMES = ('a', 'b', 'c', 'd', 'e', 'f')
# Five clips, six classes. Predictions: 0, 1, 1, 0, 3 (see each row's maximum).
SCORES = np.array([
    [0.9, 0.05, 0.05, 0.0, 0.0, 0.0],   # label 0: right.
    [0.1, 0.6, 0.3, 0.0, 0.0, 0.0],     # label 0: predicted 1; label ranks 3rd.
    [0.0, 0.7, 0.1, 0.1, 0.1, 0.0],     # label 1: right.
    [0.3, 0.1, 0.05, 0.2, 0.25, 0.1],   # label 2: predicted 0; label ranks 6th.
    [0.0, 0.0, 0.4, 0.6, 0.0, 0.0],     # label 2: predicted 3; label ranks 2nd.
])
LABELS = np.array([0, 0, 1, 2, 2])


def test_top_k_accuracy_hand_computed():
  assert metrics.top_k_accuracy(SCORES, LABELS, 1) == pytest.approx(2 / 5)
  assert metrics.top_k_accuracy(SCORES, LABELS, 2) == pytest.approx(3 / 5)
  assert metrics.top_k_accuracy(SCORES, LABELS, 3) == pytest.approx(4 / 5)
  assert metrics.top_k_accuracy(SCORES, LABELS, 5) == pytest.approx(4 / 5)
  assert metrics.top_k_accuracy(SCORES, LABELS, 6) == pytest.approx(1.0)


def test_top_k_predictions_breaks_ties_by_lower_index():
  got = metrics.top_k_predictions(np.array([[0.1, 0.3, 0.3, 0.3]]), 2)
  np.testing.assert_array_equal(got, [[1, 2]])


def test_confusion_and_per_class_accuracy():
  cm = metrics.confusion_matrix(LABELS, SCORES.argmax(1), 6)
  expected = np.zeros((6, 6), np.int64)
  expected[0, 0] = expected[0, 1] = expected[1, 1] = expected[2, 0] = expected[2, 3] = 1
  np.testing.assert_array_equal(cm, expected)
  acc = metrics.per_class_accuracy(cm)
  np.testing.assert_allclose(acc[:3], [0.5, 1.0, 0.0])
  assert np.isnan(acc[3:]).all()  # no clips of d, e, f
  assert metrics.mean_per_class_accuracy(cm) == pytest.approx(0.5)


def test_summary():
  got = metrics.summary(SCORES, LABELS)
  assert got == pytest.approx({'top1': 0.4, 'top5': 0.8, 'mean_class_accuracy': 0.5,
                               'num_clips': 5})


def test_top_confusions_ranked_by_rate_then_count_then_name():
  cm = metrics.confusion_matrix(LABELS, SCORES.argmax(1), 6)
  got = metrics.top_confusions(cm, NAMES, k=10)
  assert [(p['true'], p['predicted'], p['count'], p['rate']) for p in got] == [
      ('a', 'b', 1, 0.5), ('c', 'a', 1, 0.5), ('c', 'd', 1, 0.5)]
  cm2 = np.array([[8, 2, 0], [3, 1, 0], [0, 1, 9]])
  got = metrics.top_confusions(cm2, ('x', 'y', 'z'), k=2)
  assert [(p['true'], p['predicted']) for p in got] == [('y', 'x'), ('x', 'y')]
  assert got[0]['rate'] == pytest.approx(0.75) and got[1]['rate'] == pytest.approx(0.2)


def test_group_accuracy():
  cm = metrics.confusion_matrix(LABELS, SCORES.argmax(1), 6)
  rows = metrics.group_accuracy(cm, NAMES, {'g2': ('c', 'd'), 'g1': ('a', 'b'), 'g3': ('e',)})
  assert [r['group'] for r in rows] == ['g1', 'g2', 'g3']
  assert rows[0]['accuracy'] == pytest.approx(2 / 3)
  assert rows[0]['mean_class_accuracy'] == pytest.approx(0.75)
  assert (rows[0]['num_clips'], rows[0]['num_classes']) == (3, 2)
  assert rows[1]['accuracy'] == 0.0 and rows[1]['mean_class_accuracy'] == 0.0
  assert math.isnan(rows[2]['accuracy']) and rows[2]['num_clips'] == 0


def test_group_accuracy_rejects_unknown_class():
  cm = np.eye(2, dtype=np.int64)
  with pytest.raises(ValueError, match="group 'g' names classes not in the class list: \\['zz'\\]"):
    metrics.group_accuracy(cm, ('a', 'b'), {'g': ('a', 'zz')})


def test_groups_from_family():
  assert metrics.groups_from_family({'a': 'motion', 'b': 'motion', 'c': 'appearance'}) == {
      'motion': ('a', 'b'), 'appearance': ('c',)}


def test_flow_gains():
  got = metrics.flow_gains(np.array([0.5, 1.0, 0.0, np.nan]), np.array([0.75, 0.5, 0.5, 0.2]),
                           ('a', 'b', 'c', 'd'))
  assert [(g['class'], g['gain']) for g in got] == [('c', 0.5), ('a', 0.25), ('b', -0.5)]


def test_bad_shapes_raise():
  with pytest.raises(ValueError, match='labels must be \\[5\\]'):
    metrics.top_k_accuracy(SCORES, LABELS[:3])
  with pytest.raises(ValueError, match='labels must lie in \\[0, 6\\)'):
    metrics.top_k_accuracy(SCORES, np.array([0, 0, 1, 2, 6]))


def test_empty_gives_nan():
  assert math.isnan(metrics.top_k_accuracy(np.zeros((0, 3)), np.zeros((0,), np.int64)))
