"""Tests of kinetics_tf.download against a fake CVDF bucket served on 127.0.0.1.

The bucket is made here from the fixture clips: tarballs per split whose lists
name the real root (https://s3.amazonaws.com/kinetics/...), annotation CSVs, a
corrupt clip and its replacement archive, and a plain tar named .tar.gz.  The
server injects the faults a real download meets: a connection dropped
mid-archive, 5xx answers, a 404, a corrupt archive, a slow archive for a
killed run.  The last test runs `tfds build` on a finished download.
"""

import contextlib
import errno
import gzip
import hashlib
import http.server
import io
import json
import os
import pathlib
import signal
import subprocess
import sys
import tarfile
import threading
import time

import pytest

from kinetics_tf.download import archives
from kinetics_tf.download import bucket
from kinetics_tf.download import downloader
from kinetics_tf.download import fetch
from kinetics_tf.download import manifest as manifest_lib

REAL_ROOT = 'https://s3.amazonaws.com/kinetics'
FAST = fetch.Retry(attempts=2, backoff=0.01, timeout=10)
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')

# Clip ids of the fake Kinetics-400 (11-character YouTube-like ids).
TRAIN = {'part_0.tar.gz': ['trainclip01', 'trainclip02', 'corruptclip'],
         'part_1.tar.gz': ['plaintarc01'],   # a plain tar named .tar.gz
         'part_2.tar.gz': ['trainclip05'],
         'part_3.tar.gz': ['trainclip06']}
VAL = {'part_0.tar.gz': ['valclip0001']}
TEST = {'part_0.tar.gz': ['testclip001']}
NOT_IN_ANY_ARCHIVE = 'lostclip001'
LABELS = {'trainclip01': 'arm wrestling', 'trainclip02': 'abseiling',
          'corruptclip': 'abseiling', 'plaintarc01': 'air drumming',
          'trainclip05': 'abseiling', 'trainclip06': 'zumba',
          NOT_IN_ANY_ARCHIVE: 'zumba', 'valclip0001': 'abseiling'}


def clip_name(clip_id):
  return f'{clip_id}_000000_000010.mp4'


# ----------------------------------------------------------------- the bucket


class Bucket(http.server.ThreadingHTTPServer):
  """Serves a folder like S3 (Range, 206, 416) and injects faults.

  ``faults[path] = [kind, times]``: kind 'drop' (half the bytes, then the
  connection closes), 'status:N' (answer HTTP N), 'garbage' (random bytes
  instead of the file), 'slow' (64 kB every 50 ms); times = how many
  requests it applies to (None = all).
  """

  daemon_threads = True

  def __init__(self, root):
    super().__init__(('127.0.0.1', 0), _Handler)
    self.root = pathlib.Path(root)
    self.faults = {}
    self.requests = []  # (path, Range header or None)
    self.lock = threading.Lock()

  @property
  def url(self):
    return f'http://127.0.0.1:{self.server_address[1]}/kinetics'

  def fault(self, path):
    with self.lock:
      entry = self.faults.get(path)
      if not entry:
        return None
      kind, times = entry
      if times is not None:
        entry[1] -= 1
        if entry[1] <= 0:
          del self.faults[path]
      return kind

  def paths(self):
    with self.lock:
      return [p for p, _ in self.requests]


