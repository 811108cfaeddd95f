"""What an outside reproducibility audit found (session 39): with ``--new-slots`` the
reserved places went to tied new items in the order the candidate file listed them,
where every other tie follows the model's seeded order."""

from __future__ import annotations

import numpy as np

from visrec.models.candidates import rank_block


def test_reserved_places_break_ties_by_candidate_position_not_by_new_pos_order() -> None:
    # candidates 0-1 known and best, 2-4 new; 3 and 4 tie
    scores = np.array([[5.0, 4.0, -1.0, -0.5, -0.5]])
    for new_pos in (np.array([2, 3, 4]), np.array([4, 3, 2]), np.array([2, 4, 3])):
        idx, val = rank_block(scores.copy(), 2, new_pos, new_slots=1)
        assert idx.tolist() == [[0, 3]], new_pos  # the earlier of the tied pair
        assert val.tolist() == [[5.0, -0.5]]
    idx, _ = rank_block(scores.copy(), 3, np.array([4, 3, 2]), new_slots=2)
    assert idx.tolist() == [[0, 3, 4]]


def test_cluster_figures_do_not_depend_on_the_row_order() -> None:
    from visrec.analysis.cluster import cluster_vs_labels

    rng = np.random.default_rng(0)
    # three loose groups, labels that follow them only partly: K-means' starts and the
    # label shuffles both matter here
    x = np.vstack([rng.normal(c, 1.5, size=(40, 4)) for c in (0.0, 2.0, 4.0)])
    labels = np.array(["a"] * 40 + ["b"] * 40 + ["c"] * 40, dtype=object)
    labels[rng.choice(120, 30, replace=False)] = "b"
    base = cluster_vs_labels(x, labels, k=3)
    for seed in (1, 2):
        perm = np.random.default_rng(seed).permutation(120)
        res = cluster_vs_labels(x[perm], labels[perm], k=3)
        assert (res.ari, res.nmi, res.purity) == (base.ari, base.nmi, base.purity)
        assert (res.ari_p, res.chance_nmi, res.chance_purity) == (
            base.ari_p, base.chance_nmi, base.chance_purity,
        )  # fmt: skip
        # each row keeps its own cluster
        assert res.assignments.tolist() == base.assignments[perm].tolist()
