"""Tests of the annotation CSV reader and the clip-to-file resolver."""

import os

import pytest

from kinetics_tf.data import annotations
from kinetics_tf.data.annotations import AnnotationError, Clip

HEADER = 'label,youtube_id,time_start,time_end,split,is_cc\n'
GOOD = ('abseiling,---QUuC4vJs,3,13,train,0\n'
        'air drumming,--nQbRBEz2s,104,114,train,1\n'
        '"passing American football (in game)",-0MDY5wr5uU,0,10,val,0\n')


def write(tmp_path, text, name='k400.csv'):
  path = tmp_path / name
  path.write_text(text, encoding='utf-8')
  return path


def touch(path):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_bytes(b'\0' * 8)
  return str(path)


def test_read_official_csv(tmp_path):
  result = annotations.read_csv(write(tmp_path, HEADER + GOOD))
  assert result.bad_rows == []
  assert len(result) == 3
  first, second, third = result.clips
  assert first == Clip('---QUuC4vJs', 'abseiling', 3.0, 13.0, 'train', False)
  assert second.is_cc is True and second.time_start == 104.0
  assert third.label == 'passing American football (in game)'
  assert third.split == 'val'
  assert first.clip_id == '---QUuC4vJs_000003_000013'
  assert first.path is None and first.trimmed is None
  assert 'k400.csv: 3 clips read, 0 bad rows skipped' in result.summary()


def test_test_csv_without_label_or_is_cc(tmp_path):
  text = ('youtube_id,time_start,time_end,split\n'
          'aaaaaaaaaaa,10,20,test\n'
          'bbbbbbbbbbb,0,7.5,test\n')
  clips = annotations.read_csv(write(tmp_path, text)).clips
  assert [(c.youtube_id, c.label, c.time_end, c.is_cc) for c in clips] == [
      ('aaaaaaaaaaa', None, 20.0, None), ('bbbbbbbbbbb', None, 7.5, None)]
  assert clips[1].clip_id == 'bbbbbbbbbbb_000000_000007'


def test_folder_spellings_of_labels_and_custom_classes(tmp_path):
  text = HEADER + 'air_drumming,x1,0,10,train,0\nYoga,x2,0,10,train,0\n'
  clips = annotations.read_csv(write(tmp_path, text)).clips
  assert [c.label for c in clips] == ['air drumming', 'yoga']
  text = HEADER + 'jumping_jacks,x1,0,10,train,0\n'
  clips = annotations.read_csv(write(tmp_path, text),
                               class_names=['jumping jacks']).clips
  assert clips[0].label == 'jumping jacks'
  with pytest.raises(AnnotationError, match='not one of the 1 given'):
    annotations.read_csv(write(tmp_path, HEADER + GOOD),
                         class_names=['jumping jacks'])


BAD_ROWS = [
    ('flying carpet,x9,0,10,train,0\n', "'flying carpet' is not a Kinetics"),
    ('abseilling,x9,0,10,train,0\n', "did you mean 'abseiling'"),
    ('abseiling,x9,10,10,train,0\n', 'time_end 10 <= time_start 10'),
    ('abseiling,x9,12,10,train,0\n', 'time_end 10 <= time_start 12'),
    ('abseiling,x9,ten,20,train,0\n', "time_start 'ten' is not a number"),
    ('abseiling,x9,0,,train,0\n', "time_end '' is not a number"),
    ('abseiling,x9,0,nan,train,0\n', "time_end 'nan' is not a finite"),
    ('abseiling,../etc,0,10,train,0\n', 'path separator'),
    ('abseiling,a/b,0,10,train,0\n', 'path separator'),
    ('abseiling,a\\b,0,10,train,0\n', 'path separator'),
    ('abseiling,..,0,10,train,0\n', "or '..'"),
    ('abseiling,,0,10,train,0\n', 'empty youtube_id'),
    ('abseiling,--nQbRBEz2s,50,60,train,0\n',
     "'--nQbRBEz2s' already appears in split 'train' on line 3"),
    ('abseiling,x9,0,10,train\n', '5 fields where the header has 6'),
    ('abseiling,x9,0,10,train,0,extra\n', '7 fields where the header has 6'),
    ('abseiling,x9,0,10,train,yes\n', "is_cc 'yes' is not 0 or 1"),
    ('abseiling,x9,0,10,,0\n', 'empty split'),
]


