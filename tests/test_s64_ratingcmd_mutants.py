"""Mutation audit (session 64) of ``visrec rating-eval`` (``commands/rating_eval.py``) and
the analysis argument checks (``analysis/_args.py``).

78 mutants written (52 of the command, 26 of _args); on 2 shared, overloaded cores not all
ran against the old targeted tests (118 rating-eval test ids; the analysis files for _args).
Old tests: 28 run (c01-c22, a01-a06), 21 killed, 7 survived (c02 no --report check at
startup, c18 the respelt-ids note dropped from the results, c19 length_matters=True,
a03/a04 vector_matrix's TypeError branch and dtype, a06 huge values not refused,
a05 equivalent).
This file: run against 43 mutants (all 26 of _args; c02 c18 c19 c23-c26 c29 c32 c36-c38
c41-c44 c49), kills 37 of them, each non-equivalent survivor of the old tests too; not run at
all (time): c27 c28 c30 c31 c33-c35 c39 c40 c45-c48 c50-c52. Together: 62 run, 56 killed
after (21 before), 5 equivalent, 1 left.
Equivalent (5): a05 ndim==1 vs !=2 test order: every caller refuses other shapes first;
a13 drop ``v is None``: pd.isna(None) is True too; a21 blocks stepped by 4,096 but sliced
by 8,192: overlapping writes of the same hashes; c38 ``args.vectors`` for ``or ""``: the
report drops falsy inputs; c41 drop_when_read also with --json: the record was forgotten
just before, a second forget or kept_runs finds nothing.
c37 (write_text for write_text_atomic on --json), left by session 64, is killed by
test_a_json_write_cut_short_by_a_full_disk_leaves_the_earlier_results (session 65).
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_interop_fixes import write_rating_case
from visrec.analysis._args import (
    integer_arg,
    missing_labels,
    row_hashes,
    seed_arg,
    unusable_rows,
    vector_matrix,
)
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError


def _rating_case(tmp_path: Path) -> tuple[Path, Path]:
    """30 users x 12 items of random 1-5 ratings and 4-d vectors of the 12 items."""
    return write_rating_case(tmp_path, {})


# --- visrec rating-eval ---------------------------------------------------------------


def test_report_that_is_a_folder_fails_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the interactions file is missing too: the --report check must come first
    folder = tmp_path / "results"
    folder.mkdir()
    argv = ["rating-eval", "--interactions", str(tmp_path / "missing.csv")]
    assert main([*argv, "--report", str(folder)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: --report: output path '{folder}' is a directory; name a file\n"
    assert captured.out == "" and list(folder.iterdir()) == []


def test_a_json_write_cut_short_by_a_full_disk_leaves_the_earlier_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, vectors = write_rating_case(tmp_path, {})
    out = tmp_path / "re.json"
    argv = ["rating-eval", "--interactions", str(data), "--vectors", str(vectors), "--seeds",
            "1", "--n-epochs", "2", "--json", str(out), "--no-resume", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    before = out.read_bytes()
    assert json.loads(before)["models"]
    real = Path.write_text

    def full_disk(self: Path, text: str, *args: Any, **kwargs: Any) -> int:
        real(self, text[: len(text) // 2], *args, **kwargs)  # half of it, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full_disk)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"error: '{out}': No space left on device\n")
    assert out.read_bytes() == before  # the earlier results, whole, and no temporary file
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["r.csv", "re.json", "re.json.partial.jsonl", "v.parquet"]


# --- analysis._args -------------------------------------------------------------------


def test_vector_matrix_gives_the_dtype_asked_for() -> None:
    x = vector_matrix([[1, 2], [3, 4]], "here", np.float32)
    assert x.dtype == np.float32 and x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert vector_matrix([[1, 2]], "here", np.float64).dtype == np.float64


def test_vector_matrix_refuses_item_vectors_and_non_numbers_naming_the_caller() -> None:
    iv = ItemVectors(np.array(["a"], dtype=object), np.zeros((1, 2), np.float32), np.ones(1, bool))
    with pytest.raises(VisrecError, match=r"^here: pass the \(n, d\) array of vectors"):
        vector_matrix(iv, "here", np.float32)
    with pytest.raises(VisrecError, match=r"^here: vectors must be an \(n, d\) array of numbers"):
        vector_matrix([["a", "b"]], "here", np.float32)  # ValueError inside numpy
    with pytest.raises(VisrecError, match=r"^here: vectors must be an \(n, d\) array of numbers"):
        vector_matrix([[{}, 1.0]], "here", np.float32)  # TypeError inside numpy


def test_unusable_rows_names_the_first_bad_row_and_the_count() -> None:
    assert unusable_rows(np.array([1.0, 2.0])) == ""
    assert unusable_rows(np.array([1.0, np.nan, 3.0])) == "row 1"
    assert unusable_rows(np.array([np.inf, 1.0, np.nan, -np.inf])) == "row 0 (3 rows in all)"
    assert unusable_rows(np.array([1.0, np.nan, np.nan])) == "row 1 (2 rows in all)"
    x = np.zeros((5, 2))
    x[3, 1] = 1e30  # finite, but beyond the rule of the CLI and the models
    assert unusable_rows(x) == "row 3"
    x[4, 0] = np.nan
    assert unusable_rows(x) == "row 3 (2 rows in all)"


def test_missing_labels_are_none_and_every_kind_of_nan() -> None:
    labels = np.array(
        ["a", None, np.nan, np.float32("nan"), pd.NA, pd.NaT, "nan", 0, float("inf")],
        dtype=object,
    )
    assert missing_labels(labels) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("value", [True, False, 2.0, 2.5, "3", None])
def test_integer_arg_refuses_bools_floats_and_strings(value: object) -> None:
    with pytest.raises(VisrecError, match=r"^the k must be an integer, got "):
        integer_arg(value, "the k")


def test_integer_arg_gives_a_python_int() -> None:
    got = integer_arg(np.int64(7), "k")
    assert got == 7 and type(got) is int


@pytest.mark.parametrize("seed", [0, 1, 1234, 2**31, 2**32 - 1])
def test_seed_arg_takes_every_32_bit_seed_unchanged(seed: int) -> None:
    assert seed_arg(seed) == seed


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40])
def test_seed_arg_refuses_a_seed_outside_32_bits(seed: int) -> None:
    with pytest.raises(
        VisrecError, match=rf"^random_state must be between 0 and 4294967295, got {seed}$"
    ):
        seed_arg(seed)


def test_row_hashes_are_equal_for_equal_rows_wherever_they_sit() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20_000, 3)).astype(np.float32)  # more than two blocks of 8,192
    x[19_999] = x[5]
    x[8_192] = x[8_191]  # either side of a block boundary
    keys = row_hashes(x)
    assert keys.dtype == np.uint64 and keys.shape == (20_000,)
    assert keys[19_999] == keys[5] and keys[8_192] == keys[8_191]
    # the rest are distinct rows: distinct hashes, each row's hash its own in any block
    assert len(np.unique(keys)) == 20_000 - 2
    assert np.array_equal(row_hashes(x[::-1]), keys[::-1])
    assert np.array_equal(row_hashes(x[8_000:8_400]), keys[8_000:8_400])


def test_row_hashes_tell_apart_rows_that_differ_in_a_small_digit() -> None:
    x = np.array([[0.1, 0.2], [0.1, 0.2000001], [0.1, 0.2]], dtype=np.float64)
    keys = row_hashes(x)
    assert keys[0] == keys[2] and keys[0] != keys[1]


def _rating_eval_json(tmp_path: Path, data: Path, vectors: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "re.json"
    argv = ["rating-eval", "--interactions", str(data), "--vectors", str(vectors),
            "--n-epochs", "2", "--quiet", "--json", str(out), *extra]  # fmt: skip
    assert main(argv) == 0
    res: dict[str, Any] = json.loads(out.read_text())
    return res


def test_vectors_all_one_are_a_note_kept_with_the_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, vectors = _rating_case(tmp_path)
    ids = np.array([f"i{i}" for i in range(12)], dtype=object)
    write_vectors(vectors, ItemVectors(ids, np.ones((12, 4), np.float32), np.ones(12, bool)))
    res = _rating_eval_json(tmp_path, data, vectors)
    said = [n for n in res["notes"] if "vectors are all the same" in n]
    assert said == [
        f"{vectors}: the 12 rated items' vectors are all the same: the pictures cannot tell "
        "these items apart, so the KNN and the visual MF term cannot use the pictures"
    ]
    assert f"note: {said[0]}\n" in capsys.readouterr().err


def test_one_long_vector_is_no_note_the_knn_and_mf_do_not_scale_by_length(
    tmp_path: Path,
) -> None:
    # vbpr's outlier-length warning is not rating-eval's: its models use no typical length
    data, vectors = _rating_case(tmp_path)
    ids = np.array([f"i{i}" for i in range(12)], dtype=object)
    vecs = np.random.default_rng(1).normal(size=(12, 4)).astype(np.float32)
    vecs[0] *= 10_000
    write_vectors(vectors, ItemVectors(ids, vecs, np.ones(12, bool)))
    res = _rating_eval_json(tmp_path, data, vectors)
    assert not [n for n in res["notes"] if "times as long" in n]
    assert res["records_skipped"] == {}


def _scores(res: dict[str, Any]) -> dict[str, Any]:
    """The models' accuracy, MAE and RMSE (not the fit times)."""
    return {
        name: {m: cell[m] for m in ("accuracy", "mae", "rmse")}
        for name, cell in res["models"].items()
    }