class _Handler(http.server.BaseHTTPRequestHandler):
  protocol_version = 'HTTP/1.0'

  def log_message(self, *args):
    pass

  def do_GET(self):  # pylint: disable=invalid-name
    server = self.server
    path = self.path.split('?')[0]
    with server.lock:
      server.requests.append((path, self.headers.get('Range')))
    rel = path[len('/kinetics/'):] if path.startswith('/kinetics/') else None
    fault = server.fault(rel)
    if fault and fault.startswith('status:'):
      self.send_error(int(fault.split(':')[1]))
      return
    file = server.root / rel if rel else None
    if file is None or not file.is_file():
      self.send_error(404)
      return
    data = file.read_bytes()
    if fault == 'garbage':
      data = hashlib.sha256(data).digest() * (len(data) // 32 + 1)
      data = data[:len(file.read_bytes())]
    start = 0
    rng = self.headers.get('Range')
    if rng:
      start = int(rng.split('=')[1].split('-')[0])
      if start >= len(data):
        self.send_response(416)
        self.send_header('Content-Range', f'bytes */{len(data)}')
        self.send_header('Content-Length', '0')
        self.end_headers()
        return
      self.send_response(206)
      self.send_header('Content-Range',
                       f'bytes {start}-{len(data) - 1}/{len(data)}')
    else:
      self.send_response(200)
    body = data[start:]
    self.send_header('Content-Length', str(len(body)))
    self.end_headers()
    if fault == 'drop':
      self.wfile.write(body[:len(body) // 2])
      self.wfile.flush()
      return  # HTTP/1.0: the connection closes short of Content-Length
    if fault == 'slow':
      for i in range(0, len(body), 1 << 16):
        self.wfile.write(body[i:i + (1 << 16)])
        self.wfile.flush()
        time.sleep(0.05)
      return
    self.wfile.write(body)


def _tar_bytes(members, gz=True):
  """A tar (gzipped unless gz=False) of {name: bytes}."""
  buf = io.BytesIO()
  with tarfile.open(fileobj=buf, mode='w') as tar:
    for name, data in members.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      info.mtime = 0
      tar.addfile(info, io.BytesIO(data))
  raw = buf.getvalue()
  return gzip.compress(raw, mtime=0) if gz else raw


def _write_csv(path, clip_ids, labelled=True, split='train'):
  rows = ['label,youtube_id,time_start,time_end,split' if labelled
          else 'youtube_id,time_start,time_end,split']
  for c in clip_ids:
    rows.append((f'{LABELS[c]},' if labelled else '') + f'{c},0,10,{split}')
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text('\n'.join(rows) + '\n')


def make_k400_bucket(root, videos):
  """The fake Kinetics-400 bucket; returns {clip id: the good clip bytes}."""
  short = (videos / 'short_32frames_30fps.mp4').read_bytes()
  sources = {'trainclip01': videos / 'k400_arm_wrestling_340x256_28fps.mp4',
             'trainclip02': videos / 'carphone_176x144.mp4'}
  good = {c: (sources[c].read_bytes() if c in sources else short)
          for parts in (TRAIN, VAL, TEST) for ids in parts.values()
          for c in ids}
  for split, parts in (('train', TRAIN), ('val', VAL), ('test', TEST)):
    lines = []
    for part, ids in parts.items():
      members = {clip_name(c): good[c] for c in ids}
      if 'corruptclip' in ids:  # the archive's copy is truncated
        members[clip_name('corruptclip')] = good['corruptclip'][:5000]
      data = _tar_bytes(members, gz=part != 'part_1.tar.gz' or split != 'train')
      path = root / '400' / split / part
      path.parent.mkdir(parents=True, exist_ok=True)
      path.write_bytes(data)
      lines.append(f'{REAL_ROOT}/400/{split}/{part}')
    (root / '400' / split / f'k400_{split}_path.txt').write_text(
        '\n'.join(lines) + '\n')
  train_ids = [c for ids in TRAIN.values() for c in ids] + [NOT_IN_ANY_ARCHIVE]
  _write_csv(root / '400' / 'annotations' / 'train.csv', train_ids)
  _write_csv(root / '400' / 'annotations' / 'val.csv', VAL['part_0.tar.gz'],
             split='val')
  _write_csv(root / '400' / 'annotations' / 'test.csv',
             TEST['part_0.tar.gz'], labelled=False, split='test')
  (root / '400' / 'replacement_for_corrupted_k400.tgz').write_bytes(_tar_bytes(
      {f'replacement_for_corrupted_k400/{clip_name("corruptclip")}':
       good['corruptclip'],
       f'replacement_for_corrupted_k400/{clip_name("notannotated")}': short}))
  return good


@contextlib.contextmanager
def serve(root):
  server = Bucket(root)
  thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                            daemon=True)
  thread.start()
  try:
    yield server
  finally:
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='module')
def k400_bucket(tmp_path_factory, fixture_videos):
  root = tmp_path_factory.mktemp('bucket')
  good = make_k400_bucket(root, fixture_videos)
  return root, good


@pytest.fixture()
def server(k400_bucket):
  with serve(k400_bucket[0]) as s:
    yield s


def run_download(server, out_dir, **kwargs):
  kwargs.setdefault('retry', FAST)
  kwargs.setdefault('log', lambda line: None)
  return downloader.download('kinetics400', str(out_dir),
                             base_url=server.url, **kwargs)


def read_manifest(out_dir):
  return json.loads((pathlib.Path(out_dir) / 'manifest.json').read_text())


def sha256_of(path):
  return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


# -------------------------------------------------------------- a clean run


@pytest.fixture(scope='module')
def finished(tmp_path_factory, k400_bucket):
  """A complete download of the fake bucket (all three splits)."""
  root, good = k400_bucket
  out = tmp_path_factory.mktemp('k400')
  with serve(root) as server:
    result = run_download(server, out, keep_archives=False)
  return out, result, good, root


def test_download_extracts_checks_and_replaces(finished):
  out, result, good, root = finished
  assert result.ok, result.failures
  for split, parts in (('train', TRAIN), ('val', VAL), ('test', TEST)):
    for ids in parts.values():
      for c in ids:
        assert (out / split / clip_name(c)).read_bytes() == good[c], c
  # The truncated copy of the archive was replaced by the good one; the
  # replacement clip nobody annotated was not placed.
  assert (out / 'train' / clip_name('corruptclip')).read_bytes() == \
      good['corruptclip']
  assert not list(out.rglob(clip_name('notannotated')))
  m = read_manifest(out)
  assert m['replacement']['replaced'] == {clip_name('corruptclip'): 'train'}
  assert m['replacement']['unused'] == [clip_name('notannotated')]
  # Every archive with its size and sha256 (those of the served bytes).
  for split, parts in (('train', TRAIN), ('val', VAL), ('test', TEST)):
    for part in parts:
      rec = m['archives'][f'400/{split}/{part}']
      served = root / '400' / split / part
      assert rec['status'] == 'extracted'
      assert rec['size'] == served.stat().st_size
      assert rec['sha256'] == sha256_of(served)
  assert m['archives']['400/train/part_1.tar.gz']['format'] == 'tar'
  assert m['archives']['400/train/part_0.tar.gz']['format'] == 'tar.gz'
  rep = m['archives']['400/replacement_for_corrupted_k400.tgz']
  assert rep['sha256'] == sha256_of(root / '400' /
                                    'replacement_for_corrupted_k400.tgz')
  # Clips per split, and the annotated clip that no archive held.
  assert m['clips']['train']['on_disk'] == 6
  assert m['clips']['train']['missing'] == [f'{NOT_IN_ANY_ARCHIVE}_000000_000010']
  assert m['clips']['val']['missing'] == m['clips']['test']['missing'] == []
  assert result.clips == {'train': 6, 'val': 1, 'test': 1}
  assert result.missing == {'train': 1, 'val': 0, 'test': 0}
  assert m['failures'] == []
  # Annotations in place, archives deleted after the checked extraction,
  # no partial or temporary file left.
  assert sorted(p.name for p in (out / 'annotations').iterdir()) == [
      'test.csv', 'train.csv', 'val.csv']
  assert not [p for p in (out / 'archives').rglob('*') if p.is_file()]
  assert not [p for p in out.rglob('*.part')]


def test_a_rerun_over_a_finished_download_fetches_nothing(finished,
                                                          k400_bucket):
  out = finished[0]
  before = (out / 'manifest.json').read_text()
  with serve(k400_bucket[0]) as server:
    lines = []
    result = run_download(server, out, log=lines.append)
    assert server.requests == []
  assert result.nothing_to_do and result.ok
  assert 'nothing to fetch' in downloader.summary(result, 'kinetics400')[0]
  assert json.loads(before)['archives'] == read_manifest(out)['archives']


# --------------------------------------------------------------------- faults


def test_faults_are_reported_the_rest_goes_on_and_a_rerun_completes(
    server, tmp_path, k400_bucket):
  root, good = k400_bucket
  server.faults.update({
      '400/train/part_0.tar.gz': ['drop', 1],       # resumed with Range
      '400/val/part_0.tar.gz': ['status:503', 2],  # retried
      '400/train/part_2.tar.gz': ['status:404', None],
      '400/train/part_3.tar.gz': ['garbage', None],  # corrupt, also on retry
  })
  out = tmp_path / 'k400'
  result = run_download(server, out, retry=fetch.Retry(attempts=3,
                                                       backoff=0.01))
  assert len(result.failures) == 2
  failed = ' '.join(result.failures)
  assert '400/train/part_2.tar.gz' in failed and '404' in failed
  assert '400/train/part_3.tar.gz' in failed and 'gzip' in failed.lower()
  # The dropped archive was continued from where the connection broke.
  size0 = (root / '400/train/part_0.tar.gz').stat().st_size
  ranges = [r for p, r in server.requests
            if p.endswith('400/train/part_0.tar.gz')]
  assert ranges == [None, f'bytes={size0 // 2}-']
  # The corrupt archive was fetched twice (the retry), then given up.
  assert server.paths().count('/kinetics/400/train/part_3.tar.gz') == 2
  m = read_manifest(out)
  assert m['archives']['400/train/part_0.tar.gz']['sha256'] == sha256_of(
      root / '400/train/part_0.tar.gz')
  assert m['archives']['400/train/part_2.tar.gz']['status'] == 'failed'
  assert m['archives']['400/train/part_3.tar.gz']['status'] == 'failed'
  assert len(m['failures']) == 2
  assert not (out / 'train' / clip_name('trainclip05')).exists()
  assert not (out / 'train' / clip_name('trainclip06')).exists()
  assert (out / 'val' / clip_name('valclip0001')).read_bytes() == \
      good['valclip0001']
  assert sorted(m['clips']['train']['missing']) == sorted(
      f'{c}_000000_000010' for c in ('trainclip05', 'trainclip06',
                                     NOT_IN_ANY_ARCHIVE))
  # The bucket heals; the rerun fetches only what failed.
  server.faults.clear()
  server.requests.clear()
  result = run_download(server, out)
  assert result.ok, result.failures
  assert sorted(p for p in server.paths() if p.endswith('.gz')) == [
      '/kinetics/400/train/part_2.tar.gz', '/kinetics/400/train/part_3.tar.gz']
  m = read_manifest(out)
  assert m['clips']['train']['missing'] == [f'{NOT_IN_ANY_ARCHIVE}_000000_000010']
  # The replacement placed in the first run survives: part_0 is not
  # extracted again, and an archive extracted later leaves it alone.
  assert (out / 'train' / clip_name('corruptclip')).read_bytes() == \
      good['corruptclip']


def test_a_missing_list_and_annotations_are_named(server, tmp_path):
  server.faults.update({'400/test/k400_test_path.txt': ['status:404', None],
                        '400/annotations/test.csv': ['status:404', None]})
  out = tmp_path / 'k400'
  result = run_download(server, out, splits=['test'])
  assert len(result.failures) == 2
  assert any('k400_test_path.txt' in f and '404' in f for f in result.failures)
  assert any('test.csv' in f for f in result.failures)
  assert not read_manifest(out)['lists']


def test_disk_full_stops_marks_nothing_done_and_the_rerun_resumes(
    server, tmp_path, monkeypatch, k400_bucket):
  """ENOSPC while downloading: the partial file is kept, the archive is not
  marked done, the run stops with DiskFull; the rerun resumes with Range."""
  real_open = open
  state = {'budget': 20_000}

  class Filling:
    def __init__(self, f):
      self._f = f

    def write(self, data):
      if len(data) > state['budget']:
        self._f.write(data[:state['budget']])
        state['budget'] = 0
        raise OSError(errno.ENOSPC, 'No space left on device')
      state['budget'] -= len(data)
      return self._f.write(data)

    def __enter__(self):
      return self

    def __exit__(self, *exc):
      self._f.close()

  def fake_open(path, mode='r', *args, **kwargs):
    f = real_open(path, mode, *args, **kwargs)
    if str(path).endswith('part_0.tar.gz.part') and 'train' in str(path):
      return Filling(f)
    return f

  monkeypatch.setattr(fetch, 'open', fake_open, raising=False)
  out = tmp_path / 'k400'
  with pytest.raises(fetch.DiskFull, match='part_0.tar.gz.part'):
    run_download(server, out, splits=['train'], workers=1)
  m = read_manifest(out)
  assert '400/train/part_0.tar.gz' not in m['archives'] or \
      m['archives']['400/train/part_0.tar.gz']['status'] != 'extracted'
  part = out / 'archives' / 'train' / 'part_0.tar.gz.part'
  assert part.stat().st_size == 20_000
  monkeypatch.undo()
  server.requests.clear()
  result = run_download(server, out, splits=['train'])
  assert result.ok, result.failures
  assert ('/kinetics/400/train/part_0.tar.gz', 'bytes=20000-') in \
      server.requests
  assert read_manifest(out)['archives']['400/train/part_0.tar.gz'][
      'sha256'] == sha256_of(k400_bucket[0] / '400/train/part_0.tar.gz')


def test_disk_full_while_extracting_leaves_no_clip(server, tmp_path,
                                                   monkeypatch):
  calls = []

  def full_copy(src, tmp, size, stop):
    calls.append(tmp)
    raise fetch.DiskFull(tmp, OSError(errno.ENOSPC, 'No space left'))

  monkeypatch.setattr(archives, '_copy', full_copy)
  out = tmp_path / 'k400'
  with pytest.raises(fetch.DiskFull):
    run_download(server, out, splits=['val'], workers=1)
  assert calls
  rec = read_manifest(out)['archives']['400/val/part_0.tar.gz']
  assert rec['status'] == 'downloaded'  # downloaded, not extracted
  assert not list((out / 'val').rglob('*.mp4'))
  monkeypatch.undo()
  server.requests.clear()
  assert run_download(server, out, splits=['val']).ok
  # The downloaded archive was not fetched again.
  assert '/kinetics/400/val/part_0.tar.gz' not in server.paths()


@pytest.mark.parametrize('sig', [signal.SIGKILL, signal.SIGINT],
                         ids=['kill', 'ctrl-c'])
def test_a_killed_download_resumes(k400_bucket, tmp_path, sig):
  """SIGKILL (or Ctrl-C) mid-archive, then the same command again: it
  continues the partial file with Range and finishes."""
  root = k400_bucket[0]
  out = tmp_path / 'k400'
  cmd = [sys.executable, '-m', 'kinetics_tf.download', '--dataset=kinetics400',
         f'--out_dir={out}', '--splits=train', '--workers=1', '--noprogress']
  with serve(root) as server:
    server.faults['400/train/part_0.tar.gz'] = ['slow', None]
    # SIGINT back to its default in the child: a shell without job control
    # starts background commands (e.g. `.ci/run &`) with SIGINT ignored,
    # which the child inherits, and Python then never raises Ctrl-C.
    proc = subprocess.Popen(
        cmd + [f'--base_url={server.url}'], env=ENV, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    part = out / 'archives' / 'train' / 'part_0.tar.gz.part'
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
      if part.exists() and part.stat().st_size >= 1 << 17:
        break
      time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:  # one line, no traceback; the state is saved
      assert proc.returncode == 130, err
      assert err.decode().strip().splitlines()[-1].endswith(
          'interrupted; rerun the same command to resume.')
      assert 'Traceback' not in err.decode()
    partial = part.stat().st_size
    assert 0 < partial < (root / '400/train/part_0.tar.gz').stat().st_size
    server.faults.clear()
    server.requests.clear()
    done = subprocess.run(cmd + [f'--base_url={server.url}'], env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (f'/kinetics/400/train/part_0.tar.gz', f'bytes={partial}-') in \
        server.requests
  m = read_manifest(out)
  assert m['archives']['400/train/part_0.tar.gz']['sha256'] == sha256_of(
      root / '400/train/part_0.tar.gz')
  assert 'train: 6 clips' in done.stdout
  assert 'next: tfds build kinetics400' in done.stdout


# ------------------------------------------------------------- the binary


@pytest.mark.parametrize('args,message', [
    (['--dataset=kinetics500', '--out_dir={tmp}/x'], "unknown dataset 'kinetics500'"),
    (['--dataset=kinetics400', '--out_dir={tmp}/file/x'],
     'cannot write to --out_dir'),
    (['--dataset=kinetics400', '--out_dir={tmp}/x', '--splits=train,holdout'],
     "unknown split 'holdout'"),
    (['--dataset=kinetics400'], '--dataset and --out_dir are required'),
])
def test_binary_user_errors_are_one_line_and_exit_2(tmp_path, args, message):
  (tmp_path / 'file').write_text('a file where a folder should be')
  done = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.download',
       '--base_url=http://127.0.0.1:9'] + [a.format(tmp=tmp_path) for a in args],
      capture_output=True, text=True, timeout=60, env=ENV)
  assert done.returncode == 2, done.stderr
  lines = done.stderr.strip().splitlines()
  assert len(lines) == 1 and message in lines[0], done.stderr
  assert lines[0].startswith('kinetics-tf download: error:')


def test_kinetics_tf_download_is_a_command(tmp_path):
  done = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.cli', 'download', '--dataset=nope',
       f'--out_dir={tmp_path}'], capture_output=True, text=True, timeout=60,
      env=ENV)
  assert done.returncode == 2
  assert "unknown dataset 'nope'" in done.stderr


