"""Tests of the decoding path: flow.decoding and kinetics_tf.data.looping."""

import importlib.util
import pathlib
import pickle
import shutil

import av
import numpy as np
import pytest

from conftest import write_video
from flow import decoding
from kinetics_tf.data import looping

DECODERS = decoding.DECODERS
ARM = 'k400_arm_wrestling_340x256_28fps.mp4'  # 280 frames, 28 fps, 10 s.
SHORT = 'short_32frames_30fps.mp4'  # 32 frames, 30 fps.
AVI = 'real_320x240_25fps.avi'  # 164 frames, 25 fps.
NTU = 'ntu_1920x1080_30fps.avi'  # 103 frames, 30 fps, 1920x1080.
CARPHONE = 'carphone_176x144.mp4'  # 120 frames, 29.97 fps, 176x144.


# --- clips written by the tests: frame i shows i in binary, 8 stripes --------

def _stripe_frames(n, height=48):
  """Frames whose 8 vertical stripes (8 px wide) are white where i has a 1 bit."""
  frames = []
  for i in range(n):
    bits = (i >> np.arange(8)) & 1
    frames.append(np.repeat(np.repeat(bits * 255, 8)[None, :, None], height, 0)
                  .repeat(3, 2).astype(np.uint8))
  return frames


def _write_audio_only(path):
  with av.open(str(path), 'w') as container:
    stream = container.add_stream('aac', rate=16000)
    for i in range(8):
      frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32),
                                         format='fltp', layout='mono')
      frame.sample_rate, frame.pts = 16000, i * 1024
      for packet in stream.encode(frame):
        container.mux(packet)
    for packet in stream.encode(None):
      container.mux(packet)
  return path


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
  """name -> (path, source fps, source frames) of clips with known content."""
  root = tmp_path_factory.mktemp('clips')
  return {
      'mp4v_30': (write_video(root / 'a.mp4', _stripe_frames(45), fps=30,
                              codec='mp4v'), 30, 45),
      'mjpg_6': (write_video(root / 'b.avi', _stripe_frames(12), fps=6,
                             codec='MJPG'), 6, 12),
      'h264_28': (write_video(root / 'c.mp4', _stripe_frames(28), fps=28,
                              codec='libx264'), 28, 28),
  }


def _source_of(frames):
  """The source index each decoded frame shows (its stripes read as bits)."""
  stripes = frames.reshape(len(frames), -1, 8, 8, 3).mean(axis=(1, 3, 4))
  return ((stripes > 128) * (1 << np.arange(8))).sum(1)


# --- resampling rule ---------------------------------------------------------

def test_resample_indices_rule():
  idx = decoding.resample_indices(280, 28.0, 25)  # 10 s at 28 fps.
  assert len(idx) == 250 and idx[0] == 0 and idx[-1] == 278
  np.testing.assert_array_equal(idx[:10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 10])
  slow = decoding.resample_indices(60, 6.0, 25)  # 10 s at 6 fps repeats frames.
  assert len(slow) == 250
  np.testing.assert_array_equal(slow[:9], [0, 0, 0, 0, 0, 1, 1, 1, 1])
  assert set(np.bincount(slow)) == {4, 5}
  trimmed = decoding.resample_indices(280, 28.0, 25, start=2.0, end=4.0)
  np.testing.assert_array_equal(trimmed, idx[50:100])
  assert len(decoding.resample_indices(280, 28.0, 25, start=9.0, end=30.0)) == 25
  assert len(decoding.resample_indices(280, 28.0, 25, start=11.0)) == 0


@pytest.mark.parametrize('name', ['mp4v_30', 'mjpg_6', 'h264_28'])
@pytest.mark.parametrize('decoder', DECODERS)
def test_written_clips_follow_the_rule(clips, name, decoder):
  path, src_fps, n = clips[name]
  frames = decoding.decode(path, decoder=decoder)
  expected = decoding.resample_indices(n, src_fps, 25)
  assert frames.shape == (len(expected), 48, 64, 3) and frames.dtype == np.uint8
  assert len(expected) == {'mp4v_30': 38, 'mjpg_6': 50, 'h264_28': 25}[name]
  np.testing.assert_array_equal(_source_of(frames), expected)
  info = decoding.probe(path)
  assert (info.num_frames, info.width, info.height) == (n, 64, 48)
  assert info.fps == pytest.approx(src_fps) and info.duration == pytest.approx(
      n / src_fps)


