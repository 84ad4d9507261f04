"""Top-5 classes (or pooled features) of video files from an exported SavedModel.

  python -m kinetics_tf.predict --model=export/two_stream --video=clip.mp4
  python -m kinetics_tf.predict --model=export/rgb --video=videos/ --features_out=feats.npz

The clip is decoded at 25 fps with its shorter side at the model's size,
trimmed to its centred 10 s when longer (§4.4, "up to 10 seconds"), TV-L1 flow
is computed when the model takes flow (or read with ``--flow``), and the
SavedModel's serving signature runs the dense protocol of Table 3.  A clip that
does not decode is reported and counted, never dropped silently.
"""

import pathlib
import sys
from typing import Any

from absl import app
from absl import flags
import numpy as np
import tqdm

import flow as flow_lib
from flow import decoding as video_lib
from flow import inputs as flow_inputs
from flow import outputs as flow_outputs
from kinetics_tf import app as cli_app
from kinetics_tf import constants
from kinetics_tf import release

# The release format (kinetics_tf.json, the signature) is the library's.
Predictor = release.Predictor


def compute_flow(frames: np.ndarray,
                 backend: str = flow_lib.DEFAULT_BACKEND) -> np.ndarray:
  """uint8 [T-1, H, W, 2] TV-L1 flow of RGB frames, quantised as the datasets store it.

  ``flow.quantised_flow``, as the dataset builders compute it; ``backend``
  one of ``flow.CHOICES``.
  """
  return flow_lib.quantised_flow(video_lib.to_gray(frames), backend)


def load_clip(path: str, predictor: Predictor, flow_path: str | None = None,
              flow_backend: str = flow_lib.DEFAULT_BACKEND) -> tuple[np.ndarray, np.ndarray | None]:
  """Decodes a clip for ``predictor``: frames and, when needed, flow.

  Raises:
    DecodeError: the file does not decode.
    ValueError: precomputed flow that does not match the frames.
  """
  start = end = None
  try:
    info = video_lib.probe(path)
    if info.duration and info.duration > constants.TEST_SECONDS + 1.0:
      # Centred 10 s, plus one frame so the last flow stack needs no wrap.
      start = (info.duration - constants.TEST_SECONDS) / 2
      end = start + constants.TEST_SECONDS + 1.0 / constants.FPS
  except video_lib.DecodeError:
    pass  # decode() below reports the problem.
  frames = video_lib.decode(path, start, end, fps=constants.FPS,
                            short_side=predictor.meta['short_side'])
  flow = None
  if predictor.needs_flow:
    if flow_path:
      flow = flow_outputs.read_flow(flow_path)
      if flow.shape[0] != len(frames) - 1 or flow.shape[1:3] != frames.shape[1:3]:
        raise ValueError(f'{flow_path}: flow {list(flow.shape)} does not match the '
                         f'{list(frames.shape)} frames of {path} (expected '
                         f'[{len(frames) - 1}, {frames.shape[1]}, {frames.shape[2]}, 2]); '
                         'extract it with python -m flow.extract at the same --short_side')
    else:
      flow = compute_flow(frames, flow_backend)
  return frames, flow


def predict_video(predictor: Predictor, path: str, flow_path: str | None = None,
                  flow_backend: str = flow_lib.DEFAULT_BACKEND) -> dict[str, Any]:
  """The signature's outputs for one video file (see ``kinetics_tf.export``)."""
  frames, flow = load_clip(path, predictor, flow_path, flow_backend)
  return predictor.predict(frames if predictor.needs_frames else None, flow)


def format_top5(out: dict[str, np.ndarray]) -> str:
  names = [n.decode() if isinstance(n, bytes) else str(n) for n in out['top5_names']]
  return '\n'.join(f'  {i + 1}. {n:<40s} {p:.4f}'
                   for i, (n, p) in enumerate(zip(names, out['top5_probabilities'])))


def extract_features(predictor: Predictor, folder: str, out_file: str,
                     flow_backend: str = flow_lib.DEFAULT_BACKEND) -> dict[str, Any]:
  """Pooled features of every video under ``folder`` into ``out_file`` (.npz).

  The file holds 'videos' (relative paths), 'features' [N, D],
  'probabilities' [N, C], and 'failed' / 'reasons' for the videos that did
  not decode.

  Returns:
    {'done': N, 'failed': [(video, reason)]}.
  """
  videos = flow_inputs.list_videos([folder])
  names, feats, probs, failed = [], [], [], []
  for path, key in tqdm.tqdm(videos, unit='video', desc='features'):
    try:
      out = predict_video(predictor, str(path), flow_backend=flow_backend)
    except (video_lib.DecodeError, ValueError) as e:
      failed.append((str(key), str(e)))
      continue
    names.append(str(key))
    feats.append(out['features'])
    probs.append(out['probabilities'])
  np.savez(out_file, videos=np.array(names, dtype=str),
           features=np.stack(feats) if feats else np.zeros((0, 0), np.float32),
           probabilities=np.stack(probs) if probs else np.zeros((0, 0), np.float32),
           failed=np.array([f[0] for f in failed], dtype=str),
           reasons=np.array([f[1] for f in failed], dtype=str))
  print(f'features: {len(videos)} videos, {len(names)} done, {len(failed)} failed -> {out_file}')
  for key, reason in failed:
    print(f'  failed {key}: {reason}')
  return {'done': len(names), 'failed': failed}


FLAGS = flags.FLAGS


def define_flags():
  """Defines the binary's flags (only when run as a program)."""
  flags.DEFINE_string('model', None, 'SavedModel folder written by kinetics_tf.export.')
  flags.DEFINE_string('video', None, 'A video file, or a folder of videos with --features_out.')
  flags.DEFINE_string('flow', None, 'Precomputed uint8 flow of --video (.npy or JPEG folder '
                      'of python -m flow.extract); default: computed here.')
  flags.DEFINE_string('features_out', None, 'Write pooled features of --video (file or '
                      'folder) to this .npz file.')
  flags.DEFINE_enum('flow_backend', flow_lib.DEFAULT_BACKEND, flow_lib.CHOICES,
                    'TV-L1 implementation when flow is computed here (flow.tvl1); auto: '
                    'the TF backend, as the dataset builders use by default.')


def main(argv):
  del argv
  if not FLAGS.model or not FLAGS.video:
    raise app.UsageError('--model and --video are required')
  predictor = Predictor(FLAGS.model)
  if FLAGS.features_out:
    source = FLAGS.video
    result = extract_features(predictor, source, FLAGS.features_out, FLAGS.flow_backend)
    return 1 if result['failed'] and not result['done'] else 0
  try:
    out = predict_video(predictor, FLAGS.video, FLAGS.flow, FLAGS.flow_backend)
  except (video_lib.DecodeError, ValueError) as e:
    print(f'predict: {e}', file=sys.stderr)
    return 1
  print(f'{pathlib.Path(FLAGS.video).name} ({predictor.meta["kind"]}):')
  print(format_top5(out))
  return 0


if __name__ == '__main__':
  define_flags()
  cli_app.run(main, 'predict')
