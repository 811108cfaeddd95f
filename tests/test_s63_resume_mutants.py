"""Mutation audit (session 63) of ``visrec.commands._resume`` (record path, --no-resume,
the kept-runs line, Ctrl-C and failure lines, the lock, dropping a read record) and
``visrec.commands.knn_rating`` (option checks, rows left out, notes, --json and --report).

Mutants: 68 in all (38 in _resume, 30 in knn_rating). Killed before: 56; the existing tests
that reach each function ran on each mutant. Killed after: 68. Equivalent: 0.
The 12 new kills: the lock advice without --json; the kept record named after a Ctrl-C that
left earlier results as they were; a cache folder that cannot be made (a note, no record);
the cache record's name tracking every setting and its folder's parents; a pipe at the
cache record; drop_when_read without a record; a row without rating or item counted once,
never kept with a zero vector; the note on rows without a rating; include_missing in
--json; the --report line on rows without an image; --seed reaching the KNN; the "only 1
rating row has a vector" error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_rating_knn import _cli_fixture
from visrec._atomic import exclusive_lock
from visrec.analysis.rating_knn import knn_rating
from visrec.cli import main
from visrec.commands import _resume
from visrec.commands.knn_rating import ratings_with_vectors
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError
from visrec.evaluation import run_record


def _record(path: Path, seeds: tuple[int, ...] = (0,)) -> Path:
    """A resume record holding one finished run per seed."""
    for seed in seeds:
        rec = {"fp": {}, "seed": seed, "model": "m", "params": {}, "split": {}, "row": {}}
        run_record.append_record(path, rec)
    return path


def _interrupt(record: Path | None) -> None:
    raise KeyboardInterrupt


def test_a_held_record_without_json_advises_giving_json(tmp_path: Path) -> None:
    record = _record(tmp_path / "r.jsonl")
    with exclusive_lock(record, "evaluate"), pytest.raises(VisrecError) as err:
        _resume.run_resumable("evaluate", None, record, True, lambda r: None)
    assert "give --json OUT (its own record)" in str(err.value)


def test_a_held_output_advises_another_output(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    record = _record(tmp_path / "out.json.partial.jsonl")
    with exclusive_lock(out, "evaluate"), pytest.raises(VisrecError) as err:
        _resume.run_resumable("evaluate", str(out), record, True, lambda r: None)
    assert "give another output" in str(err.value)
    assert "give --json OUT" not in str(err.value)


def test_ctrl_c_with_earlier_results_names_the_kept_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    out.write_text("{}\n")
    record = _record(tmp_path / "out.json.partial.jsonl")
    rc = _resume.run_resumable("evaluate", str(out), record, True, _interrupt)
    assert rc == 130
    err = capsys.readouterr().err
    assert err == (
        f"interrupted: {out} is as it was; finished runs are kept in {record}; "
        "run the same command again to resume\n"
    )


def _vectors(tmp_path: Path, n: int = 6) -> str:
    """``n`` items i0..i{n-1}, each with a random vector and a picture."""
    rng = np.random.default_rng(0)
    has = np.ones(n, dtype=bool)
    iv = ItemVectors(
        ids=np.array([f"i{k}" for k in range(n)]),
        vectors=rng.normal(size=(n, 4)).astype(np.float32),
        has_image=has,
    )
    path = tmp_path / "v.parquet"
    write_vectors(path, iv)
    return str(path)


def test_a_row_without_rating_or_item_is_counted_once(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["u0", "u1", "u2", "u3", "u4"],
            "item_id": ["i0", None, None, "i1", "i2"],
            "rating": [1.0, np.nan, 3.0, 4.0, 5.0],
        }
    )
    v = _vectors(tmp_path)
    kept, vecs, has, notes = ratings_with_vectors(frame, v, "item_id", False)
    assert notes == ["left out 1 row with no rating", "left out 1 row with no item_id"]
    assert kept["user_id"].tolist() == ["u0", "u3", "u4"]
    assert vecs.shape == (3, 4) and has.all()
    # kept with a zero vector are rows without an image, never rows without an item
    kept, vecs, has, notes = ratings_with_vectors(frame, v, "item_id", True)
    assert kept["user_id"].tolist() == ["u0", "u3", "u4"]
    assert vecs.shape == (3, 4) and has.all()
    assert notes[-1].startswith("0 of 3 rows have no image")


def _knn_files(tmp_path: Path) -> tuple[str, str]:
    """test_rating_knn's files: 30 items in 3 blobs (rating = blob + 3), 3 ratings each;
    'i0' has no image and 'ghost' no vector."""
    r, v = _cli_fixture(tmp_path)
    return str(r), str(v)


@pytest.mark.parametrize("include_missing", [False, True])
def test_knn_rating_json_says_whether_rows_without_an_image_were_kept(
    tmp_path: Path, include_missing: bool
) -> None:
    r, v = _knn_files(tmp_path)
    out = tmp_path / "knn.json"
    argv = ["knn-rating", "--interactions", r, "--vectors", v, "--json", str(out)]
    assert main(argv + (["--include-missing"] if include_missing else [])) == 0
    data = json.loads(out.read_text())
    assert data["include_missing"] is include_missing
    assert data["key_col"] == "item_id"
    # 91 rows: 3 of them rate i0 (no image) and 1 the ghost (no vector); both kinds kept
    # with a zero vector only under --include-missing
    assert data["n_train"] + data["n_test"] == (91 if include_missing else 87)


def _random_knn_files(tmp_path: Path) -> tuple[str, str, np.ndarray, np.ndarray]:
    """60 items with random vectors, one random rating each: what KNN gets right
    depends on the split, so the seed shows in the figures."""
    rng = np.random.default_rng(5)
    ids = [f"i{j}" for j in range(60)]
    vecs = rng.normal(size=(60, 4)).astype(np.float32)
    write_vectors(
        tmp_path / "v.parquet",
        ItemVectors(ids=np.array(ids), vectors=vecs, has_image=np.ones(60, dtype=bool)),
    )
    ratings = rng.integers(1, 6, size=60).astype(float)
    frame = pd.DataFrame({"user_id": [f"u{j}" for j in range(60)], "item_id": ids})
    frame.assign(rating=ratings).to_csv(tmp_path / "r.csv", index=False)
    return str(tmp_path / "r.csv"), str(tmp_path / "v.parquet"), vecs, ratings


def test_knn_rating_cli_passes_seed_k_and_test_size_to_the_knn(tmp_path: Path) -> None:
    r, v, vecs, ratings = _random_knn_files(tmp_path)
    got = {}
    for seed in (7, 1234):
        out = tmp_path / f"knn{seed}.json"
        argv = ["knn-rating", "--interactions", r, "--vectors", v, "--json", str(out)]
        argv += ["--seed", str(seed), "--k", "2", "--test-size", "0.3"]
        assert main(argv) == 0
        data = json.loads(out.read_text())
        want = knn_rating(vecs, ratings, k=2, test_size=0.3, random_state=seed).to_dict()
        for key in ("accuracy", "mae", "k", "n_test", "confusion"):
            assert data[key] == want[key], (seed, key)
        got[seed] = data["confusion"]
    assert got[7] != got[1234]  # else the seed could be dropped unseen


@pytest.mark.parametrize("include_missing", [False, True])
def test_knn_rating_report_says_what_became_of_rows_without_an_image(
    tmp_path: Path, include_missing: bool
) -> None:
    r, v = _knn_files(tmp_path)
    page = tmp_path / "knn.html"
    argv = ["knn-rating", "--interactions", r, "--vectors", v, "--report", str(page)]
    assert main(argv + (["--include-missing"] if include_missing else [])) == 0
    html = page.read_text()
    assert ("kept, zero vector" in html) is include_missing
    assert (">left out<" in html) is not include_missing


def test_knn_rating_with_one_usable_row_says_the_ids_may_not_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path, n=3)
    r = tmp_path / "r.csv"
    r.write_text("user_id,item_id,rating\nu0,i1,4\nu1,x1,3\nu2,x2,5\n")
    rc = main(["knn-rating", "--interactions", str(r), "--vectors", v])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"only 1 rating row has a vector in {v}" in err
    assert "(do the item_id values match the vector ids?)" in err


def test_no_cache_folder_means_no_record_and_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder\n")
    folder = blocker / "cache" / "evaluate"
    assert _resume.record_path(None, "data/r.csv", ["r.csv", 3], folder) is None
    err = capsys.readouterr().err
    assert err.startswith(f"note: cannot make {folder} (")
    assert "finished runs are not recorded, an interrupted run would start over" in err


def test_the_cache_record_is_named_after_the_data_and_its_settings(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "evaluate"
    a = _resume.record_path(None, "data/r.csv", ["r.csv", 3], folder)
    assert a is not None and a.parent == folder and folder.is_dir()
    assert a.name.startswith("r.csv-") and a.suffix == ".jsonl"
    assert _resume.record_path(None, "data/r.csv", ["r.csv", 3], folder) == a
    assert _resume.record_path(None, "data/r.csv", ["r.csv", 4], folder) != a
    beside = _resume.record_path(str(tmp_path / "out.json"), "data/r.csv", [], folder)
    assert beside == tmp_path / "out.json.partial.jsonl"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_pipe_as_the_cache_record_is_refused_before_any_work(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "evaluate"
    path = _resume.record_path(None, "r.csv", ["r.csv"], folder)
    assert path is not None
    os.mkfifo(path)
    with pytest.raises(VisrecError, match=r"is not a regular file \(a pipe\)"):
        _resume.record_path(None, "r.csv", ["r.csv"], folder)
    assert _resume.kept_runs(path) == ""  # skipped, not read (which would wait for ever)


def test_no_record_has_nothing_to_drop_once_the_table_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.commands import _common

    monkeypatch.setattr(_common, "stdout_closed", lambda: False)
    # no cache folder could be made: the run had no record, and says nothing more now
    _resume.drop_when_read(None, {(0, "m")})
    record = _record(tmp_path / "r.jsonl", seeds=(0, 1))
    _resume.drop_when_read(record, {(0, "m")})
    assert [r["seed"] for r in run_record.read_record(record)] == [1]
    assert capsys.readouterr().err == ""
