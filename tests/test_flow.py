"""Tests of flow.tvl1, flow.quantised_flow, flow.quantize on tiny synthetic frames."""

import numpy as np
import pytest

import flow
from flow.constants import FLOW_BOUND
from flow.backends import OPENCV_DEFAULTS, tvl1_params

SIZE = 64


def _texture(x, y, seed=0):
  """A smooth texture: a sum of 12 plane waves of wavelength 7..20 px."""
  rng = np.random.default_rng(seed)
  out = np.zeros_like(x)
  for _ in range(12):
    k = rng.uniform(2 * np.pi / 20, 2 * np.pi / 7)
    theta = rng.uniform(0, np.pi)
    phase = rng.uniform(0, 2 * np.pi)
    out += np.sin(k * (np.cos(theta) * x + np.sin(theta) * y) + phase)
  return 128 + 114 * out / np.abs(out).max()


def _warped_pair(seed=0):
  """Frames (I0, I1) with I1(p + f(p)) = I0(p) for a known smooth sub-pixel f."""
  y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
  u = 0.6 + 0.3 * np.sin(2 * np.pi * y / SIZE)
  v = -0.4 + 0.3 * np.cos(2 * np.pi * x / SIZE)
  frames = np.stack([_texture(x + u, y + v, seed), _texture(x, y, seed)])
  frames = np.round(frames).clip(0, 255).astype(np.uint8)
  return frames, np.stack([u, v], axis=-1).astype(np.float32)


def test_known_subpixel_flow_is_recovered():
  frames, truth = _warped_pair()
  out = flow.tvl1(frames)
  assert out.shape == (1, SIZE, SIZE, 2) and out.dtype == np.float32
  epe = np.linalg.norm(out[0] - truth, axis=-1)
  assert epe.mean() < 0.1, f'mean EPE {epe.mean():.3f} px'
  # x then y: the channels are not swapped.
  assert abs(out[0, ..., 0].mean() - 0.6) < 0.05
  assert abs(out[0, ..., 1].mean() + 0.4) < 0.05


def test_flip_mirrors_flow_and_negates_x():
  frames, _ = _warped_pair(seed=1)
  out = flow.tvl1(frames)[0]
  flipped = flow.tvl1(np.ascontiguousarray(frames[:, :, ::-1]))[0]
  mirrored = flipped[:, ::-1].copy()
  mirrored[..., 0] *= -1
  diff = np.linalg.norm(mirrored - out, axis=-1)
  # TV-L1's forward differences (zero on the last column) and one-sided
  # border gradients are not mirror-symmetric, so the outer 4 px differ by
  # 0.14 px on average with OpenCV 4.14 and 0.21 px with 5.0 (whose exact
  # bicubic warp changes the border most); inside them the flip holds to
  # 0.011-0.012 px with both majors.
  inner = diff[4:-4, 4:-4]
  assert inner.mean() < 0.02, f'mean flip difference {inner.mean():.3f} px'
  assert np.median(diff) < 0.02
  assert diff.mean() < 0.1, f'mean flip difference {diff.mean():.3f} px'


def test_t_frames_give_t_minus_1_fields_in_order():
  frames, _ = _warped_pair()
  # Frames 0, 1, 0: flow[1] (1 -> 0) is about minus flow[0] (0 -> 1).
  out = flow.tvl1(np.stack([frames[0], frames[1], frames[0]]))
  assert out.shape == (2, SIZE, SIZE, 2)
  assert abs(out[0, ..., 0].mean() - 0.6) < 0.05
  assert abs(out[1, ..., 0].mean() + 0.6) < 0.05
  assert flow.tvl1(frames[:1]).shape == (0, SIZE, SIZE, 2)


def test_parameters_reach_opencv():
  frames, truth = _warped_pair()
  coarse = flow.tvl1(frames, nscales=1, warps=1, outerIterations=1,
                     innerIterations=1, **{'lambda': 0.01})
  fine = flow.tvl1(frames)
  assert not np.allclose(coarse, fine)
  assert (np.linalg.norm(coarse[0] - truth, axis=-1).mean() >
          np.linalg.norm(fine[0] - truth, axis=-1).mean())
  chained = flow.tvl1(np.concatenate([frames, frames[1:]]),
                      useInitialFlow=True)
  assert chained.shape == (2, SIZE, SIZE, 2)
  assert tvl1_params(**{'lambda': 0.2})['lambda_'] == 0.2
  assert set(tvl1_params()) == set(OPENCV_DEFAULTS)


def test_bad_arguments_are_rejected():
  frames, _ = _warped_pair()
  with pytest.raises(ValueError, match='unknown TV-L1 parameter'):
    flow.tvl1(frames, taux=0.3)
  with pytest.raises(ValueError, match='unknown flow backend'):
    flow.tvl1(frames, backend='cuda')
  with pytest.raises(ValueError, match='to_gray'):
    flow.tvl1(np.zeros((2, 8, 8, 3), np.uint8))
  with pytest.raises(ValueError, match='uint8'):
    flow.tvl1(frames.astype(np.float32))