@pytest.mark.parametrize('decoder', DECODERS)
def test_written_clip_trim_and_fps(clips, decoder):
  path, _, _ = clips['mjpg_6']  # 12 frames at 6 fps = 2 s.
  frames = decoding.decode(path, start=0.5, end=1.5, decoder=decoder)
  np.testing.assert_array_equal(_source_of(frames),
                                [3] * 5 + [4] * 4 + [5] * 4 + [6] * 4 + [7] * 4
                                + [8] * 4)
  np.testing.assert_array_equal(
      _source_of(decoding.decode(path, fps=3, decoder=decoder)), [0, 2, 4, 6, 8, 10])
  # end past the video stops at its last frame.
  assert len(decoding.decode(path, start=1.0, end=60.0, decoder=decoder)) == 25


# --- the real clips of ../shared/fixtures ------------------------------------

@pytest.mark.parametrize('decoder', DECODERS)
def test_fixture_frame_counts(fixture_videos, decoder):
  arm = decoding.decode(fixture_videos / ARM, decoder=decoder, threads=1)
  assert arm.shape == (250, 256, 340, 3) and arm.dtype == np.uint8
  assert len(decoding.decode(fixture_videos / SHORT, decoder=decoder)) == 27
  assert len(decoding.decode(fixture_videos / AVI, short_side=32,
                          decoder=decoder)) == 164


def test_fixture_probe(fixture_videos):
  assert decoding.probe(fixture_videos / ARM) == decoding.VideoInfo(
      fps=28.0, num_frames=280, width=340, height=256, duration=10.0)
  info = decoding.probe(fixture_videos / NTU, decoder='opencv')
  assert (info.num_frames, info.width, info.height, info.fps) == (
      103, 1920, 1080, 30.0)


@pytest.mark.parametrize('decoder', DECODERS)
def test_fixture_sizes_after_resizing(fixture_videos, decoder):
  ntu = decoding.decode(fixture_videos / NTU, end=0.2, short_side=340,
                     decoder=decoder)
  assert ntu.shape == (5, 340, 604, 3)  # 1920 * 340 / 1080 = 604.4 -> 604.
  car = decoding.decode(fixture_videos / CARPHONE, end=0.2, short_side=340,
                     decoder=decoder)
  assert car.shape == (5, 340, 416, 3)  # 176 * 340 / 144 = 415.6 -> 416.
  arm = decoding.decode(fixture_videos / ARM, end=0.2, short_side=128,
                     decoder=decoder)
  assert arm.shape == (5, 128, 170, 3)  # 340 * 128 / 256 = 170.


def test_fixture_trim_and_streaming_equal_decode(fixture_videos):
  path = fixture_videos / ARM
  full = decoding.decode(path, short_side=64, decoder='opencv')
  part = decoding.decode(path, start=2.0, end=4.0, short_side=64,
                      decoder='opencv')
  assert part.shape == (50, 64, 85, 3)
  np.testing.assert_array_equal(part, full[50:100])
  tail = decoding.decode(path, start=9.6, short_side=64, decoder='opencv')
  np.testing.assert_array_equal(tail, full[-10:])  # 9.6 s = output frame 240.
  stream = np.stack(list(decoding.iter_frames(path, short_side=64,
                                           decoder='opencv')))
  np.testing.assert_array_equal(stream, full)


def test_fixture_decoders_agree(fixture_videos):
  path = fixture_videos / SHORT
  a = decoding.decode(path, short_side=64, decoder='opencv').astype(int)
  b = decoding.decode(path, short_side=64, decoder='pyav').astype(int)
  assert a.shape == b.shape == (27, 64, 85, 3)
  assert np.abs(a - b).mean() < 1.0
  default = {'opencv': a, 'pyav': b}[decoding.DEFAULT_DECODER]
  np.testing.assert_array_equal(decoding.decode(path, short_side=64), default)


# --- fallback, bounds ----------------------------------------------------------

