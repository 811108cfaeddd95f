"""The bars a verbose fit draws are gone when it ends (session 58 left this unpinned:
tqdm's own redraws depend on timing, so the bars are recorded by a stand-in for tqdm)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import tqdm.auto

from test_models import FAST, checkerboard
from visrec.models.registry import make_model

MADE: list[_Bar] = []


class _Bar:
    def __init__(self, iterable: Iterable[Any] | None = None, **kwargs: Any) -> None:
        self.iterable = iterable
        self.kwargs = kwargs
        self.closed = False
        MADE.append(self)

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self.iterable or ()
        finally:
            self.close()

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("model", ["bpr", "vbpr", "visual-cf"])
def test_a_verbose_fit_with_reg_auto_leaves_no_bar(
    model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kills leave=True (or no leave=False) on the trials' bar or the epoch bars: each
    # would stay on screen under the next one, three trials' worth for reg=auto
    monkeypatch.setattr(tqdm.auto, "tqdm", _Bar)
    MADE.clear()
    inter, vec = checkerboard()
    make_model(model, **{**FAST[model], "reg": "auto", "epochs": 2, "verbose": True}).fit(
        inter, vec
    )
    descs = [str(bar.kwargs.get("desc")) for bar in MADE]
    assert f"{model} reg=auto" in descs  # the trials' bar, then one epoch bar per fit
    assert len(descs) >= 5, descs
    assert [str(bar.kwargs.get("leave")) + " " + d for d, bar in zip(descs, MADE, strict=True)] == [
        f"False {d}" for d in descs
    ]
    assert [d for d, bar in zip(descs, MADE, strict=True) if not bar.closed] == []