def test_a_manifest_of_another_dataset_is_refused(tmp_path):
  (tmp_path / 'manifest.json').write_text(json.dumps(
      {'format': manifest_lib.FORMAT, 'dataset': 'kinetics600'}))
  with pytest.raises(downloader.UserError, match="holds a download of "
                     "'kinetics600'"):
    downloader.download('kinetics400', str(tmp_path), base_url='http://x')


# ------------------------------------------------------ lists and archives


def test_lists_name_the_real_root_and_are_rewritten_to_the_mirror():
  text = (f'{REAL_ROOT}/400/train/part_0.tar.gz\n\n'
          'http://s3.amazonaws.com/kinetics/400/train/part_1.tar.gz\n'
          f'{REAL_ROOT}/400/train/part_0.tar.gz\n')
  urls = bucket.parse_list(text, f'{REAL_ROOT}/400/train/k400_train_path.txt')
  assert [bucket.archive_key(u) for u in urls] == [
      '400/train/part_0.tar.gz', '400/train/part_1.tar.gz']
  assert bucket.rewrite(urls[1], 'http://mirror:8000/k/') == \
      'http://mirror:8000/k/400/train/part_1.tar.gz'
  assert bucket.rewrite('https://elsewhere/a.tar.gz', 'http://m') == \
      'https://elsewhere/a.tar.gz'
  with pytest.raises(ValueError, match='line 2'):
    bucket.parse_list('a.tar.gz\n<html>oops</html>\n', f'{REAL_ROOT}/l.txt')
  layout = bucket.LAYOUTS['kinetics700_2020']
  assert layout.list_url('http://m', 'val') == \
      'http://m/700_2020/val/k700_2020_val_path.txt'


