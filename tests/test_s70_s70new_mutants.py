"""Mutation audit of the session 70 changes (helper s70new).

Modules audited: ``commands/_common.py`` (``LastPathNoted`` / ``_LastInputNoted`` and
their wiring), ``models/model_folder.py`` (``read_train_json``, ``check_array_forms``'
advice), ``commands/recommend.py`` (``recorded_paths``, ``_moved``), ``commands/train.py``
(``_relative``, the ``*_relative`` keys), ``embed/store.py`` (``folder_advice``),
``_display_width.py`` and its uses (``analysis/cluster.py``,
``evaluation/experiment_result.py``, ``commands/similar.py``), ``data/amazon.py``
(``_JsonScan.images``, ``_odd_images_note``), ``models/base.py``
(``_check_params_stored``, ``_same``, ``_check_learned_arrays``, ``_checked_scores``),
``models/params.py``, ``models/registry.py``, ``models/_save_load.py``.

Mutants written: 60 (script /tmp/s70/s70new/mutants.py). Killed by the existing tests:
42 (34 by test_s70_tidy/noticed/contrib, 8 more by the older files nearest the code:
c3, m3, m5, r10, s1, s2, d7, g1). Killed after the tests below: 17. Equivalent: 1.

Equivalent:
- a9 (the image-entry warning inserted first in ``LoadResult.warnings`` instead of
  appended): the same warnings; only where the one summary line sits among them.

Which tests kill which mutants:
- test_display_width_counts_terminal_columns: d1 (a combining mark counted as a
  column), d2 (full-width forms, East Asian width F, counted as one).
- test_moved_interactions_are_found_too_and_only_the_vectors_said: r8 (the relative
  place tried for the vectors alone: -o checked against the gone interactions path),
  r6 (the note said for the interactions too), r11 (interactions looked up under
  ``vectors_relative``).
- test_an_empty_relative_path_is_no_place: r4 (``vectors_relative: ""`` gave the
  model folder itself as the vectors).
- test_a_blank_image_string_is_counted: a2 (an ``image`` that is one blank string not
  counted).
- test_2023_image_entries_without_a_url_are_said_in_2023_words: a6 (a 2023 file's
  warning in the 2018 field names).
- test_a_nan_hyperparameter_stored_unchanged_is_accepted: b2 (``_same`` without the
  identity test: a nan stored unchanged refused as changed).
- test_an_array_hyperparameter_changed_by_init_is_refused: b3 (``==`` without a truth
  value taken as the same).
- test_recommend_leaves_the_scores_a_model_returns_unwritten: b12 / b13 (the copy
  dropped: recommend's -inf for seen items written into the model's own table, all
  items / a candidate subset).
- test_a_full_block_for_an_item_subset_is_named_in_recommend: b14 (recommend's
  candidate path without the shape check: a subset model's full block unnamed).
- test_an_object_array_is_refused_as_state_save_cannot_keep: b5 (the dtype test dropped
  from ``_check_learned_arrays``: an object array refused in other words only).
- test_another_objects_attribute_error_is_not_called_unrestored_state: l1 (load's
  AttributeError branch without ``exc.obj is not self``: a plain bug in ``_score``
  called state that load does not restore).
- test_a_model_folder_without_train_json_has_no_record: m1 (``read_train_json``
  without its is_file test: every Python-saved folder "unreadable" in recommend).
- test_a_too_deeply_nested_train_json_is_unreadable_not_a_crash: m2 (RecursionError
  not caught: recommend and folder_advice crashed on a deeply nested train.json).
- test_an_alias_of_a_registered_class_is_accepted: g1 (also killed by an older test).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_data_amazon import _jsonl_2023
from test_models import checkerboard
from test_s70_contrib import _Counts
from test_s70_noticed import _reviews
from visrec.data.amazon import load_amazon_reviews
from visrec.data.interactions import Interactions
from visrec.errors import VisrecError
from visrec.models import registry
from visrec.models.base import Recommender

ODD = "image entry without a URL"


@pytest.fixture(scope="module")
def inter() -> Interactions:
    return checkerboard()[0]


# ------------------------------------------------------------------ display width
def test_display_width_counts_terminal_columns() -> None:
    from visrec._display_width import display_width, ljust_display

    assert display_width("e\u0301") == 1  # a combining accent takes no column
    assert display_width("\uff21\uff22") == 4  # full-width forms (F) take two each
    assert display_width("\u732ba") == 3  # a CJK character (W) and a letter
    assert ljust_display("\uff21\uff22", 6) == "\uff21\uff22  "
    assert ljust_display("e\u0301", 3) == "e\u0301  "
    assert ljust_display("longer", 3) == "longer"  # never cut


# ------------------------------------------------------------- train.json, moved
def _train_json(tmp_path: Path, record: dict[str, Any]) -> Path:
    (tmp_path / "m").mkdir(exist_ok=True)
    tj = tmp_path / "m" / "train.json"
    tj.write_text(json.dumps(record))
    return tj


def test_moved_interactions_are_found_too_and_only_the_vectors_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.commands.recommend import recorded_paths

    (tmp_path / "v.parquet").write_bytes(b"x")
    (tmp_path / "r.csv").write_bytes(b"x")
    gone = tmp_path / "gone"
    tj = _train_json(
        tmp_path,
        {
            "vectors": str(gone / "v.parquet"),
            "interactions": str(gone / "r.csv"),
            "vectors_relative": str(Path("..") / "v.parquet"),
            "interactions_relative": str(Path("..") / "r.csv"),
        },
    )
    # the interactions are what -o must not replace: their new place is the one checked
    want = {
        "vectors": str(tj.parent / ".." / "v.parquet"),
        "interactions": str(tj.parent / ".." / "r.csv"),
    }
    assert recorded_paths(tj) == want
    err = capsys.readouterr().err
    assert err.count("note:") == 1, err  # the vectors, read by the run, alone are said
    assert f"note: {gone / 'v.parquet'} (the vectors file" in err
    assert recorded_paths(tj, say=False) == want
    assert capsys.readouterr().err == ""


def test_an_empty_relative_path_is_no_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "" joined to the model folder is the model folder itself, which exists
    from visrec.commands.recommend import recorded_paths

    gone = str(tmp_path / "gone" / "v.parquet")
    tj = _train_json(tmp_path, {"vectors": gone, "vectors_relative": ""})
    assert recorded_paths(tj)["vectors"] == gone
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------ Amazon image entries
def _odd(res: Any) -> list[Any]:
    return [w for w in res.warnings if w.kind == ODD]


def test_a_blank_image_string_is_counted(tmp_path: Path) -> None:
    res = load_amazon_reviews(_reviews(tmp_path, [" ", "http://x/a.jpg", ...]))
    assert res.frame["image"].tolist() == [[], ["http://x/a.jpg"], []]
    odd = _odd(res)
    assert len(odd) == 1 and odd[0].line == 1
    assert odd[0].reason.startswith("1 review has an 'image' entry that is null or blank")


def test_2023_image_entries_without_a_url_are_said_in_2023_words(tmp_path: Path) -> None:
    images = [
        [{"large_image_url": "http://x/l.jpg"}],
        [{"small_image_url": "http://x/s.jpg"}],  # no large or medium: no photo
        [{"medium_image_url": "http://x/m.jpg"}, {"attachment_type": "IMAGE"}],
    ]
    recs = [
        {"rating": 5.0, "parent_asin": "B1", "user_id": f"U{k}", "timestamp": 1588687000000 + k}
        | {"images": im}
        for k, im in enumerate(images)
    ]
    res = load_amazon_reviews(_jsonl_2023(tmp_path / "All_Beauty.jsonl", recs))
    assert res.frame["image"].tolist() == [["http://x/l.jpg"], [], ["http://x/m.jpg"]]
    odd = _odd(res)
    assert len(odd) == 1 and odd[0].line == 2
    reason = odd[0].reason
    assert reason.startswith("2 reviews have an 'images' entry without a large_image_url")
    assert "'image' entry" not in reason and "read as no photo" in reason


# ------------------------------------------------------------------ hyperparameters
class _NanParam(_Counts):
    # unannotated as float, which must be finite: a fill value, say
    def __init__(self, k: int = 3, alpha: Any = float("nan")) -> None:
        self.k = k
        self.alpha = alpha


class _ArrayParam(_Counts):
    def __init__(self, k: int = 3, w: Any = None) -> None:
        self.k = k
        self.w = None if w is None else np.asarray(w, dtype=float) * 2


def test_a_nan_hyperparameter_stored_unchanged_is_accepted(inter: Interactions) -> None:
    # nan == nan is False: the very object stored is what counts
    m = _NanParam().fit(inter)
    assert np.isnan(m.get_params()["alpha"])


def test_an_array_hyperparameter_changed_by_init_is_refused(inter: Interactions) -> None:
    # == gives no truth value for arrays: taken as a change, not as the same
    with pytest.raises(VisrecError, match=r"__init__ changes its hyperparameters \(w="):
        _ArrayParam(w=[1.0, 2.0]).fit(inter)
    _ArrayParam().fit(inter)  # None stays None


# ------------------------------------------------------------- scores not written into
class _Viewed(_Counts):
    """Scores handed out as views of a float64 table the model keeps."""

    _scores_item_subsets = True

    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        super()._fit(interactions, vectors, has_image)
        self.table_ = np.tile(self.counts_.astype(np.float64), (interactions.n_users, 1))

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        rows = self.table_[int(user_idx[0]) : int(user_idx[-1]) + 1]  # contiguous: a view
        if item_idx is None:
            return rows
        return rows[:, int(item_idx[0]) : int(item_idx[-1]) + 1]


@pytest.mark.parametrize("items", [None, [0, 1, 2, 3]])
def test_recommend_leaves_the_scores_a_model_returns_unwritten(
    inter: Interactions, items: list[int] | None
) -> None:
    m = _Viewed().fit(inter)
    before = m.table_.copy()
    assert m.seen_[0].nnz > 0  # user 0 has training items, filtered as -inf
    m.recommend([0], n=2, items=items)
    np.testing.assert_array_equal(m.table_, before)


# ------------------------------------------------------------------------ registry
def test_an_alias_of_a_registered_class_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.MODELS, "s70-pop", registry.MODELS["popularity"])
    klass = registry.get_model_class("s70-pop")
    assert klass is registry.get_model_class("popularity")


# ---------------------------------------------------------------------- save/load
class _Slip(_Counts):
    """A plain bug in _score: an attribute of another object, not learned state."""

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        return np.tile(self.counts_.no_such_attribute, (len(user_idx), 1))  # type: ignore[attr-defined]


def test_another_objects_attribute_error_is_not_called_unrestored_state(
    inter: Interactions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.MODELS, "s70-counts", f"{__name__}:_Slip")
    folder = _Slip().fit(inter).save(tmp_path / "m")
    with pytest.raises(AttributeError, match="no_such_attribute"):
        Recommender.load(folder)


# ---------------------------------------------------------------- read_train_json
def test_a_model_folder_without_train_json_has_no_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a folder saved from Python: nothing recorded, and nothing to say
    from visrec.commands.recommend import recorded_paths
    from visrec.models.model_folder import read_train_json

    assert read_train_json(tmp_path / "train.json") == {}
    assert recorded_paths(tmp_path / "train.json") == {"vectors": None, "interactions": None}
    assert capsys.readouterr().err == ""


def test_a_too_deeply_nested_train_json_is_unreadable_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.commands.recommend import recorded_paths
    from visrec.embed.store import folder_advice
    from visrec.models.model_folder import read_train_json

    tj = tmp_path / "train.json"
    tj.write_text("[" * 200_000)
    with pytest.raises(VisrecError, match=r"train\.json is unreadable \(.*recursion"):
        read_train_json(tj)
    assert recorded_paths(tj) == {"vectors": None, "interactions": None}
    assert "train.json is unreadable" in capsys.readouterr().err
    (tmp_path / "model.json").write_text("{}")
    assert folder_advice(str(tmp_path)).endswith("give the vectors file from visrec embed")


class _ObjectCounts(_Counts):
    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        super()._fit(interactions, vectors, has_image)
        self.counts_ = self.counts_.astype(object)


def test_an_object_array_is_refused_as_state_save_cannot_keep(inter: Interactions) -> None:
    # an array, but of Python objects: saved as a pickle load refuses
    with pytest.raises(
        VisrecError, match=r"_fit left counts_ \(listed in _array_attrs\) as an array of object"
    ):
        _ObjectCounts().fit(inter)


class _IgnoresSubset(_Counts):
    """Says it scores item subsets, but returns every item's column."""

    _scores_item_subsets = True


def test_a_full_block_for_an_item_subset_is_named_in_recommend(inter: Interactions) -> None:
    m = _IgnoresSubset().fit(inter)
    want = rf"_score returned scores of shape \(1, {len(m.item_map_)}\), expected \(1, 3\)"
    with pytest.raises(VisrecError, match=want):
        m.recommend([0], n=2, items=[1, 2, 3])
    with pytest.raises(VisrecError, match=want):
        m.score([0], [1, 2, 3])
