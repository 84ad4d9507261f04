"""Where the CVDF keeps each Kinetics version: path lists, annotation files, the replacement clips.

The CVDF (cvdfoundation/kinetics-dataset) hosts the clips of Kinetics-400,
-600 and -700-2020 as tarballs under one bucket root, by default
``https://s3.amazonaws.com/kinetics``:

* ``{prefix}/{split}/{list}`` names the split's archives, one absolute URL per
  line (``400/train/k400_train_path.txt`` -> ``.../400/train/part_0.tar.gz``);
  the default root in those URLs is rewritten to the root asked for, so a
  mirror of the bucket works unchanged;
* ``{prefix}/annotations/`` holds the annotation CSVs.  Kinetics-600 has had
  several names for them: complete ``train.csv`` and ``validate.csv`` since
  2022 (CVDF issue 23), incomplete ``val.csv`` before, and ``train.txt`` /
  ``val.txt`` lists; each split names its candidates in order of preference
  and the first one the bucket has is used;
* ``400/replacement_for_corrupted_k400.tgz`` holds good copies of about 1,400
  clips that are corrupt in the Kinetics-400 archives (CVDF issue 3), under
  ``replacement_for_corrupted_k400/``.
"""

import dataclasses
import posixpath
import urllib.parse
from typing import Mapping, Optional

DEFAULT_BASE_URL = 'https://s3.amazonaws.com/kinetics'
# The bucket root as the CVDF's lists spell it (both schemes occur).
LIST_ROOTS = ('https://s3.amazonaws.com/kinetics',
              'http://s3.amazonaws.com/kinetics')
# The CVDF's split folders; clips go to out_dir/{split}/.
SPLITS = ('train', 'val', 'test')
SPLIT_ALIASES = {'validation': 'val', 'valid': 'val', 'validate': 'val'}


@dataclasses.dataclass(frozen=True)
class Layout:
  """One Kinetics version in the CVDF bucket.

  Attributes:
    dataset: the library's name (and TFDS builder), e.g. 'kinetics400'.
    prefix: the version's folder in the bucket ('400', '600', '700_2020').
    list_name: the split's list of archives, '{split}' filled in.
    annotations: split -> annotation file names, preferred first.
    extra_annotations: split -> further files fetched with that split (not
      one of the builder's splits, e.g. a held-out test set).
    replacement: the archive of replacement clips, relative to the root.
  """
  dataset: str
  prefix: str
  list_name: str
  annotations: Mapping[str, tuple]
  extra_annotations: Mapping[str, tuple] = dataclasses.field(
      default_factory=dict)
  replacement: Optional[str] = None

  def list_url(self, base_url: str, split: str) -> str:
    return join(base_url, self.prefix, split,
                self.list_name.format(split=split))

  def annotation_url(self, base_url: str, name: str) -> str:
    return join(base_url, self.prefix, 'annotations', name)


LAYOUTS = {
    'kinetics400': Layout(
        dataset='kinetics400', prefix='400', list_name='k400_{split}_path.txt',
        annotations={'train': ('train.csv',), 'val': ('val.csv',),
                     'test': ('test.csv',)},
        replacement='400/replacement_for_corrupted_k400.tgz'),
    'kinetics600': Layout(
        dataset='kinetics600', prefix='600', list_name='k600_{split}_path.txt',
        annotations={'train': ('train.csv', 'train.txt'),
                     'val': ('validate.csv', 'val.csv', 'val.txt'),
                     'test': ('test.csv',)},
        extra_annotations={'test': ('kinetics600_holdout_test.csv',)}),
    'kinetics700_2020': Layout(
        dataset='kinetics700_2020', prefix='700_2020',
        list_name='k700_2020_{split}_path.txt',
        annotations={'train': ('train.csv',), 'val': ('val.csv',),
                     'test': ('test.csv',)}),
}


def join(base_url: str, *parts: str) -> str:
  return '/'.join([base_url.rstrip('/')] + [p.strip('/') for p in parts])


def rewrite(url: str, base_url: str) -> str:
  """``url`` with the CVDF's default root replaced by ``base_url``."""
  for root in LIST_ROOTS:
    if url == root or url.startswith(root + '/'):
      return base_url.rstrip('/') + url[len(root):]
  return url


def archive_key(url: str) -> str:
  """The archive's path under the bucket root ('400/train/part_0.tar.gz'),
  its key in the manifest (the URL's path when it lies elsewhere)."""
  for root in LIST_ROOTS:
    if url.startswith(root + '/'):
      return url[len(root) + 1:]
  return urllib.parse.urlsplit(url).path.lstrip('/')


def parse_list(text: str, list_url: str) -> list:
  """The archive URLs of a split's list, as the list names them: one per
  line (blank lines and '#' comments skipped; a relative line is relative to
  the list), duplicates dropped.  ``rewrite`` them to fetch from a mirror.

  Raises:
    ValueError: a line that is not an archive URL (names the line).
  """
  urls, seen = [], set()
  for number, line in enumerate(text.splitlines(), 1):
    line = line.strip()
    if not line or line.startswith('#'):
      continue
    url = urllib.parse.urljoin(list_url, line)
    name = posixpath.basename(urllib.parse.urlsplit(url).path)
    if (not name.endswith(('.tar.gz', '.tgz', '.tar')) or ' ' in line or
        urllib.parse.urlsplit(url).scheme not in ('http', 'https')):
      raise ValueError(f'{list_url}, line {number}: {line[:80]!r} is not the '
                       'URL of a .tar.gz archive')
    if url not in seen:
      seen.add(url)
      urls.append(url)
  return urls