def test_extract_refuses_truncated_unsafe_and_non_archives(tmp_path):
  good = _tar_bytes({'a/x.mp4': b'x' * 50_000, 'y.mp4': b'y' * 10})
  cases = {
      'truncated.tar.gz': good[:len(good) - 20],
      'badcrc.tar.gz': good[:-8] + bytes(8),
      'html.tar.gz': b'<html>Access Denied</html>' * 30,
      'unsafe.tar.gz': _tar_bytes({'../../evil.mp4': b'z'}),
      'short.tar': _tar_bytes({'y.mp4': b'y' * 2000}, gz=False)[:1024],
  }
  for name, data in cases.items():
    (tmp_path / name).write_bytes(data)
    with pytest.raises(archives.CorruptArchive, match=name):
      archives.extract(str(tmp_path / name), str(tmp_path / 'out'),
                       expected_size=(2048 if name == 'short.tar' else None))
    assert not [p for p in (tmp_path / 'out').rglob('*') if p.is_file()] \
        if (tmp_path / 'out').exists() else True, name
  (tmp_path / 'good.tar.gz').write_bytes(good)
  ex = archives.extract(str(tmp_path / 'good.tar.gz'), str(tmp_path / 'out'))
  assert (tmp_path / 'out' / 'a' / 'x.mp4').read_bytes() == b'x' * 50_000
  assert ex.sha256 == hashlib.sha256(good).hexdigest() and ex.format == 'tar.gz'
  with pytest.raises(archives.CorruptArchive, match='announced'):
    archives.extract(str(tmp_path / 'good.tar.gz'), str(tmp_path / 'out'),
                     expected_size=len(good) + 1)


