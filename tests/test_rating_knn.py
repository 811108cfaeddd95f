"""The tutorial's rating KNN: values on fixtures with known answers, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from visrec.analysis.rating_knn import knn_predict, knn_rating
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError


def blob_ratings(n_per: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five far-apart blobs; a vector's rating is its blob number + 1."""
    rng = np.random.default_rng(seed)
    centres = np.eye(5, 8) * 50.0
    x = np.vstack([c + rng.normal(scale=0.3, size=(n_per, 8)) for c in centres])
    y = np.repeat(np.arange(1, 6), n_per).astype(float)
    return x.astype(np.float32), y


def test_ratings_determined_by_blob_are_predicted_exactly():
    x, y = blob_ratings()
    res = knn_rating(x, y)
    assert res.accuracy == 1.0 and res.mae == 0.0
    assert res.n_train == 160 and res.n_test == 40
    conf = res.confusion.to_numpy()
    assert conf.trace() == 40 and conf.sum() == 40
    assert (conf - np.diag(np.diag(conf))).sum() == 0


def test_constant_vectors_vote_of_first_training_rows_by_hand():
    # every training row is at distance 0: the 3 neighbours are the first 3 training
    # rows (ratings 1, 2, 2) -> predicts 2 for every test row
    x_train = np.ones((5, 4), dtype=np.float32)
    pred = knn_predict(x_train, np.array([1.0, 2.0, 2.0, 3.0, 5.0]), np.ones((3, 4)), k=3)
    np.testing.assert_array_equal(pred, [2.0, 2.0, 2.0])
    # accuracy on true ratings [2, 2, 5] is 2/3
    assert np.mean(pred == np.array([2.0, 2.0, 5.0])) == pytest.approx(2 / 3)
    # a three-way tie in the vote goes to the smallest rating, as in scikit-learn
    pred = knn_predict(np.ones((3, 2)), np.array([3.0, 5.0, 4.0]), np.ones((1, 2)), k=3)
    assert pred.tolist() == [3.0]


def test_repeated_vectors_expand_to_rows_in_distance_order():
    a, b = [0.0, 0.0], [1.0, 0.0]
    x_train = np.array([a, b, a, b, b], dtype=np.float32)
    y_train = np.array([1.0, 5.0, 1.0, 5.0, 5.0])
    # near a: the two a-rows (1, 1) then the first b-row (5) -> 1
    assert knn_predict(x_train, y_train, np.array([[0.1, 0.0]]), k=3).tolist() == [1.0]
    # k=5 takes all rows: three 5s beat two 1s
    assert knn_predict(x_train, y_train, np.array([[0.1, 0.0]]), k=5).tolist() == [5.0]


def test_same_predictions_as_sklearn_on_distinct_vectors():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = rng.integers(1, 6, 300).astype(float)
    xt = rng.normal(size=(120, 6)).astype(np.float32)
    for k in (1, 3, 7):
        ours = knn_predict(x, y, xt, k=k)
        ref = KNeighborsClassifier(n_neighbors=k).fit(x, y).predict(xt)
        np.testing.assert_array_equal(ours, ref)


def test_majority_class_is_learned_on_the_training_split():
    n = 10
    idx_train, idx_test = train_test_split(np.arange(n), test_size=0.5, random_state=1234)
    y = np.zeros(n)
    # train: three 4s, two 5s -> majority 4; test: four 5s and a 1. Over all rows 5
    # is the most common (6 of 10), so a majority taken on all data would score 0.8.
    y[idx_train] = [4, 4, 4, 5, 5]
    y[idx_test] = [5, 5, 5, 5, 1]
    x = np.arange(n, dtype=np.float32)[:, None]
    res = knn_rating(x, y, k=1, test_size=0.5)
    assert res.majority_class == 4.0
    assert res.majority_accuracy == 0.0
    assert res.majority_mae == pytest.approx((1 + 1 + 1 + 1 + 3) / 5)
    assert res.labels == [1.0, 4.0, 5.0]
    assert res.confusion.to_numpy().sum() == 5


def test_format_never_shows_accuracy_without_baseline_and_json_keys():
    x, y = blob_ratings(n_per=10)
    res = knn_rating(x, y)
    text = res.format()
    assert "majority class" in text and f"{res.majority_accuracy:.3f}" in text
    assert f"{res.accuracy:.3f}" in text and "MAE" in text and "confusion" in text
    out = res.to_dict()
    for key in ("accuracy", "majority_accuracy", "mae", "majority_class", "confusion"):
        assert key in out
    assert out["accuracy"] == 1.0
    assert out["confusion"]["labels"] == [1, 2, 3, 4, 5]
    json.dumps(out)


def test_bad_input_raises():
    with pytest.raises(VisrecError, match="ratings"):
        knn_rating(np.zeros((4, 2)), np.array([1.0, 2.0, 3.0]))
    with pytest.raises(VisrecError, match="ratings row 1 is missing or not finite"):
        knn_rating(np.zeros((4, 2)), np.array([1.0, np.nan, 3.0, 4.0]))
    with pytest.raises(VisrecError, match=r"vectors row 0 \(4 rows in all\) holds NaN"):
        knn_rating(np.full((4, 2), np.inf), np.array([1.0, 2.0, 3.0, 4.0]))


