"""Session 72's second read of its own changes (a helper's review)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from visrec import errors
from visrec.errors import VisrecError
from visrec.models.bpr import BPR

README = Path(__file__).resolve().parents[1] / "README.md"


def _exit_status_table() -> set[int]:
    """The statuses README's 'Exit statuses, for scripts' table lists."""
    text = README.read_text(encoding="utf-8")
    start = text.index("Exit\nstatuses, for scripts")
    table = text[start:].split("\n\n", 2)[1]
    found: set[int] = set()
    for row in table.splitlines():
        first = row.split("|")[1] if row.startswith("|") else ""
        found.update(int(n) for n in re.findall(r"\d+", first))
    return found


def test_readme_exit_status_table_lists_every_error_class_status() -> None:
    # BusyError (exit 75) was said in README's prose but missing from its table for
    # scripts, the one place a scheduler's author looks up what to retry
    statuses = {
        klass.exit_status
        for klass in vars(errors).values()
        if isinstance(klass, type)
        and issubclass(klass, VisrecError)
        and isinstance(klass.__dict__.get("exit_status"), int)
    }
    assert 75 in statuses
    missing = statuses - _exit_status_table()
    assert not missing, f"README's exit-status table lacks {sorted(missing)}"


class KwargsBPR(BPR):
    def __init__(self, epochs: int = 2, **kw: Any) -> None:
        super().__init__(epochs=epochs, **kw)


def test_repr_of_a_model_get_params_refuses_does_not_raise() -> None:
    # a notebook shows the object (and a traceback prints it): repr raised get_params'
    # refusal there; fit still says why
    model = KwargsBPR(factors=8)
    assert repr(model) == "KwargsBPR(...)"
    with pytest.raises(VisrecError, match=r"takes \*\*kw"):
        model.get_params()
    assert repr(BPR(factors=8)).startswith("BPR(") and "factors=8" in repr(BPR(factors=8))


def test_a_class_redefined_under_a_nearer_base_loads_as_the_newest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a notebook cell run again after its base changed (Popularity -> Recommender):
    # the search is breadth first, so the new class came first and the old one, later,
    # replaced it: Recommender.load scored with the stale code
    import sys
    import types

    from visrec.models._save_load import _defined_classes
    from visrec.models.base import Recommender
    from visrec.models.popularity import Popularity

    module = types.ModuleType("s72_review_notebook")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    code = "class Mine({base}):\n    name = 's72-review-mine'\n    version = {v}\n"
    module.__dict__.update(Popularity=Popularity, Recommender=Recommender)
    exec(code.format(base="Popularity", v=1), module.__dict__)
    old = module.Mine  # type: ignore[attr-defined]
    exec(code.format(base="Recommender", v=2), module.__dict__)
    assert module.Mine is not old  # type: ignore[attr-defined]
    found = _defined_classes("s72-review-mine")
    assert [k.version for k in found] == [2]  # type: ignore[attr-defined]
    assert old.version == 1  # kept alive: still among Recommender's subclasses


def test_every_doc_quoting_the_busy_error_gives_its_exit_status() -> None:
    # docs/data.md, embed.md and evaluation.md said exit 75 by the quoted lock error;
    # analysis.md (rating-eval) and models.md (train) did not
    root = README.parent
    missing = []
    for doc in [README, *sorted((root / "docs").glob("*.md"))]:
        text = " ".join(doc.read_text(encoding="utf-8").split())
        for m in re.finditer(r"is being written by another", text):
            if "75" not in text[m.start() : m.start() + 400]:
                missing.append(f"{doc.name}: {text[m.start() - 40 : m.start() + 80]}")
    assert not missing, missing
