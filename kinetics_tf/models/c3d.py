"""3D ConvNet (§4.3): C3D (Tran et al. 2015) with batch norm, pool1 stride 2.

8 conv3d layers (3x3x3; 64, 128, 256, 256, 512, 512, 512, 512), 5 max-pools,
2 fully connected layers of 4096 with dropout and a classifier; batch norm
after every conv and FC layer. Differences from the original C3D, as the
paper states: batch norm, and pool1 is 2x2x2 (stride 2 in time) instead of
1x2x2.

Pools use 'same' padding (Caffe's ceil rounding, as in the original C3D, whose
pool5 maps 2x7x7 to 1x4x4). On 16x112x112 inputs the feature maps go
8x56x56 -> 4x28x28 -> 2x14x14 -> 1x7x7 -> 1x4x4, so fc6 sees 4*4*512 = 8192
values and the model has 79.7M parameters (Table 3: 79M). With 'valid'
pooling fc6 would see 3*3*512 = 4608 values and the model would have 65M,
18% below the paper, so 'same' is the variant the paper's count implies.
"""

import keras
from keras import layers

from kinetics_tf import constants
from kinetics_tf.models import common

# (name, filters) of the conv layers, and after which conv each pool comes.
CONVS = (('conv1a', 64), ('conv2a', 128), ('conv3a', 256), ('conv3b', 256),
         ('conv4a', 512), ('conv4b', 512), ('conv5a', 512), ('conv5b', 512))
POOL_AFTER = {'conv1a': 'pool1', 'conv2a': 'pool2', 'conv3b': 'pool3',
              'conv4b': 'pool4', 'conv5b': 'pool5'}
FC_UNITS = 4096
# 5 pools halve the frame side: below 32 px the last ones see only padding.
MIN_INPUT_SIZE = 32
# pool1-pool4 halve time (pool1's stride 2, §4.3): 16 frames reach pool5 as 1.
MIN_NUM_FRAMES = 16

ENDPOINTS = ('conv1a', 'pool1', 'pool2', 'pool3', 'pool4', 'pool5', 'fc6',
             'fc7', 'features', 'logits')


def _conv_bn_relu(x, filters, name):
  x = layers.Conv3D(filters, 3, padding='same', use_bias=False,
                    name=name)(x)
  x = layers.BatchNormalization(name=f'{name}_bn')(x)
  return layers.Activation('relu', name=f'{name}_relu')(x)


def _fc_bn_relu(x, units, name):
  x = layers.Dense(units, use_bias=False, name=name)(x)
  x = layers.BatchNormalization(name=f'{name}_bn')(x)
  return layers.Activation('relu', name=f'{name}_relu')(x)


@keras.saving.register_keras_serializable(package=common.PACKAGE)
class C3D(common.EndpointsMixin, keras.Model):
  """C3D with batch norm (§4.3, Table 3) on 16-frame clips.

  Input: float RGB [B, num_frames, input_size, input_size, 3] in [-1, 1]
  (16x112x112 in the paper). Output: LOGITS [B, num_classes]. Endpoints
  (``endpoint_model``): see ENDPOINTS; 'fc6' and 'fc7' are the FC outputs
  after batch norm and ReLU (before dropout), 'features' = 'fc7'.
  """

  def __init__(self, num_classes=constants.NUM_CLASSES,
               input_size=constants.C3D_CROP,
               num_frames=constants.TRAIN_FOOTPRINTS['c3d'].num_frames,
               width_multiplier=1.0, dropout=0.5, name='c3d', **kwargs):
    """Builds the model.

    Args:
      num_classes: classifier outputs.
      input_size: square frame side in pixels (>= 32; 112 in §4.4).
      num_frames: frames per clip (>= 16; 16 in Table 3).
      width_multiplier: scales every conv's filters and the FC widths.
      dropout: dropout rate after fc6 and fc7 (C3D: 0.5).
      name: model name.
      **kwargs: passed to keras.Model.

    Raises:
      ValueError: an argument is out of range (the message says what is
        allowed).
    """
    cls = type(self).__name__
    common.check_positive_int(cls, 'num_classes', num_classes)
    common.check_input_size(cls, 'input_size', input_size, MIN_INPUT_SIZE,
                            '5 max-pools halve each frame')
    common.check_input_size(cls, 'num_frames', num_frames, MIN_NUM_FRAMES,
                            'pool1-pool4 halve time')
    common.check_width(cls, width_multiplier)
    common.check_dropout(cls, dropout)
    # === Functional Model ===
    clips = keras.Input((num_frames, input_size, input_size, 3), name='rgb')
    ends, x = {}, clips
    for conv, filters in CONVS:
      x = _conv_bn_relu(x, common.scaled(filters, width_multiplier), conv)
      ends[conv] = x
      pool = POOL_AFTER.get(conv)
      if pool:
        ends[pool] = x = layers.MaxPooling3D(2, strides=2, padding='same',
                                             name=pool)(x)
    x = layers.Flatten(name='flatten')(x)
    fc_units = common.scaled(FC_UNITS, width_multiplier)
    for fc in ('fc6', 'fc7'):
      x = _fc_bn_relu(x, fc_units, fc)
      ends[fc] = x
      if dropout:
        x = layers.Dropout(dropout, name=f'{fc}_dropout')(x)
    ends['features'] = ends['fc7']
    ends['logits'] = layers.Dense(num_classes, name='logits')(x)
    ends = {k: ends[k] for k in ENDPOINTS}
    super().__init__(inputs=clips, outputs=ends['logits'], name=name,
                     **kwargs)
    self._endpoint_tensors = ends
    # === Config ===
    self.num_classes = num_classes
    self.input_size = input_size
    self.num_frames = num_frames
    self.width_multiplier = width_multiplier
    self.dropout = dropout

  def get_config(self):
    return {
        'name': self.name,
        'num_classes': self.num_classes,
        'input_size': self.input_size,
        'num_frames': self.num_frames,
        'width_multiplier': self.width_multiplier,
        'dropout': self.dropout,
    }

  @classmethod
  def from_config(cls, config):
    return cls(**config)
