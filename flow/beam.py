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

``PrepareClips`` is the preparation stage (``flow.prepare``) as a
PTransform: clips in, one prepared file per clip written atomically by the
worker that prepares it (a retried element finds its file and reuses it),
one result dict per clip out.  The prepared folder may be on any file system
``tf.io.gfile`` reaches (gs://...); a remote video is staged to a local
temporary file for the decoders.
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
from flow import prepare
from flow import prepare_run
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
    video, output, key = element
    if outputs.is_done(output) and not self._opts.overwrite:
      result = jobs.Result(video, output, 'skipped', 'already done')
    else:
      result = jobs.process(video, output, self._opts, key)
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
    return str(video), str(output), str(key)

  def expand(self, pcoll):
    return (pcoll
            | 'Locate' >> beam.Map(self._locate)
            | 'Spread' >> beam.Reshuffle()  # One video per work item.
            | 'Flow' >> beam.ParDo(_FlowFn(self._opts)))


class _PrepareFn(beam.DoFn):
  """flow.prepare.Clip -> the Result of preparing it, as a dict."""

  def __init__(self, folder: str, params: prepare.Params, with_flow: bool,
               threads: int):
    super().__init__()
    self._args = (folder, params, with_flow, threads)

  def setup(self):
    prepare_run.init_worker(self._args[3], self._args[1].backend)

  def process(self, element):
    result = prepare.prepare_clip(prepare.Clip(*element), *self._args)
    beam.metrics.Metrics.counter('prepare', result.status).inc()
    beam.metrics.Metrics.counter('prepare', 'tvl1').inc(int(result.tvl1))
    yield dataclasses.asdict(result)


class PrepareClips(beam.PTransform):
  """PCollection of flow.prepare.Clip -> PCollection of result dicts.

  Each result has the keys of flow.prepare.Result (key, status, reason,
  frames, tvl1, seconds).  The folder is ``flow.prepare.folder_for(root,
  params)``; its manifest is written when the pipeline is built.
  """

  def __init__(self, root, params: prepare.Params, with_flow: bool,
               threads: int = 1):
    super().__init__()
    self._folder = prepare.folder_for(str(root), params)
    self._fn = _PrepareFn(self._folder, params, with_flow, threads)
    self._params = params

  def expand(self, pcoll):
    prepare.write_manifest(self._folder, self._params)
    return (pcoll
            | 'Spread' >> beam.Reshuffle()  # One clip per work item.
            | 'Prepare' >> beam.ParDo(self._fn))


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
