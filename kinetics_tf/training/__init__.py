"""Helpers of the training binary: configs, the plateau rule, checkpoints, the loop."""
