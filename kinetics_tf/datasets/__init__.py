"""TFDS builders of the library; importing this package registers them with TFDS.

Datasets: 'kinetics400' (official CSVs + downloaded clips), 'ucf101_local'
and 'hmdb51_local' (local copies with the official split files; TFDS's own
'ucf101' downloads instead), 'synthetic_actions' (rendered, no download) and
'video_folder' (any folder with one sub-folder per class).  ``import
kinetics_tf`` registers them too, once TFDS is imported.
"""

from kinetics_tf.datasets import kinetics400  # noqa: F401  (registers)
from kinetics_tf.datasets import synthetic  # noqa: F401
from kinetics_tf.datasets import ucf_hmdb  # noqa: F401
from kinetics_tf.datasets import video_folder  # noqa: F401
from kinetics_tf.datasets.kinetics400 import Kinetics400, Kinetics400Config  # noqa: F401
from kinetics_tf.datasets.synthetic import SyntheticActions, SyntheticActionsConfig  # noqa: F401
from kinetics_tf.datasets.ucf_hmdb import Hmdb51Local, LocalSplitConfig, Ucf101Local  # noqa: F401
from kinetics_tf.datasets.video_folder import VideoFolder, VideoFolderConfig, video_folder_config  # noqa: F401
