"""Tests of the UCF-101 / HMDB-51 split readers on official-format files."""

import pytest

from kinetics_tf.data import splits
from kinetics_tf.data.splits import SplitEntry, SplitFileError

CLASS_IND = '1 ApplyEyeMakeup\r\n2 ApplyLipstick\r\n3 HandstandPushups\r\n'
TRAIN01 = ('ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\n'
           'ApplyLipstick/v_ApplyLipstick_g08_c02.avi 2\r\n'
           'HandstandPushups/v_HandStandPushups_g08_c01.avi 3\r\n')
TEST01 = ('ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\n'
          'HandstandPushups/v_HandStandPushups_g01_c01.avi\r\n')


def ucf_dir(tmp_path, train=TRAIN01, test=TEST01, class_ind=CLASS_IND):
  folder = tmp_path / 'ucfTrainTestlist'
  folder.mkdir(exist_ok=True)
  for name, text in [('classInd.txt', class_ind), ('trainlist01.txt', train),
                     ('testlist01.txt', test), ('trainlist02.txt', TRAIN01),
                     ('testlist02.txt', TEST01)]:
    (folder / name).write_bytes(text.encode())
  return folder


def test_ucf101_split(tmp_path):
  folder = ucf_dir(tmp_path)
  assert splits.ucf101_classes(folder) == (
      'ApplyEyeMakeup', 'ApplyLipstick', 'HandstandPushups')
  entries = splits.read_ucf101_split(folder, 1)
  assert entries == [
      ('ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi', 'ApplyEyeMakeup',
       'train'),
      ('ApplyLipstick/v_ApplyLipstick_g08_c02.avi', 'ApplyLipstick', 'train'),
      ('HandstandPushups/v_HandStandPushups_g08_c01.avi', 'HandstandPushups',
       'train'),
      ('ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi', 'ApplyEyeMakeup', 'test'),
      ('HandstandPushups/v_HandStandPushups_g01_c01.avi', 'HandstandPushups',
       'test'),
  ]
  assert isinstance(entries[0], SplitEntry) and entries[3].split == 'test'
  assert len(splits.read_ucf101_split(folder, 2)) == 5


def test_ucf101_folder_case_is_forgiven(tmp_path):
  folder = ucf_dir(tmp_path,
                   test='applyeyemakeup/v_ApplyEyeMakeup_g01_c01.avi\n')
  assert splits.read_ucf101_split(folder)[-1] == (
      'applyeyemakeup/v_ApplyEyeMakeup_g01_c01.avi', 'ApplyEyeMakeup', 'test')


def test_ucf101_missing_files(tmp_path):
  folder = ucf_dir(tmp_path)
  with pytest.raises(FileNotFoundError, match='trainlist03.txt not found'):
    splits.read_ucf101_split(folder, 3)
  (folder / 'classInd.txt').unlink()
  with pytest.raises(FileNotFoundError, match='classInd.txt not found'):
    splits.read_ucf101_split(folder, 1)
  with pytest.raises(ValueError, match=r'split must be one of \(1, 2, 3\)'):
    splits.read_ucf101_split(folder, 4)


@pytest.mark.parametrize('kwargs,name,line,problem', [
    (dict(class_ind='1 ApplyEyeMakeup\n3 ApplyLipstick\n'), 'classInd.txt', 2,
     'class number 3 where 2 was expected'),
    (dict(class_ind='1 ApplyEyeMakeup\nApplyLipstick\n'), 'classInd.txt', 2,
     'is not "<number> <class>"'),
    (dict(class_ind='1 A\n2 A\n'), 'classInd.txt', 2, "class 'A' listed twice"),
    (dict(class_ind='\n'), 'classInd.txt', 1, 'no classes listed'),
    (dict(train=TRAIN01 + 'ApplyLipstick/v_x.avi 1\n'), 'trainlist01.txt', 4,
     "class number 1 disagrees with folder 'ApplyLipstick' (number 2"),
    (dict(train=TRAIN01 + 'ApplyLipstick/v_x.avi\n'), 'trainlist01.txt', 4,
     'expected "<Class>/<video> <number>"'),
    (dict(train='Juggling/v_Juggling_g01_c01.avi 1\n'), 'trainlist01.txt', 1,
     'is not under a class folder'),
    (dict(train='v_ApplyEyeMakeup_g01_c01.avi 1\n'), 'trainlist01.txt', 1,
     'is not under a class folder'),
    (dict(train='ApplyEyeMakeup/../../etc/passwd 1\n'), 'trainlist01.txt', 1,
     'is not a plain relative path'),
    (dict(test=TEST01 + 'ApplyLipstick/v_x.avi 2\n'), 'testlist01.txt', 3,
     'expected "<Class>/<video>" alone'),
    (dict(test='ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi\n'),
     'testlist01.txt', 1, 'already listed at'),
])
def test_ucf101_bad_lines(tmp_path, kwargs, name, line, problem):
  folder = ucf_dir(tmp_path, **kwargs)
  with pytest.raises(SplitFileError) as info:
    splits.read_ucf101_split(folder, 1)
  err = info.value
  assert err.path == str(folder / name) and err.line == line
  assert problem in err.problem
  assert f'{folder / name}, line {line}: ' in str(err)


