r"""Two-Stream, RGB stream (ResNet-50, 1 frame) on Kinetics-400. Table 4 row
(b), Kinetics RGB: 56.0 / 77.3.

  python -m kinetics_tf.train --experiment=kinetics400_two_stream_rgb \
      --model_dir=/tmp/kinetics400_two_stream_rgb

Cost: 100k steps x 256 frames = 25.6M ResNet-50 examples at 299x299; at <2
ex/s on a 2-core CPU that is >150 days, so it needs GPUs (the paper: 64)
(figures: benchmarks/models.py and docs/BENCHMARKS.md).

Data: the TFDS dataset 'kinetics400/two_stream340' (docs on preparing the data);
--data_dir points at it.

Trained from scratch (§4.4). The paper gives no batch size, learning rate or
weight decay (tuned on validation, §4.4): these are our starting points.
"""

from kinetics_tf import constants
from kinetics_tf.training.config import Config


def get_config() -> Config:
  return Config(
      name='kinetics400_two_stream_rgb',
      dataset='kinetics400/two_stream340',
      model='rgb',
      crop_size=constants.RESNET_CROP,  # §4.4
      batch_size=256,
      base_lr=0.1,
      momentum=0.9,
      weight_decay=1e-4,
      max_steps=100_000,  # §4.4: up to 100k
      eval_every=2_000,
      eval_batches=50,
      checkpoint_every=2_000,
      patience=3,
  )
