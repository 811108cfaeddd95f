"""Mutation audit of session 40's change (``visrec data merge-variants``, the review
digest, the copy note of evaluate and rating-eval, dir(visrec)): behaviours that a
mutant could change with every earlier test still passing."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.amazon import load_amazon_reviews
from visrec.data.variants import merge_variants, variant_copy_note
from visrec.errors import VisrecError


def _review(
    user: str, asin: str, t: int, stars: float | None, text: str = "fine"
) -> dict[str, object]:
    return {"reviewerID": user, "asin": asin, "overall": stars, "unixReviewTime": t,
            "reviewText": text, "summary": "ok"}  # fmt: skip


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def _merge(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(["data", "merge-variants", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


# --- visrec.data.variants -------------------------------------------------------------


def test_the_copy_note_quotes_a_path_for_the_shell() -> None:
    frame = pd.DataFrame(
        {"user_id": ["u", "u"], "item_id": ["A", "B"], "review_digest": ["d", "d"],
         "review_has_text": [True, True]}
    )  # fmt: skip
    said = variant_copy_note(frame, Path("my shop") / "Shop_5.json.gz")
    assert said is not None
    assert said.endswith("merge-variants 'my shop/Shop_5.json.gz' -o merged.csv")


@pytest.mark.parametrize("missing", ["review_digest", "timestamp", "rating", "review_has_text"])
def test_merge_variants_names_each_missing_column(missing: str) -> None:
    frame = pd.DataFrame(
        {"user_id": ["u"], "item_id": ["A"], "rating": [5.0], "timestamp": [1],
         "review_digest": ["d"], "review_has_text": [True]}
    ).drop(columns=[missing])  # fmt: skip
    with pytest.raises(VisrecError) as err:
        merge_variants(frame)
    assert str(err.value) == (
        f"merge_variants needs the column {missing} (load the reviews with "
        "load_amazon_reviews(..., review_digest=True))"
    )


def test_merge_variants_of_a_load_that_kept_no_review(tmp_path: Path) -> None:
    bad = {"reviewerID": "u1", "asin": "A", "overall": None, "unixReviewTime": 1}
    loaded = load_amazon_reviews(_write(tmp_path / "Bad_5.json.gz", [bad]), review_digest=True)
    m = merge_variants(loaded.frame)
    assert m.frame.columns.tolist() == ["user_id", "item_id", "rating", "timestamp"]
    assert len(m.frame) == 0
    assert m.items.columns.tolist() == ["item_id", "product_id", "reviews", "rows"]
    assert (m.n_items, m.n_products, m.n_merged) == (0, 0, 0)
    assert (m.rows_in, m.variant_copies, m.repeats) == (0, 0, 0)


# --- visrec data merge-variants -------------------------------------------------------


def test_nothing_to_merge_and_no_repeat_says_just_that(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path / "Shop_5.json.gz", [_review("u1", "A", 1, 5), _review("u2", "A", 1, 5)])
    out = tmp_path / "m.csv"
    rc, said, _ = _merge([str(src), "-o", str(out)], capsys)
    assert rc == 0
    assert said.splitlines()[:3] == [
        f"{src}: 2 rows of 1 item",
        "  no review is listed under two items: no variants to merge",
        "  2 reviews written, one row each",
    ]  # no "0 rows repeated..." line


def test_one_file_given_twice_is_read_once_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "Shop_5.json.gz", [_review("u1", "A", 1, 5), _review("u1", "B", 1, 5)])
    rc, said, err = _merge(["Shop_5.json.gz", "./Shop_5.json.gz", "-o", "m.csv"], capsys)
    assert rc == 0
    assert "note: ./Shop_5.json.gz was given more than once; counted once" in err
    assert said.startswith("Shop_5.json.gz: 2 rows of 2 items\n")  # the file, by its name


def test_a_folder_and_its_file_spelt_otherwise_are_read_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "amazon"
    folder.mkdir()
    _write(folder / "One_5.json.gz", [_review("u1", "A", 1, 5, "x")])
    _write(folder / "Two_5.json.gz", [_review("u1", "B", 1, 5, "x")])
    monkeypatch.chdir(tmp_path)
    relative = os.path.join("amazon", "Two_5.json.gz")
    rc, said, err = _merge([str(folder), relative, "-o", "m.csv"], capsys)
    assert rc == 0
    assert f"note: {relative} is a file already read (given twice, or a link); read once" in err
    assert "2 review files: 2 rows of 2 items" in said
    assert Path("m.csv").read_text().splitlines() == [
        "user_id,item_id,rating,timestamp",
        "u1,A,5.0,1",
    ]


def test_several_folders_are_named_by_the_count_of_their_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    _write(one / "A_5.json.gz", [_review("u1", "A", 1, 5)])
    _write(two / "B_5.json.gz", [_review("u2", "B", 1, 5)])
    _write(two / "C_5.json.gz", [_review("u3", "C", 1, 5)])
    out, js = tmp_path / "m.csv", tmp_path / "m.json"
    rc, said, _ = _merge([str(one), str(two), "-o", str(out), "--json", str(js)], capsys)
    assert rc == 0
    assert said.startswith("3 review files: 3 rows of 3 items\n")
    counts = json.loads(js.read_text())
    assert counts["files"] == [str(one / "A_5.json.gz"), str(two / "B_5.json.gz"),
                               str(two / "C_5.json.gz")]  # fmt: skip


def test_the_json_counts_items_and_the_skipped_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"reviewerID": "u9", "asin": "Z", "overall": None, "unixReviewTime": 1}
    rows = [_review("u1", "A", 1, 5), _review("u1", "B", 1, 5), _review("u2", "C", 2, 4), bad]
    src = _write(tmp_path / "Shop_5.json.gz", rows)
    js = tmp_path / "m.json"
    rc, _, _ = _merge([str(src), "-o", str(tmp_path / "m.csv"), "--json", str(js)], capsys)
    assert rc == 0
    counts = json.loads(js.read_text())
    assert counts["files"] == [str(src)]
    assert (counts["items"], counts["products"], counts["items_merged"]) == (3, 2, 1)
    assert counts["skipped_records"] == {"null rating": 1}


def test_a_file_of_bad_records_alone_is_refused_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [
        {"reviewerID": "u1", "asin": "A", "overall": None, "unixReviewTime": 1},
        {"reviewerID": "u2", "asin": "B", "unixReviewTime": 1},
    ]
    src = _write(tmp_path / "Bad_5.json.gz", bad)
    out = tmp_path / "m.csv"
    rc, said, err = _merge([str(src), "-o", str(out)], capsys)
    assert rc != 0 and said == ""
    assert f"error: {src}: no usable reviews (all 2 records were skipped)" in err
    assert not out.exists()


def test_inputs_that_are_not_review_files_get_their_own_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "m.csv")
    nope = tmp_path / "nope.json.gz"
    rc, _, err = _merge([str(nope), "-o", out], capsys)
    assert rc != 0
    assert f"review file {str(nope)!r} does not exist" in err
    # a table named like metadata is a table, not metadata
    table = tmp_path / "meta_shop.csv"
    table.write_text("user_id,item_id\nu,A\n", encoding="utf-8")
    rc, _, err = _merge([str(table), "-o", out], capsys)
    assert rc != 0
    assert f"{table}: not an Amazon review file (no reviewerID, or user_id and" in err


# --- the review digest ----------------------------------------------------------------


def _digests(path: Path, rows: list[dict[str, object]]) -> list[str]:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return load_amazon_reviews(path, review_digest=True).frame["review_digest"].tolist()


def test_reviews_dated_by_review_time_alone_differ_by_their_date(tmp_path: Path) -> None:
    rows = [
        {"reviewerID": "u", "asin": asin, "overall": 5, "reviewTime": day, "reviewText": "t"}
        for asin, day in (("A", "09 1, 2016"), ("B", "09 2, 2016"), ("C", "09 1, 2016"))
    ]
    d = _digests(tmp_path / "Shop_5.json", rows)
    assert d[0] != d[1] and d[0] == d[2]


def test_2023_reviews_differ_by_their_title_and_by_their_text(tmp_path: Path) -> None:
    def rec(item: str, title: str, text: str) -> dict[str, object]:
        return {"user_id": "u", "parent_asin": item, "rating": 5, "timestamp": 1_600_000_000_000,
                "title": title, "text": text}  # fmt: skip

    rows = [rec("P1", "s", "t"), rec("P2", "s", "other"), rec("P3", "other", "t"),
            rec("P4", "s", "t")]  # fmt: skip
    d = _digests(tmp_path / "Toys.jsonl", rows)
    assert d[0] != d[1] and d[0] != d[2] and d[0] == d[3]


def test_an_empty_text_is_said_as_given_unlike_an_absent_one(tmp_path: Path) -> None:
    # "as the record gives them": only a null stands for an absent field
    base = {"reviewerID": "u", "overall": 5, "unixReviewTime": 1, "summary": "s"}
    rows = [{**base, "asin": "A", "reviewText": ""}, {**base, "asin": "B"},
            {**base, "asin": "C", "reviewText": None}]  # fmt: skip
    d = _digests(tmp_path / "Shop_5.json", rows)
    assert d[0] != d[1] and d[1] == d[2]


def test_a_load_without_review_digest_has_no_such_column(tmp_path: Path) -> None:
    src = _write(tmp_path / "Shop_5.json.gz", [_review("u1", "A", 1, 5)])
    assert "review_digest" not in load_amazon_reviews(src).frame.columns
    ids = load_amazon_reviews(src, ids_only=True, keep_rating=True, keep_time=True).frame
    assert ids.columns.tolist() == ["user_id", "item_id", "rating", "timestamp"]


def test_a_folder_of_review_files_gets_the_digest_and_the_copy_note(tmp_path: Path) -> None:
    from visrec.data.tables import load_interactions

    folder = tmp_path / "amazon"
    folder.mkdir()
    _write(folder / "One_5.json.gz", [_review("u1", "A", 1, 5), _review("u2", "A", 2, 4)])
    _write(folder / "Two_5.json.gz", [_review("u1", "B", 1, 5)])
    frame = load_interactions(folder, review_digest=True).frame
    said = variant_copy_note(frame, folder)
    assert said is not None and said.startswith("1 of 3 rows (33.3%) copy a review")


# --- the copy note and the count, where the review files are read ---------------------


def test_data_summary_of_a_folder_of_review_files_counts_the_copies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "amazon"
    folder.mkdir()
    _write(folder / "One_5.json.gz", [_review("u1", "A", 1, 5), _review("u2", "A", 2, 4)])
    _write(folder / "Two_5.json.gz", [_review("u1", "B", 1, 5), _review("u2", "B", 2, 4, "x")])
    js = tmp_path / "s.json"
    assert main(["data", "summary", str(folder), "--json", str(js)]) == 0
    assert "copies of another item's review          1  (25.0%)" in capsys.readouterr().out
    (section,) = json.loads(js.read_text())["sections"]
    assert section["variant_copies"] == 1


def test_dir_of_the_package_is_its_public_names() -> None:
    import visrec

    names = dir(visrec)
    assert names == sorted(visrec.__all__)
    assert "__version__" in names
    assert not {"importlib", "Any", "version", "PackageNotFoundError"} & set(names)
