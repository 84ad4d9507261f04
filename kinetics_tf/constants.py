"""Every number of the paper the library uses, defined once, with its source.

Kay et al. 2017, "The Kinetics Human Action Video Dataset"; section numbers
refer to that paper, and ``SPEC.md`` resolves its ambiguities.  Grep here for a
footprint, a crop size or the flow bound; everything else imports them.
"""

import dataclasses

# The numbers the flow tool needs too live in flow/ (standalone: it imports
# nothing from kinetics_tf); they are re-exported here.
from flow.constants import FLOW_BOUND, FPS, SHORT_SIDE  # noqa: F401

# Table 1 / Appendix A.
NUM_CLASSES = 400
TOTAL_CLIPS = 306_245

# §2, Table 2: clips per class in each split.
TRAIN_CLIPS_PER_CLASS = (250, 1000)
VAL_CLIPS_PER_CLASS = 50
TEST_CLIPS_PER_CLASS = 100

# §3.2: clips are [t - 5 s, t + 5 s] around a scored position.
CLIP_SECONDS = 10.0

# §4.4: frames resized so that a side is 340 px (ResNet-50 models) or 128 px
# (3D ConvNet).  SPEC.md: it is the *shorter* side, aspect ratio kept.
RESNET_SHORT_SIDE = SHORT_SIDE  # 340, defined in flow/constants.py
C3D_SHORT_SIDE = 128

# §4.4: random crops of 299x299 (ResNet-50) and 112x112 (3D ConvNet).
RESNET_CROP = 299
C3D_CROP = 112

# §4.2: a flow snapshot is a stack of 10 flow frames, x and y -> 20 channels.
FLOW_STACK = 10
FLOW_CHANNELS = 2 * FLOW_STACK

# Starts per record of the configs that store the train split as records
# (kinetics_tf.data.records).  A flow record holds its 20 starts' stacks:
# 29 fields, so a 10-field sample reads 2.9x the fields it uses and the
# split takes 29/20 = 1.45x the fields of whole clips; 20 is the stride that
# keeps both within the targets (3x, 1.5x) of docs/BENCHMARKS.md, "Training
# input".  Not a number of the paper: a storage choice.
TRAIN_RECORD_STRIDE = 20

# §4.1: the LSTM has 512 hidden units.
LSTM_UNITS = 512

# §4.4: up to 100k steps, LR x0.1 when validation loss saturates.
MAX_STEPS = 100_000
LR_DROP_FACTOR = 0.1

# §4.4: "we sample from up to 10 seconds of video" at test time.
TEST_SECONDS = 10.0


@dataclasses.dataclass(frozen=True)
class Footprint:
  """How many frames a model sees and how they are spaced (Table 3).

  Attributes:
    num_frames: frames (or flow stacks) fed to the model.
    stride: frame step between them at 25 fps (5 = every 5th frame).
    num_clips: snapshots per video (test time); 1 when training.
    clip_frames: consecutive frames per snapshot (16 for C3D, 10 for a
      flow stack, 1 for an RGB snapshot); 0 where not applicable.
  """
  num_frames: int
  stride: int = 1
  num_clips: int = 1
  clip_frames: int = 0

  @property
  def seconds(self) -> float:
    return self.num_frames * self.stride / FPS


# Table 3, training footprints (keyed by Table 3's models; each row of
# kinetics_tf.model_table references its own, and the code reads the row).
TRAIN_FOOTPRINTS = {
    # 25 RGB frames over 5 s: every 5th frame.
    'convnet_lstm': Footprint(num_frames=25, stride=5),
    # 1 RGB frame.
    'rgb': Footprint(num_frames=1, clip_frames=1),
    # 10 consecutive flow frames (0.4 s).
    'flow': Footprint(num_frames=10, clip_frames=FLOW_STACK),
    # 16 consecutive RGB frames (0.64 s).
    'c3d': Footprint(num_frames=16, clip_frames=16),
}

# Table 3, test footprints.
TEST_FOOTPRINTS = {
    # 50 RGB frames over 10 s (every 5th frame); prediction at the last.
    'convnet_lstm': Footprint(num_frames=50, stride=5),
    # 25 RGB snapshots spread over 10 s.
    'rgb': Footprint(num_frames=25, num_clips=25, clip_frames=1),
    # 25 stacks of 10 flow frames (250 flow frames) over 10 s.
    'flow': Footprint(num_frames=250, num_clips=25, clip_frames=FLOW_STACK),
    # 240 frames (9.6 s) as 15 non-overlapping 16-frame clips.
    'c3d': Footprint(num_frames=240, num_clips=15, clip_frames=16),
}

# Table 3: parameter counts of the paper's models (Table 3, "#Params").
PAPER_PARAMS = {
    'convnet_lstm': 29e6,
    'two_stream': 48e6,
    'c3d': 79e6,
}

# --- Dataset curation (§3) -------------------------------------------------
# §3.2: clips are cut around the top k image-classifier responses, k = 2.
CANDIDATE_TOP_K = 2
# §3.3: a clip needs at least 3 positive responses; each clip is annotated at
# most 5 times, and annotation stops once one response has more than 2 votes.
CONSENSUS_MIN_YES = 3
CONSENSUS_STOP_VOTES = 2
MAX_ANNOTATIONS = 5
# §3.3: tasks of 20 clips, 2 of them gold; warn a worker under 50%.
TASK_SIZE = 20
GOLD_PER_TASK = 2
WORKER_MIN_ACCURACY = 0.5
# §3.3: class accuracy measured after 20 annotated clips, threshold ~50%.
CLASS_YIELD_MIN_CLIPS = 20
CLASS_YIELD_THRESHOLD = 0.5
# §3.4: de-duplication embeds 25 uniformly sampled 224x224 centre crops and
# links clips whose cosine similarity exceeds 0.97.
DEDUP_FRAMES = 25
DEDUP_CROP = 224
DEDUP_THRESHOLD = 0.97
