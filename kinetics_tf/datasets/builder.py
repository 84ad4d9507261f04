"""The base of every clip builder: local streaming or Beam generation, a report and a summary.

Generation runs one of two ways, with the same per-clip code
(``clips.process``):

* With a Beam runner or options (``tfds build ... --beam_pipeline_options=``,
  or ``DownloadConfig(beam_runner=...)``), ``_generate_examples`` returns the
  ``beam_build.BuildClips`` PTransform, so a large build spreads over a
  cluster (Dataflow, Flink, Spark).  Not Beam's local DirectRunner for a
  large config: it keeps every serialized example of a split in memory for
  TFDS's shuffle (benchmarks/build.py measures it).
* Without them, clips stream through this process (or ``num_workers`` local
  processes, ``flow.prepare_run.unordered``: completion order, recycled
  workers; ``tfds build NAME/CONFIG/num_workers=N``): a few clips in flight
  plus TFDS's shuffle buffer, which spills to disk beyond 1 GB.

Every builder's config subclasses ``StorageConfig`` (how clips are stored:
frame size, flow, its layout, records per clip), and the base class turns it
into ``clips.Options`` and the dataset's features; a builder adds only where
its clips come from.

Either way the expensive work of a clip with a video file (decode, resize,
JPEG, TV-L1) is the preparation stage's (``flow.prepare``): a clip is read
from its prepared file under ``prepared_dir`` (default
``<data_dir>/prepared/<dataset name>``; ``kinetics-tf prepare`` fills it
ahead, on all cores or as a Beam pipeline), and prepared on demand when the
file is missing, so a killed build redoes only the clips it had in flight
and every config with the same side, fps and TV-L1 settings reuses the same
files.  Folders ``incomplete.*`` left by earlier killed builds of the same
dataset version are removed at start (TFDS cannot resume them).

Either way a missing or corrupt clip is skipped and written to
``build_report.csv`` in the dataset folder (split, clip id, status, reason),
``build_summary.json`` counts built / missing / corrupt clips per split, and
the build ends by printing that summary.
"""

import dataclasses
import logging
import os
import shutil
from typing import Optional, Sequence

from etils import epath
import tensorflow_datasets as tfds

import flow
from kinetics_tf.datasets import clips
from kinetics_tf.datasets import features as features_lib
from kinetics_tf.datasets import generate


@dataclasses.dataclass(eq=False)
class StorageConfig(tfds.core.BuilderConfig):
  """How a clip dataset stores its clips: what every builder's config shares.

  Attributes:
    short_side: shorter side of the stored frames, resized bilinearly with
      the aspect ratio kept (None = as decoded).  §4.4: 340 for the
      ResNet-50 models, 128 for the 3D ConvNet.
    with_flow: compute and store TV-L1 flow.
    tvl1_params: DualTVL1 parameters as (name, value) pairs (empty =
      OpenCV's defaults, as the paper's flow).
    jpeg_quality: quality of the stored JPEG frames.
    flow_format: how flow is stored (``features.FLOW_FORMATS``): 'png'
      (lossless, one image per field: the default), 'jpeg' (lossy) or
      'zlib' (one tensor per clip: the layout of the builders' versions
      before ``PER_FIELD_FLOW_VERSION``, which store it whatever this says).
    with_video: store the RGB frames; False (with flow) makes a flow-only
      set, read by the flow stream without the frames' bytes.
    train_record_stride: None = one record per clip in every split; S = the
      'train' split stores each clip as overlapping records of at most S
      starts each (``kinetics_tf.data.records``), so that a training sample
      reads a record of about S + ``train_record_overlap`` frames instead of
      its clip; validation and test keep whole clips for the dense test
      protocol.  The input pipeline draws from the records exactly the
      paper's distribution (every start of a clip alike, every clip alike).
    train_record_overlap: frames a record holds past its starts: the
      longest training footprint it serves spans ``train_record_overlap +
      1`` frames (10 for Table 3's 10-field flow stack, 0 for one RGB
      frame); a longer footprint (ConvNet+LSTM, C3D) is refused.
    max_seconds: decode at most this many seconds of each file (None = all).
  """
  short_side: Optional[int] = None
  with_flow: bool = False
  tvl1_params: tuple = ()
  jpeg_quality: int = features_lib.JPEG_QUALITY
  flow_format: str = features_lib.FLOW_PNG
  with_video: bool = True
  train_record_stride: Optional[int] = None
  train_record_overlap: int = 0
  max_seconds: Optional[float] = None

  def __post_init__(self):
    n, overlap = self.train_record_stride, self.train_record_overlap
    if n is not None and n < 1:
      raise ValueError(f'config {self.name!r}: train_record_stride must be '
                       f'None or >= 1, not {n}')
    if overlap < 0 or (n is not None and self.with_flow and overlap < 1):
      raise ValueError(f'config {self.name!r}: train_record_overlap='
                       f'{overlap}; use >= 0 (>= 1 with flow: a record needs '
                       'two frames for a field)')