# ------------------------------------------------------------- Kinetics-600


def test_kinetics600_annotations_take_what_the_bucket_has(tmp_path,
                                                          fixture_videos):
  """validate.csv and val.csv absent, val.txt (a JSON list) present: it is
  used, written as a CSV, and the log says so; the held-out test CSV is
  fetched beside the test split's and the builder leaves it out."""
  root = tmp_path / 'bucket'
  short = (fixture_videos / 'short_32frames_30fps.mp4').read_bytes()
  for split in ('train', 'val', 'test'):
    clip = f'{split}k600clip'[:11]
    (root / '600' / split).mkdir(parents=True)
    (root / '600' / split / 'part_0.tar.gz').write_bytes(
        _tar_bytes({f'{split}/{clip_name(clip)}': short}))
    (root / '600' / split / f'k600_{split}_path.txt').write_text(
        f'{REAL_ROOT}/600/{split}/part_0.tar.gz\n')
  ann = root / '600' / 'annotations'
  ann.mkdir()
  (ann / 'train.csv').write_text('label,youtube_id,time_start,time_end,split\n'
                                 'acting in play,traink600cl,0,10,train\n')
  (ann / 'val.txt').write_text(json.dumps(
      {'acting in play': [clip_name('valk600clip')]}))
  (ann / 'test.csv').write_text('youtube_id,time_start,time_end,split\n'
                                'testk600cli,0,10,test\n')
  (ann / 'kinetics600_holdout_test.csv').write_text(
      'youtube_id,time_start,time_end,split\nholdout0001,0,10,test\n')
  lines = []
  with serve(root) as server:
    result = downloader.download('kinetics600', str(tmp_path / 'k600'),
                                 base_url=server.url, retry=FAST,
                                 log=lines.append)
  assert result.ok, result.failures
  assert result.clips == {'train': 1, 'val': 1, 'test': 1}
  assert result.missing == {'train': 0, 'val': 0, 'test': 0}
  assert any('val annotations: val.txt' in l and 'validate.csv, val.csv' in l
             for l in lines), lines
  m = read_manifest(tmp_path / 'k600')
  assert m['annotations']['val']['absent'] == ['validate.csv', 'val.csv']
  assert m['annotations']['val']['file'] == 'annotations/val.csv'
  assert 'kinetics600_holdout_test.csv' in m['extra_annotations']
  assert m['replacement'] == {}
  from kinetics_tf.datasets import kinetics400 as kinetics  # pylint: disable=g-import-not-at-top
  found = kinetics.find_csvs(str(tmp_path / 'k600'), kinetics.KINETICS600)
  assert {s: os.path.basename(p) for s, p in found.items()} == {
      'train': 'train.csv', 'validation': 'val.csv', 'test': 'test.csv'}


