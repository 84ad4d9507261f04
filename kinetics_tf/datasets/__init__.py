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
from kinetics_tf.datasets.kinetics400 import (  # noqa: F401
    Kinetics400, Kinetics400Config)
from kinetics_tf.datasets.synthetic import (  # noqa: F401
    SyntheticActions, SyntheticActionsConfig)
from kinetics_tf.datasets.ucf_hmdb import (  # noqa: F401
    Hmdb51Local, LocalSplitConfig, Ucf101Local)
from kinetics_tf.datasets.video_folder import (  # noqa: F401
    VideoFolder, VideoFolderConfig, video_folder_config)
