"""VBPR's fine-tuning epochs: a model saved before they existed, and the train resume
key (resuming inside the fine-tuning is in test_train_checkpoint.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.models.base import Recommender
from visrec.models.registry import make_model

PARAMS = {"epochs": 3, "finetune_epochs": 3, "batch_size": 64}


@pytest.fixture
def data() -> tuple[Interactions, ItemVectors]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"user_id": rng.integers(0, 40, 500), "item_id": rng.integers(0, 30, 500)}
    ).astype(str)
    inter = Interactions.from_frame(frame.drop_duplicates())
    ids = np.asarray(inter.item_map.ids)
    vectors = rng.random((len(ids), 6), dtype=np.float32)
    return inter, ItemVectors(ids=ids, vectors=vectors, has_image=np.ones(len(ids), bool))


def test_a_vbpr_saved_before_finetune_epochs_loads_as_trained_without_them(
    tmp_path: Path, data: tuple[Interactions, ItemVectors]
) -> None:
    # its model.json has no finetune_epochs; it was trained without fine-tuning, so the
    # loaded model must not claim today's default of 10
    # (nor visual_dim: it used every dimension)
    model = make_model("vbpr", **{**PARAMS, "finetune_epochs": 0, "visual_dim": None}).fit(*data)
    folder = model.save(tmp_path / "m")
    meta = json.loads((folder / "model.json").read_text())
    del meta["params"]["finetune_epochs"]
    del meta["params"]["visual_dim"]
    (folder / "model.json").write_text(json.dumps(meta))
    loaded = Recommender.load(folder)
    assert loaded.get_params() == model.get_params()
    assert loaded.get_params()["finetune_epochs"] == 0
    assert loaded.get_params()["visual_dim"] is None
    # a model.json that has it keeps its own value
    tuned = make_model("vbpr", **PARAMS).fit(*data).save(tmp_path / "t")
    assert Recommender.load(tuned).get_params()["finetune_epochs"] == 3


def test_finetune_epochs_is_part_of_trains_resume_key(tmp_path: Path) -> None:
    # a checkpoint of another fine-tuning length (or of a visrec that had none) must not
    # be resumed: its key differs
    import argparse

    from visrec.commands.train import _fit_key
    from visrec.models.vbpr import VBPR

    (tmp_path / "train.csv").write_text("user_id,item_id\nu1,i1\n")
    args = argparse.Namespace(model="vbpr", interactions=str(tmp_path / "train.csv"), vectors=None)
    keys = {_fit_key(args, VBPR(finetune_epochs=n).get_params()) for n in (0, 5, 10)}
    without = {k: v for k, v in VBPR().get_params().items() if k != "finetune_epochs"}
    assert len(keys | {_fit_key(args, without)}) == 4
