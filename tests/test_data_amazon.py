"""Amazon review/meta loaders: both file layouts, bad records with line numbers, real files."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visrec.cli import main
from visrec.data.amazon import (
    _JsonScan,
    category_from_filename,
    iter_json_records,
    load_amazon_meta,
    load_amazon_reviews,
)
from visrec.data.summary import summarize
from visrec.data.tables import BadRecord, load_interactions
from visrec.errors import VisrecError


def review(asin: str, user: str, t: int, overall: object = 5.0, **extra: object) -> dict:
    rec = {
        "overall": overall,
        "verified": True,
        "reviewerID": user,
        "asin": asin,
        "reviewText": "ok",
        "unixReviewTime": t,
    }
    rec.update(extra)
    return rec


GOOD_1 = review("B01", "U1", 100, image=["http://x/1.jpg", "http://x/1b.jpg"])
NULL_RATING = review("B01", "U2", 101, overall=None)
NO_ASIN = {k: v for k, v in review("B02", "U3", 102).items() if k != "asin"}
GOOD_2 = review("B02", "U1", 103, overall=3.0, verified=False)
DUP_OF_1 = review("B01", "U1", 100, overall=4.0)


def write_jsonl(path: Path, items: list[dict | str]) -> None:
    """Items are dicts (dumped) or raw strings (written as-is, e.g. broken JSON)."""
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in items) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def write_pretty(path: Path, items: list[dict | str]) -> list[int]:
    """Pretty-printed concatenated objects; returns each item's first line number."""
    starts, chunks, line = [], [], 1
    for x in items:
        chunk = x if isinstance(x, str) else json.dumps(x, indent=2)
        starts.append(line)
        chunks.append(chunk)
        line += chunk.count("\n") + 1
    text = "\n".join(chunks) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return starts


ITEMS: list[dict | str] = [
    GOOD_1,
    NULL_RATING,
    NO_ASIN,
    '{"overall": 5.0, "asin": "B09", "reviewerID"',
    GOOD_2,
    DUP_OF_1,
]


def test_jsonl_gz_keeps_good_records_and_reports_bad_lines(tmp_path: Path) -> None:
    f = tmp_path / "AMAZON_FASHION_5.json.gz"
    write_jsonl(f, ITEMS)
    res = load_amazon_reviews(f)
    df = res.frame
    assert list(df["review_id"]) == ["B01_U1_100", "B02_U1_103", "B01_U1_100_2"]
    assert list(df["user_id"]) == ["U1", "U1", "U1"]
    assert list(df["item_id"]) == ["B01", "B02", "B01"]
    assert list(df["rating"]) == [5.0, 3.0, 4.0]
    assert list(df["timestamp"]) == [100, 103, 100]
    assert str(df["timestamp"].dtype) == "int64"
    assert list(df["verified"]) == [True, False, True]
    assert list(df["image"]) == [["http://x/1.jpg", "http://x/1b.jpg"], [], []]
    assert set(df["category"]) == {"AMAZON_FASHION"}
    assert [(b.line, b.kind) for b in res.bad] == [
        (2, "null rating"),
        (3, "missing asin"),
        (4, "invalid JSON"),
    ]
    assert all(b.file == str(f) for b in res.bad)
    assert res.n_read == 6 and res.n_rows == 3
    assert res.formats[str(f)] == "JSON lines"


def test_pretty_printed_layout_gives_same_table_and_object_start_lines(tmp_path: Path) -> None:
    broken = json.dumps(review("B09", "U9", 1), indent=2)[:-2]  # cut before the last "}"
    items: list[dict | str] = [GOOD_1, NULL_RATING, NO_ASIN, broken, GOOD_2, DUP_OF_1]
    f = tmp_path / "All_Beauty_5.json"
    starts = write_pretty(f, items)
    res = load_amazon_reviews(f)
    jl = tmp_path / "All_Beauty_5.jsonl.json"
    write_jsonl(jl, ITEMS)
    ref = load_amazon_reviews(jl)
    cols = ["review_id", "user_id", "item_id", "rating", "timestamp", "verified"]
    assert res.frame[cols].equals(ref.frame[cols])
    assert [(b.line, b.kind) for b in res.bad] == [
        (starts[1], "null rating"),
        (starts[2], "missing asin"),
        (starts[3], "invalid JSON"),
    ]
    assert starts[1] > 2  # really multi-line objects
    assert res.formats[str(f)].startswith("concatenated")


