"""Hyperparameter type checks (``ParamsMixin.check_param_types``) for every registered
model, through the Python API and the CLI, and one-line errors for broken model folders."""

from __future__ import annotations

import math
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.interactions import Interactions
from visrec.errors import VisrecError
from visrec.models.registry import MODELS, get_model_class, make_model

#: wrong values per declared type; ``None`` is added where the annotation forbids it
BAD: dict[type, list[Any]] = {
    int: ["abc", 1.5, 2.0, True, np.bool_(True), [1]],
    float: ["x", True, math.nan, math.inf, [0.1], 10**400],
    bool: ["yes", 1, 0.0],
    str: [1, 2.5, True],
}
#: right values of another Python/NumPy kind that must pass
GOOD: dict[type, list[Any]] = {
    int: [np.int64(3), 7],
    float: [1, np.float32(0.5), np.int32(2), 0.25],
    bool: [np.bool_(False), True],
    str: ["cpu"],
}


def _declared(name: str) -> list[tuple[str, tuple[type, ...]]]:
    init = get_model_class(name).__init__
    hints = typing.get_type_hints(init)
    out = []
    for param in get_model_class(name)().get_params():
        hint = hints[param]
        kinds = typing.get_args(hint) or (hint,)
        out.append((param, tuple(kinds)))
    return out


def _cases() -> list[tuple[str, str, Any]]:
    cases = []
    for name in MODELS:
        for param, kinds in _declared(name):
            main_kind = next(k for k in kinds if k is not type(None))
            # a string is no wrong type where one is allowed (reg: a number or "auto")
            bad = [v for v in BAD[main_kind] if not (str in kinds and isinstance(v, str))]
            if type(None) not in kinds:
                bad.append(None)
            cases += [(name, param, v) for v in bad]
    return cases


CASES = _cases()


def test_the_table_covers_every_hyperparameter() -> None:
    checked = {(m, p) for m, p, _ in CASES}
    declared = {(m, p) for m in MODELS for p, _ in _declared(m)}
    assert checked == declared
    assert ("bpr", "epochs") in checked and ("visual-cf", "bias_weight") in checked


@pytest.mark.parametrize(("model", "param", "value"), CASES)
def test_wrong_type_is_a_one_line_error(model: str, param: str, value: Any) -> None:
    est = get_model_class(model)(**{param: value})
    with pytest.raises(VisrecError) as info:
        est.check_param_types()
    msg = str(info.value)
    assert msg.startswith(f"model {model!r}: {param}={value!r} must be ")
    assert "\n" not in msg


@pytest.mark.parametrize("model", list(MODELS))
def test_right_types_pass(model: str) -> None:
    get_model_class(model)().check_param_types()  # the defaults
    for param, kinds in _declared(model):
        for kind in kinds:
            for value in GOOD.get(kind, [None]):
                get_model_class(model)(**{param: value}).check_param_types()


def test_error_names_the_expected_type() -> None:
    bpr = get_model_class("bpr")
    with pytest.raises(VisrecError, match=r"^model 'bpr': epochs='abc' must be an integer$"):
        bpr(epochs="abc").check_param_types()
    with pytest.raises(VisrecError, match=r"reg=None must be a number >= 0 or 'auto'$"):
        bpr(reg=None).check_param_types()
    with pytest.raises(VisrecError, match=r"random_state='x' must be an integer or null"):
        bpr(random_state="x").check_param_types()
    bpr(random_state=None, device=None).check_param_types()


def test_fit_checks_types_first() -> None:
    inter = Interactions.from_frame(pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["a", "b"]}))
    with pytest.raises(VisrecError, match=r"epochs=1\.5 must be an integer"):
        get_model_class("bpr")(epochs=1.5).fit(inter)


@pytest.mark.parametrize("model", ["bpr", "vbpr", "visual-cf"])
@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [("lr", 0.0, "lr must be > 0"), ("random_state", -1, "random_state must be >= 0")],
)
def test_out_of_range_values_are_one_line_errors(
    model: str, param: str, value: Any, expected: str
) -> None:
    # lr=0 used to pass here and fail inside torch's SparseAdam on large catalogues
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user_id": rng.integers(0, 9, 40), "item_id": rng.integers(0, 7, 40)})
    inter = Interactions.from_frame(frame.astype(str).drop_duplicates())
    ids = np.asarray(inter.item_map.ids)
    from visrec.embed.store import ItemVectors

    iv = ItemVectors(
        ids=ids,
        vectors=rng.random((len(ids), 4), dtype=np.float32),
        has_image=np.ones(len(ids), dtype=bool),
    )
    klass = get_model_class(model)
    with pytest.raises(VisrecError, match=expected):
        klass(**{param: value}).fit(inter, iv if klass.uses_vectors else None)


