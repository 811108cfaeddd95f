"""The notebook reprs say one of a thing in the singular (``IdMap(1 ids: '7')`` was
printed), as every message does (``errors.counted``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from visrec import IdMap, Interactions, ItemVectors


def test_one_id_user_item_and_row_are_singular() -> None:
    assert repr(IdMap(["7"])) == "IdMap(1 id: '7')"
    inter = Interactions.from_frame(pd.DataFrame({"user_id": ["u"], "item_id": ["i"]}))
    assert repr(inter) == "Interactions(1 user x 1 item, 1 row)"
    iv = ItemVectors(["i"], np.ones((1, 3), np.float32), np.ones(1, bool))
    assert repr(iv).startswith("ItemVectors(1 item x 3, 1 with an image")


def test_several_stay_plural() -> None:
    assert repr(IdMap(["a", "b"])) == "IdMap(2 ids: 'a', 'b')"
    frame = pd.DataFrame({"user_id": ["u", "v"], "item_id": ["i", "j"]})
    assert repr(Interactions.from_frame(frame)) == "Interactions(2 users x 2 items, 2 rows)"
