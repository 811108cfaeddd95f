"""Mutation audit (session 62) of the BPR/VBPR training code (``models/_fit_torch.py``
and the loop it shares in ``models/_train.py``: sampler, batches, lazy Adam) and of
``models/model_folder.py`` (what a model folder holds and the checks on reading it).

Mutants: 54 (28 on the fit: _fit_torch.py and _train.py's sampler, batch loop, lazy
Adam; 26 on model_folder.py). The older suite was run on 39 of them (the other 15,
M12-M26, ran out of the audit's time; this file kills all 15): killed before 33,
survived 6 (the lazy steps' reported loss without the penalty, BPR and VBPR; a
params that is no object accepted; a model.json
without a save token beside an arrays.npz with one; n_users true taken for 1).
Killed after: 53. Equivalent: 1 -- the lazy-Adam threshold ``>`` made ``>=`` (only a
row count of exactly 16 x batch_size changes optimiser, a speed choice).
Bug fixed: a falling ``seen_indptr`` of an unsigned dtype loaded (np.diff wrapped).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from visrec.errors import MixedSavesError, VisrecError
from visrec.models import _fit_torch, _train, model_folder
from visrec.models._train import TripleSampler, fit_pairwise

CPU = torch.device("cpu")


def _seen(n_users: int, n_items: int, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_items)) < 0.25
    dense[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # nobody empty
    return sp.csr_matrix(dense.astype(np.float32))


# -- the fit ---------------------------------------------------------------------------


def _losses(
    module: torch.nn.Module, seen: sp.csr_matrix, by_hand: bool, **extra: Any
) -> list[float]:
    """``fit_pairwise``'s per-epoch losses with lazy Adam, from the module's hand-written
    ``lazy_step`` or from autograd (``lazy_step`` hidden)."""
    if not by_hand:
        setattr(module, "lazy_step", None)  # noqa: B010 -- nn.Module typing rejects None
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(_train, "LAZY_ROWS_PER_BATCH", 0)
        losses = fit_pairwise(
            module, TripleSampler(seen), epochs=3, batch_size=8, lr=0.05,
            rng=np.random.default_rng(0), device=CPU, desc="t", extra=extra or None,
        )  # fmt: skip
    finally:
        mp.undo()
    assert module.lazy_rows
    return losses


def test_bpr_lazy_path_reports_the_penalised_loss_as_autograd_does() -> None:
    # the reg term is large (reg 1, factors ~1): a lazy loss without it is far lower;
    # kills: the lazy step's reported loss without the penalty
    seen = _seen(12, 10, 0)

    def module() -> _fit_torch._BPRModule:
        rng = np.random.default_rng(1)
        return _fit_torch._BPRModule(rng.normal(size=(12, 3)), rng.normal(size=(10, 3)), 1.0)

    lazy, dense = _losses(module(), seen, True), _losses(module(), seen, False)
    np.testing.assert_allclose(lazy, dense, rtol=1e-4)
    assert min(dense) > 1.0  # log 2-ish data term plus a penalty of several units


def test_vbpr_lazy_path_reports_the_penalised_loss_as_autograd_does() -> None:
    # theta_u is the only non-zero row term (gamma, beta near zero), so a lazy loss
    # without |theta_u|^2 is the data term alone; kills: theta_u left out of the loss
    seen = _seen(12, 10, 2)

    def module() -> _fit_torch._VBPRModule:
        rng = np.random.default_rng(3)
        return _fit_torch._VBPRModule(
            rng.normal(size=(10, 4)).astype(np.float32),
            np.zeros((12, 2)), np.zeros((10, 2)),
            rng.normal(size=(12, 3)) * 2.0, rng.normal(size=(4, 3)) * 0.1,
            1.0, 0.001,
        )  # fmt: skip

    def no_drop(n: int) -> np.ndarray:
        return np.zeros(n, np.float32)

    lazy = _losses(module(), seen, True, drop=no_drop)
    dense = _losses(module(), seen, False, drop=no_drop)
    np.testing.assert_allclose(lazy, dense, rtol=1e-4)
    assert min(dense) > 3.0


def _bpr(seen: sp.csr_matrix, seed: int, **kw: Any) -> tuple[np.ndarray, ...]:
    args: dict[str, Any] = {"factors": 3, "epochs": 2, "lr": 0.05, "reg": 0.01,
                            "batch_size": 8, "init_std": 0.1, "device": "cpu"}  # fmt: skip
    return _fit_torch.fit_bpr_factors(seen, rng=np.random.default_rng(seed), **{**args, **kw})


def test_the_seed_drives_the_sampling_not_only_the_initial_values() -> None:
    # all factors start at 0 (init_std 0), so the seeds differ only in the triples
    # drawn: the biases then differ; same seed, same fit. Kills: the sampler given a
    # generator of its own instead of the model's
    seen = _seen(15, 12, 4)
    a, b, c = _bpr(seen, 1, init_std=0.0), _bpr(seen, 1, init_std=0.0), _bpr(seen, 2, init_std=0.0)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert np.abs(a[2] - c[2]).max() > 1e-3


def test_init_std_sets_the_spread_of_both_factor_tables() -> None:
    # 0 epochs: the factors are the initial draws, N(0, init_std) -- kills: a fixed
    # spread for the item factors
    seen = _seen(200, 150, 5)
    user, item, bias = _bpr(seen, 0, epochs=0, factors=8, init_std=0.5)
    assert user.std() == pytest.approx(0.5, rel=0.05)
    assert item.std() == pytest.approx(0.5, rel=0.05)
    np.testing.assert_array_equal(bias, 0.0)


def test_vbpr_init_std_sets_the_spread_of_every_factor_table() -> None:
    # 0 epochs: the terms are the initial draws, N(0, init_std) -- kills: a fixed
    # spread for one of the tables
    seen = _seen(200, 150, 6)
    feats = np.random.default_rng(7).normal(size=(150, 60)).astype(np.float32)
    args: dict[str, Any] = {"factors": 8, "visual_factors": 8, "reg": 0.01,
                            "reg_visual": 0.01, "epochs": 0, "finetune_epochs": 0,
                            "item_dropout": 0.0, "batch_size": 8, "lr": 0.05,
                            "device": "cpu", "desc": "vbpr"}  # fmt: skip
    terms = _fit_torch.fit_vbpr_terms(
        feats, seen, init_std=0.5, rng=np.random.default_rng(0), **args
    )
    for name in ("user", "item", "user_visual", "proj"):
        assert terms[name].std() == pytest.approx(0.5, rel=0.06), name
    np.testing.assert_array_equal(terms["bias"], 0.0)
    np.testing.assert_array_equal(terms["visual_bias"], 0.0)


# -- model.json ------------------------------------------------------------------------


def _write(tmp_path: Path, meta: object) -> Path:
    mj = tmp_path / "model.json"
    mj.write_text(json.dumps(meta), encoding="utf-8")
    return mj


def test_params_that_are_not_an_object_are_refused(tmp_path: Path) -> None:
    # kills: only the 'model' name checked
    mj = _write(tmp_path, {"model": "bpr", "params": [1, 2]})
    with pytest.raises(VisrecError, match=r"not a visrec model\.json"):
        model_folder.read_model_json(mj)
    assert model_folder.read_model_json(_write(tmp_path, {"model": "bpr"}))["model"] == "bpr"


@pytest.mark.parametrize("fmt", [0, -1, True, 1.0, "1"])
def test_a_format_that_is_not_a_whole_number_from_1_is_refused(tmp_path: Path, fmt: Any) -> None:
    # kills: format 0 accepted, True taken for 1
    mj = _write(tmp_path, {"model": "bpr", "format": fmt})
    with pytest.raises(VisrecError, match=r"'format' must be a whole number >= 1"):
        model_folder.read_model_json(mj)


def test_the_next_format_is_refused_and_this_one_read(tmp_path: Path) -> None:
    # kills: the newer-format check one too lenient
    newer = model_folder.MODEL_FORMAT + 1
    mj = _write(tmp_path, {"model": "bpr", "format": newer, "visrec_version": "9.9"})
    with pytest.raises(VisrecError, match=rf"saved in model format {newer} \(by visrec 9.9\)"):
        model_folder.read_model_json(mj)
    mj = _write(tmp_path, {"model": "bpr", "format": model_folder.MODEL_FORMAT})
    assert model_folder.read_model_json(mj)["format"] == model_folder.MODEL_FORMAT


def test_is_model_folder_wants_a_visrec_version(tmp_path: Path) -> None:
    # a folder of someone else's model.json is not replaced by ``visrec train``
    # kills: any JSON object with a 'model' key taken for a visrec folder
    _write(tmp_path, {"model": "theirs"})
    assert not model_folder.is_model_folder(tmp_path)
    _write(tmp_path, {"model": "bpr", "visrec_version": "1.0"})
    assert model_folder.is_model_folder(tmp_path)


def test_json_default_writes_arrays_and_numpy_scalars() -> None:
    # kills: an array in the vectors' meta not serialisable
    assert json.dumps({"a": np.array([1.5, 2.0])}, default=model_folder.json_default) == (
        '{"a": [1.5, 2.0]}'
    )
    assert json.dumps(np.int64(3), default=model_folder.json_default) == "3"
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        json.dumps(object(), default=model_folder.json_default)


# -- arrays.npz ------------------------------------------------------------------------


def test_a_lone_npy_array_is_refused(tmp_path: Path) -> None:
    # kills: np.load's ndarray of a .npy file taken for the archive
    npz = tmp_path / "arrays.npz"
    with open(npz, "wb") as fh:
        np.save(fh, np.arange(3))
    with pytest.raises(VisrecError, match=r"a single \.npy array"):
        model_folder.read_arrays(npz)


def test_a_save_token_in_one_file_only_is_two_saves(tmp_path: Path) -> None:
    # kills: a model.json without the token taken for an old folder while arrays.npz
    # has one (a model.json copied in from an older save)
    arrays = {model_folder.SAVE_TOKEN: np.array("abc")}
    with pytest.raises(MixedSavesError, match="two different saves"):
        model_folder.check_same_save(tmp_path, {}, arrays)
    with pytest.raises(MixedSavesError):
        model_folder.check_same_save(tmp_path, {model_folder.SAVE_TOKEN: "abc"}, {})
    model_folder.check_same_save(tmp_path, {model_folder.SAVE_TOKEN: "abc"}, arrays)
    model_folder.check_same_save(tmp_path, {}, {})


def test_counts_must_be_whole_numbers_and_match(tmp_path: Path) -> None:
    # kills: true taken for 1, n_items unchecked
    mj = tmp_path / "model.json"
    with pytest.raises(VisrecError, match="n_users is True, not a whole number"):
        model_folder.check_counts(mj, {"n_users": True}, 1, 4)
    with pytest.raises(VisrecError, match=r"n_items is 5, but arrays\.npz holds 4 item ids"):
        model_folder.check_counts(mj, {"n_users": 1, "n_items": 5}, 1, 4)
    model_folder.check_counts(mj, {"n_users": 1, "n_items": 4}, 1, 4)


def _packed(ids: list[str]) -> dict[str, np.ndarray]:
    return model_folder.pack_ids("item_ids", ids)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda a: a.update(item_ids_offsets=np.array([1, 1, 2, 3])), "rise from 0"),
        (lambda a: a.update(item_ids_offsets=np.array([0, 2, 1, 3])), "rise from 0"),
        (lambda a: a.update(item_ids_utf8=a["item_ids_utf8"].astype(np.int16)), "uint8"),
    ],
    ids=["offsets-not-from-0", "offsets-falling", "bytes-not-uint8"],
)
def test_damaged_packed_ids_are_refused(change: Any, why: str, tmp_path: Path) -> None:
    arrays = _packed(["a", "b", "c"])
    change(arrays)
    with pytest.raises(VisrecError, match=why):
        model_folder.unpack_ids(tmp_path / "arrays.npz", arrays, "item_ids")


def test_old_layout_ids_must_be_strings(tmp_path: Path) -> None:
    # str() of bytes would read b"7" as the id "b'7'"; kills: the dtype check dropped
    arrays = {"item_ids": np.array([b"7", b"8"])}
    with pytest.raises(VisrecError, match="must be an array of strings"):
        model_folder.unpack_ids(tmp_path / "arrays.npz", arrays, "item_ids")
    ok = model_folder.unpack_ids(tmp_path / "arrays.npz", {"item_ids": np.array(["7"])}, "item_ids")
    assert ok.to_list() == ["7"]


def _csr(indptr: list[int], indices: list[int]) -> dict[str, np.ndarray]:
    return {"seen_indptr": np.array(indptr), "seen_indices": np.array(indices)}


@pytest.mark.parametrize(
    ("indptr", "indices", "n_users", "why"),
    [
        ([0, 1, 2, 2], [0, 1], 2, "4 entries for 2 users"),
        ([0, 2], [0, 4], 1, "item index 4"),  # == n_items
        ([0, 2], [-1, 0], 1, "item index -1"),
        ([0, 2, 1, 2], [0, 1], 3, "must rise"),
        ([0, 2], [3, 3], 1, "item index 3 twice"),  # two entries: one pair twice
        ([0, 3], [1, 1, 2], 1, "item index 1 twice"),  # sorted, repeated
        ([0, 3], [2, 0, 2], 1, "item index 2 twice"),  # unsorted, repeated
    ],
    ids=[
        "indptr-long",
        "index-n_items",
        "index-negative",
        "indptr-falling",
        "pair-of-two",
        "sorted-repeat",
        "unsorted-repeat",
    ],
)
def test_training_pairs_that_do_not_fit_are_refused(
    indptr: list[int], indices: list[int], n_users: int, why: str, tmp_path: Path
) -> None:
    # kills: indptr longer than n + 1, an index of n_items or below 0, a falling
    # indptr, a pair listed twice (in a row of two, sorted or not) accepted
    with pytest.raises(VisrecError, match=why):
        model_folder.seen_matrix(tmp_path / "arrays.npz", _csr(indptr, indices), n_users, 4)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint32, np.uint64, np.int32])
def test_a_falling_unsigned_indptr_is_refused(dtype: Any, tmp_path: Path) -> None:
    # bug fixed here: np.diff of an unsigned indptr wraps 2 -> 1 round to a huge rise,
    # so [0, 2, 1, 2] loaded, user 2 "seeing" user 0's item 1 and user 1 a row of -1
    arrays = {"seen_indptr": np.array([0, 2, 1, 2], dtype), "seen_indices": np.array([0, 1])}
    with pytest.raises(VisrecError, match="seen_indptr must rise from 0 to 2"):
        model_folder.seen_matrix(tmp_path / "arrays.npz", arrays, 3, 4)
    arrays["seen_indptr"] = np.array([0, 1, 1, 2], dtype)
    m = model_folder.seen_matrix(tmp_path / "arrays.npz", arrays, 3, 4)
    assert m.toarray().tolist() == [[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]]


def test_unsorted_rows_without_a_repeat_load() -> None:
    m = model_folder.seen_matrix(Path("x"), _csr([0, 3, 4], [2, 0, 3, 2]), 2, 4)
    assert m.toarray().tolist() == [[1, 0, 1, 1], [0, 0, 1, 0]]


class _Stub:
    """What ``check_array_forms`` reads of a model: two arrays with a ``"*"`` axis."""

    user_map_: ClassVar[list[int]] = [0, 1]
    item_map_: ClassVar[list[int]] = [0, 1, 2]
    _mask_arrays = ("mask_",)
    _array_dims: ClassVar[dict[str, tuple[str | int, ...]]] = {
        "a_": ("*", "items"),
        "b_": ("*", "k"),
        "mask_": ("items",),
    }

    def _expected_dims(self) -> dict[str, int]:
        return {"k": 2}


def test_array_forms_any_size_axis_kind_and_width(tmp_path: Path) -> None:
    # "*" is any size, array by array; kills: "*" taken for a named axis (the second
    # array then has to match the first), the kind/ndim/size checks dropped
    npz, stub = tmp_path / "arrays.npz", _Stub()
    good = {"a_": np.zeros((5, 3)), "b_": np.zeros((7, 2)), "mask_": np.ones(3, bool)}
    model_folder.check_array_forms(npz, stub, good)  # type: ignore[arg-type]
    bads: list[tuple[dict[str, np.ndarray], str]] = [
        ({"mask_": np.ones(3)}, "expected true/false values"),
        ({"a_": np.zeros((5, 3), bool)}, "expected floating-point numbers"),
        ({"a_": np.zeros(3)}, r"has shape \(3,\), expected \(\*, items\)"),
        ({"b_": np.zeros((7, 3))}, "with k = 2 from model.json's k"),
        ({"a_": np.zeros((5, 4))}, "with items = 3 from the item ids"),
    ]
    for bad, why in bads:
        with pytest.raises(VisrecError, match=why):
            model_folder.check_array_forms(npz, stub, {**good, **bad})  # type: ignore[arg-type]
