"""Parity of the TensorFlow TV-L1 (flow/tvl1_tf.py) with OpenCV's DualTVL1.

Every compiled solve here uses one shape ([6, 48, 64] pairs) per stopping
rule, because XLA compiles each (shape, parameters) once and compiling is the
slow part on a small CPU.
"""

import pathlib

import cv2
import numpy as np
import pytest
import tensorflow as tf

from flow import _tvl1_tf_ops as ops
from flow import tvl1_tf

H, W, PAIRS = 48, 64, 6
RNG = np.random.default_rng(7)


def _epd(a, b):
  """Mean end-point distance per pair between two [N, H, W, 2] flows."""
  return np.sqrt(((a - b) ** 2).sum(-1)).mean(axis=(1, 2))


def _opencv(a, b, **params):
  algo = cv2.optflow.DualTVL1OpticalFlow_create(**params)
  return np.stack([algo.calc(x, y, None) for x, y in zip(a, b)])


def _synthetic_pair(seed):
  """A smooth texture and its warp by a smooth sub-pixel field (x, y)."""
  rng = np.random.default_rng(seed)
  tex = cv2.GaussianBlur(rng.uniform(0, 255, (H, W)).astype(np.float32),
                         (0, 0), 2.0)
  tex = (tex - tex.min()) / (tex.max() - tex.min()) * 220 + 15
  yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
  fx = 1.3 + 0.6 * np.sin(2 * np.pi * yy / H + seed)
  fy = -0.7 + 0.5 * np.cos(2 * np.pi * xx / W + seed)
  # frame1(p) = frame0(p - flow(p)), so frame1(p + flow) ~ frame0(p).
  frame1 = cv2.remap(tex, xx - fx, yy - fy, cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT)
  as_u8 = lambda im: np.clip(np.rint(im), 0, 255).astype(np.uint8)
  return as_u8(tex), as_u8(frame1), np.stack([fx, fy], -1)


def _real_pairs(videos: pathlib.Path, count, size=(W, H)):
  """`count` consecutive gray pairs at size (W, H) from the fixture clips."""
  first, second = [], []
  for path in sorted(videos.iterdir()):
    if 'ntu' in path.name:  # 1080p: slow to decode, nothing new here
      continue
    cap = cv2.VideoCapture(str(path))
    frames = []
    for _ in range(3):
      ok, bgr = cap.read()
      assert ok, f'{path}: could not read 3 frames'
      gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
      frames.append(cv2.resize(gray, size, interpolation=cv2.INTER_AREA))
    first += frames[:2]
    second += frames[1:]
  return np.stack(first[:count]), np.stack(second[:count])


@pytest.fixture(scope='module')
def real(fixture_videos):
  a, b = _real_pairs(fixture_videos, PAIRS)
  return a, b, _opencv(a, b), _opencv(a, b, epsilon=0.005)


@pytest.fixture(scope='module')
def synthetic():
  pairs = [_synthetic_pair(s) for s in range(PAIRS)]
  a, b, truth = (np.stack(x) for x in zip(*pairs))
  return a, b, truth, _opencv(a, b)


# --- the building blocks against OpenCV's primitives -------------------------


def test_resize_matches_cv2_resize():
  img = RNG.uniform(0, 255, (1, 96, 128)).astype(np.float32)
  h, w = ops.resized_size(96, 0.8), ops.resized_size(128, 0.8)
  down = ops.resize(img, ops.linear_resize_matrix(96, h, 1.25),
                    ops.linear_resize_matrix(128, w, 1.25)).numpy()[0]
  ref = cv2.resize(img[0], None, fx=0.8, fy=0.8,
                   interpolation=cv2.INTER_LINEAR)
  assert down.shape == ref.shape == (77, 102)
  np.testing.assert_allclose(down, ref, atol=1e-3)
  small = RNG.normal(size=(1, 61, 82)).astype(np.float32)
  up = ops.resize(small, ops.linear_resize_matrix(61, 77, 61 / 77),
                  ops.linear_resize_matrix(82, 102, 82 / 102)).numpy()[0]
  np.testing.assert_allclose(
      up, cv2.resize(small[0], (102, 77), interpolation=cv2.INTER_LINEAR),
      atol=5e-5)  # float32 rounding of a different summation order


