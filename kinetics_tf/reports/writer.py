"""Writes an evaluation to a folder: CSVs, the confusion matrix, charts, JSON and Markdown.

``write_report`` is the single entry point; it returns the summary it wrote
to ``summary.json``. ``report.md`` lays the same results out for a reader.
"""

import collections
import csv
import json
import math
import os
from typing import Any, Mapping, Sequence

import numpy as np

from kinetics_tf.reports import files as files_lib
from kinetics_tf.reports import metrics
from kinetics_tf.reports import plots

TOP_CONFUSIONS = 10  # §4.5, Table 5: the top-10 class confusions.


def _slug(stream: str) -> str:
  return stream.replace('+', '_').replace('/', '_').replace(' ', '_')


def _clean(value: Any) -> Any:
  """JSON-safe copy: NaN -> None, NumPy scalars -> Python."""
  if isinstance(value, dict):
    return {k: _clean(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_clean(v) for v in value]
  if isinstance(value, np.generic):
    value = value.item()
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def _write_csv(path: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
  with files_lib.atomic_path(path) as tmp, open(tmp, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(header)
    for row in rows:
      writer.writerow(['' if isinstance(v, float) and not math.isfinite(v)
                       else (f'{v:.6f}' if isinstance(v, float) else v) for v in row])
  return path


def _write_scores(path, clip_ids, labels, scores, class_names) -> str:
  """Per-clip scores as the curation tools read them (kinetics_tf.curation.scores)."""
  with files_lib.atomic_path(path) as tmp:
    np.savez_compressed(tmp, ids=np.asarray(clip_ids, dtype=str), labels=labels,
                        scores=scores.astype(np.float32),
                        class_names=np.asarray(class_names, dtype=str))
  return path


def _pct(value: float | None) -> str:
  return 'n/a' if value is None or not math.isfinite(value) else f'{100 * value:.1f}'


def _stream_files(out_dir, stream, scores, labels, class_names, clip_ids, groups):
  """Writes one stream's analyses; returns (analysis dict, files dict)."""
  slug = _slug(stream)
  num_classes = len(class_names)
  preds = scores.argmax(axis=1) if len(labels) else np.zeros([0], np.int64)
  cm = metrics.confusion_matrix(labels, preds, num_classes)
  acc = metrics.per_class_accuracy(cm)
  totals = cm.sum(axis=1)
  files = {}
  order = sorted(range(num_classes), key=lambda i: (-np.nan_to_num(acc[i], nan=-1.0),
                                                    class_names[i]))
  files['per_class_csv'] = _write_csv(
      os.path.join(out_dir, f'per_class_accuracy_{slug}.csv'),
      ['rank', 'class', 'accuracy', 'correct', 'clips'],
      [(r + 1, class_names[i], float(acc[i]), int(cm[i, i]), int(totals[i]))
       for r, i in enumerate(order)])
  files['per_class_png'] = plots.per_class_chart(
      acc, class_names, os.path.join(out_dir, f'per_class_accuracy_{slug}.png'),
      f'Per-class accuracy, {stream}')
  confusions = metrics.top_confusions(cm, class_names, TOP_CONFUSIONS)
  files['confusions_csv'] = _write_csv(
      os.path.join(out_dir, f'top_confusions_{slug}.csv'),
      ['rank', 'true_class', 'predicted_class', 'count', 'true_clips', 'rate'],
      [(r + 1, p['true'], p['predicted'], p['count'], p['true_clips'], p['rate'])
       for r, p in enumerate(confusions)])
  files['confusion_matrix_npy'] = os.path.join(out_dir, f'confusion_matrix_{slug}.npy')
  with files_lib.atomic_path(files['confusion_matrix_npy']) as tmp:
    np.save(tmp, cm)
  files['confusion_matrix_csv'] = _write_csv(
      os.path.join(out_dir, f'confusion_matrix_{slug}.csv'), ['true \\ predicted'] + list(class_names),
      [[class_names[i]] + [int(v) for v in cm[i]] for i in range(num_classes)])
  top5 = metrics.top_k_predictions(scores, 5)
  files['predictions_csv'] = _write_csv(
      os.path.join(out_dir, f'predictions_{slug}.csv'),
      ['clip', 'label', 'predicted', 'score', 'top5'],
      [(clip_ids[n], class_names[labels[n]], class_names[top5[n, 0]], float(scores[n, top5[n, 0]]),
        '|'.join(class_names[c] for c in top5[n])) for n in range(len(labels))])
  analysis = {'confusions': confusions, 'per_class': acc, 'order': order, 'totals': totals}
  if groups:
    rows = metrics.group_accuracy(cm, class_names, groups)
    analysis['groups'] = rows
    files['groups_csv'] = _write_csv(
        os.path.join(out_dir, f'group_accuracy_{slug}.csv'),
        ['group', 'num_classes', 'num_clips', 'accuracy', 'mean_class_accuracy'],
        [(g['group'], g['num_classes'], g['num_clips'], g['accuracy'], g['mean_class_accuracy'])
         for g in rows])
    files['groups_png'] = plots.group_chart(
        rows, os.path.join(out_dir, f'group_accuracy_{slug}.png'), f'Accuracy per group, {stream}')
  return analysis, files


def write_report(out_dir: str,
                 scores: Mapping[str, np.ndarray],
                 labels: Sequence[int],
                 class_names: Sequence[str],
                 *,
                 clip_ids: Sequence[str] | None = None,
                 groups: Mapping[str, Sequence[str]] | None = None,
                 expected: int | None = None,
                 failures: Sequence[Mapping[str, str]] = (),
                 primary: str | None = None,
                 title: str = 'Evaluation',
                 meta: Mapping[str, Any] | None = None) -> dict:
  """Writes every analysis of an evaluation to ``out_dir`` and returns the summary.

  Args:
    out_dir: folder to write (created).
    scores: stream name ('rgb', 'flow', 'rgb+flow', 'c3d', ...) -> video-level
      class scores [N, C] of the same N scored clips.
    labels: true class index of each scored clip [N].
    class_names: the C class names, in index order.
    clip_ids: a name per scored clip (default: its position).
    groups: group -> class names, for accuracy per group (Appendix B groups
      for Kinetics; e.g. the synthetic set's families).
    expected: clips the split should hold (default scored + failed).
    failures: one dict per clip not scored: 'clip', 'reason' and optionally
      'kind' (a short category the summary counts by).
    primary: the stream the Markdown report analyses in detail (default
      'rgb+flow' if present, else the first stream).
    title: the report's heading.
    meta: extra facts to record (dataset, split, models, protocol).

  Returns:
    The summary dict written to summary.json.

  Raises:
    ValueError: no stream, or streams whose shapes disagree with labels.
  """
  if not scores:
    raise ValueError('write_report needs the scores of at least one stream')
  os.makedirs(out_dir, exist_ok=True)
  labels = np.asarray(labels, dtype=np.int64)
  clip_ids = [str(c) for c in clip_ids] if clip_ids is not None else [str(i) for i in range(len(labels))]
  primary = primary or ('rgb+flow' if 'rgb+flow' in scores else next(iter(scores)))
  failures = [dict(f) for f in failures]
  kinds = collections.Counter(f.get('kind', f['reason']) for f in failures)
  clips = {'expected': int(expected if expected is not None else len(labels) + len(failures)),
           'scored': int(len(labels)), 'failed': len(failures), 'failure_kinds': dict(kinds),
           'failures': failures}
  files = {'failures_csv': _write_csv(os.path.join(out_dir, 'failures.csv'),
                                      ['clip', 'kind', 'reason'],
                                      [(f['clip'], f.get('kind', ''), f['reason']) for f in failures])}
  streams, analyses = {}, {}
  for stream, s in scores.items():
    s = np.asarray(s, dtype=np.float64)
    if s.shape != (len(labels), len(class_names)):
      raise ValueError(f'scores of stream {stream!r} have shape {s.shape}, expected '
                       f'({len(labels)}, {len(class_names)}) = (clips, classes)')
    streams[stream] = metrics.summary(s, labels)
    analyses[stream], files[stream] = _stream_files(out_dir, stream, s, labels, class_names,
                                                    clip_ids, groups)
    files[stream]['scores_npz'] = _write_scores(
        os.path.join(out_dir, f'scores_{_slug(stream)}.npz'), clip_ids, labels, s, class_names)
    if stream == primary:
      files['scores_npz'] = _write_scores(os.path.join(out_dir, 'scores.npz'), clip_ids, labels,
                                          s, class_names)
  gains = None
  if 'rgb' in scores and 'flow' in scores:
    gains = metrics.flow_gains(analyses['rgb']['per_class'], analyses['flow']['per_class'],
                               class_names)
    files['flow_gain_csv'] = _write_csv(os.path.join(out_dir, 'flow_gain.csv'),
                                        ['rank', 'class', 'rgb', 'flow', 'gain'],
                                        [(r + 1, g['class'], g['rgb'], g['flow'], g['gain'])
                                         for r, g in enumerate(gains)])
    files['flow_gain_png'] = plots.flow_gain_chart(gains, os.path.join(out_dir, 'flow_gain.png'))
  summary = _clean({
      'title': title, 'meta': dict(meta or {}), 'clips': clips, 'streams': streams,
      'primary': primary, 'top_confusions': analyses[primary]['confusions'],
      'groups': analyses[primary].get('groups'),
      'flow_gain_top10': gains[:10] if gains else None,
      'files': {k: (os.path.basename(v) if isinstance(v, str) else
                    {kk: os.path.basename(vv) for kk, vv in v.items()}) for k, v in files.items()},
  })
  with files_lib.atomic_path(os.path.join(out_dir, 'summary.json')) as tmp, open(tmp, 'w') as f:
    json.dump(summary, f, indent=2)
  with files_lib.atomic_path(os.path.join(out_dir, 'report.md')) as tmp, open(tmp, 'w') as f:
    f.write(_markdown(summary, analyses[primary], class_names))
  return summary


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  lines += ['| ' + ' | '.join(str(v) for v in row) + ' |' for row in rows]
  return lines + ['']


def _markdown(summary: dict, analysis: dict, class_names: Sequence[str]) -> str:
  """The report a reader opens first: counts, accuracies, then the analyses."""
  clips, primary, files = summary['clips'], summary['primary'], summary['files']
  out = [f"# {summary['title']}", '']
  out += [f'- {k}: {v}' for k, v in summary['meta'].items()] + ['']
  out += ['## Clips', '',
          f"Expected {clips['expected']}, scored {clips['scored']}, failed {clips['failed']}.", '']
  if clips['failed']:
    out += _table(['failure', 'clips'], sorted(clips['failure_kinds'].items()))
    out += _table(['clip', 'reason'], [(f['clip'], f['reason']) for f in clips['failures'][:20]])
    out += [f"Every failed clip: `{files['failures_csv']}`.", '']
  out += ['## Accuracy (%)', '']
  out += _table(['stream', 'top-1', 'top-5', 'mean per-class', 'clips'],
                [(s, _pct(m['top1']), _pct(m['top5']), _pct(m['mean_class_accuracy']),
                  m['num_clips']) for s, m in summary['streams'].items()])
  acc, order, totals = analysis['per_class'], analysis['order'], analysis['totals']
  ranked = [i for i in order if totals[i] > 0]
  out += [f'## Per-class accuracy, {primary} (Fig. 4)', '',
          f"![per-class accuracy]({files[primary]['per_class_png']})", '',
          f"All classes: `{files[primary]['per_class_csv']}`.", '']
  parts = ((('Classes', ranked),) if len(ranked) <= 20 else
           (('Best classes', ranked[:10]), ('Worst classes', ranked[-10:][::-1])))
  for heading, part in parts:
    out += [f'{heading}:', '']
    out += _table(['class', 'accuracy', 'clips'],
                  [(class_names[i], _pct(acc[i]), int(totals[i])) for i in part])
  out += [f'## Top-{TOP_CONFUSIONS} confusions, {primary} (Table 5)', '']
  if not summary['top_confusions']:
    out += ['No confusions: every scored clip is predicted right.', '']
  out += _table(['true class', 'predicted as', 'clips', 'rate'],
                [(p['true'], p['predicted'], f"{p['count']}/{p['true_clips']}", _pct(p['rate']))
                 for p in summary['top_confusions']])
  out += [f"Full confusion matrix: `{files[primary]['confusion_matrix_csv']}` "
          f"(`{files[primary]['confusion_matrix_npy']}`).", '']
  if summary['flow_gain_top10']:
    out += ['## Classes where flow gains most over RGB', '', f"![flow gain]({files['flow_gain_png']})", '']
    out += _table(['class', 'RGB', 'flow', 'gain'],
                  [(g['class'], _pct(g['rgb']), _pct(g['flow']), _pct(g['gain']))
                   for g in summary['flow_gain_top10']])
  if summary['groups']:
    out += [f'## Accuracy per group, {primary}', '', f"![groups]({files[primary]['groups_png']})", '']
    out += _table(['group', 'classes', 'clips', 'accuracy', 'mean per-class'],
                  [(g['group'], g['num_classes'], g['num_clips'], _pct(g['accuracy']),
                    _pct(g['mean_class_accuracy'])) for g in summary['groups']])
  return '\n'.join(out) + '\n'
