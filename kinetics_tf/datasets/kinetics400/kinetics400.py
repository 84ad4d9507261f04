"""TFDS builders 'kinetics400', 'kinetics600' and 'kinetics700_2020': one Kinetics builder, parametrised by version.

The official CSVs and downloaded clips in manual_dir -> TFRecords.  Build from
the command line (docs/preparing_kinetics.md has the whole road, from
``kinetics-tf download`` to a released model):

  kinetics-tf download --dataset=kinetics400 --out_dir=/data/kinetics400
  tfds build kinetics400 --imports kinetics_tf.datasets \
      --manual_dir=/data/kinetics400 --config=rgb340_flow \
      [--beam_pipeline_options=runner=DataflowRunner,...]

Versions (``KineticsVersion``): each has its class list (the 400 names of
``kinetics_tf.data.classes``; Kinetics-600 in kinetics-i3d's order; the 700
names sorted), the folders its annotation CSVs are looked for in, and its
names; everything else (configs, splits, per-clip code) is shared.

Configs (the same for every version): ``rgb340`` (default) / ``rgb340_flow``:
shorter side 340 for the ResNet-50 models; ``rgb128`` / ``rgb128_flow``:
shorter side 128 for the 3D ConvNet (§4.4, SPEC.md); ``two_stream340``:
RGB + flow at side 340 whose 'train' split is stored in overlapping
records of 30 frames and 29 flow fields, every 20 frames
(``StorageConfig.train_record_stride``, ``kinetics_tf.data.records``): both
streams of Two-Stream sample a record instead of a whole clip of 26-32 MB,
drawing the paper's distribution of starts and clips exactly, and validation and test keep whole clips for the dense protocol
and the fused two-stream evaluation, all from one TV-L1 pass
(docs/BENCHMARKS.md, "Training input"); ``rgb340_frames`` and ``flow340``:
one stream alone, in records of one frame (RGB) or of 29 fields every
20 (flow only); ``trial``: side 128 with flow and a few clips per class, to try the
whole road quickly.  All at 25
fps; flow is TV-L1 with OpenCV's defaults, as the paper's.

Splits: 'train', 'validation' and 'test', one per CSV.  Test clips whose CSV
has no label column are stored with label -1 (TFDS's "no label"); evaluators
must leave them out.  A held-out test CSV (Kinetics-600's
``kinetics600_holdout_test.csv``) is not one of the splits and is left alone.
Missing and corrupt clips are skipped and listed in ``build_report.csv`` in
the dataset folder (see ``builder.py``).
"""

import collections
import dataclasses
import logging
import os
import re
from typing import Optional, Sequence

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
# A held-out test set (Kinetics-600's) is no split of the builder.
_NOT_A_SPLIT = re.compile(r'holdout|held[_\-]?out')

_CITATIONS = {
    'kinetics400': (
        '@article{kay2017kinetics, title={The Kinetics Human Action Video '
        'Dataset}, author={Kay, Will and others}, journal={arXiv:1705.06950},'
        ' year={2017}}'),
    'kinetics600': (
        '@article{carreira2018short, title={A Short Note about Kinetics-600},'
        ' author={Carreira, Joao and others}, journal={arXiv:1808.01340}, '
        'year={2018}}'),
    'kinetics700_2020': (
        '@article{smaira2020short, title={A Short Note on the Kinetics-700-'
        '2020 Human Action Dataset}, author={Smaira, Lucas and others}, '
        'journal={arXiv:2010.10864}, year={2020}}'),
}


@dataclasses.dataclass(frozen=True)
class KineticsVersion:
  """What differs between the Kinetics versions the builder reads.

  Attributes:
    name: the TFDS name ('kinetics400', 'kinetics600', 'kinetics700_2020').
    title: the name in text ('Kinetics-400').
    csv_dirs: folders of manual_dir searched for the annotation CSVs
      ('' = manual_dir itself).
    citation: BibTeX of the paper describing the version.
  """
  name: str
  title: str
  csv_dirs: tuple
  citation: str

  @property
  def class_names(self) -> tuple:
    """The class names in index order (``classes.class_names``)."""
    return classes.class_names(self.name)

  @property
  def num_classes(self) -> int:
    return classes.VERSION_NUM_CLASSES[self.name]

  @property
  def manual_download_instructions(self) -> str:
    return f"""\
Run `kinetics-tf download --dataset={self.name} --out_dir=DIR` and pass
--manual_dir=DIR: it fetches the CVDF's archives and annotation CSVs into the
layout below.  Or put in manual_dir the official {self.title} annotation CSVs
(train.csv, validate.csv or val.csv, test.csv; any prefix such as
kinetics_{self.num_classes}_; in manual_dir itself or in manual_dir/annotations)
and the downloaded clips, at any depth: flat
{{youtube_id}}_{{start:06d}}_{{end:06d}}.mp4 files, one folder per class, or full
{{youtube_id}}.mp4 videos that the builder cuts by time.  Missing and corrupt
clips are skipped and listed in build_report.csv.
"""


