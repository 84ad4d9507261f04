"""Candidate clips around scored positions in a video (paper §3.2).

"10 second clips are created by taking 5 seconds either side of that
position (there are length exceptions when the position is within 5 seconds
of the start or end of the video leading to a shorter clip length)"; clips are
extracted "around the top k responses (where k = 2)" of an image classifier.

Usage:
  python -m kinetics_tf.curation.candidates --positions=scores.csv \
      --out=candidates.csv [--top_k=2] [--allow_overlap]

positions CSV columns: video_id, duration, time, score (one row per scored
position; duration repeated per row). Output: youtube_id, time_start,
time_end, position, score, rank.
"""

import collections
import dataclasses

from absl import flags

from kinetics_tf import app as cli_app
from kinetics_tf import constants
from kinetics_tf.curation import common


@dataclasses.dataclass(frozen=True)
class Candidate:
  youtube_id: str
  time_start: float
  time_end: float
  position: float
  score: float
  rank: int


def candidate_clips(video_id: str, duration: float, positions, scores,
                    top_k: int = constants.CANDIDATE_TOP_K,
                    half_width: float = constants.CLIP_SECONDS / 2,
                    allow_overlap: bool = False) -> list[Candidate]:
  """Cuts up to top_k clips [t - 5, t + 5], clamped to [0, duration].

  Positions are taken from the highest score down. A position is used at
  most once; a clip overlapping an already chosen clip of the same video is
  skipped unless allow_overlap.

  Raises:
    ValueError: a non-positive duration, a position outside the video, or
      positions and scores of different lengths.
  """
  if duration <= 0:
    raise ValueError(f'{video_id}: duration must be > 0, got {duration}')
  if len(positions) != len(scores):
    raise ValueError(f'{video_id}: {len(positions)} positions but '
                     f'{len(scores)} scores')
  order = sorted(range(len(positions)), key=lambda i: -scores[i])
  chosen: list[Candidate] = []
  used = set()
  for i in order:
    t = float(positions[i])
    if not 0 <= t <= duration:
      raise ValueError(f'{video_id}: position {t} s is outside the video '
                       f'[0, {duration}] s')
    if t in used:
      continue
    start, end = max(0.0, t - half_width), min(duration, t + half_width)
    if not allow_overlap and any(
        start < c.time_end and c.time_start < end for c in chosen):
      continue
    used.add(t)
    chosen.append(Candidate(video_id, start, end, t, float(scores[i]),
                            len(chosen) + 1))
    if len(chosen) == top_k:
      break
  return chosen


def candidates_from_csv(path, top_k=constants.CANDIDATE_TOP_K,
                        allow_overlap=False) -> list[Candidate]:
  """Reads a positions CSV and cuts candidates for every video in it."""
  rows = common.read_rows(path, ('video_id', 'duration', 'time', 'score'))
  by_video = collections.defaultdict(list)
  for row in rows:
    by_video[row['video_id']].append(row)
  out = []
  for video_id, vrows in by_video.items():
    durations = {common.parse_float(r, 'duration', path) for r in vrows}
    if len(durations) != 1:
      raise common.CurationInputError(
          f'{path}: video {video_id!r} has conflicting durations '
          f'{sorted(durations)} (lines {[r["_line"] for r in vrows]})')
    times = [common.parse_float(r, 'time', path) for r in vrows]
    scores = [common.parse_float(r, 'score', path) for r in vrows]
    try:
      out += candidate_clips(video_id, durations.pop(), times, scores,
                             top_k=top_k, allow_overlap=allow_overlap)
    except ValueError as e:
      raise common.CurationInputError(f'{path}: {e}') from None
  return out


def main(argv):
  del argv
  f = flags.FLAGS
  clips = candidates_from_csv(f.positions, f.top_k, f.allow_overlap)
  common.write_rows(f.out, (dataclasses.asdict(c) for c in clips),
                    [x.name for x in dataclasses.fields(Candidate)])
  videos = len({c.youtube_id for c in clips})
  print(f'{len(clips)} candidate clips from {videos} videos -> {f.out}')


if __name__ == '__main__':
  flags.DEFINE_string('positions', None, 'CSV: video_id,duration,time,score.')
  flags.DEFINE_string('out', None, 'Output CSV of candidate clips.')
  flags.DEFINE_integer('top_k', constants.CANDIDATE_TOP_K,
                       'Clips per video (paper §3.2: k = 2).', lower_bound=1)
  flags.DEFINE_bool('allow_overlap', False,
                    'Allow clips of one video to overlap.')
  flags.mark_flags_as_required(['positions', 'out'])
  cli_app.run(main, 'candidates')
