"""Session 46's audit fixes: BLAS threads left as found with fits in other threads, a
hidden bar that takes what tqdm takes, the demo's resume advice only where a rerun
resumes, a JSON array holding records read as a batch, errors that pickle whole."""

from __future__ import annotations

import pickle
import random
import threading
from pathlib import Path

import numpy as np
import pytest

from test_session45_fixes import _blas_threads
from visrec._bars import QuietBar, progress_bar
from visrec._blas_threads import one_blas_thread
from visrec.cli import main
from visrec.errors import InputNotFoundError, VisrecError


def test_blocks_in_many_threads_leave_the_hosts_blas_threads_as_they_were() -> None:
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl can see")
    rng = random.Random(0)
    fails = [rng.random() < 0.2 for _ in range(6 * 40)]

    def work(k: int) -> None:
        for j in range(40):
            try:
                with one_blas_thread():
                    if fails[k * 40 + j]:
                        raise ValueError
            except ValueError:
                pass

    # counting the blocks of all threads left 1 behind in about a third of such races
    for _ in range(5):
        threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert _blas_threads() == before


def test_the_main_threads_nested_blocks_hold_one_blas_thread_until_the_outermost_ends() -> None:
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl can see")
    with one_blas_thread():
        with one_blas_thread():
            pass
        assert set(_blas_threads()) == {1}  # the inner block's end does not restore
    assert _blas_threads() == before


def test_a_hidden_bar_takes_what_tqdm_takes() -> None:
    bar = progress_bar(np.arange(3), show=False)  # an array has no truth value
    assert isinstance(bar, QuietBar)
    assert list(bar) == [0, 1, 2] and bar.total == 3 and len(bar) == 3 and bar.n == 3
    counter = progress_bar(show=False, total=2)
    counter.update(0.5)
    counter.update(0.5)
    counter.set_description("x")
    counter.refresh()
    assert counter.n == 1.0
    gen = progress_bar((x for x in range(2)), show=False)
    assert gen.total is None
    with pytest.raises(TypeError):
        len(gen)


