"""Session 73 (clusterorder): K-means' input order is the vectors' alone.

``cluster_vs_labels`` sorted the rows by (label, vector hash) before K-means, so the
labels' names chose K-means' starts: on 300 fashion photos (k=3) ARI 0.661, and 0.654
with "Apparel" renamed "Zapparel". Clusters of pictures compared with labels must not
depend on those labels.
"""

from __future__ import annotations

import numpy as np

from visrec.analysis.cluster import cluster_vs_labels


def _loose_points(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """150 uniform points (K-means with k=5 has many near-equal optima there, so the
    row order decides which it finds) and labels of three sizes, 60 / 50 / 40."""
    rng = np.random.default_rng(seed)
    x = rng.random((150, 2))
    labels = np.array(["a"] * 60 + ["b"] * 50 + ["c"] * 40, dtype=object)
    return x, labels[rng.permutation(150)]


def test_renaming_a_label_leaves_the_clusters_as_they_are() -> None:
    # the old (label, hash) order moved the "a" rows from first to last: on seeds 0-4
    # the clusters differed (ARI between the two clusterings 0.86-0.98)
    for seed in range(5):
        x, labels = _loose_points(seed)
        base = cluster_vs_labels(x, labels, k=5)
        for names in ({"a": "z"}, {"a": "c", "c": "a"}, {"b": "0b"}):
            renamed = np.array([names.get(lab, lab) for lab in labels], dtype=object)
            res = cluster_vs_labels(x, renamed, k=5)
            # label sizes differ, so the clusters' numbering follows the same labels
            np.testing.assert_array_equal(res.assignments, base.assignments)
            assert (res.ari, res.nmi, res.purity) == (base.ari, base.nmi, base.purity)
            want = base.table.rename(columns=names)
            np.testing.assert_array_equal(res.table.to_numpy(), want.to_numpy())
            assert list(res.table.columns) == list(want.columns)


def test_equal_vectors_with_other_labels_cluster_alike_in_any_row_order() -> None:
    # K-means' order has no label to break ties of equal vectors: they stay adjacent,
    # so any order of them gives K-means the same matrix and the same clusters
    x, labels = _loose_points(7)
    x = np.vstack([x, x[:40]])  # 40 photos shown twice, under the other labels
    labels = np.concatenate([labels, np.roll(labels[:40], 1)])
    base = cluster_vs_labels(x, labels, k=5)
    for seed in (1, 2):
        perm = np.random.default_rng(seed).permutation(len(x))
        res = cluster_vs_labels(x[perm], labels[perm], k=5)
        np.testing.assert_array_equal(res.assignments, base.assignments[perm])
        assert (res.ari, res.nmi, res.purity, res.ari_p, res.chance_nmi) == (
            base.ari, base.nmi, base.purity, base.ari_p, base.chance_nmi,
        )  # fmt: skip