# The paper this library reproduces: homepage and citation of the builders
# that have none of their own (the synthetic set, a folder of videos).
PAPER_HOMEPAGE = 'https://arxiv.org/abs/1705.06950'
PAPER_CITATION = (
    '@article{kay2017kinetics, title={The Kinetics Human Action Video Dataset}, '
    'author={Kay, Will and Carreira, Joao and Simonyan, Karen and Zhang, Brian and '
    'Hillier, Chloe and Vijayanarasimhan, Sudheendra and Viola, Fabio and Green, Tim '
    'and Back, Trevor and Natsev, Paul and Suleyman, Mustafa and Zisserman, Andrew}, '
    'journal={arXiv:1705.06950}, year={2017}}')


# Environment variable naming the TV-L1 backend of builds run by `tfds build`.
FLOW_BACKEND_ENV = 'KINETICS_TF_FLOW_BACKEND'
# Environment variable naming the prepared folders' root of `tfds build`.
PREPARED_DIR_ENV = 'KINETICS_TF_PREPARED_DIR'


def default_prepared_dir(data_dir_root, name: str) -> str:
  """Where a dataset's prepared clips go by default: beside its builds."""
  return os.path.join(os.fspath(data_dir_root), 'prepared', name)


def per_field_flow_note(previous: str) -> str:
  """The release note of a builder's first version with per-field flow."""
  return ("Flow stored per field, one image per field and channel ('flow': "
          "{'x', 'y'} Video features, lossless PNG by default, 'jpeg' as an "
          f'option): a sample decodes only its own fields. {previous} stores '
          f"one zlib tensor per clip (still readable: version='{previous}').")


class ClipBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A GeneratorBasedBuilder of clip examples (see the module docstring).

  Subclasses define ``_info`` (with ``self._features(class_names)``) and
  ``_split_generators`` (returning ``self._splits({split: jobs})``); their
  configs are ``StorageConfig``s, which ``_clip_options`` reads; ``_source``
  defaults to decoding video files.

  Args:
    num_workers: local processes building clips when no Beam runner is
      given (1 = this process; spawned processes, so a script calling the
      build needs an ``if __name__ == '__main__':`` guard).
    flow_backend: TV-L1 backend of ``flow.tvl1``: 'opencv', 'tf' or 'auto'
      (``flow.backends.choose_backend``: the TF backend unless the config's
      TV-L1 parameters need OpenCV); default the environment variable
      KINETICS_TF_FLOW_BACKEND (how ``tfds build`` chooses it), else the
      class's DEFAULT_FLOW_BACKEND.
    prepared_dir: root of the preparation stage's folders of this dataset
      (``flow.prepare.folder_for``); default the environment variable
      KINETICS_TF_PREPARED_DIR, else ``default_prepared_dir``.
    **kwargs: tfds.core.DatasetBuilder arguments (data_dir, config, ...).
  """

  # The first version storing flow per field (features.FLOW_FORMATS);
  # earlier versions store one zlib tensor per clip.  Subclasses set it.
  PER_FIELD_FLOW_VERSION: Optional[str] = None

  # 'auto': measured faster on CPUs at every frame size of the real datasets
  # (benchmarks/flow_tf.py); subclasses with other needs override it.
  DEFAULT_FLOW_BACKEND = flow.DEFAULT_BACKEND

  def __init__(self, *, num_workers: int = 1,
               flow_backend: Optional[str] = None,
               prepared_dir: Optional[str] = None, **kwargs):
    super().__init__(**kwargs)
    self._prepared_dir = os.fspath(
        prepared_dir or os.environ.get(PREPARED_DIR_ENV) or
        default_prepared_dir(self._data_dir_root, self.name))
    if num_workers < 1:
      raise ValueError(f'num_workers must be >= 1, not {num_workers}')
    self._num_workers = num_workers
    backend = (flow_backend or os.environ.get(FLOW_BACKEND_ENV) or
               self.DEFAULT_FLOW_BACKEND)
    if backend not in flow.CHOICES:
      raise ValueError(f'flow backend {backend!r} (from '
                       f'{"flow_backend" if flow_backend else FLOW_BACKEND_ENV})'
                       f' is not one of {flow.CHOICES}')
    self._flow_backend = backend
    self._use_beam = False
    self._num_clips = {}

  def _clip_options(self, split: str) -> clips.Options:
    """How the clips of ``split`` are built: the config's storage fields
    (StorageConfig), this version's flow layout and the TV-L1 backend."""
    c = self.builder_config
    return clips.Options(
        short_side=c.short_side, with_flow=c.with_flow,
        tvl1_params=tuple(c.tvl1_params), jpeg_quality=c.jpeg_quality,
        max_seconds=c.max_seconds, flow_backend=self._flow_backend,
        flow_format=self._flow_format(), with_video=c.with_video,
        record_stride=c.train_record_stride if split == 'train' else None,
        record_overlap=c.train_record_overlap,
        record_features=c.train_record_stride is not None,
        prepared_dir=self._prepared_dir)

  def _features(self, class_names, num_frames: Optional[int] = None,
                height: Optional[int] = None,
                width: Optional[int] = None) -> tfds.features.FeaturesDict:
    """The features of this version and config (``features.clip_features``)."""
    segmented = self.builder_config.train_record_stride is not None
    return features_lib.clip_features(
        class_names, self.builder_config.with_flow,
        None if segmented else num_frames, height, width,
        flow_format=self._flow_format(),
        with_video=self.builder_config.with_video,
        with_records=segmented)

  def _flow_format(self) -> str:
    """The flow layout of this version and config (features.FLOW_FORMATS).

    Versions before PER_FIELD_FLOW_VERSION store 'zlib'; later ones the
    config's ``flow_format`` (default 'png', lossless).
    """
    first = self.PER_FIELD_FLOW_VERSION
    if first is not None and self.version < tfds.core.Version(first):
      return features_lib.FLOW_ZLIB
    return features_lib.check_flow_format(self.builder_config.flow_format)

  def _source(self):
    return clips.FileSource()

  def _supervised_keys(self):
    """('video', 'label'), or None for a flow-only set."""
    return ('video', 'label') if self.builder_config.with_video else None

  def _build(self, jobs: Sequence[clips.Job], split: str):
    """What `_generate_examples` returns for one split's jobs."""
    report = generate.part_path(self.data_dir, split)
    options = self._clip_options(split)
    if self._use_beam:
      # Imported here: Beam is heavy and only Beam builds need it.
      from kinetics_tf.datasets import beam_build  # pylint: disable=g-import-not-at-top
      return beam_build.BuildClips(jobs, self._source(), options, report)
    return generate.local_examples(
        jobs, self._source(), options, report,
        num_workers=self._num_workers, desc=f'{self.name} {split}')

  def _splits(self, jobs: dict, skips: dict = None) -> dict:
    """split -> generation, for `_split_generators` to return.

    Clips without a file and ``skips`` (e.g. bad annotation rows) go straight
    to the report; a split left without any clip to build is omitted (TFDS
    cannot write an empty split) and shows in the summary with 0 built.
    """
    out = {}
    for split, split_jobs in jobs.items():
      # Clips to account for: with several records per clip the split's
      # example count is not its clip count (finish_report).
      self._num_clips[split] = len(split_jobs) + len((skips or {}).get(
          split, ()))
      found = [j for j in split_jobs
               if j.path is not None or j.seed is not None]
      early = list((skips or {}).get(split, ())) + [
          clips.Skip(j.key, split, clips.MISSING,
                     'no video file found for this clip')
          for j in split_jobs if j.path is None and j.seed is None]
      generate.write_rows(generate.part_path(self.data_dir, f'{split}.early'),
                          early)
      if found:
        out[split] = self._build(found, split)
      else:
        logging.warning('%s: split %r has no clip to build (%d skipped); '
                        'left out', self.name, split, len(early))
    return out

  def _generate_examples(self, jobs, split):
    return self._build(jobs, split)

  def _remove_stale_incomplete(self) -> int:
    """Deletes the ``incomplete.*`` folders of earlier killed builds of this
    dataset version (TFDS names them incomplete.XXXXXX_VERSION beside it)."""
    folder = epath.Path(self.data_dir).parent
    stale = list(folder.glob(f'incomplete.*_{self.version}')) if (
        folder.exists()) else []
    for path in stale:
      shutil.rmtree(path) if path.is_dir() else path.unlink()
    if stale:
      line = (f'{self.name}: removed {len(stale)} incomplete folder(s) of '
              f'earlier killed builds in {folder} (finished clips are kept '
              'in the prepared folder, not there)')
      logging.warning(line)
      print(line, flush=True)
    return len(stale)

  def download_and_prepare(self, *args, **kwargs):  # pylint: disable=arguments-differ
    """TFDS's, after removing stale incomplete folders of this version."""
    if not self.data_path.exists():
      self._remove_stale_incomplete()
    return super().download_and_prepare(*args, **kwargs)

  def _download_and_prepare(self, dl_manager, download_config):
    self._use_beam = bool(download_config.beam_runner or
                          download_config.beam_options)
    super()._download_and_prepare(dl_manager, download_config)
    records = {name: info.num_examples
               for name, info in self.info.splits.items()}
    line = generate.finish_report(self.data_dir, records,
                                  f'{self.name}/{self.builder_config.name}',
                                  num_clips=self._num_clips)
    logging.info(line)
    print('\n' + line, flush=True)