def test_json_lines_with_blank_lines_is_still_json_lines(tmp_path: Path) -> None:
    f = tmp_path / "AMAZON_FASHION_5.json"
    lines = [json.dumps(x) for x in (GOOD_1, GOOD_2, DUP_OF_1)]
    f.write_text("\n" + "\n\n".join(lines) + "\n\n\n", encoding="utf-8")
    res = load_amazon_reviews(f)
    assert res.n_rows == 3 and res.formats[str(f)] == "JSON lines"
    crlf = tmp_path / "All_Beauty_5.json"
    crlf.write_bytes(("\r\n\r\n".join(lines) + "\r\n \r\n").encode())
    assert load_amazon_reviews(crlf).formats[str(crlf)] == "JSON lines"
    # one object over two lines is not JSON lines, however short
    two = tmp_path / "X_5.json"
    two.write_text(lines[0] + "\n" + json.dumps(GOOD_2).replace(", ", ",\n", 1) + "\n")
    assert load_amazon_reviews(two).formats[str(two)].startswith("concatenated")


def test_ids_only_keeps_reviews_without_rating_or_time(tmp_path: Path) -> None:
    no_overall = {k: v for k, v in review("B03", "U3", 3).items() if k != "overall"}
    no_time = {k: v for k, v in review("B04", "U4", 4).items() if k != "unixReviewTime"}
    f = tmp_path / "AMAZON_FASHION_5.json"
    write_jsonl(f, [GOOD_1, NULL_RATING, NO_ASIN, no_overall, no_time, "{broken", GOOD_2])
    full = load_amazon_reviews(f)
    assert full.n_rows == 2
    res = load_amazon_reviews(f, ids_only=True)
    assert list(res.frame.columns) == ["user_id", "item_id"]
    assert list(zip(res.frame["user_id"], res.frame["item_id"], strict=True)) == [
        ("U1", "B01"),
        ("U2", "B01"),
        ("U3", "B03"),
        ("U4", "B04"),
        ("U1", "B02"),
    ]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "missing asin"), (6, "invalid JSON")]
    assert res.n_read == 7 and res.formats[str(f)] == "JSON lines"
    via_tables = load_interactions(f, ids_only=True)
    assert via_tables.frame.equals(res.frame) and via_tables.n_bad == 2