def test_pyramid_sizes_follow_opencv():
  assert tvl1_tf.pyramid_sizes(256, 340, 5, 0.8) == [
      (256, 340), (205, 272), (164, 218), (131, 174), (105, 139)]
  # OpenCV stops below 16 pixels.
  assert tvl1_tf.pyramid_sizes(24, 32, 5, 0.8) == [(24, 32), (19, 26)]


def _remap_case():
  img = RNG.uniform(0, 255, (1, 40, 52)).astype(np.float32)
  u1 = RNG.uniform(-6, 6, img.shape).astype(np.float32)
  u2 = RNG.uniform(-6, 6, img.shape).astype(np.float32)
  map_x = np.arange(52, dtype=np.float32)[None] + u1[0]
  map_y = np.arange(40, dtype=np.float32)[:, None] + u2[0]
  return img, u1, u2, map_x, map_y


def _remap_tf(img, u1, u2, subpixel_bits=None):
  flat = ops.pad_for_remap(tf.constant(img[..., None]))
  return ops.remap_cubic(flat, 40, 52, u1, u2,
                         subpixel_bits=subpixel_bits).numpy()[0, ..., 0]


def test_remap_cubic_matches_cv2_remap_of_this_opencv():
  # OpenCV 5 interpolates at the exact position, 4.x at the nearest 1/32 px.
  img, u1, u2, map_x, map_y = _remap_case()
  major = int(cv2.__version__.split('.')[0])
  bits = None if major >= 5 else ops.OPENCV4_SUBPIXEL_BITS
  out = _remap_tf(img, u1, u2, subpixel_bits=bits)
  ref = cv2.remap(img[0], map_x, map_y, cv2.INTER_CUBIC)  # border 0
  np.testing.assert_allclose(out, ref, atol=1e-3)


def test_remap_cubic_on_the_1_32_grid_matches_every_opencv():
  # Positions on the 1/32 grid: both OpenCV majors and both modes agree.
  img, _, _, _, _ = _remap_case()
  u1 = np.round(RNG.uniform(-6, 6, img.shape) * 32).astype(np.float32) / 32
  u2 = np.round(RNG.uniform(-6, 6, img.shape) * 32).astype(np.float32) / 32
  map_x = np.arange(52, dtype=np.float32)[None] + u1[0]
  map_y = np.arange(40, dtype=np.float32)[:, None] + u2[0]
  ref = cv2.remap(img[0], map_x, map_y, cv2.INTER_CUBIC)
  for bits in (None, ops.OPENCV4_SUBPIXEL_BITS):
    np.testing.assert_allclose(_remap_tf(img, u1, u2, bits), ref, atol=1e-3)


def test_remap_cubic_exact_is_bicubic_at_the_position():
  # A float64 reference of Keys' kernel (A = -0.75), taps outside read 0.
  img, u1, u2, map_x, map_y = _remap_case()
  pad = np.zeros((48, 60))
  pad[4:-4, 4:-4] = img[0]
  ix, iy = np.floor(map_x).astype(int), np.floor(map_y).astype(int)

  def kernel(d):
    d = np.abs(d)
    a = -0.75
    return np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1,
                    np.where(d < 2, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a,
                             0.0))

  ref = np.zeros(map_x.shape)
  for j in range(-1, 3):
    for i in range(-1, 3):
      value = pad[np.clip(iy + j, -4, 43) + 4, np.clip(ix + i, -4, 55) + 4]
      ref += kernel(map_y - iy - j) * kernel(map_x - ix - i) * value
  out = _remap_tf(img, u1, u2)
  np.testing.assert_allclose(out, ref, atol=2e-3)
  # And the 1/32 rounding of OpenCV 4 is a real difference on these maps.
  assert np.abs(_remap_tf(img, u1, u2, ops.OPENCV4_SUBPIXEL_BITS) - ref).max() > 0.5