@pytest.mark.parametrize('row,problem', BAD_ROWS)
def test_bad_row_raises_with_csv_and_line(tmp_path, row, problem):
  path = write(tmp_path, HEADER + GOOD + row)
  with pytest.raises(AnnotationError) as info:
    annotations.read_csv(path)
  err = info.value
  assert isinstance(err, ValueError)
  assert err.line == 5 and err.csv_path == str(path)
  assert problem in err.problem
  assert f'{path}, line 5: ' in str(err) and "on_error='skip'" in str(err)


def test_duplicate_id_in_another_split_is_fine(tmp_path):
  text = HEADER + GOOD + 'abseiling,--nQbRBEz2s,50,60,val,0\n'
  assert len(annotations.read_csv(write(tmp_path, text))) == 4


def test_skip_mode_keeps_good_rows_and_reports_bad(tmp_path):
  rows = ''.join(row for row, _ in BAD_ROWS)
  text = HEADER + GOOD + rows + 'yoga,last_one,1,11,test,0\n'
  result = annotations.read_csv(write(tmp_path, text), on_error='skip')
  assert [c.youtube_id for c in result.clips] == [
      '---QUuC4vJs', '--nQbRBEz2s', '-0MDY5wr5uU', 'last_one']
  assert [b.line for b in result.bad_rows] == list(range(5, 5 + len(BAD_ROWS)))
  for bad, (_, problem) in zip(result.bad_rows, BAD_ROWS):
    assert problem in bad.problem
  assert str(result.bad_rows[0]).startswith(f'{tmp_path / "k400.csv"}, line 5')
  assert f'4 clips read, {len(BAD_ROWS)} bad rows skipped' in result.summary()


def test_bad_header_and_options(tmp_path):
  with pytest.raises(AnnotationError, match=r"line 1: .*lacks column\(s\) "
                     r"\['time_end'\]"):
    annotations.read_csv(write(tmp_path, 'label,youtube_id,time_start,split\n'))
  with pytest.raises(AnnotationError, match='line 1'):
    annotations.read_csv(write(tmp_path, ''))
  with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
    annotations.read_csv(write(tmp_path, HEADER), on_error='ignore')
  with pytest.raises(FileNotFoundError):
    annotations.read_csv(tmp_path / 'nope.csv')


def test_blank_lines_bom_and_column_order(tmp_path):
  text = ('\ufeffsplit, youtube_id, label, time_end, time_start\n\n'
          'train, abc, yoga, 20, 10\n\n')
  clips = annotations.read_csv(write(tmp_path, text)).clips
  assert clips == [Clip('abc', 'yoga', 10.0, 20.0, 'train')]


def clips_for_resolve():
  return [Clip('aaa', 'air drumming', 3, 13, 'train'),
          Clip('bbb', 'passing American football (in game)', 0, 10, 'train'),
          Clip('ccc', "massaging person's head", 20, 30, 'val'),
          Clip('ddd', None, 5, 15, 'test')]


def check_found(result, expected):
  assert {c.youtube_id: c.path for c in result.found} == expected
  assert [c.youtube_id for c in result.missing] == ['ddd']
  assert all(c.trimmed is True for c in result.found)
  assert all(c.window == (None, None) for c in result.found)
  assert result.summary() == ('3 of 4 clips found (0 to cut from full '
                              'videos), 1 missing')


def test_resolve_flat_one_folder(tmp_path):
  expected = {'aaa': touch(tmp_path / 'aaa_000003_000013.mp4'),
              'bbb': touch(tmp_path / 'bbb_000000_000010.webm'),
              'ccc': touch(tmp_path / 'ccc_000020_000030.mkv')}
  touch(tmp_path / 'ddd_000005_000016.mp4')  # wrong end time: not ddd's
  touch(tmp_path / 'ddd_000005_000015.mp4.part')  # unfinished download
  check_found(annotations.resolve(clips_for_resolve(), tmp_path), expected)


