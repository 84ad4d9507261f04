r"""Two-Stream, RGB stream (ResNet-50, 1 frame) on HMDB-51 split 1. Table 4
row (b), HMDB-51 split 1 RGB: 51.0 (RGB+Flow: 63.7).

  python -m kinetics_tf.train --experiment=hmdb51_two_stream_rgb \
      --model_dir=/tmp/hmdb51_two_stream_rgb \
      --imagenet_weights=/path/to/resnet50_notop.h5

Cost: 5k steps x 64 = 0.32M ResNet-50 examples at 299x299; at <2 ex/s on a
2-core CPU ~2 days: use a GPU (figures: benchmarks/models.py and
docs/BENCHMARKS.md).

Data: the TFDS dataset 'hmdb51_local/split1_rgb' (docs on preparing the data);
--data_dir points at it.

Starts from ImageNet ResNet-50 weights (§4.4), a local Keras weight file
given by --imagenet_weights. The official lists have no validation split:
the plateau rule watches the dataset's 'validation' split, all the clips of
a source video, whole, from every class's official training list held out
(about 10%; kinetics_tf.data.splits.hold_out_validation), never the test
split. The paper gives no batch size, learning rate or weight decay (tuned
on validation, §4.4): these are our starting points.
"""

from kinetics_tf import constants
from kinetics_tf.training.config import Config

# The Keras ResNet50 ImageNet file (Keras' cache name); --imagenet_weights
# overrides it.
IMAGENET_WEIGHTS = ('~/.keras/models/'
                    'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5')


def get_config() -> Config:
  return Config(
      name='hmdb51_two_stream_rgb',
      dataset='hmdb51_local/split1_rgb',
      model='rgb',
      crop_size=constants.RESNET_CROP,  # §4.4
      imagenet_weights=IMAGENET_WEIGHTS,
      batch_size=64,
      base_lr=0.01,
      momentum=0.9,
      weight_decay=1e-4,
      max_steps=5_000,
      eval_every=500,
      eval_batches=20,
      checkpoint_every=500,
      patience=3,
      # Whole groups of the training list held out (datasets/ucf_hmdb).
      train_split='train',
      val_split='validation',
  )
