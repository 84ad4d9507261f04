"""The UCF-101 and HMDB-51 TFDS builders: 'ucf101_local', 'hmdb51_local' (local copies + official split files in manual_dir)."""

from kinetics_tf.datasets.ucf_hmdb.ucf_hmdb import (  # noqa: F401
    HMDB51_CLASSES, Hmdb51Local, LocalSplitConfig, Ucf101Local, entry_jobs,
    hmdb51_entries, scan, ucf101_class_names, ucf101_entries)