BRUSH = 'April_09_brush_hair_u_nm_np1_ba_goo_'
RAD = '(Rad)Schlag_die_Bonusfolge_cartwheel_f_cm_np1_le_med_0.avi'
BODEN = 'Bodenturnen_2004_cartwheel_f_cm_np1_le_med_0.avi'
HMDB = {
    'brush_hair_test_split1.txt': (f'{BRUSH}0.avi 1 \r\n{BRUSH}1.avi 2 \r\n'
                                   f'{BRUSH}2.avi 0 \r\n'),
    'brush_hair_test_split2.txt': (f'{BRUSH}0.avi 2 \r\n{BRUSH}1.avi 0 \r\n'
                                   f'{BRUSH}2.avi 1 \r\n'),
    'cartwheel_test_split1.txt': f'{RAD} 2 \r\n{BODEN} 1 \r\n',
    'cartwheel_test_split2.txt': f'{BODEN} 1\n',
}


def hmdb_dir(tmp_path, extra=None):
  folder = tmp_path / 'testTrainMulti_7030_splits'
  folder.mkdir(exist_ok=True)
  for name, text in {**HMDB, **(extra or {})}.items():
    (folder / name).write_bytes(text.encode())
  (folder / 'README.txt').write_text('not a split file')
  return folder


def test_hmdb51_split(tmp_path):
  folder = hmdb_dir(tmp_path)
  assert splits.hmdb51_classes(folder, 1) == ('brush_hair', 'cartwheel')
  assert splits.read_hmdb51_split(folder, 1) == [
      ('brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi', 'brush_hair',
       'train'),
      ('brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_1.avi', 'brush_hair',
       'test'),
      ('cartwheel/(Rad)Schlag_die_Bonusfolge_cartwheel_f_cm_np1_le_med_0.avi',
       'cartwheel', 'test'),
      ('cartwheel/Bodenturnen_2004_cartwheel_f_cm_np1_le_med_0.avi',
       'cartwheel', 'train'),
  ]
  split2 = splits.read_hmdb51_split(folder, 2)
  assert [(e.path.split('_')[-1], e.split) for e in split2] == [
      ('0.avi', 'test'), ('2.avi', 'train'), ('0.avi', 'train')]


def test_hmdb51_missing_files(tmp_path):
  folder = hmdb_dir(tmp_path)
  with pytest.raises(FileNotFoundError, match='no <class>_test_split3.txt'):
    splits.read_hmdb51_split(folder, 3)
  with pytest.raises(FileNotFoundError, match='split folder .* not found'):
    splits.read_hmdb51_split(tmp_path / 'absent', 1)
  with pytest.raises(ValueError, match='split must be one of'):
    splits.read_hmdb51_split(folder, 0)


@pytest.mark.parametrize('text,problem', [
    ('a.avi 3\n', 'is not "<video> <code>" with code 0 (unused), 1 (train)'),
    ('a.avi\n', 'is not "<video> <code>"'),
    ('a.avi 1 extra\n', 'is not "<video> <code>"'),
    ('sub/a.avi 1\n', "'sub/a.avi': expected a file name"),
    ('../a.avi 1\n', 'is not a plain relative path'),
    ('a.avi 1\na.avi 2\n', "'zz/a.avi' already listed at"),
])
def test_hmdb51_bad_lines(tmp_path, text, problem):
  folder = hmdb_dir(tmp_path, {'zz_test_split1.txt': text})
  with pytest.raises(SplitFileError) as info:
    splits.read_hmdb51_split(folder, 1)
  assert info.value.path == str(folder / 'zz_test_split1.txt')
  assert info.value.line == text.count('\n')
  assert problem in str(info.value)
