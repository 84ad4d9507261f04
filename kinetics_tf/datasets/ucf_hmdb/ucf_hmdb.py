"""TFDS builders 'ucf101_local' and 'hmdb51_local': local copies with their official split files.

TFDS already registers 'ucf101' (it downloads the videos itself), so these
read a copy you have, under other names:

  tfds build ucf101_local --imports kinetics_tf.datasets \
      --manual_dir=/data/ucf101 --config=split1

manual_dir holds the extracted archives at any depth: UCF-101: the
``<Class>/v_*.avi`` folders and ``ucfTrainTestlist/`` (classInd.txt,
trainlist0N.txt, testlist0N.txt); HMDB-51: the ``<class>/*.avi`` folders and
``testTrainMulti_7030_splits/`` (``<class>_test_splitN.txt``).  Configs:
``split1`` (default; the paper reports split 1), ``split2``, ``split3``, each
with RGB + TV-L1 flow at shorter side 340, and ``split1_rgb`` without flow.
Splits: 'train', 'validation' and 'test'.  'train' + 'validation' is the
official training list: 'validation' holds out whole groups of each class
(about 10% of its clips; UCF-101: groups gXX, the same actor and scene;
HMDB-51: clips of the same source video) for the plateau rule of training,
so that it never watches clips of a group it trains on
(``kinetics_tf.data.splits.hold_out_validation``).  'test' is the official
test list.  Features as kinetics400 (``features.py``); ``youtube_id`` is the
video's file stem, ``time_start`` 0.
"""

import dataclasses
import os
from typing import Optional

import tensorflow_datasets as tfds

from kinetics_tf import constants
from kinetics_tf.data import annotations
from kinetics_tf.data import splits as splits_lib
from kinetics_tf.datasets import builder as builder_lib
from kinetics_tf.datasets import clips

# TFDS's own UCF-101 label file: the 101 names in classInd.txt order.
_UCF_LABELS = 'video/ucf101_labels.txt'
# The 51 HMDB-51 class folders, sorted (the order splits.hmdb51_classes uses).
HMDB51_CLASSES = tuple(sorted((
    'brush_hair', 'cartwheel', 'catch', 'chew', 'clap', 'climb',
    'climb_stairs', 'dive', 'draw_sword', 'dribble', 'drink', 'eat',
    'fall_floor', 'fencing', 'flic_flac', 'golf', 'handstand', 'hit', 'hug',
    'jump', 'kick', 'kick_ball', 'kiss', 'laugh', 'pick', 'pour', 'pullup',
    'punch', 'push', 'pushup', 'ride_bike', 'ride_horse', 'run',
    'shake_hands', 'shoot_ball', 'shoot_bow', 'shoot_gun', 'sit', 'situp',
    'smile', 'smoke', 'somersault', 'stand', 'swing_baseball', 'sword',
    'sword_exercise', 'talk', 'throw', 'turn', 'walk', 'wave')))


def ucf101_class_names() -> tuple:
  path = tfds.core.tfds_path(_UCF_LABELS)
  return tuple(n.strip() for n in path.read_text().splitlines() if n.strip())


@dataclasses.dataclass(eq=False)
class LocalSplitConfig(builder_lib.StorageConfig):
  """Which official split, and what is stored: ``StorageConfig``'s fields
  (shorter side 340 and flow by default) and

  Attributes:
    split: official split number, 1..3.
  """
  split: int = 1
  short_side: Optional[int] = constants.RESNET_SHORT_SIDE
  with_flow: bool = True


def _configs():
  out = [LocalSplitConfig(name=f'split{n}', split=n, description=(
      f'Official split {n}: RGB + TV-L1 flow, 25 fps, shorter side 340.'))
         for n in splits_lib.SPLITS]
  out.append(LocalSplitConfig(name='split1_rgb', with_flow=False,
                              description='Official split 1, RGB only.'))
  # §4.4: the 3D ConvNet takes frames with the shorter side 128.
  out.append(LocalSplitConfig(
      name='split1_rgb128', with_flow=False,
      short_side=constants.C3D_SHORT_SIDE,
      description='Official split 1, RGB only, shorter side 128 (C3D).'))
  return out


def scan(manual_dir, marker):
  """One walk of manual_dir: (folder holding `marker`, (parent, file) -> path).

  `marker` is a predicate on file names that finds the split-file folder.
  """
  split_dir, videos = None, {}
  exts = annotations.VIDEO_EXTENSIONS
  for folder, _, names in os.walk(manual_dir, followlinks=True):
    for name in names:
      if split_dir is None and marker(name):
        split_dir = folder
      if os.path.splitext(name)[1].lower() in exts:
        videos[(os.path.basename(folder), name)] = os.path.join(folder, name)
  if split_dir is None:
    raise FileNotFoundError(f'no split files found under {manual_dir}; extract '
                            'the official split-file archive there')
  return split_dir, videos


