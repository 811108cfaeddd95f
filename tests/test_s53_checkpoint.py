"""A training checkpoint saved by another visrec (or torch/numpy) version says so when
it is not resumed (session 53): the note said "other data or settings", which sent
users looking for a change they had not made after an upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_train_checkpoint import _fit_interrupted, data  # noqa: F401  (the fixture)
from visrec import _revision
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.models import _checkpoint
from visrec.models.registry import make_model


@pytest.mark.parametrize(
    ("revision", "said"),
    [
        # what train's key does when the code changes: another revision, another key
        ("9.9+000000000000", "another visrec or library version (torch, numpy)"),
        (None, "other data or settings"),  # the same versions under another key
    ],
)
def test_a_checkpoint_under_another_key_says_whether_its_versions_differ(
    data: tuple[Interactions, ItemVectors],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    revision: str | None,
    said: str,
) -> None:
    inter, _ = data
    _fit_interrupted(monkeypatch, tmp_path, "old", 3, "bpr", {"epochs": 5}, inter)
    if revision is not None:
        monkeypatch.setattr(_revision, "code_revision", lambda: revision)
    notes: list[str] = []
    with _checkpoint.checkpointing(tmp_path, "new", every_s=0, log=notes.append):
        make_model("bpr", epochs=5).fit(inter)
    assert notes == [f"note: {tmp_path / 'bpr.pt'}: checkpoint of {said}, starting over"]