def test_keep_rating_keeps_reviews_without_time_and_drops_bad_ratings(tmp_path: Path) -> None:
    no_time = {k: v for k, v in review("B04", "U4", 4).items() if k != "unixReviewTime"}
    bad_time = review("B05", "U5", 0, overall=2.0, unixReviewTime="soon")
    no_time_bad_rating = {**no_time, "overall": "five"}
    f = tmp_path / "AMAZON_FASHION_5.json"
    write_jsonl(f, [GOOD_1, NULL_RATING, no_time, bad_time, no_time_bad_rating, GOOD_2])
    assert load_amazon_reviews(f).n_rows == 2  # the full loader needs a time
    res = load_amazon_reviews(f, ids_only=True, keep_rating=True)
    assert list(res.frame.columns) == ["user_id", "item_id", "rating"]
    assert res.frame.values.tolist() == [
        ["U1", "B01", 5.0],
        ["U4", "B04", 5.0],
        ["U5", "B05", 2.0],
        ["U1", "B02", 3.0],
    ]
    assert [(b.line, b.kind) for b in res.bad] == [(2, "null rating"), (5, "non-numeric rating")]
    via_tables = load_interactions(f, ids_only=True, keep_rating=True)
    assert via_tables.frame.equals(res.frame) and via_tables.n_bad == 2
    # a folder of review files goes the same way
    folder = tmp_path / "reviews"
    folder.mkdir()
    write_jsonl(folder / "A_5.json", [GOOD_1, no_time])
    write_jsonl(folder / "B_5.json", [NULL_RATING, GOOD_2])
    in_folder = load_interactions(folder, ids_only=True, keep_rating=True)
    assert in_folder.frame["item_id"].tolist() == ["B01", "B04", "B02"]
    both = load_amazon_reviews(f, ids_only=True, keep_rating=True, keep_time=True)
    assert list(both.frame.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert both.frame.values.tolist() == [["U1", "B01", 5.0, 100], ["U1", "B02", 3.0, 103]]
    assert [(b.line, b.kind) for b in both.bad] == [
        (2, "null rating"),
        (3, "missing time"),
        (4, "missing time"),
        (5, "non-numeric rating"),
    ]
    with pytest.raises(VisrecError, match="keep_rating only applies with ids_only"):
        load_amazon_reviews(f, keep_rating=True)


def test_json_scan_counts_what_it_read(tmp_path: Path) -> None:
    f = tmp_path / "meta_X.json"
    write_jsonl(f, [{"asin": "B1"}, "[1, 2]", "oops", {"asin": "B2"}])
    scan = _JsonScan([f])
    assert [(line, rec["asin"]) for _, _, line, rec in scan.objects()] == [(1, "B1"), (4, "B2")]
    assert scan.n_read == 4  # the array of numbers on a line of its own is one record
    assert [(b.line, b.kind) for b in scan.bad] == [
        (2, "not an object"),
        (3, "invalid JSON"),
    ]
    res = load_amazon_meta(f)
    assert res.n_read == 4 and res.n_rows == 2 and res.n_bad == 2


def test_other_bad_values(tmp_path: Path) -> None:
    items: list[dict | str] = [
        review("B1", "U1", 1, overall="five"),
        review("B1", "", 2),
        {k: v for k, v in review("B1", "U3", 3).items() if k != "overall"},
        review("B1", "U4", 4, overall="4.0"),  # numeric string: accepted
        [1, 2],  # type: ignore[list-item]
        "not json at all",
        review("B1", "U5", 5, overall=True),
        review("B1", "U6", 6, overall=0),  # Amazon has 1-5 stars: corrupt, not a rating
        review("B1", "U7", 7, overall=50.0),
        review("B1", "U8", 8, overall=1),
    ]
    f = tmp_path / "X_5.json"
    write_jsonl(f, [json.dumps(x) if isinstance(x, list) else x for x in items])
    res = load_amazon_reviews(f)
    assert list(res.frame["user_id"]) == ["U4", "U8"]
    assert res.frame["rating"].tolist() == [4.0, 1.0]
    assert [(b.line, b.kind) for b in res.bad] == [
        (1, "non-numeric rating"),
        (2, "missing reviewerID"),
        (3, "missing rating"),
        (5, "not an object"),  # [1, 2]: one record, not one per element
        (6, "invalid JSON"),
        (7, "non-numeric rating"),
        (8, "rating out of range"),
        (9, "rating out of range"),
    ]
    assert str(res.bad[0]) == f"{f}:1: 'overall' is 'five', expected a number"
    assert str(res.bad[-1]) == f"{f}:9: 'overall' is 50.0, expected 1 to 5 stars"


def test_review_time_falls_back_to_review_time_text(tmp_path: Path) -> None:
    rec = {k: v for k, v in review("B1", "U1", 0).items() if k != "unixReviewTime"}
    rec["reviewTime"] = "09 4, 2015"
    f = tmp_path / "C.json"
    write_jsonl(f, [rec])
    res = load_amazon_reviews(f)
    assert res.frame["timestamp"].iloc[0] == 1441324800  # 2015-09-04 UTC


def test_several_files_make_one_table_with_unique_review_ids(tmp_path: Path) -> None:
    a, b = tmp_path / "AMAZON_FASHION_5.json.gz", tmp_path / "meta_free" / "All_Beauty_5.json"
    b.parent.mkdir()
    write_jsonl(a, [GOOD_1, GOOD_2])
    write_pretty(b, [GOOD_1, review("B7", "U7", 7)])
    res = load_amazon_reviews([a, b])
    assert list(res.frame["category"]) == ["AMAZON_FASHION"] * 2 + ["All_Beauty"] * 2
    assert list(res.frame["review_id"]) == [
        "B01_U1_100",
        "B02_U1_103",
        "B01_U1_100_2",
        "B7_U7_7",
    ]
    assert res.frame["review_id"].is_unique
    assert res.files == [str(a), str(b)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AMAZON_FASHION_5.json.gz", "AMAZON_FASHION"),
        ("All_Beauty_5.json", "All_Beauty"),
        ("meta_Luxury_Beauty.json.gz", "Luxury_Beauty"),
        ("reviews_Clothing_Shoes_and_Jewelry_5.json.gz", "Clothing_Shoes_and_Jewelry"),
        ("Software.jsonl", "Software"),
    ],
)
def test_category_from_filename(name: str, expected: str) -> None:
    assert category_from_filename(Path("/x") / name) == expected


