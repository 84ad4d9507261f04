"""De-duplication on real clips: embeddings, the dedup binary, failures and the cache."""

import csv
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import write_video
from kinetics_tf import constants
from kinetics_tf.curation import common
from kinetics_tf.curation import dedup
from kinetics_tf.curation import embed
from flow import decoding as video

ARM = 'k400_arm_wrestling_340x256_28fps.mp4'
REAL = 'real_320x240_25fps.avi'
CAR = 'carphone_176x144.mp4'
SECONDS = 4.0  # frames decoded per clip: enough for 25 distinct crops


def _cos(a, b):
  return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _edited_copy(src, dst, crop=0.04, scale=0.6):
  """A re-upload: first SECONDS of src, cropped per side, resized, re-encoded."""
  frames = video.decode(src, end=SECONDS)
  h, w = frames.shape[1:3]
  y, x = int(h * crop), int(w * crop)
  size = (int((w - 2 * x) * scale) // 2 * 2, int((h - 2 * y) * scale) // 2 * 2)
  edited = np.stack([cv2.resize(f[y:h - y, x:w - x], size,
                                interpolation=cv2.INTER_AREA) for f in frames])
  return write_video(dst, edited)


@pytest.fixture(scope='module')
def copy_path(fixture_videos, tmp_path_factory):
  return _edited_copy(fixture_videos / ARM,
                      tmp_path_factory.mktemp('copy') / 'arm_copy.mp4')


def test_pyramid_is_intensity_invariant_and_zero_on_uniform_frames():
  rng = np.random.default_rng(0)
  images = rng.uniform(0, 255, (2, 32, 48, 3)).astype(np.float32)
  f = embed.pyramid_features(images)
  assert f.shape == (2, 3 * (4 + 16 + 64))
  np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
  # A contrast change and brightness / colour offsets leave it unchanged,
  np.testing.assert_allclose(
      embed.pyramid_features(images * 0.6 + [30, -10, 5]), f, atol=1e-5)
  # but colour counts: scaling one channel changes it.
  assert not np.allclose(embed.pyramid_features(images * [1, 1, 0.5]), f,
                         atol=1e-2)
  assert not np.allclose(f[0], f[1], atol=0.1)
  assert not embed.pyramid_features(np.full((1, 32, 32, 3), 77.0)).any()


def test_sample_crops_are_uniform_centre_crops(fixture_videos):
  crops = embed.sample_crops(fixture_videos / REAL, end=2.0)
  assert crops.shape == (constants.DEDUP_FRAMES, 224, 224, 3)
  frames = video.decode(fixture_videos / REAL, end=2.0, short_side=224)
  assert frames.shape[1:3] == (224, 299)  # 320x240 -> 299x224
  np.testing.assert_array_equal(crops[0], frames[0, :, 37:261])
  np.testing.assert_array_equal(crops[-1], frames[-1, :, 37:261])
  # 50 frames: crop 12 is frame 12 * 49 / 24 = 24.5, rounded half to even.
  np.testing.assert_array_equal(crops[12], frames[24, :, 37:261])


def test_edited_copy_is_a_duplicate_and_other_clips_are_not(
    fixture_videos, copy_path):
  fn, _ = embed.load_frame_model(embed.PYRAMID)
  refs = {'arm': embed.ClipRef('arm', str(fixture_videos / ARM), 0, SECONDS),
          'copy': embed.ClipRef('copy', str(copy_path)),
          'real': embed.ClipRef('real', str(fixture_videos / REAL), 0, SECONDS),
          'car': embed.ClipRef('car', str(fixture_videos / CAR), 0, SECONDS)}
  emb = {k: embed.embed_clip(r, fn) for k, r in refs.items()}
  sims = {(a, b): _cos(emb[a], emb[b]) for a in emb for b in emb if a < b}
  print('pyramid cosine similarities:',
        {f'{a}-{b}': round(s, 4) for (a, b), s in sims.items()})
  assert sims[('arm', 'copy')] >= constants.DEDUP_THRESHOLD
  for pair, sim in sims.items():
    if pair != ('arm', 'copy'):
      assert sim < constants.DEDUP_THRESHOLD, pair
  comps = dedup.dedup_class(list(emb), np.stack(list(emb.values())),
                            constants.DEDUP_THRESHOLD, __import__('random')
                            .Random(0))
  assert sorted(c['members'] for c in comps) == [
      ['arm', 'copy'], ['car'], ['real']]


def _clips_csv(tmp_path, fixture_videos, copy_path):
  truncated = tmp_path / 'truncated.mp4'
  truncated.write_bytes((fixture_videos / ARM).read_bytes()[:3000])
  uniform = write_video(tmp_path / 'grey.mp4',
                        np.full((10, 64, 64, 3), 128, np.uint8))
  rows = [  # clip_id, youtube_id, label, path, time_start, time_end
      ('arm', 'v1', 'arm wrestling', fixture_videos / ARM, 0, SECONDS),
      ('arm_copy', 'v2', 'arm wrestling', copy_path, '', ''),
      ('real_a', 'v3', 'arm wrestling', fixture_videos / REAL, 0, 2),
      ('real_b', 'v3', 'arm wrestling', fixture_videos / REAL, 2, 4),
      ('car', 'v4', 'talking', fixture_videos / CAR, 0, 2),
      ('missing', 'v5', 'talking', 'no_such_clip.mp4', '', ''),
      ('broken', 'v6', 'talking', truncated.name, '', ''),
      ('grey', 'v7', 'talking', uniform.name, '', ''),
  ]
  path = tmp_path / 'clips.csv'
  with path.open('w', newline='') as f:
    csv.writer(f).writerows([dedup.CLIP_COLUMNS + dedup.TRIM_COLUMNS] + rows)
  return path


def _read(path):
  with open(path, newline='') as f:
    return list(csv.DictReader(f))


def test_binary_end_to_end_failures_and_cache(tmp_path, fixture_videos,
                                              copy_path, monkeypatch, capsys):
  clips = _clips_csv(tmp_path, fixture_videos, copy_path)
  out = tmp_path / 'out'
  proc = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.curation.dedup', f'--clips={clips}',
       f'--out_dir={out}', '--class_threshold=talking=0.99'],
      capture_output=True, text=True, timeout=300, check=False)
  assert proc.returncode == 0, proc.stderr
  assert ('8 clips in: 1 removed as the same video, 1 duplicates removed in 1 '
          'components, 3 kept, 3 failed to decode') in proc.stdout
  assert 'skipping clip missing:' in proc.stdout
  kept = {r['clip_id'] for r in _read(out / 'kept.csv')}
  removed = {r['clip_id']: r['reason'] for r in _read(out / 'removed.csv')}
  failed = {r['clip_id']: r['reason'] for r in _read(out / 'failed.csv')}
  real_kept = ({'real_a', 'real_b'} & kept).pop()
  arm_kept = ({'arm', 'arm_copy'} & kept).pop()
  assert kept == {real_kept, arm_kept, 'car'}
  arm_removed = ({'arm', 'arm_copy'} - kept).pop()
  assert removed == {
      ({'real_a', 'real_b'} - kept).pop(): f'same video as {real_kept}',
      arm_removed: f'duplicate of {arm_kept} in component 1'}
  assert set(failed) == {'missing', 'broken', 'grey'}
  assert 'no such file' in failed['missing']
  assert 'no image structure' in failed['grey']
  report = json.loads((out / 'components.json').read_text())
  first = report['components'][0]
  assert first['members'] == sorted(['arm', 'arm_copy'])
  assert first['similarity_to_kept'][arm_removed] >= 0.97
  assert [(c['label'], c['threshold']) for c in report['components']] == [
      ('arm wrestling', 0.97), ('arm wrestling', 0.97), ('talking', 0.99)]
  # A re-run decodes only the clips that failed (tried again): every other
  # clip comes from the cache.
  decoded = []

  def still_failing(path, *unused_args):
    decoded.append(path)
    raise video.DecodeError(path, 'still broken')
  monkeypatch.setattr(embed, 'sample_crops', still_failing)
  capsys.readouterr()
  summary = dedup.run(clips, out, progress=True)
  assert sorted(decoded) == sorted(
      str(tmp_path / p) for p in ('no_such_clip.mp4', 'truncated.mp4',
                                  'grey.mp4'))
  assert 'reused 4 from the cache, 3 failed' in capsys.readouterr().out
  assert summary == dict(clips_in=8, same_video_removed=1,
                         duplicates_removed=1, kept=3, failed=3, components=1,
                         out_dir=str(out))
  assert {r['clip_id'] for r in _read(out / 'kept.csv')} == kept