# ------------------------------------------------------------------ CLI
@pytest.fixture()
def train_csv(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    path.write_text("user_id,item_id\nu1,i1\nu1,i2\nu2,i1\nu2,i3\nu3,i2\nu3,i3\n")
    return path


@pytest.mark.parametrize(
    ("model", "param", "expected"),
    [
        ("bpr", "epochs=abc", "epochs='abc' must be an integer"),
        ("bpr", "epochs=1.5", "epochs=1.5 must be an integer"),
        ("bpr", 'lr="x"', "lr='x' must be a finite number"),
        ("bpr", "factors=true", "factors=True must be an integer"),
        ("bpr", "reg=null", "reg=None must be a number >= 0 or 'auto'"),
        ("bpr", "reg=strong", "reg must be a number >= 0 or 'auto', got 'strong'"),
        ("visual-cf", 'bias_weight="x"', "bias_weight='x' must be a finite number"),
        # out of range: checked up front too, not at the first fit
        ("bpr", "epochs=0", "epochs must be >= 1, got 0"),
        ("vbpr", "reg=-1", "reg must be a number >= 0 or 'auto', got -1"),
        ("visual-cf", "alpha=-0.5", "alpha must be >= 0, got -0.5"),
    ],
)
def test_train_and_evaluate_bad_param(
    model: str,
    param: str,
    expected: str,
    train_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "m"
    argv = ["train", "--model", model, "--interactions", str(train_csv), "-o", str(out)]
    assert main([*argv, "--param", param]) == 2
    err = capsys.readouterr().err
    assert err == f"error: model {model!r}: {expected}\n"
    assert not out.exists()

    argv = ["evaluate", "--interactions", str(train_csv), "--models", model, "--quiet"]
    argv += ["--param", f"{model}.{param}", "--json", str(tmp_path / "r.json")]
    if model in ("vbpr", "visual-cf"):
        argv += ["--vectors", str(tmp_path / "never-read.parquet")]  # checked before load
    assert main(argv) == 2
    assert capsys.readouterr().err == f"error: model {model!r}: {expected}\n"


# ------------------------------------------------------------------ load
@pytest.fixture()
def model_dir(train_csv: Path, tmp_path: Path) -> Path:
    out = tmp_path / "model"
    argv = ["train", "--model", "bpr", "--interactions", str(train_csv), "-o", str(out)]
    assert main([*argv, "--param", "epochs=1", "--quiet"]) == 0
    return out


def _load_error(folder: Path) -> str:
    from visrec.models.base import Recommender

    with pytest.raises(VisrecError) as info:
        Recommender.load(folder)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize("keep", [0, 10, 0.5, -10])
def test_load_truncated_arrays(
    keep: float, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    npz = model_dir / "arrays.npz"
    data = npz.read_bytes()
    npz.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    msg = _load_error(model_dir)
    assert msg.startswith(f"{npz}: unreadable or corrupt (")
    assert msg.endswith("train the model again")
    # the CLI: one line, no zipfile.BadZipFile traceback
    out = model_dir.parent / "recs.csv"
    assert main(["recommend", str(model_dir), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {npz}: unreadable or corrupt") and err.count("\n") == 1
    assert not out.exists()


def test_load_missing_arrays(model_dir: Path) -> None:
    npz = model_dir / "arrays.npz"
    with np.load(npz) as z:
        arrays = {k: z[k] for k in z.files if k != "item_factors_"}
    assert len(arrays) < len(z.files)
    np.savez(npz.with_name("x.npz"), **arrays)  # type: ignore[arg-type]
    npz.with_name("x.npz").replace(npz)
    assert _load_error(model_dir) == (f"{npz}: missing array item_factors_; train the model again")
    npz.unlink()
    assert _load_error(model_dir).startswith(f"{npz}: missing; the model folder is incomplete")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"model": "bpr", ', "invalid JSON"),
        (b"\xff\xfe\x00", "cannot be read"),
        (b"[1, 2]", "not a visrec model.json"),
        (b'{"params": {}}', "not a visrec model.json"),
        (b'{"model": "bpr", "params": [1]}', "not a visrec model.json"),
        (b'{"model": "nope", "params": {}}', "unknown model 'nope'"),
        # a model this version does not have: the folder is likely from a newer one
        (
            b'{"model": "ease", "params": {}}',
            "Saved by a newer visrec (upgrade it), or by a model class",
        ),
        (b'{"model": "bpr", "params": {"bogus": 1}}', "parameters do not fit model 'bpr'"),
    ],
)
def test_load_bad_model_json(content: bytes, expected: str, model_dir: Path) -> None:
    mj = model_dir / "model.json"
    mj.write_bytes(content)
    msg = _load_error(model_dir)
    assert msg.startswith(f"{mj}: ") and expected in msg


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_state_is_named_with_a_trailing_underscore_and_a_failed_refit_drops_it(
    name: str,
) -> None:
    from test_models import FAST, checkerboard

    # the convention scikit-learn's check_is_fitted reads; forget_fit drops only these
    inter, vectors = checkerboard()
    model = make_model(name, **FAST[name]).fit(inter, vectors)
    params = set(model.get_params())
    state = [k for k in vars(model) if k not in params]
    assert state and all(k.endswith("_") and not k.startswith("_") for k in state), state
    # a wrong argument is refused before anything is dropped: the fit stays usable
    with pytest.raises(VisrecError, match="fit takes an Interactions"):
        model.fit(inter.to_frame(), vectors)  # type: ignore[arg-type]
    assert [k for k in vars(model) if k not in params] == state
    with pytest.raises(VisrecError, match="empty interactions"):
        model.fit(Interactions.from_frame(pd.DataFrame({"user_id": [], "item_id": []})), vectors)
    assert [k for k in vars(model) if k not in params] == state

    # a fit that starts and fails leaves no old arrays under new id maps
    def fail(*args: object) -> None:
        raise VisrecError("failed mid-fit")

    model._fit = fail  # type: ignore[method-assign]
    with pytest.raises(VisrecError, match="failed mid-fit"):
        model.fit(inter, vectors)
    assert [k for k in vars(model) if k not in params and k != "_fit"] == []


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_saved_array_has_its_axes_declared(name: str) -> None:
    # load checks the shapes of _array_dims only: an array in _array_attrs without
    # its axes would load unchecked
    cls = get_model_class(name)
    assert set(cls._array_attrs) == set(cls._array_dims)
