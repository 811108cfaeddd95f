"""Messages that suggest a kind of model name every registered one of that kind, so a
model added to the registry is offered where the built-in ones are."""

from __future__ import annotations

import pytest

from test_evaluation_report import _result
from visrec.models import registry
from visrec.models.registry import models_that, or_list
from visrec.report.evaluation import verdict


def test_or_list() -> None:
    assert or_list(["a"]) == "a"
    assert or_list(["a", "b"]) == "a or b"
    assert or_list(["a", "b", "c"]) == "a, b or c"


def test_a_registered_picture_model_is_suggested(monkeypatch: pytest.MonkeyPatch) -> None:
    assert models_that("uses_vectors") == ["vbpr", "visual-cf"]
    assert models_that("scores_new_items") == ["vbpr", "visual-cf"]
    extra = {**registry.MODELS, "pics": "visrec.models.vbpr:VBPR"}
    monkeypatch.setattr(registry, "MODELS", extra)
    assert models_that("uses_vectors") == ["vbpr", "visual-cf", "pics"]
    plain = _result("warm", {"popularity": [0.2, 0.2], "bpr": [0.4, 0.41]})
    plain["inputs"] = {"vectors": "v.parquet"}
    assert verdict(plain)[0] == (
        "No model that reads pictures ran: add vbpr, visual-cf or pics to --models to ask "
        "whether pictures help."
    )


def test_a_registered_model_using_pictures_for_known_items_is_suggested(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # visual-cf alone ran on a warm split: it reads pictures only for new items
    plain = _result("warm", {"popularity": [0.2, 0.2], "visual-cf": [0.4, 0.41]})
    plain["inputs"] = {"vectors": "v.parquet"}
    said = "add vbpr to --models to ask whether pictures help them."
    assert said in " ".join(verdict(plain))
    extra = {**registry.MODELS, "pics": "visrec.models.vbpr:VBPR"}
    monkeypatch.setattr(registry, "MODELS", extra)
    assert "add vbpr or pics to --models" in " ".join(verdict(plain))