def _version(name: str, title: str, *dirs: str) -> KineticsVersion:
  return KineticsVersion(name=name, title=title,
                         csv_dirs=('', 'annotations') + dirs,
                         citation=_CITATIONS[name])


KINETICS400 = _version('kinetics400', 'Kinetics-400', 'kinetics400',
                       'kinetics-400')
KINETICS600 = _version('kinetics600', 'Kinetics-600', 'kinetics600',
                       'kinetics-600')
KINETICS700_2020 = _version('kinetics700_2020', 'Kinetics-700-2020',
                            'kinetics700_2020', 'kinetics-700-2020')
VERSIONS = {v.name: v for v in (KINETICS400, KINETICS600, KINETICS700_2020)}
MANUAL_DOWNLOAD_INSTRUCTIONS = KINETICS400.manual_download_instructions


@dataclasses.dataclass(eq=False)
class KineticsConfig(builder_lib.StorageConfig):
  """What a Kinetics config stores (any version): ``StorageConfig``'s fields
  (shorter side 340 by default, §4.4) and

  Attributes:
    clips_per_class: clips per class kept in (train, validation, test), the
      first ones found in CSV order; None = all.
  """
  short_side: Optional[int] = constants.RESNET_SHORT_SIDE
  clips_per_class: Optional[tuple] = None


# The name the configs had when Kinetics-400 was the only version.
Kinetics400Config = KineticsConfig


def find_csvs(manual_dir, version: KineticsVersion = KINETICS400) -> dict:
  """split -> the annotation CSV for it, found in manual_dir (see above).

  Raises:
    FileNotFoundError: no annotation CSV found.
    ValueError: two CSVs for one split.
  """
  found = collections.defaultdict(list)
  for sub in version.csv_dirs:
    folder = os.path.join(manual_dir, sub)
    if not os.path.isdir(folder):
      continue
    for name in sorted(os.listdir(folder)):
      stem, ext = os.path.splitext(name)
      m = _CSV_SPLIT.search(stem.lower())
      if ext.lower() != '.csv' or not m:
        continue
      if _NOT_A_SPLIT.search(stem.lower()):
        logging.info('%s: a held-out test set, not a split; left out',
                     os.path.join(folder, name))
        continue
      split = {'train': 'train', 'test': 'test'}.get(m[1], 'validation')
      found[split].append(os.path.join(folder, name))
  for split, paths in found.items():
    if len(paths) > 1:
      raise ValueError(f'several annotation CSVs for split {split!r}: '
                       f'{paths}; keep one of them in {manual_dir}')
  if not found:
    raise FileNotFoundError(
        f'no {version.title} annotation CSV (train.csv, validate.csv, '
        f'test.csv) in {manual_dir} or its annotations/ folder.\n'
        + version.manual_download_instructions)
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
             per_class: Optional[int] = None,
             class_names: Optional[Sequence[str]] = None):
  """Jobs of one split's CSV, and Skip records of its bad rows.

  Rows whose file is not found become jobs without a path (reported as
  missing by the build); bad rows (unknown label, bad times, ...) become
  'bad_row' skips named by the CSV file and line.  ``class_names``: the
  version's labels (default: Kinetics-400's).
  """
  table = annotations.read_csv(csv_path, on_error='skip',
                               class_names=class_names)
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


