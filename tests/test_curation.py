"""Tests of the §3 curation rules on hand-made records."""

import collections
import csv
import random
import subprocess
import sys

import numpy as np
import pytest

from kinetics_tf.curation import bias
from kinetics_tf.curation import candidates
from kinetics_tf.curation import common
from kinetics_tf.curation import consensus
from kinetics_tf.curation import dedup
from kinetics_tf.curation import review
from kinetics_tf.curation import scores as scores_lib


# --- candidates (§3.2) ------------------------------------------------------

def test_candidates_clamped_top_k_and_no_overlap():
  clips = candidates.candidate_clips(
      'v', 60.0, positions=[2.0, 30.0, 33.0, 58.0], scores=[0.9, 0.8, 0.95, 0.1])
  # Highest first: 33 -> [28, 38]; 2 -> [0, 7] (clamped); 30 overlaps 33.
  assert [(c.time_start, c.time_end) for c in clips] == [(28.0, 38.0), (0.0, 7.0)]
  assert [c.rank for c in clips] == [1, 2]


def test_candidates_overlap_allowed_and_end_clamp():
  clips = candidates.candidate_clips('v', 35.0, [30.0, 33.0], [0.5, 0.9],
                                     allow_overlap=True)
  assert [(c.time_start, c.time_end) for c in clips] == [(28.0, 35.0), (25.0, 35.0)]


def test_candidates_same_position_used_once():
  clips = candidates.candidate_clips('v', 100.0, [50.0, 50.0], [0.9, 0.8],
                                     allow_overlap=True)
  assert len(clips) == 1


def test_candidates_bad_position_names_video(tmp_path):
  path = tmp_path / 'pos.csv'
  path.write_text('video_id,duration,time,score\nabc,10,12,0.5\n')
  with pytest.raises(common.CurationInputError, match=r'abc.*outside'):
    candidates.candidates_from_csv(path)
  path.write_text('video_id,duration,time,score\nabc,10,x,0.5\n')
  with pytest.raises(common.CurationInputError, match=r'pos.csv:2.*time'):
    candidates.candidates_from_csv(path)


# --- consensus (§3.3) -------------------------------------------------------

@pytest.mark.parametrize('responses, status, used', [
    (['no', 'no', 'no', 'yes', 'yes'], 'rejected', 3),   # 3 of 3 "no" stops
    (['yes', 'no', 'yes', 'yes'], 'accepted', 4),        # 3 yes of 4
    (['yes', 'yes', 'no', 'no', 'unsure'], 'rejected', 5),
    (['yes', 'no', 'unsure'], 'pending', 3),
    (['yes', 'yes', 'yes', 'no'], 'accepted', 3),        # stops at 3 yes
    (['broken'] * 3, 'rejected', 3),
    (['yes', 'no', 'unsure', 'no', 'yes', 'yes'], 'rejected', 5),  # never > 5
])
def test_clip_rules(responses, status, used):
  d = consensus.decide_clip('c', 'x', responses)
  assert (d.status, d.annotations) == (status, used)
  assert d.ignored == len(responses) - used


def _records(path, rows):
  with open(path, 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['clip_id', 'label', 'worker_id', 'response', 'is_gold',
                'gold_answer'])
    w.writerows(rows)
  return path


def test_worker_accuracy_on_gold(tmp_path):
  rows = common.read_rows(_records(tmp_path / 'r.csv', [
      ('g1', 'a', 'w1', 'yes', 1, 'yes'), ('g2', 'a', 'w1', 'no', 1, 'yes'),
      ('g3', 'a', 'w1', 'no', 1, 'yes'), ('g1', 'a', 'w2', 'yes', 1, 'yes'),
      ('c1', 'a', 'w3', 'yes', 0, ''),
  ]), ('clip_id',))
  acc = {w['worker_id']: w for w in consensus.worker_accuracy(rows)}
  assert acc['w1']['accuracy'] == pytest.approx(1 / 3) and acc['w1']['warn']
  assert acc['w2']['accuracy'] == 1.0 and not acc['w2']['warn']
  assert 'w3' not in acc


def _decisions(label, accepted, rejected, pending=0):
  d = [consensus.decide_clip(f'{label}{i}', label, ['yes'] * 3)
       for i in range(accepted)]
  d += [consensus.decide_clip(f'{label}r{i}', label, ['no'] * 3)
        for i in range(rejected)]
  d += [consensus.decide_clip(f'{label}p{i}', label, ['yes'])
        for i in range(pending)]
  return d


