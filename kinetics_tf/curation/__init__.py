"""Dataset curation tools of the paper's §3, one binary per step, CSV/JSON in and out.

- ``candidates``: 10 s candidate clips around scored positions (§3.2).
- ``consensus``: labelling consensus, worker quality and class yield (§3.3).
- ``dedup``: one clip per video, then embedding de-duplication (§3.4).
- ``review``: top confusions and least-confident clips per class (§3.4).
- ``bias``: per-class accuracy split by an attribute (§3.5).
"""