def ucf101_entries(split_dir, split: int) -> list:
  """UCF-101 entries of official split ``split``, with whole gXX groups held out."""
  return splits_lib.hold_out_validation(splits_lib.read_ucf101_split(split_dir, split),
                                        'ucf101')


def hmdb51_entries(split_dir, split: int) -> list:
  """HMDB-51 entries of official split ``split``, whole source videos held out."""
  return splits_lib.hold_out_validation(splits_lib.read_hmdb51_split(split_dir, split),
                                        'hmdb51')


def entry_jobs(entries, videos) -> dict:
  """split -> Jobs of split-file entries ('<Class>/<video>' paths)."""
  jobs = {}
  for e in entries:
    folder, name = e.path.rsplit('/', 1)
    stem = os.path.splitext(name)[0]
    jobs.setdefault(e.split, []).append(clips.Job(
        key=e.path, split=e.split, youtube_id=stem, label=e.label,
        path=videos.get((folder, name))))
  return jobs


class _LocalSplitBuilder(builder_lib.ClipBuilder, skip_registration=True):
  """Shared by the UCF-101 and HMDB-51 builders."""

  VERSION = tfds.core.Version('1.2.0')
  SUPPORTED_VERSIONS = [tfds.core.Version('1.1.0')]
  PER_FIELD_FLOW_VERSION = '1.2.0'
  RELEASE_NOTES = {
      '1.0.0': 'First release.',
      '1.1.0': "A 'validation' split: whole groups of the official training list "
               "held out (train + validation = the official training list).",
      '1.2.0': builder_lib.per_field_flow_note('1.1.0'),
  }
  BUILDER_CONFIGS = _configs()

  def _class_names(self) -> tuple:
    raise NotImplementedError

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description=self.__doc__,
        features=self._features(self._class_names()),
        supervised_keys=self._supervised_keys(),
        homepage=self.HOMEPAGE,
        citation=self.CITATION,
    )

  def _check_classes(self, found, split_dir):
    if tuple(found) != self._class_names():
      raise ValueError(
          f'the class list of the split files in {split_dir} differs from '
          f'{self.name}\'s {len(self._class_names())} classes: '
          f'{sorted(set(found) ^ set(self._class_names()))[:10]}; use the '
          'official, unmodified split files')


class Ucf101Local(_LocalSplitBuilder):
  """UCF-101 (Soomro et al. 2012) from a local copy, official splits."""

  HOMEPAGE = 'https://www.crcv.ucf.edu/data/UCF101.php'
  CITATION = ('@article{soomro2012ucf101, title={UCF101: A Dataset of 101 Human Actions '
              'Classes From Videos in The Wild}, author={Soomro, Khurram and Zamir, Amir '
              'Roshan and Shah, Mubarak}, journal={arXiv:1212.0402}, year={2012}}')

  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      'Extract UCF101.rar (the UCF-101/<Class>/v_*.avi folders) and '
      'UCF101TrainTestSplits-RecognitionTask.zip (ucfTrainTestlist/) into '
      'manual_dir.')

  def _class_names(self):
    return ucf101_class_names()

  def _split_generators(self, dl_manager):
    split_dir, videos = scan(os.fspath(dl_manager.manual_dir),
                             lambda n: n == 'classInd.txt')
    self._check_classes(splits_lib.ucf101_classes(split_dir), split_dir)
    entries = ucf101_entries(split_dir, self.builder_config.split)
    return self._splits(entry_jobs(entries, videos))


class Hmdb51Local(_LocalSplitBuilder):
  """HMDB-51 (Kuehne et al. 2011) from a local copy, official splits."""

  HOMEPAGE = 'https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/'
  CITATION = ('@inproceedings{kuehne2011hmdb, title={HMDB: A Large Video Database for '
              'Human Motion Recognition}, author={Kuehne, Hildegard and Jhuang, Hueihan '
              'and Garrote, Estibaliz and Poggio, Tomaso and Serre, Thomas}, '
              'booktitle={ICCV}, year={2011}}')

  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      'Extract hmdb51_org.rar and its per-class .rar archives (the '
      '<class>/*.avi folders) and test_train_splits.rar '
      '(testTrainMulti_7030_splits/) into manual_dir.')

  def _class_names(self):
    return HMDB51_CLASSES

  def _split_generators(self, dl_manager):
    n = self.builder_config.split
    split_dir, videos = scan(os.fspath(dl_manager.manual_dir),
                             lambda name: name.endswith(f'_test_split{n}.txt'))
    self._check_classes(splits_lib.hmdb51_classes(split_dir, n), split_dir)
    entries = hmdb51_entries(split_dir, n)
    return self._splits(entry_jobs(entries, videos))
