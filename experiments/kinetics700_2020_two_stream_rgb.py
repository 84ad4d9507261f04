r"""Two-Stream, RGB stream (ResNet-50, 1 frame) on Kinetics-700-2020: Table 4
row (b)'s recipe with 700 classes.

  python -m kinetics_tf.train --experiment=kinetics700_2020_two_stream_rgb \
      --model_dir=/tmp/kinetics700_2020_two_stream_rgb

Cost: as kinetics400_two_stream_rgb (100k steps x 256 frames = 25.6M ResNet-50
examples at 299x299; GPUs only); the wider classifier adds 300 x 2048 weights,
nothing measurable.

Data: the TFDS dataset 'kinetics700_2020/two_stream340' (about 650,000 clips: 545k
train, 35k validation, 68k test; kinetics-tf download
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

from experiments import kinetics400_two_stream_rgb
from kinetics_tf.data import classes
from kinetics_tf.training.config import Config


def get_config() -> Config:
  # kinetics400_two_stream_rgb's recipe (Table 4) with this version's dataset and classes.
  return kinetics400_two_stream_rgb.get_config().replace(
      name='kinetics700_2020_two_stream_rgb',
      dataset='kinetics700_2020/two_stream340',
      num_classes=classes.VERSION_NUM_CLASSES['kinetics700_2020'],
  )
