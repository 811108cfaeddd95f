"""Damaged model folders are refused on load with one line naming ``arrays.npz`` (never
a segmentation fault inside scipy or a traceback at scoring time), and ids are stored
compactly (UTF-8 bytes + offsets), whatever their length, while older folders with
fixed-width string arrays still load."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_model_params_and_load import _load_error
from test_models import DIM, FAST, N_USERS, checkerboard
from visrec.cli import main
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models.base import Recommender
from visrec.models.registry import MODELS, get_model_class, make_model

Arrays = dict[str, np.ndarray]
ALL = list(MODELS)


@pytest.fixture(scope="module")
def fitted() -> dict[str, Recommender]:
    inter, vec = checkerboard()
    # the dimension in the metadata, as a vectors file records it: load then also
    # scores one new item from a zero vector of that width
    vec = ItemVectors(vec.ids, vec.vectors, vec.has_image, meta={**vec.meta, "dim": DIM})
    return {name: make_model(name, **FAST[name]).fit(inter, vec) for name in MODELS}


def _saved(fitted: dict[str, Recommender], name: str, tmp_path: Path) -> Path:
    return fitted[name].save(tmp_path / name)


def _edit_model_json(folder: Path, change: Callable[[dict[str, Any]], object]) -> Path:
    """Apply ``change`` to the folder's ``model.json`` in place; returns its path."""
    mj = folder / "model.json"
    meta = json.loads(mj.read_text())
    change(meta)
    mj.write_text(json.dumps(meta))
    return mj


def _rewrite(folder: Path, change: Callable[[Arrays], None]) -> Path:
    npz = folder / "arrays.npz"
    with np.load(npz) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    np.savez(npz, **arrays)  # type: ignore[arg-type]
    return npz


