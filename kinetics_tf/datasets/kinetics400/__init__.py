"""The Kinetics TFDS builders: 'kinetics400', 'kinetics600', 'kinetics700_2020' (official CSVs + downloaded clips in manual_dir)."""

from kinetics_tf.datasets.kinetics400.kinetics400 import (  # noqa: F401
    KINETICS400, KINETICS600, KINETICS700_2020, VERSIONS, Kinetics,
    Kinetics400, Kinetics400Config, Kinetics600, Kinetics700_2020,
    KineticsConfig, KineticsVersion, csv_jobs, find_csvs)
