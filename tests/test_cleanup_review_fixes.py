"""Folders made for an output and removed again, resume records of the demo, and the
first lines the loaders skip: fixes after a review of these changes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from visrec._atomic import exclusive_lock, probe_writable
from visrec.cli import main
from visrec.data.images_index import read_manifest_rows
from visrec.data.summary import summarize
from visrec.errors import VisrecError


def test_a_folder_reached_through_dotdot_is_never_removed(tmp_path: Path) -> None:
    # `new/../theirs`: `new` is made to reach `theirs`, which was there already
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    with pytest.raises(RuntimeError), exclusive_lock(tmp_path / "new/../theirs/x.json", "t"):
        raise RuntimeError
    assert theirs.is_dir() and not (tmp_path / "new").exists()
    probe_writable(tmp_path / "new2/../theirs/x.json")  # it failed on `theirs` existing
    assert theirs.is_dir() and not (tmp_path / "new2").exists()
    with exclusive_lock(tmp_path / "made/x.json", "t"):
        (tmp_path / "made/x.json").write_text("{}")
    assert (tmp_path / "made/x.json").exists()  # an output written stays


def test_evaluate_into_a_new_folder_that_fails_leaves_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter = tmp_path / "inter.csv"
    inter.write_text("user_id,item_id\n1,10\n1,11\n2,10\n2,12\n3,11\n3,12\n")
    argv = ["evaluate", "--interactions", str(inter), "--models", "popularity", "--seeds", "1"]
    out = tmp_path / "ev" / "a" / "e.json"
    # the time protocol needs timestamps: an error after the checks of the options
    assert main([*argv, "--protocol", "time", "--json", str(out), "-q"]) == 2
    assert "needs a timestamp" in capsys.readouterr().err
    assert not (tmp_path / "ev").exists()
    assert main([*argv, "--protocol", "warm", "--json", str(out), "-q"]) == 0
    assert json.loads(out.read_text())["protocol"] == "warm"
    assert sorted(p.name for p in out.parent.iterdir()) == ["e.json"]


@pytest.mark.parametrize(("kind", "protocol"), [("folder", "warm"), ("pipe", "cold-items")])
def test_demo_refuses_a_folder_or_pipe_at_a_record_path_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, protocol: str
) -> None:
    out = tmp_path / "d"
    out.mkdir()
    record = out / f".recommenders-{protocol}.partial.jsonl"
    if kind == "folder":
        record.mkdir()
    else:
        os.mkfifo(record)  # read for what was kept, it would hang the demo
    argv = ["demo", "--items", "8", "--users", "4", "--image-size", "32", "--out", str(out),
            "--report", str(tmp_path / "r.html"), "-q"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {record} is not a regular file (a {kind}): "
        "remove it, visrec keeps the recommender runs it finished there\n"
    )
    assert [p.name for p in out.iterdir()] == [record.name]


def test_a_new_folder_removed_by_another_run_is_made_again_for_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # run A made `new/sub` too, failed and removed it between our mkdir and our lock
    # file: without a second try this run went on with no lock
    import visrec._atomic as atomic

    acquire = atomic._acquire
    tries: list[int] = []

    def racing(lock: Path, *a: object) -> int | None:
        tries.append(1)
        if len(tries) == 1:
            (tmp_path / "new" / "sub").rmdir()
            (tmp_path / "new").rmdir()
        return acquire(lock, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic, "_acquire", racing)
    with exclusive_lock(tmp_path / "new" / "sub" / "x.json", "t") as held:
        assert held and len(tries) == 2
    assert not (tmp_path / "new").exists()  # made again, and removed again: left empty


def test_demo_out_with_dotdot_after_a_missing_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "theirs").mkdir()
    out = tmp_path / "nosuch" / ".." / "theirs" / "out"
    assert main(["demo", "--items", "4", "--users", "1", "--out", str(out), "-q"]) == 2
    assert "the '..' after it leads nowhere" in capsys.readouterr().err
    assert not (tmp_path / "nosuch").exists() and (tmp_path / "theirs").is_dir()


@pytest.mark.parametrize("first", ["", '""'])
def test_data_summary_skips_a_blank_first_line_of_an_item_table(tmp_path: Path, first: str) -> None:
    p = tmp_path / "styles.csv"
    p.write_text(f"{first}\nid,colour\n1,red\n2,blue\n")
    (got,) = summarize([p])
    assert got["items"] == 2
    p.write_text('""\n\n')
    with pytest.raises(VisrecError, match="no header line: every line is blank"):
        summarize([p])


def test_a_manifest_header_below_blank_lines_is_found(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text('\n""\nitem_id,path\na,a.jpg\nb\n')
    with pytest.raises(VisrecError) as got:
        read_manifest_rows(m)
    assert str(got.value) == f"{m} line 5: expected 2 fields, got 1"  # the file's line
    m.write_text("\nitem_id,path\na,a.jpg\n")
    assert read_manifest_rows(m) == [("a", "a.jpg", 3)]
    m.write_text('"",x\n')
    with pytest.raises(VisrecError, match=r'manifest header \("", x\) needs an id column'):
        read_manifest_rows(m)


def test_a_column_name_with_a_line_break_keeps_the_error_on_one_line(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text('"item\nid",x\na,b\n')
    with pytest.raises(VisrecError) as got:
        read_manifest_rows(m)
    assert "\n" not in str(got.value) and "manifest header (item\\nid, x)" in str(got.value)


@pytest.mark.parametrize(
    ("first", "sep"), [(",,", ","), (",,,", ","), ('"",""', ","), ("\t\t", "\t"), (";;", ";")]
)
def test_a_first_row_of_empty_fields_is_no_header(tmp_path: Path, first: str, sep: str) -> None:
    # a spreadsheet writes its empty first row as ",,,": the header is the next row
    from visrec.data.item_tables import load_item_table
    from visrec.data.tables import load_interactions

    p = tmp_path / "t.csv"
    p.write_text(f"{first}\nuser_id{sep}item_id\nu1{sep}i1\n")
    got = load_interactions(p)
    assert got.frame[["user_id", "item_id"]].values.tolist() == [["u1", "i1"]]
    p.write_text(f"{first}\nid{sep}colour\na{sep}red\n")
    assert load_item_table(p, id_col="id").frame["item_id"].tolist() == ["a"]
    m = tmp_path / "m.csv"
    m.write_text(f"{first}\nitem_id{sep}path\na{sep}a.jpg\n")
    if sep in ",\t":  # a manifest is comma- or tab-separated
        assert read_manifest_rows(m) == [("a", "a.jpg", 3)]
    p.write_text(f"{first}\n{first}\n")
    # (a file of tabs and line breaks only is whitespace: "file is empty")
    with pytest.raises(
        VisrecError, match=r"no header line: every line is blank or holds only|file is empty"
    ):
        load_interactions(p)
