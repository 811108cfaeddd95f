"""Session 49, metrics and model save/load edge cases: metrics over no candidates,
coverage's and the sign test's counts checked, save/load/to_json paths that are no path
or cannot be written said in one line naming them, duplicate training pairs in a saved
folder refused, and ``far_vectors`` given one vector instead of a matrix."""

from __future__ import annotations

import errno
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from test_models import FAST, checkerboard
from visrec._ranking import recall_rows
from visrec.data.interactions import Interactions
from visrec.errors import VisrecError, WriteError
from visrec.evaluation import metrics as M
from visrec.evaluation.experiment_result import ExperimentResult
from visrec.evaluation.significance import sign_p, two_sided_sign_p
from visrec.models import _save_load
from visrec.models.base import Recommender
from visrec.models.popularity import Popularity
from visrec.models.registry import make_model

ON_LINUX_PROC = sys.platform.startswith("linux") and Path("/proc/self").is_dir()


def _popularity() -> Popularity:
    rows = [("a", "x"), ("a", "y"), ("a", "z"), ("b", "x"), ("c", "y")]
    return Popularity().fit(
        Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    )


def _result() -> ExperimentResult:
    runs = pd.DataFrame(
        {"seed": [0], "model": ["a"], "auc": [0.7], "recall": [0.1], "ndcg": [0.1],
         "hit_rate": [0.2], "coverage": [0.5], "fit_s": [1.0]}
    )  # fmt: skip
    return ExperimentResult(runs=runs, protocol="warm", k=20)


# --- metrics -------------------------------------------------------------------------


def test_top_k_metrics_over_no_candidates_are_undefined_for_every_user() -> None:
    # no candidate, so no test item: nan per user, as for any user without one (an
    # IndexError from reading column 0 of an empty row before)
    top = M.top_k(np.zeros((2, 0)), 3)
    assert top.shape == (2, 3) and (top == -1).all()
    relevant = np.zeros((2, 0), dtype=bool)
    for metric in (M.recall_at_k, M.hit_rate_at_k, M.ndcg_at_k):
        got = metric(top, relevant)
        assert got.shape == (2,) and np.isnan(got).all(), metric.__name__
    assert np.isnan(recall_rows(top, sp.csr_matrix((2, 0), dtype=np.float32))).all()
    assert np.isnan(M.mean(M.recall_at_k(top, relevant)))


@pytest.mark.parametrize("n", [2.5, 3.0, True, "3"])
def test_coverage_refuses_a_candidate_count_that_is_no_whole_number(n: Any) -> None:
    with pytest.raises(VisrecError, match=r"n_candidates must be a whole number .*got"):
        M.coverage(np.array([[0, 1]]), n)
    # numpy's counts are whole numbers; fewer candidates than the lists name is refused
    assert M.coverage(np.array([[0, 1]]), np.int64(4)) == 0.5
    with pytest.raises(VisrecError, match="row 0 holds 1, not a candidate index"):
        M.coverage(np.array([[0, 1]]), 1)


@pytest.mark.parametrize(
    ("wins", "losses", "said"),
    [
        (3, -1, "losses must not be negative, got -1"),  # p was 0.0
        (-3, 5, "wins must not be negative, got -3"),  # p was 1.0
        (2.7, 1, "wins must be a whole number of pairs, got 2.7"),  # cut to 2
        (True, 1, "wins must be a whole number of pairs, got True"),
        ("3", 1, "wins must be a whole number of pairs, got '3'"),
    ],
)
def test_sign_test_refuses_counts_that_are_no_counts(wins: Any, losses: Any, said: str) -> None:
    with pytest.raises(ValueError, match=f"^sign test: {said}$"):
        sign_p(wins, losses)


def test_sign_test_takes_whole_counts_of_any_kind() -> None:
    assert sign_p(3.0, np.int64(1)) == sign_p(3, 1) == 5 / 16
    with pytest.raises(ValueError, match="must not be negative"):
        two_sided_sign_p(-1, 3)


# --- save / load / to_json paths ------------------------------------------------------


