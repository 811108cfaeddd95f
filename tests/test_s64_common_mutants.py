"""Mutation audit of ``visrec.commands._common`` (session 64).

Audited: every function of the module (VECTORS/--vectors parsing, --sep and column
options, ``load_interactions_frame`` and its notes, ``split_min_rating``, ``name_ids``,
``scan_photos``, ``with_run``, ``check_vectors_match`` and the review-photo advice).
Session 39 (tests/test_session39_mutation_gaps.py) covered only the advice threshold.

Mutants: 64 in total; 37 killed by the existing tests (targeted files), 62 after these
tests; 0 equivalent. Two are left alive as gaps, not equivalents: the re-read without
the time dropping ``review_digest`` (needs an Amazon review file with a missing time)
and the unread-folder note naming every file read rather than the first.

One bug found and fixed: ``scan_photos`` took a manifest URL with an upper-case scheme
(``HTTPS://...``, kept as a URL by the manifest reader) as a local photo path.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from visrec.cli import main
from visrec.commands._common import (
    REVIEW_PHOTO_ADVICE,
    check_vectors_match,
    load_interactions_frame,
    name_ids,
    scan_photos,
    skipped_records,
    with_run,
)
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError


def _vectors(path: Path, ids: list[str]) -> Path:
    rows = np.eye(len(ids), 2, dtype=np.float32) + np.float32(0.5)
    has = np.ones(len(ids), dtype=bool)
    write_vectors(path, ItemVectors(ids=np.asarray(ids, dtype=object), vectors=rows, has_image=has))
    return path


def test_a_lone_id_after_an_option_follows_the_vectors_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # argparse gives VECTORS and the one id after --n both to ITEM_ID: [V, "a"]
    vectors = _vectors(tmp_path / "v.parquet", ["a", "b", "c"])
    out = tmp_path / "out.json"
    assert main(["similar", str(vectors), "--n", "1", "a", "--json", str(out)]) == 0
    capsys.readouterr()
    assert [r["item_id"] for r in json.loads(out.read_text())] == ["a"]


def test_an_item_id_spelt_like_a_parquet_file_that_does_not_exist_is_an_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    vectors = _vectors(tmp_path / "v.parquet", ["x.parquet", "b", "c"])
    out = tmp_path / "out.json"
    argv = ["similar", "--vectors", str(vectors), "x.parquet", "--n", "1", "--json", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    assert [r["item_id"] for r in json.loads(out.read_text())] == ["x.parquet"]


def test_a_rating_column_named_on_the_command_line_is_read_when_the_rating_is_kept(
    tmp_path: Path,
) -> None:
    f = tmp_path / "orders.csv"
    f.write_text("who,what,stars\nu1,i1,5\nu1,i2,2\nu2,i1,4\n")
    notes: list[str] = []
    frame = load_interactions_frame(
        f,
        ids_only=True,
        keep_rating=True,
        user_col="who",
        item_col="what",
        rating_col="stars",
        log=notes.append,
    )
    assert frame["rating"].tolist() == [5.0, 2.0, 4.0]
    assert not any("not read here" in n for n in notes)


def test_time_optional_is_for_a_full_load_an_ids_only_load_keeps_the_time_it_asked_for(
    tmp_path: Path,
) -> None:
    f = tmp_path / "r.csv"
    f.write_text("user_id,item_id,rating,timestamp\nu1,i1,5,100\nu1,i2,2,oops\nu2,i1,4,300\n")
    notes: list[str] = []
    frame = load_interactions_frame(
        f, ids_only=True, keep_time=True, time_optional=True, log=notes.append
    )
    # the row without a usable time is skipped, not kept by dropping everyone's time
    assert frame["item_id"].tolist() == ["i1", "i1"]
    assert frame["timestamp"].notna().all()
    assert not any("no usable time" in n for n in notes)
    assert skipped_records(frame) == {"bad timestamp": 1}


def test_name_ids_adds_no_count_when_every_id_is_shown() -> None:
    assert name_ids(["a", "b"], None, limit=2) == " ('a', 'b')"
    assert name_ids(["a", "b", "c"], "f.csv", limit=2) == " (f.csv: 'a', 'b' and 1 more)"


def test_scan_photos_reads_a_manifest_of_any_case_and_subfolders_and_drops_urls(
    tmp_path: Path,
) -> None:
    (tmp_path / "shoes").mkdir()
    (tmp_path / "shoes" / "a.jpg").write_bytes(b"x")
    (tmp_path / "b.png").write_bytes(b"x")
    # a folder: its subfolders too (photos by category)
    assert scan_photos(str(tmp_path), "r.html", {}) == {
        "a": tmp_path / "shoes" / "a.jpg",
        "b": tmp_path / "b.png",
    }
    manifest = tmp_path / "M.CSV"
    manifest.write_text("item_id,path\na,shoes/a.jpg\nc,https://example.com/c.jpg\n")
    assert scan_photos(str(manifest), "r.html", {}) == {"a": tmp_path / "shoes" / "a.jpg"}


def test_scan_photos_drops_a_url_whatever_the_case_of_its_scheme(tmp_path: Path) -> None:
    # the manifest reader keeps 'HTTPS://...' as a URL (case-insensitive): it was then
    # taken here as a local photo named 'HTTPS:/example.com/c.jpg'
    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\nc,HTTPS://example.com/c.jpg\nd,Http://example.com/d.jpg\n")
    assert scan_photos(str(manifest), "r.html", {}) == {}


def test_scan_photos_refuses_an_output_that_would_replace_a_photo(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    with pytest.raises(VisrecError, match=r"photo a\.jpg"):
        scan_photos(str(tmp_path), "r.html", {"--json": str(tmp_path / "a.jpg")})
    assert scan_photos(None, "r.html", {}) is None
    with pytest.raises(VisrecError, match="give --report HTML too"):
        scan_photos(str(tmp_path), None, {})


def test_the_load_report_names_the_first_three_bad_records_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    f = tmp_path / "r.csv"
    f.write_text("user_id,item_id,rating\nu1,i1,5\n" + "".join(f"u{n},i{n},x\n" for n in range(5)))
    notes: list[str] = []
    load_interactions_frame(f, log=notes.append)
    report = "\n".join(notes)
    assert [n for n in range(1, 9) if f"{f}:{n}:" in report] == [3, 4, 5]
    assert report.endswith("... and 2 more")


@pytest.mark.parametrize(
    ("n_cols", "listed"),
    [
        (5, "'c1', 'c2', 'c3', 'c4', 'c5'"),
        (6, "'c1', 'c2', 'c3', 'c4', 'c5' and 1 more"),
    ],
)
def test_unread_columns_are_named_five_at_most(tmp_path: Path, n_cols: int, listed: str) -> None:
    cols = [f"c{n}" for n in range(1, n_cols + 1)]
    f = tmp_path / "wide.csv"
    f.write_text(",".join(["user_id", "item_id", *cols]) + "\nu1,i1" + ",7" * n_cols + "\n")
    notes: list[str] = []
    load_interactions_frame(f, ids_only=True, log=notes.append)
    assert notes == [
        f"note: {f}: columns {listed} not read: every row is one interaction; a rating "
        "or time column under another name is named with --rating-col / --time-col (or "
        "renamed to rating / timestamp)"
    ]
    # a load that reads the rating does not say every row is one interaction
    notes.clear()
    load_interactions_frame(f, ids_only=True, keep_rating=True, log=notes.append)
    assert notes == [f"note: {f}: columns {listed} not read"]


def test_the_run_block_is_made_once_and_says_the_command_line_and_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(argv_=["train", "--interactions", "my data.csv"])
    first = with_run({"x": 1}, args)
    assert first["x"] == 1
    run = first["run"]
    assert run["command"] == "visrec train --interactions 'my data.csv'"
    assert run["cwd"] == str(tmp_path)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", run["created"])
    run["cwd"] = "changed by a caller"  # a copy: the kept block is not touched
    monkeypatch.setattr(os, "getcwd", lambda: "/elsewhere")
    assert with_run({}, args)["run"] == {**run, "cwd": str(tmp_path)}


def test_a_removed_working_folder_leaves_the_run_block_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def gone() -> str:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(os, "getcwd", gone)
    run = with_run({}, argparse.Namespace(argv_=["data"]))["run"]
    assert run["cwd"] is None and run["command"] == "visrec data"
    # a test's own args (no argv_): no command line, no folder
    assert set(with_run({}, argparse.Namespace())["run"]) == {"visrec", "created"}


def _vecs(ids: list[str], has: list[bool]) -> ItemVectors:
    rows = np.zeros((len(ids), 2), dtype=np.float32)
    rows[np.asarray(has, dtype=bool)] = 1.0
    return ItemVectors(
        ids=np.asarray(ids, dtype=object), vectors=rows, has_image=np.asarray(has, dtype=bool)
    )


def test_a_partial_match_notes_ids_the_vectors_hold_under_another_spelling(
    capsys: pytest.CaptureFixture[str],
) -> None:
    vectors = _vecs(["007", "8", "x"], [True, True, True])
    note = (
        "v.parquet: 1 of the 2 items of i.csv has no image vector; 1 of them is in it "
        "spelt otherwise ('7' as '007'): ids are compared as written, and they count as "
        "items without a picture"
    )
    assert check_vectors_match(vectors, ["7", "8", "8"], "v.parquet", "i.csv", quiet=True) == note
    assert capsys.readouterr().err == ""
    assert check_vectors_match(vectors, ["7", "8"], "v.parquet", "i.csv") == note
    assert capsys.readouterr().err == f"note: {note}\n"
    assert check_vectors_match(vectors, ["7", "8"], "v", "i", respelt_note=False) is None
    # a respelling to an id without a picture would not help: no note
    no_picture = _vecs(["007", "8", "x"], [False, True, True])
    assert check_vectors_match(no_picture, ["7", "8"], "v", "i") is None
    # an interactions file without items: nothing to refuse
    assert check_vectors_match(vectors, [], "v", "i") is None
    assert capsys.readouterr().err == ""


def test_vectors_holding_no_picture_of_any_item_are_refused_with_the_reason() -> None:
    with pytest.raises(VisrecError) as exc:
        check_vectors_match(_vecs(["a", "b", "c"], [False, False, True]), ["a", "b", "a"], "v", "i")
    assert str(exc.value) == (
        "v: none of the 2 items has an image vector (each has has_image false or a vector "
        "of zeros: no picture)"
    )
    with pytest.raises(VisrecError) as exc:
        check_vectors_match(_vecs(["a", "007"], [False, True]), ["a", "7"], "v", "i")
    assert str(exc.value) == (
        "v: none of the 2 items has an image vector: 1 is in it without a picture "
        "(has_image false or a vector of zeros) and 1 is not in it (i ('7'), v ('a', "
        "'007')); 1 of them is in it spelt otherwise ('7' as '007'): ids are compared "
        "as written"
    )
    with pytest.raises(VisrecError, match=r"2 are in it without a picture .* and 1 is not"):
        check_vectors_match(_vecs(["a", "b", "c"], [False, False, True]), ["a", "b", "z"], "v", "i")


@pytest.mark.parametrize(
    ("vector_ids", "advised"),
    [
        # more than half of the ids are <item>_<more>, found past the first two
        (["zz", "yy", "a_r1_t", "b_r2_t", "c_r3_t"], True),
        (["zz", "a_r", "b_r", "q_r"], False),  # half: not most
    ],
)
def test_review_photo_vectors_get_the_advice_only_when_most_ids_are_review_photos(
    vector_ids: list[str], advised: bool
) -> None:
    with pytest.raises(VisrecError, match="none of the 3 items is in it") as exc:
        check_vectors_match(_vecs(vector_ids, [True] * len(vector_ids)), list("abc"), "v", "i")
    assert str(exc.value).endswith(REVIEW_PHOTO_ADVICE) is advised
