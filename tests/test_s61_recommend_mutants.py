"""Session 61 mutation audit of `visrec recommend` (commands/recommend.py, with the
candidate-file reading of commands/_recs_inputs.py): tests that kill the mutants the
older tests let live. Each test names the mutant it kills.

50 hand-made mutants (38 in recommend.py, 12 in _recs_inputs.py's id-list reading):
45 killed by the existing tests, 1 equivalent (train.json's recorded path "" kept as ""
rather than None: every reader of it tests truthiness), 4 killed only by the tests below
(the progress bar's count, --skip-unknown-users with --unknown-users skip, an empty list
counted short too, a failed scoring leaving RECS.csv.partial behind).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main


def _run(model: Path, out: Path, *extra: str) -> int:
    return main(["recommend", str(model), "-o", str(out), "--quiet", *extra])


def test_skip_unknown_users_and_unknown_users_skip_together_agree(
    popularity_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: the contradiction check `mode not in (None, "skip")` made `mode not in
    # (None,)` (recommend.py _unknown_users_mode): the two spellings of one choice,
    # given together, were refused as contradicting each other
    users = tmp_path / "users.txt"
    users.write_text("u3\nnobody\n")
    out = tmp_path / "recs.csv"
    argv = ["--n", "2", "--users", str(users), "--skip-unknown-users"]
    assert _run(popularity_dir, out, *argv, "--unknown-users", "skip") == 0
    assert set(pd.read_csv(out, dtype=str)["user_id"]) == {"u3"}
    assert "left out 1 of 2 users" in capsys.readouterr().err
    assert _run(popularity_dir, out, *argv, "--unknown-users", "popular") == 2
    assert "contradict each other" in capsys.readouterr().err


def test_a_user_with_no_candidate_left_is_not_also_counted_short(
    popularity_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: the short-list count without `n_ok > 0` (recommend.py _write_batches): a
    # user whose every candidate is a training item was said twice, empty and short.
    # Candidates i1..i3 (--n 2): u1 and u8 took all three (empty lists); u2, u7 and u9
    # have one left (short lists); the other four have two (full lists)
    items = tmp_path / "items.txt"
    items.write_text("i1\ni2\ni3\n")
    out = tmp_path / "recs.csv"
    assert _run(popularity_dir, out, "--n", "2", "--items", str(items)) == 0
    taken = {f"u{u}": {f"i{(u + k) % 7}" for k in range(3)} for u in range(1, 10)}
    left = {u: len({"i1", "i2", "i3"} - t) for u, t in taken.items()}
    n_empty = sum(v == 0 for v in left.values())
    n_short = sum(v == 1 for v in left.values())
    assert (n_empty, n_short) == (2, 3)
    out_text = capsys.readouterr().out
    assert (
        "recommended for 7 users (2 users with no candidate left, every one a training item: "
        "no rows; 3 users with fewer than 2 candidates left once their training items are "
        "out: shorter lists) from 3 candidates"
    ) in out_text
    recs = pd.read_csv(out, dtype=str)
    assert len(recs) == sum(min(v, 2) for v in left.values())


def test_a_failed_scoring_leaves_no_partial_rows_behind(
    popularity_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: the failure path without prog.drop_unrecorded() (recommend.py
    # _write_recommendations): a model's scoring that fails before any list is recorded
    # left RECS.csv.partial behind, a half-written file nothing can resume from
    import visrec.models.candidates as candidates
    from visrec.commands import _recs_progress

    def broken(*a: object, **kw: object) -> Iterator[tuple[np.ndarray, ...]]:
        raise RuntimeError("scoring broke")
        yield  # a generator, as the real one

    monkeypatch.setattr(candidates, "iter_recommendations", broken)
    out = tmp_path / "recs.csv"
    with pytest.raises(RuntimeError, match="scoring broke"):
        _run(popularity_dir, out, "--n", "2")
    rows, record = _recs_progress.side_files(out)
    assert not rows.exists() and not record.exists() and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "train.csv"]


def test_the_progress_bar_counts_every_user_listed(
    popularity_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _write_batches without bar.update(len(u)) (recommend.py): the bar stayed at
    # 0 of the users however many lists were written
    import visrec._bars as bars

    made: list[Any] = []
    real = bars.progress_bar

    def recorded(*a: Any, **kw: Any) -> Any:
        made.append(real(*a, **kw))
        return made[-1]

    monkeypatch.setattr(bars, "progress_bar", recorded)
    out = tmp_path / "recs.csv"
    assert _run(popularity_dir, out, "--n", "2", "--batch-users", "4") == 0
    (bar,) = made
    assert (bar.n, bar.total) == (9, 9)
