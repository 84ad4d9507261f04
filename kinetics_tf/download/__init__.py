"""Getting Kinetics: download, check and extract the CVDF's copies of Kinetics-400, -600 and -700-2020.

  kinetics-tf download --dataset=kinetics400 --out_dir=/data/kinetics400
  python -m kinetics_tf.download --dataset=kinetics700_2020 --out_dir=DIR \
      --splits=train,val --workers=8

The first stop of the road: the CVDF's path lists and annotation files
(``bucket``), archives fetched in parallel with resume and retries
(``fetch``), each checked whole before its clips are extracted
(``archives``), Kinetics-400's replacement clips put over the corrupt
originals, and every step recorded in ``DIR/manifest.json`` (``manifest``),
so a rerun resumes and a finished download is left alone.  DIR is then the
manual_dir of ``tfds build kinetics400 --imports kinetics_tf.datasets
--manual_dir=DIR``.  ``download(...)`` does the same from Python.
"""

from kinetics_tf.download.bucket import DEFAULT_BASE_URL, LAYOUTS, SPLITS  # noqa: F401
from kinetics_tf.download.downloader import (  # noqa: F401
    Result, UserError, download, summary)
from kinetics_tf.download.fetch import DiskFull, Retry  # noqa: F401
