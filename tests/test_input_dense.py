"""Dense test views: snapshot indices per model vs hand-computed values, views, fusion."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import eager_and_mapped
from kinetics_tf.input import dense


def _r(a, b, step=1):
  return list(range(a, b, step))


# --- Snapshot indices, hand-computed (see the formula in dense.py) ---------

def _starts(model, t):
  return dense.snapshot_indices_np(model, t)[:, 0].tolist()


def _assert_contiguous_inside(idx, fields):
  """Every stack is 10 consecutive fields of the clip, none wrapping."""
  np.testing.assert_array_equal(idx - idx[:, :1], np.tile(np.arange(10), (len(idx), 1)))
  assert idx.min() >= 0 and idx.max() <= fields - 1


def test_flow_stacks_of_a_10s_clip_of_250_frames_stay_inside():
  # 250 frames -> 249 fields: the 25 stacks spread over fields 0..248 (one
  # field shared by stacks 12 and 13) instead of the last one wrapping to 0.
  idx = dense.snapshot_indices_np('flow', 250)
  assert idx.shape == (25, 10)
  assert idx[:, 0].tolist() == _r(0, 121, 10) + _r(129, 240, 10)
  assert idx[24].tolist() == _r(239, 249)
  assert idx[12].tolist() == _r(120, 130) and idx[13].tolist() == _r(129, 139)
  _assert_contiguous_inside(idx, 249)


def test_flow_stacks_of_251_frames_tile_250_fields():
  idx = dense.snapshot_indices_np('flow', 251)
  assert idx[:, 0].tolist() == _r(0, 250, 10)
  assert sorted(idx.ravel().tolist()) == _r(0, 250)   # each field once
  _assert_contiguous_inside(idx, 250)


def test_flow_stacks_of_a_4s_clip_spread_without_looping():
  # 100 frames -> 99 fields; starts round(k * 89 / 24), the last at 89.
  idx = dense.snapshot_indices_np('flow', 100)
  assert idx[:, 0].tolist() == [0, 4, 7, 11, 15, 19, 22, 26, 30, 33, 37, 41, 45, 48,
                                52, 56, 59, 63, 67, 70, 74, 78, 82, 85, 89]
  assert idx[24].tolist() == _r(89, 99)
  _assert_contiguous_inside(idx, 99)


def test_flow_stacks_of_11_frames_are_the_one_stack_there_is():
  idx = dense.snapshot_indices_np('flow', 11)   # 10 fields: exactly one stack
  np.testing.assert_array_equal(idx, np.tile(np.arange(10), (25, 1)))


def test_flow_stacks_loop_only_a_clip_shorter_than_one_stack():
  idx = dense.snapshot_indices_np('flow', 10)   # 9 fields: every stack wraps
  assert idx[:, 0].tolist() == [9 * k // 25 for k in range(25)]
  assert idx[0].tolist() == _r(0, 9) + [0]
  assert idx[12].tolist() == [4, 5, 6, 7, 8, 0, 1, 2, 3, 4]
  assert idx[24].tolist() == [8] + _r(0, 9)
  assert dense.snapshot_indices_np('flow', 2).tolist() == [[0] * 10] * 25


def test_long_clips_read_their_centred_250_fields():
  # 280 frames -> 279 fields; (279 - 250) // 2 = 14 fields before the window.
  idx = dense.snapshot_indices_np('flow', 280)
  assert idx[:, 0].tolist() == _r(14, 264, 10)
  assert idx[24].tolist() == _r(254, 264)
  assert dense.snapshot_indices_np('flow', 252)[:, 0].tolist() == _r(0, 250, 10)


def test_every_clip_of_10_fields_or_more_gets_contiguous_inside_stacks():
  for t in range(11, 400):
    idx = dense.snapshot_indices_np('flow', t)
    _assert_contiguous_inside(idx, t - 1)
    starts = idx[:, 0]
    assert (np.diff(starts) >= 0).all(), t
    window = min(t - 1, 250)
    assert starts[0] == (t - 1 - window) // 2, t
    assert starts[-1] + 10 == starts[0] + window, t   # the window is covered


def test_rgb_snapshot_k_is_the_first_frame_of_flow_stack_k():
  for t in (2, 5, 10, 11, 30, 100, 249, 250, 251, 252, 280, 300):
    assert _starts('rgb', t) == _starts('flow', t), t
  assert _starts('rgb', 250) == _r(0, 121, 10) + _r(129, 240, 10)
  assert _starts('rgb', 251) == _r(0, 250, 10)
  assert _starts('rgb', 1) == [0] * 25     # one frame: no flow, RGB still scores


def test_c3d_indices():
  idx = dense.snapshot_indices_np('c3d', 250)
  assert idx.shape == (15, 16)
  assert idx[0].tolist() == _r(5, 21)      # start (250 - 240) // 2 = 5
  assert idx[14].tolist() == _r(229, 245)
  assert np.unique(idx).size == 240       # non-overlapping
  idx = dense.snapshot_indices_np('c3d', 100)
  assert idx[0].tolist() == _r(0, 16)
  assert idx[6].tolist() == [96, 97, 98, 99] + _r(0, 12)
  assert idx[14].tolist() == _r(24, 40)
  idx = dense.snapshot_indices_np('c3d', 30)
  assert idx[1].tolist() == _r(16, 30) + [0, 1]
  assert idx[14].tolist() == _r(14, 30)


def test_convnet_lstm_indices():
  idx = dense.snapshot_indices_np('convnet_lstm', 250)
  assert idx.shape == (1, 50)
  assert idx[0].tolist() == _r(0, 250, 5)
  assert dense.snapshot_indices_np('convnet_lstm', 100)[0].tolist() == (
      _r(0, 100, 5) * 2 + _r(0, 50, 5))
  assert dense.snapshot_indices_np('convnet_lstm', 30)[0].tolist() == (
      _r(0, 30, 5) * 8 + [0, 5])


def test_specs_match_table3():
  # 25 stacks of 10 fields cover 250 fields, which 251 frames give.
  assert dense.spec_for('rgb').span == dense.spec_for('flow').span == 251
  assert dense.spec_for('c3d').span == 240
  assert dense.spec_for('convnet_lstm').span == 250
  assert dense.spec_for('flow').frames_per_video == 250
  with pytest.raises(ValueError, match="no dense test protocol for model 'two_stream'"):
    dense.spec_for('two_stream')


def test_too_short_clip_raises():
  with pytest.raises(tf.errors.InvalidArgumentError, match='too few frames'):
    dense.snapshot_indices(dense.spec_for('flow'), 1)
  with pytest.raises(tf.errors.InvalidArgumentError, match='too few frames'):
    dense.snapshot_indices(dense.spec_for('rgb'), 0)


# --- Views -----------------------------------------------------------------

def _index_frames(t, h=6, w=8):
  """uint8 frames whose every pixel holds the frame index."""
  return np.broadcast_to(np.arange(t, dtype=np.uint8)[:, None, None, None], (t, h, w, 3)).copy()


@pytest.mark.parametrize('model,shape', [('rgb', (25, 4, 4, 3)), ('c3d', (15, 16, 4, 4, 3)),
                                         ('convnet_lstm', (1, 50, 4, 4, 3))])
def test_rgb_views_pick_the_indexed_frames(model, shape):
  got = dense.views(model, _index_frames(30), 4).numpy()
  assert got.shape == shape
  idx = dense.snapshot_indices_np(model, 30).reshape(shape[:-3])
  np.testing.assert_allclose(got[..., 0, 0, 0], idx / 127.5 - 1.0, atol=1e-6)


def test_views_in_tf_data_map_equal_eager():
  eager, mapped = eager_and_mapped(lambda f: dense.views('c3d', f, 4), _index_frames(30))
  np.testing.assert_array_equal(mapped, eager)
  # The two-stream placement with T known only at run time, as in evaluate.
  flow = _index_frames(250, 6, 6)[..., :2][:249]
  eager, got = eager_and_mapped(lambda f: dense.views('flow', f, 4), flow,
                                signature=(tf.TensorSpec([None, 6, 6, 2], tf.uint8),))
  np.testing.assert_array_equal(got, eager)
  np.testing.assert_allclose(got[:, 0, 0, 0::2], dense.snapshot_indices_np('flow', 250) / 127.5 - 1,
                             atol=1e-6)


def test_centre_crop_and_flip():
  frames = np.zeros((3, 6, 8, 3), np.uint8)
  frames[:, :, :, 0] = np.arange(8, dtype=np.uint8)[None, None, :]  # red = column
  got = dense.views('rgb', frames, 4, flip=True).numpy()
  assert got.shape == (50, 4, 4, 3)
  cols = (got[0, 0, :, 0] + 1) * 127.5
  np.testing.assert_allclose(cols, [2, 3, 4, 5], atol=1e-4)  # columns 2..5 of 8
  np.testing.assert_allclose((got[25, 0, :, 0] + 1) * 127.5, [5, 4, 3, 2], atol=1e-4)


def test_flow_views_stack_x_y_in_training_order():
  t = 30
  flow = np.zeros((t - 1, 6, 6, 2), np.uint8)
  flow[..., 0] = np.arange(t - 1, dtype=np.uint8)[:, None, None]
  flow[..., 1] = 100 + np.arange(t - 1, dtype=np.uint8)[:, None, None]
  got = dense.views('flow', flow, 4).numpy()
  assert got.shape == (25, 4, 4, 20)
  idx = dense.snapshot_indices_np('flow', t)
  np.testing.assert_allclose(got[:, 0, 0, 0::2], idx / 127.5 - 1.0, atol=1e-6)
  np.testing.assert_allclose(got[:, 0, 0, 1::2], (100 + idx) / 127.5 - 1.0, atol=1e-6)
  flipped = dense.views('flow', flow, 4, flip=True).numpy()
  np.testing.assert_allclose(flipped[25:, 0, 0, 0::2], -(idx / 127.5 - 1.0), atol=1e-6)
  np.testing.assert_allclose(flipped[25:, 0, 0, 1::2], (100 + idx) / 127.5 - 1.0, atol=1e-6)


def test_short_side_resize_scales_flow_displacements():
  frames = np.full((5, 8, 12, 3), 200, np.uint8)
  got = dense.views('rgb', frames, 4, short_side=4).numpy()
  np.testing.assert_allclose(got, 200 / 127.5 - 1.0, atol=1e-5)
  flow = np.full((4, 8, 12, 2), 191, np.uint8)   # 191 -> +0.498 (about +10 px)
  got = dense.views('flow', flow, 4, short_side=4).numpy()
  np.testing.assert_allclose(got, 0.5 * (191 / 127.5 - 1.0), atol=1e-5)


def test_crop_larger_than_frames_raises():
  with pytest.raises(tf.errors.InvalidArgumentError, match='crop of 8x8 is larger'):
    dense.views('rgb', _index_frames(3, 6, 6), 8)


# --- Scores: softmax, average over snapshots, fusion -----------------------

def test_video_scores_average_softmax_over_snapshots():
  logits = np.array([[0.0, 0.0], [np.log(3.0), 0.0],      # video 0: [.5,.5], [.75,.25]
                     [0.0, np.log(3.0)], [0.0, np.log(3.0)]])  # video 1: [.25,.75] twice
  got = dense.video_scores(logits, 2).numpy()
  np.testing.assert_allclose(got, [[0.625, 0.375], [0.25, 0.75]], atol=1e-6)


def test_fold_and_features():
  batch = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
  np.testing.assert_array_equal(dense.fold(batch).numpy(), batch.reshape(6, 4))
  np.testing.assert_allclose(dense.video_features(batch.reshape(6, 4), 2).numpy(),
                             batch.mean(axis=1))


def test_fuse_averages_streams():
  rgb = np.array([[0.625, 0.375]])
  flow = np.array([[0.125, 0.875]])
  np.testing.assert_allclose(dense.fuse(rgb, flow).numpy(), [[0.375, 0.625]])
  with pytest.raises(ValueError, match='at least one stream'):
    dense.fuse()
