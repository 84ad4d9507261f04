"""Every number and default of the flow tool, in one place (the library
imports them from here: ``flow/`` imports nothing from ``kinetics_tf``).

Kay et al. 2017, "The Kinetics Human Action Video Dataset", section 4.4, and
SPEC.md (Preprocessing).
"""

# §4.4: "We also resample the videos so they have 25 frames per second."
FPS = 25

# §4.4 / SPEC.md: the ResNet-50 streams (the flow stream among them) are fed
# 299x299 crops of frames whose shorter side is 340 px; flow is computed after
# resizing, so the extractor resizes to this unless told otherwise.
SHORT_SIDE = 340

# SPEC.md (Preprocessing): TV-L1 flow truncated to [-20, 20] px and stored
# quantised to uint8, 0..255 linear over [-20, 20] (DeepMind's I3D convention).
FLOW_BOUND = 20.0

# JPEG quality of flow stored as x/y grayscale JPEG images (the extractor's
# 'jpeg' format, the builders' 'jpeg' flow layout): the convention of
# DeepMind's I3D, MediaPipe's and denseflow's flow.
FLOW_JPEG_QUALITY = 95

# JPEG quality of the stored RGB frames (the dataset builders' and the
# preparation stage's; cv2's and TF's default).
FRAME_JPEG_QUALITY = 95

# Frame pairs per TV-L1 call of flow.quantised_chunks: bounds the float32
# flow held at once (16 pairs of 604x340 are 26 MB); pairs are independent,
# so the chunk changes no value.
FLOW_CHUNK = 16

# The TV-L1 backends: 'opencv' (cv2.optflow.DualTVL1OpticalFlow, the paper's)
# and 'tf' (flow.tvl1_tf, OpenCV's algorithm in TensorFlow/XLA).
BACKENDS = ('opencv', 'tf')
AUTO = 'auto'  # flow.backends.choose_backend picks one of BACKENDS.
CHOICES = BACKENDS + (AUTO,)  # What a backend flag or argument accepts.
# The backend of the extractor, the dataset builders and predict: 'auto'
# measured faster on CPUs at every frame size of the datasets
# (benchmarks/flow_tf.py, docs/BENCHMARKS.md).
DEFAULT_BACKEND = AUTO
