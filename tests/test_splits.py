"""Tests of the UCF-101 / HMDB-51 split readers on official-format files."""

import collections

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


# --- Validation held out by whole groups -------------------------------------

def test_groups_of_ucf101_and_hmdb51_names():
  assert splits.ucf101_group('ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi') == (
      'ApplyEyeMakeup/g08')
  assert splits.ucf101_group('Archery/v_Archery_G8_c07.avi') == 'Archery/g08'
  assert splits.hmdb51_group(f'brush_hair/{BRUSH}2.avi') == 'brush_hair/April_09_brush_hair'
  assert splits.hmdb51_group(f'cartwheel/{RAD}') == (
      'cartwheel/(Rad)Schlag_die_Bonusfolge_cartwheel')
  # A name outside the convention is a group of its own.
  assert splits.ucf101_group('X/clip.avi') == 'X/clip.avi'
  assert splits.hmdb51_group('wave/wave_a.avi') == 'wave/wave_a.avi'


def _ucf_entries(label, sizes, test_groups=(1, 2)):
  """Training entries of groups 8.. with the given clip counts, then test ones."""
  train = [SplitEntry(f'{label}/v_{label}_g{g:02d}_c{c:02d}.avi', label, 'train')
           for g, n in enumerate(sizes, start=8) for c in range(1, n + 1)]
  test = [SplitEntry(f'{label}/v_{label}_g{g:02d}_c01.avi', label, 'test')
          for g in test_groups]
  return train + test


def test_ucf101_validation_holds_out_the_last_whole_groups_of_each_class():
  a = _ucf_entries('A', [5] * 18)            # g08..g25, 90 clips: 10% = 9
  b = _ucf_entries('B', [4] * 17 + [7])      # 75 clips, g25 has 7 < 7.5
  c = _ucf_entries('C', [5] * 8 + [10])      # g08..g16, 50 clips: g16 alone
  d = _ucf_entries('D', [6])                 # one group: stays in training
  entries = a + b + c + d
  out = splits.hold_out_validation(entries, 'ucf101')
  assert [e.path for e in out] == [e.path for e in entries]   # order kept
  held = {}
  for e in out:
    if e.split == 'validation':
      held.setdefault(e.label, set()).add(splits.ucf101_group(e.path).split('/')[1])
  assert held == {'A': {'g24', 'g25'}, 'B': {'g24', 'g25'}, 'C': {'g16'}}
  counts = collections.Counter((e.label, e.split) for e in out)
  assert counts[('A', 'validation')] == 10 and counts[('A', 'train')] == 80
  assert counts[('B', 'validation')] == 11 and counts[('C', 'validation')] == 10
  assert counts[('D', 'train')] == 6
  assert [e for e in out if e.split == 'test'] == [e for e in entries if e.split == 'test']
  # No group has clips on both sides.
  sides = collections.defaultdict(set)
  for e in out:
    if e.split != 'test':
      sides[splits.ucf101_group(e.path)].add(e.split)
  assert all(len(s) == 1 for s in sides.values())


def test_hmdb51_validation_holds_out_whole_source_videos():
  names = [f'{source}_wave_u_cm_np1_fr_med_{i}.avi'
           for source, n in (('movieA', 3), ('movieB', 2), ('movieC', 4), ('movieD', 1),
                             ('movieE', 2), ('movieF', 3))
           for i in range(n)]
  entries = [SplitEntry(f'wave/{n}', 'wave', 'train') for n in names]
  out = splits.hold_out_validation(entries, 'hmdb51')
  held = sorted({splits.hmdb51_group(e.path) for e in out if e.split == 'validation'})
  # The fixed (crc32) order of sources is E, B, D, C, F, A.  15 clips: 10% =
  # 1.5, and E has 2; with 30% (4.5), E + B (4) are not enough: D too.
  assert held == ['wave/movieE_wave']
  assert sum(e.split == 'validation' for e in out) == 2
  wider = splits.hold_out_validation(entries, 'hmdb51', fraction=0.3)
  assert sorted({splits.hmdb51_group(e.path) for e in wider if e.split == 'validation'}) == [
      'wave/movieB_wave', 'wave/movieD_wave', 'wave/movieE_wave']
  assert sum(e.split == 'validation' for e in wider) == 5
  assert out == splits.hold_out_validation(entries, 'hmdb51')   # deterministic
  with pytest.raises(ValueError, match="dataset must be one of"):
    splits.hold_out_validation(entries, 'kinetics')


def test_builders_read_the_official_lists_with_validation_held_out(tmp_path):
  from kinetics_tf.datasets import ucf_hmdb  # pylint: disable=g-import-not-at-top
  train = ''.join(f'ApplyEyeMakeup/v_ApplyEyeMakeup_g{g:02d}_c{c:02d}.avi 1\n'
                  for g in range(8, 26) for c in (1, 2, 3))
  folder = ucf_dir(tmp_path, train=train)
  entries = ucf_hmdb.ucf101_entries(folder, 1)
  by_split = collections.defaultdict(list)
  for e in entries:
    by_split[e.split].append(e.path)
  # 54 clips: 10% = 5.4 -> g25 (3) and g24 (3) are held out.
  assert sorted(by_split['validation']) == sorted(
      f'ApplyEyeMakeup/v_ApplyEyeMakeup_g{g}_c0{c}.avi' for g in (24, 25) for c in (1, 2, 3))
  assert len(by_split['train']) == 48 and len(by_split['test']) == 2
  hmdb = ucf_hmdb.hmdb51_entries(hmdb_dir(tmp_path), 1)
  assert [e.split for e in hmdb] == [e.split for e in splits.read_hmdb51_split(
      hmdb_dir(tmp_path), 1)]   # one source video per class: nothing to hold out


def test_ucf101_and_hmdb51_experiments_validate_on_held_out_groups():
  import importlib  # pylint: disable=g-import-not-at-top
  import pkgutil  # pylint: disable=g-import-not-at-top
  import experiments  # pylint: disable=g-import-not-at-top
  names = [m.name for m in pkgutil.iter_modules(experiments.__path__)
           if m.name.startswith(('ucf101_', 'hmdb51_'))]
  assert len(names) == 8
  for name in names:
    config = importlib.import_module(f'experiments.{name}').get_config()
    assert (config.train_split, config.val_split) == ('train', 'validation'), name
