"""Session 67 mutation audit of ``visrec demo`` and ``visrec knn-rating`` (command layer)
and the shared help/parser helpers.

Modules: src/visrec/commands/demo.py, src/visrec/commands/knn_rating.py,
src/visrec/commands/_help.py.

Mutants: 50 (_help.py 11, knn_rating.py 18, demo.py 21). The old tests killed 40 (the
_help.py ones against test_s64_help_mutants + test_cli_parsing; the others against
"-k knn" / "-k demo" selections of their nearest test files, survivors then run against
test_s63_resume_mutants, test_s52_demo, test_s53_empty_values and a few more). These
tests kill the 9 real gaps left (each checked to fail on its mutant):

- knn-rating: the same-vector caveat left out of the JSON notes; 1 instead of 3 ids named
  in the no-image note; the review-photo cold-items advice given for item vectors; the
  --test-size (0.2) and --random-state (1234) defaults changed.
- demo: a results.json lacking "timings" taken as a demo's; the --json/--out folder check
  made on the spelling, not the absolute path; the "wrote" line naming --report instead
  of --json; the pipeline's step lines (echo) not silenced by -q.

Equivalent (1): knn_rating ``notes.append(...)`` -> ``notes.append(...) if
no_key.any() else None`` inside ``if (no_key & ~bad).any()``: no_key.any() is always
true there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_rating_knn import _cli_fixture
from test_s65_demo_mutants import _stopped_demo
from visrec.cli import build_parser, main
from visrec.embed.store import ItemVectors, write_vectors


def _files(tmp_path: Path) -> tuple[str, str]:
    """The knn-rating fixture of test_rating_knn: 91 rating rows of 31 items, 87 of them
    with a picture ('i0' has no image, 'ghost' no vector)."""
    r, v = _cli_fixture(tmp_path)  # type: ignore[no-untyped-call]
    return str(r), str(v)


def _blobs(tmp_path: Path, rows: list[tuple[object, object, object]]) -> tuple[str, str]:
    """Vectors i0..i8 in 3 blobs, and a ratings CSV of ``rows`` (user, item, rating)."""
    ids = np.array([f"i{j}" for j in range(9)], dtype=object)
    blob = np.arange(9) % 3
    vecs = (np.eye(3, 4)[blob] * 10 + np.arange(9)[:, None] * 0.01).astype(np.float32)
    write_vectors(
        tmp_path / "v.parquet", ItemVectors(ids=ids, vectors=vecs, has_image=np.ones(9, bool))
    )
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(
        tmp_path / "r.csv", index=False
    )
    return str(tmp_path / "r.csv"), str(tmp_path / "v.parquet")


def _knn(tmp_path: Path, r: str, v: str, *extra: str) -> dict[str, object]:
    out = tmp_path / "knn.json"
    assert (
        main(["knn-rating", "--interactions", r, "--vectors", v, "--json", str(out), *extra]) == 0
    )
    got: dict[str, object] = json.loads(out.read_text())
    return got


# ------------------------------------------------------------------ knn-rating


def test_knn_rating_defaults_are_the_tutorials() -> None:
    """Catches a changed default of --test-size (0.2) or --random-state (1234), which
    the description and --help promise as the tutorial's protocol."""
    args = build_parser().parse_args(["knn-rating", "--interactions", "r", "--vectors", "v"])
    assert (args.test_size, args.random_state, args.k) == (0.2, 1234, 3)
    assert (args.key_col, args.include_missing) == ("item_id", False)


def test_the_rows_without_an_image_name_three_item_ids(tmp_path: Path) -> None:
    """Catches fewer than three of the missing item ids named in the note."""
    rows: list[tuple[object, object, object]] = [
        (f"u{u}", f"i{j}", float(j % 3 + 1)) for u in range(2) for j in range(9)
    ]
    rows += [("u0", f"x{j}", 2.0) for j in range(5)]  # five items with no vector
    r, v = _blobs(tmp_path, rows)
    notes = [str(n) for n in _knn(tmp_path, r, v, "--test-size", "0.3")["notes"]]  # type: ignore[attr-defined]
    (said,) = [n for n in notes if "has no image" in n]
    assert said.startswith("left out 5 of 23 rows whose item_id has no image ('x0', 'x1', 'x2'")
    assert "and 2 more)" in said


