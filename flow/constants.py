"""Numbers of the paper that the flow tool needs (the library re-exports them).

Kay et al. 2017, "The Kinetics Human Action Video Dataset", section 4.4.
"""

# §4.4: "We also resample the videos so they have 25 frames per second."
FPS = 25

# SPEC.md (Preprocessing): TV-L1 flow truncated to [-20, 20] px and stored
# quantised to uint8, 0..255 linear over [-20, 20] (DeepMind's I3D convention).
FLOW_BOUND = 20.0
