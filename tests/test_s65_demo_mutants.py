"""Session 65 mutation audit: ``visrec demo``'s command layer, row reasons, output names.

Audited: src/visrec/commands/demo.py (argument checks, the --out folder check, the
outputs' checks, the summary/notes/time streams, the failure and interrupt notes,
_kept_runs), src/visrec/data/row_reasons.py and src/visrec/_output_names.py.

Mutants: 62 in total (demo.py 40, row_reasons.py 10, _output_names.py 12); 44 killed
by the existing tests (the demo.py ones against targeted selections of the demo tests),
60 killed with this file, 2 equivalent:

- field_count_hint ``len(fields) > n_expected`` -> ``>=``: differs only for a row of
  exactly n_expected fields, which no caller passes (each calls it on a wrong count).
- field_count_hint ``0 < n_expected - len(fields)`` -> ``0 <=``: the same, for the
  header hint.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from visrec._output_names import check_output_suffix
from visrec.errors import VisrecError

# ------------------------------------------------------------------ _output_names


@pytest.mark.parametrize("comp", [".gz", ".bz2", ".xz", ".zip", ".zst", ".zstd", ".lz4", ".7z"])
def test_every_compressed_suffix_is_refused_for_a_plain_output(comp: str) -> None:
    # kills: a suffix (.zst) left out of the compressed ones, so `r.csv.zst` was written
    # as plain CSV that visrec's own loaders then refused
    with pytest.raises(VisrecError) as got:
        check_output_suffix(f"r.csv{comp}", "-o", "CSV")
    assert str(got.value) == (
        f"-o: 'r.csv{comp}' ends in {comp}, but visrec writes it as plain CSV, not "
        "compressed; name it 'r.csv' (and compress it afterwards)"
    )


@pytest.mark.parametrize(
    ("name", "keep"),
    [("r.tsv.gz", "r.csv"), ("r.jsonl.gz", "r.csv"), ("r.parquet.gz", "r.csv"), ("r.gz", "r.csv"),
     ("r.v1.gz", "r.v1.csv")],
)  # fmt: skip
def test_a_compressed_name_of_another_format_is_renamed_to_the_written_one(
    name: str, keep: str
) -> None:
    # kills: the inner suffix of another format (.tsv, .jsonl) kept in the advice
    # ('r.tsv.csv'), or a suffix that says no format (.v1) dropped from it
    with pytest.raises(VisrecError, match=re.escape(f"name it {keep!r} ")):
        check_output_suffix(name, "-o", "CSV")


@pytest.mark.parametrize(
    ("name", "said"),
    [("r.tsv", "tab-separated text"), ("r.TAB", "tab-separated text"), ("r.jsonl", "JSON lines"),
     ("r.xlsx", "Excel"), ("r.htm", "HTML"), ("r.pq", "Parquet")],
)  # fmt: skip
def test_a_name_of_another_format_is_refused_with_that_format_said(name: str, said: str) -> None:
    # kills: .tab or .htm dropped from the names that say a format
    suffix = Path(name).suffix.lower()  # said as the suffix is read: in any case
    with pytest.raises(VisrecError) as got:
        check_output_suffix(name, "--json", "JSON")
    assert str(got.value) == (
        f"--json: {name!r} ends in {suffix} ({said}), but visrec writes JSON there; "
        f"name it {Path(name).stem + '.json'!r}"
    )


def test_an_htm_name_is_an_html_output_and_kept_when_compressed() -> None:
    check_output_suffix("page.htm", "--report", "HTML")  # its own format: passes
    with pytest.raises(VisrecError, match=r"name it 'page\.htm' "):
        check_output_suffix("page.htm.gz", "--report", "HTML")


# ------------------------------------------------------------------ visrec demo


def _stopped_demo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *options: str
) -> tuple[int, list[tuple[Any, dict[str, Any]]]]:
    """``visrec demo OPTIONS`` stopped where it calls the pipeline: its status and the
    calls ``run_demo`` got (none: refused before)."""
    import visrec.demo.pipeline as pipeline
    from visrec.cli import main

    seen: list[tuple[Any, dict[str, Any]]] = []

    def stop(*a: Any, **kw: Any) -> Any:
        seen.append((a, kw))
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_demo", stop)
    if "--out" not in options:
        options = (*options, "--out", str(tmp_path / "out"))
    if "--report" not in options:
        options = (*options, "--report", str(tmp_path / "r.html"))
    return main(["demo", *options, "-q"]), seen


def test_the_demo_passes_every_catalogue_and_model_option_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # kills: --k not passed on, --image-size 1024 (the largest) refused, --items 4 (one
    # per category) refused
    status, seen = _stopped_demo(
        monkeypatch, tmp_path, "--items", "4", "--users", "2", "--image-size", "1024",
        "--k", "5", "--max-items", "2", "--batch-size", "3", "--engine", "torch",
    )  # fmt: skip
    assert status == 130
    ((a, kw),) = seen
    assert a == (str(tmp_path / "out"), None)
    assert (kw["n_items"], kw["n_users"], kw["image_size"]) == (4, 2, 1024)
    assert (kw["k"], kw["max_items"], kw["batch_size"], kw["engine"]) == (5, 2, 3, "torch")
    assert kw["report_path"] == str(tmp_path / "r.html")
    status, seen = _stopped_demo(monkeypatch, tmp_path, "--image-size", "32", "--items", "3")
    assert (status, seen) == (2, [])


def test_an_out_folder_of_hidden_entries_only_is_taken_as_empty(tmp_path: Path) -> None:
    from visrec.commands.demo import check_demo_folder

    # kills: hidden entries (the embedding's resume parts, temporary files) counted as
    # the user's files
    out = tmp_path / "out"
    out.mkdir()
    (out / ".vectors.parquet.parts").mkdir()
    (out / ".tmp-results.json").write_text("x")
    check_demo_folder(out)


def test_an_out_folder_of_the_demos_own_names_only_is_said_to_lack_a_sign(tmp_path: Path) -> None:
    from visrec.commands.demo import check_demo_folder

    # kills: a catalogue/ folder counted as a file no demo wrote
    out = tmp_path / "out"
    (out / "catalogue").mkdir(parents=True)
    with pytest.raises(VisrecError) as got:
        check_demo_folder(out)
    assert str(got.value).startswith(
        f"--out {str(out)!r} holds catalogue but no sign that a demo wrote them; "
    )


def test_an_out_folder_of_many_foreign_files_names_five(tmp_path: Path) -> None:
    from visrec.commands.demo import check_demo_folder

    # kills: six names shown, or the count of the rest off by one
    out = tmp_path / "out"
    out.mkdir()
    for name in ["a", "b", "c", "d", "e", "f", "g", "vectors.parquet"]:
        (out / name).write_text("mine")
    with pytest.raises(VisrecError) as got:
        check_demo_folder(out)
    assert f"--out {str(out)!r} holds files no demo wrote (a, b, c, d, e and 2 more); " in str(
        got.value
    )
    for name in ["b", "c", "d", "e", "f", "g"]:
        (out / name).unlink()
    with pytest.raises(VisrecError, match=r"holds files no demo wrote \(a\); "):
        check_demo_folder(out)


def test_a_results_json_with_more_than_a_demos_keys_is_a_demos(tmp_path: Path) -> None:
    from visrec.commands.demo import _demo_results, check_demo_folder

    # kills: the demo's keys required to be all the file holds (a demo's results.json
    # holds many more: its folder was refused)
    out = tmp_path / "out"
    out.mkdir()
    (out / "vectors.parquet").write_text("demo's")
    keys = {"dataset": "d", "layout": "generic", "n_embedded": 3, "timings": {}}
    (out / "results.json").write_text(json.dumps({**keys, "n_items": 3, "cluster": None}))
    assert _demo_results(out / "results.json")
    check_demo_folder(out)
    (out / "results.json").write_text(json.dumps([keys]))
    assert not _demo_results(out / "results.json")


@pytest.mark.parametrize(
    ("option", "example"), [("--json", "results.json"), ("--report", "report.html")]
)
def test_an_output_file_naming_the_out_folder_is_refused_before_any_work(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    option: str,
    example: str,
) -> None:
    # kills: --json left out of the check (the folder the run makes is not there yet
    # for check_output_file to see)
    out = tmp_path / "out"
    status, seen = _stopped_demo(monkeypatch, tmp_path, "--out", str(out), option, str(out))
    assert (status, seen) == (2, [])
    assert capsys.readouterr().err == (
        f"error: {option} {out} is the --out folder; name a file (e.g. {out / example})\n"
    )
    assert not out.exists()


class _FakeResult:
    """What ``run_demo`` returns, as far as the command reads it."""

    def __init__(self, out: Path) -> None:
        self.results_path = out / "results.json"
        self.report_path = out.parent / "r.html"
        self.timings = {"embed images": 1.25, "report": 0.5}

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": "d", "layout": "generic", "n_embedded": 4, "timings": self.timings}

    def format(self, notes: bool = True) -> str:
        return f"FIGURES (notes={notes})"

    def section_notes(self) -> list[str]:
        return ["2 of 9 rating rows left out"]


@pytest.mark.parametrize("quiet", [False, True])
def test_the_summary_goes_to_stdout_and_the_notes_and_time_to_stderr(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    quiet: bool,
) -> None:
    import visrec.commands.demo as demo_cmd
    from visrec.cli import main

    # kills: the notes printed in the summary too, the time line kept by -q (or shown
    # only with it)
    out = tmp_path / "out"
    monkeypatch.setattr(demo_cmd, "_run_demo", lambda args: _FakeResult(out))
    argv = ["demo", "--out", str(out), "--report", str(tmp_path / "r.html")]
    assert main([*argv, *(["-q"] if quiet else [])]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        f"FIGURES (notes=False)\n\nreport:  {tmp_path / 'r.html'}\n"
        f"results: {out / 'results.json'}\n"
    )
    err = captured.err.splitlines()
    assert err[0] == "2 of 9 rating rows left out"
    if quiet:
        assert len(err) == 1
    else:
        assert len(err) == 2 and err[1].startswith("time: ")
        assert err[1].endswith(" s (embed images 1.2 s, report 0.5 s)")
    saved = json.loads((out / "results.json").read_text())
    assert saved["n_embedded"] == 4 and saved["run"]["command"].startswith("visrec demo --out ")


@pytest.mark.parametrize(
    ("exc", "status", "noted"),
    [(VisrecError("bad input"), 2, False), (OSError(28, "No space left on device"), 1, True)],
)
def test_a_failed_demo_says_what_it_kept_unless_the_input_was_refused(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    exc: Exception,
    status: int,
    noted: bool,
) -> None:
    import visrec.commands.demo as demo_cmd
    from visrec.cli import main
    from visrec.demo.pipeline import DEMO_MARKER

    # kills: the "kept" note (and its "run it again") after bad input that the same
    # command would meet again, or none after a failure a rerun gets past
    out = tmp_path / "out"
    out.mkdir()
    (out / DEMO_MARKER).write_text("")
    (out / "vectors.parquet").write_text("an earlier demo's")

    def fail(args: Any) -> Any:
        raise exc

    monkeypatch.setattr(demo_cmd, "_run_demo", fail)
    argv = ["demo", "--no-recommenders", "--out", str(out), "--report", str(tmp_path / "r.html")]
    assert main([*argv, "-q"]) == status
    kept = (
        f"the image vectors in {out / 'vectors.parquet'} are kept; run the same command "
        "again to resume"
    )
    assert (kept in capsys.readouterr().err) is noted


def test_an_interrupted_demo_counts_one_finished_chunk(tmp_path: Path) -> None:
    import argparse

    from visrec.commands.demo import _kept_runs
    from visrec.embed.chunk_files import parts_dir

    # kills: a single finished chunk not said (and the finished vectors said instead)
    out = tmp_path / "out"
    out.mkdir()
    (out / "vectors.parquet").write_text("an earlier demo's")
    args = argparse.Namespace(out=str(out), recommenders=False, data=None, resume=True)
    parts = parts_dir(out / "vectors.parquet")
    parts.mkdir(parents=True)
    (parts / "chunk-00000.parquet").write_bytes(b"")
    said = _kept_runs(args)
    assert said == (
        f"1 finished embedding chunk is kept in {parts}; run the same command again to resume"
    )


def test_the_catalogue_options_are_noted_as_unused_only_with_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.demo.synth import make_catalogue

    # kills: the note given without --data too, where the options are used
    status, seen = _stopped_demo(monkeypatch, tmp_path, "--items", "8", "--image-size", "64")
    assert status == 130 and seen[0][1]["n_items"] == 8
    assert "note:" not in capsys.readouterr().err
    cat = make_catalogue(tmp_path / "cat", n_items=4, n_users=2, image_size=32)
    status, seen = _stopped_demo(
        monkeypatch, tmp_path, "--data", str(cat.root), "--users", "3", "--image-size", "64"
    )
    assert status == 130 and seen[0][0] == (str(tmp_path / "out"), str(cat.root))
    assert (
        "note: --users, --image-size shape the generated catalogue, not used with --data; "
        "--max-items N takes a sample of N items of a real dataset\n"
    ) in capsys.readouterr().err


def test_an_output_that_is_a_file_of_the_data_folder_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.demo.synth import make_catalogue

    # kills: the --data folder's files left out of the outputs' check: --json through a
    # link onto the catalogue's items.csv would replace it
    cat = make_catalogue(tmp_path / "cat", n_items=4, n_users=2, image_size=32)
    link = tmp_path / "r.json"
    link.symlink_to(cat.root / "items.csv")
    status, seen = _stopped_demo(
        monkeypatch, tmp_path, "--data", str(cat.root), "--json", str(link)
    )
    assert (status, seen) == (2, [])
    err = capsys.readouterr().err
    assert err == (
        f"error: --json: {str(link)!r} is the --data file {str(cat.root / 'items.csv')!r}; "
        "writing it would replace it. Name another output file\n"
    )


def test_an_out_that_is_a_file_is_said_to_be_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main

    # kills: the file check dropped (its listing failed as a system error, exit 1)
    out = tmp_path / "out"
    out.write_text("mine")
    assert main(["demo", "--out", str(out), "--report", str(tmp_path / "r.html"), "-q"]) == 2
    assert capsys.readouterr().err == f"error: --out {str(out)!r} is a file, not a folder\n"
    assert out.read_text() == "mine"


def test_an_interrupted_demo_gives_its_resume_advice_once(tmp_path: Path) -> None:
    import argparse

    from conftest import signed
    from visrec.commands.demo import _kept_runs

    # kills: "run the same command again to resume" added after the recommender runs'
    # line, which says it already
    out = tmp_path / "out"
    out.mkdir()
    (out / "vectors.parquet").write_text("this run's")
    run = {"seed": 0, "model": "popularity", "fp": {}, "params": {}, "split": {}}
    record = out / ".recommenders-warm.partial.jsonl"
    record.write_text(json.dumps(signed({**run, "row": {}})) + "\n")
    args = argparse.Namespace(out=str(out), recommenders=None, data=None, resume=True)
    assert _kept_runs(args) == (
        f"the image vectors in {out / 'vectors.parquet'} are kept; finished recommender runs "
        f"are kept in {record}; run the same command again to resume"
    )
