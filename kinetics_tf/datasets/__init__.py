"""TFDS builders of the library; importing this package registers them with TFDS.

Datasets: 'synthetic_actions' (rendered, no download).
"""

from kinetics_tf.datasets import synthetic  # noqa: F401  (registers)
from kinetics_tf.datasets.synthetic import SyntheticActions  # noqa: F401