def test_the_knn_has_the_tutorials_three_neighbours_unless_k_is_given(tmp_path: Path) -> None:
    data, vectors = _rating_case(tmp_path)
    runs = {}
    for name, extra in (("default", ()), ("k3", ("--k", "3")), ("k5", ("--k", "5"))):
        (tmp_path / name).mkdir()
        runs[name] = _scores(_rating_eval_json(tmp_path / name, data, vectors, *extra))
    assert set(runs["default"]) == set(runs["k3"]) and "KNN k=3 (image)" in runs["k3"]
    assert runs["default"] == runs["k3"]
    assert runs["k5"]["KNN k=5 (image)"] != runs["k3"]["KNN k=3 (image)"]  # k matters here


def test_ids_spelt_otherwise_in_the_vectors_are_a_note_kept_with_the_results(
    tmp_path: Path,
) -> None:
    # item 12 of the ratings is '012' in the vectors: no picture, and the JSON says why
    rng = np.random.default_rng(0)
    rows = [f"u{u},{i},{rng.integers(1, 6)}" for u in range(30) for i in range(1, 13)]
    data = tmp_path / "r.csv"
    data.write_text("user_id,item_id,rating\n" + "\n".join(rows) + "\n")
    ids = np.array([*(str(i) for i in range(1, 12)), "012"], dtype=object)
    vectors = tmp_path / "v.parquet"
    vecs = rng.normal(size=(12, 4)).astype(np.float32)
    write_vectors(vectors, ItemVectors(ids, vecs, np.ones(12, dtype=bool)))
    res = _rating_eval_json(tmp_path, data, vectors)
    said = [n for n in res["notes"] if "has no image vector" in n]
    assert len(said) == 1
    assert said[0].startswith(f"{vectors}: 1 of the 12 items of {data} has no image vector")
    assert said[0].endswith("and they count as items without a picture")