def test_an_error_page_is_no_annotation_csv(tmp_path):
  root = tmp_path / 'bucket'
  (root / '700_2020' / 'val').mkdir(parents=True)
  (root / '700_2020' / 'val' / 'part_0.tar.gz').write_bytes(_tar_bytes(
      {'x_000000_000010.mp4': b'x'}))
  (root / '700_2020' / 'val' / 'k700_2020_val_path.txt').write_text(
      f'{REAL_ROOT}/700_2020/val/part_0.tar.gz\n')
  (root / '700_2020' / 'annotations').mkdir()
  (root / '700_2020' / 'annotations' / 'val.csv').write_text(
      '<?xml version="1.0"?><Error><Code>SlowDown</Code></Error>')
  with serve(root) as server:
    result = downloader.download('kinetics700_2020', str(tmp_path / 'k700'),
                                 splits=['validation'], base_url=server.url,
                                 retry=FAST, log=lambda line: None)
  assert len(result.failures) == 1
  assert 'val.csv: not an annotation CSV' in result.failures[0]
  assert "'<?xml" in result.failures[0]
  assert result.clips == {'val': 1}


def test_list_to_csv_reads_json_and_folder_lines():
  csv_text = downloader.list_to_csv(
      b'abseiling/abc_000001_000011.mp4\nzumba/x-y_z_000100_000110.mp4\n',
      'train', 'train.txt')
  assert csv_text.splitlines() == [
      'label,youtube_id,time_start,time_end,split',
      'abseiling,abc,1,11,train', 'zumba,x-y_z,100,110,train']
  with pytest.raises(ValueError, match='train.txt.*expected a JSON object'):
    downloader.list_to_csv(b'just some words\n', 'train', 'train.txt')


