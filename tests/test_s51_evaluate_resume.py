"""Session 51: resuming ``visrec evaluate`` and merging into an earlier ``--json``.

Each test fails before its fix or kills a named mutant of the session's audit; small
generated data and the real popularity and BPR (two epochs), so each run takes seconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from small_vectors import item_vectors
from visrec.cli import main
from visrec.errors import VisrecError
from visrec.evaluation import runner as R

BPR = ("bpr", {"epochs": 2, "factors": 4})


def _frame(n_users: int = 24, n_items: int = 18, per_user: int = 6) -> pd.DataFrame:
    """Every user has ``per_user`` distinct random items, with times."""
    rng = np.random.default_rng(7)
    rows = [
        (f"u{u}", f"i{i}", int(t))
        for u in range(n_users)
        for i, t in zip(
            rng.choice(n_items, per_user, replace=False),
            rng.integers(1, 10_000, per_user),
            strict=True,
        )
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def _run(frame: pd.DataFrame, models: list[Any], seeds: tuple[int, ...], **kw: Any) -> Any:
    return R.run_experiment(frame, None, "warm", models, seeds=seeds, k=5, progress=False, **kw)


def _keys(path: Path) -> list[tuple[int, str]]:
    """The (seed, model) runs kept in the results JSON at ``path``."""
    runs = json.loads(path.read_text())["resume"]["runs"]
    return sorted((r["seed"], r["model"]) for r in runs)


@pytest.mark.parametrize("damage", ["syntax", "encoding"])
def test_earlier_results_that_cannot_be_read_are_said_before_they_are_replaced(
    tmp_path: Path, damage: str
) -> None:
    # before: a hand edit that broke the JSON was taken as "nothing to reuse" without a
    # word, and the runs it held of other models (bpr here) were lost when the new
    # results replaced it
    frame = _frame()
    out = tmp_path / "out.json"
    _run(frame, ["popularity", BPR], (0,)).to_json(out)
    assert _keys(out) == [(0, "bpr"), (0, "popularity")]
    text = out.read_bytes()
    bad = b'"k": 5,,' if damage == "syntax" else b'"k": 5, "note": "\xff"'
    out.write_bytes(text.replace(b'"k": 5', bad, 1))
    notes: list[str] = []
    _run(frame, ["popularity"], (0,), earlier=out, note=notes.append)
    assert len(notes) == 1, notes
    assert notes[0].startswith(f"resume: cannot read the earlier results in {out} (")
    assert "runs it holds of other seeds or models are lost" in notes[0]


def test_another_file_in_the_place_of_the_results_is_replaced_without_a_note(
    tmp_path: Path,
) -> None:
    # the other side of the note above: a file that is no visrec results is not parsed
    # (and so says nothing) however broken it is
    frame = _frame()
    out = tmp_path / "out.json"
    out.write_text('{"name": "not visrec",,}\n')
    notes: list[str] = []
    _run(frame, ["popularity"], (0,), earlier=out, note=notes.append)
    assert notes == []


_FIGURES = ["seed", "model", "auc", "recall", "ndcg", "hit_rate", "coverage"]


def test_vectors_given_to_other_items_are_other_inputs(tmp_path: Path) -> None:
    # kills: the vectors' digest without their ids (the same rows given to other items:
    # a re-embedding in another order). On cold-items the ids with an image decide
    # which items are held out, so a reused run would be of another split
    frame = _frame()
    ids = [f"i{i}" for i in range(18)]
    rows = [[float(i), 1.0] for i in range(18)]
    has = [i < 12 for i in range(18)]
    record = tmp_path / "rec.jsonl"
    first = item_vectors(ids, rows, has)
    R.run_experiment(frame, first, "cold-items", ["popularity"], seeds=(0,), k=5,
                     progress=False, resume=record, keep_record=True)  # fmt: skip
    moved = item_vectors(ids[::-1], rows, has)  # i17..i6 now have the images
    notes: list[str] = []
    got = R.run_experiment(frame, moved, "cold-items", ["popularity"], seeds=(0,), k=5,
                           progress=False, resume=record, note=notes.append)  # fmt: skip
    assert notes and "(vectors changed)" in notes[0]
    fresh = R.run_experiment(frame, moved, "cold-items", ["popularity"], seeds=(0,), k=5,
                             progress=False)  # fmt: skip
    assert got.info == fresh.info
    pd.testing.assert_frame_equal(got.runs[_FIGURES], fresh.runs[_FIGURES])


def test_a_record_of_one_line_of_other_json_is_refused_not_a_traceback(tmp_path: Path) -> None:
    # kills: _is_record without its check of the keys (a line of other JSON then
    # raised KeyError from inside the reader); the file is left as it was
    record = tmp_path / "rec.jsonl"
    text = '{"protocol": "warm", "k": 5}\n'
    record.write_text(text)
    with pytest.raises(VisrecError, match=r"rec\.jsonl: not a resume record of visrec"):
        _run(_frame(), ["popularity"], (0,), resume=record)
    assert record.read_text() == text


def test_the_note_of_ignored_runs_counts_only_runs_fitted_again(tmp_path: Path) -> None:
    # before: every line of other inputs was counted as "fitted again", those of models
    # this call does not run (bpr here) and those of runs another line gives: a rerun
    # that fitted nothing said it ignored 4 runs that "are fitted again"
    frame = _frame()
    record = tmp_path / "rec.jsonl"
    _run(frame, ["popularity", BPR], (0, 1), resume=record, keep_record=True)  # k=5
    notes: list[str] = []
    R.run_experiment(frame, None, "warm", ["popularity"], seeds=(0, 1), k=6, progress=False,
                     resume=record, keep_record=True, note=notes.append)  # fmt: skip
    assert notes == [
        f"resume: ignoring 2 runs recorded in {record} with other inputs (k changed); "
        "they are fitted again (and kept in the record until this run completes)"
    ]
    notes.clear()  # k=5 again: its popularity runs are there, beside the k=6 ones
    _run(frame, ["popularity"], (0, 1), resume=record, note=notes.append)
    assert notes == [f"resuming: 2 of 2 runs already done ({record})"]
    assert {k for k in _record_keys(record)} == {(0, "bpr"), (1, "bpr")}


def _record_keys(record: Path) -> list[tuple[int, str]]:
    return [(r["seed"], r["model"]) for r in map(json.loads, record.read_text().splitlines())]


def test_runs_kept_for_a_later_call_survive_other_vectors_they_do_not_read(
    tmp_path: Path,
) -> None:
    # kills: _PER_RUN without "vectors" (the bpr runs of the earlier results, which read
    # no vectors, were dropped from them when a call without bpr came with other vectors)
    frame = _frame()
    ids = [f"i{i}" for i in range(18)]
    first = item_vectors(ids, [[float(i), 1.0] for i in range(18)])
    other = item_vectors(ids, [[1.0, float(i)] for i in range(18)])
    out = tmp_path / "out.json"
    R.run_experiment(frame, first, "warm", ["popularity", BPR], seeds=(0,), k=5,
                     progress=False).to_json(out)  # fmt: skip
    notes: list[str] = []
    R.run_experiment(frame, other, "warm", ["popularity"], seeds=(0,), k=5, progress=False,
                     earlier=out, note=notes.append).to_json(out)  # fmt: skip
    assert notes == [f"resuming: 1 of 1 runs already done ({out})"]
    assert _keys(out) == [(0, "bpr"), (0, "popularity")]
    notes.clear()  # bpr back, on the other vectors: nothing to fit
    R.run_experiment(frame, other, "warm", ["popularity", BPR], seeds=(0,), k=5,
                     progress=False, earlier=out, note=notes.append)  # fmt: skip
    assert notes == [f"resuming: 2 of 2 runs already done ({out})"]


def test_a_run_edited_by_hand_is_not_carried_into_the_new_results(tmp_path: Path) -> None:
    # kills: _carried without its r["intact"] check: the edited bpr run was carried
    # through a call without bpr, signed afresh there, and reused as edited by the next
    frame = _frame()
    out = tmp_path / "out.json"
    _run(frame, ["popularity", BPR], (0,)).to_json(out)
    data = json.loads(out.read_text())
    (bpr,) = [r for r in data["resume"]["runs"] if r["model"] == "bpr"]
    bpr["row"]["recall"] = 0.999
    out.write_text(json.dumps(data, indent=2))
    notes: list[str] = []
    _run(frame, ["popularity"], (0,), earlier=out, note=notes.append).to_json(out)
    assert notes[0] == (
        f"resume: 1 other run of the earlier results in {out} is dropped from it "
        "(damaged or edited): this command does not make it"
    )
    assert _keys(out) == [(0, "popularity")]
    res = _run(frame, ["popularity", BPR], (0,), earlier=out)
    assert res.runs.set_index("model").loc["bpr", "recall"] != 0.999


def test_a_carried_run_keeps_the_vectors_it_was_fitted_on(tmp_path: Path) -> None:
    # kills: results_section writing a carried run under this call's fingerprint: a
    # visual-cf run fitted on the first vectors, carried through a popularity call on
    # other ones, was then reused as if fitted on those
    frame = _frame()
    ids = [f"i{i}" for i in range(18)]
    first = item_vectors(ids, [[float(i), 1.0] for i in range(18)])
    other = item_vectors(ids, [[1.0, float(i % 5)] for i in range(18)])
    vcf = ("visual-cf", {"epochs": 2, "factors": 4, "profile_dim": 2})
    out = tmp_path / "out.json"
    R.run_experiment(frame, first, "warm", ["popularity", vcf], seeds=(0,), k=5,
                     progress=False).to_json(out)  # fmt: skip
    R.run_experiment(frame, other, "warm", ["popularity"], seeds=(0,), k=5, progress=False,
                     earlier=out).to_json(out)  # fmt: skip
    assert _keys(out) == [(0, "popularity"), (0, "visual-cf")]
    notes: list[str] = []
    R.run_experiment(frame, other, "warm", ["popularity", vcf], seeds=(0,), k=5,
                     progress=False, earlier=out, note=notes.append)  # fmt: skip
    assert notes == [
        f"resume: not reusing 1 run of the earlier results in {out} (vectors changed); "
        "it is fitted again",
        f"resuming: 1 of 2 runs already done ({out})",
    ]


def test_a_fingerprint_edited_by_hand_does_not_make_runs_reusable(tmp_path: Path) -> None:
    # kills: each run's digest without the fingerprint (a k written over by hand then
    # passed runs of k=5 off as k=6 ones)
    frame = _frame()
    out = tmp_path / "out.json"
    _run(frame, ["popularity"], (0,)).to_json(out)
    data = json.loads(out.read_text())
    data["resume"]["fingerprint"]["k"] = 6
    out.write_text(json.dumps(data, indent=2))
    notes: list[str] = []
    R.run_experiment(frame, None, "warm", ["popularity"], seeds=(0,), k=6, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert notes == [
        f"resume: 1 run of the earlier results in {out} lacks a field, holds a wrong "
        "value or was edited; it is fitted again"
    ]


def test_no_resume_reuses_nothing_of_the_earlier_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: evaluate passing --json as the earlier results under --no-resume too
    csv, out = tmp_path / "u.csv", tmp_path / "out.json"
    _frame().to_csv(csv, index=False)
    argv = ["evaluate", "--interactions", str(csv), "--models", "popularity", "--seeds", "2",
            "--k", "5", "--json", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert main(argv) == 0
    assert f"resuming: 2 of 2 runs already done ({out})" in capsys.readouterr().err
    assert main([*argv, "--no-resume"]) == 0
    assert "resuming" not in capsys.readouterr().err
