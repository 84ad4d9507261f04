"""Input ops and training pipelines, each run eagerly AND inside tf.data.map."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import eager_and_mapped
from kinetics_tf.input import ops
from kinetics_tf.input import train_pipeline


def over_seeds(fn, num, *args):
  """fn(*args, seed) for seeds [i, 7], i < num: eagerly and in one tf.data.map."""
  seeds = np.stack([np.arange(num), np.full(num, 7)], 1).astype(np.int64)
  eager = [fn(*args, tf.constant(s)) for s in seeds]
  ds = tf.data.Dataset.from_tensor_slices(seeds).map(lambda s: fn(*args, s))
  graph = list(ds)
  return [tf.nest.map_structure(np.asarray, x) for x in (eager, graph)]


def coded_video(num_frames=12, height=10, width=14):
  """uint8 [T, H, W, 3]: channel 0 = frame index, 1 = row, 2 = column."""
  t, h, w = np.meshgrid(np.arange(num_frames), np.arange(height),
                        np.arange(width), indexing='ij')
  return np.stack([t, h, w], axis=-1).astype(np.uint8)


def test_temporal_indices_loop_and_stride():
  eager, graph = eager_and_mapped(lambda s: ops.temporal_indices(s, 5, 5, 12),
                      tf.constant(3))
  np.testing.assert_array_equal(eager, [3, 8, 1, 6, 11])
  np.testing.assert_array_equal(graph, eager)
  # A 3-frame clip looped to 7 frames.
  eager, graph = eager_and_mapped(lambda s: ops.temporal_indices(s, 7, 1, 3),
                      tf.constant(0))
  np.testing.assert_array_equal(eager, [0, 1, 2, 0, 1, 2, 0])
  np.testing.assert_array_equal(graph, eager)


@pytest.mark.parametrize('available,num,stride,max_start', [
    (100, 25, 5, 100 - 121), (250, 25, 5, 250 - 121), (30, 16, 1, 14),
    (5, 16, 1, 0), (1, 1, 1, 0)])
def test_random_start_is_early_enough(available, num, stride, max_start):
  max_start = max(max_start, 0)
  eager, graph = over_seeds(
      lambda s: ops.random_start(available, num, stride, seed=s), 40)
  assert eager == graph
  starts = set(int(x) for x in eager)
  assert min(starts) >= 0 and max(starts) <= max_start
  if max_start >= 3:
    assert len(starts) > 3  # really random
  assert ops.centre_start(available, num, stride).numpy() == max_start // 2


def test_random_crop_bounds_and_same_window_for_all_frames():
  video = coded_video()
  eagers, graphs = over_seeds(lambda v, s: ops.random_crop(v, 6, seed=s), 20,
                              video)
  corners = set()
  for eager, graph in zip(eagers, graphs):
    np.testing.assert_array_equal(eager, graph)
    corners.add((eager[0, 0, 0, 1], eager[0, 0, 0, 2]))
    assert eager.shape == (12, 6, 6, 3)
    rows, cols = eager[..., 1], eager[..., 2]
    # Same window in every frame, inside the frame, contiguous.
    assert (rows == rows[:1]).all() and (cols == cols[:1]).all()
    assert rows.min() >= 0 and rows.max() <= 9 and cols.max() <= 13
    np.testing.assert_array_equal(np.diff(rows[0, :, 0]), 1)
    np.testing.assert_array_equal(np.diff(cols[0, 0, :]), 1)
  assert len(corners) > 5  # the window really moves


def test_centre_crop_and_too_large_crop():
  eager, graph = eager_and_mapped(lambda v: ops.centre_crop(v, 4),
                                  coded_video())
  np.testing.assert_array_equal(eager, graph)
  np.testing.assert_array_equal(eager[0, :, 0, 1], [3, 4, 5, 6])
  np.testing.assert_array_equal(eager[0, 0, :, 2], [5, 6, 7, 8])
  with pytest.raises(tf.errors.InvalidArgumentError, match='larger than'):
    ops.random_crop(coded_video(), 11)


def test_flip_is_consistent_across_frames():
  video = coded_video()
  flipped_seen = set()
  eagers, graphs = over_seeds(lambda v, s: ops.random_flip(v, seed=s), 16,
                              video)
  for (out, flipped), (gout, gflipped) in zip(eagers, graphs):
    np.testing.assert_array_equal(out, gout)
    assert flipped == gflipped
    flipped_seen.add(bool(flipped))
    cols = out[..., 2]
    expect = (13 - np.arange(14)) if flipped else np.arange(14)
    assert (cols == expect).all()  # every frame alike
    np.testing.assert_array_equal(out[..., 0], video[..., 0])
  assert flipped_seen == {True, False}


def test_flip_flow_negates_x_only():
  rng = np.random.default_rng(0)
  flow = rng.uniform(-1, 1, (3, 4, 5, 2)).astype(np.float32)
  eager, graph = eager_and_mapped(ops.flip_flow, flow)
  np.testing.assert_allclose(eager, graph)
  np.testing.assert_allclose(eager[..., 0], -flow[:, :, ::-1, 0])
  np.testing.assert_allclose(eager[..., 1], flow[:, :, ::-1, 1])
  # On a stack the even channels (x) flip sign: flip then stack == stack then
  # flip.
  np.testing.assert_allclose(ops.stack_flow(ops.flip_flow(flow)),
                             ops.flip_flow(ops.stack_flow(flow)))


def test_quantised_flow_flips_and_stacks_as_the_signed_flow():
  """uint8 flow (its fast uint16 paths) against the byte-by-byte definition,
  on fields and on stacks, eagerly and inside tf.data."""
  rng = np.random.default_rng(1)
  fields = rng.integers(0, 256, (10, 5, 7, 2), dtype=np.uint8)
  want = fields[:, :, ::-1].astype(np.int64)
  want[..., 0] = 255 - want[..., 0]
  for value, expected in ((fields, want),
                          (ops.stack_flow(fields).numpy(),
                           ops.stack_flow(want).numpy())):
    eager, graph = eager_and_mapped(ops.flip_flow, value)
    assert eager.dtype == np.uint8
    np.testing.assert_array_equal(eager, expected)
    np.testing.assert_array_equal(graph, expected)
  stacked, graph = eager_and_mapped(ops.stack_flow, fields)
  assert stacked.dtype == np.uint8 and stacked.shape == (5, 7, 20)
  np.testing.assert_array_equal(stacked, ops.stack_flow(
      fields.astype(np.float32)).numpy())
  np.testing.assert_array_equal(graph, stacked)
  # -x after dequantising, exactly (x -> 255 - x).
  np.testing.assert_allclose(
      ops.dequantize_flow(ops.flip_flow(fields)),
      ops.flip_flow(ops.dequantize_flow(fields)), atol=1e-6)


def test_scaling():
  # [-1, 1] is the only RGB scaling: an ImageNet-initialised model maps it to
  # its weights' Caffe convention itself (test_models_imagenet.py).
  values = np.array([[[[0, 127, 255]]]], np.uint8)
  eager, graph = eager_and_mapped(ops.scale_to_unit, values)
  np.testing.assert_allclose(eager.ravel(), [-1, 127 / 127.5 - 1, 1])
  np.testing.assert_allclose(graph, eager)
  assert not hasattr(ops, 'imagenet_normalize')


def test_dequantize_flow_matches_bound():
  u8 = np.array([0, 255, 64, 191], np.uint8).reshape(1, 1, 2, 2)
  eager, graph = eager_and_mapped(ops.dequantize_flow, u8)
  np.testing.assert_allclose(eager.ravel(), u8.ravel() / 127.5 - 1)
  np.testing.assert_allclose(graph, eager)
  assert eager.min() == -1 and eager.max() == 1


def test_stack_flow_channel_order():
  flow = np.arange(10 * 2 * 3 * 2, dtype=np.float32).reshape(10, 2, 3, 2)
  eager, graph = eager_and_mapped(ops.stack_flow, flow)
  assert eager.shape == (2, 3, 20)
  np.testing.assert_array_equal(graph, eager)
  for t in range(10):
    np.testing.assert_array_equal(eager[..., 2 * t], flow[t, ..., 0])
    np.testing.assert_array_equal(eager[..., 2 * t + 1], flow[t, ..., 1])
  batched = ops.stack_flow(np.stack([flow, flow + 1]))
  assert batched.shape == (2, 2, 3, 20)
  np.testing.assert_array_equal(batched[1], eager + 1)


def test_gather_frames_decodes_only_sampled_jpegs():
  video = np.zeros((4, 8, 8, 3), np.uint8)
  video[2] = 200
  encoded = tf.stack([tf.io.encode_jpeg(f, quality=100) for f in video])
  eager, graph = eager_and_mapped(
      lambda e: ops.gather_frames(e, [2, 0]), encoded)
  assert eager.shape == (2, 8, 8, 3)
  np.testing.assert_array_equal(graph, eager)
  assert abs(int(eager[0].mean()) - 200) <= 2 and eager[1].max() <= 2


# --- Pipelines: footprints, looping and flip on whole examples. -------------


def example(num_frames=40, size=16, label=3):
  video = coded_video(num_frames, size, size + 4)
  flow = np.full((num_frames - 1, size, size + 4, 2), 128, np.uint8)
  flow[..., 0] = 200  # +x motion everywhere
  flow[..., 1] = np.arange(num_frames - 1)[:, None, None]  # codes t
  return {'video': video, 'flow': flow, 'label': np.int64(label)}


@pytest.mark.parametrize('model,shape', [
    ('rgb', (8, 8, 3)), ('flow', (8, 8, 20)), ('c3d', (16, 8, 8, 3)),
    ('convnet_lstm', (25, 8, 8, 3))])
def test_pipeline_footprints(model, shape):
  ex = example()
  (x, label), (gx, glabel) = eager_and_mapped(
      lambda e, s: train_pipeline.preprocess(e, model, 8, seed=s), ex,
      tf.constant([5, 5], tf.int64))
  assert x.shape == shape and gx.shape == shape
  np.testing.assert_allclose(x, gx)
  assert label == glabel == 3
  assert x.min() >= -1 and x.max() <= 1
  if model in ('c3d', 'convnet_lstm'):
    frame_ids = np.round((x[:, 0, 0, 0] + 1) * 127.5).astype(int)
    stride = 5 if model == 'convnet_lstm' else 1
    np.testing.assert_array_equal(np.diff(frame_ids) % 40, stride)


def test_pipeline_loops_short_clip():
  ex = example(num_frames=6)  # 6 frames for a 16-frame C3D footprint
  x, _ = train_pipeline.preprocess(ex, 'c3d', 8, seed=[1, 2])
  frame_ids = np.round((x.numpy()[:, 0, 0, 0] + 1) * 127.5).astype(int)
  np.testing.assert_array_equal(frame_ids, np.arange(16) % 6)
  # The flow stream: 5 flow fields looped to a stack of 10.
  x, _ = train_pipeline.preprocess(ex, 'flow', 8, seed=[1, 2])
  t_codes = np.round((x.numpy()[0, 0, 1::2] + 1) * 127.5).astype(int)
  np.testing.assert_array_equal(t_codes, np.arange(10) % 5)


def test_pipeline_flow_flip_negates_x_for_whole_stack():
  ex = example()
  signs = set()
  for i in range(12):
    x, _ = train_pipeline.preprocess(ex, 'flow', 8, seed=[i, 9])
    x = x.numpy()
    sign = np.sign(x[..., 0::2])
    assert (sign == sign.flat[0]).all()  # all 10 x fields alike
    # x (code 200) changes only its sign; y (code t of field t) is never
    # negated: its codes stay the 10 consecutive fields t0..t0+9.
    np.testing.assert_allclose(np.abs(x[..., 0::2]), 200 / 127.5 - 1.0, atol=1e-6)
    codes = np.round((x[..., 1::2] + 1) * 127.5).astype(int)
    assert (codes == codes[:1, :1]).all()
    np.testing.assert_array_equal(np.diff(codes[0, 0]), 1)
    signs.add(sign.flat[0])
  assert signs == {-1.0, 1.0}


def test_make_dataset_batches_and_determinism():
  exs = [example(label=i) for i in range(6)]
  ds = tf.data.Dataset.from_tensor_slices(
      {k: np.stack([e[k] for e in exs]) for k in exs[0]})
  def run():
    out = train_pipeline.make_dataset(ds, 'c3d', 8, 4, seed=3,
                                      deterministic=True, shuffle_buffer=6)
    return [b for b in out.take(3).as_numpy_iterator()]
  first, second = run(), run()
  assert first[0][0].shape == (4, 16, 8, 8, 3)
  for (x1, y1), (x2, y2) in zip(first, second):
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
  val = train_pipeline.make_dataset(ds, 'rgb', 8, 4, training=False)
  sizes = [len(y) for _, y in val.as_numpy_iterator()]
  assert sizes == [4, 2]  # one pass, remainder kept
  with pytest.raises(ValueError, match='unknown model'):
    train_pipeline.make_dataset(ds, 'i3d', 8, 4)
  with pytest.raises(ValueError, match='needs a seed'):
    train_pipeline.make_dataset(ds, 'rgb', 8, 4, deterministic=True)


def test_samples_per_read_gives_k_footprints_of_a_clip_and_mixes_batches():
  """K = 4 samples of each clip read: distinct footprints, spread over batches."""
  clips, k, batches = 6, 4, 30
  videos = np.stack([coded_video(40, 10, 14) for _ in range(clips)])
  reads = tf.Variable(0, dtype=tf.int64)

  def count(ex):
    with tf.control_dependencies([reads.assign_add(1)]):
      return {key: tf.identity(v) for key, v in ex.items()}

  ds = tf.data.Dataset.from_tensor_slices(
      {'video': videos, 'label': np.arange(clips, dtype=np.int64)}).map(count)
  out = train_pipeline.make_dataset(ds, 'c3d', 8, 4, seed=5,
                                    deterministic=True, shuffle_buffer=8,
                                    samples_per_read=k)
  starts = {c: [] for c in range(clips)}
  mixed = []
  for x, y in out.take(batches).as_numpy_iterator():
    frame_ids = np.round((x[:, 0, 0, 0, 0] + 1) * 127.5).astype(int)
    for label, first in zip(y, frame_ids):
      starts[int(label)].append(int(first))
    mixed.append(len(set(y.tolist())))
  samples = 4 * batches
  # One read per K samples, plus what the pipeline holds ahead: the first
  # shuffle buffer (8 clips), the second (2 * k * 4 = 32 samples, 8 clips),
  # the parallel map and the autotuned prefetch (a few batches of 4, one
  # clip each; measured 16-19 clips ahead in all).
  assert samples // k <= int(reads.numpy()) <= samples // k + 24
  # Every clip is sampled, at different footprints.
  assert all(len(set(s)) > 1 for s in starts.values()), starts
  # Batches mix clips rather than holding one clip K times.
  assert min(mixed) >= 2 and np.mean(mixed) >= 2.5, mixed
  with pytest.raises(ValueError, match='samples_per_read'):
    train_pipeline.make_dataset(ds, 'c3d', 8, 4, training=False,
                                samples_per_read=2)


def test_input_stage_reads_the_model_table_without_model_code():
  # The rows' facts (feature, layout, footprints, test protocol) reach the
  # input stage and the config checks without importing a Keras model file.
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  code = ('import sys\n'
          'from kinetics_tf.input import dense, train_pipeline\n'
          'from kinetics_tf.training import config\n'
          "assert train_pipeline.feature_key('flow') == 'flow'\n"
          "assert dense.spec_for('c3d').span == 240\n"
          "print(sorted(m for m in sys.modules if m.startswith('kinetics_tf.models')))\n")
  done = subprocess.run([sys.executable, '-c', code], capture_output=True,
                        text=True, check=True)
  assert done.stdout.strip() == '[]'