def test_load_and_save_name_a_path_that_is_no_path() -> None:
    with pytest.raises(TypeError, match=r"^Recommender\.load: path must be a folder's path"):
        Recommender.load(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^Popularity\.save: path must .* got 3$"):
        _popularity().save(3)  # type: ignore[arg-type]


def test_an_empty_path_is_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # "" was the current folder: saved into it
    with pytest.raises(VisrecError, match=r"^Popularity\.save: path is empty"):
        _popularity().save("")
    with pytest.raises(VisrecError, match=r"^Recommender\.load: path is empty"):
        Recommender.load("")
    assert list(tmp_path.iterdir()) == []


def test_save_to_a_folder_that_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro" / "model"

    def refused(p: Path, made: list[Path]) -> None:  # a folder of another user's
        raise PermissionError(errno.EACCES, "Permission denied", str(p))

    monkeypatch.setattr(_save_load, "make_folders", refused)
    with pytest.raises(WriteError) as caught:
        _popularity().save(folder)
    assert str(caught.value) == (
        f"cannot save the model to {str(folder)!r}: cannot make the folder (Permission "
        "denied); save to a folder you can write"
    )
    # still the OSError it was, for code that catches those; the system refused: exit 1
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.EACCES
    assert caught.value.exit_status == 1
    again = pickle.loads(pickle.dumps(caught.value))
    assert str(again) == str(caught.value) and again.errno == errno.EACCES


@pytest.mark.skipif(not ON_LINUX_PROC, reason="needs Linux's /proc")
def test_save_into_proc_names_the_folder() -> None:
    with pytest.raises(WriteError, match=r"^cannot save the model to '/proc/x': cannot make"):
        _popularity().save("/proc/x")


def test_a_save_the_disk_refuses_names_the_folder_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    folder = tmp_path / "m"
    with pytest.raises(WriteError) as caught:
        _popularity().save(folder)
    assert str(caught.value) == (
        f"cannot save the model to {str(folder)!r} "
        f"({str(folder / 'arrays.npz')!r}: No space left on device)"
    )
    assert caught.value.exit_status == 1 and caught.value.errno == errno.ENOSPC


@pytest.mark.skipif(not ON_LINUX_PROC, reason="needs Linux's /proc")
def test_to_json_into_proc_names_the_file() -> None:
    with pytest.raises(WriteError) as caught:
        _result().to_json("/proc/x.json")
    assert str(caught.value).startswith("cannot write the experiment result to '/proc/x.json' (")
    assert isinstance(caught.value, OSError)


def test_to_json_names_a_path_that_is_no_path() -> None:
    with pytest.raises(TypeError, match=r"^output path must be a str or os\.PathLike, got 3$"):
        _result().to_json(3)  # type: ignore[arg-type]


# --- hand-edited model folders ----------------------------------------------------------


def _edit_seen(folder: Path, change: Any) -> None:
    npz = folder / "arrays.npz"
    with np.load(npz) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["seen_indices"] = change(arrays["seen_indices"].copy(), arrays["seen_indptr"])
    np.savez(npz, **arrays)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("first_row", "item"),
    [
        ([0, 0, 2], 0),  # in order, as save writes: the repeat is next to itself
        ([2, 0, 2], 2),  # out of order: found by sorting the pairs
    ],
)
def test_a_training_pair_listed_twice_is_refused(
    first_row: list[int], item: int, tmp_path: Path
) -> None:
    model = _popularity()  # user a: items x, y, z (indices 0, 1, 2)

    def row_as(values: list[int]) -> Any:
        def change(ind: np.ndarray, indptr: np.ndarray) -> np.ndarray:
            assert list(ind[indptr[0] : indptr[1]]) == [0, 1, 2]
            ind[indptr[0] : indptr[1]] = values
            return ind

        return change

    # pairs out of order but each once are the same training matrix: they load
    folder = model.save(tmp_path / "m")
    _edit_seen(folder, row_as([2, 1, 0]))
    assert (Recommender.load(folder).seen_ != model.seen_).nnz == 0
    # a pair twice loaded as one of weight 2 (and a pair fewer)
    folder = model.save(tmp_path / "m")
    _edit_seen(folder, row_as(first_row))
    with pytest.raises(VisrecError) as caught:
        Recommender.load(folder)
    assert str(caught.value) == (
        f"{folder / 'arrays.npz'}: the seen_ arrays do not fit the id maps (seen_indices "
        f"lists item index {item} twice for user index 0); train the model again"
    )


def test_far_vectors_refuses_one_vector_in_place_of_a_matrix() -> None:
    inter, vec = checkerboard()
    vbpr = make_model("vbpr", **FAST["vbpr"]).fit(inter, vec)
    one = vec.vectors[0]
    with pytest.raises(VisrecError, match=r"shape \(m, d\), one row per item, got \(16,\)"):
        vbpr.far_vectors(one)  # an IndexError from the scaler before
    assert vbpr.far_vectors(one[None, :]).shape == (1,)
    # a model that reads no vectors answered with one flag per number of the vector
    with pytest.raises(VisrecError, match=r"got \(16,\) \(one vector: pass vectors\[None, :\]\)"):
        _popularity().far_vectors(one)