def test_cache_ignored_for_another_model(tmp_path):
  path = tmp_path / 'embeddings.npz'
  embed.save_cache(path, 'model-a', {'k': np.ones(3, np.float32)})
  assert list(embed.load_cache(path, 'model-a')) == ['k']
  assert embed.load_cache(path, 'model-b') == {}


def test_read_clips_errors_name_the_line(tmp_path):
  path = tmp_path / 'clips.csv'
  path.write_text('clip_id,youtube_id,label,path\na,v,x,a.mp4\na,w,x,b.mp4\n')
  with pytest.raises(common.CurationInputError, match=r'clips.csv:3: .*repeats'):
    dedup.read_clips(path)
  path.write_text('clip_id,youtube_id,label,path\na,v,,a.mp4\n')
  with pytest.raises(common.CurationInputError, match=r":2: empty \['label'\]"):
    dedup.read_clips(path)
  path.write_text('clip_id,youtube_id,label,path\na,v,x,a.mp4\n')
  with pytest.raises(common.CurationInputError, match=r"no clips: \['zzz'\]"):
    dedup.run(path, tmp_path / 'out', class_thresholds={'zzz': 0.99})
  with pytest.raises(ValueError, match='not .pyramid'):
    embed.load_frame_model(str(tmp_path / 'nope.keras'))


