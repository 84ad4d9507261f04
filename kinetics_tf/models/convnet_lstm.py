"""ConvNet+LSTM (§4.1): per-frame ResNet-50, batch-normalised LSTM, classifier.

Frames are folded into the batch for the ResNet ([B, T, ...] -> [B*T, ...]),
so one copy of the network runs on all frames; the LSTM (512 units) runs over
the 2048-d pooled features, a Dense layer classifies every step, and the
prediction is the last step's.
"""

import keras
from keras import layers

from kinetics_tf import constants
from kinetics_tf.models import bn_lstm
from kinetics_tf.models import common
from kinetics_tf.models import resnet50

ENDPOINTS = ('frame_features', 'step_features', 'step_logits', 'features',
             'logits')


@keras.saving.register_keras_serializable(package=common.PACKAGE)
class ConvNetLSTM(common.EndpointsMixin, keras.Model):
  """ResNet-50 + batch-normalised LSTM + per-step classifier (§4.1, Table 3).

  Input: float RGB [B, T, input_size, input_size, 3] in [-1, 1]; T is free
  (25 frames when training, 50 at test, Table 3) unless ``num_frames`` fixes
  it. Output: LOGITS of the last step, [B, num_classes].

  Endpoints (``endpoint_model``): 'frame_features' [B, T, 2048] (ResNet
  pooled features), 'step_features' [B, T, 512] (LSTM outputs),
  'step_logits' [B, T, num_classes], 'features' [B, 512] (last LSTM output),
  'logits'. Widths scale with width_multiplier.

  The ResNet layers carry keras.applications' names, so
  ``imagenet.load_imagenet_weights`` initialises them. 29.3M parameters with
  the defaults (Table 3: 29M).
  """

  def __init__(self, num_classes=constants.NUM_CLASSES,
               input_size=constants.RESNET_CROP, num_frames=None,
               width_multiplier=1.0, lstm_units=constants.LSTM_UNITS,
               max_steps=bn_lstm.MAX_STEPS, dropout=0.0,
               imagenet_preprocessing=False,
               blocks_per_stage=resnet50.BLOCKS_PER_STAGE, name='convnet_lstm',
               **kwargs):
    """Builds the model.

    Args:
      num_classes: classifier outputs.
      input_size: square frame side in pixels (>= 32), or None for any size.
      num_frames: frames per clip, or None (default) for any number.
      width_multiplier: scales the ResNet's channels and the LSTM's units.
      lstm_units: LSTM units at width 1 (512, §4.1).
      max_steps: steps with their own batch-norm statistics in the LSTM.
      dropout: dropout rate before the classifier (0 = none).
      imagenet_preprocessing: map [-1, 1] inputs to the Caffe convention of
        the Keras ImageNet weights inside the model.
      blocks_per_stage: ResNet bottleneck blocks per stage ((3, 4, 6, 3) is
        ResNet-50; fewer make cheap test models).
      name: model name.
      **kwargs: passed to keras.Model.

    Raises:
      ValueError: an argument is out of range (the message says what is
        allowed).
    """
    cls = type(self).__name__
    common.check_positive_int(cls, 'num_classes', num_classes)
    common.check_input_size(cls, 'input_size', input_size,
                            resnet50.MIN_INPUT_SIZE,
                            'ResNet-50 halves each frame 5 times',
                            allow_none=True)
    if num_frames is not None:
      common.check_positive_int(cls, 'num_frames', num_frames)
    common.check_width(cls, width_multiplier)
    common.check_positive_int(cls, 'lstm_units', lstm_units)
    common.check_positive_int(cls, 'max_steps', max_steps)
    common.check_dropout(cls, dropout)
    blocks_per_stage = resnet50.check_blocks(cls, blocks_per_stage)
    # === Functional Model ===
    frames = keras.Input((num_frames, input_size, input_size, 3), name='rgb')
    x = common.FoldTime(name='fold_time')(frames)
    if imagenet_preprocessing:
      x = resnet50.UnitToCaffe(name='to_caffe')(x)
    x = resnet50.apply_backbone(x, width_multiplier,
                                blocks_per_stage)['features']
    ends = {'frame_features': common.UnfoldTime(name='unfold_time')(
        [x, frames])}
    ends['step_features'] = x = bn_lstm.BNLSTM(
        common.scaled(lstm_units, width_multiplier), max_steps=max_steps,
        name='bn_lstm')(ends['frame_features'])
    if dropout:
      x = layers.Dropout(dropout, name='dropout')(x)
    ends['step_logits'] = x = layers.Dense(num_classes, name='step_logits')(x)
    ends['features'] = common.LastStep(name='last_features')(
        ends['step_features'])
    ends['logits'] = common.LastStep(name='logits')(x)
    super().__init__(inputs=frames, outputs=ends['logits'], name=name,
                     **kwargs)
    self._endpoint_tensors = ends
    # === Config ===
    self.num_classes = num_classes
    self.input_size = input_size
    self.num_frames = num_frames
    self.width_multiplier = width_multiplier
    self.lstm_units = lstm_units
    self.max_steps = max_steps
    self.dropout = dropout
    self.imagenet_preprocessing = imagenet_preprocessing
    self.blocks_per_stage = blocks_per_stage

  def get_config(self):
    return {
        'name': self.name,
        'num_classes': self.num_classes,
        'input_size': self.input_size,
        'num_frames': self.num_frames,
        'width_multiplier': self.width_multiplier,
        'lstm_units': self.lstm_units,
        'max_steps': self.max_steps,
        'dropout': self.dropout,
        'imagenet_preprocessing': self.imagenet_preprocessing,
        'blocks_per_stage': list(self.blocks_per_stage),
    }

  @classmethod
  def from_config(cls, config):
    return cls(**config)
