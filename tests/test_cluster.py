"""Clusters vs categories: scores on fixtures with a known answer, and the CLI."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import visrec
from visrec.analysis.cluster import cluster_vs_labels, purity_score
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError


def blobs(n_per: int = 30, labels: tuple[str, ...] = ("shoe", "shirt", "bag"), seed: int = 0):
    """Well-separated Gaussian blobs in 6-d, one per label (blob j centred at 20 * e_j)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for j, lab in enumerate(labels):
        centre = np.zeros(6)
        centre[j] = 20.0
        xs.append(centre + rng.normal(scale=0.5, size=(n_per, 6)))
        ys += [lab] * n_per
    return np.vstack(xs).astype(np.float32), ys


def test_missing_labels_are_an_error_not_a_nan_category() -> None:
    # a styles table reindexed onto the vector ids leaves NaN for items it lacks:
    # str(NaN) made "nan" a category of its own, counted in ARI and purity
    import numpy as np

    from visrec.analysis.cluster import cluster_vs_labels
    from visrec.errors import VisrecError

    x = np.random.default_rng(0).random((6, 3))
    with pytest.raises(VisrecError, match=r"^cluster: 2 labels are missing .*position 1\)"):
        cluster_vs_labels(x, ["a", float("nan"), "b", None, "a", "b"], k=2)


def test_purity_by_hand():
    # cluster 0: 5 of A, 1 of B -> 5; cluster 1: 2 of A, 2 of B -> 2; (5 + 2) / 10
    assert purity_score(np.array([[5, 1], [2, 2]])) == pytest.approx(0.7)
    assert purity_score(pd.DataFrame([[0, 3], [4, 0], [1, 2]])) == pytest.approx(9 / 10)
    with pytest.raises(VisrecError, match="the count table is empty"):
        purity_score(np.zeros((2, 2)))


def test_separated_blobs_match_labels_exactly():
    x, y = blobs()
    res = cluster_vs_labels(x, y)
    assert res.k == 3 and res.n == 90
    assert res.ari == pytest.approx(1.0)
    assert res.nmi == pytest.approx(1.0)
    assert res.purity == pytest.approx(1.0)
    # clusters are renumbered so the table is diagonal, labels most frequent first
    # (all tie at 30, so alphabetical)
    assert list(res.table.columns) == ["bag", "shirt", "shoe"]
    np.testing.assert_array_equal(res.table.to_numpy(), np.diag([30, 30, 30]))
    lab = np.asarray(y)
    for c in range(3):
        assert len(set(lab[res.assignments == c])) == 1


def test_shuffled_labels_score_near_chance():
    x, y = blobs(n_per=100)
    shuffled = list(np.random.default_rng(1).permutation(y))
    res = cluster_vs_labels(x, shuffled)
    assert abs(res.ari) < 0.03
    assert res.nmi < 0.03
    # each cluster holds ~1/3 of each label; purity can't fall below 1/3
    assert 1 / 3 <= res.purity < 0.45


def test_k_differs_from_label_count_and_json_shape():
    x, y = blobs()
    res = cluster_vs_labels(x, y, k=6, random_state=3)
    assert res.k == 6 and res.table.shape == (6, 3)
    assert res.table.to_numpy().sum() == 90
    assert res.purity == pytest.approx(1.0)  # splitting pure blobs keeps them pure
    assert res.ari < 1.0
    out = res.to_dict()
    assert set(out) == {"k", "n", "ari", "nmi", "purity", "majority_share", "chance", "table"}
    assert out["majority_share"] == pytest.approx(1 / 3)  # three blobs of 30
    assert set(out["table"]) == {str(c) for c in range(6)}
    assert sum(sum(row.values()) for row in out["table"].values()) == 90
    json.dumps(out)  # plain JSON types only
    text = res.format()
    assert "ARI" in text and "purity" in text and "cluster 5" in text
    assert "all in one cluster: 0.333" in text