def _packed(ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The documented id layout, written independently of ``save``."""
    encoded = [i.encode("utf-8") for i in ids]
    offsets = np.cumsum([0, *map(len, encoded)]).astype(np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _ids(arrays: Arrays, name: str) -> list[str]:
    data, offsets = arrays[f"{name}_utf8"].tobytes(), arrays[f"{name}_offsets"]
    return [data[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]


def _set_ids(arrays: Arrays, name: str, ids: list[str]) -> None:
    arrays[f"{name}_utf8"], arrays[f"{name}_offsets"] = _packed(ids)


def _load_error_in_child(folder: Path) -> str:
    """``Recommender.load`` in a child process: before the fix these folders crashed
    the interpreter (SIGSEGV in scipy's ``tocsc``), which would take pytest down too."""
    code = textwrap.dedent(
        """
        import sys
        from visrec.errors import VisrecError
        from visrec.models.base import Recommender
        try:
            Recommender.load(sys.argv[1])
        except VisrecError as exc:
            print(exc)
            sys.exit(2)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.count("\n") == 1, proc.stdout
    return proc.stdout.strip()


# ---------------------------------------------------------------- the seen_ matrix


def _seen_index_out_of_range(arrays: Arrays) -> None:
    arrays["seen_indices"] = arrays["seen_indices"].copy()
    arrays["seen_indices"][5] = 99999


def _seen_index_one_past(arrays: Arrays) -> None:
    # exactly n_items: one past the end, which a `>` instead of `>=` let through to a
    # native crash ("double free or corruption") in the scoring
    arrays["seen_indices"] = arrays["seen_indices"].copy()
    arrays["seen_indices"][5] = len(_ids(arrays, "item_ids"))


def _seen_index_negative(arrays: Arrays) -> None:
    arrays["seen_indices"] = arrays["seen_indices"].copy()
    arrays["seen_indices"][-1] = -3


def _indptr_not_rising(arrays: Arrays) -> None:
    indptr = arrays["seen_indptr"].copy()
    indptr[3] = indptr[-1] + 50  # one row claims entries past the end
    arrays["seen_indptr"] = indptr


def _indptr_short(arrays: Arrays) -> None:
    arrays["seen_indptr"] = arrays["seen_indptr"][:-1]


def _item_ids_short(arrays: Arrays) -> None:
    _set_ids(arrays, "item_ids", _ids(arrays, "item_ids")[:-5])


SEEN_DAMAGE = {
    "index-out-of-range": (_seen_index_out_of_range, r"seen_indices holds item index 99999"),
    "index-one-past": (_seen_index_one_past, r"seen_indices holds item index 20\D"),
    "index-negative": (_seen_index_negative, r"seen_indices holds item index -3"),
    "indptr-not-rising": (_indptr_not_rising, r"seen_indptr must rise from 0 to "),
    "indptr-short": (_indptr_short, rf"seen_indptr has {N_USERS:,} entries for {N_USERS:,} us"),
}


@pytest.mark.parametrize("name", ALL)
def test_an_id_map_short_of_model_json_is_named_before_the_pairs(
    name: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # it was blamed on seen_indices holding an item index past the (short) map
    npz = _rewrite(_saved(fitted, name, tmp_path), _item_ids_short)
    assert _load_error_in_child(npz.parent) == (
        f"{npz.parent / 'model.json'}: n_items is 20, but arrays.npz holds 15 item ids (files "
        "of two different fits?); train the model again"
    )


@pytest.mark.parametrize("damage", list(SEEN_DAMAGE))
@pytest.mark.parametrize("name", ALL)
def test_seen_arrays_that_do_not_fit_are_refused(
    name: str, damage: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    change, detail = SEEN_DAMAGE[damage]
    npz = _rewrite(_saved(fitted, name, tmp_path), change)
    msg = _load_error_in_child(npz.parent)
    assert msg.startswith(f"{npz}: the seen_ arrays do not fit the id maps ("), msg
    assert msg.endswith("; train the model again")
    assert re.search(detail, msg), msg


# ---------------------------------------------------------------- learned arrays


def _cut(attr: str, rows: int = 0, cols: int = 0) -> Callable[[Arrays], None]:
    def change(arrays: Arrays) -> None:
        a = arrays[attr]
        a = a[: len(a) - rows] if rows else a
        arrays[attr] = a[:, : a.shape[1] - cols] if cols else a

    return change


def _as(attr: str, value: Callable[[np.ndarray], np.ndarray]) -> Callable[[Arrays], None]:
    def change(arrays: Arrays) -> None:
        arrays[attr] = value(arrays[attr])

    return change


ARRAY_DAMAGE = {
    # (model, damage): what the check reports, after "NPZ: "
    ("bpr", "item_factors_ columns"): (
        _cut("item_factors_", cols=2),
        "item_factors_ has shape (20, 2), expected (items, factors) with factors = 4 "
        "from model.json's factors (axis 1)",
    ),
    ("bpr", "user_factors_ rows"): (
        _cut("user_factors_", rows=3),
        "user_factors_ has shape (21, 4), expected (users, factors) with users = 24 from "
        "the user ids (axis 0)",
    ),
    ("bpr", "item_bias_ rows"): (_cut("item_bias_", rows=3), "item_bias_ has shape (17,)"),
    # passed the two-user scoring probe, then failed deep in recommend
    ("bpr", "item_bias_ two rows"): (
        _as("item_bias_", lambda a: np.vstack([a, a])),
        "item_bias_ has shape (2, 20), expected (items)",
    ),
    # loaded: every score moved by 5
    ("bpr", "item_bias_ scalar"): (
        _as("item_bias_", lambda a: np.float32(5.0)),
        "item_bias_ has shape (), expected (items)",
    ),
    ("bpr", "item_bias_ integers"): (
        _as("item_bias_", lambda a: a.astype(np.int64)),
        "item_bias_ holds int64 values, expected floating-point numbers",
    ),
    # loaded, the imaginary part dropped with only a warning
    ("bpr", "item_bias_ complex"): (
        _as("item_bias_", lambda a: a.astype(np.complex64)),
        "item_bias_ holds complex64 values, expected floating-point numbers",
    ),
    ("vbpr", "user_factors_ rows"): (_cut("user_factors_", rows=3), "user_factors_ has shape"),
    ("vbpr", "item_visual_ rows"): (
        _cut("item_visual_", rows=1),
        "item_visual_ has shape (19, 4), expected (items, visual_factors)",
    ),
    ("vbpr", "item_scorable_ rows"): (
        _cut("item_scorable_", rows=2),
        "item_scorable_ has shape (18,), expected (items)",
    ),
    # ~ on integers is not "not": 1 became -2, and one item scored -inf for everyone
    ("vbpr", "item_scorable_ integers"): (
        _as("item_scorable_", lambda a: a.astype(np.int8)),
        "item_scorable_ holds int8 values, expected true/false values",
    ),
    ("vbpr", "feature_mean_"): (
        _cut("feature_mean_", rows=1),
        "feature_mean_ has shape (15,), expected (vector_dim) with vector_dim = 16 from "
        "projection_ (axis 0)",
    ),
    ("vbpr", "feature_scale_"): (
        _as("feature_scale_", lambda a: np.ones(3, np.float32)),
        "feature_scale_ has shape (3,), expected (1) with 1 = 1 (axis 0)",
    ),
    ("visual-cf", "user_factors_ rows"): (
        _cut("user_factors_", rows=3),
        "user_factors_ has shape (21, 4)",
    ),
    ("visual-cf", "item_factors_ columns"): (
        _cut("item_factors_", cols=1),
        "item_factors_ has shape (20, 3)",
    ),
    ("visual-cf", "map_weights_ columns"): (
        _cut("map_weights_", cols=1),
        "map_weights_ has shape (16, 4), expected (vector_dim, factors + 1) with "
        "factors + 1 = 5 from model.json's factors + 1 (axis 1)",
    ),
    ("visual-cf", "item_scorable_ floats"): (
        _as("item_scorable_", lambda a: a.astype(np.float32)),
        "item_scorable_ holds float32 values, expected true/false values",
    ),
    ("popularity", "item_counts_ rows"): (
        _cut("item_counts_", rows=3),
        "item_counts_ has shape (17,), expected (items) with items = 20",
    ),
}


@pytest.mark.parametrize(("name", "damage"), list(ARRAY_DAMAGE))
def test_learned_arrays_that_do_not_fit_are_refused(
    name: str, damage: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    change, detail = ARRAY_DAMAGE[name, damage]
    npz = _rewrite(_saved(fitted, name, tmp_path), change)
    msg = _load_error(npz.parent)
    assert msg.startswith(f"{npz}: {detail}"), msg
    assert msg.endswith("; train the model again")


def test_the_scoring_probe_still_catches_what_no_declared_axis_covers(
    fitted: dict[str, Recommender], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.models.bpr import BPR

    monkeypatch.setattr(BPR, "_array_dims", {})  # as if an array had no declared axes
    npz = _rewrite(_saved(fitted, "bpr", tmp_path), _cut("item_factors_", cols=2))
    msg = _load_error(npz.parent)
    assert msg.startswith(f"{npz}: the saved arrays do not fit together (scoring: ValueError")


@pytest.mark.parametrize(
    "name", [n for n in ALL if any("factors" in d for d in get_model_class(n)._array_dims.values())]
)
def test_arrays_of_another_factor_count_than_model_json_are_refused(
    name: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # loaded before: get_params() then said how the model was not trained
    folder = _saved(fitted, name, tmp_path)
    _edit_model_json(folder, lambda meta: meta["params"].update(factors=8))
    msg = _load_error(folder)
    assert "user_factors_ has shape (24, 4), expected (users, factors) with factors = 8" in msg


@pytest.mark.parametrize("key", ["n_users", "n_items"])
def test_model_json_of_another_fit_is_refused(
    key: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    folder = _saved(fitted, "bpr", tmp_path)
    mj = _edit_model_json(folder, lambda meta: meta.update({key: 3}))
    assert _load_error(folder).startswith(f"{mj}: {key} is 3, but arrays.npz holds ")


@pytest.mark.parametrize("value", [float("nan"), -0.01, float("inf")])
def test_a_saved_penalty_that_is_no_penalty_is_refused(
    value: float, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # NaN != NaN made load look for a second fit's arrays and blame arrays.npz
    folder = _saved(fitted, "vbpr", tmp_path)
    _edit_model_json(folder, lambda meta: meta["extra"]["penalties"].update(reg=value))
    assert "model.json holds no usable reg" in _load_error(folder)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda a: a.__setitem__("item_ids_offsets", a["item_ids_offsets"][:-1]), "must rise"),
        (lambda a: a.__setitem__("item_ids_utf8", a["item_ids_utf8"][:-1]), "must rise from 0"),
        (lambda a: a.__setitem__("user_ids_utf8", np.array([0xFF], np.uint8)), "must rise"),
        (lambda a: _set_ids(a, "user_ids", ["u0"] * N_USERS), "duplicate id 'u0'"),
        (lambda a: a.__setitem__("item_ids_utf8", a["item_ids_utf8"].astype(np.int32)), "uint8"),
        (lambda a: a.__setitem__("item_ids_offsets", a["item_ids_offsets"] * 1.0), "integer"),
    ],
    ids=["offsets-short", "bytes-short", "bytes-replaced", "duplicate", "bytes-int", "offs-float"],
)
def test_id_arrays_that_do_not_fit_are_refused(
    change: Callable[[Arrays], None], detail: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    npz = _rewrite(_saved(fitted, "bpr", tmp_path), change)
    msg = _load_error(npz.parent)
    assert msg.startswith(f"{npz}: ") and msg.endswith("; train the model again"), msg
    assert detail in msg


def test_invalid_utf8_in_ids_is_refused(fitted: dict[str, Recommender], tmp_path: Path) -> None:
    def change(arrays: Arrays) -> None:
        data = arrays["item_ids_utf8"].copy()
        data[0] = 0xFF
        arrays["item_ids_utf8"] = data

    npz = _rewrite(_saved(fitted, "bpr", tmp_path), change)
    assert _load_error(npz.parent) == (
        f"{npz}: item_ids holds invalid UTF-8 (invalid start byte); train the model again"
    )


def test_recommend_cli_refuses_a_damaged_folder_in_one_line(
    fitted: dict[str, Recommender], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    npz = _rewrite(_saved(fitted, "vbpr", tmp_path), _cut("user_factors_", rows=3))
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(npz.parent), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {npz}: user_factors_ has shape (21, 4), expected (users, ")
    assert err.count("\n") == 1 and not out.exists()


def test_recommend_cli_in_a_process_refuses_a_seen_index_out_of_range(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # the QA report's case: `visrec recommend` died with "Segmentation fault" (rc 139)
    npz = _rewrite(_saved(fitted, "bpr", tmp_path), _seen_index_out_of_range)
    out = tmp_path / "recs.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "visrec", "recommend", str(npz.parent), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert proc.stderr == (
        f"error: {npz}: the seen_ arrays do not fit the id maps (seen_indices holds item "
        "index 99999; the model has 20 items); train the model again\n"
    )
    assert not out.exists()


# ---------------------------------------------------------------- intact folders


@pytest.mark.parametrize("name", ALL)
def test_intact_folders_load_and_score_bit_identically(
    name: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    model = fitted[name]
    loaded = Recommender.load(_saved(fitted, name, tmp_path))
    users = np.arange(N_USERS)
    np.testing.assert_array_equal(loaded.score(users), model.score(users))
    if model.scores_new_items:
        new = np.random.default_rng(1).random((3, DIM)).astype(np.float32)
        np.testing.assert_array_equal(
            loaded.score_new_items(users, new), model.score_new_items(users, new)
        )


def _old_layout(arrays: Arrays) -> None:
    """A folder as ``save`` wrote it before the packed ids: fixed-width strings."""
    for name in ("user_ids", "item_ids"):
        arrays[name] = np.asarray(_ids(arrays, name), dtype=np.str_)
        del arrays[f"{name}_utf8"], arrays[f"{name}_offsets"]


@pytest.mark.parametrize("kind", [np.bytes_, np.float64])
def test_an_old_layout_id_array_of_anything_but_strings_is_refused(
    kind: type, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # bytes became ids "b'u0'", floats "0.0": recommendations under made-up ids
    def spoil(arrays: Arrays) -> None:
        ids = _ids(arrays, "item_ids")
        arrays["item_ids"] = (
            np.asarray(ids, dtype=np.bytes_)
            if kind is np.bytes_
            else np.arange(len(ids), dtype=kind)
        )
        del arrays["item_ids_utf8"], arrays["item_ids_offsets"]

    npz = _rewrite(_saved(fitted, "popularity", tmp_path), spoil)
    assert _load_error(npz.parent).startswith(f"{npz}: item_ids must be an array of strings, got ")


@pytest.mark.parametrize("name", ALL)
def test_folder_with_string_id_arrays_still_loads(
    name: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    model = fitted[name]
    npz = _rewrite(_saved(fitted, name, tmp_path), _old_layout)
    with np.load(npz) as z:
        assert "item_ids" in z.files and "item_ids_utf8" not in z.files
        assert z["item_ids"].dtype.kind == "U"
    loaded = Recommender.load(npz.parent)
    assert loaded.user_map_.to_list() == model.user_map_.to_list()
    assert loaded.item_map_.to_list() == model.item_map_.to_list()
    users = np.arange(N_USERS)
    np.testing.assert_array_equal(loaded.score(users), model.score(users))
    np.testing.assert_array_equal(loaded.recommend(users, n=5)[0], model.recommend(users, n=5)[0])
    # saved again: the compact layout
    with np.load(loaded.save(tmp_path / "again") / "arrays.npz") as z:
        assert "item_ids" not in z.files and _ids(dict(z), "item_ids") == loaded.item_map_.to_list()


def test_old_layout_with_seen_index_out_of_range_is_refused(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    def change(arrays: Arrays) -> None:
        _old_layout(arrays)
        _seen_index_out_of_range(arrays)

    npz = _rewrite(_saved(fitted, "bpr", tmp_path), change)
    assert "seen_indices holds item index 99999" in _load_error_in_child(npz.parent)


def test_missing_id_arrays_are_named(fitted: dict[str, Recommender], tmp_path: Path) -> None:
    npz = _rewrite(_saved(fitted, "bpr", tmp_path), lambda a: a.pop("item_ids_offsets"))
    assert _load_error(npz.parent) == (
        f"{npz}: missing array item_ids_offsets; train the model again"
    )


# ---------------------------------------------------------------- long and odd ids


def test_long_ids_keep_the_folder_small_and_round_trip(tmp_path: Path) -> None:
    long_len, n_items = 50_000, 60
    odd = ["\u200b", "é", "日本語", "𝄞 clef", " spaced ", "a,b\tc", "x" * long_len]
    items = odd + [f"item{k}" for k in range(n_items - len(odd))]
    users = [f"user{k}" for k in range(40)] + ["u" * long_len]
    # 5 items per user, in turn: every item is trained
    rows = [(u, items[(5 * j + k) % n_items]) for j, u in enumerate(users) for k in range(5)]
    inter = Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    model = make_model("popularity").fit(inter)
    folder = model.save(tmp_path / "m")
    size = (folder / "arrays.npz").stat().st_size
    # fixed-width strings: n x longest x 4 bytes (12 MB here); packed: the ids' bytes
    id_bytes = sum(len(i.encode()) for i in items + users)
    assert size < id_bytes + 20_000, size
    assert size < n_items * long_len * 4 / 50
    loaded = Recommender.load(folder)
    assert loaded.item_map_.to_list() == model.item_map_.to_list()
    assert set(loaded.item_map_.to_list()) == set(items)
    assert loaded.user_map_.to_list() == model.user_map_.to_list()
    np.testing.assert_array_equal(loaded.score([0, len(users) - 1]), model.score([0, 40]))
    idx, _ = loaded.recommend(loaded.user_map_.to_index(["u" * long_len]), n=3)
    assert all(i in items for i in loaded.item_map_.to_raw(idx[0]))


@pytest.mark.parametrize("name", [n for n in ALL if n != "popularity"])
def test_edited_hyperparameter_is_refused_on_load(
    name: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # a value of the wrong type failed later, deep in scoring, or not at all
    folder = _saved(fitted, name, tmp_path)
    mj = _edit_model_json(folder, lambda meta: meta["params"].update(factors="x"))
    msg = _load_error(folder)
    assert msg.startswith(f"{mj}: ") and "factors" in msg


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("bad", [np.nan, 1e30, -2e12])
def test_non_finite_learned_array_is_refused(
    name: str, bad: float, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # a NaN factor made that item score NaN for everyone: ranked last, silently; a huge
    # finite one put one item first for everyone
    folder = _saved(fitted, name, tmp_path)
    attr = fitted[name]._array_attrs[0]

    def poison(arrays: Arrays) -> None:
        arrays[attr] = arrays[attr].astype(np.float64)
        arrays[attr].flat[0] = bad  # reshape would write into a copy of an F-order array

    npz = _rewrite(folder, poison)
    assert _load_error(folder) == (
        f"{npz}: {attr} holds NaN, infinite or huge (beyond ±1e12) values; train the model again"
    )


@pytest.mark.parametrize("name", ["vbpr", "visual-cf"])
def test_vector_meta_records_the_width_trained_on(name: str, tmp_path: Path) -> None:
    # a cut copy of the vectors that kept its metadata ("dim": the full width) made an
    # intact folder look damaged on load: fit records the width it was given
    inter, vec = checkerboard()
    cut = ItemVectors(vec.ids, vec.vectors[:, : DIM // 2], vec.has_image, {"dim": DIM})
    model = make_model(name, **FAST[name]).fit(inter, cut)
    assert model.vector_meta_["dim"] == DIM // 2 == model.vector_dim()
    back = Recommender.load(model.save(tmp_path / name))
    zero = np.zeros((1, DIM // 2), dtype=np.float32)
    np.testing.assert_array_equal(back.score_new_items([0], zero), model.score_new_items([0], zero))


@pytest.mark.parametrize("damage", ["x", ["efficientnet-lite0"], 3])
def test_a_vector_meta_that_is_no_object_is_refused(
    damage: object, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # it skipped the check that new items' vectors come from the trained backbone
    folder = _saved(fitted, "visual-cf", tmp_path)

    def spoil(meta: dict[str, Any]) -> None:
        assert isinstance(meta["vector_meta"], dict)
        meta["vector_meta"] = damage

    mj = _edit_model_json(folder, spoil)
    assert _load_error(folder) == (
        f"{mj}: vector_meta is {damage!r}, not an object (the vectors' backbone and dim); "
        "train the model again"
    )


@pytest.mark.parametrize(
    ("key", "damage", "said"),
    [
        (None, None, "null, but the model was trained on image vectors"),
        ("backbone", 5, "an object whose backbone 5 is not a name"),
        ("preprocessing", "x", "an object whose preprocessing 'x' is not an object"),
    ],
)
def test_a_vector_meta_the_backbone_check_cannot_read_is_refused(
    key: str | None, damage: object, said: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # each of these skipped the check of new items' vectors without a word
    folder = _saved(fitted, "visual-cf", tmp_path)

    def spoil(meta: dict[str, Any]) -> None:
        if key is None:
            meta["vector_meta"] = damage
        else:
            meta["vector_meta"][key] = damage

    mj = _edit_model_json(folder, spoil)
    error = _load_error(folder)
    assert error.startswith(f"{mj}: vector_meta is {said}") and "train the model again" in error


def test_a_diverged_fit_is_an_error_not_a_saved_model() -> None:
    inter, _ = checkerboard()
    with pytest.raises(VisrecError, match=r"model 'bpr': the fit diverged \(\w+ holds NaN"):
        make_model("bpr", **{**FAST["bpr"], "lr": 1e30, "reg": 0.01}).fit(inter)


def test_files_of_two_saves_are_refused_and_older_folders_still_load(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # save replaces arrays.npz, then model.json: a crash between left a mixed folder
    first = fitted["bpr"].save(tmp_path / "a")
    second = fitted["bpr"].save(tmp_path / "b")
    (first / "model.json").write_bytes((second / "model.json").read_bytes())
    assert _load_error(first) == (
        f"{first}: model.json and arrays.npz come from two different saves (an interrupted "
        "save or a file copied in); train the model again"
    )
    # a folder saved before the token: in neither file, loads as before
    _edit_model_json(second, lambda meta: meta.pop("save_token"))
    _rewrite(second, lambda arrays: arrays.pop("save_token"))
    np.testing.assert_array_equal(
        Recommender.load(second).score(np.arange(3)), fitted["bpr"].score(np.arange(3))
    )


def test_a_folder_of_a_newer_model_format_is_refused_and_one_without_format_loads(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    folder = fitted["vbpr"].save(tmp_path / "m")
    mj = folder / "model.json"
    meta = json.loads(mj.read_text())
    assert meta["format"] == 1
    mj.write_text(json.dumps({**meta, "format": 2, "visrec_version": "9.0"}))
    assert _load_error(folder) == (
        f"{mj}: saved in model format 2 (by visrec 9.0); this visrec reads format 1 and "
        "older: upgrade visrec, or train the model again with this one"
    )
    for bad in ("2", 0, True, 1.5):
        mj.write_text(json.dumps({**meta, "format": bad}))
        assert _load_error(folder) == (f"{mj}: 'format' must be a whole number >= 1, not {bad!r}")
    # a folder saved before the format number is format 1
    del meta["format"]
    mj.write_text(json.dumps(meta))
    np.testing.assert_array_equal(
        Recommender.load(folder).score(np.arange(3)), fitted["vbpr"].score(np.arange(3))
    )


def test_saving_over_a_trained_folder_drops_its_train_json(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # train.json records the earlier fit's inputs (recommend reads its vectors path)
    folder = fitted["visual-cf"].save(tmp_path / "m")
    (folder / "train.json").write_text('{"vectors": "old.parquet"}')
    fitted["visual-cf"].save(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "model.json"]


# ------------------------------------------------ damage a fuzzer found (session 20)


def test_model_json_nested_too_deep_or_a_huge_number(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    folder = _saved(fitted, "bpr", tmp_path)
    (folder / "model.json").write_text("[" * 200_000 + "]" * 200_000)
    assert _load_error(folder).endswith("model.json: invalid JSON (nested too deep)")
    (folder / "model.json").write_text('{"model": "bpr", "n": ' + "9" * 5000 + "}")
    assert _load_error(folder).endswith("model.json: invalid JSON (a number too long to read)")


def _zip_member_header(npz: Path, local: int, central: int, value: bytes) -> None:
    """Overwrite bytes of the first member's local header and central-directory entry
    (offsets from each record's signature)."""
    data = bytearray(npz.read_bytes())
    first_local, first_central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[first_local + local : first_local + local + len(value)] = value
    data[first_central + central : first_central + central + len(value)] = value
    npz.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("local", "central", "value", "why"),
    [
        (8, 10, b"\x63\x00", "NotImplementedError: That compression method"),  # method 99
        (6, 8, b"\x01\x00", "RuntimeError: File "),  # the "encrypted" flag
    ],
)
def test_zip_members_zipfile_cannot_read(
    fitted: dict[str, Recommender], tmp_path: Path, local: int, central: int, value: bytes,
    why: str,
) -> None:  # fmt: skip
    folder = _saved(fitted, "popularity", tmp_path)
    _zip_member_header(folder / "arrays.npz", local, central, value)
    msg = _load_error(folder)
    assert msg.startswith(f"{folder / 'arrays.npz'}: unreadable or corrupt ({why}"), msg


def test_a_member_that_is_no_npy_array(fitted: dict[str, Recommender], tmp_path: Path) -> None:
    import zipfile

    folder = _saved(fitted, "popularity", tmp_path)
    with zipfile.ZipFile(folder / "arrays.npz", "a") as z:
        z.writestr("notes", b"hello")  # np.load hands a member without .npy back as bytes
    msg = _load_error(folder)
    assert msg == (
        f"{folder / 'arrays.npz'}: member 'notes' is not a .npy array; the file is damaged "
        "(train the model again)"
    )


def _visual_cf(tmp_path: Path, **params: object) -> Path:
    inter, vec = checkerboard()
    model = make_model("visual-cf", **{**FAST["visual-cf"], **params}).fit(inter, vec)
    return model.save(tmp_path / "vcf")


@pytest.mark.parametrize(
    ("gone", "why"),
    [
        (
            ["profile_scale_"],
            "holds profile_components_ but not profile_scale_ (the taste "
            "term's arrays are saved together)",
        ),
        (
            ["user_profiles_"],
            "holds profile_components_ but not user_profiles_ (the taste "
            "term's arrays are saved together)",
        ),
        (
            ["profile_components_", "user_profiles_", "image_only_profiles_", "profile_scale_"],
            "lacks the taste term's arrays (profile_components_, user_profiles_, "
            "image_only_profiles_, profile_scale_) of a model that scores with profile_weight 1",
        ),
    ],
)
def test_visual_cf_taste_term_arrays_missing(tmp_path: Path, gone: list[str], why: str) -> None:
    # save leaves them out only when the weight is 0; here it is 1: damage, not an old
    # folder (it loaded and scored without the taste term)
    folder = _visual_cf(tmp_path, profile_weight=1.0)

    def drop(arrays: Arrays) -> None:
        for name in gone:
            del arrays[name]

    _rewrite(folder, drop)
    assert _load_error(folder) == (
        f"{folder}: arrays.npz {why}: the folder is damaged; train the model again"
    )


def test_visual_cf_second_bpr_missing(tmp_path: Path) -> None:
    folder = _visual_cf(tmp_path, map_reg=0.5, profile_weight=0.0)
    Recommender.load(folder)  # whole, it loads

    def drop(arrays: Arrays) -> None:
        del arrays["image_user_factors_"]

    _rewrite(folder, drop)
    assert _load_error(folder) == (
        f"{folder}: arrays.npz lacks image_user_factors_, which a model with map_reg 0.5 "
        "(not reg 0.05) saves: the folder is damaged; train the model again"
    )


def test_model_json_that_is_a_folder_or_a_pipe(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    import os

    folder = _saved(fitted, "popularity", tmp_path)
    mj = folder / "model.json"
    mj.unlink()
    mj.mkdir()
    assert _load_error(folder) == f"{mj} is a folder, not the model's JSON file; train it again"
    mj.rmdir()
    os.mkfifo(mj)  # opened for reading, it would wait for a writer for ever
    assert _load_error(folder) == f"{mj} is a pipe, not the model's JSON file; train it again"
    npz = _saved(fitted, "bpr", tmp_path) / "arrays.npz"
    npz.unlink()
    npz.mkdir()
    assert _load_error(npz.parent) == f"{npz} is a folder, not the model's arrays; train it again"


def test_popularity_counts_that_are_not_the_training_pairs(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    folder = _saved(fitted, "popularity", tmp_path)

    def negative(arrays: Arrays) -> None:
        arrays["item_counts_"] = arrays["item_counts_"].copy()
        arrays["item_counts_"][2] = -5  # every listed item scored -inf

    npz = _rewrite(folder, negative)
    assert _load_error(folder) == (
        f"{folder}: arrays.npz: item_counts_ says -5 for item 'i2', which has "
        f"{int(fitted['popularity'].item_counts_[2])} training pairs: the folder is damaged; "
        "train it again"
    )
    assert npz.is_file()


def test_a_folder_swapped_in_while_it_is_read_is_read_again(
    fitted: dict[str, Recommender], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `visrec train` swapped a new model in between model.json and arrays.npz: the
    # reader got one save's JSON and the next one's arrays, "train the model again"
    import os

    from visrec.models import base

    folder = fitted["popularity"].save(tmp_path / "m")
    newer = fitted["bpr"].save(tmp_path / "newer")
    real = base.read_arrays
    swaps = []

    def swap_then_read(npz: Path) -> object:
        if not swaps:  # once: the save lands just as the reader gets to the arrays
            swaps.append(1)
            os.rename(folder, tmp_path / "old")
            os.rename(newer, folder)
        return real(npz)

    monkeypatch.setattr(base, "read_arrays", swap_then_read)
    loaded = Recommender.load(folder)
    assert loaded.name == "bpr" and swaps == [1]
    np.testing.assert_array_equal(loaded.item_factors_, fitted["bpr"].item_factors_)  # type: ignore[attr-defined]
    # damage without a swap is still an error, not a second read of the same thing
    (folder / "arrays.npz").write_bytes(b"not a zip")
    with pytest.raises(VisrecError, match=r"arrays\.npz"):
        Recommender.load(folder)


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (
            lambda meta: meta.update(n_users=str(meta["n_users"])),
            "n_users is '24', not a whole number",
        ),
        (lambda meta: meta.update(extra="x"), "extra is 'x', not an object"),
    ],
)
def test_model_json_fields_of_the_wrong_type_are_named_as_such(
    edit: Callable[[dict[str, Any]], None],
    said: str,
    fitted: dict[str, Recommender],
    tmp_path: Path,
) -> None:
    folder = _saved(fitted, "bpr", tmp_path)
    mj = _edit_model_json(folder, edit)
    assert _load_error(folder) == f"{mj}: {said}; train the model again"
