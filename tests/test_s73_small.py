"""Session 73, small items: short reprs of the analysis results, ``ItemVectors`` without
``has_image``, "a"/"an" before names, the model names in ``evaluate --help``, the
own-code hint where a plugin's load hooks fail, a plain float ``test_ratio`` in
``split.info``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from test_s72_own_model_load import ItemKNN, _train
from test_s73_plugins import restore_models
from visrec.analysis.cluster import ClusterResult
from visrec.analysis.rating_knn import KnnRatingResult, knn_rating
from visrec.embed.store import ItemVectors, read_vectors
from visrec.errors import VisrecError
from visrec.evaluation.protocols import make_split
from visrec.models.bpr import BPR

__all__ = ["restore_models"]  # the fixture, used here too (autouse)


# --- 1. reprs: counts and headline figures, not the arrays and the matrix ---------------


def test_cluster_result_repr_is_counts_and_scores() -> None:
    table = pd.DataFrame([[3000, 1000], [0, 4000]], columns=pd.Index(["shoe", "bag"]))
    res = ClusterResult(
        k=2, n=8000, ari=0.25, nmi=0.5, purity=0.875, table=table,
        assignments=np.repeat([0, 1], 4000), chance_nmi=0.125,
    )  # fmt: skip
    # before: the dataclass repr, 8,000 assignments and the table (about 400 characters)
    assert repr(res) == (
        "ClusterResult(k=2 on 8,000 items, 2 labels: ARI 0.250, NMI 0.500, purity 0.875 "
        "(majority share 0.625))"
    )


def test_knn_rating_result_repr_is_the_headline_figures() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4)).astype(np.float32)
    y = rng.integers(1, 6, 400).astype(float)
    res = knn_rating(x, y, k=3)
    assert repr(res) == (
        f"KnnRatingResult(k=3, 320 train / 80 test rows: accuracy {res.accuracy:.3f} "
        f"(majority class {res.majority_accuracy:.3f}), MAE {res.mae:.3f} "
        f"(majority class {res.majority_mae:.3f}))"
    )
    assert "confusion" not in repr(res)  # before: the whole matrix, as a DataFrame's repr


def test_knn_rating_result_repr_counts_one_test_row() -> None:
    conf = pd.DataFrame([[1]], index=[4.0], columns=[4.0])
    res = KnnRatingResult(
        accuracy=1.0, majority_accuracy=1.0, majority_class=4.0, mae=0.0, majority_mae=0.0,
        confusion=conf, n_train=1200, n_test=1, labels=[4.0], k=5,
    )  # fmt: skip
    assert repr(res) == (
        "KnnRatingResult(k=5, 1,200 train / 1 test row: accuracy 1.000 (majority class "
        "1.000), MAE 0.000 (majority class 0.000))"
    )


# --- 2. ItemVectors without has_image: as a file without the column is read --------------


def test_item_vectors_without_has_image_reads_as_a_file_without_the_column(
    tmp_path: Path,
) -> None:
    ids = ["a", "b", "c"]
    vectors = np.array([[1.0, 0.0], [0.0, 0.0], [0.5, 2.0]], dtype=np.float32)
    # before: TypeError: missing 1 required positional argument: 'has_image'
    made = ItemVectors(ids, vectors)
    path = tmp_path / "v.parquet"
    pq.write_table(
        pa.table({"item_id": ids, "vector": [list(map(float, v)) for v in vectors]}), path
    )
    read = read_vectors(path)
    # every row has an image but the row of zeros, in both
    assert made.has_image.tolist() == read.has_image.tolist() == [True, False, True]
    assert made.has_image.dtype == bool and not made.has_image.flags.writeable


# --- 3. "an" before a name said with a vowel first ---------------------------------------


@pytest.mark.parametrize(
    ("word", "article"),
    [
        ("ItemKNN", "an"),
        ("'item-knn'", "an"),
        ("Index", "an"),
        ("NDCG@20", "an"),
        ("AUC", "an"),
        ("UserKNN", "a"),
        ("update", "an"),
        ("BPR", "a"),
        ("Recall@20", "a"),
        ("tuple", "a"),
        ("'popularity'", "a"),
    ],
)
def test_a_or_an(word: str, article: str) -> None:
    from visrec.errors import a_or_an

    assert a_or_an(word) == article


def test_register_model_of_an_instance_says_an() -> None:
    from visrec import register_model

    with pytest.raises(VisrecError) as info:
        register_model(ItemKNN())  # type: ignore[arg-type]
    assert "got an ItemKNN instance; give its class: register_model(ItemKNN)" in str(info.value)


class _ItemFirst(ItemKNN):
    name = "item-s73-small"


def test_loading_a_model_of_another_kind_says_an_before_a_vowel(tmp_path: Path) -> None:
    folder = _ItemFirst(k=2).fit(_train()).save(tmp_path / "m")
    with pytest.raises(VisrecError) as info:
        BPR.load(folder)
    assert str(info.value) == f"{folder} holds an 'item-s73-small' model, not 'bpr'"


def test_an_item_id_of_a_pandas_index_says_an_index() -> None:
    from visrec.embed.extract import embed_images

    with pytest.raises(VisrecError) as info:
        embed_images([(pd.Index(["a", "b"]), "x.jpg")], progress=False)
    assert "is an Index, not one id (text or a number)" in str(info.value)


def test_the_verdict_says_an_ndcg() -> None:
    from visrec.report.verdict import _best_pair_verdict

    runs = pd.DataFrame({"seed": [0, 1], "model": ["vbpr", "bpr"], "ndcg": [0.2, 0.1]})
    no_picks: Any = None  # not read when no seed ran both
    lines = _best_pair_verdict({}, runs, "vbpr", "bpr", no_picks, "ndcg", "NDCG@20")
    assert lines == [
        "Best with pictures: vbpr; best without: bpr; no seed ran both with an NDCG@20, so "
        "they cannot be compared split by split."
    ]


# --- 4. evaluate --help lists the model names --------------------------------------------


def test_evaluate_help_lists_the_registered_models(capsys: pytest.CaptureFixture[str]) -> None:
    from visrec.cli import main
    from visrec.models.registry import model_names

    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # unwrapped
    assert f"comma-separated registered models ({', '.join(model_names())}; default" in out


# --- 5. a plugin's load hook that fails: its own code may be at fault ---------------------


class _BadRebuild(ItemKNN):
    name = "s73-small-bad-rebuild"

    def _after_load(self) -> None:
        raise IndexError("index 9 is out of bounds for axis 0 with size 9")


class _BadExtra(ItemKNN):
    name = "s73-small-bad-extra"

    def _extra_state(self) -> dict[str, Any]:
        return {"kk": self.k}

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        self.k = state["k"]


def test_a_failing_after_load_of_ones_own_model_names_its_class(tmp_path: Path) -> None:
    folder = _BadRebuild(k=2).fit(_train()).save(tmp_path / "m")
    with pytest.raises(VisrecError) as info:
        _BadRebuild.load(folder)
    assert str(info.value) == (
        f"{folder / 'arrays.npz'}: the saved arrays do not fit together (IndexError: index "
        "9 is out of bounds for axis 0 with size 9); train the model again, or check the "
        "code of test_s73_small._BadRebuild (not visrec's), which training again would "
        "not change"
    )


def test_a_failing_set_extra_state_of_ones_own_model_names_its_class(tmp_path: Path) -> None:
    folder = _BadExtra(k=2).fit(_train()).save(tmp_path / "m")
    with pytest.raises(VisrecError) as info:
        _BadExtra.load(folder)
    assert str(info.value) == (
        f"{folder / 'model.json'}: unusable saved state (KeyError: 'k'); train the model "
        "again, or check the code of test_s73_small._BadExtra (not visrec's), which "
        "training again would not change"
    )


# --- 6. a plain float in split.info ------------------------------------------------------


@pytest.mark.parametrize("protocol", ["warm", "cold-items"])
def test_split_info_holds_a_plain_float_test_ratio(protocol: str) -> None:
    frame = pd.DataFrame({"user_id": np.arange(200) % 20, "item_id": np.arange(200) % 17})
    ratio: Any = np.float32(0.5)
    split = make_split(frame, protocol, seed=np.int64(2), test_ratio=ratio)
    assert type(split.info["test_ratio"]) is float and split.info["test_ratio"] == 0.5
    assert type(split.info["seed"]) is int
    json.dumps(split.info)  # before: TypeError, float32 is not JSON serializable
    # the same split as with the plain float
    plain = make_split(frame, protocol, seed=2, test_ratio=0.5)
    assert len(split.test) == len(plain.test)