def test_auto_backend_is_tf_unless_the_parameters_need_opencv():
  assert flow.choose_backend() == flow.choose_backend('auto') == 'tf'
  assert flow.choose_backend('auto', warps=3, nscales=2) == 'tf'
  assert flow.choose_backend('auto', medianFiltering=1) == 'tf'
  for params in (dict(gamma=0.1), dict(useInitialFlow=True),
                 dict(medianFiltering=3)):
    assert flow.choose_backend('auto', **params) == 'opencv', params
  assert flow.choose_backend('opencv') == 'opencv'
  assert flow.choose_backend('tf', gamma=0.1) == 'tf'  # tvl1_tf says no.
  with pytest.raises(ValueError, match="unknown flow backend 'cuda'"):
    flow.choose_backend('cuda')
  with pytest.raises(ValueError, match='unknown TV-L1 parameter'):
    flow.choose_backend('auto', taux=1)


def test_auto_backend_runs_the_backend_it_chooses(monkeypatch):
  frames, _ = _warped_pair()
  ran = []
  import flow.tvl1_tf as tvl1_tf  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(tvl1_tf, 'tvl1', lambda f, **p: ran.append(p) or
                      np.zeros((len(f) - 1, *f.shape[1:], 2), np.float32))
  flow.tvl1(frames, 'auto', warps=2)
  assert ran == [dict(warps=2)]
  chained = flow.tvl1(frames, 'auto', useInitialFlow=True)  # OpenCV's.
  assert len(ran) == 1 and np.abs(chained).max() > 0.5


def test_quantize_round_trip_within_half_a_step():
  step = 2 * FLOW_BOUND / 255
  px = np.linspace(-FLOW_BOUND, FLOW_BOUND, 10_001, dtype=np.float32)
  u8 = flow.quantize(px)
  assert u8.dtype == np.uint8 and u8.min() == 0 and u8.max() == 255
  back = flow.dequantize(u8)
  assert back.dtype == np.float32
  assert np.abs(back - px).max() <= step / 2 + 1e-5
  # Monotone, and every code used.
  assert np.all(np.diff(u8.astype(int)) >= 0)
  assert len(np.unique(u8)) == 256


def test_quantize_clips_beyond_the_bound():
  u8 = flow.quantize(np.array([-1e3, -20.5, 20.5, 55.0, np.float32(-20.0)]))
  np.testing.assert_array_equal(u8, [0, 0, 255, 255, 0])
  np.testing.assert_allclose(flow.dequantize(u8[:4]), [-20, -20, 20, 20])


def test_dequantize_unit_range():
  u8 = np.array([0, 255, 128, 64], np.uint8)
  unit = flow.dequantize(u8, unit=True)
  np.testing.assert_allclose(unit[:2], [-1.0, 1.0])
  np.testing.assert_allclose(unit * FLOW_BOUND, flow.dequantize(u8), atol=1e-5)
  with pytest.raises(ValueError, match='uint8'):
    flow.dequantize(np.zeros(3, np.float32))


def test_quantize_keeps_shape_of_flow():
  px = np.random.default_rng(0).normal(0, 5, (3, 4, 5, 2))
  assert flow.quantize(px).shape == (3, 4, 5, 2)


def test_quantised_flow_is_the_quantised_tvl1_in_any_chunks():
  frames, _ = _warped_pair()
  clip = np.concatenate([frames, frames[::-1], frames])  # 6 frames, 5 pairs.
  whole = flow.quantize(flow.tvl1(clip, 'opencv', warps=1, nscales=2))
  for chunk in (1, 2, 16):
    np.testing.assert_array_equal(
        flow.quantised_flow(clip, 'opencv', chunk, warps=1, nscales=2), whole)
  parts = list(flow.quantised_chunks(iter(clip), 'opencv', 2, warps=1,
                                     nscales=2))
  assert [len(p) for p in parts] == [2, 2, 1]
  np.testing.assert_array_equal(np.concatenate(parts), whole)
  assert flow.quantised_flow(clip[:1], 'opencv').shape == (0, SIZE, SIZE, 2)
  assert not list(flow.quantised_chunks(clip[:1], 'opencv'))
  # Chained pairs (useInitialFlow) go in one call whatever the chunk.
  chained = flow.quantize(flow.tvl1(clip, 'opencv', useInitialFlow=True))
  np.testing.assert_array_equal(
      flow.quantised_flow(clip, 'opencv', 2, useInitialFlow=True), chained)
  with pytest.raises(ValueError, match='chunk'):
    flow.quantised_flow(clip, 'opencv', 0)


def test_the_tvl1_modules_do_not_import_each_other():
  """flow.tvl1 and flow.tvl1_tf share flow.backends; neither imports the
  other at import time (flow.tvl1 imports flow.tvl1_tf only to run it)."""
  import ast  # pylint: disable=g-import-not-at-top
  import pathlib  # pylint: disable=g-import-not-at-top
  root = pathlib.Path(flow.__file__).parent

  def top_imports(name):
    tree = ast.parse((root / f'{name}.py').read_text())
    names = set()
    for node in tree.body:
      if isinstance(node, ast.ImportFrom):
        names.add(node.module)
        names.update(f'{node.module}.{a.name}' for a in node.names)
      elif isinstance(node, ast.Import):
        names.update(a.name for a in node.names)
    return names

  assert 'flow.tvl1' not in top_imports('tvl1_tf')
  assert 'flow.tvl1_tf' not in top_imports('tvl1')
  assert 'flow.backends' in top_imports('tvl1_tf')