def test_resolve_flat_per_split(tmp_path):
  expected = {'aaa': touch(tmp_path / 'train' / 'aaa_000003_000013.mp4'),
              'bbb': touch(tmp_path / 'train' / 'bbb_000000_000010.avi'),
              'ccc': touch(tmp_path / 'val' / 'ccc_000020_000030.MP4')}
  check_found(annotations.resolve(clips_for_resolve(), tmp_path), expected)


@pytest.mark.parametrize('folders', [
    ('air drumming', 'passing American football (in game)',
     "massaging person's head"),
    ('air_drumming', 'passing_American_football_(in_game)',
     "massaging_person's_head"),
])
def test_resolve_class_folders(tmp_path, folders):
  expected = {}
  for (youtube_id, stem), folder in zip(
      [('aaa', 'aaa_000003_000013'), ('bbb', 'bbb_000000_000010'),
       ('ccc', 'ccc_000020_000030')], folders):
    split = 'val' if youtube_id == 'ccc' else 'train'
    expected[youtube_id] = touch(tmp_path / split / folder / f'{stem}.mp4')
  check_found(annotations.resolve(clips_for_resolve(), tmp_path), expected)


def test_resolve_full_videos_cut_by_time(tmp_path):
  full = touch(tmp_path / 'videos' / 'aaa.mp4')
  trimmed = touch(tmp_path / 'videos' / 'bbb_000000_000010.mp4')
  touch(tmp_path / 'videos' / 'bbb.mp4')  # the trimmed file wins
  result = annotations.resolve(clips_for_resolve(), tmp_path)
  by_id = {c.youtube_id: c for c in result.found}
  assert by_id['aaa'].path == full and by_id['aaa'].trimmed is False
  assert by_id['aaa'].window == (3.0, 13.0)
  assert by_id['bbb'].path == trimmed and by_id['bbb'].trimmed is True
  assert [c.youtube_id for c in result.missing] == ['ccc', 'ddd']
  assert result.summary() == ('2 of 4 clips found (1 to cut from full '
                              'videos), 2 missing')
  again = annotations.resolve(clips_for_resolve(), tmp_path,
                              full_videos_trimmed=True)
  assert {c.youtube_id: c.trimmed for c in again.found} == {
      'aaa': True, 'bbb': True}


def test_resolve_prefers_class_folder_then_extension(tmp_path):
  clip = Clip('aaa', 'air drumming', 3, 13, 'train')
  touch(tmp_path / 'abseiling' / 'aaa_000003_000013.mp4')
  right = touch(tmp_path / 'air_drumming' / 'aaa_000003_000013.webm')
  assert annotations.resolve([clip], tmp_path).found[0].path == right
  best = touch(tmp_path / 'air_drumming' / 'aaa_000003_000013.mp4')
  assert annotations.resolve([clip], tmp_path).found[0].path == best


def test_resolve_errors(tmp_path):
  with pytest.raises(NotADirectoryError, match='does not exist'):
    annotations.resolve(clips_for_resolve(), tmp_path / 'absent')
  with pytest.raises(ValueError, match='resolve'):
    _ = clips_for_resolve()[0].window


def test_resolve_many_rows_indexes_once(tmp_path, monkeypatch):
  n = 3000
  csv_text = HEADER + ''.join(
      f'yoga,id{i:05d},{i},{i + 10},train,0\n' for i in range(n))
  clips = annotations.read_csv(write(tmp_path, csv_text)).clips
  folder = tmp_path / 'train' / 'yoga'
  folder.mkdir(parents=True)
  for i in range(0, n, 3):  # a third present
    (folder / f'id{i:05d}_{i:06d}_{i + 10:06d}.mp4').write_bytes(b'')
  calls = []
  real_walk = os.walk
  monkeypatch.setattr(annotations.os, 'walk',
                      lambda *a, **k: calls.append(a) or real_walk(*a, **k))
  result = annotations.resolve(clips, tmp_path)
  assert len(calls) == 1
  assert len(result.found) == n // 3 and len(result.missing) == n - n // 3
  assert result.found[1].path == str(folder / 'id00003_000003_000013.mp4')
