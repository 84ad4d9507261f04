"""Tests of the synthetic action set: the renderer's class design and the TFDS build."""

import importlib
import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

import flow
from flow.decoding import to_gray
from kinetics_tf.datasets import features as features_lib
from kinetics_tf.datasets import generate
from kinetics_tf.datasets import synthetic

SIZE, FRAMES = 32, 12


def _px_flow(name, seed):
  frames = synthetic.render(name, seed, SIZE, FRAMES)
  return flow.tvl1(to_gray(frames), **dict(synthetic.SYNTHETIC_TVL1))


def test_classes_and_families():
  names = synthetic.CLASS_NAMES
  assert len(names) == len(set(names)) == 16
  assert set(synthetic.CLASS_FAMILY) == set(names)
  families = [synthetic.CLASS_FAMILY[n] for n in names]
  assert families.count('motion') == families.count('appearance') == 8
  assert synthetic.CLASS_FAMILY['move_left'] == 'motion'
  assert synthetic.CLASS_FAMILY['red_stripes'] == 'appearance'


def test_render_is_deterministic_with_the_asked_shape():
  a = synthetic.render('rotate_clockwise', (3, 1, 7), SIZE, FRAMES)
  b = synthetic.render('rotate_clockwise', (3, 1, 7), SIZE, FRAMES)
  c = synthetic.render('rotate_clockwise', (3, 1, 8), SIZE, FRAMES)
  assert a.shape == (FRAMES, SIZE, SIZE, 3) and a.dtype == np.uint8
  np.testing.assert_array_equal(a, b)
  assert np.abs(a.astype(int) - c).mean() > 5


@pytest.mark.parametrize('kwargs, match', [
    (dict(name='jump'), 'unknown synthetic class'),
    (dict(name='move_left', size=8), 'size >= 16'),
    (dict(name='move_left', num_frames=1), 'num_frames >= 2'),
])
def test_render_rejects_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    synthetic.render(seed=0, **kwargs)


@pytest.mark.parametrize('seed', [0, 1])
def test_flow_tells_the_motion_classes_apart(seed):
  """Mean flow, curl and divergence over the moving plate give the class."""
  stats = {}
  for name in synthetic.MOTIONS:
    f = _px_flow(name, seed)
    moving = np.linalg.norm(f, axis=-1) > 0.2
    curl = np.gradient(f[..., 1], axis=2) - np.gradient(f[..., 0], axis=1)
    div = np.gradient(f[..., 0], axis=2) + np.gradient(f[..., 1], axis=1)
    stats[name] = (f[..., 0][moving].mean(), f[..., 1][moving].mean(),
                   curl[moving].mean(), div[moving].mean())
  assert stats['move_left'][0] < -0.3 < 0.3 < stats['move_right'][0]
  assert stats['move_up'][1] < -0.3 < 0.3 < stats['move_down'][1]
  # Image y points down: clockwise on screen has positive curl.
  assert stats['rotate_anticlockwise'][2] < 0 < stats['rotate_clockwise'][2]
  assert stats['recede'][3] < 0 < stats['approach'][3]


def test_a_first_frame_does_not_tell_the_motion():
  """Same seed: the six move/rotate classes start from the same frame."""
  first = [synthetic.render(n, 5, SIZE, FRAMES)[0]
           for n in synthetic.MOTIONS[:6]]
  for frame in first[1:]:
    np.testing.assert_array_equal(frame, first[0])


def test_appearance_classes_share_their_motion():
  """Same seed: the eight appearance classes move the same way (flow nearly
  equal) while their RGB differs: only RGB can tell them apart."""
  flows = [_px_flow(n, 11) for n in synthetic.APPEARANCES]
  frames = [synthetic.render(n, 11, SIZE, FRAMES).astype(np.float32)
            for n in synthetic.APPEARANCES]
  magnitude = np.abs(flows[0]).mean()
  assert magnitude > 0.1
  for f, rgb in zip(flows[1:], frames[1:]):
    assert np.abs(f - flows[0]).mean() < 0.35 * magnitude
    assert np.abs(rgb - frames[0]).mean() > 5


def test_config_validation():
  with pytest.raises(ValueError, match='clips_per_class'):
    synthetic.SyntheticActionsConfig(name='bad', clips_per_class=(1, 2))
  with pytest.raises(ValueError, match='size must be'):
    synthetic.SyntheticActionsConfig(name='bad', size=8)


