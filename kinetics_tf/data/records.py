"""The train split's records: how a clip is cut into overlapping records, and which starts each owns.

§4.4 draws a training sample from a random clip at a random start "among
those early enough to guarantee a desired number of frames": within a clip
every start a footprint allows is equally likely (a 250-frame clip: 250 RGB
frames, 240 ten-field flow stacks), and every clip is equally likely
whatever its length (SPEC.md, "Training input").  A TFRecord is read and
parsed whole, so the configs whose training footprints are short store the
train split as records of a few frames.  This module is the one definition
of that layout: the builders cut with it (``kinetics_tf.datasets.clips``),
the input pipeline samples with it (``kinetics_tf.input.train_pipeline``,
the same arithmetic on tensors).

The cut, for records serving footprints of up to ``overlap + 1`` frames (a
10-field flow stack spans 11 frames: overlap 10) with ``stride`` starts each:

* a clip of ``T`` frames has ``C = max(1, T - overlap)`` starts of its
  longest footprint, split into ``R = ceil(C / stride)`` nearly equal parts,
  part ``j`` being ``[floor(j C / R), floor((j + 1) C / R))``;
* record ``j`` holds frames ``[b_j, min(T, b_{j+1} + overlap))`` (``b_j =
  floor(j C / R)``) and the ``T_j - 1`` flow fields between them: a short
  clip of its own, ``first_frame = b_j`` into its clip.

Sampling, for a model whose footprint spans ``span`` of its units (frames;
fields for flow) with ``span`` frames (``span + 1`` for flow) at most
``overlap + 1``: over its ``U`` units (``T`` frames, ``T - 1`` fields) the
clip has ``C_m = max(1, U - span + 1)`` starts, and record ``j`` *owns*
``[floor(j C_m / R), floor((j + 1) C_m / R))``, which it holds whole (the
floors move by at most the ``overlap + 1 - frames`` extra starts).  The
pipeline draws a start uniformly among a record's owned ones and takes from
each record it reads a random number of samples with mean ``owned * G /
C_m`` (``G`` = the records of a 10 s clip, so a 10 s clip gives about one
sample per record read).  Then a clip gives ``G`` samples per pass whatever
its length, and each of its starts ``G / C_m``: every start of every clip
is equally likely, exactly.
"""

import math

from kinetics_tf import constants

# The clip length G is taken at: a 10 s clip at 25 fps (§2, §4.4).
REFERENCE_FRAMES = int(constants.CLIP_SECONDS * constants.FPS)


def num_starts(units: int, span: int) -> int:
  """Starts of a footprint of ``span`` units over ``units`` (>= 1: a shorter
  clip has one, and is looped)."""
  return max(1, units - span + 1)


def num_records(num_frames: int, stride: int, overlap: int) -> int:
  """R, the records of a clip of ``num_frames`` frames (module docstring)."""
  return math.ceil(num_starts(num_frames, overlap + 1) / stride)


def part(index: int, starts: int, records: int) -> tuple[int, int]:
  """[begin, end) of part ``index`` of ``starts`` split into ``records``."""
  return index * starts // records, (index + 1) * starts // records


def record_bounds(num_frames: int, stride: int,
                  overlap: int) -> list[tuple[int, int]]:
  """[first, end) frames of each record of a clip of ``num_frames`` frames.

  Args:
    num_frames: T, the clip's frames (>= 1).
    stride: starts per record at most (>= 1).
    overlap: frames a record holds past its part (>= 0): the longest
      footprint served spans ``overlap + 1`` frames.

  Returns:
    R ranges; the first starts at 0 and the last ends at T.
  """
  if num_frames < 1 or stride < 1 or overlap < 0:
    raise ValueError(f'record_bounds({num_frames}, stride={stride}, '
                     f'overlap={overlap}): need T >= 1, stride >= 1, '
                     'overlap >= 0')
  starts = num_starts(num_frames, overlap + 1)
  count = num_records(num_frames, stride, overlap)
  out = []
  for j in range(count):
    begin, end = part(j, starts, count)
    out.append((begin, min(num_frames, end + overlap)))
  return out


def reference_records(stride: int, overlap: int) -> int:
  """G: the records of a 10 s clip, the mean samples a clip gives per pass."""
  return num_records(REFERENCE_FRAMES, stride, overlap)


def footprint_frames(span: int, on_flow: bool) -> int:
  """Frames a footprint of ``span`` units covers (a field joins two frames)."""
  return span + 1 if on_flow else span


def owned_starts(index: int, records: int, clip_frames: int, span: int,
                 on_flow: bool) -> tuple[int, int]:
  """[begin, end) of the starts record ``index`` owns, in clip units."""
  units = clip_frames - 1 if on_flow else clip_frames
  return part(index, num_starts(units, span), records)


def expected_samples(index: int, records: int, clip_frames: int, span: int,
                     on_flow: bool, stride: int, overlap: int) -> float:
  """Mean samples the pipeline takes from one read of record ``index``."""
  begin, end = owned_starts(index, records, clip_frames, span, on_flow)
  units = clip_frames - 1 if on_flow else clip_frames
  return (end - begin) * reference_records(stride, overlap) / num_starts(
      units, span)
