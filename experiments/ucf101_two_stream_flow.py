r"""Two-Stream, flow stream (ResNet-50, 10 flow frames = 20 channels) on
UCF-101 split 1. Table 4 row (b), UCF-101 split 1 Flow: 85.9 (RGB+Flow: 92.5).

  python -m kinetics_tf.train --experiment=ucf101_two_stream_flow \
      --model_dir=/tmp/ucf101_two_stream_flow \
      --imagenet_weights=/path/to/resnet50_notop.h5

Cost: 10k steps x 64 = 0.64M ResNet-50 examples at 299x299; at <2 ex/s on a
2-core CPU ~4 days: use a GPU (figures: benchmarks/models.py and
docs/BENCHMARKS.md).

Data: the TFDS dataset 'ucf101_local/split1' (docs on preparing the
data); --data_dir points at it.

Starts from ImageNet ResNet-50 weights (§4.4), a local Keras weight file
given by --imagenet_weights (the flow stream gets the cross-modality first-
conv kernel). The official lists have no validation split: the plateau rule
watches the dataset's 'validation' split, whole groups (gXX, clips sharing
actor and scene) of every class's official training list held out (about
10%; kinetics_tf.data.splits.hold_out_validation), never the test split. The
paper gives no batch size, learning rate or weight decay (tuned on
validation, §4.4): these are our starting points.
"""

from kinetics_tf import constants
from kinetics_tf.training.config import Config

# The Keras ResNet50 ImageNet file (Keras' cache name); --imagenet_weights
# overrides it.
IMAGENET_WEIGHTS = ('~/.keras/models/'
                    'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5')


def get_config() -> Config:
  return Config(
      name='ucf101_two_stream_flow',
      dataset='ucf101_local/split1',
      model='flow',
      crop_size=constants.RESNET_CROP,  # §4.4
      imagenet_weights=IMAGENET_WEIGHTS,
      batch_size=64,
      base_lr=0.01,
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
