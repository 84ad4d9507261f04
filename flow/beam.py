r"""TV-L1 flow extraction as an Apache Beam PTransform and a runnable pipeline.

  python -m flow.beam VIDEO|FOLDER|LIST.txt ... --out_dir DIR [flow flags] \
      [Beam options, e.g. --runner DirectRunner --direct_num_workers 2]

Every flag of ``python -m flow.extract`` except --workers and --no_progress
applies; the videos come first, and every other flag goes to Beam's
PipelineOptions, so the same command runs on Dataflow, Flink or Spark (also
``kinetics-tf flow_beam ...``).  Videos and --out_dir must be paths the
workers can read and write (a local or mounted file system: OpenCV and PyAV
decode local files).  Workers need this package installed (e.g. pass
--setup_file ./setup.py).  Outputs are written atomically as in flow.extract
(both run flow.jobs), so a retried or re-run element never leaves a
half-written output, and finished videos are skipped.
One JSON line per video goes to ``<out_dir>/flow_results*.jsonl``.
"""

import dataclasses
import json
import logging
import os
import sys

from absl import flags

from flow import app
from flow import jobs
from flow import outputs
from flow.backends import choose_backend

# Beam's import warns on the root logger that GCP's optional client libraries
# are missing; a user's mistake must stay one line.
_LEVEL = logging.getLogger().level
logging.getLogger().setLevel(logging.ERROR)
try:
  import apache_beam as beam  # pylint: disable=g-import-not-at-top
  # pylint: disable-next=g-import-not-at-top
  from apache_beam.options.pipeline_options import PipelineOptions
finally:
  logging.getLogger().setLevel(_LEVEL)

PROG = 'flow.beam'  # Starts its error lines.


class _FlowFn(beam.DoFn):
  """(video, output) -> the Result of computing and writing its flow, as a dict."""

  def __init__(self, opts: jobs.Options):
    super().__init__()
    self._opts = opts

  def setup(self):
    jobs.init_worker(self._opts.threads, choose_backend(
        self._opts.backend, **dict(self._opts.params)))

  def process(self, element):
    video, output = element
    if outputs.is_done(output) and not self._opts.overwrite:
      result = jobs.Result(video, output, 'skipped', 'already done')
    else:
      result = jobs.process(video, output, self._opts)
    beam.metrics.Metrics.counter('flow', result.status).inc()
    beam.metrics.Metrics.counter('flow', 'pairs').inc(result.pairs)
    yield dataclasses.asdict(result)


class ExtractFlow(beam.PTransform):
  """PCollection of video paths -> PCollection of result dicts (one per video).

  Each result has the keys of flow.jobs.Result: video, output, status
  ('done' | 'skipped' | 'failed'), reason, pairs, seconds.  The output of a
  video is ``out_dir / stem`` (+ '.npy'), or ``out_dir / key`` when the input
  elements are (video, key) pairs, key being a relative path.
  """

  def __init__(self, out_dir: str, opts: jobs.Options = jobs.Options()):
    super().__init__()
    self._out_dir = str(out_dir)
    self._opts = opts

  def _locate(self, element):
    video, key = (element if isinstance(element, (tuple, list)) else
                  (element, os.path.splitext(os.path.basename(element))[0]))
    output = outputs.output_path(self._out_dir, key, self._opts.fmt)
    return str(video), str(output)

  def expand(self, pcoll):
    return (pcoll
            | 'Locate' >> beam.Map(self._locate)
            | 'Spread' >> beam.Reshuffle()  # One video per work item.
            | 'Flow' >> beam.ParDo(_FlowFn(self._opts)))


def _summary(results) -> str:
  rows = [jobs.Result(**r) for r in results]
  seconds = sum(r.seconds for r in rows)  # Worker time, not wall time.
  return jobs.summarize(rows, seconds).replace('pairs/s', 'pairs/s/worker')


def build(pipeline, videos, out_dir, opts):
  """Adds extraction of (video, key) pairs to `pipeline`; returns the results."""
  results = (pipeline
             | 'Videos' >> beam.Create([(str(v), str(k)) for v, k in videos])
             | 'ExtractFlow' >> ExtractFlow(out_dir, opts))
  _ = (results
       | 'Json' >> beam.Map(json.dumps, sort_keys=True)
       | 'WriteResults' >> beam.io.WriteToText(
           os.path.join(str(out_dir), 'flow_results'), '.jsonl'))
  _ = (results
       | 'All' >> beam.combiners.ToList()
       | 'Summary' >> beam.Map(lambda rs: logging.warning(_summary(rs))))
  return results


def split_args(rest: list) -> tuple[list, list]:
  """(videos, Beam's arguments) of the arguments that are not our flags.

  The videos are the words before the first flag that is not ours; from that
  flag on, everything is Beam's (so ``--runner DirectRunner`` keeps its
  value), as the usage line has it.
  """
  first = next((i for i, a in enumerate(rest) if a.startswith('-')), len(rest))
  return rest[:first], rest[first:]


def _main(flag_values: flags.FlagValues, rest: list) -> int:
  inputs, beam_args = split_args(rest)
  opts = jobs.options_from(flag_values)
  videos = jobs.check_inputs(inputs, opts, flag_values.out_dir)
  with beam.Pipeline(options=PipelineOptions(beam_args)) as pipeline:
    build(pipeline, videos, flag_values.out_dir, opts)
  return 0


def main(argv=None) -> int:
  """Runs the pipeline; returns 2 on a user's mistake (one line), else 0."""
  return app.run(_main, jobs.define_flags, PROG, __doc__, argv,
                 known_only=True)


if __name__ == '__main__':
  sys.exit(main())
