"""ResNet-50 (He et al. 2016) on an RGB frame or a stack of flow frames (§4.2).

The backbone mirrors ``keras.applications.ResNet50`` layer by layer, with the
same layer names, so the Keras ImageNet weight file loads by name (see
``kinetics_tf.models.imagenet``). The classifier returns logits.
"""

import keras
from keras import layers
from keras import ops

from kinetics_tf import constants
from kinetics_tf.models import common

# ResNet-50: bottleneck blocks per stage, and the stages' bottleneck widths.
BLOCKS_PER_STAGE = (3, 4, 6, 3)
STAGE_FILTERS = (64, 128, 256, 512)
# The network halves the image 5 times (conv1, pool1, conv3-5): an input
# smaller than 32 px would be reduced to nothing but padding.
MIN_INPUT_SIZE = 32
# keras.applications.ResNet50's batch-norm epsilon (kept for its weights).
BN_EPSILON = 1.001e-5
# The Caffe convention the Keras ImageNet weights were trained with: BGR,
# 0..255, minus these per-channel means (keras.applications.resnet50).
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)

ENDPOINTS = ('conv1', 'pool1', 'conv2', 'conv3', 'conv4', 'conv5',
             'features', 'logits')


def check_blocks(model: str, blocks_per_stage) -> tuple:
  """blocks_per_stage as a tuple of 4 positive ints, else ValueError."""
  blocks = tuple(blocks_per_stage) if isinstance(
      blocks_per_stage, (list, tuple)) else ()
  if len(blocks) != 4 or any(
      isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in blocks):
    raise ValueError(
        f'{model}: blocks_per_stage={blocks_per_stage!r} is not allowed; use 4 '
        f'positive integers ({BLOCKS_PER_STAGE} is ResNet-50).')
  return blocks


def check_channels(model: str, channels) -> None:
  """Raises ValueError unless channels is 3 (RGB) or even (x, y flow pairs)."""
  if (isinstance(channels, bool) or not isinstance(channels, int) or
      channels < 2 or (channels != 3 and channels % 2)):
    raise ValueError(
        f'{model}: channels={channels!r} is not allowed; use 3 for RGB frames '
        f'or an even number for a stack of (x, y) flow frames '
        f'({constants.FLOW_CHANNELS} = {constants.FLOW_STACK} frames, §4.2).')


@keras.saving.register_keras_serializable(package=common.PACKAGE)
class UnitToCaffe(layers.Layer):
  """Maps inputs in [-1, 1] to the Caffe convention of Keras' ImageNet weights.

  RGB (3 channels): to 0..255, RGB -> BGR, minus CAFFE_BGR_MEAN. Flow (even
  channel count): scaled by 127.5, so it spans the range centred pixels span.
  """

  def call(self, x):
    x = x * 127.5
    if x.shape[-1] != 3:
      return x
    bgr = ops.flip(x + 127.5, axis=-1)
    return bgr - ops.convert_to_tensor(CAFFE_BGR_MEAN, dtype=x.dtype)


def _conv_bn(x, filters, kernel, stride, name, relu=True, padding='valid'):
  x = layers.Conv2D(filters, kernel, strides=stride, padding=padding,
                    name=f'{name}_conv')(x)
  x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f'{name}_bn')(x)
  if relu:
    x = layers.Activation('relu', name=f'{name}_relu')(x)
  return x


def apply_bottleneck_block(x, filters, stride, conv_shortcut, name):
  """One bottleneck block (1x1, 3x3, 1x1 convs + shortcut), Keras v1 layout."""
  if conv_shortcut:
    shortcut = _conv_bn(x, 4 * filters, 1, stride, f'{name}_0', relu=False)
  else:
    shortcut = x
  x = _conv_bn(x, filters, 1, stride, f'{name}_1')
  x = _conv_bn(x, filters, 3, 1, f'{name}_2', padding='same')
  x = _conv_bn(x, 4 * filters, 1, 1, f'{name}_3', relu=False)
  x = layers.Add(name=f'{name}_add')([shortcut, x])
  return layers.Activation('relu', name=f'{name}_out')(x)


