"""Clusters vs categories: K-means on image vectors, compared with item labels.

The tutorial clustered its review photos with K-means (k=3) and eyeballed the clusters
against the product category. Here the comparison is measured: a cluster x label count
table plus three agreement scores,

* ARI (adjusted Rand index): 1 for identical partitions, about 0 for chance;
* NMI (normalised mutual information, arithmetic mean): 1 identical, and near 0 for
  independent labels only when there are many items per cluster;
* purity: the share of items whose cluster's most common label is their own label.
  It is easy to inflate with many clusters (k = n gives 1.0), so read it with ARI/NMI.

NMI and purity are not corrected for chance (ARI is): next to them, their mean with
the labels shuffled against the same clusters (``SHUFFLES`` times), which is what a
picture that says nothing about the category scores. ARI gets a permutation p
(``ARI_SHUFFLES`` shuffles): on a large catalogue an ARI of 0.03 can be far above
chance, and on 12 items one of 0.2 can be chance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from visrec.analysis._args import (
    integer_arg,
    missing_labels,
    row_hashes,
    seed_arg,
    unusable_rows,
    vector_matrix,
)
from visrec.embed.store import UNUSABLE_VALUES
from visrec.errors import ArgumentTypeError, VisrecError, agree, counted


def purity_score(table: pd.DataFrame | np.ndarray) -> float:
    """Purity of a clusters x labels count table.

    ``sum over clusters of (largest label count in the cluster) / total count``.

    Parameters
    ----------
    table : DataFrame or ndarray of shape (n_clusters, n_labels)
        Non-negative counts.
    """
    counts = np.asarray(table, dtype=np.float64)
    # a 1-D table failed inside numpy; a negative or NaN cell gave a purity above 1 or nan
    if counts.ndim != 2:
        raise VisrecError(f"purity: a count table of shape {counts.shape}; expected 2-D")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise VisrecError("purity: the count table holds a negative, missing or infinite count")
    total = counts.sum()
    if total <= 0:
        raise VisrecError("purity: the count table is empty")
    return float(counts.max(axis=1).sum() / total)


@dataclass
class ClusterResult:
    """Outcome of :func:`cluster_vs_labels`.

    Attributes
    ----------
    k : int
        Number of clusters.
    n : int
        Number of items clustered.
    ari, nmi, purity : float
        Agreement between clusters and labels (see the module docstring).
    chance_nmi, chance_purity : float
        The mean NMI and purity of the same clusters with the labels shuffled
        (``SHUFFLES`` times, seeded): their level for labels the pictures know nothing of.
    ari_p : float
        The share of ``ARI_SHUFFLES`` label shuffles (the observed labels counted as
        one) whose ARI reaches the observed one: a permutation p.
    table : DataFrame of shape (k, n_labels)
        Counts; index = cluster number (0..k-1, ordered by their most common label, then
        by size), columns = labels (most frequent first).
    assignments : ndarray of int64, shape (n,)
        Cluster number of each item, numbered as in ``table``.
    """

    k: int
    n: int
    ari: float
    nmi: float
    purity: float
    table: pd.DataFrame
    assignments: np.ndarray
    chance_nmi: float = float("nan")
    chance_purity: float = float("nan")
    ari_p: float = float("nan")

    def __repr__(self) -> str:  # counts and scores, not every assignment and the table
        return (
            f"ClusterResult(k={self.k} on {counted(self.n, 'item')}, "
            f"{counted(self.table.shape[1], 'label')}: ARI {self.ari:.3f}, NMI {self.nmi:.3f}, "
            f"purity {self.purity:.3f} (majority share {self.majority_share:.3f}))"
        )

    @property
    def majority_share(self) -> float:
        """Purity's naive baseline: the share of the most common label, the purity of
        one cluster holding every item."""
        counts = self.table.to_numpy(dtype=np.int64).sum(axis=0)
        return float(counts.max() / counts.sum()) if counts.sum() else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """``{"k", "n", "ari", "nmi", "purity", "majority_share", "chance", "table"}``
        (``chance``: ``{"nmi", "purity", "shuffles", "ari_p", "ari_shuffles"}``, the
        shuffled-labels levels and ARI's permutation p).

        ``table`` is a nested dict ``{cluster (str): {label: count}}`` with every label
        present in every cluster (zeros included), clusters in ``table`` order.
        """
        mat = self.table.to_numpy(dtype=np.int64)
        return {
            "k": int(self.k),
            "n": int(self.n),
            "ari": float(self.ari),
            "nmi": float(self.nmi),
            "purity": float(self.purity),
            "majority_share": self.majority_share,
            "chance": {
                "nmi": float(self.chance_nmi),
                "purity": float(self.chance_purity),
                "shuffles": SHUFFLES,
                "ari_p": float(self.ari_p),
                "ari_shuffles": ARI_SHUFFLES,
            },
            "table": {
                str(c): {str(lab): int(mat[r, j]) for j, lab in enumerate(self.table.columns)}
                for r, c in enumerate(self.table.index)
            },
        }

    def format(self) -> str:
        """Human-readable table and scores."""
        from visrec._display_width import wide_aware
        from visrec.errors import shown

        tab = self.table.copy()
        tab.index = [f"cluster {c}" for c in tab.index]
        # a label's escape sequence or line break would reach the terminal as it is
        tab.columns = pd.Index([shown(str(c)) for c in tab.columns], name=tab.columns.name)
        tab[total_name(tab.columns)] = tab.sum(axis=1)
        with wide_aware():  # a label in CJK stood its figures a column out
            table = tab.to_string()
        lines = [
            f"K-means with k={self.k} on {self.n:,} items",
            "",
            table,
            "",
            f"ARI     {self.ari:.3f}   (1 = clusters match the labels, 0 = chance; labels "
            f"shuffled {ARI_SHUFFLES} times: {ari_p_said(self.ari_p)})",
            f"NMI     {self.nmi:.3f}   (labels shuffled: {self.chance_nmi:.3f})",
            f"purity  {self.purity:.3f}   (share of items in their cluster's majority label; "
            f"all in one cluster: {self.majority_share:.3f}; labels shuffled: "
            f"{self.chance_purity:.3f})",
        ]
        return "\n".join(lines)


def cluster_vs_labels(
    vectors: ArrayLike,
    labels: ArrayLike,
    k: int | None = None,
    random_state: int = 0,
    say: Callable[[str], None] | None = None,
) -> ClusterResult:
    """K-means on ``vectors`` and agreement of the clusters with ``labels``.

    Parameters
    ----------
    vectors : ndarray of shape (n, d)
        One row per item (raw features; no scaling is applied, as in the tutorial).
    labels : sequence of str, length n
        Category of each item; at least 2 distinct labels (one label would make the
        scores meaningless: a VisrecError).
    k : int, optional
        Number of clusters; default the number of distinct labels.
    random_state : int, default 0
        Seed of scikit-learn's ``KMeans`` (``n_init=10``), so runs are reproducible;
        K-means takes the rows in an order of their vectors alone (never of the
        labels, which would then steer the clusters they are compared with), and the
        label shuffles in one of label and vector, so the same items in another order
        give the same figures.
    say : callable, optional
        Receives a line as K-means starts, once the inputs are checked (it takes
        seconds to a minute: ``visrec cluster`` says so on stderr).

    Returns
    -------
    ClusterResult
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    x = vector_matrix(vectors, "cluster", np.float64)
    if k is not None:
        integer_arg(k, "cluster: k")
    random_state = seed_arg(random_state, "cluster: random_state")
    labs = _label_array(labels)
    k_eff = _checked_k(x, labs, k)
    n = x.shape[0]
    if say is not None:
        say(f"clustering {n:,} items (K-means, k={k_eff}, 10 starts) ...")
    # K-means' starts and the label shuffles draw by row: rows in an order of their
    # content, so the same items in another file order give the same figures (a
    # reversed manifest flipped a verdict: ARI p 0.165 against 0.005). K-means' order
    # is the vectors' alone: sorted by label too, renaming a label moved the clusters
    # it is then compared with (ARI 0.661 -> 0.654 on 300 photos)
    hashes = row_hashes(x)
    km_order = np.argsort(hashes, kind="stable")
    order = _content_order(hashes, labs)
    km = KMeans(n_clusters=k_eff, n_init=10, random_state=random_state)
    x = x[km_order]  # rebound: a converted copy is not kept beside the sorted one
    raw = np.empty(n, dtype=np.int64)
    raw[km_order] = km.fit_predict(x)
    assignments, table = _diagonal_table(raw, labs, k_eff)

    chance_nmi, chance_purity = shuffled_levels(assignments[order], labs[order], random_state)
    ari_p = ari_permutation_p(assignments[order], labs[order], random_state)
    return ClusterResult(
        k=k_eff,
        n=n,
        ari=float(adjusted_rand_score(labs, assignments)),
        nmi=float(normalized_mutual_info_score(labs, assignments)),
        purity=purity_score(table),
        table=table,
        assignments=assignments,
        chance_nmi=chance_nmi,
        chance_purity=chance_purity,
        ari_p=ari_p,
    )


def _content_order(hashes: np.ndarray, labs: np.ndarray) -> np.ndarray:
    """The label shuffles' order of the rows: by label, then by the vector's 64-bit
    hash (``row_hashes``); the same for any order of the same rows (rows equal in both
    are interchangeable)."""
    return np.lexsort((hashes, labs.astype(str)))


def _label_array(labels: ArrayLike) -> np.ndarray:
    """The labels as an object array of str; a VisrecError if any is missing."""
    if isinstance(labels, Mapping | AbstractSet | pd.DataFrame):
        # a dict's iteration is its keys, a set's has no order, a table's its columns
        raise ArgumentTypeError(
            f"cluster: labels must be one label per item, in the vectors' order (a list, "
            f"array or Series), got {type(labels).__name__}"
        )
    given: Any = labels
    if isinstance(given, Iterable) and not isinstance(
        given, str | bytes | np.ndarray | pd.Series | pd.Index | list | tuple
    ):
        given = list(given)  # dict.values(), map, a generator
    labels = np.asarray(given, dtype=object)
    if labels.ndim != 1:  # one string, None, or a table: not one label per item
        raise VisrecError(f"cluster: labels must be 1-D (one per item), got shape {labels.shape}")
    missing = missing_labels(labels)
    if missing:
        # str(NaN) would make 'nan' a category of its own, counted in ARI and purity
        raise VisrecError(
            f"cluster: {counted(len(missing), 'label')} {agree(len(missing), 'is', 'are')} "
            f"missing (None/NaN; {agree(len(missing), '', 'the first ')}at position "
            f"{missing[0]}); drop "
            f"{agree(len(missing), 'that item or give it', 'those items or give them')} a label"
        )
    return np.asarray([str(v) for v in labels], dtype=object)


def _checked_k(x: np.ndarray, labs: np.ndarray, k: int | None) -> int:
    """The number of clusters to form; a VisrecError if ``x`` and ``labs`` cannot give it."""
    if x.ndim != 2:
        raise VisrecError(f"cluster: vectors must be 2-D (n, d), got shape {x.shape}")
    if x.shape[1] == 0:  # said as "only 0 distinct vectors ... a placeholder?"
        raise VisrecError("cluster: the vectors have width 0: nothing to cluster by")
    n = x.shape[0]
    if len(labs) != n:
        raise VisrecError(f"cluster: {n} vectors but {len(labs)} labels")
    where = unusable_rows(x)
    if where:
        raise VisrecError(f"cluster: vectors {where} holds {UNUSABLE_VALUES}")
    if n == 0:
        raise VisrecError("cluster: no items to cluster")
    distinct = sorted(set(labs.tolist()))
    if len(distinct) < 2:
        # One label makes every partition agree (k=1: ARI = NMI = purity = 1) or
        # disagree (ARI = NMI = 0) by construction, and purity is 1 whatever the clusters.
        raise VisrecError(
            f"cluster: {agree(n, 'the only item has', f'all {n:,} items have')} the label "
            f"{distinct[0]!r}; comparing clusters "
            "with labels needs at least 2 distinct labels (with one, ARI, NMI and purity "
            "are fixed by construction)"
        )
    n_labels = len(distinct)
    k_eff = n_labels if k is None else int(k)
    if k_eff < 1:
        raise VisrecError(f"cluster: k must be at least 1, got {k_eff}")
    if n < k_eff:
        raise VisrecError(f"cluster: {n:,} items cannot form k={k_eff} clusters (at most {n:,})")

    # rows as opaque bytes: np.unique(axis=0) sorts lexicographically, ~10x slower
    rows = np.ascontiguousarray(x).view(np.dtype((np.void, x.dtype.itemsize * x.shape[1])))
    n_distinct = len(np.unique(rows.ravel()))
    if n_distinct < k_eff:  # K-means would leave clusters empty (and sklearn warn)
        raise VisrecError(
            f"cluster: the {n:,} items have only {counted(n_distinct, 'distinct vector')}, fewer "
            f"than k={k_eff}: many share one picture (a placeholder?); lower k or leave "
            "those items out"
        )
    return k_eff


def _diagonal_table(
    raw: np.ndarray, labs: np.ndarray, k_eff: int
) -> tuple[np.ndarray, pd.DataFrame]:
    """``(assignments, table)``: ``raw`` renumbered by majority label, and the counts."""
    # Labels most frequent first; clusters renumbered so the table reads diagonally.
    lab_counts = pd.Series(labs).value_counts()
    lab_order = sorted(lab_counts.index, key=lambda lab: (-lab_counts[lab], str(lab)))
    counts = (
        pd.crosstab(pd.Series(raw, name="cluster"), pd.Series(labs, name="label"))
        .reindex(index=range(k_eff), columns=lab_order, fill_value=0)
        .astype(np.int64)
    )
    # columns are in label order, so a cluster's argmax column is its majority label's rank
    mat = counts.to_numpy()
    sizes = mat.sum(axis=1)
    major = np.where(sizes > 0, mat.argmax(axis=1), mat.shape[1])
    order = sorted(range(k_eff), key=lambda c: (int(major[c]), -int(sizes[c]), c))
    renumber = np.empty(k_eff, dtype=np.int64)
    renumber[np.asarray(order)] = np.arange(k_eff)
    assignments = renumber[raw]
    table = counts.loc[order].copy()
    table.index = pd.RangeIndex(k_eff, name="cluster")
    table.columns.name = "label"
    return assignments, table


#: label shuffles behind the chance levels of NMI and purity
SHUFFLES = 20
#: label shuffles behind ARI's permutation p (its smallest: 1 / 200)
ARI_SHUFFLES = 199


def _coded(assignments: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``(label codes, cluster codes, n_labels, n_clusters)``: each a 0..n-1 code, so a
    cluster x label count table is one bincount of ``clusters * n_labels + codes``."""
    codes = pd.factorize(pd.Series(labels, dtype=object))[0]
    clusters = pd.factorize(pd.Series(assignments))[0]
    return codes, clusters, int(codes.max()) + 1, int(clusters.max()) + 1


def ari_permutation_p(assignments: np.ndarray, labels: np.ndarray, random_state: int = 0) -> float:
    """ARI's permutation p: ``(1 + shuffles reaching the observed ARI) / (1 +
    ARI_SHUFFLES)``. A shuffle keeps both margins of the count table, so ARI moves only
    with the sum of C(n_ij, 2) over its cells: that sum is compared, one bincount a
    shuffle."""
    codes, clusters, n_lab, n_clu = _coded(assignments, labels)

    def pairs(lab: np.ndarray) -> int:
        cells = np.bincount(clusters * n_lab + lab, minlength=n_clu * n_lab).astype(np.int64)
        return int((cells * (cells - 1) // 2).sum())

    seen = pairs(codes)
    rng = np.random.default_rng(random_state)
    reached = sum(pairs(rng.permutation(codes)) >= seen for _ in range(ARI_SHUFFLES))
    return (1 + reached) / (1 + ARI_SHUFFLES)


def total_name(labels: Iterable[object]) -> str:
    """The header of a table's row-sum column: "total", or "(total)" when a label is
    called that (a category "total" lost its own column to the sums)."""
    taken = {str(x) for x in labels}
    name = "total"
    while name in taken:
        name = f"({name})"
    return name


def ari_p_said(p: float) -> str:
    """``"p = 0.015"``; ``"none reached it, p = 0.005"`` (the smallest p there is).
    Written as every other p (:func:`~visrec.evaluation.significance.p_said`): 0.05 is
    "0.0500" there, and was "0.050" here."""
    from visrec.evaluation.significance import p_said

    if not np.isfinite(p):
        return "p n/a"
    if p <= 1 / (1 + ARI_SHUFFLES):
        return f"none reached it, {p_said(p)}"
    return p_said(p)


def shuffled_levels(
    assignments: np.ndarray, labels: np.ndarray, random_state: int = 0
) -> tuple[float, float]:
    """The mean NMI (arithmetic normalisation, as scikit-learn's default) and purity of
    ``assignments`` against ``labels`` shuffled ``SHUFFLES`` times. From count tables:
    the entropies do not change under a shuffle, so each one costs a bincount."""
    codes, clusters, n_lab, n_clu = _coded(assignments, labels)
    n = len(codes)

    def entropy(counts: np.ndarray) -> float:
        p = counts[counts > 0] / n
        return float(-(p * np.log(p)).sum())

    h_lab = entropy(np.bincount(codes))
    h_clu = entropy(np.bincount(clusters))
    rng = np.random.default_rng(random_state)
    nmis, purities = [], []
    for _ in range(SHUFFLES):
        shuffled = rng.permutation(codes)
        table = np.bincount(clusters * n_lab + shuffled, minlength=n_clu * n_lab)
        table = table.reshape(n_clu, n_lab).astype(np.float64)
        purities.append(table.max(axis=1).sum() / n)
        if h_lab == 0 or h_clu == 0:  # one cluster: no information (sklearn: 0 or 1)
            nmis.append(float(h_lab == h_clu))
            continue
        outer = np.outer(table.sum(axis=1), table.sum(axis=0))
        hit = table > 0
        mi = float((table[hit] / n * np.log(n * table[hit] / outer[hit])).sum())
        nmis.append(max(mi, 0.0) / ((h_lab + h_clu) / 2))
    # rounded past float noise: a mean of shares equal to the one-cluster share printed
    # one 0.001 above it (0.6475000000000002 as 0.648 next to 0.647)
    return round(float(np.mean(nmis)), 12), round(float(np.mean(purities)), 12)


def sample_per_cluster(
    assignments: np.ndarray, ids: np.ndarray, per_cluster: int, rng: np.random.Generator
) -> dict[int, list[str]]:
    """Up to ``per_cluster`` ids of each cluster, drawn without replacement from its
    members sorted by id (the same draw for any row order of the file), listed in id
    order (for the report's image grids)."""
    out: dict[int, list[str]] = {}
    for c in np.unique(assignments):
        members = sorted(str(ids[i]) for i in np.flatnonzero(assignments == c))
        pick = rng.choice(len(members), size=min(per_cluster, len(members)), replace=False)
        out[int(c)] = [members[i] for i in np.sort(pick)]
    return out


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """``(n, 2)`` PCA coordinates of ``x`` (zeros where there are fewer dimensions) and
    the share of the variance of ``x`` each of the two components holds (0 where there
    is none): how much of the vectors a 2-D map can show."""
    from sklearn.decomposition import PCA

    if x.shape[0] < 2:
        return np.zeros((x.shape[0], 2)), (0.0, 0.0)
    n_comp = min(2, x.shape[0], x.shape[1])
    pca = PCA(n_components=n_comp, random_state=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # identical rows: no variance
        coords = pca.fit_transform(x.astype(np.float64))
        share = np.nan_to_num(np.asarray(pca.explained_variance_ratio_, dtype=np.float64))
    coords = np.nan_to_num(coords)
    # a component's sign is arbitrary and scikit-learn's choice of it changed between
    # versions (the map came out mirrored): the largest loading of each is positive
    comps = np.nan_to_num(pca.components_)
    signs = np.sign(comps[np.arange(n_comp), np.abs(comps).argmax(axis=1)])
    coords = coords * np.where(signs == 0, 1.0, signs)
    if n_comp < 2:
        coords = np.hstack([coords, np.zeros((len(coords), 2 - n_comp))])
    share = np.concatenate([share, np.zeros(2 - len(share))])
    return np.asarray(coords), (float(share[0]), float(share[1]))
