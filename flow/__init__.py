"""TV-L1 optical flow for Kinetics: frames in, uint8 (x, y) flow out.

This package is standalone: it imports nothing from ``kinetics_tf`` so that a
cluster worker can install and run it alone.  It also owns the video decoding
conventions (25 fps, shorter side resized) in ``flow.video``, which
``kinetics_tf.data`` builds on, so that the library and the flow tool decode
every clip the same way without copying code.
"""

from flow.tvl1 import (AUTO, BACKENDS, CHOICES, choose_backend, dequantize,  # noqa: E402  (module re-export)
                       pin_threads, quantize, tvl1)

__all__ = ['AUTO', 'BACKENDS', 'CHOICES', 'choose_backend', 'pin_threads',
           'tvl1', 'quantize', 'dequantize']