def test_the_json_notes_carry_the_same_vector_caveat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches the same-vector caveat (said on stderr) left out of the JSON's notes."""
    r, v = _files(tmp_path)
    got = _knn(tmp_path, r, v)
    err = capsys.readouterr().err
    caveat = [line for line in err.splitlines() if line.startswith("note: ")]
    assert caveat, err  # every item is rated 3 times: test rows share training vectors
    assert caveat[0].removeprefix("note: ") in got["notes"]  # type: ignore[operator]


# ------------------------------------------------------------------ demo


@pytest.mark.parametrize("quiet", [False, True])
def test_demo_quiet_hides_the_step_lines_not_the_notes(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    quiet: bool,
) -> None:
    """Catches the pipeline's step lines (echo) said under -q too."""
    import visrec.demo.pipeline as pipeline

    def stop(*a: object, **kw: object) -> object:
        kw["echo"]("step line")  # type: ignore[operator]
        kw["note"]("data note")  # type: ignore[operator]
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_demo", stop)
    argv = ["demo", "--out", str(tmp_path / "out"), "--report", str(tmp_path / "r.html")]
    assert main([*argv, *(["-q"] if quiet else [])]) == 130
    err = capsys.readouterr().err
    assert "data note" in err
    assert ("step line" in err) is not quiet


def test_demo_json_copy_is_written_and_said(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches the 'wrote' line naming another file than --json, or a --json copy that
    differs from OUT/results.json."""
    import visrec.commands.demo as demo_cmd
    from test_s65_demo_mutants import _FakeResult

    out = tmp_path / "out"
    monkeypatch.setattr(demo_cmd, "_run_demo", lambda args: _FakeResult(out))
    copy = tmp_path / "copy.json"
    argv = ["demo", "--out", str(out), "--report", str(tmp_path / "r.html"), "-q"]
    assert main([*argv, "--json", str(copy)]) == 0
    assert capsys.readouterr().out.endswith(f"\nwrote {copy}\n")
    assert copy.read_text() == (out / "results.json").read_text()


def test_the_same_vector_caveat_points_item_vectors_to_cold_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches the review-photo advice (one vector per item from the meta file) given
    when the vectors already are one per item."""
    r, v = _files(tmp_path)
    _knn(tmp_path, r, v)
    err = capsys.readouterr().err
    assert err.rstrip().endswith(
        "; visrec rating-eval --protocol cold-items asks the picture alone"
    )
    assert "meta file" not in err


def test_demo_refuses_a_json_naming_the_out_folder_spelt_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches the --json/--out comparison made on the spelling, not the absolute path
    (a relative --out and an absolute --json of the same folder)."""
    monkeypatch.chdir(tmp_path)
    status, seen = _stopped_demo(
        monkeypatch, tmp_path, "--out", "out", "--json", str(tmp_path / "out")
    )
    assert (status, seen) == (2, [])
    assert capsys.readouterr().err == (
        f"error: --json {tmp_path / 'out'} is the --out folder; "
        "name a file (e.g. out/results.json)\n"
    )


def test_a_results_json_without_timings_is_no_sign_of_a_demo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches a results.json with only some of a demo's keys (no "timings") taken as
    a demo's, so that a user's vectors.parquet beside it would be replaced."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "vectors.parquet").write_text("the user's")
    (out / "results.json").write_text(
        json.dumps({"dataset": "d", "layout": "generic", "n_embedded": 4})
    )
    status, seen = _stopped_demo(monkeypatch, tmp_path, "--out", str(out))
    assert (status, seen) == (2, [])
    assert "but no sign that a demo wrote them" in capsys.readouterr().err
    assert (out / "vectors.parquet").read_text() == "the user's"
