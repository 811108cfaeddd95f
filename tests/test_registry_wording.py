"""Messages that suggest a kind of model name every registered one of that kind, so a
model added to the registry is offered where the built-in ones are."""

from __future__ import annotations

import pytest

from test_evaluation_report import _result
from visrec.models import registry
from visrec.models.registry import models_that, or_list
from visrec.models.vbpr import VBPR
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


class KnownOnly(VBPR):
    """Reads pictures for the items it was trained on, cannot score new ones."""

    name = "known-only"
    scores_new_items = False


def test_each_suggestion_goes_by_its_own_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.commands._new_items import say_none_scored
    from visrec.models.bpr import BPR

    extra = {**registry.MODELS, "known-only": "test_registry_wording:KnownOnly"}
    monkeypatch.setattr(registry, "MODELS", extra)
    assert models_that("uses_vectors") == ["vbpr", "visual-cf", "known-only"]
    assert models_that("scores_new_items") == ["vbpr", "visual-cf"]
    assert models_that("uses_vectors", "pictures_for_known_items") == ["vbpr", "known-only"]
    # a model that cannot score new items is not offered for them
    say_none_scored(BPR(), None)
    assert "new items; vbpr or visual-cf can, from their pictures" in capsys.readouterr().err
    plain = _result("warm", {"popularity": [0.2, 0.2], "bpr": [0.4, 0.41]})
    plain["inputs"] = {"vectors": "v.parquet"}
    assert "add vbpr, visual-cf or known-only to --models" in verdict(plain)[0]
    # visual-cf alone on a warm split reads no picture of a known item: the models
    # that do are offered, whether or not they score new items
    only_new = _result("warm", {"popularity": [0.2, 0.2], "visual-cf": [0.4, 0.41]})
    only_new["inputs"] = {"vectors": "v.parquet"}
    assert "add vbpr or known-only to --models" in " ".join(verdict(only_new))


def test_a_registered_model_that_cannot_be_loaded_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the suggestion is advice: a model whose module is missing must not fail it
    extra = {**registry.MODELS, "gone": "visrec.models.not_installed:Gone"}
    monkeypatch.setattr(registry, "MODELS", extra)
    assert models_that("uses_vectors") == ["vbpr", "visual-cf"]
    assert or_list([]) == "a model that can" and or_list([], none="none") == "none"


@pytest.mark.parametrize("name", ["popularity", "bpr"])
def test_new_item_fit_before_fit_is_refused(name: str) -> None:
    from visrec.errors import NotFittedError
    from visrec.models.registry import make_model

    with pytest.raises(NotFittedError, match="not fitted"):
        make_model(name).new_item_fit()
