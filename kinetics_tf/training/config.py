"""The training configuration: one frozen dataclass, written out by experiments/."""

import dataclasses
from typing import Optional

from kinetics_tf import constants
from kinetics_tf import model_table

# Models the trainer builds: the rows of the model table, each trained on its
# own footprint (the two-stream net trains each stream alone, §4.4).
MODEL_NAMES = model_table.NAMES


@dataclasses.dataclass(frozen=True)
class Config:
  """Everything one training run needs; flags of kinetics_tf.train override it.

  Attributes:
    name: the experiment's name (the module in experiments/).
    dataset: TFDS name with its config, e.g. 'synthetic_actions/tiny'.
    model: a name of ``model_table.MODELS``: 'rgb' | 'flow' (the ResNet-50
      streams), 'convnet_lstm' or 'c3d'; its row gives the constructor and
      the training footprint.
    model_kwargs: extra constructor arguments (width_multiplier, ...).
    crop_size: side of the random crop (§4.4: 299 ResNet-50, 112 C3D).
    num_frames, stride: footprint override (None: the row's footprint).
    imagenet_weights: path of the Keras ResNet-50 ImageNet weight file to
      initialise from (UCF-101 / HMDB-51 rows of Table 4), or None.  Inputs
      stay in [-1, 1]; the model then maps them to the weights' convention
      itself (``imagenet_preprocessing=True`` of kinetics_tf.models).
    num_classes: classifier outputs (None: the dataset's label count).
    batch_size: global batch size (split over replicas).
    base_lr, momentum, weight_decay: SGD with momentum; L2 weight decay on
      kernels (§4.4: tuned on the validation set; the paper gives no values).
    patience: validations without a lower validation loss before LR x0.1.
    max_steps: training steps (§4.4: up to 100k).
    eval_every: steps between validations; eval_batches: batches per one.
    checkpoint_every: steps between checkpoints; log_every: progress lines.
    shuffle_buffer: examples in the shuffle buffer.
    train_split, val_split: TFDS split names.
    data_dir: TFDS data_dir (None: the TFDS default).
    seed: seed of the input pipeline and the initialisation.
    deterministic: reproducible input order and augmentation.
  """
  name: str
  dataset: str
  model: str
  crop_size: int
  batch_size: int
  base_lr: float
  max_steps: int
  model_kwargs: dict = dataclasses.field(default_factory=dict)
  num_frames: Optional[int] = None
  stride: Optional[int] = None
  imagenet_weights: Optional[str] = None
  num_classes: Optional[int] = None
  momentum: float = 0.9
  weight_decay: float = 1e-4
  patience: int = 3
  eval_every: int = 1000
  eval_batches: int = 50
  checkpoint_every: int = 1000
  log_every: int = 100
  shuffle_buffer: int = 1024
  train_split: str = 'train'
  val_split: str = 'validation'
  data_dir: Optional[str] = None
  seed: int = 0
  deterministic: bool = False

  def __post_init__(self):
    _check(self)

  @property
  def footprint(self) -> constants.Footprint:
    """The training footprint, with num_frames / stride overrides applied."""
    base = model_table.MODELS[self.model].train_footprint
    return dataclasses.replace(
        base, num_frames=self.num_frames or base.num_frames,
        stride=self.stride or base.stride)

  def replace(self, **changes) -> 'Config':
    """A copy with ``changes`` (validated again)."""
    return dataclasses.replace(self, **changes)


def _check(cfg: Config) -> None:
  """Raises ValueError naming the field, its value and what is allowed."""
  where = f'experiment {cfg.name!r}'
  if cfg.model not in MODEL_NAMES:
    raise ValueError(f'{where}: model={cfg.model!r}; use one of {MODEL_NAMES}')
  positive = ('crop_size', 'batch_size', 'max_steps', 'patience', 'eval_every',
              'eval_batches', 'checkpoint_every', 'log_every', 'shuffle_buffer')
  for field in positive:
    value = getattr(cfg, field)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise ValueError(f'{where}: {field}={value!r}; use an integer >= 1')
  for field in ('num_frames', 'stride', 'num_classes'):
    value = getattr(cfg, field)
    if value is not None and (not isinstance(value, int) or value < 1):
      raise ValueError(f'{where}: {field}={value!r}; use None or an int >= 1')
  if not cfg.base_lr > 0:
    raise ValueError(f'{where}: base_lr={cfg.base_lr!r}; use a number > 0')
  if not 0 <= cfg.momentum < 1:
    raise ValueError(f'{where}: momentum={cfg.momentum!r}; use [0, 1)')
  if not cfg.weight_decay >= 0:
    raise ValueError(f'{where}: weight_decay={cfg.weight_decay!r}; use >= 0')
  if cfg.imagenet_weights and not model_table.MODELS[cfg.model].imagenet_init:
    raise ValueError(f'{where}: imagenet_weights is for the ResNet-50 models; '
                     f'{cfg.model!r} trains from scratch (§4: the 3D ConvNet '
                     'trains from scratch)')
  if '/' not in cfg.dataset:
    raise ValueError(f'{where}: dataset={cfg.dataset!r}; give the TFDS name '
                     'with its config, e.g. "synthetic_actions/tiny"')
