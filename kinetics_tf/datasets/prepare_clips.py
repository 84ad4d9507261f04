"""The preparation stage of a Kinetics copy: the clips its builders read, prepared ahead.

``prepare_kinetics`` lists the clips of a manual_dir as the Kinetics builders
do (``kinetics400.find_csvs`` / ``csv_jobs``) and runs ``flow.prepare_run``
on them into the folder the builders read (``builder.default_prepared_dir``,
``clips.prepare_params``), so a later ``tfds build`` of any config with
that side (with or without flow, any flow layout) only reads and writes.
``kinetics-tf prepare`` is its binary.
"""

import os
from typing import Optional

from flow import prepare
from flow import prepare_device
from flow import prepare_run
from flow.constants import DEFAULT_BACKEND
from kinetics_tf.datasets import builder as builder_lib
from kinetics_tf.datasets import clips
from kinetics_tf.datasets.kinetics400 import kinetics400


def kinetics_clips(manual_dir, version: kinetics400.KineticsVersion,
                   per_class: Optional[tuple] = None) -> list:
  """The flow.prepare.Clips of every split of a Kinetics manual_dir (with
  ``per_class``: the first (train, validation, test) clips per class)."""
  out = []
  for split, csv_path in sorted(kinetics400.find_csvs(manual_dir,
                                                      version).items()):
    n = per_class[kinetics400.SPLITS.index(split)] if per_class else None
    jobs, _ = kinetics400.csv_jobs(csv_path, split, manual_dir, n,
                                   class_names=version.class_names)
    out.extend(clips.prepared_clip(job) for job in jobs)
  return out


def prepare_kinetics(dataset: str, manual_dir, short_side: Optional[int],
                     with_flow: bool, workers: int = 1,
                     data_dir: Optional[str] = None,
                     prepared_dir: Optional[str] = None,
                     flow_backend: str = DEFAULT_BACKEND,
                     per_class: Optional[tuple] = None,
                     tvl1_params: tuple = (),
                     progress: bool = True, retry_failed: bool = False,
                     devices: str = 'none', flow_batch: int = 0,
                     device_memory_mb: int = 0):
  """Prepares the clips of a Kinetics copy for its builders.

  Args:
    dataset: 'kinetics400', 'kinetics600' or 'kinetics700_2020'.
    manual_dir: the annotation CSVs and clips (as for ``tfds build``).
    short_side: shorter side of the frames (§4.4: 340, or 128).
    with_flow: compute the TV-L1 flow as well.
    workers: processes (flow.prepare_run.unordered).
    data_dir: the TFDS data_dir the builds will use (default TFDS's).
    prepared_dir: the prepared folders' root (default: the builders').
    flow_backend: TV-L1 backend, as the builds' (KINETICS_TF_FLOW_BACKEND).
    per_class: keep the first clips per class of each split (``trial``).
    tvl1_params: DualTVL1 parameters (the Kinetics configs: OpenCV's
      defaults, as the paper's).
    progress: show a progress bar.
    retry_failed: try again the clips recorded as failed (an error that was
      not the video's; corrupt and too-short clips stay recorded).
    devices: where the TV-L1 runs ('auto': every GPU when the flow is
      computed with the TF backend and TensorFlow sees GPUs, else the
      per-core path; 'none'; 'all'; 'GPU:0,GPU:1'; flow.prepare_device).
      With devices, ``workers`` decode and write, and one process per
      device solves batches of pairs gathered across clips.
    flow_batch: pairs per device call (0: flow.prepare_device's default).
    device_memory_mb: GPU memory per device process (0: grown as needed).

  Returns:
    (folder, collections.Counter of statuses; see flow.prepare_run.run).

  Raises:
    ValueError: an unknown dataset; FileNotFoundError: no annotation CSV.
  """
  if dataset not in kinetics400.VERSIONS:
    raise ValueError(f'--dataset={dataset}: the preparation lists the clips '
                     f'of {sorted(kinetics400.VERSIONS)}')
  if data_dir is None:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    data_dir = tfds.core.constants.DATA_DIR
  root = prepared_dir or os.environ.get(builder_lib.PREPARED_DIR_ENV) or (
      builder_lib.default_prepared_dir(os.path.expanduser(data_dir), dataset))
  params = clips.prepare_params(clips.Options(
      short_side=short_side, with_flow=with_flow, flow_backend=flow_backend,
      tvl1_params=tuple(tvl1_params)))
  chosen = choose_devices(devices, with_flow, params.backend)
  todo = kinetics_clips(os.fspath(manual_dir), kinetics400.VERSIONS[dataset],
                        per_class)
  if chosen:
    counts, _ = prepare_device.run(
        todo, root, params, chosen, workers,
        batch=flow_batch or prepare_device.DEFAULT_BATCH,
        memory_mb=device_memory_mb, progress=progress,
        retry_failed=retry_failed)
  else:
    counts = prepare_run.run(todo, root, params, with_flow, workers,
                             progress=progress, retry_failed=retry_failed)
  return prepare.folder_for(root, params), counts


def choose_devices(devices: str, with_flow: bool, backend: str) -> list:
  """The devices of flow.prepare_device for a ``--devices`` value ([]: the
  per-core path).

  Raises:
    ValueError: devices named for a run they cannot serve, or unknown.
  """
  if (devices or 'none').lower() == 'none':
    return []
  if devices.lower() == 'auto':
    if not with_flow or backend != 'tf':
      return []
    return prepare_device.parse_devices('all', prepare_device.visible_gpus())
  if not with_flow:
    raise ValueError(f'--devices={devices}: devices run the TV-L1; add '
                     '--flow, or leave --devices out')
  if backend != 'tf':
    raise ValueError(f'--devices={devices}: devices run the TF TV-L1, and '
                     f'the flow backend is {backend!r}; use '
                     '--flow_backend=tf (or auto)')
  return prepare_device.parse_devices(devices, prepare_device.visible_gpus())
