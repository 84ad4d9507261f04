"""The newcomer's first run: build, train, evaluate, fuse and release a two-stream model.

``kinetics-tf demo`` walks the whole road of the library on data it renders
itself (the 'synthetic_actions' set: classes told apart only by motion or
only by appearance), or on a folder of the user's videos (``--videos=DIR``,
one sub-folder per class):

1. builds the TFDS dataset with TV-L1 flow (``kinetics_tf.datasets``);
2. trains an RGB and a flow stream, small variants of the paper's two-stream
   ResNet-50s (§4.2), each on its own (``kinetics_tf.training``, as
   ``kinetics_tf.train`` does);
3. evaluates both with the dense protocol of Table 3 and fuses them by
   averaging their softmax scores (``kinetics_tf.evaluation``, as
   ``kinetics_tf.evaluate`` does);
4. exports SavedModels of each stream and of the fusion
   (``kinetics_tf.release``, as ``kinetics_tf.export`` does);
5. prints a table in the form of the paper's Table 4 and, on the synthetic
   set, accuracy per class family: flow should win on motion classes, RGB on
   appearance classes, and the fusion overall, as in the paper.

Everything goes under ``--out_dir`` (default ./kinetics_tf_demo); a second
run reuses the built dataset and resumes or reuses the trained streams.
"""

import dataclasses
import json
import os
import time
from typing import Optional

from absl import flags
import numpy as np

from kinetics_tf import app as cli_app
from kinetics_tf.reports import files as files_lib
from kinetics_tf.reports import metrics

STREAMS = ('rgb', 'flow', 'rgb+flow')
_LABELS = {'rgb': 'RGB', 'flow': 'Flow', 'rgb+flow': 'RGB+Flow'}


