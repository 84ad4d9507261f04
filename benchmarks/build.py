"""Dataset build figures: clips/s with and without flow, bytes per clip, flow encodings, peak RSS.

Run (a few minutes on 2 shared cores):
  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/build.py

Sections (--sections, default all):
  throughput: clips/s of clips.process (decode or render, JPEG, TV-L1) on the
    synthetic demo clips and on the 10 s Kinetics fixture clip at shorter
    side 128 and 340, with and without flow; flow is timed on a few pairs
    and scaled to the 249 pairs of a 10 s clip.
  encodings: bytes and TF decode time per field of flow encodings decoded
    a clip at a time (zlib tensor, raw, per-frame 2-channel PNG, JPEG x/y at
    q95/q90), and JPEG bytes of RGB frames at q95/q90; the per-field layout
    the builders store is measured per example by benchmarks/input.py.
  rss: peak RSS of a child process building 16 vs 160 synthetic clips (128
    px, 32 frames, RGB): streaming (TFDS's default 1 GB shuffle buffer, and a
    8 MB one to show the bound) and Beam DirectRunner.

The two stages of a build (preparation, then writing) are measured by
benchmarks/build_stages.py.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib

_HERE = os.path.dirname(os.path.abspath(__file__))
# benchmarks/flow.py would shadow the flow package.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags  # pylint: disable=wrong-import-position
import cv2  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

import flow  # pylint: disable=wrong-import-position
from flow import decoding as video_lib  # pylint: disable=wrong-import-position
from kinetics_tf.datasets import clips  # pylint: disable=wrong-import-position
from kinetics_tf.datasets import synthetic  # pylint: disable=wrong-import-position

_FIXTURES = flags.DEFINE_string(
    'fixtures', os.environ.get('KINETICS_TF_FIXTURES'),
    'Fixtures folder holding videos/ (default: $KINETICS_TF_FIXTURES).')
_SECTIONS = flags.DEFINE_list('sections', ['throughput', 'encodings', 'rss'],
                              'Which sections to run.')
_RSS_CHILD = flags.DEFINE_string('rss_child', None, 'internal: mode,k,cap')
_K400 = 'k400_arm_wrestling_340x256_28fps.mp4'
_PAIRS = 249  # a 10 s clip at 25 fps


def _timed(fn, *args):
  t0, c0 = time.perf_counter(), time.process_time()
  out = fn(*args)
  return out, time.perf_counter() - t0, time.process_time() - c0


def throughput():
  cv2.setNumThreads(1)
  config = synthetic.SyntheticActionsConfig(name='demo')
  jobs = synthetic.split_jobs(config, 'train')[:32]
  source = synthetic.SyntheticSource(config.size, config.num_frames)
  print('## throughput (one core; CPU seconds of this process)')
  for with_flow in (False, True):
    opts = clips.Options(with_flow=with_flow,
                         tvl1_params=synthetic.SYNTHETIC_TVL1)
    _, _, cpu = _timed(lambda: [clips.process(j, source, opts) for j in jobs])
    print(f'synthetic demo 48x48x16, flow={with_flow}: '
          f'{len(jobs) / cpu:.1f} clips/s')
  grays = [video_lib.to_gray(synthetic.render(
      j.label, j.seed, config.size, config.num_frames)) for j in jobs[:8]]
  ref, _, ref_cpu = _timed(lambda: np.concatenate(
      [flow.tvl1(g) for g in grays]))
  cheap, _, cheap_cpu = _timed(lambda: np.concatenate(
      [flow.tvl1(g, **dict(synthetic.SYNTHETIC_TVL1)) for g in grays]))
  epe = np.linalg.norm(ref - cheap, axis=-1)
  print('synthetic TV-L1 settings vs OpenCV defaults: '
        f'{ref_cpu / cheap_cpu:.1f}x '
        f'faster, end-point difference mean {epe.mean():.3f} px, '
        f'median {np.median(epe):.3f} px')
  if not _FIXTURES.value:
    print('(no fixtures: Kinetics clip figures skipped)')
    return
  path = os.path.join(_FIXTURES.value, 'videos', _K400)
  job = clips.Job('k', 'train', 'k', 'arm wrestling', path=path)
  for side in (128, 340):
    result, _, cpu = _timed(clips.process, job, clips.FileSource(),
                            clips.Options(short_side=side))
    num_frames = result[1]['num_frames']
    frames = video_lib.decode(path, 0, 0.4, short_side=side)
    gray = video_lib.to_gray(frames)
    px, _, flow_cpu = _timed(flow.tvl1, gray)
    per_pair = flow_cpu / (len(gray) - 1)
    total = cpu + per_pair * (num_frames - 1)
    jpeg_mb = sum(map(len, result[1]['video'])) / 1e6
    flow_mb = len(zlib.compress(flow.quantize(px).tobytes())) / len(px) * (
        num_frames - 1) / 1e6
    print(f'kinetics 10 s clip, short side {side}: RGB {cpu:.2f} s/clip '
          f'({1 / cpu:.2f} clips/s, {num_frames} frames, {jpeg_mb:.2f} MB); '
          f'TV-L1 (OpenCV defaults) {per_pair:.3f} s/pair -> with flow '
          f'{total:.0f} s/clip ({1 / total:.4f} clips/s), flow about '
          f'{flow_mb:.2f} MB/clip (zlib)')


def _flow_candidates(q):
  """name -> (encode fn -> list of bytes, decode fn (tf) -> array, lossy)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  t, h, w, _ = q.shape

  def jpeg(quality):
    def enc(a):
      p = [cv2.IMWRITE_JPEG_QUALITY, quality]
      return [cv2.imencode('.jpg', np.ascontiguousarray(a[i, ..., c]), p)[1]
              .tobytes() for i in range(t) for c in range(2)]
    return enc

  def dec_jpeg(blobs):
    planes = [tf.io.decode_jpeg(b, channels=1) for b in blobs]
    return tf.reshape(tf.stack(planes), (t, 2, h, w))

  return {
      'zlib tensor (flow_format=zlib)': (
          lambda a: [zlib.compress(a.tobytes())],
          lambda b: tf.reshape(tf.io.decode_raw(
              tf.io.decode_compressed(b[0], 'ZLIB'), tf.uint8), (t, h, w, 2))),
      'raw bytes': (lambda a: [a.tobytes()],
                    lambda b: tf.reshape(tf.io.decode_raw(b[0], tf.uint8),
                                         (t, h, w, 2))),
      'png 2-channel/frame': (
          lambda a: [tf.io.encode_png(f).numpy() for f in a],
          lambda b: tf.stack([tf.io.decode_png(x, channels=0) for x in b])),
      'jpeg x/y q95': (jpeg(95), dec_jpeg),
      'jpeg x/y q90': (jpeg(90), dec_jpeg),
  }


