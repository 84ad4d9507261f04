"""Dense-snapshot evaluation (§4.4, Table 3) of trained models on a TFDS split, with reports.

``run`` is what ``python -m kinetics_tf.evaluate`` calls, and what a program
(the demo) calls in-process: it scores a split with ``kinetics_tf.scoring``,
adds the clips the dataset build skipped (the datasets' build report), and
writes the reports of ``kinetics_tf.reports``.
"""

import json
import os
import sys
from typing import Mapping, Sequence

import keras
import tensorflow_datasets as tfds

from kinetics_tf import errors
from kinetics_tf import reports
from kinetics_tf import scoring
from kinetics_tf.data import classes
from kinetics_tf.datasets import generate
from kinetics_tf.input import train_pipeline


def build_failures(data_dir: str, split: str) -> list[dict]:
  """Clips of ``split`` the dataset build skipped (its build report), as failures."""
  if not os.path.isfile(os.path.join(data_dir, generate.REPORT)):
    return []
  base = split.split('[')[0]
  rows = [r for r in generate.read_report(data_dir)
          if r.get('split') == base and r.get('status') != 'built']
  return [{'clip': r['clip_id'], 'kind': f"build {r['status']}",
           'reason': f"{r['clip_id']}: skipped when the dataset was built: {r['reason']}"}
          for r in rows]


def default_groups(dataset: str) -> dict[str, tuple[str, ...]] | None:
  """Class groups for accuracy per group: Appendix B for Kinetics-400, families for the synthetic set."""
  name = dataset.split('/')[0]
  if name == 'kinetics400':  # Appendix B groups name Kinetics-400's classes
    return dict(classes.GROUPS)
  if name == 'synthetic_actions':
    from kinetics_tf.datasets import synthetic  # pylint: disable=g-import-not-at-top
    return reports.groups_from_family(synthetic.CLASS_FAMILY)
  return None


def trained_on(path: str) -> str | None:
  """The dataset a model file was trained on: ``dataset`` of the config.json that
  kinetics_tf.train writes beside it (None when there is none)."""
  folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
  try:
    with open(os.path.join(folder, 'config.json')) as f:
      return json.load(f).get('dataset')
  except (OSError, ValueError, AttributeError):
    return None


def refuse_records(builder, dataset: str, split: str) -> None:
  """Raises UserError for a split stored as records (not clips): the dense
  protocol scores whole clips, and a record is a few frames of one."""
  if train_pipeline.stored_as_records(builder, split):
    raise errors.UserError(
        f'{dataset}: its {split!r} split is stored as records of a few '
        'frames, not clips, and the test protocol scores whole clips; '
        'evaluate its validation or test split, or a whole-clip config.')


def version_warning(trained: str | None, dataset: str, split: str) -> str | None:
  """A warning when a model trained on one Kinetics version is evaluated on another's split.

  The versions share clips: a later version's training set holds much of an
  earlier one's validation and test sets (the CVDF notes that Kinetics-400's
  validation set lies largely inside Kinetics-700's training set), so such an
  accuracy is not a held-out result.
  """
  a, b = (trained or '').split('/')[0], dataset.split('/')[0]
  if a == b or a not in classes.VERSIONS or b not in classes.VERSIONS:
    return None
  later = classes.VERSIONS.index(a) > classes.VERSIONS.index(b)
  return (f'the model was trained on {a} and is evaluated on {b} ({split}): the '
          'Kinetics versions share clips' +
          (f', and much of {b}\'s {split} split lies inside {a}\'s training set (the '
           "CVDF notes it for Kinetics-400's validation set and Kinetics-700's "
           'training set)' if later else '') +
          f'; this is not a held-out result. Evaluate on {a}\'s own validation split.')


