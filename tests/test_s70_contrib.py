"""A new model as a contributor writes one, with the slips the framework now names: a
``_score`` of the wrong shape, learned state that ``save`` cannot keep or ``load`` does
not restore, hyperparameters not stored unchanged, and a class name that is not its
registry key. Each broken model is a tiny subclass of a working one defined here."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from test_models import N_ITEMS, checkerboard
from visrec.data.interactions import Interactions
from visrec.errors import VisrecError
from visrec.models import registry
from visrec.models.base import Recommender


class _Counts(Recommender):
    """A working model: every user scores an item by its training users."""

    name = "s70-counts"
    _array_dims: ClassVar[dict[str, tuple[str | int, ...]]] = {"counts_": ("items",)}
    _array_attrs: ClassVar[tuple[str, ...]] = tuple(_array_dims)

    def __init__(self, k: int = 3) -> None:
        self.k = k

    def _fit(self, interactions: Interactions, vectors: np.ndarray | None, has_image: Any) -> None:
        self.counts_ = np.asarray(self.seen_.sum(axis=0)).ravel().astype(np.float32)

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        return np.tile(self.counts_, (len(user_idx), 1))


@pytest.fixture(scope="module")
def inter() -> Interactions:
    return checkerboard()[0]


def test_the_working_model_fits_saves_and_loads(
    inter: Interactions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the stand-in the broken models below differ from passes every step
    monkeypatch.setitem(registry.MODELS, "s70-counts", f"{__name__}:_Counts")
    m = _Counts().fit(inter)
    back = Recommender.load(m.save(tmp_path / "m"))
    np.testing.assert_array_equal(back.score([0, 3]), m.score([0, 3]))


class _Transposed(_Counts):
    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        return np.tile(self.counts_, (len(user_idx), 1)).T  # (items, users)


def test_scores_of_the_wrong_shape_are_named_in_score_and_recommend(inter: Interactions) -> None:
    # score returned the (items, users) block as it was; recommend failed with an
    # IndexError deep in its filtering
    m = _Transposed().fit(inter)
    want = rf"model 's70-counts': _score returned scores of shape \({N_ITEMS}, 2\), expected "
    with pytest.raises(VisrecError, match=want + rf"\(2, {N_ITEMS}\)"):
        m.score([0, 1])
    with pytest.raises(VisrecError, match=want + rf"\(2, {N_ITEMS}\)"):
        m.recommend([0, 1], n=3)
    with pytest.raises(VisrecError, match=want + rf"\(2, {N_ITEMS}\)"):
        m.recommend([0, 1], n=3, items=[1, 2, 3])


class _OneRow(_Counts):
    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        return self.counts_  # one row for all users, not broadcast


def test_one_score_row_for_all_users_is_named(inter: Interactions) -> None:
    with pytest.raises(VisrecError, match=rf"shape \({N_ITEMS},\), expected \(1, {N_ITEMS}\)"):
        _OneRow().fit(inter).score([0])


class _DictState(_Counts):
    _array_attrs = ("counts_", "n_seen_")
    _array_dims: ClassVar[dict[str, tuple[str | int, ...]]] = {
        "counts_": ("items",),
        "n_seen_": ("*",),
    }

    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        super()._fit(interactions, vectors, has_image)
        self.n_seen_ = {"all": int(self.seen_.nnz)}


class _SparseState(_DictState):
    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        super()._fit(interactions, vectors, has_image)
        self.n_seen_ = (self.seen_.T @ self.seen_).tocsr()


@pytest.mark.parametrize(("klass", "what"), [(_DictState, "dict"), (_SparseState, "csr_matrix")])
def test_state_save_cannot_keep_is_refused_at_fit(
    klass: type[Recommender], what: str, inter: Interactions
) -> None:
    # was saved as a pickle, which load then called an "unreadable or corrupt" file
    with pytest.raises(
        VisrecError,
        match=rf"model 's70-counts': _fit left n_seen_ \(listed in _array_attrs\) as a "
        rf"value of type {what}; save keeps only numpy arrays",
    ):
        klass().fit(inter)


class _NoAxes(_Counts):
    _array_dims: ClassVar[dict[str, tuple[str | int, ...]]] = {}


def test_an_array_without_axes_is_refused_at_fit(inter: Interactions) -> None:
    # load checked no shape of it: an edited folder scored wrongly
    with pytest.raises(VisrecError, match="counts_ is in _array_attrs but not in _array_dims"):
        _NoAxes().fit(inter)


class _IntCounts(_Counts):
    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        self.counts_ = np.asarray(self.seen_.sum(axis=0)).ravel().astype(np.int64)


class _WrongWidth(_Counts):
    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        super()._fit(interactions, vectors, has_image)
        self.counts_ = self.counts_[:-1]


@pytest.mark.parametrize(
    ("klass", "message"),
    [
        (_IntCounts, "counts_ holds int64 values, expected floating-point numbers"),
        (_WrongWidth, rf"counts_ has shape \({N_ITEMS - 1},\), expected \(items\)"),
    ],
)
def test_arrays_load_would_refuse_are_refused_at_fit(
    klass: type[Recommender], message: str, inter: Interactions, tmp_path: Path
) -> None:
    # save wrote them; load refused the folder as damaged: "train the model again"
    with pytest.raises(VisrecError, match=rf"^model 's70-counts' after fit: {message}.*fix its"):
        klass().fit(inter)


class _Unlisted(_Counts):
    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        super()._fit(interactions, vectors, has_image)
        self.double_ = 2 * self.counts_

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        return np.tile(self.double_, (len(user_idx), 1))


def test_learned_state_load_does_not_restore_is_named(
    inter: Interactions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.MODELS, "s70-counts", f"{__name__}:_Unlisted")
    folder = _Unlisted().fit(inter).save(tmp_path / "m")
    # was a bare AttributeError from load
    with pytest.raises(
        VisrecError, match="model 's70-counts' scores with double_, which load does not restore"
    ):
        Recommender.load(folder)


class _Renamed(_Counts):
    def __init__(self, k: int = 3) -> None:
        self.neighbours = k


class _Doubled(_Counts):
    def __init__(self, k: int = 3) -> None:
        self.k = 2 * k


def test_a_hyperparameter_not_stored_under_its_name_is_named(inter: Interactions) -> None:
    # was "AttributeError: '_Renamed' object has no attribute 'k'"
    with pytest.raises(VisrecError, match=r"__init__ takes 'k' but does not store it as self\.k"):
        _Renamed().get_params()
    with pytest.raises(VisrecError, match=r"does not store it as self\.k"):
        _Renamed().fit(inter)


def test_a_hyperparameter_changed_by_init_is_refused_at_fit(inter: Interactions) -> None:
    # each save and load doubled k without a word
    m = _Doubled()
    with pytest.raises(
        VisrecError, match=r"model 's70-counts': __init__ changes its hyperparameters \(k=6 is"
    ):
        m.fit(inter)
    assert not hasattr(m, "item_map_")  # refused before anything was learned


class _Unnamed(_Counts):
    name = "base"


class _Clash(_Counts):
    name = "bpr"


@pytest.mark.parametrize(("klass", "named"), [(_Unnamed, "base"), (_Clash, "bpr")])
def test_a_class_whose_name_is_not_its_registry_key_is_refused(
    klass: type[Recommender], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # save wrote its name into model.json: "base" never loaded, "bpr" loaded as BPR
    monkeypatch.setitem(registry.MODELS, "s70-knn", f"{__name__}:{klass.__name__}")
    with pytest.raises(
        VisrecError, match=rf"model 's70-knn' is registered as .*, whose name is '{named}'"
    ):
        registry.make_model("s70-knn")