def test_class_yield_after_20_clips():
  decisions = (_decisions('good', 11, 9) + _decisions('bad', 9, 11)
               + _decisions('young', 1, 18, pending=5))
  y = consensus.class_yield(decisions)
  assert y['good']['verdict'] == 'keep' and y['good']['yield'] == 0.55
  assert y['bad']['verdict'] == 'drop'
  assert y['young']['verdict'] == 'wait' and y['young']['decided'] == 19
  assert consensus.class_yield(decisions, threshold=0.6)['good']['verdict'] == 'drop'


def test_next_batch_mixes_classes_and_skips_done():
  decisions = _decisions('a', 2, 0, pending=5) + _decisions('b', 0, 1, pending=1)
  batch = consensus.next_batch(decisions, batch_size=3, seed=1)
  assert all(d.status == 'pending' for d in batch)
  assert sorted(d.label for d in batch) == ['a', 'a', 'b']
  assert consensus.next_batch(decisions, 10, dropped={'a'})[0].label == 'b'


def _pending(labels, per_class, annotations=1):
  return [consensus.decide_clip(f'{label}{i}', label, ['yes'] * annotations)
          for label in labels for i in range(per_class)]


def _gold(*labels):
  return [consensus.GoldClip(f'gold_{label}', label, 'yes') for label in labels]


def test_tasks_are_20_slots_with_2_gold_and_classes_mixed():
  labels = [f'c{i:02d}' for i in range(25)]
  decisions = _pending(labels, 3)                        # 75 clips to label
  tasks = consensus.assemble_tasks(decisions, _gold('g0', 'g1', 'g2', 'g3'), seed=0)
  # §3.3: 20 videos a task, 2 of them groundtruth; 75 = 4 x 18 + 3.
  assert [len(t) for t in tasks] == [20, 20, 20, 20, 5]
  assert [sum(s.is_gold for s in t) for t in tasks] == [2, 2, 2, 2, 2]
  sent = [s.clip_id for t in tasks for s in t if not s.is_gold]
  assert sorted(sent) == sorted(d.clip_id for d in decisions)   # each clip once
  left = collections.Counter(labels * 3)
  for number, task in enumerate(tasks):
    assert [s.task for s in task] == [number] * len(task)
    assert [s.slot for s in task] == list(range(len(task)))
    clips = [s.label for s in task if not s.is_gold]
    # "each with a different class where possible"
    assert len(set(clips)) == min(len(clips), len(+left)), (number, clips)
    assert len(set(clips)) == [18, 18, 18, 18, 3][number]
    left.subtract(clips)
    gold = [s for s in task if s.is_gold]
    assert len({g.clip_id for g in gold}) == 2 and all(g.gold_answer == 'yes' for g in gold)
    assert not {g.label for g in gold} & set(clips)
  # The gold slots are shuffled in with the others, not always at the end.
  positions = {s.slot for t in tasks[:4] for s in t if s.is_gold}
  assert positions - {18, 19}
  again = consensus.assemble_tasks(decisions, _gold('g0', 'g1', 'g2', 'g3'), seed=0)
  assert again == tasks
  assert consensus.assemble_tasks(decisions, _gold('g0', 'g1', 'g2', 'g3'), seed=1) != tasks


def test_task_gold_of_a_class_not_in_the_task_where_possible():
  decisions = _pending(['a', 'b'], 2)
  for seed in range(10):
    (task,) = consensus.assemble_tasks(decisions, _gold('a', 'b', 'z'), seed=seed)
    gold = sorted(s.label for s in task if s.is_gold)
    assert len(task) == 6 and 'z' in gold and len(set(gold)) == 2, gold


def test_tasks_skip_done_dropped_and_fully_annotated_clips():
  decisions = (_pending(['a'], 30) + _pending(['b'], 2, annotations=2)
               + _pending(['gone'], 3) + _decisions('x', 1, 1))
  decisions.append(consensus.ClipDecision('full', 'b', 'pending', 5, 2, 2, 1, 0))
  tasks = consensus.assemble_tasks(decisions, _gold('g', 'h'), num_tasks=1,
                                   dropped={'gone'}, seed=3)
  (task,) = tasks
  clips = [s for s in task if not s.is_gold]
  assert len(task) == 20 and len(clips) == 18
  assert collections.Counter(s.label for s in clips) == {'a': 16, 'b': 2}
  assert {s.clip_id for s in clips} & {'full', 'x0', 'xr0', 'gone0'} == set()


def test_tasks_need_enough_gold_clips():
  with pytest.raises(common.CurationInputError, match='1 gold clip.*2 gold slots'):
    consensus.assemble_tasks(_pending(['a'], 3), _gold('g'))
  with pytest.raises(ValueError, match='no slot to label'):
    consensus.assemble_tasks(_pending(['a'], 3), _gold('g', 'h'), task_size=2)


