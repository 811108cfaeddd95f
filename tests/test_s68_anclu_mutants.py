"""Session 68 (anclu): mutation audit of analysis/cluster.py and report/similar.py.

Audited: analysis/cluster.py (purity, majority share, to_dict/format, the default k and
its limits, K-means' starts and seed, the chance levels and ARI p and their seed, the
diagonal table's order, sample_per_cluster, missing labels) and report/similar.py (the
neighbours' tiles, ranks and rounded cosines, escaping of ids and labels, the query
outline, shared photos, the no-photo notes, notes, atomic writing). The command
(commands/cluster.py) was audited apart. Runner: /tmp/s68/anclu/mutants.py (exact
replace, restored byte for byte).

Mutants written: 45 (K1-K31 cluster: 24; S1-S24 similar: 21). Run against the old
tests (cluster: test_cluster, test_s64/test_s49_cluster_mutants, test_s51_cluster,
test_analysis_mutation_gaps, test_analysis_qa_fixes, test_analysis_qa3_fixes,
test_s49_cluster_html; similar: test_similar, test_s49/test_s63_similar_mutants,
test_s56_similar_look_alikes, test_report_accessibility, test_s58_html_spaces):
39 killed, 6 survived. Killed after, by this file: all 45 (each survivor checked to
pass on the real source and fail on its mutant). Equivalents: none.

Survivors and the tests that kill them:
- K10 ``k_eff < 1`` -> ``< 0`` (k=0 reached scikit-learn's own error):
  test_k_limits_are_checked_with_visrec_errors.
- K16, K17 chance levels / ARI p always drawn with seed 0, not random_state:
  test_the_seed_reaches_the_chance_levels_and_the_ari_p (recomputed with
  scikit-learn on shuffles drawn by hand).
- K21 ARI p counting shuffles ``>`` the observed (ties dropped):
  test_ari_p_counts_ties_with_the_observed_and_the_observed_itself.
- K28 sample_per_cluster ids in draw order, not id order:
  test_sample_per_cluster_draws_per_cluster_items_listed_by_id.
- S3 only the first five neighbours shown:
  test_every_neighbour_is_shown_with_its_rank_and_rounded_cosine.
Tests the helper wrote for old kills only (purity from rows, the scores on three blobs,
the chance levels, the table order, a missing label, a query-only photo) were dropped.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from visrec.analysis._args import row_hashes
from visrec.analysis.cluster import (
    ARI_SHUFFLES,
    SHUFFLES,
    ari_permutation_p,
    cluster_vs_labels,
)


def _by_hand_purity(assign: np.ndarray, labels: np.ndarray) -> float:
    """Each cluster's largest label count, summed, over n (loops, no numpy tricks)."""
    total = 0
    for c in set(assign.tolist()):
        members = [lab for a, lab in zip(assign, labels, strict=True) if a == c]
        total += max(members.count(lab) for lab in set(members))
    return total / len(labels)


def _three_blobs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """12 points in 3 far-apart tight blobs (sizes 5, 4, 3) and labels that disagree
    with them in places; returns (vectors, labels, blob of each point)."""
    rng = np.random.default_rng(3)
    blob = np.repeat([0, 1, 2], [5, 4, 3])
    centres = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]])
    x = centres[blob] + rng.normal(scale=0.1, size=(12, 2))
    labels = np.array(list("aaaab" + "bbbc" + "cca"), dtype=object)
    return x, labels, blob


