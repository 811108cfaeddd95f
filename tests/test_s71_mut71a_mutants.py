"""Mutation audit mut71a (session 71) of this session's code: visual-cf's sign test for
``profile_weight="auto"`` (src/visrec/models/visual_cf.py: ``_decide``, ``_sign_p``,
``_fold_recall``'s better/worse counts, the 3 x n_w checkpoint values, ``profile_sign_``
save/load and its validation, ``profile_unvalidated_``, ``profile_note``'s reasons);
src/visrec/embed/store.py ``_vector_rows`` (null vectors where has_image is false) and
``table_to_vectors``' ``no_image``; src/visrec/commands/_common.py ``LastPathNoted`` /
``say_parse_notes`` and its call in src/visrec/cli.py ``_main``;
src/visrec/embed/output.py ``check_dropped``'s wording and commands/embed.py's "the
only image could not be embedded".

40 mutants (v: visual_cf 24, s: store 6, p: parse notes 6, e: embed wording 4), run
against test_s71_autofloor (visual_cf); test_s71_nullvec, test_store,
test_s69_interop_review (store); test_s71_parse_notes, test_s70_tidy,
test_cli_input_review_fixes (parse notes); test_s71_small_fixes,
test_s62_embedcmd_mutants, test_embed_qa_fixes (embed). 24 killed by those old tests,
16 survived; 13 of them are killed by this file (37 killed in all), 3 equivalent:
- v01 ``_sign_p(...) > PROFILE_SIGNIFICANCE`` for ``>=``: a sign-test p-value is a
  binomial tail (k / 2**n), never exactly 0.01.
- e01 check_dropped's singular ``if len(gone) == 1`` for ``if n_old == 1``: the
  refusal needs 2 * len(gone) > n_old, so one gone item means a one-item file and back.
- e02 ``agree(len(gone), 'it', 'they')`` for a bare ``they``: with n_old >= 2 a refusal
  drops at least 2 items, so the ``it`` branch is never reached (dead but harmless).

Which test kills which survivor:
- v02 (PROFILE_SIGNIFICANCE 0.05): test_the_significance_level_is_one_percent
- v11 (fold checkpoint saved transposed): test_a_resumed_fold_reads_back_its_recall_and_counts
- v16 (the note's sign counts named under the margin too):
  test_under_the_margin_the_note_says_no_sign_count
- v21 (a zero count refused at load): test_zero_counts_load_and_decide
- v22 / v23 / v24 (a bool count / three numbers / a weight without a score accepted):
  test_a_damaged_sign_count_is_refused[bool / three / unknown-weight]
- v25 (any saved reason kept) / v26 (a missing reason read as ""):
  test_an_unknown_or_missing_reason_loads_as_unknown[bogus / None]
- v27 (a model saved before the counts loaded with {}: its positive weight lost):
  test_a_model_saved_before_the_counts_keeps_its_choice
- s08 (each chunk's rows taken from the column's start):
  test_a_null_first_in_a_later_chunk_is_read_by_its_own_rows (read_vectors combines a
  file's row groups into one chunk, so test_s71_nullvec's row_group_size=2 never
  reaches the per-chunk loop with more than one chunk)
- p05 (only the first parse note said): test_two_options_given_twice_give_two_notes
- p06 (notes said above the empty-path error): test_no_note_above_an_empty_path_error
test_over_the_margin_the_note_names_the_counts_in_order and
test_a_known_reason_loads_as_saved are fast guards of v18 (better/worse swapped in the
note, killed before only by a 15 s fit) and of the reasons' round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from test_s71_parse_notes import _err
from test_visual_cf_profile import AUTO, _count_bpr_fits, _shop
from visrec.embed.store import table_to_vectors
from visrec.errors import VisrecError
from visrec.models import _checkpoint, visual_cf
from visrec.models.base import Recommender
from visrec.models.visual_cf import PROFILE_SIGNIFICANCE, VisualCF, _decide

#: validation scores where weight 1 gains 25% over 0 (the margin is 10%)
GAIN = {
    "profile_weight=0": 0.04,
    "profile_weight=0.5": 0.041,
    "profile_weight=1": 0.05,
    "profile_weight=2": 0.042,
}
#: sign counts of no significance for 0.5 and 2
EVEN = {"profile_weight=0.5": [5, 5], "profile_weight=2": [5, 5]}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An auto-validated visual-cf model, saved (fitted once for the file)."""
    folder = tmp_path_factory.mktemp("m") / "m"
    VisualCF(**{**AUTO, "epochs": 4}).fit(*_shop(visual=True)).save(folder)
    return folder


