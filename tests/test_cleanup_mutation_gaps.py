"""Gaps a mutation audit of the demo resume, the output-folder cleanup and the first-line
rules found: each test fails on one small change of that code."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import signed
from visrec.cli import main


def _demo_argv(out: Path) -> list[str]:
    return ["demo", "--items", "4", "--users", "1", "--out", str(out), "-q"]


@pytest.mark.parametrize("content", ["", "not a record\n"])
def test_an_interrupted_demo_promises_nothing_of_an_empty_or_foreign_record(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    content: str,
) -> None:
    import visrec.commands.demo as demo_cmd

    out = tmp_path / "out"

    def interrupted(args: Any) -> Any:
        out.mkdir(exist_ok=True)
        (out / ".recommenders-warm.partial.jsonl").write_text(content)
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_cmd, "_run_demo", interrupted)
    assert main(_demo_argv(out)) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "interrupted"
    assert "kept in" not in err and "Traceback" not in err


def test_cli_no_resume_reaches_run_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import visrec.demo.pipeline as pipeline

    seen: list[Any] = []

    def fake(*a: Any, **kw: Any) -> Any:
        seen.append(kw.get("resume", "absent"))
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_demo", fake)
    assert main(_demo_argv(tmp_path / "a")) == 130
    assert main([*_demo_argv(tmp_path / "b"), "--no-resume"]) == 130
    assert seen == [True, False]


def test_drop_records_removes_a_link_left_at_a_record_path(tmp_path: Path) -> None:
    from visrec.demo.recommenders import drop_records, record_paths

    warm, cold = record_paths(tmp_path)
    os.symlink(tmp_path / "nowhere", warm)  # a link to nothing: not is_file()
    cold.write_text("")
    drop_records(tmp_path)
    assert not os.path.lexists(warm) and not cold.exists()


def test_a_space_before_the_quotes_is_a_field_not_a_blank_line() -> None:
    # split_rows keeps ` ""` (the quotes are part of the field): the header line is it
    from visrec.data.text_files import first_text_line

    assert first_text_line(' ""\nid,colour\n') == ' ""'
    assert first_text_line('""\n" "\nid,colour\n') == "id,colour"


def test_a_carriage_return_or_spaces_in_a_column_name_are_shown_plainly(tmp_path: Path) -> None:
    import pandas as pd

    from visrec.data.images_index import read_manifest_rows
    from visrec.data.item_tables import load_item_table
    from visrec.errors import VisrecError

    pq = tmp_path / "items.parquet"
    pd.DataFrame({"x\ry": [1]}).to_parquet(pq)
    with pytest.raises(VisrecError) as got:
        load_item_table(pq)
    assert "\r" not in str(got.value) and "(columns: x\\ry)" in str(got.value)
    m = tmp_path / "m.csv"
    m.write_text("a, ,x\n")  # a name of spaces: bare, it reads as a stray comma
    with pytest.raises(VisrecError, match=r'manifest header \(a, " ", x\)'):
        read_manifest_rows(m)


def test_data_summary_reads_an_item_table_with_a_byte_order_mark(tmp_path: Path) -> None:
    from visrec.data.summary import summarize

    p = tmp_path / "styles.csv"
    p.write_text("\ufeffid,colour\n1,red\n2,blue\n")
    (got,) = summarize([p])
    assert got["items"] == 2
    p.write_text("\ufeff\n\nid,colour\n1,red\n")  # a BOM, then blank lines
    (got,) = summarize([p])
    assert got["items"] == 1


def test_a_tab_manifest_below_a_blank_line_is_read_as_tabs(tmp_path: Path) -> None:
    from visrec.data.images_index import read_manifest_rows

    m = tmp_path / "manifest.txt"  # not .tsv: the separator is taken from the header
    m.write_text("\nitem_id\tpath\na\ta.jpg\n")
    assert read_manifest_rows(m) == [("a", "a.jpg", 3)]


@pytest.mark.parametrize("resume", [True, False])
def test_a_demo_without_recommenders_leaves_their_records_even_with_no_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resume: bool
) -> None:
    from test_demo import _colour_embedder
    from visrec.demo.pipeline import run_demo
    from visrec.embed import extract

    monkeypatch.setattr(extract, "embed_images", _colour_embedder([]))
    out = tmp_path / "out"
    out.mkdir()
    warm = out / ".recommenders-warm.partial.jsonl"
    run = {"seed": 0, "model": "popularity", "fp": {}, "params": {}, "split": {}}
    line = json.dumps(signed({**run, "row": {}})) + "\n"
    warm.write_text(line)
    # a folder at the other record path: refused only when the recommenders run
    (out / ".recommenders-cold-items.partial.jsonl").mkdir()
    run_demo(
        out, report_path=tmp_path / "r.html", n_items=8, n_users=4, image_size=32,
        progress=False, echo=None, recommenders=False, resume=resume,
    )  # fmt: skip
    assert (out / "results.json").exists() and warm.read_text() == line


def test_a_lock_whose_folder_cannot_be_made_is_no_lock_not_an_exception(tmp_path: Path) -> None:
    # the docstring: "a no-op where no lock can be had": the write then says what is wrong
    from visrec._atomic import exclusive_lock

    f = tmp_path / "f"
    f.write_text("")
    with exclusive_lock(f / "sub" / "x.json", "t") as held:
        assert held is False
    assert f.read_text() == ""


def test_no_lock_in_an_existing_folder_is_not_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec._atomic as atomic

    calls: list[int] = []

    def no_lock(*a: object) -> None:
        calls.append(1)
        return None

    monkeypatch.setattr(atomic, "_acquire", no_lock)
    with atomic.exclusive_lock(tmp_path / "x.json", "t") as held:
        assert held is False
    assert calls == [1]  # the folder is there: a second try cannot help


def test_demo_out_dotdot_error_names_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "theirs").mkdir()
    out = tmp_path / "nosuch" / ".." / "theirs" / "out"
    assert main(_demo_argv(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out: ") and len(err.strip().splitlines()) == 1


def test_an_interrupted_demo_names_both_records_it_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec.commands.demo as demo_cmd

    out = tmp_path / "out"
    run = {"seed": 0, "model": "popularity", "fp": {}, "params": {}, "split": {}}

    def interrupted(args: Any) -> Any:
        out.mkdir(exist_ok=True)
        for protocol in ("warm", "cold-items"):
            (out / f".recommenders-{protocol}.partial.jsonl").write_text(
                json.dumps(signed({**run, "row": {}})) + "\n"
            )
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_cmd, "_run_demo", interrupted)
    assert main(_demo_argv(out)) == 130
    assert (
        f"interrupted: finished recommender runs are kept in {out}/.recommenders-warm.partial"
        f".jsonl and {out}/.recommenders-cold-items.partial.jsonl; run the same command "
        "again to resume"
    ) in capsys.readouterr().err