def test_keras_file_savedmodel_and_resnet_trunk(tmp_path, fixture_videos):
  keras = pytest.importorskip('keras')
  inputs = keras.Input((224, 224, 3))
  fmap = keras.layers.Conv2D(8, 16, strides=16, name='conv')(inputs)
  pooled = keras.layers.GlobalMaxPooling2D(name='pooled')(fmap)
  model = keras.Model(inputs, {'map': fmap, 'pooled': pooled})
  model.save(tmp_path / 'net.keras')
  model.export(str(tmp_path / 'saved'), verbose=False)
  ref = embed.ClipRef('real', str(fixture_videos / REAL), 0, 1.0)
  x = embed.sample_crops(ref.path, 0, 1.0).astype(np.float32) / 127.5 - 1
  want = {'map': model(x)['map'].numpy().mean(axis=(0, 1, 2)),
          'pooled': model(x)['pooled'].numpy().mean(axis=0)}
  for path in (tmp_path / 'net.keras', tmp_path / 'saved'):
    for endpoint, expected in want.items():
      fn, name = embed.load_frame_model(str(path), endpoint=endpoint)
      assert endpoint in name
      np.testing.assert_allclose(embed.embed_clip(ref, fn), expected,
                                 rtol=1e-4, atol=1e-5)
    fn, _ = embed.load_frame_model(str(path))
    with pytest.raises(ValueError, match=r"outputs \['map', 'pooled'\]; pass "
                       '--endpoint'):
      embed.embed_clip(ref, fn)
  trunk = embed.resnet50_trunk(width_multiplier=1 / 16)
  emb = embed.embed_clip(ref, embed._keras_fn(trunk, None, 'resnet50'))
  assert emb.shape == (128,) and np.isfinite(emb).all()
