"""Session 70: messages that wrote a count as "N thing(s)" ("1 item vector(s) hold",
"missing array(s) x", "1 label(s) are missing") now say a count of one in the
singular, with the verb and pronoun agreeing ("1 item vector holds ... re-embed that
image or mark it"), as ``errors.counted`` / ``errors.agree`` word the rest.

Each test reaches one message family through the code that writes it (the CLI's
``main`` or the public function), on tiny generated inputs, with a count of one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_merge_variants import _review, _write
from visrec.analysis.cluster import cluster_vs_labels
from visrec.analysis.rating_knn import knn_predict
from visrec.cli import main
from visrec.data.id_spelling import id_notes
from visrec.data.item_features import fit_encoding
from visrec.data.row_reasons import field_count_hint
from visrec.data.tables import load_interactions
from visrec.embed.store import ItemVectors, check_finite_vectors, spread_notes
from visrec.errors import VisrecError
from visrec.evaluation.runner import run_experiment
from visrec.images.fetch import FetchInterrupted, FetchReport
from visrec.models.model_folder import require_arrays


def test_one_missing_array_of_a_model_file_is_an_array() -> None:
    with pytest.raises(VisrecError) as err:
        require_arrays(Path("m.npz"), {"a": np.zeros(1)}, ("a", "b"))
    assert str(err.value) == "m.npz: missing array b; train the model again"


def test_one_skipped_record_is_a_record(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("user_id,item_id,rating\nu1,i1,5\nu2,i2,x\n")
    (line,) = load_interactions(f).report_lines(f.name)
    assert line.startswith("r.csv: skipped 1 record; bad records: 1 (non-numeric rating 1)")


def test_the_only_record_skipped_is_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "r.csv"
    f.write_text("user_id,item_id,rating\nu1,i1,x\n")
    argv = ["train", "--model", "bpr", "--interactions", str(f), "-o", str(tmp_path / "m")]
    assert main([*argv, "--min-rating", "3", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{f}: no usable interactions (the only record was skipped)" in err


def test_one_line_not_utf8_is_a_line(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_bytes(b"user_id,item_id\nu1,caf\xc3\xa9\nu2,na\xc3\xafve\nu3,x\xff\n")
    (warning,) = load_interactions(f).warnings
    assert warning.reason.startswith(
        "1 line not valid UTF-8 (byte 0xff at column 5), read as Windows-1252"
    )


def test_one_extra_empty_field_is_a_field() -> None:
    assert field_count_hint(["1", "2", ""], 2) == (
        " (the extra field empty: a separator at the end of the line?)"
    )


def test_one_value_that_is_no_date_is_a_value() -> None:
    dates = [f"200{k}-01-01" for k in range(9)] + ["junk9"]
    with pytest.raises(VisrecError, match=r"column 'd': 1 value is not a date \(e\.g\. 'junk9'\)"):
        fit_encoding(pd.DataFrame({"d": dates}), [("d", None)])


def test_one_missing_cluster_label_is_a_label() -> None:
    x = np.random.default_rng(0).random((6, 3))
    with pytest.raises(VisrecError) as err:
        cluster_vs_labels(x, ["a", None, "b", "b", "a", "b"], k=2)
    assert str(err.value) == (
        "cluster: 1 label is missing (None/NaN; at position 1); drop that item or give it a label"
    )


def test_one_missing_knn_label_is_a_label() -> None:
    x = np.eye(4)
    with pytest.raises(VisrecError) as err:
        knn_predict(x, np.asarray([1, 1, None, 5], dtype=object), x, k=1)
    assert str(err.value) == (
        "knn_predict: y_train holds 1 missing label (None/NaN; at position 2); drop that "
        "row or give it a label"
    )


def test_one_unusable_vector_holds_and_its_image_is_that_image() -> None:
    iv = ItemVectors(["a", "b"], np.array([[1.0, 0.0], [np.nan, 1.0]]), [True, True])
    with pytest.raises(VisrecError) as err:
        check_finite_vectors(iv, ["a", "b"], "v.parquet")
    assert str(err.value) == (
        "v.parquet: 1 item vector holds NaN, infinite or huge (beyond ±1e12) values "
        "('b'); re-embed that image or mark it has_image=false"
    )


def test_one_far_longer_vector_is_one_vector_that_sets_the_scale() -> None:
    rng = np.random.default_rng(0)
    vecs = rng.random((40, 6))
    vecs[3] *= 1000.0
    iv = ItemVectors([f"i{k}" for k in range(40)], vecs, [True] * 40)
    (text,) = spread_notes(iv, iv.ids, "v.parquet")
    assert text.startswith(
        "v.parquet: 1 item vector is over 100 times as long as the median one ('i3'): it "
        "sets the scale"
    )
    assert "; check that vector (another network's" in text


def test_one_id_spelt_two_ways_and_one_missing_word_are_singular() -> None:
    frame = pd.DataFrame({"user_id": ["NA", "u1", "u2"], "item_id": ["7", "007", "8"]})
    assert id_notes(frame) == [
        "user id that other tools read as a missing value is kept as an id ('NA')",
        "1 item id spelt in more than one way ('7', '007'); each spelling is a different "
        "item, as written",
    ]


def test_one_pair_rated_below_min_rating_is_never_recommended_to_its_user(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("user_id,item_id,rating\nu1,i1,5\nu1,i2,2\nu2,i2,4\n")
    argv = ["train", "--model", "popularity", "--interactions", str(csv)]
    assert main([*argv, "-o", str(tmp_path / "m"), "--min-rating", "3", "-q"]) == 0
    assert (
        "--min-rating: the (user, item) pair rated below it is never recommended to its user\n"
    ) in capsys.readouterr().err


def test_one_item_merged_is_merged_into_its_product(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # u1's review under A and under B: B is merged into A (one item)
    src = _write(
        tmp_path / "r.json.gz", [_review("u1", "A", 1, 5, "x"), _review("u1", "B", 1, 5, "x")]
    )
    assert main(["data", "merge-variants", str(src), "-o", str(tmp_path / "m.csv")]) == 0
    out = capsys.readouterr().out
    assert "  1 item merged into another variant of its product: 2 items -> 1 product" in out
    assert "  1 row copied a review under another variant" in out


def test_one_download_stopped_is_a_download() -> None:
    stop = FetchInterrupted(FetchReport(urls=[]), 1)
    assert str(stop) == "fetch interrupted; 1 download in progress stopped"


def test_one_model_that_needs_vectors_needs_them() -> None:
    frame = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["i1", "i2", "i1"]})
    with pytest.raises(VisrecError) as err:
        run_experiment(frame, None, "warm", ["vbpr"], seeds=(0,), progress=False)
    assert str(err.value).startswith("model vbpr needs item vectors (item_vectors; --vectors")
