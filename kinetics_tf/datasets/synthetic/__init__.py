"""The synthetic action set: classes told apart only by motion or only by appearance.

``CLASS_NAMES``, ``CLASS_FAMILY`` (name -> 'motion' | 'appearance') and
``render`` (one clip in memory) come from ``renderer.py``; the TFDS builder
'synthetic_actions' from ``synthetic_actions.py``.
"""

from kinetics_tf.datasets.synthetic.renderer import (  # noqa: F401
    APPEARANCE, APPEARANCES, CLASS_FAMILY, CLASS_NAMES, MOTION, MOTIONS,
    render)
from kinetics_tf.datasets.synthetic.synthetic_actions import (  # noqa: F401
    SYNTHETIC_TVL1, SyntheticActions, SyntheticActionsConfig, SyntheticSource,
    clip_arrays,
    split_jobs)