def test_top_level_array_and_commas_between_objects() -> None:
    recs = list(iter_json_records('[{"a": 1}, {"a": 2}]\n{"a": 3},\n{"a": 4}', "f"))
    assert recs == [(1, {"a": 1}), (1, {"a": 2}), (2, {"a": 3}), (3, {"a": 4})]


def test_load_interactions_dispatches_json(tmp_path: Path) -> None:
    f = tmp_path / "Y_5.json.gz"
    write_jsonl(f, [GOOD_1, NULL_RATING])
    res = load_interactions(f)
    assert list(res.frame["user_id"]) == ["U1"] and res.n_bad == 1
    inter = res.to_interactions()
    assert inter.n_users == 1 and inter.rating is not None and inter.rating[0] == 5.0


def test_missing_file_and_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_amazon_reviews(tmp_path / "nope.json")
    with pytest.raises(VisrecError, match="is a folder"):
        load_amazon_reviews(tmp_path)
    bad_gz = tmp_path / "Z.json.gz"
    bad_gz.write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(VisrecError, match="not a valid gzip"):
        load_amazon_reviews(bad_gz)


def test_meta_prefers_high_res_urls_and_reports_duplicates(tmp_path: Path) -> None:
    f = tmp_path / "meta_AMAZON_FASHION.json.gz"
    write_jsonl(
        f,
        [
            {
                "asin": "B1",
                "title": "Shoe",
                "main_cat": "Shoes",
                "category": ["A", "B"],
                "imageURL": ["http://s/1.jpg"],
                "imageURLHighRes": ["http://h/1.jpg"],
            },
            {"asin": "B2", "title": "Hat", "imageURL": ["http://s/2.jpg"], "imageURLHighRes": []},
            {"asin": "B3", "title": "Bag"},
            {"title": "no asin"},
            {"asin": "B1", "title": "again"},
        ],
    )
    res = load_amazon_meta(f)
    df = res.frame
    assert list(df["item_id"]) == ["B1", "B2", "B3"]
    assert list(df["image_urls"]) == [["http://h/1.jpg"], ["http://s/2.jpg"], []]
    assert list(df["category"]) == ["AMAZON_FASHION"] * 3
    assert df["categories"].iloc[0] == ["A", "B"] and df["main_cat"].iloc[0] == "Shoes"
    assert [(b.line, b.kind) for b in res.bad] == [(4, "missing asin"), (5, "duplicate asin")]
    assert f"{f}:1" in res.bad[1].reason


def test_meta_as_label_table_keeps_the_first_record_with_a_label(tmp_path: Path) -> None:
    from visrec.data.item_tables import load_item_table

    f = tmp_path / "meta_AMAZON_FASHION.json"
    write_jsonl(
        f,
        [
            {"asin": "B1", "title": "Shoe", "main_cat": ""},
            {"asin": "B2", "title": "Hat", "main_cat": "Hats"},
            {"asin": "B1", "title": "Shoe again", "main_cat": "Shoes"},
            {"asin": "B2", "title": "Hat again", "main_cat": "Caps"},
        ],
    )
    res = load_item_table(f, id_col="asin", label_col="main_cat")
    # B1's first record has no label: its later one is used, not dropped as a repeat
    assert dict(zip(res.frame["item_id"], res.frame["main_cat"], strict=True)) == {
        "B1": "Shoes",
        "B2": "Hats",
    }
    assert [(b.line, b.kind) for b in res.bad] == [(1, "empty label"), (4, "duplicate item id")]
    assert "already on line 2 (kept that)" in res.bad[1].reason
    # the loader on its own still keeps the first record of a repeated asin
    assert list(load_amazon_meta(f).frame["title"]) == ["Shoe", "Hat"]


