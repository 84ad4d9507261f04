r"""ConvNet+LSTM (ResNet-50 + BN-LSTM 512) on HMDB-51 split 1. Table 4 row
(a), HMDB-51 split 1 RGB: 43.9.

  python -m kinetics_tf.train --experiment=hmdb51_convnet_lstm \
      --model_dir=/tmp/hmdb51_convnet_lstm \
      --imagenet_weights=/path/to/resnet50_notop.h5

Cost: 5k steps x 16 clips x 25 frames = 2M ResNet-50 frames at 299x299; at
<2 frames/s on a 2-core CPU ~12 days: use a GPU (figures:
benchmarks/models.py and docs/BENCHMARKS.md).

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
      name='hmdb51_convnet_lstm',
      dataset='hmdb51_local/split1_rgb',
      model='convnet_lstm',
      crop_size=constants.RESNET_CROP,  # §4.4
      imagenet_weights=IMAGENET_WEIGHTS,
      batch_size=16,
      base_lr=0.005,
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
