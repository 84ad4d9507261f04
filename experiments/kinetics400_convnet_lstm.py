r"""ConvNet+LSTM (ResNet-50 + BN-LSTM 512) on Kinetics-400. Table 4 row (a),
Kinetics: 57.0 / 79.0 top-1 / top-5.

  python -m kinetics_tf.train --experiment=kinetics400_convnet_lstm \
      --model_dir=/tmp/kinetics400_convnet_lstm

Cost: 100k steps x 64 clips x 25 frames = 160M ResNet-50 frames at 299x299;
at <2 frames/s on a 2-core CPU that is >2.5 years, so it needs GPUs (the
paper: 64) (figures: benchmarks/models.py and docs/BENCHMARKS.md).

Data: the TFDS dataset 'kinetics400/rgb340' (docs on preparing the data);
--data_dir points at it.

Trained from scratch (§4.4). The paper gives no batch size, learning rate or
weight decay (tuned on validation, §4.4): these are our starting points.
"""

from kinetics_tf import constants
from kinetics_tf.training.config import Config


def get_config() -> Config:
  return Config(
      name='kinetics400_convnet_lstm',
      dataset='kinetics400/rgb340',
      model='convnet_lstm',
      crop_size=constants.RESNET_CROP,  # §4.4
      batch_size=64,
      base_lr=0.025,
      momentum=0.9,
      weight_decay=1e-4,
      max_steps=100_000,  # §4.4: up to 100k
      eval_every=2_000,
      eval_batches=50,
      checkpoint_every=2_000,
      patience=3,
  )
