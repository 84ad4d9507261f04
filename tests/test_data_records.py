"""The record layout (kinetics_tf/data/records.py): every clip length, every footprint it serves."""

import pytest

from kinetics_tf import constants
from kinetics_tf.data import records

# (stride, overlap) of the shipped configs (two_stream340 / flow340, and
# rgb340_frames) and of the tests' tiny sets.
LAYOUTS = [(constants.TRAIN_RECORD_STRIDE, constants.FLOW_STACK), (1, 0),
           (4, 10), (3, 15)]


def _served(overlap):
  """(span, on_flow) of footprints up to overlap + 1 frames: frames and
  flow fields, consecutive and strided."""
  out = []
  for span in range(1, overlap + 2):
    out.append((span, False))
    if span <= overlap:
      out.append((span, True))
  return out


@pytest.mark.parametrize('stride,overlap', LAYOUTS)
def test_records_cover_the_clip_and_own_every_start_once(stride, overlap):
  for t in range(1, 320):
    bounds = records.record_bounds(t, stride, overlap)
    assert bounds[0][0] == 0 and bounds[-1][1] == t
    assert len(bounds) == records.num_records(t, stride, overlap)
    if t > overlap:
      assert all(b - a <= stride + overlap for a, b in bounds)
    for span, on_flow in _served(overlap):
      units = t - 1 if on_flow else t
      if units < 1:
        continue
      owned = [records.owned_starts(j, len(bounds), t, span, on_flow)
               for j in range(len(bounds))]
      # A partition of the clip's starts, each record owning at least one.
      assert owned[0][0] == 0
      assert owned[-1][1] == records.num_starts(units, span)
      assert all(b > a for a, b in owned)
      assert all(owned[j][1] == owned[j + 1][0]
                 for j in range(len(owned) - 1))
      for (first, end), (begin, stop) in zip(bounds, owned):
        held = end - first - (1 if on_flow else 0)  # units in the record
        assert begin >= first
        if units >= span:  # every owned footprint lies in its record
          assert stop - 1 + span - 1 <= first + held - 1, (t, span, on_flow)
        else:  # a clip shorter than the footprint: one record, looped
          assert len(bounds) == 1 and held == units


@pytest.mark.parametrize('stride,overlap', LAYOUTS)
def test_every_clip_gives_the_same_expected_samples(stride, overlap):
  reference = records.reference_records(stride, overlap)
  for t in (2, 11, 30, 50, 125, 249, 250, 251, 400, 1000):
    count = records.num_records(t, stride, overlap)
    for span, on_flow in _served(overlap):
      if t - int(on_flow) < 1:
        continue
      total = sum(records.expected_samples(j, count, t, span, on_flow,
                                           stride, overlap)
                  for j in range(count))
      assert total == pytest.approx(reference, abs=1e-9)


def test_a_ten_second_clip_in_the_shipped_layout():
  stride, overlap = constants.TRAIN_RECORD_STRIDE, constants.FLOW_STACK
  bounds = records.record_bounds(250, stride, overlap)
  assert len(bounds) == 12 == records.reference_records(stride, overlap)
  assert bounds[:2] == [(0, 30), (20, 50)] and bounds[-1] == (220, 250)
  # 240 flow stacks, 20 per record; 250 RGB frames, 20 or 21 per record.
  flow = [records.owned_starts(j, 12, 250, constants.FLOW_STACK, True)
          for j in range(12)]
  assert flow == [(20 * j, 20 * j + 20) for j in range(12)]
  rgb = [records.owned_starts(j, 12, 250, 1, False) for j in range(12)]
  assert rgb[-1][1] == 250 and {b - a for a, b in rgb} == {20, 21}


def test_bad_layouts_are_refused():
  for args in ((0, 20, 10), (250, 0, 10), (250, 20, -1)):
    with pytest.raises(ValueError, match='record_bounds'):
      records.record_bounds(*args)