def test_median5_matches_cv2_median_blur():
  u = RNG.normal(size=(3, 17, 23)).astype(np.float32)
  out = ops.median5(tf.constant(u)).numpy()
  ref = np.stack([cv2.medianBlur(x, 5) for x in u])
  np.testing.assert_array_equal(out, ref)


def test_differences_use_opencv_borders():
  img = RNG.normal(size=(1, 5, 6)).astype(np.float32)
  dx, dy = (t.numpy()[0] for t in ops.centered_gradient(img))
  i = img[0]
  assert dx[2, 0] == pytest.approx(0.5 * (i[2, 1] - i[2, 0]))
  assert dx[2, 3] == pytest.approx(0.5 * (i[2, 4] - i[2, 2]))
  assert dy[4, 1] == pytest.approx(0.5 * (i[4, 1] - i[3, 1]))
  fx, fy = (t.numpy()[0] for t in ops.forward_gradient(img))
  assert fx[1, 5] == 0 and fy[4, 2] == 0
  assert fx[4, 2] == pytest.approx(i[4, 3] - i[4, 2])
  div = ops.divergence(img, 2 * img).numpy()[0]
  assert div[0, 0] == pytest.approx(i[0, 0] + 2 * i[0, 0])
  assert div[3, 4] == pytest.approx(i[3, 4] - i[3, 3] + 2 * (i[3, 4] - i[2, 4]))


def test_bad_arguments_are_refused():
  a = np.zeros((2, H, W), np.uint8)
  with pytest.raises(ValueError, match='stopping'):
    tvl1_tf.tvl1_pairs(a, a, stopping='never')
  with pytest.raises(ValueError, match='iterations'):
    tvl1_tf.tvl1_pairs(a, a, iterations=10)
  with pytest.raises(ValueError, match='unknown TV-L1 parameter'):
    tvl1_tf.tvl1_pairs(a, a, warp=3)
  with pytest.raises(NotImplementedError, match='gamma'):
    tvl1_tf.tvl1_pairs(a, a, gamma=0.1)
  with pytest.raises(ValueError, match='one shape'):
    tvl1_tf.tvl1_pairs(a, a[:, :-1])
  with pytest.raises(ValueError, match='uint8'):
    tvl1_tf.tvl1(a.astype(np.float32))


# --- whole-algorithm parity ---------------------------------------------------


def test_synthetic_epe_within_10_percent_of_opencv(synthetic):
  a, b, truth, ref = synthetic
  inner = np.s_[:, 4:-4, 4:-4]
  epe_cv = _epd(ref[inner], truth[inner]).mean()
  for stopping in tvl1_tf.STOPPING:
    flow = tvl1_tf.tvl1_pairs(a, b, stopping=stopping).numpy()
    epe_tf = _epd(flow[inner], truth[inner]).mean()
    print(f'synthetic EPE: opencv {epe_cv:.4f} px, tf/{stopping} '
          f'{epe_tf:.4f} px')
    assert epe_cv < 0.3
    assert abs(epe_tf - epe_cv) <= 0.1 * epe_cv


def test_real_clips_opencv_rule_within_005px(real):
  a, b, ref, _ = real
  flow, steps = tvl1_tf.tvl1_pairs(a, b, return_steps=True)
  diff = _epd(flow.numpy(), ref)
  print(f'real clips, OpenCV rule: mean |tf - opencv| {diff.mean():.4f} px '
        f'(per pair {np.round(diff, 4)}), steps {steps.numpy()}')
  assert flow.shape == (PAIRS, H, W, 2)
  assert diff.mean() <= 0.05


