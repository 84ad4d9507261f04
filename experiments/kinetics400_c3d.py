r"""3D ConvNet (C3D variant, 16 frames) on Kinetics-400. Table 4 row (c),
Kinetics: 56.1 / 79.5.

  python -m kinetics_tf.train --experiment=kinetics400_c3d \
      --model_dir=/tmp/kinetics400_c3d

Cost: 100k steps x 960 clips (15 per GPU x 64, §4.3) = 96M C3D clips; C3D
costs ~38 GFLOPs per 16x112x112 clip, ~40x a ResNet-50 at 112x112 (~20 ex/s
here), so ~0.5 clips/s on a 2-core CPU: >6 years, GPUs only (figures:
benchmarks/models.py and docs/BENCHMARKS.md).

Data: the TFDS dataset 'kinetics400/rgb128' (docs on preparing the data);
--data_dir points at it.

Trained from scratch (§4.4). The paper gives no batch size, learning rate or
weight decay (tuned on validation, §4.4): these are our starting points.
"""

from kinetics_tf import constants
from kinetics_tf.training.config import Config


def get_config() -> Config:
  return Config(
      name='kinetics400_c3d',
      dataset='kinetics400/rgb128',
      model='c3d',
      crop_size=constants.C3D_CROP,  # §4.4
      batch_size=960,
      base_lr=0.1,
      momentum=0.9,
      weight_decay=1e-4,
      max_steps=100_000,  # §4.4: up to 100k
      eval_every=2_000,
      eval_batches=50,
      checkpoint_every=2_000,
      patience=3,
  )