def test_reg_visual_zero_is_passed_on_not_taken_for_the_default(tmp_path: Path) -> None:
    # 0 is a value of its own (no penalty), not "not given": the visual MF changes with it
    data, vectors = _rating_case(tmp_path)
    runs = {}
    for name, extra in (("default", ()), ("zero", ("--reg-visual", "0")), ("again", ())):
        (tmp_path / name).mkdir()
        runs[name] = _scores(_rating_eval_json(tmp_path / name, data, vectors, *extra))
    assert runs["default"] == runs["again"]  # the runs are repeatable: a difference is real
    assert runs["zero"]["biased MF"] == runs["default"]["biased MF"]
    assert runs["zero"]["biased MF + visual"] != runs["default"]["biased MF + visual"]


def test_an_interrupted_report_keeps_the_json_and_the_record_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec.report.rating

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(visrec.report.rating, "write_rating_report", stop)
    data, vectors = _rating_case(tmp_path)
    out, report = tmp_path / "re.json", tmp_path / "re.html"
    argv = ["rating-eval", "--interactions", str(data), "--vectors", str(vectors),
            "--n-epochs", "2", "--quiet", "--json", str(out), "--report", str(report)]  # fmt: skip
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert (
        f"interrupted: the results were written to {out}, not yet the report {report}; run "
        "the same command again to write it (the finished runs are reused)\n"
    ) in err
    assert json.loads(out.read_text())["seeds"] == [1234] and not report.exists()
    # the finished seed is still recorded beside the JSON until the report is out
    (record,) = tmp_path.glob("*partial.jsonl")
    assert record.stat().st_size > 0


def test_records_of_runs_without_json_are_told_apart_by_inputs_and_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    from visrec.commands import rating_eval as cmd

    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.csv").write_text("user_id,item_id,rating\n")
    base = dict(interactions="r.csv", vectors="v.parquet", protocol="random", k=3,
                test_size=0.2, json=None)  # fmt: skip

    def path(**change: object) -> Path | None:
        return cmd._record_path(argparse.Namespace(**{**base, **change}))

    first = path()
    assert first is not None and first.parent == tmp_path / "cache" / "rating-eval"
    assert first.name.startswith("r.csv-") and first.suffix == ".jsonl"
    # the same files named another way: the same record
    assert path(interactions=str(tmp_path / "r.csv")) == first
    assert path(vectors=str(tmp_path / "v.parquet")) == first
    others = [path(test_size=0.3), path(k=5), path(protocol="cold-items"),
              path(vectors=None), path(vectors="w.parquet")]  # fmt: skip
    assert len({first, *others}) == 6
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    (tmp_path / "sub" / "r.csv").write_text("user_id,item_id,rating\n")
    assert path() != first  # another r.csv: another record
