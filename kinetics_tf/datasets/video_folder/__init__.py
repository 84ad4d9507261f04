"""The 'video_folder' TFDS builder: any folder of videos, one sub-folder per class."""

from kinetics_tf.datasets.video_folder.video_folder import (  # noqa: F401
    SPLITS, VideoFolder, VideoFolderConfig, assign_splits, folder_jobs,
    video_folder_config)