def test_a_worker_is_warned_each_time_gold_success_falls_under_half(tmp_path):
  rows = common.read_rows(_records(tmp_path / 'r.csv', [
      ('g1', 'a', 'w1', 'yes', 1, 'yes'),    # line 2: 1/1
      ('g2', 'b', 'w1', 'yes', 1, 'no'),     # line 3: 1/2 = 50%, not under
      ('g3', 'c', 'w1', 'no', 1, 'yes'),     # line 4: 1/3 -> warned
      ('c1', 'a', 'w1', 'no', 0, ''),        # line 5: not gold
      ('g4', 'd', 'w1', 'no', 1, 'no'),      # line 6: 2/4 = 50%, back
      ('g1', 'a', 'w2', 'no', 1, 'yes'),     # line 7: w2 0/1 -> warned
      ('g5', 'e', 'w1', 'unsure', 1, 'yes'),  # line 8: 2/5 -> warned again
      ('g2', 'b', 'w2', 'no', 1, 'no'),      # line 9: w2 1/2, no new warning
  ]), ('clip_id',))
  got = [(w['worker_id'], w['line'], w['clip_id'], w['gold_correct'], w['gold_answered'])
         for w in consensus.gold_warnings(rows)]
  assert got == [('w1', 4, 'g3', 1, 3), ('w2', 7, 'g1', 0, 1), ('w1', 8, 'g5', 2, 5)]
  acc = {w['worker_id']: w for w in consensus.worker_accuracy(rows)}
  assert (acc['w1']['warn'], acc['w1']['warnings']) == (True, 2)    # 2/5 now
  assert (acc['w2']['warn'], acc['w2']['warnings']) == (False, 1)   # 1/2 now
  gold = consensus.gold_clips(rows)
  assert [(g.clip_id, g.label, g.gold_answer) for g in gold] == [
      ('g1', 'a', 'yes'), ('g2', 'b', 'no'), ('g3', 'c', 'yes'), ('g4', 'd', 'no'),
      ('g5', 'e', 'yes')]


def test_gold_clip_with_two_answers_names_line(tmp_path):
  rows = common.read_rows(_records(tmp_path / 'r.csv', [
      ('g1', 'a', 'w1', 'yes', 1, 'yes'), ('g1', 'a', 'w2', 'yes', 1, 'no')]), ('clip_id',))
  with pytest.raises(common.CurationInputError, match=r"r.csv:3: gold clip 'g1'"):
    consensus.gold_clips(rows, tmp_path / 'r.csv')


def test_consensus_binary(tmp_path):
  rows = [(f'c{i}', 'cls', f'w{j}', 'yes', 0, '') for i in range(2)
          for j in range(3)]
  rows += [('c9', 'cls', 'w1', 'no', 0, ''), ('g', 'gcls', 'w1', 'no', 1, 'yes'),
           ('h', 'hcls', 'w2', 'no', 1, 'no')]
  records = _records(tmp_path / 'r.csv', rows)
  out = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.curation.consensus',
       f'--records={records}', f'--out_dir={tmp_path}/out'],
      capture_output=True, text=True, check=True).stdout
  assert '2 accepted, 0 rejected, 1 pending' in out
  assert 'low accuracy: worker w1 is at 0/1 on gold clips (under 50%)' in out
  assert 'worker w2' not in out
  with open(tmp_path / 'out' / 'next_batch.csv') as f:
    assert [r['clip_id'] for r in csv.DictReader(f)] == ['c9']
  with open(tmp_path / 'out' / 'tasks.csv') as f:
    task = list(csv.DictReader(f))
  assert sorted((r['clip_id'], r['is_gold'], r['gold_answer']) for r in task) == [
      ('c9', 'False', ''), ('g', 'True', 'yes'), ('h', 'True', 'no')]
  with open(tmp_path / 'out' / 'warnings.csv') as f:
    assert [(r['worker_id'], r['line']) for r in csv.DictReader(f)] == [('w1', '9')]
  # Too few gold clips for the 2 gold slots: one line, no traceback.
  lone = _records(tmp_path / 'lone.csv', rows[:-1])
  bad = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.curation.consensus',
       f'--records={lone}', f'--out_dir={tmp_path}/out2'],
      capture_output=True, text=True)
  assert bad.returncode != 0 and '1 gold clip(s) for 2 gold slots' in bad.stderr
  assert 'Traceback' not in bad.stderr


def test_bad_response_names_line(tmp_path):
  rows = common.read_rows(_records(tmp_path / 'r.csv', [
      ('c', 'a', 'w', 'maybe', 0, '')]), ('clip_id',))
  with pytest.raises(common.CurationInputError, match=r'r.csv:2.*maybe'):
    consensus.decide_all(rows, tmp_path / 'r.csv')


# --- de-duplication (§3.4) --------------------------------------------------