def _say(msg: str) -> None:
  print(f'[demo {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def build_dataset(data_dir: str, videos: Optional[str] = None,
                  config: str = 'demo', num_workers: Optional[int] = None):
  """Builds (or reuses) the dataset and returns (TFDS name, builder).

  Args:
    data_dir: TFDS data_dir.
    videos: a folder of class sub-folders; None for the synthetic set.
    config: synthetic_actions config name (ignored with ``videos``).
    num_workers: local build processes (default: every core).
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import generate  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import synthetic  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import video_folder  # pylint: disable=g-import-not-at-top
  workers = num_workers or generate.cpu_count()
  if videos:
    cfg = video_folder.video_folder_config(videos, short_side=64)
    builder = video_folder.VideoFolder(config=cfg, data_dir=data_dir,
                                       num_workers=workers)
    name = f'video_folder/{cfg.name}'
  else:
    name = f'synthetic_actions/{config}'
    builder = synthetic.SyntheticActions(config=config, data_dir=data_dir,
                                         num_workers=workers)
  _say(f'building {name} with TV-L1 flow in {data_dir} ({workers} workers)')
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=videos))
  counts = {s: i.num_examples for s, i in builder.info.splits.items()}
  _say(f'dataset ready: {counts} clips, '
       f'{builder.info.features["label"].num_classes} classes')
  return name, builder


def train_stream(experiment: str, dataset: str, data_dir: str, model_dir: str,
                 num_classes: int, frame_side: int,
                 max_steps: Optional[int] = None, seed: int = 0) -> str:
  """Trains one stream (resuming if model_dir holds a checkpoint); returns
  the path of its final .keras model.

  The experiment's random crop shrinks to the frame when the dataset's
  frames are smaller than it.
  """
  from kinetics_tf.training import experiments  # pylint: disable=g-import-not-at-top
  config = experiments.load_experiment(experiment)
  crop = min(config.crop_size, frame_side)
  config = config.replace(dataset=dataset, data_dir=data_dir,
                          num_classes=num_classes, crop_size=crop, seed=seed)
  if max_steps:
    config = config.replace(max_steps=max_steps,
                            eval_every=min(config.eval_every, max_steps),
                            checkpoint_every=min(config.checkpoint_every,
                                                 max_steps))
  final = os.path.join(model_dir, 'final.keras')
  done = os.path.join(model_dir, 'result.json')
  if os.path.exists(final) and os.path.exists(done):
    with open(done) as f:
      if json.load(f).get('step') == config.max_steps:
        _say(f'{experiment}: reusing the trained model {final}')
        return final
  _say(f'training {experiment} for {config.max_steps} steps -> {model_dir}')
  result = experiments.run(config, model_dir)
  if not result.final_model:
    raise RuntimeError(f'{experiment} stopped early ({result.stopped}) at '
                       f'step {result.step}; see {model_dir}')
  return result.final_model


def family_table(result: dict, class_names, groups: dict) -> dict:
  """Accuracy of each stream on each group of classes: {group: {stream: acc}}."""
  labels = np.asarray(result['labels'])
  out = {}
  for group, names in groups.items():
    members = [class_names.index(n) for n in names]
    mask = np.isin(labels, members)
    out[group] = {s: float((np.asarray(result['scores'][s])[mask].argmax(1)
                            == labels[mask]).mean()) if mask.any() else None
                  for s in STREAMS if s in result['scores']}
  return out


def format_table(summary: dict, families: Optional[dict], title: str) -> str:
  """The closing table, in the form of the paper's Table 4 (top-1 / top-5)."""
  lines = [title, '',
           f'| {"Architecture":12s} | {"RGB":13s} | {"Flow":13s} | '
           f'{"RGB+Flow":13s} |',
           '|--------------|---------------|---------------|---------------|']
  cells = []
  for s in STREAMS:
    m = summary['streams'][s]
    cells.append(f'{100 * m["top1"]:5.1f} / {100 * m["top5"]:5.1f}')
  lines.append(f'| {"Two-Stream":12s} | ' + ' | '.join(
      f'{c:13s}' for c in cells) + ' |')
  if families:
    lines += ['', 'Top-1 per class family:', '',
              f'| {"family":12s} | {"RGB":6s} | {"Flow":6s} | {"RGB+Flow":8s} |',
              '|--------------|--------|--------|----------|']
    for fam, accs in families.items():
      lines.append(f'| {fam:12s} | {100 * accs["rgb"]:6.1f} | '
                   f'{100 * accs["flow"]:6.1f} | {100 * accs["rgb+flow"]:8.1f} |')
  return '\n'.join(lines)


def parse_table(text: str) -> dict:
  """Reads the Table 4 row of ``format_table`` back: {stream: (top1, top5)}."""
  for line in text.splitlines():
    if line.startswith('| Two-Stream'):
      cells = [c.strip() for c in line.strip('|').split('|')[1:]]
      return {s: tuple(float(v) for v in c.split('/'))
              for s, c in zip(STREAMS, cells)}
  raise ValueError('no "| Two-Stream" row in the table')


@dataclasses.dataclass
class DemoResult:
  summary: dict
  families: Optional[dict]
  table: str
  report_dir: str
  saved_models: dict
  seconds: float