def test_bad_input_raises():
    x, y = blobs()
    with pytest.raises(VisrecError, match="labels"):
        cluster_vs_labels(x, y[:-1])
    with pytest.raises(VisrecError, match="k=200"):
        cluster_vs_labels(x, y, k=200)
    x2 = x.copy()
    x2[4, 0] = np.nan
    x2[7, 1] = np.inf
    with pytest.raises(VisrecError, match=r"vectors row 4 \(2 rows in all\) holds NaN"):
        cluster_vs_labels(x2, y)


def _write_fixture(tmp_path: Path) -> tuple[Path, Path]:
    x, y = blobs(n_per=20)
    ids = [f"p{i}" for i in range(len(y))]
    has = np.ones(len(y), dtype=bool)
    has[0] = False  # no image: must be left out even though it has a label
    x[0] = 0.0
    extra_ids = [*ids, "nolabel"]
    vecs = np.vstack([x, np.full((1, 6), 20.0, dtype=np.float32)])
    write_vectors(
        tmp_path / "v.parquet",
        ItemVectors(ids=extra_ids, vectors=vecs, has_image=np.append(has, True)),
    )
    lines = ["id,kind,other"]
    lines += [f"{i},{lab},x" for i, lab in zip(ids, y, strict=True)]
    lines.append("extra,kind,with,unquoted,commas")  # repaired: extras join 'other'
    lines.append("short,line")  # too few fields: skipped
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "v.parquet", tmp_path / "labels.csv"


def test_cli_cluster_reports_drops_and_writes_json(tmp_path, capsys: pytest.CaptureFixture[str]):
    v, labels = _write_fixture(tmp_path)
    out = tmp_path / "res" / "c.json"
    argv = [
        "cluster",
        str(v),
        "--labels",
        str(labels),
        "--id-col",
        "id",
        "--label-col",
        "kind",
        "--json",
        str(out),
    ]
    rc = main(argv)
    assert rc == 0
    shown, text = capsys.readouterr()  # results on stdout, what was left out on stderr
    assert shown.startswith("K-means with k=3 on 59 items") and "left out" not in shown
    assert "skipped 1 record" in text and "1 warning, rows kept: " in text
    assert (
        "left out 1 without an image (has_image false, or an all-zero vector) and 1 without a label"
        in text
    )
    data = json.loads(out.read_text())
    assert set(data) == {
        "k", "n", "ari", "nmi", "purity", "majority_share", "chance", "table", "run"
    }  # fmt: skip
    # how the result was made: the command line as typed, this version, when
    assert shlex.split(data["run"]["command"]) == ["visrec", *argv]
    assert data["run"]["visrec"] == visrec.__version__ and data["run"]["created"][:2] == "20"
    assert data["k"] == 3 and data["n"] == 59
    assert data["ari"] == pytest.approx(1.0) and data["purity"] == pytest.approx(1.0)
    assert data["majority_share"] == pytest.approx(20 / 59)  # the baseline purity beats
    assert sorted(sum(r.values()) for r in data["table"].values()) == [19, 20, 20]


