"""TFDS builder 'video_folder': your own videos, one sub-folder per class, as a clip dataset.

  config = video_folder_config('/data/my_videos', short_side=128)
  builder = VideoFolder(config=config, data_dir=...)   # or tfds.builder(
  builder.download_and_prepare()                       #  'video_folder', config=config)

Layouts: ``ROOT/<class>/<video>`` (split per class, deterministically, by
``split_fractions`` over the sorted file names), or ``ROOT/<split>/<class>/
<video>`` with split folders named train, validation (or val) and test.
Class names are the folder names, sorted.  Each video is decoded at 25 fps
from its start for at most ``max_seconds``; features as kinetics400
(``features.py``), ``youtube_id`` being the file stem.
"""

import dataclasses
import os
from typing import Optional

import tensorflow_datasets as tfds

from kinetics_tf.data import annotations
from kinetics_tf.datasets import builder as builder_lib
from kinetics_tf.datasets import clips

SPLITS = ('train', 'validation', 'test')
_SPLIT_FOLDERS = {'train': 'train', 'validation': 'validation',
                  'val': 'validation', 'test': 'test'}


@dataclasses.dataclass(eq=False)
class VideoFolderConfig(builder_lib.StorageConfig):
  """A folder of class sub-folders and how to store it (video_folder_config
  fills ``class_names`` from the folder): ``StorageConfig``'s fields
  (shorter side 128, flow and 10 s per video by default) and

  Attributes:
    root: the folder.
    class_names: class folder names, in label order.
    split_fractions: (train, validation, test) shares when ``root`` has no
      split folders.
  """
  root: str = ''
  class_names: tuple = ()
  short_side: Optional[int] = 128
  with_flow: bool = True
  max_seconds: Optional[float] = 10.0
  split_fractions: tuple = (0.7, 0.1, 0.2)


def _subdirs(folder):
  return sorted(d for d in os.listdir(folder)
                if os.path.isdir(os.path.join(folder, d))
                and not d.startswith('.'))


def _split_folders(root) -> dict:
  """split -> folder, when root holds split folders; else {}."""
  found = {_SPLIT_FOLDERS[d.lower()]: os.path.join(root, d)
           for d in _subdirs(root) if d.lower() in _SPLIT_FOLDERS}
  return found if 'train' in found else {}


def video_folder_config(root, name: Optional[str] = None,
                        **kwargs) -> VideoFolderConfig:
  """A VideoFolderConfig for `root`, with the class names of its folders.

  Raises:
    NotADirectoryError: `root` is not a folder.
    ValueError: no class sub-folders.
  """
  root = os.path.abspath(os.fspath(root))
  if not os.path.isdir(root):
    raise NotADirectoryError(f'video folder {root} does not exist')
  by_split = _split_folders(root)
  folders = by_split.values() if by_split else [root]
  names = sorted({c for f in folders for c in _subdirs(f)})
  if not names:
    raise ValueError(f'{root} has no class sub-folders; expected '
                     'ROOT/<class>/<video> or ROOT/<split>/<class>/<video>')
  name = name or os.path.basename(root).replace(' ', '_') or 'videos'
  return VideoFolderConfig(name=name, root=root, class_names=tuple(names),
                           description=f'Videos of {root}', **kwargs)


def assign_splits(n: int, fractions) -> list:
  """Split index of each of n sorted files: spread so every prefix keeps the
  fractions as closely as possible (deterministic)."""
  counts, out = [0] * len(fractions), []
  for i in range(n):
    behind = [round(f * (i + 1) - c, 9) for f, c in zip(fractions, counts)]
    k = max(range(len(fractions)), key=lambda s: behind[s])
    counts[k] += 1
    out.append(k)
  return out


def _videos(folder):
  exts = annotations.VIDEO_EXTENSIONS
  return sorted(n for n in os.listdir(folder)
                if os.path.splitext(n)[1].lower() in exts
                and not n.startswith('.'))


def folder_jobs(config: VideoFolderConfig) -> dict:
  """split -> Jobs of every video under config.root."""
  by_split = _split_folders(config.root)
  jobs = {}
  for label in config.class_names:
    if by_split:
      placed = [(s, os.path.join(f, label, v)) for s, f in by_split.items()
                if os.path.isdir(os.path.join(f, label))
                for v in _videos(os.path.join(f, label))]
    else:
      folder = os.path.join(config.root, label)
      names = _videos(folder)
      placed = [(SPLITS[k], os.path.join(folder, v)) for k, v in
                zip(assign_splits(len(names), config.split_fractions), names)]
    for split, path in placed:
      rel = os.path.relpath(path, config.root)
      jobs.setdefault(split, []).append(clips.Job(
          key=rel, split=split,
          youtube_id=os.path.splitext(os.path.basename(path))[0],
          label=label, path=path))
  return {s: jobs[s] for s in SPLITS if s in jobs}


class VideoFolder(builder_lib.ClipBuilder):
  """A folder of videos, one sub-folder per class (see the module docstring)."""

  VERSION = tfds.core.Version('1.1.0')
  SUPPORTED_VERSIONS = [tfds.core.Version('1.0.0')]
  PER_FIELD_FLOW_VERSION = '1.1.0'
  RELEASE_NOTES = {
      '1.0.0': 'First release.',
      '1.1.0': builder_lib.per_field_flow_note('1.0.0'),
  }

  def __init__(self, *, config=None, **kwargs):
    if not isinstance(config, VideoFolderConfig):
      raise ValueError(
          'video_folder needs config=video_folder_config(ROOT) (from '
          'kinetics_tf.datasets.video_folder): its classes are the folders '
          f'of ROOT; got config={config!r}')
    super().__init__(config=config, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    c = self.builder_config
    return self.dataset_info_from_configs(
        description=f'Videos of {c.root}, one sub-folder per class.',
        features=self._features(c.class_names),
        supervised_keys=self._supervised_keys(),
        # The paper whose protocol these clips serve (§4.4); the catalogue
        # page TFDS would name by default does not exist for this builder.
        homepage=builder_lib.PAPER_HOMEPAGE,
        citation=builder_lib.PAPER_CITATION,
    )

  def _split_generators(self, dl_manager):
    del dl_manager
    return self._splits(folder_jobs(self.builder_config))