def _configs() -> list:
  """The configs every version has (fresh objects for each builder)."""
  side128 = constants.C3D_SHORT_SIDE
  return [
      KineticsConfig(name='rgb340', description=(
          'RGB frames, 25 fps, shorter side 340 (ResNet-50 models).')),
      KineticsConfig(name='rgb340_flow', with_flow=True, description=(
          'RGB frames and TV-L1 flow, 25 fps, shorter side 340 '
          '(Two-Stream).')),
      KineticsConfig(name='rgb128', short_side=side128, description=(
          'RGB frames, 25 fps, shorter side 128 (3D ConvNet).')),
      KineticsConfig(name='rgb128_flow', with_flow=True, short_side=side128,
                     description='RGB frames and TV-L1 flow, 25 fps, '
                     'shorter side 128.'),
      # Two-Stream's training input (docs/BENCHMARKS.md, "Training input"):
      # the train split in overlapping records holding 20 starts of Table
      # 3's 10-field flow stack each (a stack spans 11 frames: overlap 10),
      # so that a sample reads little more than it uses; validation and
      # test whole clips, for the dense test protocol.  Flow as one zlib
      # tensor per record: lossless and the fastest lossless layout to
      # sample (PNG costs 1.8x its CPU for 0.7x its bytes).
      KineticsConfig(name='two_stream340', with_flow=True,
                     flow_format=features_lib.FLOW_ZLIB,
                     train_record_stride=constants.TRAIN_RECORD_STRIDE,
                     train_record_overlap=constants.FLOW_STACK,
                     description=(
                         'RGB frames and TV-L1 flow, 25 fps, shorter side '
                         '340: the train split in overlapping records of '
                         '20 starts (both streams of Two-Stream train from '
                         'it), validation and test whole clips.')),
      KineticsConfig(name='rgb340_frames', train_record_stride=1,
                     description=(
                         'RGB frames, 25 fps, shorter side 340; the train '
                         'split one record per frame (the RGB stream alone),'
                         ' validation and test whole clips.')),
      KineticsConfig(name='flow340', with_flow=True, with_video=False,
                     flow_format=features_lib.FLOW_ZLIB,
                     train_record_stride=constants.TRAIN_RECORD_STRIDE,
                     train_record_overlap=constants.FLOW_STACK,
                     description=(
                         'TV-L1 flow only, 25 fps, shorter side 340; the '
                         'train split in overlapping records of 20 starts '
                         '(the flow stream alone), validation and test '
                         'whole clips.')),
      KineticsConfig(name='trial', with_flow=True, short_side=side128,
                     clips_per_class=(4, 2, 2), description=(
                         'RGB + flow, shorter side 128, the first 4 / 2 / 2 '
                         'clips per class found (train / validation / '
                         'test): a quick trial of the whole road.')),
  ]


class Kinetics(builder_lib.ClipBuilder, skip_registration=True):
  """A Kinetics version from its official CSVs and local clips.

  Subclasses set KINETICS (a KineticsVersion) and are registered under its
  name; nothing else differs.
  """

  KINETICS: KineticsVersion = KINETICS400
  VERSION = tfds.core.Version('1.2.0')
  SUPPORTED_VERSIONS = [tfds.core.Version('1.1.0'), tfds.core.Version('1.0.0')]
  PER_FIELD_FLOW_VERSION = '1.1.0'
  RELEASE_NOTES = {
      '1.0.0': 'First release.',
      '1.1.0': builder_lib.per_field_flow_note('1.0.0'),
      '1.2.0': ('The configs with records (two_stream340, rgb340_frames, '
                'flow340) cut the train split into overlapping records with '
                'record features, from which training draws every start of '
                'a clip and every clip alike (1.1.0\'s records of 10 fields '
                'gave 33 of the 240 flow stacks of a 10 s clip, and weighed '
                'clips by their length; the training input refuses them).'),
  }

  def _info(self) -> tfds.core.DatasetInfo:
    v = self.KINETICS
    return self.dataset_info_from_configs(
        description=(f'{v.title} human action clips ({v.num_classes} '
                     'classes), from the official annotation CSVs and '
                     'downloaded clips.'),
        features=self._features(v.class_names),
        supervised_keys=self._supervised_keys(),
        homepage='https://deepmind.com/research/open-source/kinetics',
        citation=v.citation,
    )

  def _split_generators(self, dl_manager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    per_class = self.builder_config.clips_per_class
    names = self.KINETICS.class_names
    jobs, skips = {}, {}
    for split, csv_path in sorted(find_csvs(manual_dir, self.KINETICS).items(),
                                  key=lambda kv: SPLITS.index(kv[0])):
      n = per_class[SPLITS.index(split)] if per_class else None
      jobs[split], skips[split] = csv_jobs(csv_path, split, manual_dir, n,
                                           class_names=names)
    return self._splits(jobs, skips)


class Kinetics400(Kinetics):
  """Kinetics-400 (Kay et al. 2017): 400 classes."""
  KINETICS = KINETICS400
  MANUAL_DOWNLOAD_INSTRUCTIONS = KINETICS400.manual_download_instructions
  BUILDER_CONFIGS = _configs()


class Kinetics600(Kinetics):
  """Kinetics-600 (Carreira et al. 2018): 600 classes."""
  KINETICS = KINETICS600
  MANUAL_DOWNLOAD_INSTRUCTIONS = KINETICS600.manual_download_instructions
  BUILDER_CONFIGS = _configs()


class Kinetics700_2020(Kinetics):  # pylint: disable=invalid-name
  """Kinetics-700-2020 (Smaira et al. 2020): 700 classes."""
  KINETICS = KINETICS700_2020
  MANUAL_DOWNLOAD_INSTRUCTIONS = KINETICS700_2020.manual_download_instructions
  BUILDER_CONFIGS = _configs()
