"""The model card (README.md) that ``kinetics_tf.export`` writes beside each SavedModel.

It is generated from the release's metadata (``kinetics_tf.release``): the
paper's row, the training data and its counts, the evaluation table (clips
found and scored), the preprocessing, the class list, and how to call the
release from each client it was tested with (tests/test_release_clients.py).
"""

import os
from typing import Mapping

# Table 4, Kinetics test set, top-1 / top-5 (%) of the paper's models.
PAPER_KINETICS = {
    'convnet_lstm': ('ConvNet+LSTM', 'RGB', '57.0 / 79.0'),
    'rgb': ('Two-Stream, RGB stream', 'RGB', '56.0 / 77.3'),
    'flow': ('Two-Stream, flow stream', 'Flow', '49.5 / 71.9'),
    'two_stream': ('Two-Stream', 'RGB+Flow', '61.0 / 81.3'),
    'c3d': ('3D ConvNet', 'RGB', '56.1 / 79.5'),
}

_CALLS = {
    'frames': 'frames=tf.constant(frames)',  # uint8 [T, H, W, 3]
    'flow': 'flow=tf.constant(flow)',  # uint8 [T-1, H, W, 2]
}


def _training(meta: Mapping) -> list[str]:
  config = meta.get('training_config') or {}
  lines = ['## Training data', '']
  lines.append(f"- dataset: `{meta.get('dataset') or 'not recorded'}`")
  for key in ('model', 'crop_size', 'batch_size', 'max_steps', 'base_lr'):
    if key in config:
      lines.append(f'- {key}: {config[key]}')
  counts = meta.get('split_counts')
  if counts:
    lines.append('- clips per split: ' + ', '.join(f'{k} {v}' for k, v in counts.items()))
  return lines + ['']


def _evaluation(meta: Mapping) -> list[str]:
  ev = meta.get('evaluation')
  if not ev:
    return ['## Evaluation', '', 'No evaluation was given to export (`--evaluation`): run',
            '`python -m kinetics_tf.evaluate` and export with its `--out_dir`.', '']
  c = ev['clips']
  lines = ['## Evaluation', '',
           f"`kinetics_tf.evaluate` on `{ev.get('dataset')}` ({ev.get('split')}): "
           f"{c['expected']} clips found, {c['scored']} scored, {c['failed']} failed.", '',
           '| stream | top-1 | top-5 | mean class accuracy |', '|---|---|---|---|']
  pct = lambda v: '–' if v is None else f'{100 * v:.1f}%'
  for name, s in ev['streams'].items():
    lines.append(f"| {name} | {pct(s['top1'])} | {pct(s['top5'])} | "
                 f"{pct(s['mean_class_accuracy'])} |")
  return lines + ['']


def _preprocessing(meta: Mapping) -> list[str]:
  lines = ['## Preprocessing (done inside the signature)', '',
           f"Raw uint8 frames at {meta['fps']} fps, any size: the shorter side is resized "
           f"to {meta['short_side']} (from {meta.get('short_side_from', 'export')}), then "
           'centre-cropped; dense snapshots as in Table 3:', '']
  for kind, s in meta['streams'].items():
    f = s.get('footprint', {})
    lines.append(f"- {kind}: crop {s['crop']}, {s['views_per_clip']} views per clip, "
                 f"{f.get('clip_frames', '?')} frame(s) per view"
                 + (', flip-averaged' if s['flip'] else ''))
  if 'flow' in meta['inputs']:
    lines += ['', f"Flow: TV-L1 of the same frames at the same size, T-1 fields for T frames, "
              f"field t from frame t to t+1, channel 0 = x, 1 = y, truncated to "
              f"[-{meta['flow_bound']}, {meta['flow_bound']}] px and stored as uint8 "
              f"linearly (0 = -{meta['flow_bound']}, 255 = +{meta['flow_bound']})."]
  return lines + ['']


def _clients(meta: Mapping) -> list[str]:
  args = ', '.join(_CALLS[n] for n in meta['inputs'])
  two = len(meta['inputs']) == 2
  layer_in = "{'frames': frames, 'flow': flow}" if two else meta['inputs'][0]
  feed = ' '.join(f'--inputs {n}=clip.npz[{n}]' for n in meta['inputs'])
  return [
      '## How to call it', '',
      '```python', 'import tensorflow as tf',
      "serve = tf.saved_model.load('.').signatures['serving_default']",
      f'out = serve({args})', "out['top5_names'], out['probabilities'], out['features']",
      '', '# Keras 3', 'import keras',
      "layer = keras.layers.TFSMLayer('.')  # endpoint 'serve'",
      f'out = layer({layer_in})', '```', '',
      'Session-based loader (the path of TF Serving\'s C++ loader):', '', '```sh',
      f'saved_model_cli run --dir . --tag_set serve --signature_def serving_default {feed}',
      '```', '',
      '`tf.compat.v1.saved_model.loader.load(sess, ["serve"], ".")` works the same. '
      'TF Serving: put this folder under a version number (`models/kinetics/1/`).', '']


def render(meta: Mapping) -> str:
  """The model card of a release as Markdown."""
  title, stream, paper = PAPER_KINETICS.get(meta['kind'], (meta['kind'], '', '–'))
  lines = [f"# kinetics-tf release: {meta['kind']}", '',
           f'Reproduces the {title} of "The Kinetics Human Action Video Dataset" '
           f'(Kay et al. 2017). Paper, Table 4, Kinetics {stream} top-1 / top-5: {paper}.', '']
  lines += _training(meta) + _evaluation(meta) + _preprocessing(meta) + _clients(meta)
  names = meta['class_names']
  lines += [f'## Classes ({len(names)}, in output order)', '']
  lines += [f'{i}. {n}' for i, n in enumerate(names)] + ['']
  return '\n'.join(lines)


def write(path: str, meta: Mapping) -> str:
  """Writes ``path/README.md``; returns its path."""
  out = os.path.join(path, 'README.md')
  with open(out, 'w') as f:
    f.write(render(meta))
  return out