def _edited(saved: Path, tmp_path: Path, **extra: Any) -> Path:
    """A copy of the ``saved`` model whose model.json ``extra`` has ``extra`` (a None
    value: the key removed, as a model saved before it was kept)."""
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(saved, folder)
    meta_path = folder / "model.json"
    meta = json.loads(meta_path.read_text())
    for key, value in extra.items():
        if value is None:
            meta["extra"].pop(key, None)
        else:
            meta["extra"][key] = value
    meta_path.write_text(json.dumps(meta))
    return folder


def _load(folder: Path) -> VisualCF:
    model = Recommender.load(folder)
    assert isinstance(model, VisualCF)
    return model


def test_the_significance_level_is_one_percent() -> None:
    # 15 users helped, 5 hurt: p = 0.021 (significant at 5%, not at 1%); 17 against 3:
    # p = 0.0013
    assert 0.01 < visual_cf._sign_p(15, 5) < 0.05 and visual_cf._sign_p(17, 3) < 0.01
    assert PROFILE_SIGNIFICANCE == 0.01
    assert _decide(GAIN, {**EVEN, "profile_weight=1": [15, 5]}) == 0.0
    assert _decide(GAIN, {**EVEN, "profile_weight=1": [17, 3]}) == 1.0


@pytest.mark.parametrize(
    "sign",
    [
        {"profile_weight=1": [3, True]},  # a bool is no count
        {"profile_weight=1": [3, 1, 0]},  # three numbers
        {"profile_weight=7": [3, 1]},  # a weight with no validation score
        {"profile_weight=1": [3, 1.0]},
        [[3, 1]],
    ],
    ids=["bool", "three", "unknown-weight", "float", "list"],
)
def test_a_damaged_sign_count_is_refused(saved: Path, tmp_path: Path, sign: Any) -> None:
    folder = _edited(saved, tmp_path, profile_sign=sign)
    with pytest.raises(VisrecError, match="no usable profile_sign"):
        _load(folder)


def test_zero_counts_load_and_decide(saved: Path, tmp_path: Path) -> None:
    # no user helped or hurt (every tie) is a count like any other
    sign = {"profile_weight=0.5": [0, 0], "profile_weight=1": [30, 0], "profile_weight=2": [0, 4]}
    folder = _edited(saved, tmp_path, profile_validation=GAIN, profile_sign=sign)
    model = _load(folder)
    assert model.profile_sign_ == sign
    assert model.chosen_profile_weight() == 1.0


def test_a_model_saved_before_the_counts_keeps_its_choice(saved: Path, tmp_path: Path) -> None:
    # decided by the mean gain alone, as it was when saved: weight 1
    folder = _edited(saved, tmp_path, profile_validation=GAIN, profile_sign=None)
    model = _load(folder)
    assert model.profile_sign_ is None
    assert model.chosen_profile_weight() == 1.0
    assert (model.profile_note() or "").endswith("): 1")


@pytest.mark.parametrize("why", [None, "bogus", 3])
def test_an_unknown_or_missing_reason_loads_as_unknown(
    saved: Path, tmp_path: Path, why: Any
) -> None:
    folder = _edited(saved, tmp_path, profile_unvalidated=why)
    assert _load(folder).profile_unvalidated_ == "unknown"


@pytest.mark.parametrize("why", ["", "items", "users"])
def test_a_known_reason_loads_as_saved(saved: Path, tmp_path: Path, why: str) -> None:
    folder = _edited(saved, tmp_path, profile_unvalidated=why)
    assert _load(folder).profile_unvalidated_ == why


