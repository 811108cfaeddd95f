"""Mutation audit (session 69) of ``visrec.models._save_load``,
``visrec.evaluation.model_scoring`` and ``visrec.evaluation.significance``, aimed at
branches the s49/s50/s61/s62/s63/s66 audits left: forged or incomplete model.json
fields, a subclass's folder, foreign files where a save writes, the wording of load
errors, and a cold candidate without a picture.

50 mutants (32 of _save_load, 11 of model_scoring, 7 of significance), run against the
save/load tests (model-folder damage, params-and-load, old folders, s50, s61 x2, s66),
the scoring tests (s49 x2, s63, evaluation gaps, evaluate QA) and the significance ones
(shared wording, s49 metrics, s50 eval, s56, s62, s66 ratan, session 47).
Killed by the old tests: 34. Survived 16: 12 are killed here, 4 are equivalent.
Killed after: 46 of 50. Equivalent:

- _save_load: the "must be positive" message giving ``value.max()`` for ``min()``: the
  one positive array (``feature_scale_``) has shape (1,), checked before, so min == max;
- model_scoring: ``_check_no_nan`` returning early for ``kind not in "f"`` (not "fc"):
  ``model.score`` casts to float32 and the cold path builds float32, no complex arrives;
- significance: ``isinstance(value, bool)`` without ``np.bool_``: ``np.True_`` is no
  ``numbers.Integral`` and no float, so the next clause refuses it with the same words;
- significance: ``total / 2**(n + 1) * 2`` for ``total / 2**n``: scaling by powers of two
  is exact (n <= 1000: no overflow, no subnormal).

Which test kills which mutant:

- a whole np.float32 count refused (only Python floats taken): float32 count test;
- p_figure searching at most 5 digits (repr() beyond): the many-digits test;
- a cold candidate without a picture scored 0, not -inf: the picture-less test;
- a ValueError of ``_set_extra_state`` not said in one line: the ValueError test
  (the AttributeError of a forged ``"penalties": "x"`` is pinned beside it);
- ``klass is not cls`` for ``not issubclass(klass, cls)``: the subclass test;
- ``meta["params"]`` unguarded, and a missing "extra" taken for null: the
  without-params-or-extra test;
- only OSError caught reading a leftover arrays.npz (BadZipFile escaped): the no-zip test;
- train.json not counted in a stopped save's leftovers: the stopped-save test;
- load's "is a file" check, and its blocking-parent check, dropped: the two path tests;
- ``fit_params_`` left empty on load (set_params unchecked): the set_params test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_model_folder_damage import _edit_model_json
from test_models import DIM, FAST, checkerboard
from test_s61_saveload_mutants import _load_error
from test_s63_scoring_mutants import _cold, _Pictures
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.evaluation.runner import evaluate_model
from visrec.evaluation.significance import p_figure, p_said, sign_p, two_sided_sign_p
from visrec.models.base import Recommender
from visrec.models.popularity import Popularity
from visrec.models.registry import make_model


@pytest.fixture(scope="module")
def fitted() -> dict[str, Recommender]:
    inter, vec = checkerboard()
    vec = ItemVectors(vec.ids, vec.vectors, vec.has_image, meta={**vec.meta, "dim": DIM})
    return {n: make_model(n, **FAST[n]).fit(inter, vec) for n in ("popularity", "vbpr")}


# ------------------------------------------------------------ significance


def test_a_whole_numpy_float32_count_is_a_count() -> None:
    # kills accepting only Python floats as whole-number counts: np.float32(3.0) (a
    # count summed in float32) is no subclass of float and was refused
    three: Any = np.float32(3.0)
    zero: Any = np.float16(0.0)
    half: Any = np.float32(2.5)
    assert sign_p(three, zero) == 0.125  # 1 / 2**3
    assert two_sided_sign_p(zero, three) == 0.25
    with pytest.raises(ValueError, match=r"^sign test: wins must be a whole number"):
        sign_p(half, 0)


def test_a_p_needing_many_digits_is_still_written_to_its_side_of_005() -> None:
    # kills stopping the search for digits at 5: 0.05000012345 needs 7 to read above
    # 0.05 ("0.0500001"); before that every figure rounds to 0.05, which the rule takes
    assert p_figure(0.05000012345) == "0.0500001"
    assert p_said(0.050000000012345) == "p = 0.05000000001"
    assert float(p_figure(0.0500000001)) > 0.05


# ------------------------------------------------------------ evaluate_model


def test_a_cold_candidate_without_a_picture_ranks_below_every_pictured_one() -> None:
    # kills scoring a picture-less candidate 0 rather than -inf: with every pictured
    # score negative (c0 -1, c1 -2) it would top every list. a (tests c0): top-1 c0, a
    # hit, AUC 1; b (tests c1): top-1 c0, a miss, AUC 1/2 (c1 beats only c2)
    split = _cold()
    iv = ItemVectors(
        ids=np.array(["c0", "c1", "c2"]),
        vectors=np.array([[-1.0, 0.0], [-2.0, 0.0], [0.0, 0.0]], dtype=np.float32),
        has_image=np.array([True, True, False]),
        meta={"backbone": "test"},
    )
    got = evaluate_model(_Pictures().fit(split.train), split, k=1, item_vectors=iv)
    assert (got["recall"], got["hit_rate"], got["auc"]) == (0.5, 0.5, 0.75)
    assert got["coverage"] == 1 / 3


# ------------------------------------------------------------ load: model.json state


def test_saved_state_of_the_wrong_type_is_one_line_naming_model_json(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # a forged "penalties": "x" fails inside _set_extra_state with an AttributeError
    folder = fitted["vbpr"].save(tmp_path / "m")
    mj = _edit_model_json(folder, lambda meta: meta["extra"].update(penalties="x"))
    assert _load_error(folder) == (
        f"{mj}: unusable saved state (AttributeError: 'str' object has no attribute 'get'); "
        "train the model again"
    )


def test_a_value_error_of_the_saved_state_is_one_line_naming_model_json(
    fitted: dict[str, Recommender], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills dropping ValueError from the errors of _set_extra_state said in one line
    folder = fitted["popularity"].save(tmp_path / "m")

    def refuse(self: Popularity, state: dict[str, object]) -> None:
        float("x")

    monkeypatch.setattr(Popularity, "_set_extra_state", refuse)
    assert _load_error(folder) == (
        f"{folder / 'model.json'}: unusable saved state (ValueError: could not convert "
        "string to float: 'x'); train the model again"
    )


class _Counted(Popularity):
    """A subclass registered under popularity's name (as a plug-in model would be)."""


