"""Tests of the §3 curation rules on hand-made records."""

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


def test_consensus_binary(tmp_path):
  rows = [(f'c{i}', 'cls', f'w{j}', 'yes', 0, '') for i in range(2)
          for j in range(3)]
  rows += [('c9', 'cls', 'w1', 'no', 0, ''), ('g', 'cls', 'w1', 'no', 1, 'yes')]
  records = _records(tmp_path / 'r.csv', rows)
  out = subprocess.run(
      [sys.executable, '-m', 'kinetics_tf.curation.consensus',
       f'--records={records}', f'--out_dir={tmp_path}/out'],
      capture_output=True, text=True, check=True).stdout
  assert '2 accepted, 0 rejected, 1 pending' in out
  with open(tmp_path / 'out' / 'next_batch.csv') as f:
    assert [r['clip_id'] for r in csv.DictReader(f)] == ['c9']


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