def run(models: keras.Model | str | Sequence[keras.Model | str], dataset: str,
        split: str = 'test', *, out_dir: str | None = None, data_dir: str | None = None,
        batch_size: int = 4, flip: bool = False, crop: int | None = None,
        short_side: int | None = None, max_clips: int | None = None,
        groups: Mapping[str, Sequence[str]] | None = None,
        title: str | None = None) -> dict:
  """Evaluates trained models with the dense protocol and writes the reports.

  Args:
    models: one or more trained models (Keras objects or .keras paths): an RGB
      and a flow stream (fused into RGB+Flow), a TwoStream, a C3D or a
      ConvNet+LSTM.
    dataset: TFDS name with config, e.g. 'synthetic_actions/tiny'.
    split: TFDS split (e.g. 'test', 'validation', 'test[:100]').
    out_dir: where the reports go (None: score only, write nothing).
    data_dir: TFDS data_dir.
    batch_size: clips per forward pass (each clip adds its snapshots).
    flip: also average over mirrored views (off in the paper).
    crop: centre-crop side (default: each model's input size).
    short_side: resize frames first (default: keep the stored size).
    max_clips: evaluate only the first clips of the split.
    groups: group -> class names (default: Appendix B / synthetic families).
    title: heading of the Markdown report.

  Returns:
    The summary (as in summary.json): clip counts, per-stream top-1/top-5/mean
    per-class accuracy, confusions, groups, flow gains; plus 'result', the raw
    scores of ``scoring.score_dataset``.
  """
  models = list(models) if isinstance(models, (list, tuple)) else [models]
  dm, warnings = {}, []
  for m in models:
    if isinstance(m, str):
      warning = version_warning(trained_on(m), dataset, split)
      if warning and warning not in warnings:
        warnings.append(warning)
        print(f'evaluate: warning: {warning}', file=sys.stderr, flush=True)
    m = scoring.load_model(m) if isinstance(m, str) else m
    for kind, d in scoring.dense_models(m, crop=crop, short_side=short_side,
                                        flip=flip).items():
      if kind in dm:
        raise ValueError(f'two {kind!r} models given; evaluate them in separate runs')
      dm[kind] = d
  builder = tfds.builder(dataset, data_dir=data_dir)
  refuse_records(builder, dataset, split)
  on_frames = sorted(k for k, d in dm.items() if d.input_key == 'video')
  if 'video' not in builder.info.features and on_frames:
    raise ValueError(f'{dataset} stores no RGB frames (a flow-only set); '
                     f'{on_frames} need them')
  # Frames and per-field flow stay encoded until the views pick them; a
  # dataset's flow is parsed only when a flow stream scores it.
  keys = ['video', 'label', 'youtube_id'] + (['flow'] if scoring.reads(dm, 'flow') else [])
  decoders = train_pipeline.read_only(builder.info.features, keys)
  ds = builder.as_dataset(split=split, decoders=decoders, shuffle_files=False)
  stored = builder.info.splits[split].num_examples
  if max_clips:
    ds, stored = ds.take(max_clips), min(stored, max_clips)
  class_names = builder.info.features['label'].names
  skipped = [] if max_clips else build_failures(builder.data_dir, split)
  result = scoring.score_dataset(dm, ds, batch_size=batch_size, total=stored)
  if groups is None:
    groups = default_groups(dataset)
  summary = None
  meta = {'dataset': dataset, 'split': split, 'models': ', '.join(
      f'{k}: {d.model.name}' for k, d in dm.items()),
          'protocol': 'dense snapshots of Table 3, centre crop' + (', flip-averaged' if flip else ''),
          'batch_size': batch_size}
  if warnings:
    meta['warning'] = ' '.join(warnings)
  if out_dir:
    summary = reports.write_report(
        out_dir, result['scores'], result['labels'], class_names, clip_ids=result['clips'],
        groups=groups, expected=stored + len(skipped), failures=skipped + result['failures'],
        title=title or f'Evaluation of {meta["models"]} on {dataset} ({split})', meta=meta)
  else:
    summary = {'streams': {k: reports.summary(s, result['labels'])
                           for k, s in result['scores'].items()},
               'clips': {'expected': stored + len(skipped), 'scored': len(result['labels']),
                         'failed': len(skipped) + len(result['failures']),
                         'failures': skipped + result['failures']}}
  c = summary['clips']
  print(f"evaluate: {c['scored']} of {c['expected']} clips scored, {c['failed']} failed; " +
        '; '.join(f"{k} top-1 {100 * (v['top1'] or 0):.1f}%" for k, v in summary['streams'].items()))
  summary['result'] = result
  return summary