def test_real_clips_fixed_budget_within_opencv_sensitivity(real):
  a, b, ref, ref_half_eps = real
  sensitivity = _epd(ref_half_eps, ref).mean()
  flow = tvl1_tf.tvl1_pairs(a, b, stopping='fixed').numpy()
  diff = _epd(flow, ref).mean()
  print(f'real clips, fixed budget ({tvl1_tf.fixed_iterations(H, W)} '
        f'steps/warp): mean |tf - opencv| {diff:.4f} px; OpenCV eps/2 vs '
        f'eps: {sensitivity:.4f} px')
  assert diff <= sensitivity


def test_real_clips_fixed_budget_on_larger_frames(fixture_videos):
  """From a shorter side of 96 the default budget is smaller, and enough."""
  w, h = 128, 96
  budget = tvl1_tf.fixed_iterations(h, w)
  assert budget == tvl1_tf.FIXED_ITERATIONS < tvl1_tf.fixed_iterations(H, W)
  a, b = _real_pairs(fixture_videos, 8, (w, h))
  ref = _opencv(a, b)
  sensitivity = _epd(_opencv(a, b, epsilon=0.005), ref).mean()
  flow, steps = tvl1_tf.tvl1_pairs(a, b, stopping='fixed', return_steps=True)
  diff = _epd(flow.numpy(), ref).mean()
  print(f'real clips at {w}x{h}, fixed budget ({budget} steps/warp): mean '
        f'|tf - opencv| {diff:.4f} px; OpenCV eps/2 vs eps: '
        f'{sensitivity:.4f} px')
  assert set(steps.numpy()) == {budget * 5 * 5}  # warps x pyramid levels
  assert diff <= sensitivity


def test_tvl1_frames_batches_and_pads(real, monkeypatch):
  a, b, _, _ = real
  frames = np.concatenate([a[:1], b[:3]])  # 4 frames -> 3 pairs
  calls = []
  real_pairs = tvl1_tf.tvl1_pairs

  def spy(f0, f1, **kwargs):
    calls.append((f0.shape[0], kwargs['stopping']))
    return real_pairs(f0, f1, **kwargs)

  monkeypatch.setattr(tvl1_tf, 'tvl1_pairs', spy)
  # Fewer pairs than the batch: one batch of the next power of two (4),
  # the last pair repeated.
  out = tvl1_tf.tvl1(frames, stopping='fixed', batch_size=PAIRS)
  assert calls == [(4, 'fixed')]
  assert out.shape == (3, H, W, 2) and out.dtype == np.float32
  direct = real_pairs(
      np.stack([frames[0], frames[1], frames[2]] * 2),
      np.stack([frames[1], frames[2], frames[3]] * 2), stopping='fixed')
  np.testing.assert_allclose(out, direct.numpy()[:3], atol=1e-4)
  assert tvl1_tf.tvl1(frames[:1]).shape == (0, H, W, 2)


def test_defaults_follow_the_device(monkeypatch):
  assert (tvl1_tf.default_stopping(), tvl1_tf.default_batch_size()) == (
      'opencv', 1)  # This machine has no accelerator.
  calls = []
  monkeypatch.setattr(tvl1_tf, 'tvl1_pairs', lambda f0, f1, **kw: calls.append(
      (f0.shape[0], kw['stopping'])) or tf.zeros((*f0.shape, 2)))
  frames = np.zeros((71, 8, 8), np.uint8)  # 70 pairs
  tvl1_tf.tvl1(frames)
  assert calls == [(1, 'opencv')] * 70
  monkeypatch.setattr(tvl1_tf, '_on_accelerator', lambda: True)
  assert (tvl1_tf.default_stopping(), tvl1_tf.default_batch_size()) == (
      'fixed', 64)
  calls.clear()
  tvl1_tf.tvl1(frames)
  assert calls == [(64, 'fixed'), (64, 'fixed')]
  calls.clear()
  tvl1_tf.tvl1(frames[:17])  # 16 pairs, a chunk of the extraction tool
  assert calls == [(16, 'fixed')]
