"""Two-Stream network (§4.2): RGB and flow ResNet-50s, softmax scores averaged.

Each stream is a ``ResNet50Classifier`` trained on its own (``rgb_stream`` /
``flow_stream`` build them). ``TwoStream`` holds one of each and returns the
average of their softmax scores: PROBABILITIES, not logits.
"""

import keras
from keras import layers

from kinetics_tf import constants
from kinetics_tf.models import common
from kinetics_tf.models import resnet50


def rgb_stream(num_classes=constants.NUM_CLASSES,
               input_size=constants.RESNET_CROP, width_multiplier=1.0,
               **kwargs) -> resnet50.ResNet50Classifier:
  """The RGB stream: ResNet-50 on one [B, H, W, 3] frame, returns logits."""
  return resnet50.ResNet50Classifier(
      num_classes=num_classes, input_size=input_size, channels=3,
      width_multiplier=width_multiplier, **kwargs)


def flow_stream(num_classes=constants.NUM_CLASSES,
                input_size=constants.RESNET_CROP, width_multiplier=1.0,
                flow_stack=constants.FLOW_STACK,
                **kwargs) -> resnet50.ResNet50Classifier:
  """The flow stream: ResNet-50 on [B, H, W, 2 * flow_stack] (x, y per frame).

  Returns logits. ``flow_stack`` frames of flow (10 in §4.2) give 20 input
  channels.
  """
  common.check_positive_int('flow_stream', 'flow_stack', flow_stack)
  return resnet50.ResNet50Classifier(
      num_classes=num_classes, input_size=input_size, channels=2 * flow_stack,
      width_multiplier=width_multiplier, **kwargs)


@keras.saving.register_keras_serializable(package=common.PACKAGE)
class TwoStream(common.EndpointsMixin, keras.Model):
  """RGB + flow streams with late fusion by averaged softmax (§4.2, Table 3).

  Input: a dict {'rgb': [B, H, W, 3], 'flow': [B, H, W, 2 * flow_stack]}, both
  in [-1, 1]. Output: PROBABILITIES [B, num_classes], the mean of the two
  streams' softmax scores. Endpoints (``endpoint_model``): 'rgb_logits',
  'flow_logits', 'rgb_probabilities', 'flow_probabilities', 'probabilities';
  each stream's own endpoints (e.g. its 2048-d 'features') come from
  ``model.rgb_stream.endpoint_model(...)``.

  The streams are nested models named 'rgb_stream' and 'flow_stream'
  (``model.rgb_stream``, ``model.flow_stream``); ``TwoStream.from_streams``
  fuses two separately trained streams. Defaults: 48.9M parameters for both
  streams together (Table 3: 48M).
  """

  def __init__(self, num_classes=constants.NUM_CLASSES,
               input_size=constants.RESNET_CROP, width_multiplier=1.0,
               flow_stack=constants.FLOW_STACK, dropout=0.0,
               imagenet_preprocessing=False,
               blocks_per_stage=resnet50.BLOCKS_PER_STAGE, name='two_stream',
               **kwargs):
    """Builds both streams and the fusion; arguments as ResNet50Classifier's.

    Raises:
      ValueError: an argument is out of range (the message says what is
        allowed).
    """
    stream_args = dict(num_classes=num_classes, input_size=input_size,
                       width_multiplier=width_multiplier, dropout=dropout,
                       imagenet_preprocessing=imagenet_preprocessing,
                       blocks_per_stage=blocks_per_stage)
    rgb = rgb_stream(name='rgb_stream', **stream_args)
    flow = flow_stream(flow_stack=flow_stack, name='flow_stream',
                       **stream_args)
    # === Functional Model ===
    inputs = {'rgb': keras.Input(rgb.input.shape[1:], name='rgb'),
              'flow': keras.Input(flow.input.shape[1:], name='flow')}
    ends = {}
    for key, stream in (('rgb', rgb), ('flow', flow)):
      ends[f'{key}_logits'] = stream(inputs[key])
      ends[f'{key}_probabilities'] = layers.Softmax(
          name=f'{key}_probabilities')(ends[f'{key}_logits'])
    ends['probabilities'] = common.MeanOf(name='probabilities')(
        [ends['rgb_probabilities'], ends['flow_probabilities']])
    super().__init__(inputs=inputs, outputs=ends['probabilities'], name=name,
                     **kwargs)
    self._endpoint_tensors = ends
    # === Config ===
    self.num_classes = num_classes
    self.input_size = input_size
    self.width_multiplier = width_multiplier
    self.flow_stack = flow_stack
    self.dropout = dropout
    self.imagenet_preprocessing = imagenet_preprocessing
    self.blocks_per_stage = rgb.blocks_per_stage

  @property
  def rgb_stream(self) -> resnet50.ResNet50Classifier:
    return self.get_layer('rgb_stream')

  @property
  def flow_stream(self) -> resnet50.ResNet50Classifier:
    return self.get_layer('flow_stream')

  @classmethod
  def from_streams(cls, rgb, flow, name='two_stream'):
    """Fuses two trained ResNet50Classifier streams (weights are copied).

    Raises:
      ValueError: the streams are not an RGB and a flow ResNet50Classifier
        of the same num_classes, input_size and width.
    """
    keys = ('num_classes', 'input_size', 'width_multiplier',
            'blocks_per_stage')
    if (not isinstance(rgb, resnet50.ResNet50Classifier) or
        not isinstance(flow, resnet50.ResNet50Classifier) or
        rgb.channels != 3 or flow.channels == 3 or
        any(getattr(rgb, k) != getattr(flow, k) for k in keys)):
      raise ValueError(
          'TwoStream.from_streams: expected an RGB (3-channel) and a flow '
          'ResNet50Classifier with equal num_classes, input_size, '
          f'width_multiplier and blocks_per_stage; got {rgb.name} and '
          f'{flow.name}.')
    model = cls(num_classes=rgb.num_classes, input_size=rgb.input_size,
                width_multiplier=rgb.width_multiplier,
                flow_stack=flow.channels // 2, dropout=rgb.dropout,
                imagenet_preprocessing=rgb.imagenet_preprocessing,
                blocks_per_stage=rgb.blocks_per_stage, name=name)
    model.rgb_stream.set_weights(rgb.get_weights())
    model.flow_stream.set_weights(flow.get_weights())
    return model

  def get_config(self):
    return {
        'name': self.name,
        'num_classes': self.num_classes,
        'input_size': self.input_size,
        'width_multiplier': self.width_multiplier,
        'flow_stack': self.flow_stack,
        'dropout': self.dropout,
        'imagenet_preprocessing': self.imagenet_preprocessing,
        'blocks_per_stage': list(self.blocks_per_stage),
    }

  @classmethod
  def from_config(cls, config):
    return cls(**config)