def test_a_class_loads_a_folder_of_its_subclass(
    fitted: dict[str, Recommender], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills "not issubclass(klass, cls)" -> "klass is not cls": Popularity.load gives
    # any model of its kind, a subclass included; another kind is still refused
    from visrec.models import registry
    from visrec.models.vbpr import VBPR

    folder = fitted["popularity"].save(tmp_path / "m")
    monkeypatch.setitem(registry.MODELS, "popularity", f"{__name__}:_Counted")
    back = Popularity.load(folder)
    assert type(back) is _Counted
    np.testing.assert_array_equal(back.score([0, 1]), fitted["popularity"].score([0, 1]))
    with pytest.raises(VisrecError) as info:
        VBPR.load(folder)
    assert str(info.value) == f"{folder} holds a 'popularity' model, not 'vbpr'"


@pytest.mark.parametrize("key", ["params", "extra"])
def test_a_model_json_without_params_or_extra_loads_with_the_defaults(
    key: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # kills reading meta["params"] unguarded (a KeyError traceback) and taking a missing
    # "extra" for a null one ("extra is None, not an object"): popularity has neither
    # hyperparameters nor extra state, and a model.json without them is one of defaults
    folder = fitted["popularity"].save(tmp_path / "m")
    _edit_model_json(folder, lambda meta: meta.pop(key))
    back = Recommender.load(folder)
    assert type(back) is Popularity and back.get_params() == Popularity().get_params()
    np.testing.assert_array_equal(back.score([0, 5]), fitted["popularity"].score([0, 5]))


# ------------------------------------------------------------ save: a foreign folder


def test_a_folder_holding_only_an_arrays_npz_that_is_no_zip_is_refused(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # kills catching only OSError where the leftover arrays.npz is read: a file of that
    # name that is no zip (the user's own) escaped as zipfile.BadZipFile, not refused
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "arrays.npz").write_bytes(b"my own notes, not a zip")
    with pytest.raises(VisrecError) as info:
        fitted["popularity"].save(folder)
    assert str(info.value) == (
        f"cannot save the model to {str(folder)!r}: it holds arrays.npz but no visrec "
        "model.json; save to a new or empty folder, or an earlier model's folder"
    )
    assert (folder / "arrays.npz").read_bytes() == b"my own notes, not a zip"


def test_a_save_stopped_before_model_json_of_a_trained_folder_is_saved_over(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # kills dropping train.json from what a stopped save leaves: visrec train's record
    # beside a save's arrays.npz (its model.json never written) is visrec's own folder
    model = fitted["popularity"]
    folder = model.save(tmp_path / "m")
    (folder / "model.json").unlink()
    (folder / "train.json").write_text('{"vectors": "old.parquet"}')
    assert model.save(folder) == folder
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "model.json"]
    np.testing.assert_array_equal(Recommender.load(folder).score([3]), model.score([3]))


# ------------------------------------------------------------ load: the path


def test_loading_a_file_says_it_is_a_file(tmp_path: Path) -> None:
    # kills dropping the "is a file" check: a file was "not a visrec model folder (no
    # model.json)", as if the model.json were missing beside it
    path = tmp_path / "model.json"
    path.write_text("{}")
    with pytest.raises(VisrecError) as info:
        Recommender.load(path)
    assert str(info.value) == (
        f"{path} is a file; give the model folder (the one holding model.json)"
    )


def test_loading_below_a_file_names_the_file(tmp_path: Path) -> None:
    # kills dropping the blocking-parent check: "f/sub" under a file f was only "not
    # found", not the file that stands where a folder should be (as save says it)
    from visrec.errors import InputNotFoundError

    (tmp_path / "f").write_text("x")
    with pytest.raises(InputNotFoundError) as info:
        Recommender.load(tmp_path / "f" / "sub")
    assert str(info.value) == (
        f"cannot load the model from {str(tmp_path / 'f' / 'sub')!r}: "
        f"{str(tmp_path / 'f')!r} is a file, not a folder"
    )


# ------------------------------------------------------------ load: the fit's params


def test_a_loaded_model_still_refuses_a_save_after_set_params(
    fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    # kills loading with no record of the params fitted with: a loaded model whose
    # factors were changed by set_params was saved naming values its arrays lack
    back = Recommender.load(fitted["vbpr"].save(tmp_path / "m"))
    factors = back.get_params()["factors"]
    back.set_params(factors=factors + 1)
    with pytest.raises(VisrecError) as info:
        back.save(tmp_path / "again")
    assert str(info.value) == (
        f"model 'vbpr': set_params changed factors {factors!r} -> {factors + 1!r} after "
        "the fit; fit again (or set them back) before saving"
    )
    assert not (tmp_path / "again" / "model.json").exists()
    back.set_params(factors=factors)
    assert Recommender.load(back.save(tmp_path / "again")).get_params() == back.get_params()
