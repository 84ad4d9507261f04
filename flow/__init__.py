"""TV-L1 optical flow for Kinetics: frames in, uint8 (x, y) flow out.

This package is standalone: it imports nothing from ``kinetics_tf`` so that a
cluster worker can install and run it alone.  It also owns the video decoding
conventions (25 fps, shorter side resized) in ``flow.video``, which
``kinetics_tf.data`` builds on, so that the library and the flow tool decode
every clip the same way without copying code.
"""

from flow.tvl1 import (AUTO, BACKENDS, choose_backend, dequantize, quantize,  # noqa: E402  (module re-export)
                       tvl1)

__all__ = ['AUTO', 'BACKENDS', 'choose_backend', 'tvl1', 'quantize',
           'dequantize']