# ------------------------------------------------------------ tfds build


def test_tfds_build_on_the_download(finished, tmp_path):
  """`tfds build kinetics400` on the downloaded folder, nothing in between:
  every clip an archive held is built, the replacement instead of the
  corrupt original; the annotated clip no archive held is 'missing'."""
  out = finished[0]
  config = json.dumps({'name': 'tiny', 'short_side': 32})
  done = subprocess.run(
      [sys.executable, '-m', 'tensorflow_datasets.scripts.cli.main', 'build',
       'kinetics400', '--imports=kinetics_tf.datasets', f'--manual_dir={out}',
       f'--data_dir={tmp_path}', f'--config={config}'],
      capture_output=True, text=True, timeout=600, env=ENV)
  assert done.returncode == 0, done.stderr[-3000:]
  folder, = (tmp_path / 'kinetics400' / 'tiny').iterdir()  # the builder's version
  summary = json.loads((folder / 'build_summary.json').read_text())
  assert summary['train'] == {'built': 6, 'missing': 1, 'corrupt': 0,
                              'too_short': 0, 'failed': 0, 'bad_row': 0}
  assert summary['validation']['built'] == summary['test']['built'] == 1
  report = (folder / 'build_report.csv').read_text()
  assert f'{NOT_IN_ANY_ARCHIVE}_000000_000010' in report
  assert 'corruptclip' not in report
