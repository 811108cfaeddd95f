"""A data scientist's notebook walk through the Python API: the docs' own calls work
with the plain values a notebook passes (a str path), and what a cell shows is a
summary, not megabytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from visrec import load_interactions, run_experiment
from visrec.evaluation import run_record


def _frame() -> pd.DataFrame:
    users = [f"u{u}" for u in range(12) for _ in range(6)]
    items = [f"i{(u * 3 + j) % 15}" for u in range(12) for j in range(6)]
    return pd.DataFrame({"user_id": users, "item_id": items})


def test_forget_takes_the_str_path_given_as_resume(tmp_path: Path) -> None:
    # docs/evaluation.md: keep_record=True, then run_record.forget(PATH, result.run_keys())
    record = str(tmp_path / "runs.jsonl")
    res = run_experiment(
        _frame(), None, "warm", ["popularity"], seeds=2, progress=False,
        resume=record, keep_record=True,
    )  # fmt: skip
    assert len(run_record.read_record(Path(record))) == 2
    run_record.forget(record, res.run_keys())  # was an AttributeError: 'str' .read_bytes
    assert not Path(record).exists()


def test_forget_keeps_the_runs_of_other_seeds(tmp_path: Path) -> None:
    record = str(tmp_path / "runs.jsonl")
    run_experiment(
        _frame(), None, "warm", ["popularity"], seeds=2, progress=False,
        resume=record, keep_record=True,
    )  # fmt: skip
    run_record.forget(record, {(0, "popularity")})
    assert [r["seed"] for r in run_record.read_record(Path(record))] == [1]


def test_load_result_repr_is_a_summary_not_every_bad_record(tmp_path: Path) -> None:
    lines = ["user_id,item_id,rating"]
    lines += [f"u{i},i{i % 50},{'x' if i % 2 else 4}" for i in range(20_000)]
    path = tmp_path / "ratings.csv"
    path.write_text("\n".join(lines) + "\n")
    shown = repr(load_interactions(path))
    assert shown == (
        "LoadResult(10,000 rows (user_id, item_id, rating) from 1 file; "
        "bad records: 10,000 (non-numeric rating 10,000); 0 warnings)"
    )  # it was the frame and all 10,000 BadRecords: 1.2 MB in a notebook cell


def test_load_result_repr_is_singular_for_one_and_caps_wide_tables(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("user_id,item_id\nu,i\n")
    assert repr(load_interactions(path)) == (
        "LoadResult(1 row (user_id, item_id) from 1 file; bad records: 0; 0 warnings)"
    )
    from visrec.data.load_result import LoadResult

    wide = LoadResult(pd.DataFrame(np.zeros((2, 12)), columns=[f"c{i}" for i in range(12)]))
    assert repr(wide) == (
        "LoadResult(2 rows (c0, c1, c2, c3, c4, c5, c6, c7, ... (12 columns)); "
        "bad records: 0; 0 warnings)"
    )