def test_cli_cluster_keep_and_top_labels(tmp_path, capsys: pytest.CaptureFixture[str]):
    v, labels = _write_fixture(tmp_path)
    base = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "kind"]
    out = tmp_path / "k.json"
    assert main([*base, "--keep", "shoe,bag", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["k"] == 2 and data["n"] == 39  # p0 (shoe) has no image
    assert "left out 20 items with other labels" in capsys.readouterr().err
    assert main([*base, "--top-labels", "2", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    # shirt and bag have 20 labelled images each, shoe 19: the top two are the 20s
    assert data["k"] == 2 and data["n"] == 40
    assert sorted(next(iter(data["table"].values()))) == ["bag", "shirt"]
    # one label left: scores fixed by construction, refused
    assert main([*base, "--top-labels", "1"]) == 2
    assert "at least 2 distinct labels" in capsys.readouterr().err
    assert main([*base, "--keep", "hat"]) == 2
    assert "'hat'" in capsys.readouterr().err


def test_cli_cluster_notes_tiny_labels_that_k_counts(tmp_path, capsys: pytest.CaptureFixture[str]):
    rng = np.random.default_rng(0)
    centres = {"shirt": 5.0, "shoe, boot": -5.0, "pin": 0.0}
    sizes = {"shirt": 60, "shoe, boot": 60, "pin": 2}  # pin: 2 of 122 items, under 2%
    ids, labs, rows = [], [], []
    for lab, n in sizes.items():
        for j in range(n):
            ids.append(f"{lab[:4]}{j}")
            labs.append(lab)
            rows.append(centres[lab] + rng.normal(size=4))
    write_vectors(
        tmp_path / "v.parquet",
        ItemVectors(ids=ids, vectors=np.asarray(rows), has_image=[True] * len(ids)),
    )
    table = "id,kind\n" + "".join(f'{i},"{lab}"\n' for i, lab in zip(ids, labs, strict=True))
    (tmp_path / "t.csv").write_text(table)
    base = ["cluster", str(tmp_path / "v.parquet"), "--labels", str(tmp_path / "t.csv")]
    base += ["--id-col", "id", "--label-col", "kind"]
    report = tmp_path / "r.html"
    assert main([*base, "--report", str(report)]) == 0
    err = capsys.readouterr().err
    assert "note: 1 of the 3 labels holds under 2% of the items ('pin' 2)" in err
    # the suggestion can be pasted: a label with a comma is quoted as --keep reads it
    # quoted for the shell: pasted as shown, it keeps the two labels
    assert "--keep 'shirt,\"shoe, boot\"' (or --top-labels 2)" in err
    # and the report says it too: its ARI is read without the terminal
    html = report.read_text()
    assert "1 of the 3 labels holds under 2% of the items (&#x27;pin&#x27; 2)" in html
    assert main([*base, "--keep", 'shirt,"shoe, boot"', "--report", str(report)]) == 0
    assert "hold under 2%" not in capsys.readouterr().err
    assert "hold under 2%" not in report.read_text()


def test_cli_cluster_missing_column_is_a_clear_error(tmp_path, capsys: pytest.CaptureFixture[str]):
    v, labels = _write_fixture(tmp_path)
    rc = main(["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "x"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "'x'" in err and "labels.csv" in err
    # the file's own column names, not the loader's internal "_line" or renamed "item_id"
    assert "(columns: id, kind, other)" in err and "_line" not in err
    # the id column named as the label column: it is there, so say what is wrong
    rc = main(["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "id"])
    assert rc == 2
    assert capsys.readouterr().err == (
        f"error: {labels}: 'id' is the id column, so it cannot be the label column too; "
        "name another (columns: id, kind, other)\n"
    )


def test_cli_cluster_names_labels_spelt_otherwise(tmp_path, capsys: pytest.CaptureFixture[str]):
    # half the table's ids zero-padded: "left out 10 without a label", no hint why
    x, y = blobs(n_per=10)
    ids = [str(100 + i) for i in range(len(y))]
    v = tmp_path / "v.parquet"
    write_vectors(v, ItemVectors(ids=ids, vectors=x, has_image=np.ones(len(y), dtype=bool)))
    spelt = [i.zfill(6) if n % 3 == 0 else i for n, i in enumerate(ids)]
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "id,kind\n" + "".join(f"{i},{lab}\n" for i, lab in zip(spelt, y, strict=True))
    )
    argv = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "kind"]
    assert main(argv) == 0
    got = capsys.readouterr()
    said = (
        f"{v}: 30 items; left out 0 without an image (has_image false, or an all-zero vector) "
        f"and 10 without a label in {labels} (not in it, or with an empty label)\n"
        f"note: 10 of the items without a label are in {labels} spelt otherwise ('100' as "
        "'000100', '103' as '000103', '106' as '000106', ...): ids are compared as written\n"
    )
    # said before the wait
    assert got.err == said + "clustering 20 items (K-means, k=3, 10 starts) ...\n"
    assert got.out.startswith("K-means with k=3 on 20 items")  # stdout: the results only
    # --quiet hides the progress line only: what was left out is still said
    assert main([*argv, "-q"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == said and quiet.out == got.out


def test_real_styles_table_reads_cleanly(shared_data):
    from visrec.commands.cluster import read_label_table

    path = shared_data / "fashion-products" / "styles.csv"
    ids, labels, notes = read_label_table(str(path), "id", "masterCategory")
    assert len(ids) == len(labels) == 3000 and notes == []
    counts = labels.value_counts()
    assert counts["Apparel"] == 1683
    assert counts["Footwear"] == 651
    assert counts["Accessories"] == 650
    assert ids.iloc[0] == "10001" and ids.is_unique


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 20), min_size=3, max_size=3), min_size=1, max_size=6))
def test_purity_bounds(rows):
    table = np.array(rows)
    if table.sum() == 0:
        return
    p = purity_score(table)
    # each cluster's maximum is at least its count of any one label, so purity is at
    # least the share of the most frequent label; and at most 1
    assert table.sum(axis=0).max() / table.sum() - 1e-12 <= p <= 1.0


def test_an_all_zero_vector_is_no_image_and_placeholders_cannot_fill_k(
    tmp_path, capsys: pytest.CaptureFixture[str]
):
    x, y = blobs(n_per=10)
    x[:3] = 0.0  # a file from another tool: has_image true, zeros for no picture
    ids = [f"p{i}" for i in range(len(y))]
    write_vectors(tmp_path / "v.parquet", ItemVectors(ids, x, np.ones(len(y), dtype=bool)))
    lines = ["id,kind", *(f"p{i},{lab}" for i, lab in enumerate(y))]
    (tmp_path / "l.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "c.json"
    argv = ["cluster", str(tmp_path / "v.parquet"), "--labels", str(tmp_path / "l.csv"),
            "--id-col", "id", "--label-col", "kind", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert "left out 3 without an image (has_image false, or an all-zero vector)" in (
        capsys.readouterr().err
    )
    assert json.loads(out.read_text())["n"] == len(y) - 3
    # one picture shared by every item (a placeholder): no K-means with empty clusters
    with pytest.raises(VisrecError, match=r"only 2 distinct vectors, fewer than k=3"):
        cluster_vs_labels(
            np.repeat([[1.0, 0.0], [0.0, 1.0]], 5, axis=0), ["a", "b", "c"] * 3 + ["a"]
        )


def _blobs(
    sizes_labels: list[tuple[int, list[str]]], seed: int = 0
) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    xs: list[np.ndarray] = []
    labs: list[str] = []
    for c, (size, labels) in enumerate(sizes_labels):
        centre = np.zeros(8)
        centre[c] = 50.0
        xs.append(centre + rng.normal(0, 0.5, (size, 8)))
        labs += labels
    return np.vstack(xs), labs


def test_cluster_columns_most_frequent_label_first() -> None:
    # columns = labels, most frequent first (then by name)
    from visrec.analysis.cluster import cluster_vs_labels

    x, labs = _blobs([(6, ["b"] * 6), (3, ["a"] * 3), (1, ["c"])])
    res = cluster_vs_labels(x, labs, k=3)
    assert list(res.table.columns) == ["b", "a", "c"]
    assert res.table.to_numpy().tolist() == [[6, 0, 0], [0, 3, 0], [0, 0, 1]]


def test_clusters_sharing_a_majority_label_bigger_first() -> None:
    # two clusters whose majority label is "a": the bigger one is cluster 0
    from visrec.analysis.cluster import cluster_vs_labels

    x, labs = _blobs([(3, ["a"] * 3), (7, ["a"] * 6 + ["b"]), (5, ["b"] * 5)])
    res = cluster_vs_labels(x, labs, k=3)
    assert list(res.table.columns) == ["a", "b"]
    assert res.table.to_numpy().tolist() == [[6, 1], [3, 0], [0, 5]]


@pytest.mark.parametrize("seed", range(6))
def test_cluster_assignments_are_numbered_as_the_table(seed: int) -> None:
    # the numbering of assignments must be the table's (the report's image grids
    # pick items by assignment): crosstab(assignments, labels) == table
    from visrec.analysis.cluster import cluster_vs_labels

    rng = np.random.default_rng(seed)
    sizes = rng.permutation([2, 3, 4, 5, 6])
    names = ["p", "q", "r", "s", "t"]
    x, labs = _blobs([(int(s), [names[j]] * int(s)) for j, s in enumerate(sizes)], seed)
    perm = rng.permutation(len(labs))
    x, labs = x[perm], [labs[i] for i in perm]
    res = cluster_vs_labels(x, labs, k=5, random_state=seed)
    got = (
        pd.crosstab(pd.Series(res.assignments), pd.Series(labs))
        .reindex(index=res.table.index, columns=res.table.columns, fill_value=0)
        .to_numpy()
    )
    np.testing.assert_array_equal(got, res.table.to_numpy())


def test_pca_map_says_how_much_of_the_variance_it_shows() -> None:
    from visrec.analysis.cluster import pca_2d

    # variance 4 along one axis, 1 along another, none on the third: 80 % and 20 %
    x = np.array([[2, 0, 0], [-2, 0, 0], [0, 1, 0], [0, -1, 0]], dtype=np.float32)
    coords, shares = pca_2d(x)
    assert coords.shape == (4, 2)
    assert shares == pytest.approx((0.8, 0.2))
    assert pca_2d(x[:1])[1] == (0.0, 0.0)  # one item: no map to speak of


def test_nmi_and_purity_come_with_their_level_for_shuffled_labels() -> None:
    # labels drawn independently of the vectors, more clusters than labels: NMI and
    # purity are well above 0 and the one-cluster share, and only the shuffled levels
    # say that is chance (as ARI does)
    from sklearn.metrics import normalized_mutual_info_score

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8))
    labels = [f"c{i}" for i in rng.integers(0, 10, 300)]
    res = cluster_vs_labels(x, labels, k=50, random_state=0)
    assert abs(res.ari) < 0.05 and res.nmi > 0.15 and res.purity > 2 * res.majority_share
    assert abs(res.nmi - res.chance_nmi) < 0.05 and abs(res.purity - res.chance_purity) < 0.05
    assert f"(labels shuffled: {res.chance_nmi:.3f})" in res.format()
    assert res.to_dict()["chance"] == {
        "nmi": res.chance_nmi, "purity": res.chance_purity, "shuffles": 20,
        "ari_p": res.ari_p, "ari_shuffles": 199,
    }  # fmt: skip
    assert res.ari_p > 0.05  # labels the vectors know nothing of: ARI is no finding
    # the levels are those of scikit-learn's NMI on the same shuffles
    from visrec.analysis.cluster import shuffled_levels

    codes = pd.factorize(pd.Series(labels, dtype=object))[0]
    shuffles = np.random.default_rng(7)
    expected = np.mean(
        [normalized_mutual_info_score(shuffles.permutation(codes), res.assignments)
         for _ in range(20)]
    )  # fmt: skip
    assert shuffled_levels(res.assignments, np.asarray(labels), 7)[0] == pytest.approx(expected)
    # labels the clusters do find: far above their shuffled level
    blobs_x, blobs_y = blobs()
    found = cluster_vs_labels(blobs_x, blobs_y, random_state=0)
    assert found.nmi > 0.9 and found.chance_nmi < 0.1


def test_ari_gets_a_permutation_p() -> None:
    from visrec.analysis.cluster import ari_permutation_p

    # a weak but real link on many items: ARI small, every shuffle below it
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 3000)
    clusters = np.where(rng.random(3000) < 0.2, labels, rng.integers(0, 4, 3000))
    assert ari_permutation_p(clusters, labels.astype(str)) == pytest.approx(1 / 200)
    # none on a dozen items: shuffles reach it often
    small = ari_permutation_p(rng.integers(0, 3, 12), rng.integers(0, 3, 12).astype(str))
    assert small > 0.05


def test_a_label_with_a_control_character_is_printed_escaped() -> None:
    from visrec.analysis.cluster import cluster_vs_labels

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(20, 4)).astype(np.float32)
    labels = ["esc\x1b[31mred"] * 10 + ["bell\x07"] * 10
    text = cluster_vs_labels(vecs, labels, k=2).format()
    assert "\x1b" not in text and "\x07" not in text
    assert "'esc\\x1b[31mred'" in text and "'bell\\x07'" in text
