"""Session 49: cluster / labels / rating KNN: small bugs mended, and tests that pin the
exact text and values a user sees (mutation survivors of an audit)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from visrec.analysis.cluster import ClusterResult, ari_p_said
from visrec.analysis.rating_knn import (
    KnnRatingResult,
    knn_predict,
    knn_predict_items,
    random_split,
)
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError

# --- bugs -------------------------------------------------------------------------------


def test_ari_p_is_written_as_every_other_p() -> None:
    # 0.05 read "p = 0.050" here and "p = 0.0500" in McNemar's line and the verdicts
    assert ari_p_said(0.05) == "p = 0.0500"
    assert ari_p_said(0.015) == "p = 0.015"
    assert ari_p_said(1 / 200) == "none reached it, p = 0.005"
    assert ari_p_said(float("nan")) == "p n/a"
    assert ari_p_said(1.0) == "p = 1.000"


def _knn_result(majority: float, labels: list[float]) -> KnnRatingResult:
    conf = pd.DataFrame(np.eye(len(labels), dtype=np.int64) * 5, index=labels, columns=labels)
    return KnnRatingResult(
        accuracy=0.5, majority_accuracy=0.25, majority_class=majority, mae=0.75,
        majority_mae=1.25, confusion=conf, n_train=40, n_test=10, labels=labels, k=3,
    )  # fmt: skip


def test_the_knn_table_stays_aligned_for_a_half_star_majority() -> None:
    lines = _knn_result(3.5, [3.0, 3.5, 4.0]).format().splitlines()
    head, knn, maj = lines[2], lines[3], lines[4]
    assert maj.startswith("majority class (3.5 stars, train) ")
    # every figure ends in the column of its header
    assert len(head) == len(knn) == len(maj)
    assert head.index("accuracy") + len("accuracy") == knn.index("0.500") + 5
    assert maj.index("0.250") == knn.index("0.500") and maj.index("1.250") == knn.index("0.750")
    # a whole-star majority keeps the 32-wide name column
    four = _knn_result(4.0, [3.0, 4.0]).format().splitlines()
    assert four[4] == f"{'majority class (4 stars, train)':32}    0.250   1.250"
    assert four[2] == f"{'':32} accuracy     MAE"


def test_rating_report_of_no_runs_is_a_clear_error() -> None:
    from visrec.report.rating import render_rating_report

    with pytest.raises(VisrecError, match=r"^result: 'runs' is empty or not a list of runs"):
        render_rating_report({"runs": []})
    with pytest.raises(VisrecError, match=r"^result: 'runs' is empty or not a list of runs"):
        render_rating_report({"runs": ["a"]})
    with pytest.raises(VisrecError, match=r"^result: a run has no 'model': not a result of"):
        render_rating_report({"runs": [{"seed": 0, "model": "a"}, {"seed": 0, "rmse": 1.0}]})


def test_knn_over_items_takes_positions_that_are_whole_numbers() -> None:
    items = np.asarray([[0.0], [1.0], [10.0], [11.0]], dtype=np.float32)
    y = np.asarray([1, 1, 5, 5])
    want = knn_predict_items(items, np.arange(4), y, np.asarray([1, 2]), k=1)
    assert want.tolist() == [1, 5]
    # a column read as floats, or an object array of numpy and Python ints
    got = knn_predict_items(items, np.arange(4.0), y, np.asarray([1.0, 2.0]), k=1)
    assert got.tolist() == want.tolist()
    obj = np.asarray([np.int64(0), 1, 2, 3], dtype=object)
    assert knn_predict_items(items, obj, y, [np.int64(1), 2], k=1).tolist() == want.tolist()
    with pytest.raises(VisrecError, match=r"train_items holds 1\.5 at index 1, not an item row"):
        knn_predict_items(items, [0, 1.5, 2, 3], y, [1], k=1)
    with pytest.raises(VisrecError, match=r"test_items holds None at index 0, not an item row"):
        knn_predict_items(items, np.arange(4), y, np.asarray([None], dtype=object), k=1)
    with pytest.raises(VisrecError, match=r"test_items holds '1' at index 0"):
        knn_predict_items(items, np.arange(4), y, np.asarray(["1"], dtype=object), k=1)
    with pytest.raises(VisrecError, match=r"holds position 4, outside the 4 item vectors"):
        knn_predict_items(items, np.arange(4), y, [4.0], k=1)


def test_knn_takes_a_label_column_and_names_a_missing_label() -> None:
    x = np.asarray([[0.0], [1.0], [10.0], [11.0]], dtype=np.float32)
    y = np.asarray([1, 1, 5, 5])
    flat = knn_predict(x, y, x, k=1)
    assert knn_predict(x, y.reshape(-1, 1), x, k=1).tolist() == flat.tolist() == [1, 1, 5, 5]
    with pytest.raises(VisrecError, match=r"y_train has shape \(4, 2\) for 4 training row"):
        knn_predict(x, np.ones((4, 2)), x, k=1)
    with pytest.raises(
        VisrecError,
        match=r"^knn_predict: y_train holds 1 missing label \(None/NaN; at "
        r"position 2\)",
    ):
        knn_predict(x, np.asarray([1, 1, None, 5], dtype=object), x, k=1)
    with pytest.raises(VisrecError, match=r"labels of kinds that cannot be ordered \(int, str\)"):
        knn_predict_items(x, np.arange(4), np.asarray([1, "a", 1, 1], dtype=object), [0], k=1)


# --- cluster: what format() prints ------------------------------------------------------


def test_cluster_format_prints_the_table_and_scores_as_computed() -> None:
    table = pd.DataFrame(
        [[3, 1], [0, 4]],
        index=pd.RangeIndex(2, name="cluster"),
        columns=pd.Index(["shoe", "bag"], name="label"),
    )
    res = ClusterResult(
        k=2, n=8, ari=0.25, nmi=0.5, purity=0.875, table=table,
        assignments=np.asarray([0, 0, 0, 0, 1, 1, 1, 1]), chance_nmi=0.125,
        chance_purity=0.625, ari_p=0.05,
    )  # fmt: skip
    lines = res.format().splitlines()
    assert lines[0] == "K-means with k=2 on 8 items"
    # the clusters numbered as in the table (from 0), a total column of the row sums
    assert lines[3].split() == ["cluster", "0", "3", "1", "4"]
    assert lines[4].split() == ["cluster", "1", "0", "4", "4"]
    assert lines[-3] == (
        "ARI     0.250   (1 = clusters match the labels, 0 = chance; labels shuffled 199 "
        "times: p = 0.0500)"
    )
    assert lines[-2] == "NMI     0.500   (labels shuffled: 0.125)"
    assert lines[-1] == (
        "purity  0.875   (share of items in their cluster's majority label; all in one "
        "cluster: 0.625; labels shuffled: 0.625)"
    )


# --- labels and --keep ------------------------------------------------------------------


def test_label_spellings_note_shows_four_spellings_at_most() -> None:
    # (the CSV loader strips cells; a Parquet column keeps the spaces)
    from visrec.data.item_tables import label_spelling_notes

    raw = pd.Series(["a", " a", "a ", " a ", "b", " b", "b ", "c", " c"])
    notes = label_spelling_notes("t.parquet", raw, raw.str.strip())
    assert notes == [
        "t.parquet: 3 labels written with and without spaces around them "
        "('a', ' a', 'a ', ' a ') are taken as one each"
    ]


def test_keep_labels_strips_spaces_and_reads_quoted_commas() -> None:
    from visrec.commands.cluster import keep_labels

    present = {"Apparel", "Clothing, Shoes", "Beauty"}
    assert keep_labels("  Apparel ", present) == ["Apparel"]
    assert keep_labels(" Clothing, Shoes ", present) == ["Clothing, Shoes"]
    # spaces after a comma, before a quote: still one quoted label
    assert keep_labels('Beauty, "Clothing, Shoes"', present) == ["Beauty", "Clothing, Shoes"]
    assert keep_labels(" Beauty , Apparel ,Beauty, ", present) == ["Beauty", "Apparel"]


def _ns(**kw):
    import argparse

    base = dict(
        keep=None, top_labels=None, k=None, label_col="kind", labels="t.csv",
        vectors="v.parquet", id_col="id", random_state=0, images=None, command="cluster",
    )  # fmt: skip
    base.update(kw)
    return argparse.Namespace(**base)


def test_keep_lists_thirty_labels_present_then_how_many_more() -> None:
    from visrec.commands.cluster import _select_labels

    def refused(n_labels: int) -> str:
        labs = np.asarray([f"L{j:02d}" for j in range(n_labels)], dtype=object)
        with pytest.raises(VisrecError) as err:
            _select_labels(_ns(keep="hat"), labs, np.ones(n_labels, dtype=bool))
        return str(err.value)

    listed = ", ".join(repr(f"L{j:02d}") for j in range(30))
    assert f"(labels present: {listed}; a label" in refused(30)
    assert f"(labels present: {listed}, ... (1 more); a label" in refused(31)


def test_k_defaults_to_at_most_fifty_labels() -> None:
    from visrec.commands.cluster import _check_labels_to_compare

    def labels(n: int) -> np.ndarray:
        return np.asarray([f"L{j}" for j in range(n)], dtype=object)

    _check_labels_to_compare(_ns(), np.ones(50, dtype=bool), labels(50))  # passes
    with pytest.raises(VisrecError, match=r"holds 51 distinct labels over 51 items"):
        _check_labels_to_compare(_ns(), np.ones(51, dtype=bool), labels(51))
    _check_labels_to_compare(_ns(k=4), np.ones(51, dtype=bool), labels(51))  # k given


def test_tiny_label_note_lists_five_and_suggests_keep_while_short(capsys) -> None:
    from visrec.commands.cluster import _note_small_labels

    def labels(big: int, small: int) -> list[str]:
        return [f"big{j}" for j in range(big) for _ in range(100)] + [f"s{j}" for j in range(small)]

    note = _note_small_labels(labels(6, 7))
    assert note == (
        "7 of the 13 labels hold under 2% of the items ('s0' 1, 's1' 1, 's2' 1, 's3' 1, "
        "'s4' 1 and 2 more), yet k counts them as clusters, so a big label may be split to "
        "make room; to compare the main categories, --keep big0,big1,big2,big3,big4,big5 "
        "(or --top-labels 6)"
    )
    assert capsys.readouterr().err == f"note: {note}\n"
    # five tiny labels: no "more"; seven big ones: --keep would be too long a list
    seven = _note_small_labels(labels(7, 5))
    assert seven is not None
    assert "'s4' 1), yet" in seven and seven.endswith("main categories, --top-labels 7")
    assert _note_small_labels(labels(2, 0)) is None


# --- the cluster command: notes and the report's data -----------------------------------


def _cluster_files(tmp_path, with_tiny: bool = False):
    """30 shoes, 20 bags (blobs); item 'x0' without image, 'nolab' without label."""
    rng = np.random.default_rng(0)
    ids, labs, rows = [], [], []
    groups = [("shoe", 30, 20.0), ("bag", 20, -20.0)] + ([("pin", 1, 0.0)] if with_tiny else [])
    for lab, n, centre in groups:
        for j in range(n):
            ids.append(f"{lab}{j:02d}")
            labs.append(lab)
            rows.append(centre + rng.normal(size=4))
    vecs = np.asarray([*rows, np.zeros(4), np.ones(4)], dtype=np.float32)
    has = [True] * len(ids) + [False, True]
    write_vectors(
        tmp_path / "v.parquet", ItemVectors(ids=[*ids, "x0", "nolab"], vectors=vecs, has_image=has)
    )
    table = "id,kind\n" + "".join(f"{i},{lab}\n" for i, lab in zip(ids, labs, strict=True))
    (tmp_path / "t.csv").write_text(table + "x0,shoe\n")
    return ids, labs, [
        "cluster", str(tmp_path / "v.parquet"), "--labels", str(tmp_path / "t.csv"),
        "--id-col", "id", "--label-col", "kind",
    ]  # fmt: skip


def _captured_report(monkeypatch) -> list:
    import visrec.report.html as html

    seen: list = []
    monkeypatch.setattr(html, "write_report", lambda path, data: seen.append(data))
    return seen


def test_cluster_report_data_counts_labels_and_photos(tmp_path, monkeypatch, capsys) -> None:
    from PIL import Image

    from visrec.analysis.cluster import sample_per_cluster

    ids, labs, base = _cluster_files(tmp_path)
    images = tmp_path / "img"
    images.mkdir()
    for i in ids[:-3]:  # the last three bags have no photo
        Image.new("RGB", (8, 8), (200, 0, 0)).save(images / f"{i}.jpg")
    junk = [*ids[:10], *ids[30:35]]  # unreadable photos
    for i in junk:
        (images / f"{i}.jpg").write_bytes(b"not a jpeg")
    seen = _captured_report(monkeypatch)
    argv = [*base, "--report", str(tmp_path / "r.html"), "--images", str(images)]
    assert main([*argv, "--random-state", "3"]) == 0
    err = capsys.readouterr().err
    (data,) = seen
    assert {k: data.summary[k] for k in list(data.summary)[:6]} == {
        "vectors": str(tmp_path / "v.parquet"),
        "labels": f"{tmp_path / 't.csv'}, column kind",
        "items clustered": 50,
        "left out: no image": 1,
        "left out: no label": 1,
        "K-means seed": "3",
    }
    # one label per clustered item, in the vectors' order (the map's colours)
    assert data.projection_labels == labs
    # twelve photos a cluster, drawn with the K-means seed among the items with one
    res = data.cluster
    has = np.asarray([i in set(ids[:-3]) for i in ids])
    want = sample_per_cluster(
        res.assignments[has], np.asarray(ids)[has], 12, np.random.default_rng(3)
    )
    assert {c: [i for i, _ in v] for c, v in data.cluster_samples.items()} == want
    assert sorted(len(v) for v in want.values()) == [12, 12]
    bad = [i for v in want.values() for i in v if i in junk]
    assert bad and f"note: {len(bad)} of the sampled photos cannot be read" in err
    assert "note: 3 of the 50 clustered items have no image in" in err


def test_cluster_report_with_no_matching_photo_says_so(tmp_path, monkeypatch, capsys) -> None:
    _, _, base = _cluster_files(tmp_path)
    images = tmp_path / "img"
    images.mkdir()
    (images / "other.jpg").write_bytes(b"x")
    seen = _captured_report(monkeypatch)
    assert main([*base, "--report", str(tmp_path / "r.html"), "--images", str(images)]) == 0
    assert (
        f"note: no image in {images} is named after a clustered item id: the report shows "
        "no photos\n" in capsys.readouterr().err
    )
    assert seen[0].cluster_samples == {}
    assert seen[0].images_note == f"no image in {images} is named after a clustered item id"


@pytest.mark.parametrize(
    ("n", "named"),
    [
        (7, "'p0', 'p1', 'p2', 'p3', 'p4', ..."),
        # session 64's C27: "..." only past five (len(bad) > 5); five are named in full
        (5, "'p0', 'p1', 'p2', 'p3', 'p4'"),
    ],
)
def test_unreadable_photos_are_counted_and_five_named(tmp_path, capsys, n, named) -> None:
    from visrec.commands.cluster import _note_unreadable

    paths = []
    for j in range(7):
        (tmp_path / f"p{j}.jpg").write_bytes(b"junk")
        paths.append((f"p{j}", tmp_path / f"p{j}.jpg"))
    _note_unreadable({0: paths[:3], 1: paths[3:n]})
    assert capsys.readouterr().err == (
        f"note: {n} of the sampled photos cannot be read and show as '?' in the report: {named}\n"
    )
    _note_unreadable({0: paths[:6]})  # six: five named, then "..."
    assert capsys.readouterr().err.endswith("in the report: 'p0', 'p1', 'p2', 'p3', 'p4', ...\n")
    _note_unreadable({0: paths[:2]})
    assert capsys.readouterr().err.endswith("in the report: 'p0', 'p1'\n")


def test_keep_given_means_no_tiny_label_note(tmp_path, monkeypatch, capsys) -> None:
    _, _, base = _cluster_files(tmp_path, with_tiny=True)
    seen = _captured_report(monkeypatch)
    report = ["--report", str(tmp_path / "r.html")]
    assert main([*base, *report]) == 0
    said = "note: 1 of the 3 labels holds under 2% of the items ('pin' 1)"
    assert said in capsys.readouterr().err
    assert seen[-1].cluster_note is not None
    # the user picked the labels, the tiny one too: k is theirs, no advice to pick
    assert main([*base, *report, "--keep", "shoe,bag,pin"]) == 0
    assert "hold under 2%" not in capsys.readouterr().err
    assert seen[-1].cluster_note is None


# --- rating KNN -------------------------------------------------------------------------


def test_random_split_refuses_a_test_size_of_one() -> None:
    with pytest.raises(
        VisrecError, match=r"^rating KNN: test size must be between 0 and 1, got 1\.0$"
    ):
        random_split(10, 1.0, 0)
    with pytest.raises(
        VisrecError, match=r"^rating KNN: test size must be between 0 and 1, got 0\.0$"
    ):
        random_split(10, 0.0, 0)
    train, test = random_split(10, 0.2, 0)
    assert len(train) == 8 and len(test) == 2


def _beating(share: float, counts: list[list[int]] | None = None) -> KnnRatingResult:
    conf = pd.DataFrame(counts or [[10, 0], [0, 10]], index=[1.0, 5.0], columns=[1.0, 5.0])
    return KnnRatingResult(
        accuracy=1.0, majority_accuracy=0.5, majority_class=1.0, mae=0.0, majority_mae=2.0,
        confusion=conf, n_train=80, n_test=20, labels=[1.0, 5.0], k=3,
        same_vector_share=share,
    )  # fmt: skip


def test_same_vector_caveat_from_half_the_rows_and_the_win_it_qualifies() -> None:
    half, under = _beating(0.5), _beating(0.49)
    assert half.same_item_caveat() is not None and half.same_item_caveat().startswith(
        "50.0% of the test rows with a picture have a training row with the very same vector"
    )
    assert under.same_item_caveat() is None
    copies = " (on test rows whose very picture is in training: see the note)"
    assert half.on_copies() == copies and under.on_copies() == ""
    assert half.to_dict()["against_majority"]["on_copies"] is True
    assert under.to_dict()["against_majority"]["on_copies"] is False
    # no win to qualify: "level" is not said to be on copies, however many rows are
    level = _beating(0.9, [[10, 0], [9, 1]])
    assert level.against_majority()[0] == "level" and level.on_copies() == copies
    assert level.to_dict()["against_majority"]["on_copies"] is False
    assert copies not in level.format()
    assert f"KNN beats the majority class: accuracy +0.500{copies}\n" in half.format()
    assert "KNN beats the majority class: accuracy +0.500\n" in under.format()
    # the confusion matrix names its rows "true 1", its columns "pred 1"
    conf = half.format().splitlines()[-3:]
    assert conf[0].split() == ["pred", "1", "pred", "5"]
    assert conf[1].split() == ["true", "1", "10", "0"] and conf[2].split() == [
        "true",
        "5",
        "0",
        "10",
    ]
    assert json.dumps(half.to_dict())
