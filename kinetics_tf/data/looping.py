"""Looping a clip shorter than a model's footprint (SPEC.md, §4.4).

Decoding itself lives in ``flow.decoding`` (``flow/`` must stand alone for a
cluster worker); import it from there.
"""

import numpy as np


def loop_indices(num_frames: int, n: int, start: int = 0,
                 stride: int = 1) -> np.ndarray:
  """Frame indices of ``n`` frames from ``start`` every ``stride``, looping the clip.

  SPEC.md (§4.4): clips shorter than a model's footprint are looped as many
  times as needed, so index ``i`` maps to ``(start + i * stride) % num_frames``.

  Args:
    num_frames: frames in the clip (> 0).
    n: frames wanted (>= 0).
    start: first frame (any int; taken modulo ``num_frames``).
    stride: step between frames (e.g. 5 for the ConvNet+LSTM footprint).

  Returns:
    int64 [n] indices in [0, num_frames).

  Raises:
    ValueError: an empty clip, a negative ``n`` or a non-positive stride.
  """
  if num_frames <= 0:
    raise ValueError(f'cannot loop a clip of {num_frames} frames: it has none')
  if n < 0 or stride < 1:
    raise ValueError(f'need n >= 0 and stride >= 1, got n={n} stride={stride}')
  return (start + np.arange(n, dtype=np.int64) * stride) % num_frames


def loop_frames(frames: np.ndarray, n: int) -> np.ndarray:
  """Exactly ``n`` frames: the clip repeated as many times as needed, then cut.

  Args:
    frames: [T,...] frames (T > 0), e.g. uint8 [T,H,W,3] from
      ``flow.decoding.decode``.
    n: frames wanted.

  Returns:
    [n,...] frames, ``frames[i % T]`` at position ``i`` (the first ``n`` frames
    when the clip is already long enough).

  Raises:
    ValueError: ``frames`` is empty or ``n`` negative.
  """
  return frames[loop_indices(len(frames), n)]