def _content_order(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.lexsort((row_hashes(x), labels.astype(str)))


def _chance_by_hand(assign: np.ndarray, labels: np.ndarray, seed: int) -> tuple[float, float]:
    """SHUFFLES shuffles of the labels (the generator's permutation of the positions),
    scored with scikit-learn's NMI and a purity counted by hand."""
    rng = np.random.default_rng(seed)
    nmis, purities = [], []
    for _ in range(SHUFFLES):
        shuffled = labels[rng.permutation(len(labels))]
        nmis.append(normalized_mutual_info_score(shuffled, assign))
        purities.append(_by_hand_purity(assign, shuffled))
    return float(np.mean(nmis)), float(np.mean(purities))


def _ari_p_by_hand(assign: np.ndarray, labels: np.ndarray, seed: int) -> float:
    rng = np.random.default_rng(seed)
    seen = adjusted_rand_score(labels, assign)
    reached = 0
    for _ in range(ARI_SHUFFLES):
        shuffled = labels[rng.permutation(len(labels))]
        reached += adjusted_rand_score(shuffled, assign) >= seen - 1e-12
    return (1 + reached) / (1 + ARI_SHUFFLES)


def test_ari_p_counts_ties_with_the_observed_and_the_observed_itself() -> None:
    # K21 (> instead of >=), K22: two clusters of two and the labels matching them:
    # a third of the shuffles match as well (tie), and the observed counts as one
    assign = np.array([0, 0, 1, 1])
    labels = np.array(list("aabb"), dtype=object)
    p = ari_permutation_p(assign, labels, 0)
    assert p == pytest.approx(_ari_p_by_hand(assign, labels, 0))
    assert 0.2 < p < 0.5
    # no shuffle can beat a perfect match on a large split: p is its floor, 1 / 200
    big = np.repeat([0, 1], 30)
    assert ari_permutation_p(big, np.where(big == 0, "a", "b").astype(object), 1) == 1 / 200


def test_the_seed_reaches_the_chance_levels_and_the_ari_p() -> None:
    # K16, K17: both follow random_state (given in the rows' content order)
    x, labels, _ = _three_blobs()
    for seed in (0, 11):
        res = cluster_vs_labels(x, labels, random_state=seed)
        order = _content_order(x, labels)
        a, lab = res.assignments[order], labels[order]
        want_nmi, want_purity = _chance_by_hand(a, lab, seed)
        assert res.chance_nmi == pytest.approx(want_nmi, abs=1e-9)
        assert res.chance_purity == pytest.approx(want_purity, abs=1e-9)
        assert res.ari_p == pytest.approx(_ari_p_by_hand(a, lab, seed))
    # and the two seeds give other shuffles here
    assert _chance_by_hand(a, lab, 0) != _chance_by_hand(a, lab, 11)


def _neighbours(query: str, ids: list[str], scores: list[float]) -> object:
    from visrec.search.knn import Neighbours

    return Neighbours(query, ids, np.array(scores, dtype=np.float64))


def test_every_neighbour_is_shown_with_its_rank_and_rounded_cosine() -> None:
    # S3: a page of seven neighbours showed the first five
    from visrec.report.similar import render_similar_report

    ids = [f"n{j}" for j in range(7)]
    scores = [0.99949, 0.9, 0.81234, 0.7, 0.6, 0.55555, -0.12345]
    page = render_similar_report([_neighbours("q", ids, scores)], None, {})
    for rank, (i, s) in enumerate(zip(ids, scores, strict=True), 1):
        assert f"<figcaption>{i}<br>{rank}. cosine {round(s, 3):.3f}</figcaption>" in page
    assert page.count(". cosine ") == 7
    assert page.count("<figure") == 8  # the query and its seven neighbours


def test_k_limits_are_checked_with_visrec_errors() -> None:
    # K10: k = 0; K11: k = n is allowed; K12: k one above the distinct vectors
    from visrec.errors import VisrecError

    x = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]])
    labels = ["a", "a", "b", "b"]
    with pytest.raises(VisrecError, match=r"^cluster: k must be at least 1, got 0$"):
        cluster_vs_labels(x, labels, k=0)
    res = cluster_vs_labels(x, labels, k=4)  # one item a cluster: purity 1
    assert res.k == 4 and res.purity == 1.0
    assert sorted(res.assignments.tolist()) == [0, 1, 2, 3]
    with pytest.raises(VisrecError, match=r"4 items cannot form k=5 clusters \(at most 4\)"):
        cluster_vs_labels(x, labels, k=5)
    dup = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, 6.0]])  # 3 distinct rows
    assert cluster_vs_labels(dup, labels, k=3).k == 3
    with pytest.raises(VisrecError, match=r"only 3 distinct vectors, fewer than k=4"):
        cluster_vs_labels(dup, labels, k=4)


def test_sample_per_cluster_draws_per_cluster_items_listed_by_id() -> None:
    # K27 (one fewer), K28 (in draw order, not id order)
    from visrec.analysis.cluster import sample_per_cluster

    assign = np.array([0] * 10 + [1] * 2)
    ids = np.array([f"i{j:02d}" for j in range(12)])
    for seed in range(5):
        got = sample_per_cluster(assign, ids, 4, np.random.default_rng(seed))
        assert len(got[0]) == 4 and got[1] == ["i10", "i11"]  # all of a small cluster
        assert got[0] == sorted(got[0]) and len(set(got[0])) == 4
        assert set(got[0]) <= {f"i{j:02d}" for j in range(10)}
        # the members drawn are those the generator picks of the id-sorted members
        pick = np.random.default_rng(seed).choice(10, size=4, replace=False)
        assert set(got[0]) == {f"i{j:02d}" for j in pick}