def test_a_bad_input_to_the_demo_gives_no_resume_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "shop"
    (root / "images").mkdir(parents=True)
    (root / "images" / "1.jpg").write_bytes(b"x")
    (root / "styles.csv").write_text("id,masterCategory\n1,Apparel\n")
    from visrec.demo.pipeline import DEMO_MARKER

    out = tmp_path / "out"
    parts = out / "vectors.parquet.parts"
    parts.mkdir(parents=True)  # chunks an earlier run kept
    (parts / "chunk-a.parquet").write_bytes(b"")
    (out / DEMO_MARKER).write_text("")  # an earlier demo's folder
    argv = ["demo", "--data", str(root), "--out", str(out), "--recommenders", "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "has no interactions to compare recommenders on" in err
    # the same command would fail the same way: nothing to resume
    assert "resume" not in err and "chunk" not in err


def test_demo_help_lists_a_fashion_folders_interactions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = capsys.readouterr().out
    fashion = out[out.index("fashion products:") :].split("generic:")[0]
    assert "interactions.csv" in fashion and "no ratings" not in fashion


def test_a_json_array_holding_a_record_is_read_as_a_batch() -> None:
    from visrec.data.amazon import iter_json_records

    got = list(iter_json_records('{"a": 1}\n[{"b": 1}, 2]\n[1, 2]\n', "f"))
    assert got == [(1, {"a": 1}), (2, {"b": 1}), (2, 2), (3, [1, 2])]


def test_input_not_found_keeps_its_notes_through_pickle() -> None:
    err = InputNotFoundError("data/u.data")
    err.add_note("while reading the training table")
    back = pickle.loads(pickle.dumps(err))
    assert back.__notes__ == ["while reading the training table"]
    assert str(back) == "data/u.data: no such file or directory"


def test_knn_rating_refuses_a_table_of_ratings() -> None:
    from visrec.analysis.rating_knn import knn_rating

    with pytest.raises(VisrecError, match=r"ratings of shape \(40, 2\); expected one rating"):
        knn_rating(np.zeros((40, 3)), [[1, 2]] * 40)


def test_a_rerun_without_a_chunk_size_cuts_as_the_output_was_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tiny_embed import embed_tiny, image_folder

    folder = image_folder(tmp_path / "imgs", 12)
    out = tmp_path / "v.parquet"
    first = embed_tiny(folder, out, chunk_size=3)
    again = embed_tiny(folder, out, chunk_size=None)  # the CLI without --chunk-size
    assert again.n_reused == 12 and again.n_computed == 0
    assert np.array_equal(again.vectors.vectors, first.vectors.vectors)
    other = embed_tiny(folder, out, chunk_size=5)
    assert other.n_computed > 0
    (said,) = [n for n in other.notes if "chunk size" in n]
    assert said.startswith(
        f"{out}: made with a chunk size of 3, this run's is 5: reuse is by chunk, so only the "
        "chunks both cut alike are reused ("
    )
    assert said.endswith("); with chunk size 3 each unchanged image would be")
    from visrec.embed.output import chunk_size_of

    fresh = embed_tiny(folder, tmp_path / "new.parquet", chunk_size=None)
    assert fresh.n_computed == 12 and chunk_size_of(tmp_path / "new.parquet") == 512
    assert chunk_size_of(out) == 5  # the last run's cut
    with pytest.raises(SystemExit):
        main(["embed", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "(default: the one OUT was made with, else 512;" in said


def test_every_missing_input_is_an_input_not_found_error(tmp_path: Path) -> None:
    import visrec
    from visrec.report.evaluation import read_result

    calls = [
        (visrec.read_vectors, tmp_path / "v.parquet", "vectors file"),
        (visrec.Recommender.load, tmp_path / "model", "model folder"),
        (read_result, tmp_path / "r.json", "result file"),
        (visrec.load_interactions, tmp_path / "r.csv", ""),
    ]
    for load, path, what in calls:
        with pytest.raises(InputNotFoundError) as info:
            load(path)
        assert isinstance(info.value, FileNotFoundError) and info.value.filename == str(path)
        assert what in str(info.value)
        back = pickle.loads(pickle.dumps(info.value))
        assert str(back) == str(info.value)


def test_a_recorded_vectors_files_error_keeps_its_kind_and_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse

    from visrec.commands import _recs_inputs

    def missing(*args: object, **kw: object) -> None:
        raise InputNotFoundError("v.parquet", "vectors file 'v.parquet' does not exist")

    monkeypatch.setattr(_recs_inputs, "unseen_vectors", missing)
    monkeypatch.setattr(_recs_inputs, "note_respelt_candidates", lambda *a: [])
    args = argparse.Namespace(vectors=None, items=None, model_dir="m")
    with pytest.raises(InputNotFoundError) as info:
        _recs_inputs._new_candidate_vectors(
            args,
            None,  # type: ignore[arg-type]
            np.array(["new"], dtype=object),
            np.array([0]),
            "v.parquet",
        )
    assert info.value.filename == "v.parquet"
    assert str(info.value) == (
        "vectors file 'v.parquet' does not exist (v.parquet is the vectors file "
        f"{Path('m') / 'train.json'} recorded when the model was trained; pass --vectors "
        "V.parquet to use another)"
    )


def test_ids_joined_by_dropping_their_spaces_are_said(tmp_path: Path) -> None:
    from visrec.data.tables import load_interactions

    path = tmp_path / "r.csv"
    path.write_text('user_id,item_id\nu0,a\n" sp ",a\nsp,b\nsp ,c\ny, a\n', encoding="utf-8")
    res = load_interactions(path)
    assert sorted(res.frame["user_id"].unique()) == ["sp", "u0", "y"]
    said = [(w.line, w.reason) for w in res.warnings]
    assert said == [
        (3, "1 user id written with and without spaces around it (' sp ', 'sp', 'sp '): "
            "spaces around ids are dropped, so such spellings are one user"),
        (2, "1 item id written with and without spaces around it ('a', ' a'): spaces "
            "around ids are dropped, so such spellings are one item"),
    ]  # fmt: skip
    # spaces after every comma join nothing: no caveat
    even = tmp_path / "even.csv"
    even.write_text("user_id, item_id\nu1, a\nu2, b\nu1, b\n", encoding="utf-8")
    assert load_interactions(even).warnings == []


def test_a_second_terminate_signal_does_not_cut_the_fetch_report_short() -> None:
    import os
    import signal

    from visrec.images.fetch import _presses_ignored

    got: list[int] = []
    before = signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
    try:
        with _presses_ignored():
            os.kill(os.getpid(), signal.SIGTERM)  # timeout's second one, to the group
        assert got == []
        os.kill(os.getpid(), signal.SIGTERM)  # the handler is back after the report
        assert got == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, before)


def test_two_demos_writing_one_report_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec._atomic import exclusive_lock

    report = tmp_path / "report" / "index.html"
    with exclusive_lock(report, "visrec demo", advice="give another --report"):
        argv = ["demo", "--out", str(tmp_path / "b"), "--report", str(report), "-q"]
        assert main(argv) == 75  # busy: EX_TEMPFAIL, try again later
    err = capsys.readouterr().err
    assert f"{report} is being written by another visrec demo" in err
    assert err.rstrip().endswith("give another --report")


def test_a_demo_interrupted_after_embedding_says_its_vectors_are_kept(tmp_path: Path) -> None:
    import argparse

    from visrec.commands.demo import _kept_runs

    out = tmp_path / "out"
    out.mkdir()
    args = argparse.Namespace(out=str(out), recommenders=False, data=None, resume=True)
    assert _kept_runs(args) == ""
    (out / "vectors.parquet").write_bytes(b"")
    assert _kept_runs(args) == (
        f"the image vectors in {out / 'vectors.parquet'} are kept; run the same command "
        "again to resume"
    )


def test_the_fetch_interrupt_note_for_one_download_and_an_empty_cache() -> None:
    from visrec.commands.fetch import _interrupted_note
    from visrec.images.fetch import FetchReport

    report = FetchReport(urls=["u1", "u2"])
    assert _interrupted_note(report, 1) == (
        "interrupted: 1 download in progress stopped (nothing of it kept); the cache has 0 "
        "of the 2 images; run the same command again to fetch them and write the manifest"
    )