def _cli_fixture(tmp_path):
    """30 items in 3 blobs (rating = blob + 3), 3 ratings each; item 'i0' has no image
    and 'ghost' has no vector at all."""
    rng = np.random.default_rng(0)
    ids = [f"i{j}" for j in range(30)]
    blob = np.arange(30) % 3
    vecs = (np.eye(3, 5)[blob] * 40 + rng.normal(scale=0.2, size=(30, 5))).astype(np.float32)
    has = np.ones(30, dtype=bool)
    has[0] = False
    vecs[0] = 0.0
    write_vectors(tmp_path / "v.parquet", ItemVectors(ids=ids, vectors=vecs, has_image=has))
    rows = [(f"u{u}", ids[j], float(blob[j] + 3)) for j in range(30) for u in range(3)]
    rows.append(("u0", "ghost", 1.0))
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(
        tmp_path / "r.csv", index=False
    )
    return tmp_path / "r.csv", tmp_path / "v.parquet"


def test_cli_knn_rating_json_and_dropped_rows(tmp_path, capsys):
    r, v = _cli_fixture(tmp_path)
    out = tmp_path / "knn.json"
    rc = main(["knn-rating", "--interactions", str(r), "--vectors", str(v), "--json", str(out)])
    assert rc == 0
    text, err = capsys.readouterr()
    assert "left out 4 of 91 rows" in err  # 3 ratings of i0 + the one of 'ghost'
    assert "majority class" in text and "left out" not in text
    data = json.loads(out.read_text())
    assert data["n_train"] + data["n_test"] == 87
    assert data["accuracy"] == 1.0 and data["mae"] == 0.0
    assert 0.0 < data["majority_accuracy"] < 0.6
    assert data["include_missing"] is False
    # the JSON carries what stderr and the report say beside the figures
    assert any(n.startswith("left out 4 of 91 rows") for n in data["notes"])
    assert data["against_majority"]["call"] == "beats"
    assert "McNemar's exact test" in data["against_majority"]["said"]


