"""One table of model facts: what the road needs to know of each model, one row a model.

The trainer (``kinetics_tf.training``), the config checks
(``training.config``), the input pipelines (``kinetics_tf.input``), dense
evaluation (``kinetics_tf.scoring``) and export (``kinetics_tf.release``)
read every fact of a model from its row of ``MODELS``: its constructor, the
example feature it reads and in which layout, its training footprint, its test
protocol, its serving input, the sizes of §4.4 and whether ImageNet weights
fit it.  A new model is its file under ``kinetics_tf/models/`` plus one row.

The paper's numbers (the footprints of Table 3, crops and shorter sides of
§4.4) stay in ``kinetics_tf.constants``; the rows reference them.

This module imports no Keras model code, so the input stage reads it without
building (or importing) a network: a row names its model class through a
function that imports ``kinetics_tf.models`` when a model is built or
recognised.

The two-stream network of §4.2 is not a row: its two streams, 'rgb' and
'flow', are rows trained on their own (§4.4), and ``TWO_STREAM`` names
their fusion at test time (``models.TwoStream``, the fused SavedModel).
"""

import dataclasses
import importlib
from typing import Any, Callable

from kinetics_tf import constants

# §4.4: "we sample from up to 10 seconds of video": 250 frames at 25 fps.
WINDOW_FRAMES = int(round(constants.TEST_SECONDS * constants.FPS))

# The fusion of the 'rgb' and 'flow' streams (§4.2): averaged softmax scores.
TWO_STREAM = 'two_stream'
FUSED_STREAMS = ('rgb', 'flow')

# The example features a model can read (kinetics_tf.datasets.features).
FEATURES = ('video', 'flow')
# What one training sample (and one test snapshot) of a model is:
#   'frame': one RGB frame [crop, crop, 3];
#   'clip':  consecutive (or strided) frames [T, crop, crop, 3];
#   'stack': T flow fields stacked on channels [crop, crop, 2T], as
#            [x0, y0, x1, y1, ...] (§4.2).
LAYOUTS = ('frame', 'clip', 'stack')
# The inputs of the serving signatures (kinetics_tf.release).
SERVING_INPUTS = ('frames', 'flow')


@dataclasses.dataclass(frozen=True)
class DenseSpec:
  """Where one model's test snapshots sit in a clip (``kinetics_tf.input.dense``).

  Attributes:
    num_clips: snapshots per video.
    clip_frames: frames (or flow fields) per snapshot.
    frame_stride: step between the frames of a snapshot.
    clip_step: step between the starts of consecutive snapshots.
    on_flow: indices address the T - 1 flow fields instead of the T frames.
    stack_fields: > 0 for the two streams: snapshot k starts at flow stack
      k of this many fields, placed inside the clip (``input.dense``).
  """
  num_clips: int
  clip_frames: int
  frame_stride: int = 1
  clip_step: int = 0
  on_flow: bool = False
  stack_fields: int = 0

  @property
  def span(self) -> int:
    """Frames the window covers: the temporal footprint of Table 3.

    For the two streams, the 25 stacks of 10 fields cover 250 fields, which
    251 frames give.
    """
    if self.stack_fields:
      return (self.num_clips - 1) * self.clip_step + self.stack_fields + 1
    return max(self.num_clips * self.clip_step, self.clip_frames * self.frame_stride)

  @property
  def frames_per_video(self) -> int:
    return self.num_clips * self.clip_frames


def sequence_protocol(footprint: constants.Footprint) -> DenseSpec:
  """One strided sequence over the window (ConvNet+LSTM: 50 frames, every 5th)."""
  return DenseSpec(num_clips=1, clip_frames=footprint.num_frames,
                   frame_stride=footprint.stride)


def clips_protocol(footprint: constants.Footprint) -> DenseSpec:
  """Non-overlapping clips (3D ConvNet: 15 clips of 16 frames, 240 frames)."""
  return DenseSpec(num_clips=footprint.num_clips,
                   clip_frames=footprint.clip_frames,
                   clip_step=footprint.clip_frames)


def stacks_protocol(footprint: constants.Footprint, on_flow: bool) -> DenseSpec:
  """Snapshots at the flow stacks spread over the 10 s window (two streams).

  §4.2: a snapshot is "a single RGB frame and a stack of 10 ... optical flow
  frames"; RGB frame k is the first frame of flow stack k.
  """
  return DenseSpec(num_clips=footprint.num_clips,
                   clip_frames=footprint.clip_frames,
                   clip_step=WINDOW_FRAMES // footprint.num_clips,
                   on_flow=on_flow, stack_fields=constants.FLOW_STACK)


def _models():
  """``kinetics_tf.models``, imported only when a model is built or recognised."""
  return importlib.import_module('kinetics_tf.models')


