"""Session 71 small fixes: two embed messages said "none of the 1 image" and "holds 1
items, 1 of them", and recommend's popular-list note "none of the 1 candidate"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_recommend_users import model_dir as model_dir
from test_s71_journey import _popular
from visrec.embed.output import check_dropped
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError


def _file(path: Path, ids: list[str]) -> Path:
    n = len(ids)
    iv = ItemVectors(np.asarray(ids, dtype=object), np.ones((n, 2), np.float32), np.ones(n, bool))
    write_vectors(path, iv)
    return path


def test_a_one_item_file_is_named_in_the_singular(tmp_path: Path) -> None:
    out = _file(tmp_path / "v.parquet", ["a"])
    with pytest.raises(VisrecError) as e:
        check_dropped(out, ["b"], replace=False, advice="ADVICE")
    assert str(e.value) == f"{out} holds 1 item, not in this run; it would be dropped: ADVICE"


def test_many_items_keep_the_count(tmp_path: Path) -> None:
    out = _file(tmp_path / "v.parquet", ["a", "b", "c"])
    with pytest.raises(VisrecError) as e:
        check_dropped(out, ["a", "x"], replace=False, advice="ADVICE")
    assert str(e.value) == (
        f"{out} holds 3 items, 2 of them not in this run; they would be dropped: ADVICE"
    )


def test_a_single_untaken_candidate_is_named_in_the_singular(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: "none of the 1 candidate was taken in training, so the new users' lists are in
    # a seeded random order"
    capsys.readouterr()
    assert _popular(model_dir, tmp_path, ["new1"], 2) == [float("-inf")]
    err = capsys.readouterr().err
    assert (
        "note: the only candidate was not taken in training, so it is scored -inf in the "
        "new users' lists"
    ) in err
    assert "none of the 1" not in err


def test_demo_items_take_the_item_column_the_interactions_loader_takes(tmp_path: Path) -> None:
    # was: the first item-like name in header order ('sku'), where the loader, going by
    # its alias order, reads 'product_id' of the same header
    from visrec.data.tables import load_interactions
    from visrec.demo.datasets import _item_id_col

    header = "sku,product_id,user_id,label"
    inter = tmp_path / "interactions.csv"
    inter.write_text(f"{header}\ns1,p1,u1,x\n")
    items = tmp_path / "items.csv"
    items.write_text(f"{header}\ns1,p1,u1,x\n")
    loaded = load_interactions(inter).frame["item_id"].tolist()
    picked = _item_id_col(items, "item_id")
    assert {"sku": ["s1"], "product_id": ["p1"]}[picked] == loaded
