"""What a review feeding broken inputs to the analysis commands found: an empty vectors
file, a label column of lists or of near-unique values, options with no effect or given
twice, one column named for two roles, a folder of two tables, a doubled run in a
result, and notes that named impossible options or said nothing of unreadable photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from visrec._atomic import exclusive_lock
from visrec.cli import main
from visrec.commands._common import parse_model_params, parse_params
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError


def _vectors(path: Path, n: int, *, has_image: bool = True, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    iv = ItemVectors(
        ids=np.asarray([f"i{k}" for k in range(n)], dtype=object),
        vectors=rng.normal(size=(n, 8)).astype(np.float32) + 1.0,
        has_image=np.full(n, has_image),
        meta={"backbone": "test"},
    )
    write_vectors(path, iv)
    return path


def _labels(path: Path, labels: list[str]) -> Path:
    ids = [f"i{k}" for k in range(len(labels))]
    pd.DataFrame({"item_id": ids, "cat": labels}).to_csv(path, index=False)
    return path


def _cluster(v: Path, lab: Path, *extra: str) -> int:
    argv = ["cluster", str(v), "--labels", str(lab), "--id-col", "item_id", "--label-col", "cat"]
    return main([*argv, *extra])


@pytest.mark.parametrize("command", ["cluster", "similar", "knn-rating"])
def test_a_vectors_file_of_no_rows_is_named(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", 4)
    pq.write_table(pq.read_table(v).slice(0, 0), tmp_path / "zero.parquet")
    zero = str(tmp_path / "zero.parquet")
    lab = _labels(tmp_path / "lab.csv", ["a", "b", "a", "b"])
    ratings = tmp_path / "r.csv"
    pd.DataFrame({"user_id": ["u"], "item_id": ["i0"], "rating": [4]}).to_csv(ratings)
    argv = {
        "cluster": [
            "cluster",
            zero,
            "--labels",
            str(lab),
            "--id-col",
            "item_id",
            "--label-col",
            "cat",
        ],
        "similar": ["similar", zero, "i0"],
        "knn-rating": ["knn-rating", "--interactions", str(ratings), "--vectors", zero],
    }[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{zero} holds no items" in err and "Traceback" not in err


def test_cluster_refuses_a_label_column_of_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", 6)
    table = pa.table({"item_id": [f"i{k}" for k in range(6)], "cat": [[1.0, 2.0]] * 6})
    pq.write_table(table, tmp_path / "lab.parquet")
    assert _cluster(v, tmp_path / "lab.parquet") == 2
    assert "column 'cat' holds lists or arrays (item 'i0'), not category labels" in (
        capsys.readouterr().err
    )


def test_cluster_refuses_a_default_k_of_many_labels_but_takes_an_explicit_k(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", 120)
    lab = _labels(tmp_path / "lab.csv", [f"title {k}" for k in range(120)])
    assert _cluster(v, lab) == 2
    err = capsys.readouterr().err
    assert "holds 120 distinct labels over 120 items" in err and "--top-labels N" in err
    assert _cluster(v, lab, "--k", "3") == 0
    assert _cluster(v, lab, "--top-labels", "2") == 0


@pytest.mark.parametrize("keep", ["", ","])
def test_cluster_keep_naming_no_label_is_refused(
    tmp_path: Path, keep: str, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", 6)
    lab = _labels(tmp_path / "lab.csv", ["a", "b"] * 3)
    assert _cluster(v, lab, "--keep", keep) == 2
    assert f"--keep {keep!r} names no label" in capsys.readouterr().err


@pytest.mark.parametrize("select", [[], ["--keep", "a"], ["--top-labels", "2"]])
def test_cluster_on_vectors_without_any_image_says_so_not_an_id_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], select: list[str]
) -> None:
    # with --keep it said "no item has label(s) 'a' (labels present: ; ...)"
    v = _vectors(tmp_path / "v.parquet", 6, has_image=False)
    lab = _labels(tmp_path / "lab.csv", ["a", "b"] * 3)
    assert _cluster(v, lab, *select) == 2
    err = capsys.readouterr().err
    assert "labels present" not in err and "kept labels" not in err, err
    assert "has an image (has_image is false, or the vector all zeros, for all 6)" in err
    assert "same as the vector ids" not in err


def test_cluster_report_notes_an_images_folder_matching_no_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", 6)
    lab = _labels(tmp_path / "lab.csv", ["a", "b"] * 3)
    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "imgs" / "other.jpg")
    html = tmp_path / "r.html"
    assert _cluster(v, lab, "--report", str(html), "--images", str(tmp_path / "imgs")) == 0
    assert "no image in" in capsys.readouterr().err and html.is_file()


def test_similar_report_notes_photos_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", 4)
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for k in (1, 2, 3):
        Image.new("RGB", (8, 8), (k * 40, 0, 0)).save(imgs / f"i{k}.jpg")
    (imgs / "i0.jpg").write_bytes(b"broken")
    html = str(tmp_path / "s.html")
    assert main(["similar", str(v), "i0", "--n", "2", "--report", html, "--images", str(imgs)]) == 0
    err = capsys.readouterr().err
    assert "1 of the photos shown cannot be read" in err and "'i0'" in err
    # the page says it too, and why a tile is grey
    page = Path(html).read_text()
    assert "1 of the photos shown cannot be read" in page and "grey tile marked ?" in page
    (imgs / "i0.jpg").unlink()
    Image.new("RGB", (8, 8)).save(imgs / "i0.jpg")
    assert main(["similar", str(v), "i0", "--n", "2", "--report", html, "--images", str(imgs)]) == 0
    assert "cannot be read" not in capsys.readouterr().err


def _ratings(path: Path) -> Path:
    rng = np.random.default_rng(1)
    rows = [(f"u{u}", f"i{int(i)}", int(rng.integers(1, 6))) for u in range(30) for i in
            rng.choice(12, size=5, replace=False)]  # fmt: skip
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(path, index=False)
    return path


def test_one_column_named_for_two_roles_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _ratings(tmp_path / "r.csv")
    for argv in (
        ["data", "summary", str(csv)],
        ["evaluate", "--interactions", str(csv), "--models", "popularity", "--seeds", "1"],
    ):
        assert main([*argv, "--user-col", "item_id", "--item-col", "item_id"]) == 2
        assert "column 'item_id' is named for both user_col and item_col" in (
            capsys.readouterr().err
        )


def test_a_folder_of_two_tables_says_which_one_was_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t4\t{u * 10 + i}\n" for u in range(1, 20)
                                           for i in range(1, 6)))  # fmt: skip
    _ratings(folder / "ratings.csv")
    argv = ["evaluate", "--interactions", str(folder), "--models", "popularity", "--seeds", "1"]
    assert main([*argv, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"note: {folder}: read {folder / 'u.data'}; not read: ratings.csv" in err
    (folder / "ratings.csv").unlink()
    assert main([*argv, "--quiet"]) == 0
    assert "not read:" not in capsys.readouterr().err


def test_a_column_name_on_a_headerless_file_hints_at_the_missing_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "u.data"
    data.write_text("".join(f"{u}\t{i}\t4\t{u + i}\n" for u in range(1, 9) for i in range(1, 4)))
    assert main(["data", "summary", str(data), "--user-col", "user_id"]) == 2
    err = capsys.readouterr().err
    assert "no column 'user_id'" in err and "the first line looks like data, not a header" in err


def test_knn_rating_note_on_unread_columns_does_not_call_rows_interactions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "r.csv"
    frame = pd.read_csv(_ratings(tmp_path / "src.csv"))
    frame.assign(stars=frame["rating"]).drop(columns="rating").assign(extra=1).to_csv(
        csv, index=False
    )
    v = _vectors(tmp_path / "v.parquet", 12)
    argv = ["knn-rating", "--interactions", str(csv), "--vectors", str(v)]
    assert main([*argv, "--rating-col", "stars"]) == 0
    said = "".join(capsys.readouterr())
    assert "column 'extra' not read" in said and "every row is one interaction" not in said


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "four"])
def test_min_rating_must_be_a_finite_number(
    tmp_path: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _ratings(tmp_path / "r.csv")
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--interactions", str(csv), f"--min-rating={value}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --min-rating:" in err
    assert "finite number" in err or "not a number" in err


def test_a_param_given_twice_with_two_values_keeps_the_last_with_a_note(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert parse_params(["epochs=3", "epochs=3", "factors=4"]) == {"epochs": 3, "factors": 4}
    assert capsys.readouterr().err == ""
    assert parse_params(["epochs=2", "epochs=3"]) == {"epochs": 3}
    assert "--param epochs is given twice (2, then 3): the last, 3, is used" in (
        capsys.readouterr().err
    )
    got = parse_model_params(["bpr.epochs=2", "vbpr.epochs=3", "bpr.epochs=4"], ["bpr", "vbpr"])
    assert got == {"bpr": {"epochs": 4}, "vbpr": {"epochs": 3}}
    assert "--param bpr.epochs is given twice (2, then 4)" in capsys.readouterr().err


def test_rating_eval_notes_image_options_without_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _ratings(tmp_path / "r.csv")
    argv = ["rating-eval", "--interactions", str(csv), "--n-epochs", "2", "--no-resume"]
    assert main([*argv, "--k", "5", "--reg-visual", "0.5", "--quiet"]) == 0
    assert "--k and --reg-visual are for the image models" in capsys.readouterr().err
    assert main([*argv, "--quiet"]) == 0
    assert "image models" not in capsys.readouterr().err


def test_lock_of_a_record_advises_its_own_way_out(tmp_path: Path) -> None:
    held = tmp_path / "record.jsonl"
    advice = "give --json OUT (its own record)"
    with (
        exclusive_lock(held, "visrec evaluate", advice),
        pytest.raises(VisrecError, match=r"or give --json OUT \(its own record\)$"),
        exclusive_lock(held, "visrec evaluate", advice),
    ):
        pass


def _result(path: Path) -> dict[str, object]:
    runs = [
        {"seed": s, "model": m, "auc": 0.8, "recall": 0.3, "ndcg": 0.2, "hit_rate": 0.5,
         "coverage": 0.1, "fit_s": 1.0}
        for s in (0, 1) for m in ("popularity", "bpr")
    ]  # fmt: skip
    return {"protocol": "warm", "k": 20, "seeds": [0, 1], "runs": runs}


def test_report_refuses_doubled_runs_and_seeds_not_listed_and_names_rating_eval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    res = tmp_path / "res.json"
    good = _result(res)
    res.write_text(json.dumps(good))
    assert main(["report", str(res), "-o", str(tmp_path / "r.html")]) == 0
    capsys.readouterr()
    runs = list(good["runs"])  # type: ignore[call-overload]
    res.write_text(json.dumps({**good, "runs": runs + runs[:1]}))
    assert main(["report", str(res), "-o", str(tmp_path / "r.html")]) == 2
    assert "runs[4] repeats seed 0 of model 'popularity' (runs[0])" in capsys.readouterr().err
    res.write_text(json.dumps({**good, "seeds": [0]}))
    assert main(["report", str(res), "-o", str(tmp_path / "r.html")]) == 2
    assert "has seed 1, which 'seeds' does not list" in capsys.readouterr().err
    res.write_text(json.dumps({"n_train": 3, "n_test": 1, "protocol": "random",
                               "models": {}, "runs": []}))  # fmt: skip
    assert main(["report", str(res), "-o", str(tmp_path / "r.html")]) == 2
    assert "a result of `visrec rating-eval --json`" in capsys.readouterr().err


def test_data_summary_counts_items_without_a_category_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "st"
    folder.mkdir()
    styles = pd.DataFrame(
        {"id": range(6), "masterCategory": ["Apparel", "Apparel", "Footwear", "", "", None]}
    )
    styles.to_csv(folder / "styles.csv", index=False)
    assert main(["data", "summary", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "(no category)" in out
    line = next(ln for ln in out.splitlines() if "(no category)" in ln)
    assert "3" in line.split() and "50.0%" in line
    apparel = next(ln for ln in out.splitlines() if ln.strip().startswith("Apparel"))
    assert "33.3%" in apparel


def test_evaluate_shows_an_auc_no_user_has_as_n_a_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # two items, each user's latest is the test: the one candidate is always a positive
    orders = tmp_path / "orders.csv"
    orders.write_text("user_id,item_id,timestamp\nu1,a,1\nu1,b,2\nu2,a,1\nu2,b,3\nu3,b,1\nu3,a,2\n")
    argv = ["evaluate", "--interactions", str(orders), "--protocol", "time"]
    assert main([*argv, "--models", "popularity", "--seeds", "1", "--quiet"]) == 0
    out, err = capsys.readouterr()
    row = next(ln for ln in out.splitlines() if ln.startswith("popularity"))
    assert row.split()[1] == "n/a" and "nan" not in out
    # nothing to rank at all: no advice to compare another metric, which is 1 as well
    assert "note: nothing to rank: every candidate of every test user is one of their" in err
    assert "compare NDCG" not in err and "compare AUC" not in err


def test_rating_eval_keeps_rows_whose_time_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The time only picks the latest of repeated ratings: rows with an unusable one
    are kept (the file read again without the time), with a note, not dropped."""
    rng = np.random.default_rng(0)
    rows = [
        (
            f"u{u}",
            f"i{i}",
            int(rng.integers(1, 6)),
            880_000_000 + u if (u + i) % 2 else "2001-13-45",
        )
        for u in range(40)
        for i in rng.choice(15, size=6, replace=False)
    ]
    csv = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"]).to_csv(
        csv, index=False
    )
    out = tmp_path / "r.json"
    argv = ["rating-eval", "--interactions", str(csv), "--json", str(out), "--quiet"]
    assert main([*argv, "--n-epochs", "2"]) == 0
    said = "".join(capsys.readouterr())
    n_bad = sum(1 for r in rows if r[3] == "2001-13-45")
    has = "row has" if n_bad == 1 else "rows have"
    assert f"{n_bad} {has} no usable time" in said and "skipped 1" not in said
    assert "bad timestamp" not in said
    got = json.loads(out.read_text())
    assert got["n_train"] + got["n_test"] == len(rows)