@dataclasses.dataclass(frozen=True)
class ModelRow:
  """Everything the road needs to know of one model.

  Attributes:
    name: the key, as experiments (``Config.model``), ``--model`` and the
      exported folders spell it.
    model_class: () -> the Keras model class (imported on call); the
      constructor, and how a loaded model is recognised.
    footprint_args: the training footprint -> the constructor arguments
      that depend on it (frames, or flow channels).
    feature: the example feature the model reads: 'video' or 'flow'.
    layout: one sample's shape, one of LAYOUTS.
    train_footprint: Table 3's training footprint.
    test_protocol: Table 3's test protocol (dense snapshots).
    serving_input: the input of its serving signature: 'frames' or 'flow'.
    crop: §4.4's crop side; short_side: §4.4's shorter side of the frames
      it is cropped from (their ratio sizes raw frames at serving time).
    imagenet_init: the model holds ResNet-50 layers that the Keras ImageNet
      weights initialise (UCF-101 / HMDB-51 rows of Table 4).
  """
  name: str
  model_class: Callable[[], type]
  footprint_args: Callable[[constants.Footprint], dict]
  feature: str
  layout: str
  train_footprint: constants.Footprint
  test_protocol: DenseSpec
  serving_input: str
  crop: int
  short_side: int
  imagenet_init: bool

  def __post_init__(self):
    for field, allowed in (('feature', FEATURES), ('layout', LAYOUTS),
                           ('serving_input', SERVING_INPUTS)):
      if getattr(self, field) not in allowed:
        raise ValueError(f'model row {self.name!r}: {field}='
                         f'{getattr(self, field)!r}; use one of {allowed}')

  def build(self, footprint: constants.Footprint | None = None, **kwargs):
    """The model for ``footprint`` (default: the training footprint).

    ``kwargs`` go to the constructor (num_classes, input_size, ...).
    """
    args = self.footprint_args(footprint or self.train_footprint)
    return self.model_class()(**{**args, **kwargs})

  def is_model(self, model) -> bool:
    """True when ``model`` is this row's class reading this row's feature.

    Rows sharing a class (the RGB and flow ResNet-50s) are told apart by the
    channels of the input: 3 are RGB frames, any other number flow.
    """
    if not isinstance(model, self.model_class()):
      return False
    return (model.input_shape[-1] == 3) == (self.feature == 'video')

  @property
  def tested_longer(self) -> bool:
    """A clip model tested on more frames than it trains on (Table 3:
    ConvNet+LSTM, 25 -> 50); its weights then serve a model of any length."""
    return (self.layout == 'clip' and
            self.test_protocol.clip_frames != self.train_footprint.num_frames)


def _num_frames(footprint: constants.Footprint) -> dict:
  return {'num_frames': footprint.num_frames}


_TRAIN, _TEST = constants.TRAIN_FOOTPRINTS, constants.TEST_FOOTPRINTS

# Name -> row.  Table 3's models: the two streams of the Two-Stream network
# (§4.2), ConvNet+LSTM (§4.1) and the 3D ConvNet (§4.3).
MODELS = {row.name: row for row in (
    ModelRow(
        name='rgb',
        model_class=lambda: _models().ResNet50Classifier,
        footprint_args=lambda footprint: {'channels': 3},
        feature='video', layout='frame',
        train_footprint=_TRAIN['rgb'],
        test_protocol=stacks_protocol(_TEST['rgb'], on_flow=False),
        serving_input='frames',
        crop=constants.RESNET_CROP, short_side=constants.RESNET_SHORT_SIDE,
        imagenet_init=True),
    ModelRow(
        name='flow',
        model_class=lambda: _models().ResNet50Classifier,
        # §4.2: a stack of 10 fields, x and y each -> 20 channels.
        footprint_args=lambda footprint: {'channels': 2 * footprint.num_frames},
        feature='flow', layout='stack',
        train_footprint=_TRAIN['flow'],
        test_protocol=stacks_protocol(_TEST['flow'], on_flow=True),
        serving_input='flow',
        crop=constants.RESNET_CROP, short_side=constants.RESNET_SHORT_SIDE,
        imagenet_init=True),
    ModelRow(
        name='convnet_lstm',
        model_class=lambda: _models().ConvNetLSTM,
        footprint_args=_num_frames,
        feature='video', layout='clip',
        train_footprint=_TRAIN['convnet_lstm'],
        test_protocol=sequence_protocol(_TEST['convnet_lstm']),
        serving_input='frames',
        crop=constants.RESNET_CROP, short_side=constants.RESNET_SHORT_SIDE,
        imagenet_init=True),
    ModelRow(
        name='c3d',
        model_class=lambda: _models().C3D,
        footprint_args=_num_frames,
        feature='video', layout='clip',
        train_footprint=_TRAIN['c3d'],
        test_protocol=clips_protocol(_TEST['c3d']),
        serving_input='frames',
        crop=constants.C3D_CROP, short_side=constants.C3D_SHORT_SIDE,
        # §4: the 3D ConvNet has no ImageNet counterpart; it trains from
        # scratch.
        imagenet_init=False),
)}

NAMES = tuple(MODELS)


def row(name: Any, what: str = 'model') -> ModelRow:
  """The row of model ``name``.

  Raises:
    ValueError: no row has that name (the message lists the names).
  """
  if name not in MODELS:
    raise ValueError(f'unknown {what} {name!r}; use one of {NAMES} '
                     '(kinetics_tf.model_table.MODELS)')
  return MODELS[name]
