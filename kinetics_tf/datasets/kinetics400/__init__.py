"""The 'kinetics400' TFDS builder (official CSVs + downloaded clips in manual_dir)."""

from kinetics_tf.datasets.kinetics400.kinetics400 import (  # noqa: F401
    Kinetics400, Kinetics400Config, csv_jobs, find_csvs)