def test_tiny_build_end_to_end(tiny_builder):
  config = tiny_builder.builder_config
  assert (config.size, config.num_frames) == (SIZE, FRAMES)
  splits = {name: s.num_examples
            for name, s in tiny_builder.info.splits.items()}
  assert splits == {'train': 32, 'validation': 16, 'test': 16}
  labels = tiny_builder.info.features['label']
  assert labels.names == list(synthetic.CLASS_NAMES)
  summary = json.loads((tiny_builder.data_path / generate.SUMMARY).read_text())
  assert summary['train'] == {'built': 32, 'missing': 0, 'corrupt': 0,
                              'too_short': 0, 'failed': 0, 'bad_row': 0}
  assert generate.read_report(tiny_builder.data_path) == []


def test_tiny_examples_match_the_renderer_and_flow(tiny_builder):
  jobs = {j.key: j
          for j in synthetic.split_jobs(tiny_builder.builder_config, 'test')}
  labels = tiny_builder.info.features['label']
  seen = 0
  for ex in tfds.as_numpy(tiny_builder.as_dataset(split='test').take(4)):
    key = ex['youtube_id'].decode()
    job = jobs[key]
    assert ex['video'].shape == (FRAMES, SIZE, SIZE, 3)
    stored = features_lib.flow_array(ex['flow'])
    assert stored.shape == (FRAMES - 1, SIZE, SIZE, 2)
    assert stored.dtype == np.uint8
    assert ex['num_frames'] == FRAMES and ex['source_fps'] == 25
    assert labels.int2str(ex['label']) == job.label
    assert ex['time_end'] == pytest.approx(FRAMES / 25)
    frames, flow_u8 = synthetic.clip_arrays(tiny_builder.builder_config, job)
    # Flow is stored losslessly: exactly flow.quantize(flow.tvl1(frames)).
    np.testing.assert_array_equal(stored, flow_u8)
    np.testing.assert_array_equal(
        stored, flow.quantize(flow.tvl1(to_gray(frames),
                                            **dict(synthetic.SYNTHETIC_TVL1))))
    # Frames are JPEG: close to the rendered ones.
    assert np.abs(ex['video'].astype(int) - frames).mean() < 3
    seen += 1
  assert seen == 4


def test_builders_compute_flow_with_the_chosen_backend(monkeypatch, tmp_path):
  """flow_backend (or KINETICS_TF_FLOW_BACKEND for `tfds build`) reaches flow.tvl1."""
  from kinetics_tf.datasets import builder as builder_lib  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import clips  # pylint: disable=g-import-not-at-top
  seen = []
  # flow.quantised_flow calls the tvl1 of module flow/tvl1.py (the package's
  # attribute flow.tvl1 is that function, not the module).
  tvl1_module = importlib.import_module('flow.tvl1')
  real = tvl1_module.tvl1

  def spy(gray, backend='opencv', **params):
    seen.append(backend)
    return real(gray, 'opencv', **params)  # the TF backend has its own tests.

  monkeypatch.setattr(tvl1_module, 'tvl1', spy)
  gray = to_gray(synthetic.render('move_left', 0, 32, 4))
  clips.flow_of(gray, clips.Options(with_flow=True, flow_backend='tf'))
  assert seen and set(seen) == {'tf'}

  def backend_of(**kwargs):
    b = synthetic.SyntheticActions(config='tiny', data_dir=str(tmp_path), **kwargs)
    return b._flow_backend  # pylint: disable=protected-access

  monkeypatch.delenv(builder_lib.FLOW_BACKEND_ENV, raising=False)
  assert backend_of() == 'opencv'  # OpenCV is faster on its tiny clips.
  assert builder_lib.ClipBuilder.DEFAULT_FLOW_BACKEND == 'auto'
  monkeypatch.setenv(builder_lib.FLOW_BACKEND_ENV, 'auto')
  assert backend_of() == 'auto'
  options = clips.Options(with_flow=True, flow_backend='auto',
                          tvl1_params=synthetic.SYNTHETIC_TVL1)
  seen.clear()
  clips.flow_of(gray, options)
  assert seen == ['auto']  # flow.tvl1 resolves it (tests/test_flow.py).
  monkeypatch.setenv(builder_lib.FLOW_BACKEND_ENV, 'tf')
  assert backend_of() == 'tf'
  assert backend_of(flow_backend='opencv') == 'opencv'
  monkeypatch.setenv(builder_lib.FLOW_BACKEND_ENV, 'cuda')
  with pytest.raises(ValueError, match="'cuda' .*KINETICS_TF_FLOW_BACKEND"):
    backend_of()
