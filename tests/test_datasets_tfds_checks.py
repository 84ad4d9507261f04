"""TFDS's own builder checks (tfds.testing.DatasetBuilderTestCase) on two builders.

DatasetBuilderTestCase builds a builder with TFDS's download manager mocked
(downloads come from a dummy-data folder) and checks what every TFDS dataset
must satisfy: it is registered, its DatasetInfo names it, each split has the
expected number of examples, their specs match the features, no example is
in two splits, and a reloaded builder reads the same.

* synthetic_actions renders its clips and downloads nothing: its dummy-data
  folder is an empty one, only handed to the mocked download manager.
* video_folder reads the folder its config names (no download): here a few
  tiny clips written by conftest's write_video.

The builders' own behaviour (examples, flow, reports) is tested in
test_datasets_synthetic.py and test_datasets_builders.py.
"""

import pathlib
import tempfile

import tensorflow_datasets as tfds
import tensorflow_datasets.testing  # noqa: F401  pylint: disable=unused-import

from conftest import write_video
from kinetics_tf.datasets import synthetic
from kinetics_tf.datasets import video_folder

# DatasetBuilderTestCase is reached as tfds.testing's attribute, never bound
# to a name here: pytest collects every unittest.TestCase in a module's
# namespace, and would run the abstract base too.


class SyntheticActionsTest(tfds.testing.DatasetBuilderTestCase):
  """synthetic_actions/tiny: 16 classes x (2, 1, 1) clips."""

  DATASET_CLASS = synthetic.SyntheticActions
  BUILDER_CONFIG_NAMES_TO_TEST = ['tiny']  # 'demo' takes minutes.
  SPLITS = {'train': 32, 'validation': 16, 'test': 16}

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.EXAMPLE_DIR = cls.enterClassContext(tempfile.TemporaryDirectory())


class VideoFolderTest(tfds.testing.DatasetBuilderTestCase):
  """video_folder on ROOT/<split>/<class>/<video>: 2 classes, 3/1/1 clips each."""

  DATASET_CLASS = video_folder.VideoFolder
  SPLITS = {'train': 6, 'validation': 2, 'test': 2}
  # The builder lists the user's local folder with os, by design (not a
  # download, so tf.io.gfile's remote file systems do not apply).
  MOCK_OUT_FORBIDDEN_OS_FUNCTIONS = False

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = pathlib.Path(cls.enterClassContext(tempfile.TemporaryDirectory()))
    seed = 0
    for split, count in (('train', 3), ('validation', 1), ('test', 1)):
      for label in ('clapping', 'waving'):
        for i in range(count):
          write_video(root / split / label / f'{label}_{split}{i}.mp4', 6,
                      seed=seed)
          seed += 1
    cls.EXAMPLE_DIR = str(root)
    cls.CONFIG = video_folder.video_folder_config(
        root, name='two_classes', short_side=32,
        tvl1_params=synthetic.SYNTHETIC_TVL1)
    cls.BUILDER_CONFIG_NAMES_TO_TEST = [cls.CONFIG]

  def _make_builder(self, config=None):
    # video_folder has no default config: its classes are the folder's.
    return super()._make_builder(config=config or self.CONFIG)
