"""Mutation audit (session 67) of the progress bars and lines and the shared checks:
``visrec._progress_lines``, ``visrec._bars``, ``visrec.commands._progress``,
``visrec.commands._checks`` and ``visrec.demo.recommenders``.

71 mutants (18 in _progress_lines, 9 in _bars, 16 in commands/_progress, 13 in
commands/_checks, 15 in demo/recommenders); the existing tests killed 65, these tests kill
the other 4 that are not equivalent:

- ``progress_bar``'s ``if auto`` negated (recommend's plain bar became ``tqdm.auto``'s);
- the comparison table's index named "models";
- ``_compare_recommenders`` catching only VisrecError (an ImportError ended the demo);
- ``add_no_bar_args``' ``-v`` help cut to "taken as by every command".

Equivalent (2):
- ``_compare_recommenders`` keeping skipped seeds' stats, or ``min`` for ``max`` over
  them: the demo runs one seed and ``run_experiment`` raises when its only seed is
  skipped, so ``info`` holds exactly one unskipped entry (as test_s62_demo_mutants says).
"""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
import tqdm
import tqdm.auto

from visrec._bars import QuietBar, progress_bar


def test_recommend_bar_is_plain_tqdm_when_auto_is_false() -> None:
    """``auto=False`` (recommend's bar, drawn on stderr: never a notebook widget) must
    give plain ``tqdm``, and the default the ``tqdm.auto`` one; a swapped ``if auto``
    gave each caller the other's bar."""
    out = io.StringIO()
    plain = progress_bar(range(3), show=True, auto=False, file=out, desc="plain")
    try:
        assert type(plain) is tqdm.tqdm
        assert list(plain) == [0, 1, 2]
    finally:
        plain.close()
    assert "plain" in out.getvalue()  # drawn into the given file
    auto = progress_bar(range(2), show=True, file=io.StringIO())
    try:
        assert isinstance(auto, tqdm.auto.tqdm)
    finally:
        auto.close()
    assert isinstance(progress_bar(range(2), show=False, auto=False), QuietBar)


def _fake_runner(monkeypatch: pytest.MonkeyPatch, fail: dict[str, Exception]) -> None:
    """``run_experiment`` replaced: each protocol in ``fail`` raises its exception, the
    others give every model AUC 0.6 over 40 candidates."""
    import visrec.evaluation.runner as runner

    def run_experiment(data: Any, iv: Any, protocol: str, **kw: Any) -> Any:
        if protocol in fail:
            raise fail[protocol]
        models = list(kw["models"])
        runs = pd.DataFrame({"model": models, "auc": 0.6, "recall": 0.3, "ndcg": 0.2, "fit_s": 1.0})
        return SimpleNamespace(runs=runs, info={"0": {"n_candidates": 40}})

    monkeypatch.setattr(runner, "run_experiment", run_experiment)


def test_the_comparison_table_is_indexed_by_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's table heads its first column "model" (a renamed index said
    "models"), one row per model and protocol."""
    from visrec.demo.recommenders import PROTOCOLS, _compare_recommenders

    _fake_runner(monkeypatch, {})
    frame = pd.DataFrame({"user_id": ["u"], "item_id": ["i"]})
    table, _ = _compare_recommenders(frame, None, 0)
    assert table is not None
    assert table.index.name == "model"
    assert list(table.index[:4]) == ["popularity", "bpr", "vbpr", "visual-cf"]
    assert list(table["protocol"].unique()) == list(PROTOCOLS)


def test_a_protocol_missing_a_dependency_is_skipped_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An ImportError in one protocol (a model's optional dependency) leaves the other
    protocol's rows and a caveat; catching only VisrecError let it end the demo."""
    from visrec.demo.recommenders import _compare_recommenders

    _fake_runner(monkeypatch, {"cold-items": ImportError("no torch")})
    frame = pd.DataFrame({"user_id": ["u"], "item_id": ["i"]})
    table, note = _compare_recommenders(frame, None, 0)
    assert table is not None and set(table["protocol"]) == {"warm"}
    assert "cold-items: skipped, the protocol failed (no torch)" in note


def test_verbose_help_of_a_command_without_a_bar_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``similar --help``: ``-v`` is taken but draws nothing; a help text cut to "taken as
    by every command" left a user looking for the bar it promised."""
    from visrec.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["similar", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    verbose = text[text.index("--verbose") :]
    assert (
        verbose.split("-q, --quiet")[0]
        .rstrip()
        .endswith("taken as by every command; this one draws no progress bar")
    )