class _FailingReader:
  """A reader of the default decoder that fails after ``after`` frames."""
  after = 0

  def __init__(self, path, threads):
    self._inner = decoding._PyAVReader(path, threads)  # pylint: disable=protected-access
    for key in ('fps', 'width', 'height', 'num_frames', 'declared'):
      setattr(self, key, getattr(self._inner, key))
    self._count = 0
    if self.after == 0:
      raise decoding.DecodeError(path, 'cannot open (simulated)')

  def _tick(self):
    self._count += 1
    if self._count > self.after:
      raise decoding.DecodeError('x', 'broke mid-stream (simulated)')

  def skip(self):
    self._tick()
    return self._inner.skip()

  def read(self, short_side):
    self._tick()
    return self._inner.read(short_side)

  def close(self):
    self._inner.close()


@pytest.mark.parametrize('after', [0, 20])
def test_auto_falls_back_to_the_other_decoder(clips, monkeypatch, after):
  path, _, _ = clips['mp4v_30']
  expected = decoding.decode(path, decoder='pyav')
  reader = type('Reader', (_FailingReader,), {'after': after})
  monkeypatch.setitem(decoding._READERS, decoding.DEFAULT_DECODER, reader)  # pylint: disable=protected-access
  np.testing.assert_array_equal(decoding.decode(path), expected)
  with pytest.raises(decoding.DecodeError, match='simulated'):
    decoding.decode(path, decoder=decoding.DEFAULT_DECODER)


def test_decode_is_bounded(clips, monkeypatch):
  path, _, _ = clips['mp4v_30']
  with pytest.raises(decoding.DecodeError, match='timed out'):
    decoding.decode(path, timeout=0.0)
  # A header declaring far fewer frames than the stream holds stops the read.
  monkeypatch.setattr(decoding, 'MAX_SOURCE_FRAMES', 10)
  monkeypatch.setattr(decoding, '_declared_frames', lambda path: None)  # As WebM.
  with pytest.raises(decoding.DecodeError, match='more than 10 frames'):
    decoding.decode(path, decoder='opencv')


# --- bad files ---------------------------------------------------------------

