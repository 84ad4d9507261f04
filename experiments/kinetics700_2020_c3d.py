r"""3D ConvNet (C3D variant, 16 frames) on Kinetics-700-2020: Table 4 row
(c)'s recipe with 700 classes.

  python -m kinetics_tf.train --experiment=kinetics700_2020_c3d \
      --model_dir=/tmp/kinetics700_2020_c3d

Cost: as kinetics400_c3d (100k steps x 960 clips = 96M C3D clips, ~38 GFLOPs
each; GPUs only).

Data: the TFDS dataset 'kinetics700_2020/rgb128' (kinetics-tf download
--dataset=kinetics700_2020, then tfds build, docs/preparing_kinetics.md);
--data_dir points at it.

The paper reports Kinetics-400 only; on Kinetics-700-2020 this is the same
recipe with a 700-way classifier, so no figure of Table 4 applies. Evaluate on
this version's own validation split: Kinetics-400's validation set lies
largely inside Kinetics-700's training set (the CVDF's note;
kinetics_tf.evaluate warns).

Trained from scratch (§4.4). The paper gives no batch size, learning rate or
weight decay (tuned on validation, §4.4): these are our starting points.
"""

from experiments import kinetics400_c3d
from kinetics_tf.data import classes
from kinetics_tf.training.config import Config


def get_config() -> Config:
  # kinetics400_c3d's recipe (Table 4) with this version's dataset and classes.
  return kinetics400_c3d.get_config().replace(
      name='kinetics700_2020_c3d',
      dataset='kinetics700_2020/rgb128',
      num_classes=classes.VERSION_NUM_CLASSES['kinetics700_2020'],
  )
