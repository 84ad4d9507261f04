"""Tests of the class metadata shipped with the package (kinetics_tf/data/classes.py).

Kinetics-400's names, counts and groups; the class lists of Kinetics-600 and
Kinetics-700-2020.
"""

import numpy as np
import pytest

from kinetics_tf import constants
from kinetics_tf.data import classes


def test_400_unique_names_in_official_order():
  assert len(classes.CLASS_NAMES) == 400
  assert len(set(classes.CLASS_NAMES)) == 400
  assert classes.CLASS_NAMES[0] == 'abseiling'
  assert classes.CLASS_NAMES[6] == 'arm wrestling'
  assert classes.CLASS_NAMES[196] == "massaging person's head"
  assert classes.CLASS_NAMES[-1] == 'zumba'


def test_names_equal_the_official_label_map(fixtures_dir):
  lines = (fixtures_dir / 'kinetics400_label_map.txt').read_text(
      encoding='utf-8').splitlines()
  assert tuple(lines) == classes.CLASS_NAMES


@pytest.mark.parametrize('version,fixture', [
    ('kinetics600', 'kinetics600_label_map.txt'),
    ('kinetics700_2020', 'kinetics700_label_map.txt'),
])
def test_class_lists_are_the_official_ones(fixtures_dir, version, fixture):
  lines = (fixtures_dir / fixture).read_text(encoding='utf-8').splitlines()
  assert classes.class_names(version) == tuple(lines)
  assert len(lines) == classes.VERSION_NUM_CLASSES[version]
  assert classes.class_names('kinetics400') == classes.CLASS_NAMES


def test_an_unknown_version_is_named():
  with pytest.raises(ValueError, match="'kinetics500'.*kinetics700_2020"):
    classes.class_names('kinetics500')


def test_counts_sum_to_table_1_total():
  assert sum(classes.CLIP_COUNTS.values()) == constants.TOTAL_CLIPS == 306_245
  assert set(classes.CLIP_COUNTS) == set(classes.CLASS_NAMES)


@pytest.mark.parametrize('name,count', [
    ('abseiling', 1146), ('air drumming', 1132), ('arm wrestling', 1123),
    ("massaging person's head", 672), ('punching person (boxing)', 483),
    ('tying knot (not on a tie)', 844), ('wrestling', 488),
])
def test_appendix_a_counts(name, count):
  assert classes.clip_count(name) == count


def test_counts_lie_in_the_split_range():
  # Table 2: 250..1000 train + 50 val + 100 test per class.
  lo = constants.TRAIN_CLIPS_PER_CLASS[0]
  assert min(classes.CLIP_COUNTS.values()) >= lo
  assert max(classes.CLIP_COUNTS.values()) <= 1150


def test_name_index_round_trip():
  for i, name in enumerate(classes.CLASS_NAMES):
    assert classes.name_to_index(name) == i
    assert classes.index_to_name(i) == name
  assert classes.index_to_name(np.int64(399)) == 'zumba'


@pytest.mark.parametrize('spelling,official', [
    ('air_drumming', 'air drumming'),
    ('Air Drumming', 'air drumming'),
    ('passing_American_football_(in_game)',
     'passing American football (in game)'),
    ('passing_american_football_in_game',
     'passing American football (in game)'),
    ("massaging_person's_head", "massaging person's head"),
    ('massaging_persons_head', "massaging person's head"),
    ('massaging person\u2019s head', "massaging person's head"),
])
def test_folder_spellings(spelling, official):
  assert classes.canonical_name(spelling) == official
  assert classes.index_to_name(classes.name_to_index(spelling)) == official


def test_unknown_name_suggests_close_matches():
  with pytest.raises(classes.UnknownClassError,
                     match="did you mean 'abseiling'"):
    classes.name_to_index('abseilling')
  with pytest.raises(ValueError, match="'flying' is not a Kinetics-400 class"):
    classes.clip_count('flying')
  with pytest.raises(classes.UnknownClassError):
    classes.groups_of(None)


@pytest.mark.parametrize('bad', [-1, 400, 1.5, 'three'])
def test_bad_index(bad):
  with pytest.raises(IndexError, match='class index'):
    classes.index_to_name(bad)


def test_38_groups_of_known_classes():
  assert len(classes.GROUPS) == 38
  for group, members in classes.GROUPS.items():
    assert members, group
    assert len(set(members)) == len(members), group
    for name in members:
      assert name in classes.CLASS_NAMES, (group, name)


@pytest.mark.parametrize('group,size', [
    ('music', 29), ('dancing', 18), ('arts and crafts', 12), ('golf', 3),
    ('waxing', 4), ('ball sports', 25),
    # Header/member disagreements of Appendix B: the listed members are kept.
    ('body motions', 15), ('cloths', 9), ('mobility - land', 21),
    ('touching person', 10),
])
def test_group_sizes(group, size):
  assert len(classes.classes_of(group)) == size


def test_group_lookups():
  assert classes.classes_of('golf') == ('golf chipping', 'golf driving',
                                        'golf putting')
  assert classes.classes_of('mobility \u2013 water') == classes.classes_of(
      'mobility - water')
  assert classes.groups_of('whistling') == ('head + mouth', 'music')
  assert classes.groups_of('yoga') == ()
  # Normalised to the label list (SPEC.md).
  assert 'punching person (boxing)' in classes.classes_of('martial arts')
  assert "massaging person's head" in classes.classes_of('touching person')
  with pytest.raises(classes.UnknownClassError, match="did you mean 'music'"):
    classes.classes_of('musik')


def test_groups_of_inverts_classes_of():
  for group, members in classes.GROUPS.items():
    for name in members:
      assert group in classes.groups_of(name)
  total = sum(len(classes.groups_of(n)) for n in classes.CLASS_NAMES)
  assert total == sum(len(m) for m in classes.GROUPS.values())


def test_metadata_is_read_only():
  with pytest.raises(TypeError):
    classes.GROUPS['new'] = ('yoga',)
  with pytest.raises(TypeError):
    classes.CLIP_COUNTS['yoga'] = 1
