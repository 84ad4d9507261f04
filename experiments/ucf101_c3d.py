r"""3D ConvNet (C3D variant, 16 frames) on UCF-101 split 1. Table 4 row (c),
UCF-101 split 1 RGB: 51.6 (from scratch: the paper does not pre-train the 3D
ConvNet).

  python -m kinetics_tf.train --experiment=ucf101_c3d \
      --model_dir=/tmp/ucf101_c3d

Cost: 10k steps x 30 clips = 0.3M C3D clips; at ~0.5 clips/s on a 2-core CPU
(C3D ~40x the FLOPs of ResNet-50 at 112x112, ~20 ex/s here) ~7 days: use a
GPU (figures: benchmarks/models.py and docs/BENCHMARKS.md).

Data: the TFDS dataset 'ucf101_local/split1_rgb128' (docs on preparing the data);
--data_dir points at it.

The official lists have no validation split: the plateau rule watches the
dataset's 'validation' split, whole groups (gXX, clips sharing actor and
scene) of every class's official training list held out (about 10%;
kinetics_tf.data.splits.hold_out_validation), never the test split. The
paper gives no batch size, learning rate or weight decay (tuned on
validation, §4.4): these are our starting points.
"""

from kinetics_tf import constants
from kinetics_tf.training.config import Config


def get_config() -> Config:
  return Config(
      name='ucf101_c3d',
      dataset='ucf101_local/split1_rgb128',
      model='c3d',
      crop_size=constants.C3D_CROP,  # §4.4
      batch_size=30,
      base_lr=0.003,
      momentum=0.9,
      weight_decay=1e-4,
      max_steps=10_000,
      eval_every=500,
      eval_batches=20,
      checkpoint_every=500,
      patience=3,
      # Whole groups of the training list held out (datasets/ucf_hmdb).
      train_split='train',
      val_split='validation',
  )