@pytest.fixture(scope='module')
def bad_files(tmp_path_factory, clips):
  root = tmp_path_factory.mktemp('bad')
  avi = root / 'truncated.avi'  # The index is gone: decoders stop silently.
  data = clips['mjpg_6'][0].read_bytes()
  avi.write_bytes(data[:len(data) * 4 // 5])  # Its header takes half.
  mp4 = root / 'truncated.mp4'
  data = clips['h264_28'][0].read_bytes()
  mp4.write_bytes(data[:len(data) // 2])
  (root / 'empty.mp4').write_bytes(b'')
  (root / 'text.mp4').write_text('label,youtube_id\nabseiling,abc\n')
  return {
      'truncated_avi': (avi, 'truncated or corrupt: decoded|failed after frame'),
      'truncated_mp4': (mp4, 'cannot open|no decodable'),
      'empty': (root / 'empty.mp4', r'empty \(0 bytes\)'),
      'text': (root / 'text.mp4', 'cannot open|no decodable'),
      'audio_only': (_write_audio_only(root / 'audio.m4a'), 'no video stream'),
      'missing': (root / 'missing.mp4', 'no such file'),
  }


@pytest.mark.parametrize('kind', ['truncated_avi', 'truncated_mp4', 'empty',
                                  'text', 'audio_only', 'missing'])
@pytest.mark.parametrize('decoder', DECODERS + ('auto',))
def test_bad_files_raise_decode_error(bad_files, kind, decoder):
  path, reason = bad_files[kind]
  if kind == 'audio_only' and decoder == 'opencv':
    reason = 'no decodable video stream'
  with pytest.raises(decoding.DecodeError, match=reason) as info:
    decoding.decode(path, decoder=decoder)
  assert info.value.path == str(path) and str(path) in str(info.value)
  with pytest.raises(decoding.DecodeError):
    list(decoding.iter_frames(path, decoder=decoder))


def test_fixture_truncated_copy(fixture_videos, tmp_path):
  path = tmp_path / AVI
  data = (fixture_videos / AVI).read_bytes()
  path.write_bytes(data[:len(data) // 2])
  with pytest.raises(decoding.DecodeError, match='decoded 77 of the 164') as info:
    decoding.decode(path, short_side=32)
  assert info.value.path == str(path)
  shutil.copy(fixture_videos / ARM, tmp_path / 'cut.mp4')
  with open(tmp_path / 'cut.mp4', 'r+b') as f:
    f.truncate(len(data) // 3)
  with pytest.raises(decoding.DecodeError, match='cut.mp4'):
    decoding.decode(tmp_path / 'cut.mp4')
  with pytest.raises(decoding.DecodeError):
    decoding.probe(tmp_path / 'cut.mp4')


def test_decode_error_details(clips):
  path, _, _ = clips['mjpg_6']
  with pytest.raises(decoding.DecodeError, match='no frames at or after start=5.0'):
    decoding.decode(path, start=5.0)
  error = pickle.loads(pickle.dumps(decoding.DecodeError('/a/b.mp4', 'why')))
  assert (error.path, error.reason) == ('/a/b.mp4', 'why')
  assert str(error) == 'cannot decode /a/b.mp4: why'
  for kwargs in ({'start': -1.0}, {'start': 2.0, 'end': 1.0}, {'fps': 0},
                 {'short_side': 0}, {'decoder': 'gstreamer'}):
    with pytest.raises(ValueError):
      decoding.decode(path, **kwargs)


# --- resize, grey, looping ----------------------------------------------------

def test_resize_short_side_shapes():
  assert decoding.resized_size(1080, 1920, 340) == (340, 604)
  assert decoding.resized_size(144, 176, 340) == (340, 416)
  assert decoding.resized_size(1920, 1080, 256) == (455, 256)  # Portrait.
  assert decoding.resized_size(240, 320, None) == (240, 320)
  frame = np.zeros((144, 176, 3), np.uint8)
  assert decoding.resize_short_side(frame, 340).shape == (340, 416, 3)
  assert decoding.resize_short_side(frame, None) is frame
  batch = np.zeros((4, 1080, 1920), np.uint8)
  assert decoding.resize_short_side(batch, 34).shape == (4, 34, 60)
  ramp = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (64, 1))  # [64,64].
  half = decoding.resize_short_side(ramp, 32)  # Bilinear: mean of pixel pairs.
  np.testing.assert_allclose(half[0], ramp[0, 0::2] + 2, atol=1)


def test_to_gray_values():
  rgb = np.zeros((2, 3, 4, 3), np.uint8)
  rgb[0, ..., 0] = 255  # Red.
  rgb[1, ..., 1] = 255  # Green.
  gray = decoding.to_gray(rgb)
  assert gray.shape == (2, 3, 4) and gray.dtype == np.uint8
  assert gray[0, 0, 0] == 76 and gray[1, 0, 0] == 150  # 0.299, 0.587 of 255.
  assert decoding.to_gray(rgb[1]).shape == (3, 4)
  with pytest.raises(ValueError, match='RGB'):
    decoding.to_gray(np.zeros((2, 3, 4), np.uint8))


def test_loop_helpers():
  np.testing.assert_array_equal(looping.loop_indices(3, 7), [0, 1, 2, 0, 1,
                                                                 2, 0])
  np.testing.assert_array_equal(looping.loop_indices(4, 5, start=2, stride=5),
                                [2, 3, 0, 1, 2])
  frames = np.arange(3)[:, None] * np.ones((3, 2), int)
  looped = looping.loop_frames(frames, 8)
  np.testing.assert_array_equal(looped[:, 0], [0, 1, 2, 0, 1, 2, 0, 1])
  assert looping.loop_frames(frames, 2).shape == (2, 2)
  with pytest.raises(ValueError, match='0 frames'):
    looping.loop_frames(frames[:0], 4)


def test_loop_fixture_clip_to_ten_seconds(fixture_videos):
  frames = decoding.decode(fixture_videos / SHORT, short_side=32)
  looped = looping.loop_frames(frames, 250)
  assert looped.shape == (250, 32, 43, 3)  # 340 * 32 / 256 = 42.5 -> 43.
  np.testing.assert_array_equal(looped[27], frames[0])
  np.testing.assert_array_equal(looped[249], frames[249 % 27])


def test_decoding_has_one_home_in_flow():
  assert pathlib.Path(decoding.__file__).parent.name == 'flow'
  assert importlib.util.find_spec('kinetics_tf.data.video') is None
  assert importlib.util.find_spec('flow.video') is None