# ------------------------------------------------------------------ property test
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=8,
)
objects = st.lists(st.dictionaries(st.text(max_size=6), json_value, max_size=4), max_size=6)


@settings(max_examples=60, deadline=None)
@given(objects, st.booleans())
def test_stream_parser_round_trips_both_layouts(objs: list[dict], pretty: bool) -> None:
    text = "\n".join(json.dumps(o, indent=2 if pretty else None) for o in objs)
    got = list(iter_json_records(text, "f"))
    assert [o for _, o in got] == objs
    assert not any(isinstance(o, BadRecord) for _, o in got)
    if not pretty:
        assert [ln for ln, _ in got] == list(range(1, len(objs) + 1))


# ------------------------------------------------------------------ real data
@pytest.mark.realdata
def test_real_fashion_counts_and_speed(shared_data: Path) -> None:
    f = shared_data / "amazon" / "AMAZON_FASHION_5.json.gz"
    t0 = time.process_time()  # CPU time: robust to other jobs on a shared machine
    res = load_amazon_reviews(f)
    elapsed = time.process_time() - t0
    df = res.frame
    assert (len(df), df["user_id"].nunique(), df["item_id"].nunique()) == (3176, 406, 31)
    assert int((df["image"].map(len) > 0).sum()) == 106
    assert res.n_bad == 0 and df["review_id"].is_unique
    # the star ratings as the raw file holds them, one JSON object a line
    with gzip.open(f, "rt", encoding="utf-8") as fh:
        stars = [json.loads(line)["overall"] for line in fh if line.strip()]
    assert df["rating"].tolist() == stars
    assert elapsed < 2.0  # ~0.1 s of CPU


@pytest.mark.realdata
def test_real_both_files_one_table(shared_data: Path) -> None:
    a = shared_data / "amazon" / "AMAZON_FASHION_5.json.gz"
    b = shared_data / "amazon" / "All_Beauty_5.json.gz"
    beauty = load_amazon_reviews(b).frame
    assert (len(beauty), beauty["user_id"].nunique(), beauty["item_id"].nunique()) == (
        5269,
        991,
        85,
    )
    assert int((beauty["image"].map(len) > 0).sum()) == 98
    both = load_amazon_reviews([a, b]).frame
    assert len(both) == 3176 + 5269
    assert both["category"].value_counts().to_dict() == {"All_Beauty": 5269, "AMAZON_FASHION": 3176}
    assert both["review_id"].is_unique


@pytest.mark.realdata
def test_real_file_pretty_printed_with_nulls(shared_data: Path, tmp_path: Path) -> None:
    """The variant found in the wild: pretty-printed, some "overall": null."""
    src = shared_data / "amazon" / "AMAZON_FASHION_5.json.gz"
    recs = [json.loads(ln) for ln in gzip.decompress(src.read_bytes()).splitlines()]
    for i in (0, 10, 3175):
        recs[i]["overall"] = None
    out = tmp_path / "AMAZON_FASHION_5.json.gz"
    starts = write_pretty(out, recs)
    res = load_amazon_reviews(out)
    assert res.n_rows == 3173
    assert [b.line for b in res.bad] == [starts[0], starts[10], starts[3175]]
    assert {b.kind for b in res.bad} == {"null rating"}
    assert res.frame["user_id"].nunique() == 406