def apply_backbone(x, width_multiplier=1.0, blocks_per_stage=BLOCKS_PER_STAGE):
  """ResNet-50 from an image tensor to its pooled features.

  Args:
    x: a [B, H, W, C] tensor.
    width_multiplier: scales every layer's channel count.
    blocks_per_stage: bottleneck blocks in stages conv2..conv5 ((3, 4, 6, 3)
      is ResNet-50; fewer make cheap test models).

  Returns:
    A dict of endpoint tensors: 'conv1', 'pool1', 'conv2'..'conv5' (stage
    outputs) and 'features' (global average pool, 2048 * width_multiplier).
  """
  ends = {}
  x = layers.ZeroPadding2D(3, name='conv1_pad')(x)
  ends['conv1'] = x = _conv_bn(x, common.scaled(64, width_multiplier), 7, 2,
                               'conv1')
  x = layers.ZeroPadding2D(1, name='pool1_pad')(x)
  ends['pool1'] = x = layers.MaxPooling2D(3, strides=2, name='pool1_pool')(x)
  for stage, (blocks, filters) in enumerate(
      zip(blocks_per_stage, STAGE_FILTERS), start=2):
    filters = common.scaled(filters, width_multiplier)
    for block in range(1, blocks + 1):
      stride = 2 if block == 1 and stage > 2 else 1
      x = apply_bottleneck_block(x, filters, stride, conv_shortcut=block == 1,
                                 name=f'conv{stage}_block{block}')
    ends[f'conv{stage}'] = x
  ends['features'] = layers.GlobalAveragePooling2D(name='avg_pool')(x)
  return ends


@keras.saving.register_keras_serializable(package=common.PACKAGE)
class ResNet50Classifier(common.EndpointsMixin, keras.Model):
  """ResNet-50 + Dense classifier on one RGB frame or one flow stack (§4.2).

  Input: float [B, input_size, input_size, channels] in [-1, 1] (RGB frame,
  or a stack of ``channels / 2`` flow frames, x then y for each). Output:
  LOGITS [B, num_classes]. Endpoints (``endpoint_model``): see ENDPOINTS;
  'features' is the 2048-d pooled vector (times width_multiplier).

  With the default arguments this is the paper's RGB stream (24.4M
  parameters); ``channels=20`` gives its flow stream.
  """

  def __init__(self, num_classes=constants.NUM_CLASSES,
               input_size=constants.RESNET_CROP, channels=3,
               width_multiplier=1.0, dropout=0.0,
               imagenet_preprocessing=False,
               blocks_per_stage=BLOCKS_PER_STAGE, name=None, **kwargs):
    """Builds the model.

    Args:
      num_classes: classifier outputs.
      input_size: square input side in pixels (>= 32), or None for any size.
      channels: 3 (RGB) or an even number (flow stack; 20 in the paper).
      width_multiplier: scales every channel count (1.0 = ResNet-50).
      dropout: dropout rate before the classifier (0 = none).
      imagenet_preprocessing: if True, inputs in [-1, 1] are mapped inside
        the model to the Caffe convention the Keras ImageNet weights expect
        (UnitToCaffe); use it with ``imagenet.load_imagenet_weights``.
      blocks_per_stage: bottleneck blocks per stage; the default is
        ResNet-50, fewer blocks make cheap test models.
      name: model name (default 'resnet50_rgb' / 'resnet50_flow').
      **kwargs: passed to keras.Model (e.g. dtype).

    Raises:
      ValueError: an argument is out of range (the message says what is
        allowed).
    """
    cls = type(self).__name__
    common.check_positive_int(cls, 'num_classes', num_classes)
    common.check_input_size(cls, 'input_size', input_size, MIN_INPUT_SIZE,
                            'it halves the image 5 times', allow_none=True)
    check_channels(cls, channels)
    common.check_width(cls, width_multiplier)
    common.check_dropout(cls, dropout)
    blocks_per_stage = check_blocks(cls, blocks_per_stage)
    stream = 'rgb' if channels == 3 else 'flow'
    # === Functional Model ===
    inputs = keras.Input((input_size, input_size, channels), name=stream)
    x = UnitToCaffe(name='to_caffe')(inputs) if imagenet_preprocessing \
        else inputs
    ends = apply_backbone(x, width_multiplier, blocks_per_stage)
    x = ends['features']
    if dropout:
      x = layers.Dropout(dropout, name='dropout')(x)
    ends['logits'] = layers.Dense(num_classes, name='logits')(x)
    super().__init__(inputs=inputs, outputs=ends['logits'],
                     name=name or f'resnet50_{stream}', **kwargs)
    self._endpoint_tensors = ends
    # === Config ===
    self.num_classes = num_classes
    self.input_size = input_size
    self.channels = channels
    self.width_multiplier = width_multiplier
    self.dropout = dropout
    self.imagenet_preprocessing = imagenet_preprocessing
    self.blocks_per_stage = blocks_per_stage

  def get_config(self):
    return {
        'name': self.name,
        'num_classes': self.num_classes,
        'input_size': self.input_size,
        'channels': self.channels,
        'width_multiplier': self.width_multiplier,
        'dropout': self.dropout,
        'imagenet_preprocessing': self.imagenet_preprocessing,
        'blocks_per_stage': list(self.blocks_per_stage),
    }

  @classmethod
  def from_config(cls, config):
    return cls(**config)
