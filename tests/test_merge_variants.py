"""``visrec data merge-variants``: one item per product of Amazon review files, each
review once (the 2018 5-core files list a review under every variant's asin)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.amazon import load_amazon_reviews
from visrec.data.variants import merge_variants


def _review(
    user: str, asin: str, t: int, stars: float, text: str = "fine", summary: str = "ok"
) -> dict[str, object]:
    return {"reviewerID": user, "asin": asin, "overall": stars, "unixReviewTime": t,
            "reviewText": text, "summary": summary}  # fmt: skip


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    return path


# one product in a chain: u1's review under B and A, u2's under A and D, u3's under C
# and D; u2 reviewed E the same day with the same stars but other words: not a copy
ROWS = [
    _review("u1", "B", 100, 5, "soft"),
    _review("u1", "A", 100, 5, "soft"),
    _review("u2", "A", 200, 4, "small"),
    _review("u2", "D", 200, 4, "small"),
    _review("u2", "E", 200, 4, "other words"),
    _review("u3", "C", 300, 3, "meh"),
    _review("u3", "D", 300, 3, "meh"),
    _review("u3", "D", 300, 3, "meh"),  # the same line twice under one item
    _review("u4", "D", 400, 5, "great"),
    _review("u5", "F", 500, 2, "no"),
]


def _frame(rows: list[dict[str, object]], tmp_path: Path) -> pd.DataFrame:
    return load_amazon_reviews(_write(tmp_path / "Shop_5.json.gz", rows), review_digest=True).frame


def test_variants_linked_by_a_shared_review_become_one_product(tmp_path: Path) -> None:
    m = merge_variants(_frame(ROWS, tmp_path))
    products = dict(zip(m.items["item_id"], m.items["product_id"], strict=True))
    # B~A~D~C one product, named for D, which has the most reviews (3; A has 2)
    assert products == {"A": "D", "B": "D", "C": "D", "D": "D", "E": "E", "F": "F"}
    assert m.items["item_id"].tolist() == ["A", "B", "C", "D", "E", "F"]
    assert m.items["reviews"].tolist() == [2, 1, 1, 3, 1, 1]
    assert m.items["rows"].tolist() == [2, 1, 1, 4, 1, 1]
    assert (m.n_items, m.n_products, m.n_merged) == (6, 3, 3)
    # one row per review of a product, in the order of the first copy
    assert m.frame.columns.tolist() == ["user_id", "item_id", "rating", "timestamp"]
    assert m.frame.values.tolist() == [
        ["u1", "D", 5.0, 100],
        ["u2", "D", 4.0, 200],
        ["u2", "E", 4.0, 200],
        ["u3", "D", 3.0, 300],
        ["u4", "D", 5.0, 400],
        ["u5", "F", 2.0, 500],
    ]
    assert (m.rows_in, m.variant_copies, m.repeats) == (10, 3, 1)


def test_the_product_id_on_a_tie_is_the_first_in_text_order(tmp_path: Path) -> None:
    rows = [_review("u1", "Z9", 1, 5, "x"), _review("u1", "A10", 1, 5, "x")]
    m = merge_variants(_frame(rows, tmp_path))
    assert m.items["product_id"].tolist() == ["A10", "A10"]
    assert m.frame["item_id"].tolist() == ["A10"]


def test_text_summary_and_stars_all_tell_two_reviews_apart(tmp_path: Path) -> None:
    rows = [
        _review("u1", "A", 1, 5, "same", "one"),
        _review("u1", "B", 1, 5, "same", "two"),  # another summary
        _review("u1", "C", 1, 4, "same", "one"),  # other stars
        _review("u1", "D", 2, 5, "same", "one"),  # another time
        _review("u2", "E", 1, 5, "same", "one"),  # another reviewer
    ]
    m = merge_variants(_frame(rows, tmp_path))
    assert m.n_merged == 0 and len(m.frame) == 5


def test_the_review_digest_reads_2018_and_2023_fields_and_null_as_absent(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [
        {"reviewerID": "u", "asin": "A", "overall": 5, "unixReviewTime": 1, "reviewText": "t",
         "summary": "s"},
        {"reviewerID": "u", "asin": "B", "overall": 5, "unixReviewTime": 1, "reviewText": None,
         "summary": None},
        {"reviewerID": "u", "asin": "C", "overall": 5, "unixReviewTime": 1},
    ]  # fmt: skip
    d = _frame(rows, tmp_path)["review_digest"].tolist()
    assert d[0] != d[1] and d[1] == d[2]
    new = [
        {"user_id": "u", "parent_asin": "P", "rating": 5, "timestamp": 1000, "title": "s",
         "text": "t"},
    ]  # fmt: skip
    path = tmp_path / "New.jsonl"
    path.write_text(json.dumps(new[0]) + "\n", encoding="utf-8")
    d23 = load_amazon_reviews(path, review_digest=True).frame["review_digest"].tolist()
    assert d23 != [d[0]]  # title/text are not summary/reviewText: fields kept apart
    # the ids-only load (evaluate's) gives the full load's digest
    ids = load_amazon_reviews(path, ids_only=True, review_digest=True).frame
    assert ids.columns.tolist() == ["user_id", "item_id", "review_digest", "review_has_text"]
    assert ids["review_digest"].tolist() == d23
    with pytest.raises(Exception, match="not a column of the review photos"):
        load_amazon_reviews(path, for_photos=True, review_digest=True)


def test_merge_variants_needs_the_review_key() -> None:
    frame = pd.DataFrame({"user_id": ["u"], "item_id": ["A"], "rating": [5.0], "timestamp": [1]})
    with pytest.raises(Exception, match="review_digest"):
        merge_variants(frame)


def test_cli_writes_the_merged_table_the_map_and_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path / "Shop_5.json.gz", ROWS)
    out, mp, js = tmp_path / "m.csv", tmp_path / "map.csv", tmp_path / "m.json"
    argv = ["data", "merge-variants", str(src), "-o", str(out), "--map", str(mp)]
    assert main([*argv, "--json", str(js)]) == 0
    text = capsys.readouterr().out
    assert f"{src}: 10 rows of 6 items" in text
    assert "3 items merged into another variant of their product: 6 items -> 3 products" in text
    assert "3 rows copied a review under another variant" in text
    assert "1 row repeated a review under its own item" in text
    assert "6 reviews written, one row each" in text
    assert f"wrote {out}\nwrote {mp}\nwrote {js}" in text
    assert out.read_text().splitlines()[:3] == [
        "user_id,item_id,rating,timestamp",
        "u1,D,5.0,100",
        "u2,D,4.0,200",
    ]
    assert mp.read_text().splitlines()[:2] == ["item_id,product_id,reviews,rows", "A,D,2,2"]
    counts = json.loads(js.read_text())
    assert (counts["rows_in"], counts["rows_out"], counts["products"]) == (10, 6, 3)
    assert (counts["variant_copies"], counts["repeats"], counts["items_merged"]) == (3, 1, 3)
    # the written table reads back as interactions, the copies gone
    assert main(["data", "summary", str(out)]) == 0
    summary = capsys.readouterr().out
    assert "items                                    3\n" in summary


def test_cli_says_when_there_is_nothing_to_merge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path / "Shop_5.json.gz", [_review("u1", "A", 1, 5), _review("u2", "A", 1, 5)])
    assert main(["data", "merge-variants", str(src), "-o", str(tmp_path / "m.csv")]) == 0
    text = capsys.readouterr().out
    assert "no review is listed under two items: no variants to merge" in text
    assert "2 reviews written, one row each" in text


def test_cli_reports_skipped_records_and_reads_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "amazon"
    folder.mkdir()
    _write(folder / "One_5.json.gz", [_review("u1", "A", 1, 5, "x")])
    bad: dict[str, object] = {"reviewerID": "u1", "asin": "B", "overall": None, "unixReviewTime": 1}
    _write(folder / "Two_5.json.gz", [_review("u1", "B", 1, 5, "x"), bad])
    out = tmp_path / "m.csv"
    assert main(["data", "merge-variants", str(folder), "-o", str(out)]) == 0
    cap = capsys.readouterr()
    assert f"{folder}: 2 rows of 2 items" in cap.out
    assert "1 item merged" in cap.out
    assert f"{folder}: skipped 1 record; bad records: 1 (null rating 1)" in cap.err
    assert "Two_5.json.gz:2: 'overall' is null" in cap.err
    both = [str(folder / "One_5.json.gz"), str(folder / "Two_5.json.gz")]
    assert main(["data", "merge-variants", *both, "-o", str(out)]) == 0
    assert "2 review files: 2 rows of 2 items" in capsys.readouterr().out
    # a folder and a file in it: the file read once, said
    assert main(["data", "merge-variants", str(folder), both[1], "-o", str(out)]) == 0
    cap = capsys.readouterr()
    assert f"note: {both[1]} is a file already read (given twice, or a link); read once" in cap.err
    assert "2 review files: 2 rows of 2 items" in cap.out
    assert out.read_text().splitlines() == ["user_id,item_id,rating,timestamp", "u1,A,5.0,1"]


def test_cli_refuses_inputs_it_cannot_merge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "ratings.csv"
    table.write_text("user_id,item_id,rating,timestamp\nu,A,5,1\n", encoding="utf-8")
    meta = _write(tmp_path / "meta_Shop.json.gz", [{"asin": "A", "title": "shirt"}])
    empty = tmp_path / "empty"
    empty.mkdir()
    empty_file = tmp_path / "Empty_5.json"
    empty_file.write_bytes(b"")
    out = str(tmp_path / "m.csv")
    cases = {
        str(table): "not an Amazon review file (no reviewerID, or user_id and parent_asin, "
        "near its start); merge-variants matches each review's text",
        str(meta): "Amazon metadata (one record per item), not reviews",
        str(empty): "no Amazon review files (.json[l][.gz]) in this folder",
        str(tmp_path / "nope.json.gz"): "nope.json.gz",
        str(empty_file): "empty file; give an Amazon review file",
    }
    for path, said in cases.items():
        assert main(["data", "merge-variants", path, "-o", out]) != 0
        assert said in capsys.readouterr().err
    assert not Path(out).exists()


def test_cli_refuses_outputs_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path / "Shop_5.json.gz", ROWS)
    assert main(["data", "merge-variants", str(src), "-o", str(tmp_path / "m.parquet")]) != 0
    assert "visrec writes CSV there" in capsys.readouterr().err
    assert main(["data", "merge-variants", str(src), "-o", str(src)]) != 0
    assert "writing it would replace it" in capsys.readouterr().err
    m = str(tmp_path / "m.csv")
    assert main(["data", "merge-variants", str(src), "-o", m, "--map", m]) != 0
    assert "--map and -o name the same file" in capsys.readouterr().err
    assert main(["data", "merge-variants", str(src), "-o", m, "--json", str(tmp_path / "x.csv")])
    assert "visrec writes JSON there" in capsys.readouterr().err


@pytest.mark.realdata
def test_amazon_fashion_5_variants(shared_data: Path, tmp_path: Path) -> None:
    frame = load_amazon_reviews(
        shared_data / "amazon" / "AMAZON_FASHION_5.json.gz", review_digest=True
    ).frame
    m = merge_variants(frame)
    # independently: the distinct (reviewer, time, stars, summary, text) reviews, and
    # the asins linked by sharing one
    reviews = frame.drop_duplicates(["user_id", "timestamp", "rating", "review_digest"])
    assert len(m.frame) == len(reviews) == 448
    assert (m.n_items, m.n_products) == (31, 19)
    # every review's copies land on one product, and no product splits a review
    merged = frame.assign(
        product=frame["item_id"].map(dict(zip(m.items.item_id, m.items.product_id, strict=True)))
    )
    per_review = merged.groupby(["user_id", "review_digest"])["product"]
    assert per_review.nunique().max() == 1


def test_evaluate_and_rating_eval_say_when_the_review_file_holds_copies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 12 users, each one review listed under both variants of product P (A and B), and
    # one review of each of Q, R, S: 12 of 60 rows are copies
    rows = []
    for u in range(12):
        rows += [
            _review(f"u{u}", "A", 10 + u, 5, f"nice {u}"),
            _review(f"u{u}", "B", 10 + u, 5, f"nice {u}"),
        ]
        rows += [_review(f"u{u}", i, 100 + u, 4 - (u % 3), f"{i} {u}") for i in ("Q", "R", "S")]
    src = _write(tmp_path / "Shop_5.json.gz", rows)
    js = tmp_path / "ev.json"
    argv = ["evaluate", "--interactions", str(src), "--models", "popularity", "--seeds", "1"]
    assert main([*argv, "-q", "--json", str(js)]) == 0
    said = (
        "12 of 60 rows (20.0%) copy a review under another item (Amazon lists one review "
        "under each variant of a product)"
    )
    err = capsys.readouterr().err
    assert f"note: {said}" in err
    assert f"merge the variants first: visrec data merge-variants {src} -o merged.csv" in err
    assert any(n.startswith(said) for n in json.loads(js.read_text())["notes"])
    assert main(["rating-eval", "--interactions", str(src), "--json", str(js)]) == 0
    assert f"note: {said}" in capsys.readouterr().err
    assert any(n.startswith(said) for n in json.loads(js.read_text())["notes"])
    # merged, the note is gone: a CSV is not review files, and it holds no copies
    merged = tmp_path / "m.csv"
    assert main(["data", "merge-variants", str(src), "-o", str(merged)]) == 0
    capsys.readouterr()
    argv[2] = str(merged)
    assert main([*argv, "-q"]) == 0
    assert "copy a review" not in capsys.readouterr().err


def test_no_copy_note_for_review_files_without_copies_or_other_tables(tmp_path: Path) -> None:
    from visrec.data.tables import load_interactions
    from visrec.data.variants import variant_copy_note

    def note(path: Path) -> str | None:
        return variant_copy_note(load_interactions(path, review_digest=True).frame, path)

    src = _write(
        tmp_path / "Shop_5.json.gz", [_review("u1", "A", 1, 5), _review("u1", "B", 1, 5, "x")]
    )
    assert note(src) is None
    assert note(tmp_path) is None  # the folder of that file: read as it
    table = tmp_path / "ratings.csv"
    table.write_text("user_id,item_id\nu,A\n", encoding="utf-8")
    assert "review_digest" not in load_interactions(table, review_digest=True).frame
    assert note(table) is None
    _write(tmp_path / "Shop_5.json.gz", [_review("u1", "A", 1, 5), _review("u1", "B", 1, 5)])
    said = note(src)
    assert said is not None and said.startswith("1 of 2 rows (50.0%) copy a review")


def test_evaluate_counts_the_copies_among_the_rows_it_keeps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # copies of 4-star reviews only: --min-rating 5 keeps no copy
    rows = []
    for u in range(8):
        rows += [_review(f"u{u}", "A", u, 4, f"t{u}"), _review(f"u{u}", "B", u, 4, f"t{u}")]
        rows += [_review(f"u{u}", i, 50 + u, 5, f"{i}{u}") for i in ("Q", "R", "S", "T")]
    src = _write(tmp_path / "Shop_5.json.gz", rows)
    argv = ["evaluate", "--interactions", str(src), "--models", "popularity", "--seeds", "1", "-q"]
    assert main(argv) == 0
    assert "note: 8 of 48 rows (16.7%) copy a review" in capsys.readouterr().err
    assert main([*argv, "--min-rating", "5"]) == 0
    assert "copy a review" not in capsys.readouterr().err


def test_rating_eval_keeps_amazon_reviews_without_a_time_as_it_keeps_table_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows: list[dict[str, object]] = [
        _review(f"u{u}", i, 10 + u, 1 + (u + len(i)) % 5, f"{i}{u}")
        for u in range(10)
        for i in ("A", "BB", "CCC")
    ]
    del rows[0]["unixReviewTime"]  # and no reviewTime either: no usable time
    src = _write(tmp_path / "Shop_5.json.gz", rows)
    js = tmp_path / "r.json"
    assert main(["rating-eval", "--interactions", str(src), "--json", str(js)]) == 0
    err = capsys.readouterr().err
    assert (
        f"note: {src}: 1 row has no usable time, which only picks the latest of repeated "
        "ratings of a pair: the time is not read, so it is kept"
    ) in err
    result = json.loads(js.read_text())
    assert result["n_train"] + result["n_test"] == 30
    assert result["records_skipped"] == {}


def test_many_reviews_linking_two_items_still_link_them(tmp_path: Path) -> None:
    # 256 shared reviews: summed as 8-bit edge weights they wrap to 0, which a graph
    # routine dropping zero entries would read as no link
    rows = []
    for u in range(256):
        rows += [_review(f"u{u}", "A", u, 5, f"t{u}"), _review(f"u{u}", "B", u, 5, f"t{u}")]
    m = merge_variants(_frame(rows, tmp_path))
    assert m.n_products == 1 and len(m.frame) == 256


def test_a_review_file_whose_name_is_not_utf8_merges(tmp_path: Path) -> None:
    import os

    src = _write(tmp_path / "Shop_5.json.gz", ROWS)
    odd = os.fsdecode(os.fsencode(tmp_path) + b"/S\xff_5.json.gz")
    os.rename(src, odd)
    out = tmp_path / "m.csv"
    assert main(["data", "merge-variants", odd, "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 7
