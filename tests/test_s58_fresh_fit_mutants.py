"""Gaps a mutation audit of ``models/_fresh_fit.py`` found (11 mutants, 4 survived the
existing tests): private attributes ending in ``_`` survive ``forget_fit``; the
DataFrame hint is given for a DataFrame only; an empty store (no ids, width 0) is no
"ids only" store; a Ctrl-C inside ``fit`` leaves the model unfitted too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from test_models import FAST, checkerboard
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models._fresh_fit import check_fit_inputs, fit_from_scratch, forget_fit
from visrec.models.registry import make_model


class _Holder:
    def __init__(self) -> None:
        self.alpha = 1.0  # a hyperparameter
        self.table_ = np.zeros(2)  # learned state
        self._cache_ = "kept"  # private, though it ends in "_"
        self.__dunder__ = "kept"


def test_forget_fit_drops_public_learned_state_only() -> None:
    holder = _Holder()
    forget_fit(holder)
    assert sorted(vars(holder)) == ["__dunder__", "_cache_", "alpha"]


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (pd.DataFrame({"user_id": ["u"], "item_id": ["i"]}), True),
        (np.zeros((3, 2)), False),
        ([("u", "i")], False),
    ],
)
def test_the_from_frame_hint_is_for_a_dataframe_only(value: object, hint: bool) -> None:
    with pytest.raises(VisrecError) as err:
        check_fit_inputs("bpr", value)
    msg = str(err.value)
    assert msg.startswith(f"model 'bpr': fit takes an Interactions, got {type(value).__name__}")
    assert ("Interactions.from_frame(df)" in msg) is hint


def _empty_store() -> ItemVectors:
    return ItemVectors(
        ids=np.array([], dtype=object),
        vectors=np.zeros((0, 0), np.float32),
        has_image=np.zeros(0, bool),
    )


def test_an_empty_store_is_not_taken_for_an_ids_only_one() -> None:
    inter, _ = checkerboard()
    # a model without pictures ignores it; a visual one says none of its items has one
    assert make_model("bpr", **FAST["bpr"]).fit(inter, _empty_store()).item_factors_.shape[0]
    with pytest.raises(VisrecError, match="none of the 20 training items has an image vector"):
        make_model("vbpr", **FAST["vbpr"]).fit(inter, _empty_store())
    # while ids without their vectors are refused as such
    _, vectors = checkerboard()
    no_width = np.zeros((len(vectors), 0), np.float32)
    ids_only = ItemVectors(ids=vectors.ids, vectors=no_width, has_image=vectors.has_image)
    with pytest.raises(VisrecError, match="width 0"):
        make_model("bpr", **FAST["bpr"]).fit(inter, ids_only)


def test_a_ctrl_c_inside_fit_leaves_the_model_unfitted() -> None:
    inter, vectors = checkerboard()
    model = make_model("bpr", **FAST["bpr"]).fit(inter, vectors)
    assert hasattr(model, "item_factors_")

    def interrupted() -> None:
        model.half_made_ = np.ones(3)  # type: ignore[attr-defined]  # what a fit had set before the key was pressed
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_from_scratch(model, interrupted)
    assert not [k for k in vars(model) if k.endswith("_") and not k.startswith("_")]
    assert model.get_params() == make_model("bpr", **FAST["bpr"]).get_params()
