r"""Two-Stream, RGB stream (ResNet-50, 1 frame) on Kinetics-600: Table 4 row
(b)'s recipe with 600 classes.

  python -m kinetics_tf.train --experiment=kinetics600_two_stream_rgb \
      --model_dir=/tmp/kinetics600_two_stream_rgb

Cost: as kinetics400_two_stream_rgb (100k steps x 256 frames = 25.6M ResNet-50
examples at 299x299; GPUs only); the wider classifier adds 200 x 2048 weights,
nothing measurable.

Data: the TFDS dataset 'kinetics600/two_stream340' (about 480,000 clips: 392k train,
30k validation, 60k test; kinetics-tf download --dataset=kinetics600, then
tfds build, docs/preparing_kinetics.md); --data_dir points at it.

The paper reports Kinetics-400 only; on Kinetics-600 this is the same recipe
with a 600-way classifier, so no figure of Table 4 applies.

Trained from scratch (§4.4). The paper gives no batch size, learning rate or
weight decay (tuned on validation, §4.4): these are our starting points.
"""

from experiments import kinetics400_two_stream_rgb
from kinetics_tf.data import classes
from kinetics_tf.training.config import Config


def get_config() -> Config:
  # kinetics400_two_stream_rgb's recipe (Table 4) with this version's dataset and classes.
  return kinetics400_two_stream_rgb.get_config().replace(
      name='kinetics600_two_stream_rgb',
      dataset='kinetics600/two_stream340',
      num_classes=classes.VERSION_NUM_CLASSES['kinetics600'],
  )