def test_one_clip_per_video_is_seeded():
  clips = [dict(clip_id=f'{v}{i}', youtube_id=v) for v in 'ab' for i in range(3)]
  kept, dropped = dedup.one_clip_per_video(clips, seed=3)
  assert sorted(c['youtube_id'] for c in kept) == ['a', 'b']
  assert len(dropped) == 4
  assert kept == dedup.one_clip_per_video(clips, seed=3)[0]


def test_blockwise_pairs_equal_full_matrix_and_groups_found():
  rng = np.random.default_rng(0)
  base = rng.normal(size=(6, 32))
  groups = [[0, 1, 2], [3], [4, 5], [6], [7], [8]]
  emb = np.concatenate([base[:1] + 0.01 * rng.normal(size=(3, 32)),
                        base[1:2], base[2:3] + 0.01 * rng.normal(size=(2, 32)),
                        base[3:6]])
  pairs = dedup.similar_pairs(emb, 0.97, block=4)
  e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
  full = np.argwhere(np.triu(e @ e.T >= 0.97, k=1))
  assert sorted(map(tuple, pairs)) == sorted(map(tuple, full))
  assert dedup.connected_components(len(emb), pairs) == groups


def test_dedup_keeps_one_per_component_with_class_override():
  e = {'a1': [1, 0], 'a2': [0.99, 0.05], 'a3': [0, 1], 'b1': [1, 0],
       'b2': [0.99, 0.14]}
  clips = [dict(clip_id=k, youtube_id=k, label=k[0]) for k in e]
  emb = {k: np.array(v, float) for k, v in e.items()}
  out = dedup.dedup(clips, emb, seed=0)
  kept = sorted(c['clip_id'] for c in out['kept'])
  assert len(kept) == 3 and 'a3' in kept            # a1~a2 and b1~b2 merged
  assert out['components']['a'][0]['members'] == ['a1', 'a2']
  # b1, b2 have cosine 0.990: a stricter class threshold keeps both.
  out = dedup.dedup(clips, emb, class_thresholds={'b': 0.995})
  assert sum(c['label'] == 'b' for c in out['kept']) == 2
  with pytest.raises(ValueError, match='no clips'):
    dedup.dedup(clips, emb, class_thresholds={'zzz': 0.9})


def test_parse_class_thresholds():
  assert dedup.parse_class_thresholds(['scuba diving=0.99']) == {
      'scuba diving': 0.99}
  with pytest.raises(ValueError, match='expected'):
    dedup.parse_class_thresholds(['scuba diving'])


# --- review (§3.4) and bias (§3.5) -------------------------------------------

def _scores(tmp_path):
  scores = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.4, 0.5, 0.1],
                     [0.1, 0.2, 0.7], [0.1, 0.8, 0.1], [0.6, 0.1, 0.3]])
  path = tmp_path / 'scores.npz'
  np.savez(path, ids=np.array([f'c{i}' for i in range(6)]),
           labels=np.array([0, 0, 0, 2, 2, -1]), scores=scores,
           class_names=np.array(['x', 'y', 'z']))
  return scores_lib.load_scores(path)


def test_review_confusions_and_ranking(tmp_path):
  s = _scores(tmp_path)
  conf = review.top_confusions(s, top=5)
  assert [(r['label'], r['confused_with'], r['count']) for r in conf] == [
      ('x', 'y', 2), ('z', 'y', 1)]
  ranking = [r for r in review.confidence_ranking(s) if r['label'] == 'x']
  assert [r['clip_id'] for r in ranking] == ['c1', 'c2', 'c0']


def test_bias_flags_gap_with_counts(tmp_path):
  s = _scores(tmp_path)
  attrs = {'c0': 'f', 'c1': 'm', 'c2': 'm', 'c3': 'f', 'c4': 'm'}
  rows = bias.accuracy_by_attribute(s, attrs, gap=0.5, min_count=1)
  x = {r['value']: r for r in rows if r['label'] == 'x'}
  assert (x['f']['accuracy'], x['m']['count'], x['m']['accuracy']) == (1.0, 2, 0.0)
  assert x['f']['flagged'] and x['f']['gap'] == 1.0
  rows = bias.accuracy_by_attribute(s, attrs, gap=0.5, min_count=2)
  assert not any(r['flagged'] for r in rows)


def test_scores_file_errors(tmp_path):
  with pytest.raises(common.CurationInputError, match='no such file'):
    scores_lib.load_scores(tmp_path / 'none.npz')
  np.savez(tmp_path / 'bad.npz', ids=np.array(['a']))
  with pytest.raises(common.CurationInputError, match='missing arrays'):
    scores_lib.load_scores(tmp_path / 'bad.npz')
