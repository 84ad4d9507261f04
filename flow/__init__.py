"""TV-L1 optical flow for Kinetics: frames in, uint8 (x, y) flow out.

This package is standalone: it imports nothing from ``kinetics_tf`` so that a
cluster worker can install and run it alone.  Its modules:

* ``flow.constants``: every number and default of the flow tool (25 fps,
  shorter side 340, the [-20, 20] px bound, JPEG quality, chunk, backend).
* ``flow.decoding``: the project's one video decoder (PyAV or OpenCV's
  FFmpeg capture; 25 fps, shorter side resized); ``kinetics_tf`` imports it
  from here, so the library and the flow tool decode every clip the same way.
* ``flow.backends``: the TV-L1 backends' parameters and which one runs;
  ``flow.tvl1`` (OpenCV) and ``flow.tvl1_tf`` (TensorFlow/XLA) compute it.
* ``flow.tvl1``: ``quantised_chunks`` / ``quantised_flow``, the one way from
  grayscale frames to the stored uint8 flow, used by the extractor, the
  dataset builders and predict.
* ``flow.prepare``, ``flow.prepare_run``, ``flow.storage``: the preparation
  stage (each clip decoded, JPEG-encoded and its TV-L1 computed once, into
  one file written atomically), its bounded worker pool, and the file
  systems it reaches (local, or any of ``tf.io.gfile``'s); ``flow.beam``
  runs it on Beam, ``kinetics-tf prepare`` on a Kinetics copy.
* ``flow.inputs``, ``flow.outputs``, ``flow.jobs``: the extractor's videos,
  atomic outputs and per-video work; ``flow.extract`` and ``flow.beam`` are
  its binaries (``flow.app`` their flags and one-line errors).
"""

from flow.backends import choose_backend, pin_threads
from flow.constants import AUTO, BACKENDS, CHOICES, DEFAULT_BACKEND
from flow.tvl1 import (dequantize, quantised_chunks, quantised_flow, quantize,
                       tvl1)

__all__ = ['AUTO', 'BACKENDS', 'CHOICES', 'DEFAULT_BACKEND', 'choose_backend',
           'pin_threads', 'tvl1', 'quantize', 'dequantize', 'quantised_chunks',
           'quantised_flow']