def test_cli_knn_rating_include_missing_keeps_zero_vectors(tmp_path, capsys):
    r, v = _cli_fixture(tmp_path)
    out = tmp_path / "knn.json"
    rc = main(
        [
            "knn-rating",
            "--interactions",
            str(r),
            "--vectors",
            str(v),
            "--include-missing",
            "--k",
            "1",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    assert "4 of 91 rows have no image: kept with an all-zero vector" in capsys.readouterr().err
    data = json.loads(out.read_text())
    assert data["n_train"] + data["n_test"] == 91 and data["k"] == 1


def test_cli_knn_rating_bad_key_column(tmp_path, capsys):
    r, v = _cli_fixture(tmp_path)
    rc = main(
        ["knn-rating", "--interactions", str(r), "--vectors", str(v), "--key-col", "review_id"]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "no 'review_id' column" in err
    assert "review ids come with Amazon review files (give one, or --key-col item_id)" in err
    # any other column is no key: a CSV keeps only its id, rating and time columns
    argv = ["knn-rating", "--interactions", str(r), "--vectors", str(v), "--key-col", "sku"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "--key-col: invalid choice: 'sku'" in capsys.readouterr().err


def test_real_movielens_ratings_load(shared_data):
    from visrec.commands.knn_rating import load_interactions_frame

    frame = load_interactions_frame(str(shared_data / "movielens-100k-posters" / "u.data"))
    assert len(frame) == 100_000
    assert frame["user_id"].nunique() == 943 and frame["item_id"].nunique() == 1682
    counts = frame["rating"].value_counts()
    # always predicting 4 stars is right for 34,174 of the 100,000 ratings
    assert counts.idxmax() == 4 and counts[4] == 34_174


def test_cli_knn_rating_per_review_photo_on_amazon_file(tmp_path, capsys):
    """The tutorial's setting: one photo per Amazon review, keyed by review_id; a review
    with a null rating is reported by the loader and not used."""
    import gzip

    rng = np.random.default_rng(4)
    recs, ids, vecs = [], [], []
    for n in range(40):
        stars = 5.0 if n % 2 else 2.0
        rec = {
            "overall": stars,
            "reviewerID": f"R{n}",
            "asin": f"B{n % 3}",
            "unixReviewTime": 1_500_000_000 + n,
        }
        recs.append(rec)
        if n < 30:  # the last 10 reviews have no photo
            ids.append(f"B{n % 3}_R{n}_{1_500_000_000 + n}")
            centre = np.full(4, 10.0 if stars == 5.0 else -10.0)
            vecs.append(centre + rng.normal(scale=0.1, size=4))
    recs.append({"overall": None, "reviewerID": "RX", "asin": "B0", "unixReviewTime": 1})
    path = tmp_path / "AMAZON_FASHION_5.json.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in recs) + "\n")
    write_vectors(
        tmp_path / "photos.parquet",
        ItemVectors(ids=ids, vectors=np.array(vecs), has_image=np.ones(30, dtype=bool)),
    )
    out = tmp_path / "knn.json"
    rc = main(
        [
            "knn-rating",
            "--interactions",
            str(path),
            "--vectors",
            str(tmp_path / "photos.parquet"),
            "--key-col",
            "review_id",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    text = capsys.readouterr().err
    assert "skipped 1 record" in text
    assert "left out 10 of 40 rows whose review_id has no image" in text
    data = json.loads(out.read_text())
    assert data["n_train"] + data["n_test"] == 30 and data["key_col"] == "review_id"
    assert data["accuracy"] == 1.0  # a photo's blob decides its review's stars


def _result_with(confusion: list[list[int]], labels: list[float], majority: float):
    from visrec.analysis.rating_knn import KnnRatingResult

    conf = pd.DataFrame(confusion, index=labels, columns=labels)
    n = int(np.sum(confusion))
    diag = np.trace(np.asarray(confusion))
    maj_right = int(conf.loc[majority].sum())
    return KnnRatingResult(
        accuracy=diag / n, majority_accuracy=maj_right / n, majority_class=majority,
        mae=0.0, majority_mae=0.0, confusion=conf, n_train=4 * n, n_test=n,
        labels=labels, k=3,
    )  # fmt: skip


def test_knn_beats_the_majority_only_beyond_chance() -> None:
    # 1,000 rows of 1 and 1,000 of 5 stars; majority class 1. KNN gets 510 fives right
    # and loses 500 ones: +0.005 accuracy, McNemar's exact p = 0.777: level, not a win
    level = _result_with([[500, 500], [490, 510]], [1.0, 5.0], majority=1.0)
    assert level.accuracy - level.majority_accuracy == pytest.approx(0.005)
    assert level.against_majority() == (
        "level",
        "510 test rows only KNN gets right, 500 only the majority class (McNemar's exact "
        "test, two-sided p = 0.777; p <= 0.05 to call it)",
    )
    assert "KNN shows no significant difference from the majority class: accuracy +0.005\n" in (
        level.format()
    )
    win = _result_with([[900, 100], [300, 700]], [1.0, 5.0], majority=1.0)
    assert win.against_majority()[0] == "beats"  # 700 vs 100: z +21.2
    loss = _result_with([[600, 400], [900, 100]], [1.0, 5.0], majority=1.0)
    assert loss.against_majority()[0] == "below" and "does NOT beat" in loss.format()
    # 4 rows against 0: z = 2.0 called it a win, but a fair coin does so 1 time in 8
    few = _result_with([[10, 0], [0, 4]], [1.0, 5.0], majority=1.0)
    assert few.against_majority() == (
        "level",
        "4 test rows only KNN gets right, 0 only the majority class (McNemar's exact test, "
        "two-sided p = 0.125; p <= 0.05 to call it)",
    )
    six = _result_with([[10, 0], [0, 6]], [1.0, 5.0], majority=1.0)
    assert six.against_majority()[0] == "beats"  # p = 0.031
    # just above the line: shown with the digit that says so, not as a 0.050 it passes
    edge = _result_with([[100, 22], [0, 10]], [1.0, 5.0], majority=1.0)
    assert edge.against_majority() == (
        "level",
        "10 test rows only KNN gets right, 22 only the majority class (McNemar's exact test, "
        "two-sided p = 0.0501; p <= 0.05 to call it)",
    )


def test_knn_over_items_predicts_as_the_knn_over_rating_rows() -> None:
    """rating-eval's KNN takes item indices, not a vector per rating: the same
    predictions, with identical vectors (ties in distance) and ties in the vote."""
    from visrec.analysis.rating_knn import knn_predict_items

    rng = np.random.default_rng(0)
    for _ in range(100):
        n_items = int(rng.integers(3, 40))
        vecs = rng.integers(0, 3, size=(n_items, 4)).astype(np.float32)
        train = rng.integers(0, n_items, size=int(rng.integers(5, 80)))
        test = rng.integers(0, n_items, size=int(rng.integers(1, 30)))
        y = rng.integers(1, 6, size=len(train)).astype(float)
        k = int(rng.integers(1, 5))
        want = knn_predict(vecs[train], y, vecs[test], k=k)
        np.testing.assert_array_equal(knn_predict_items(vecs, train, y, test, k=k), want)


def test_majority_class_tie_goes_to_the_smallest_rating() -> None:
    from visrec.analysis.rating_knn import majority_class

    assert majority_class(np.array([5, 4, 5, 4])) == 4.0


def test_the_mcnemar_line_says_its_scope_only_where_rows_share_a_vector():
    import dataclasses

    plain = _result_with([[500, 500], [490, 510]], [1.0, 5.0], majority=1.0)
    assert plain.against_majority()[1].endswith("p <= 0.05 to call it)")
    shared = dataclasses.replace(plain, same_vector_share=0.998)
    assert shared.against_majority()[1].endswith(
        "; an item's test rows share its vector, so it speaks for these items)"
    )