def _encoding_table(name, q):
  print(f'### flow of {name}: {q.shape[0]} fields {q.shape[1]}x{q.shape[2]}')
  print('| encoding | bytes/field | vs raw | decode ms/field | max error '
        '(steps) |')
  print('|---|---|---|---|---|')
  raw = q.nbytes / len(q)
  for cand, (enc, dec) in _flow_candidates(q).items():
    blobs = enc(q)
    size = sum(map(len, blobs)) / len(q)
    out = dec(blobs)  # warm up
    t0 = time.perf_counter()
    for _ in range(5):
      out = dec(blobs)
    ms = (time.perf_counter() - t0) / 5 / len(q) * 1e3
    out = np.asarray(out)
    if out.shape != q.shape:  # jpeg x/y decodes planar
      out = out.transpose(0, 2, 3, 1)
    err = int(np.abs(out.astype(int) - q).max())
    print(f'| {cand} | {size:,.0f} | {size / raw:.2f} | {ms:.3f} | {err} |')


def encodings():
  print('## encodings')
  config = synthetic.SyntheticActionsConfig(name='demo')
  job = synthetic.split_jobs(config, 'train')[0]
  frames, q = synthetic.clip_arrays(config, job)
  _encoding_table('a synthetic demo clip (48x48)', q)
  rgb = {'synthetic 48x48': frames}
  if _FIXTURES.value:
    path = os.path.join(_FIXTURES.value, 'videos', _K400)
    for side in (128, 340):
      rgb[f'kinetics side {side}'] = video_lib.decode(path, short_side=side)
    small = rgb['kinetics side 128'][:26]
    _encoding_table('the Kinetics fixture, side 128, OpenCV-default TV-L1',
                    flow.quantize(flow.tvl1(video_lib.to_gray(small))))
  print('### RGB JPEG bytes per frame')
  for name, f in rgb.items():
    for quality in (95, 90):
      p = [cv2.IMWRITE_JPEG_QUALITY, quality]
      size = np.mean([len(cv2.imencode('.jpg', x[..., ::-1], p)[1])
                      for x in f])
      print(f'{name} ({f.shape[2]}x{f.shape[1]}) q{quality}: {size:,.0f} '
            f'bytes/frame, {size * 250 / 1e6:.2f} MB per 250-frame clip')


def _rss_child(spec):
  """Builds 16*k synthetic clips; prints peak RSS (MB) as JSON."""
  mode, k, cap = spec.split(',')
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  if cap != 'default':
    from tensorflow_datasets.core import shuffle  # pylint: disable=g-import-not-at-top
    shuffle.MAX_MEM_BUFFER_SIZE = int(cap) << 20
  config = synthetic.SyntheticActionsConfig(
      name=f'rss{k}', size=128, num_frames=32, clips_per_class=(int(k), 0, 0),
      with_flow=False)
  dl = tfds.download.DownloadConfig()
  if mode == 'beam':
    import apache_beam as beam  # pylint: disable=g-import-not-at-top
    dl.beam_runner = beam.runners.DirectRunner()
  with tempfile.TemporaryDirectory() as tmp:
    builder = synthetic.SyntheticActions(config=config, data_dir=tmp)
    builder.download_and_prepare(download_config=dl)
    size = builder.info.dataset_size
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  print(json.dumps({'peak_mb': peak, 'dataset_mb': size / 2**20}))


def rss():
  print('## peak RSS of a build (child process, synthetic 128x128x32 RGB)')
  print('| generation | 16 clips | 160 clips | dataset bytes 16 / 160 |')
  print('|---|---|---|---|')
  for mode, cap in (('local', 'default'), ('local', '8'), ('beam', 'default')):
    row = []
    for k in (1, 10):
      out = subprocess.run(
          [sys.executable, os.path.abspath(__file__),
           f'--rss_child={mode},{k},{cap}'], capture_output=True, text=True,
          check=True, env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
      row.append(json.loads(out.stdout.strip().splitlines()[-1]))
    label = {'default': 'TFDS shuffle buffer 1 GB', '8': 'shuffle buffer 8 MB'}
    print(f'| {mode} ({label[cap]}) | {row[0]["peak_mb"]:.0f} MB | '
          f'{row[1]["peak_mb"]:.0f} MB | {row[0]["dataset_mb"]:.1f} / '
          f'{row[1]["dataset_mb"]:.1f} MB |')


def main(argv):
  del argv
  if _RSS_CHILD.value:
    _rss_child(_RSS_CHILD.value)
    return
  for section in _SECTIONS.value:
    {'throughput': throughput, 'encodings': encodings, 'rss': rss}[section]()


if __name__ == '__main__':
  app.run(main)
