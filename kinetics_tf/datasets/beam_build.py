"""The builders' generation as an Apache Beam PTransform, for builds spread over workers.

``BuildClips`` is what a builder's ``_generate_examples`` returns when the
build is given a Beam runner or options (``tfds build
--beam_pipeline_options=...``): jobs are spread over workers, each runs
``clips.build``, built clips flow on to TFDS's writer and skipped clips are
collected into the split's report part file.  Imported only for Beam builds.
"""

import apache_beam as beam

from kinetics_tf.datasets import clips
from kinetics_tf.datasets import generate

_SKIPPED = 'skipped'


class _BuildFn(beam.DoFn):
  """clips.build on one job: its (key, example) records out, or a tagged Skip."""

  def __init__(self, source, opts: clips.Options):
    super().__init__()
    self._source = source
    self._opts = opts

  def setup(self):
    import cv2  # pylint: disable=g-import-not-at-top
    cv2.setNumThreads(1)  # one core per Beam worker thread/process

  def process(self, job: clips.Job):
    result = clips.build(job, self._source, self._opts)
    if isinstance(result, clips.Skip):
      beam.metrics.Metrics.counter('kinetics_tf',
                                   f'{job.split}_{result.kind}').inc()
      yield beam.pvalue.TaggedOutput(_SKIPPED, result)
    else:
      beam.metrics.Metrics.counter('kinetics_tf', f'{job.split}_built').inc()
      yield from result


def _write_report(skips, path):
  generate.write_rows(path, sorted(skips))


class BuildClips(beam.PTransform):
  """PBegin -> PCollection of (key, example); skips go to `report_path`.

  Args:
    jobs: the clips of one split (clips.Job).
    source: a picklable frame source (clips.FileSource, ...).
    opts: clips.Options.
    report_path: the split's report part file, on storage every worker and
      the launcher can reach (the dataset folder).
  """

  def __init__(self, jobs, source, opts: clips.Options, report_path):
    super().__init__()
    self._jobs = list(jobs)
    self._source = source
    self._opts = opts
    self._report_path = str(report_path)

  def expand(self, pbegin):
    results = (
        pbegin
        | 'Jobs' >> beam.Create(self._jobs)
        | 'Spread' >> beam.Reshuffle()
        | 'Build' >> beam.ParDo(_BuildFn(self._source, self._opts))
        .with_outputs(_SKIPPED, main='examples'))
    _ = (results[_SKIPPED]
         | 'CollectSkips' >> beam.combiners.ToList()
         | 'WriteReport' >> beam.Map(_write_report, self._report_path))
    return results['examples']
