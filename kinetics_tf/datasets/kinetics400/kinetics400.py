"""TFDS builder 'kinetics400': the official CSVs and downloaded clips in manual_dir -> TFRecords.

Build from the command line (docs/preparing_kinetics400.md has the recipe):

  tfds build kinetics400 --imports kinetics_tf.datasets \
      --manual_dir=/data/kinetics400 --config=rgb340_flow \
      [--beam_pipeline_options=runner=DataflowRunner,...]

Configs: ``rgb340`` (default) / ``rgb340_flow``: shorter side 340 for the
ResNet-50 models; ``rgb128`` / ``rgb128_flow``: shorter side 128 for the 3D
ConvNet (§4.4, SPEC.md); ``trial``: side 128 with flow and a few clips per
class, to try the whole road quickly.  All at 25 fps; flow is TV-L1 with
OpenCV's defaults, as the paper's.

Splits: 'train', 'validation' and 'test', one per CSV.  Test clips whose CSV
has no label column are stored with label -1 (TFDS's "no label"); evaluators
must leave them out.  Missing and corrupt clips are skipped and listed in
``build_report.csv`` in the dataset folder (see ``builder.py``).
"""

import collections
import dataclasses
import logging
import os
import re
from typing import Optional

import tensorflow_datasets as tfds

from kinetics_tf import constants
from kinetics_tf.data import annotations
from kinetics_tf.data import classes
from kinetics_tf.datasets import builder as builder_lib
from kinetics_tf.datasets import clips
from kinetics_tf.datasets import features as features_lib

SPLITS = ('train', 'validation', 'test')
# CSV file stems (lower case) -> split, e.g. train.csv, kinetics_400_val.csv,
# kinetics-400_validate.csv, test.csv.
_CSV_SPLIT = re.compile(r'(?:^|[_\-.])(train|val|validate|validation|test)$')
_CSV_DIRS = ('', 'annotations', 'kinetics400', 'kinetics-400')

MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Put in manual_dir the official Kinetics-400 annotation CSVs (train.csv,
validate.csv or val.csv, test.csv; any prefix such as kinetics_400_; in
manual_dir itself or in manual_dir/annotations) and the downloaded clips, at
any depth: flat {youtube_id}_{start:06d}_{end:06d}.mp4 files, one folder per
class, or full {youtube_id}.mp4 videos that the builder cuts by time.
Missing and corrupt clips are skipped and listed in build_report.csv.
"""


@dataclasses.dataclass(eq=False)
class Kinetics400Config(tfds.core.BuilderConfig):
  """What a kinetics400 config stores.

  Attributes:
    short_side: shorter side of the stored frames (None = as downloaded).
    with_flow: store TV-L1 flow.
    clips_per_class: clips per class kept in (train, validation, test), the
      first ones found in CSV order; None = all.
    tvl1_params: DualTVL1 parameters as (name, value) pairs (empty = OpenCV's
      defaults).
    jpeg_quality: quality of the stored JPEG frames.
  """
  short_side: Optional[int] = constants.RESNET_SHORT_SIDE
  with_flow: bool = False
  clips_per_class: Optional[tuple] = None
  tvl1_params: tuple = ()
  jpeg_quality: int = features_lib.JPEG_QUALITY


def find_csvs(manual_dir) -> dict:
  """split -> the annotation CSV for it, found in manual_dir (see above).

  Raises:
    FileNotFoundError: no annotation CSV found.
    ValueError: two CSVs for one split.
  """
  found = collections.defaultdict(list)
  for sub in _CSV_DIRS:
    folder = os.path.join(manual_dir, sub)
    if not os.path.isdir(folder):
      continue
    for name in sorted(os.listdir(folder)):
      stem, ext = os.path.splitext(name)
      m = _CSV_SPLIT.search(stem.lower())
      if ext.lower() == '.csv' and m:
        split = {'train': 'train', 'test': 'test'}.get(m[1], 'validation')
        found[split].append(os.path.join(folder, name))
  for split, paths in found.items():
    if len(paths) > 1:
      raise ValueError(f'several annotation CSVs for split {split!r}: '
                       f'{paths}; keep one of them in {manual_dir}')
  if not found:
    raise FileNotFoundError(
        f'no Kinetics annotation CSV (train.csv, validate.csv, test.csv) in '
        f'{manual_dir} or its annotations/ folder.\n'
        + MANUAL_DOWNLOAD_INSTRUCTIONS)
  return {split: paths[0] for split, paths in found.items()}


def _keep_first(found, missing, per_class: int):
  """The first `per_class` clips of each class, found ones first."""
  by_class = collections.defaultdict(list)
  for clip in list(found) + list(missing):
    by_class[clip.label].append(clip)
  kept = {id(c) for group in by_class.values() for c in group[:per_class]}
  return ([c for c in found if id(c) in kept],
          [c for c in missing if id(c) in kept])


def csv_jobs(csv_path, split: str, video_root,
             per_class: Optional[int] = None):
  """Jobs of one split's CSV, and Skip records of its bad rows.

  Rows whose file is not found become jobs without a path (reported as
  missing by the build); bad rows (unknown label, bad times, ...) become
  'bad_row' skips named by the CSV file and line.
  """
  table = annotations.read_csv(csv_path, on_error='skip')
  bad = [clips.Skip(f'{os.path.basename(r.csv_path)}:{r.line}', split,
                    clips.BAD_ROW, r.problem) for r in table.bad_rows]
  resolved = annotations.resolve(table.clips, video_root)
  found, missing = resolved.found, resolved.missing
  if per_class is not None:
    found, missing = _keep_first(found, missing, per_class)
  jobs = []
  for clip in found + missing:
    jobs.append(clips.Job(
        key=clip.clip_id, split=split, youtube_id=clip.youtube_id,
        label=clip.label, time_start=clip.time_start,
        time_end=clip.time_end, path=clip.path,
        window=clip.window if clip.path else None))
  logging.info('%s (%s): %s', csv_path, split, resolved.summary())
  return jobs, bad


class Kinetics400(builder_lib.ClipBuilder):
  """Kinetics-400 (Kay et al. 2017) from the official CSVs and local clips."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
  BUILDER_CONFIGS = [
      Kinetics400Config(name='rgb340', description=(
          'RGB frames, 25 fps, shorter side 340 (ResNet-50 models).')),
      Kinetics400Config(name='rgb340_flow', with_flow=True, description=(
          'RGB frames and TV-L1 flow, 25 fps, shorter side 340 '
          '(Two-Stream).')),
      Kinetics400Config(name='rgb128', short_side=constants.C3D_SHORT_SIDE,
                        description='RGB frames, 25 fps, shorter side 128 '
                        '(3D ConvNet).'),
      Kinetics400Config(name='rgb128_flow', with_flow=True,
                        short_side=constants.C3D_SHORT_SIDE,
                        description='RGB frames and TV-L1 flow, 25 fps, '
                        'shorter side 128.'),
      Kinetics400Config(name='trial', with_flow=True,
                        short_side=constants.C3D_SHORT_SIDE,
                        clips_per_class=(4, 2, 2), description=(
                            'RGB + flow, shorter side 128, the first 4 / 2 '
                            '/ 2 clips per class found (train / validation '
                            '/ test): a quick trial of the whole road.')),
  ]

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description=('Kinetics-400 human action clips (Kay et al. 2017, '
                     '"The Kinetics Human Action Video Dataset").'),
        features=features_lib.clip_features(classes.CLASS_NAMES,
                                            self.builder_config.with_flow),
        supervised_keys=('video', 'label'),
        homepage='https://deepmind.com/research/open-source/kinetics',
        citation=('@article{kay2017kinetics, title={The Kinetics Human Action '
                  'Video Dataset}, author={Kay, Will and others}, '
                  'journal={arXiv:1705.06950}, year={2017}}'),
    )

  def _clip_options(self) -> clips.Options:
    c = self.builder_config
    return clips.Options(short_side=c.short_side, with_flow=c.with_flow,
                         tvl1_params=c.tvl1_params,
                         jpeg_quality=c.jpeg_quality)

  def _split_generators(self, dl_manager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    per_class = self.builder_config.clips_per_class
    jobs, skips = {}, {}
    for split, csv_path in sorted(find_csvs(manual_dir).items(),
                                  key=lambda kv: SPLITS.index(kv[0])):
      n = per_class[SPLITS.index(split)] if per_class else None
      jobs[split], skips[split] = csv_jobs(csv_path, split, manual_dir, n)
    return self._splits(jobs, skips)