def run(out_dir: str = 'kinetics_tf_demo', videos: Optional[str] = None,
        config: str = 'demo', max_steps: Optional[int] = None,
        num_workers: Optional[int] = None, seed: int = 0) -> DemoResult:
  """Runs the whole demo; see the module docstring.

  ``seed`` seeds the training of both streams (initial weights, shuffling,
  augmentation).
  """
  from kinetics_tf import evaluation  # pylint: disable=g-import-not-at-top
  from kinetics_tf import release  # pylint: disable=g-import-not-at-top
  from kinetics_tf.datasets import synthetic  # pylint: disable=g-import-not-at-top
  t0 = time.time()
  out_dir = os.path.abspath(out_dir)
  data_dir = os.path.join(out_dir, 'tfds')
  dataset, builder = build_dataset(data_dir, videos, config, num_workers)
  class_names = list(builder.info.features['label'].names)
  # Synthetic frames have a fixed size; a folder's videos keep their aspect
  # ratio, with the shorter side resized to the config's.
  shape = builder.info.features['video'].shape[1:3]
  frame_side = (builder.builder_config.short_side if None in shape
                else min(shape))
  streams = {}
  for kind in ('rgb', 'flow'):
    streams[kind] = train_stream(
        f'synthetic_{kind}', dataset, data_dir,
        os.path.join(out_dir, 'train', kind), len(class_names), frame_side,
        max_steps, seed)
  report_dir = os.path.join(out_dir, 'report')
  _say(f'evaluating RGB, Flow and RGB+Flow on {dataset} (test) with the dense '
       f'protocol -> {report_dir}')
  groups = None if videos else metrics.groups_from_family(synthetic.CLASS_FAMILY)
  summary = evaluation.run([streams['rgb'], streams['flow']], dataset, 'test',
                           out_dir=report_dir, data_dir=data_dir, groups=groups,
                           title=f'Two-stream demo on {dataset}')
  families = (family_table(summary['result'], class_names, groups)
              if groups else None)
  _say('exporting SavedModels')
  saved = release.export([streams['rgb'], streams['flow']],
                         os.path.join(out_dir, 'saved_models'), class_names,
                         dataset=dataset, data_dir=data_dir, short_side=frame_side,
                         evaluation=report_dir)
  clips = summary['clips']
  title = (f'Table 4 on {dataset}, test split: top-1 / top-5 (%), '
           f'{clips["scored"]} of {clips["expected"]} clips scored')
  table = format_table(summary, families, title)
  with files_lib.atomic_path(os.path.join(report_dir, 'table4.md')) as tmp, \
      open(tmp, 'w') as f:
    f.write(table + '\n')
  if families:
    with files_lib.atomic_path(os.path.join(report_dir, 'families.json')) as tmp, \
        open(tmp, 'w') as f:
      json.dump(families, f, indent=2)
  return DemoResult(summary, families, table, report_dir, saved,
                    time.time() - t0)


FLAGS = flags.FLAGS


def define_flags():
  """The demo's flags (only when it runs as a program)."""
  flags.DEFINE_string('out_dir', 'kinetics_tf_demo',
                      'Where the dataset, models and reports go.')
  flags.DEFINE_string('videos', None, 'A folder with one sub-folder of videos '
                      'per class, instead of the synthetic set.')
  flags.DEFINE_string('config', 'demo',
                      'synthetic_actions config (demo, tiny, ...).')
  flags.DEFINE_integer('max_steps', None, 'Training steps per stream '
                       '(default: experiments/synthetic_rgb.py and '
                       'synthetic_flow.py).', lower_bound=1)
  flags.DEFINE_integer('workers', None,
                       'Dataset build processes (default: every core).', lower_bound=1)
  flags.DEFINE_integer('seed', 0, "Seed of both streams' training.", lower_bound=0)


def main(argv) -> int:
  if len(argv) > 1:
    raise cli_app.UserError(f'unexpected arguments: {" ".join(argv[1:])}')
  if FLAGS.videos and not os.path.isdir(FLAGS.videos):
    raise cli_app.UserError(f'--videos={FLAGS.videos} is not a folder; give '
                            'a folder with one sub-folder of videos per class')
  from absl import logging  # pylint: disable=g-import-not-at-top
  logging.set_verbosity(logging.ERROR)
  result = run(FLAGS.out_dir, videos=FLAGS.videos, config=FLAGS.config,
               max_steps=FLAGS.max_steps, num_workers=FLAGS.workers,
               seed=FLAGS.seed)
  print()
  print(result.table)
  print()
  print(f'Finished in {result.seconds / 60:.1f} min.')
  print(f'Report:        {result.report_dir}/report.md (plots, CSVs, '
        'summary.json beside it)')
  for kind, path in result.saved_models.items():
    print(f'SavedModel:    {path}  ({kind})')
  print(f'Try:           python -m kinetics_tf.predict '
        f'--model={result.saved_models.get("two_stream", "")} --video=CLIP.mp4')
  return 0


if __name__ == '__main__':
  define_flags()
  cli_app.run(main, 'demo')