@pytest.mark.realdata
def test_real_summary_cli(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a = shared_data / "amazon" / "AMAZON_FASHION_5.json.gz"
    b = shared_data / "amazon" / "All_Beauty_5.json.gz"
    out = tmp_path / "s.json"
    assert main(["data", "summary", str(a), str(b), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "AMAZON_FASHION                     3,176  (37.6%)" in text
    sec = json.loads(out.read_text())["sections"]
    assert len(sec) == 1
    assert sec[0]["rows"] == 8445 and sec[0]["reviews_with_photos"] == 204
    one = summarize([a])[0]
    assert (one["rows"], one["users"], one["items"], one["reviews_with_photos"]) == (
        3176,
        406,
        31,
        106,
    )
    assert one["ratings"]["5"] == 2158
    beauty = summarize([b])[0]
    assert (beauty["rows"], beauty["users"], beauty["items"], beauty["reviews_with_photos"]) == (
        5269,
        991,
        85,
        98,
    )


def test_summary_cli_reports_bad_records(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    f = tmp_path / "AMAZON_FASHION_5.json"
    write_jsonl(f, ITEMS)
    assert main(["data", "summary", str(f)]) == 0
    text = capsys.readouterr().out
    assert "bad records (not kept): 3 (null rating 1, missing asin 1, invalid JSON 1)" in text
    assert f"{f}:2: 'overall' is null" in text
    assert "reviews with photo URLs                  1  (33.3%)" in text


def test_ids_only_rejects_bad_ids_exactly_as_the_full_loader(tmp_path: Path) -> None:
    f = tmp_path / "X_5.json"
    no_user = {k: v for k, v in review("B2", "U2", 2).items() if k != "reviewerID"}
    write_jsonl(f, [GOOD_1, no_user, review("B3", " ", 3), NO_ASIN, review(" ", "U5", 5)])
    full, ids = load_amazon_reviews(f), load_amazon_reviews(f, ids_only=True)
    assert [str(b) for b in ids.bad] == [str(b) for b in full.bad]
    assert [(b.line, b.kind) for b in ids.bad] == [
        (2, "missing reviewerID"),
        (3, "missing reviewerID"),
        (4, "missing asin"),
        (5, "missing asin"),
    ]
    assert ids.frame.equals(full.frame[["user_id", "item_id"]])


# ------------------------------------------------------------ Amazon Reviews 2023
REVIEWS_2023 = [
    {
        "rating": 5.0,
        "title": "lovely",
        "text": "...",
        "images": [
            {
                "small_image_url": "http://x/s1.jpg",
                "medium_image_url": "http://x/m1.jpg",
                "large_image_url": "http://x/l1.jpg",
                "attachment_type": "IMAGE",
            }
        ],
        "asin": "B00YQ6X8EO",
        "parent_asin": "B00YQ6X8EP",
        "user_id": "AGKHLEW2SOWHNMFQIJGBECAF7INQ",
        "timestamp": 1588687728923,
        "helpful_vote": 0,
        "verified_purchase": True,
    },
    {
        "rating": 3.0,
        "images": [],
        "asin": "B01",
        "parent_asin": "B01",
        "user_id": "U2",
        "timestamp": 1588687000000,
        "verified_purchase": False,
    },
    {"rating": None, "asin": "B01", "parent_asin": "B01", "user_id": "U3", "timestamp": 1},
]


def _jsonl_2023(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_reviews_2023_times_already_in_seconds_are_kept(tmp_path: Path) -> None:
    # a 2023 file whose times were converted to seconds (or a mix of both) must not
    # have them divided again, which would put the reviews in 1970
    recs = [dict(REVIEWS_2023[1], timestamp=1588687001, user_id="U9"), REVIEWS_2023[1]]
    df = load_amazon_reviews(_jsonl_2023(tmp_path / "Mixed.jsonl", recs)).frame
    assert df["timestamp"].tolist() == [1588687001, 1588687000]


def test_reviews_2023_read_like_2018(tmp_path: Path) -> None:
    f = _jsonl_2023(tmp_path / "All_Beauty.jsonl", REVIEWS_2023)
    res = load_amazon_reviews(f)
    df = res.frame
    # the product (parent_asin) is the item; milliseconds become seconds
    assert df["item_id"].tolist() == ["B00YQ6X8EP", "B01"]
    assert df["user_id"].tolist() == ["AGKHLEW2SOWHNMFQIJGBECAF7INQ", "U2"]
    assert df["timestamp"].tolist() == [1588687728, 1588687000]
    assert df["rating"].tolist() == [5.0, 3.0] and df["verified"].tolist() == [True, False]
    assert df["image"].tolist() == [["http://x/l1.jpg"], []]
    assert df["category"].tolist() == ["All_Beauty", "All_Beauty"]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "null rating")]
    # through the generic loader, from the file or from its folder
    assert load_interactions(f).frame["item_id"].tolist() == ["B00YQ6X8EP", "B01"]
    assert load_interactions(tmp_path).n_rows == 2


def test_meta_2023_images_and_categories(tmp_path: Path) -> None:
    meta = {
        "main_category": "All Beauty",
        "title": "Howard LC0008 Leather Conditioner",
        "images": [
            {
                "thumb": "http://x/t.jpg",
                "large": "http://x/l.jpg",
                "variant": "MAIN",
                "hi_res": None,
            },
            {"thumb": "http://x/t2.jpg", "large": "http://x/l2.jpg", "hi_res": "http://x/h2.jpg"},
        ],
        "categories": ["Beauty", "Skin Care"],
        "parent_asin": "B01CUPMQZE",
    }
    f = _jsonl_2023(tmp_path / "meta_All_Beauty.jsonl", [meta])
    row = load_amazon_meta(f).frame.iloc[0]
    assert row["item_id"] == "B01CUPMQZE" and row["main_cat"] == "All Beauty"
    assert row["image_urls"] == ["http://x/l.jpg", "http://x/h2.jpg"]
    assert row["categories"] == ["Beauty", "Skin Care"]
    # as cluster --labels, by the file's own names
    from visrec.data.item_tables import load_item_table

    table = load_item_table(f, id_col="parent_asin", label_col="main_category")
    assert table.frame[["item_id", "main_category"]].values.tolist() == [
        ["B01CUPMQZE", "All Beauty"]
    ]


def test_csv_with_both_asins_takes_the_product(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("user_id,asin,parent_asin,rating\nu,B1-red,B1,5\nv,B1-blue,B1,4\n", "utf-8")
    assert load_interactions(f).frame["item_id"].tolist() == ["B1", "B1"]


def test_bad_2023_records_are_named_in_their_own_fields(tmp_path: Path) -> None:
    records = [
        {"rating": None, "parent_asin": "P1", "user_id": "U1", "timestamp": 1588687728923},
        {"rating": 4.0, "parent_asin": "P1", "timestamp": 1588687728923},
        {"rating": 4.0, "parent_asin": "P1", "user_id": "U2", "timestamp": "soon"},
        {"rating": 4.0, "asin": "B1", "user_id": "U3", "timestamp": 1588687728923},
        {"rating": 4.0, "asin": "B1", "parent_asin": None, "user_id": "U4", "timestamp": 1},
        {"rating": 5.0, "parent_asin": "P2", "user_id": "U5", "timestamp": 1588687728923,
         "verified_purchase": "maybe"},
    ]  # fmt: skip
    res = load_amazon_reviews(_jsonl_2023(tmp_path / "Beauty.jsonl", records))
    assert res.frame["user_id"].tolist() == ["U5"]
    assert [(w.kind, w.reason) for w in res.warnings] == [
        (
            "unreadable verified_purchase",
            """'verified_purchase' is "maybe", expected true or false (kept as false)""",
        )
    ]
    assert [(b.line, b.kind, b.reason) for b in res.bad] == [
        (1, "null rating", "'rating' is null"),
        (2, "missing user_id", "no 'user_id' field"),
        (3, "missing time", """'timestamp' is "soon", expected whole milliseconds within int64"""),
        # a variant asin is no product: not taken for the item
        (4, "missing parent_asin", "no 'parent_asin' field"),
        (5, "missing parent_asin", "'parent_asin' is null or empty"),
    ]
    meta = _jsonl_2023(tmp_path / "meta_Beauty.jsonl", [{"title": "x", "parent_asin": None}])
    assert [(b.kind, b.reason) for b in load_amazon_meta(meta).bad] == [
        ("missing parent_asin", "no parent_asin (null or absent)")
    ]


def test_summary_of_a_folder_includes_its_metadata(tmp_path: Path) -> None:
    # reviews and meta_<Category> side by side: both are summarised (the meta file was
    # skipped without a word)
    write_jsonl(
        tmp_path / "Shoes_5.json",
        [{"overall": 5.0, "reviewerID": "U1", "asin": "B1", "unixReviewTime": 1500000000},
         {"overall": 3.0, "reviewerID": "U2", "asin": "B2", "unixReviewTime": 1500000001}],
    )  # fmt: skip
    write_jsonl(tmp_path / "meta_Shoes.json", [{"asin": "B1", "main_cat": "Shoes"}, {"asin": "B2"}])
    kinds = [(s["kind"], s["rows"]) for s in summarize([tmp_path])]
    assert kinds == [("Amazon reviews", 2), ("Amazon metadata", 2)]