def _noted(saved: Path, scores: dict[str, float], sign: dict[str, list[int]]) -> str:
    """The ``saved`` model's profile note had its validation given ``scores`` and
    ``sign`` counts (set on the loaded model: a folder must agree with its weight)."""
    model = _load(saved)
    model.profile_validation_, model.profile_sign_ = scores, sign
    return model.profile_note() or ""


def test_under_the_margin_the_note_says_no_sign_count(saved: Path) -> None:
    # 1 gains 5% over 0: the margin alone keeps 0, the sign counts are not the reason
    small = {**GAIN, "profile_weight=1": 0.042}
    note = _noted(saved, small, {**EVEN, "profile_weight=1": [60, 20]})
    assert note.endswith(": 0 (none gains 10% over 0)")


def test_over_the_margin_the_note_names_the_counts_in_order(saved: Path) -> None:
    note = _noted(saved, GAIN, {**EVEN, "profile_weight=1": [1, 7]})
    assert note.endswith(
        ": 0 (none gains 10% over 0 significantly: 1 did better for 1 validation user, worse for 7)"
    )


def test_a_null_first_in_a_later_chunk_is_read_by_its_own_rows() -> None:
    # a column of chunks [a (null), b] [c, d] [e (null)] (read_vectors combines a file's
    # row groups; a table of record batches keeps them): each chunk's nulls are its own
    kind = pa.list_(pa.float32())
    batches = [
        pa.RecordBatch.from_pydict(
            {"item_id": ids, "vector": pa.array(vecs, kind), "has_image": flags}
        )
        for ids, vecs, flags in [
            (["a", "b"], [None, [1.0, 2.0]], [False, True]),
            (["c", "d"], [[3.0, 4.0], [5.0, 6.0]], [True, True]),
            (["e"], [None], [False]),
        ]
    ]
    table = pa.Table.from_batches(batches)
    assert table.column("vector").num_chunks == 3
    iv = table_to_vectors(table, source="v.parquet")
    assert iv.vectors.tolist() == [[0, 0], [1, 2], [3, 4], [5, 6], [0, 0]]


def test_two_options_given_twice_give_two_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")
    c, d = str(tmp_path / "c.txt"), str(tmp_path / "d.txt")
    argv = ["recommend", str(tmp_path / "none"), "-o", str(tmp_path / "r.csv")]
    status, err = _err([*argv, "--vectors", a, "--users", c, "--vectors", b, "--users", d], capsys)
    assert status != 0  # no such model folder
    lines = err.splitlines()
    why = "(the last value given wins)"
    assert lines[:2] == [
        f"note: --vectors given twice: {b} is read, {a} is not {why}",
        f"note: --users given twice: {d} is read, {c} is not {why}",
    ]


def test_a_resumed_fold_reads_back_its_recall_and_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every fold saved (3 x 4 values): a second run refits none and gets the same
    inter, iv = _shop(visual=True)
    params = {**AUTO, "epochs": 4}
    with _checkpoint.checkpointing(tmp_path, "k", every_s=3600, log=lambda _: None):
        whole = VisualCF(**params).fit(inter, iv)
    fits = _count_bpr_fits(monkeypatch)
    with _checkpoint.checkpointing(tmp_path, "k", every_s=3600, log=lambda _: None):
        again = VisualCF(**params).fit(inter, iv)
    assert not [f for f in fits if f.startswith("profile-fold")]
    assert again.profile_validation_ == whole.profile_validation_
    assert again.profile_sign_ == whole.profile_sign_


def test_no_note_above_an_empty_path_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the empty path ends the command line as a usage error does: no note above it
    a, b = str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")
    argv = ["recommend", str(tmp_path), "-o", str(tmp_path / "r.csv")]
    status, err = _err([*argv, "--vectors", a, "--vectors", b, "--items", ""], capsys)
    assert status == 2
    assert err.startswith("error: --items: path is empty")
    assert "given twice" not in err
