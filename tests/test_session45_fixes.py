"""Session 45's audit fixes: a library call leaves the process as it found it (BLAS
threads with fits in several threads, tqdm's lock and monitor thread behind a hidden bar,
cuDNN's flags, a damaged model file's handle); missing inputs and non-numeric ratings
raise visrec's own errors."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_info

import visrec
from visrec._bars import QuietBar, progress_bar
from visrec._blas_threads import one_blas_thread
from visrec.cli import main
from visrec.embed.engines import _deterministic_cudnn
from visrec.errors import InputNotFoundError, VisrecError
from visrec.models.base import Recommender

SRC = str(Path(visrec.__file__).resolve().parents[1])


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_blas_threads_come_back_when_two_blocks_end_out_of_order() -> None:
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl can see")
    first, second = one_blas_thread(), one_blas_thread()
    first.__enter__()
    second.__enter__()  # a second fit starting while the first runs
    first.__exit__(None, None, None)  # the first ends before the second
    assert set(_blas_threads()) == {1}  # the second still runs on one thread
    second.__exit__(None, None, None)
    assert _blas_threads() == before  # each block restoring what it saw left 1 here


def test_quiet_bar_counts_like_tqdm() -> None:
    bar = progress_bar(range(3, 7), show=False, total=7, initial=3)
    assert isinstance(bar, QuietBar)
    assert list(bar) == [3, 4, 5, 6]
    assert (bar.n, bar.total) == (7, 7)
    with progress_bar(show=False, total=5) as counter:
        counter.update(2)
        counter.set_postfix(loss="0.1")
        counter.update(s := 4 - counter.n)
    assert (counter.n, s) == (4, 2)


def test_a_quiet_fit_starts_no_thread_and_fixes_no_start_method(tmp_path: Path) -> None:
    # a fresh interpreter: this one's start method may be fixed by other tests already
    code = textwrap.dedent(
        """
        import multiprocessing as mp, threading
        import numpy as np, pandas as pd, visrec
        rng = np.random.default_rng(0)
        fr = pd.DataFrame({"user_id": rng.integers(0, 40, 800).astype(str),
                           "item_id": rng.integers(0, 60, 800).astype(str)})
        it = visrec.Interactions.from_frame(fr)
        visrec.make_model("bpr", epochs=2, reg=0.01).fit(it)
        visrec.make_model("bpr", epochs=1).fit(it)  # reg="auto": the trials' bar too
        print(mp.get_start_method(allow_none=True), sorted(t.name for t in threading.enumerate()))
        """
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "None ['MainThread']"
    assert out.stderr == ""  # quiet: nothing shown


def test_cudnn_flags_are_put_back_after_a_gpu_batch() -> None:
    import torch

    cudnn = torch.backends.cudnn
    before = (cudnn.benchmark, cudnn.deterministic)
    try:
        cudnn.benchmark, cudnn.deterministic = True, False  # a host's own settings
        with _deterministic_cudnn(torch, "cuda:0"):
            assert (cudnn.benchmark, cudnn.deterministic) == (False, True)
        assert (cudnn.benchmark, cudnn.deterministic) == (True, False)
        with _deterministic_cudnn(torch, "cpu"):  # nothing to do off a GPU
            assert (cudnn.benchmark, cudnn.deterministic) == (True, False)
    finally:
        cudnn.benchmark, cudnn.deterministic = before


def _saved_model(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    fr = pd.DataFrame(
        {"user_id": rng.integers(0, 30, 300).astype(str), "item_id": rng.integers(0, 40, 300)}
    )
    folder = tmp_path / "m"
    visrec.make_model("popularity").fit(visrec.Interactions.from_frame(fr)).save(folder)
    return folder


def _open_handles(path: Path) -> int:
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, gone by now
            n += os.readlink(f"/proc/self/fd/{fd}") == str(path)
    return n


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc/self/fd")
def test_a_damaged_model_archive_is_not_held_open_by_its_error(tmp_path: Path) -> None:
    npz = _saved_model(tmp_path) / "arrays.npz"
    npz.write_bytes(b"PK\x03\x04garbage")
    errors = []
    for _ in range(3):
        with pytest.raises(VisrecError, match="unreadable or corrupt") as info:
            Recommender.load(npz.parent)
        errors.append(info.value)  # kept, as a notebook keeps the last one
    assert _open_handles(npz) == 0


def test_a_lone_npy_array_saved_as_the_model_archive_is_refused(tmp_path: Path) -> None:
    npz = _saved_model(tmp_path) / "arrays.npz"
    with open(npz, "wb") as fh:
        np.save(fh, np.arange(3))
    with pytest.raises(VisrecError, match=r"a single \.npy array, not the model's \.npz"):
        Recommender.load(npz.parent)


def test_missing_inputs_raise_visrec_errors_that_are_file_not_found(tmp_path: Path) -> None:
    gone = tmp_path / "gone.csv"
    calls = [
        lambda: visrec.load_interactions(gone),
        lambda: visrec.load_amazon_reviews(tmp_path / "gone.json.gz"),
        lambda: visrec.embed_folder(tmp_path / "no-folder", tmp_path / "v.parquet"),
    ]
    for call in calls:
        with pytest.raises(InputNotFoundError) as info:
            call()
        assert isinstance(info.value, VisrecError) and isinstance(info.value, FileNotFoundError)
        assert str(info.value).endswith(": no such file or directory")
        assert str(tmp_path) in str(info.value)


def test_the_cli_words_a_missing_input_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = tmp_path / "gone.csv"
    assert main(["data", "summary", str(gone)]) == 2
    assert capsys.readouterr().err == f"error: {gone}: no such file or directory\n"


def test_knn_rating_names_a_rating_that_is_not_a_number() -> None:
    x = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    vectors = x  # one row per rating
    ratings: list[object] = [5, 4, 3, 5, 4, "four", 3, 5, 4, 3]
    with pytest.raises(VisrecError, match=r"rating 5 is 'four', not a number"):
        visrec.knn_rating(vectors, ratings)
    with pytest.raises(VisrecError, match=r"rating 0 is 'a', not a number"):
        visrec.knn_rating(vectors, np.array(["a"] * 10))


@pytest.mark.parametrize(
    "argv",
    [
        ["knn-rating", "--interactions", "r.csv", "--vectors", "v.parquet"],
        ["similar", "v.parquet", "1"],
        ["report", "e.json", "-o", "e.html"],
        ["cluster", "v.parquet", "--labels", "t.csv", "--id-col", "a", "--label-col", "b"],
        ["data", "summary", "r.csv"],
        ["data", "merge-variants", "b.json.gz", "-o", "b.csv"],
    ],
)
def test_every_command_takes_quiet_and_verbose(argv: list[str]) -> None:
    from visrec.cli import build_parser

    parser = build_parser()
    assert parser.parse_args([*argv, "-q"]).quiet is True
    assert parser.parse_args([*argv, "--no-progress"]).quiet is True
    assert parser.parse_args([*argv, "-v"]).verbose is True
    with pytest.raises(SystemExit):
        parser.parse_args([*argv, "-v", "-q"])  # one or the other, as everywhere


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["train", "--model", "popularity", "--interactions", "x.csv", "-o", "m",
          "--id-col", "item"], "--item-col NAME is the item id column here"),
        (["evaluate", "--interactions", "x.csv", "--item-id-col", "item"],
         "--item-col NAME is the item id column here"),
        (["recommend", "m", "-o", "r.csv", "--n-items", "5"], "--n N is the list length here"),
        (["embed", "imgs", "-o", "v.parquet", "--model", "resnet18"],
         "--backbone NAME is the network that embeds here"),
        (["embed", "imgs", "-o", "v.parquet", "--no-resume"], "delete OUT and OUT.parts"),
    ],
)  # fmt: skip
def test_another_commands_name_gets_this_ones(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert hint in err and "--time-col" not in err


def _recommend_model(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    rows = {(f"u{u}", f"i{int(i)}") for u in range(20) for i in rng.integers(0, 15, size=4)}
    train = tmp_path / "train.csv"
    pd.DataFrame(sorted(rows), columns=["user_id", "item_id"]).to_csv(train, index=False)
    out = tmp_path / "pop"
    assert main(["train", "--model", "popularity", "--interactions", str(train), "-o", str(out),
                 "-q"]) == 0  # fmt: skip
    return out


def test_recommend_refuses_a_partial_file_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _recommend_model(tmp_path)
    out = tmp_path / "recs.csv"
    partial = tmp_path / "recs.csv.partial"
    partial.write_text("my notes, not visrec's\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["recommend", str(model), "--n", "3", "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{partial}: not the rows of a visrec recommend run" in err
    assert partial.read_text(encoding="utf-8") == "my notes, not visrec's\n"  # kept
    assert not out.exists()


def test_recommend_says_it_starts_over_a_run_killed_before_its_first_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _recommend_model(tmp_path)
    out, ref = tmp_path / "recs.csv", tmp_path / "ref.csv"
    assert main(["recommend", str(model), "--n", "3", "-o", str(ref), "-q"]) == 0
    partial = tmp_path / "recs.csv.partial"
    partial.write_text("user_id,item_id,rank,score\nu0,i1,1,0.5\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["recommend", str(model), "--n", "3", "-o", str(out), "-q"]) == 0
    assert "has no resume record (its run stopped before the first); starting over" in (
        capsys.readouterr().err
    )
    assert out.read_bytes() == ref.read_bytes() and not partial.exists()


def _fashion_folder(root: Path, files: dict[str, str]) -> Path:
    (root / "images").mkdir(parents=True)
    for name in ("1", "2"):
        (root / "images" / f"{name}.jpg").write_bytes(b"not decoded here")
    (root / "styles.csv").write_text("id,masterCategory\n1,Apparel\n2,Footwear\n")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_a_fashion_folder_reads_a_shops_own_interactions(tmp_path: Path) -> None:
    from visrec.demo.datasets import load_demo_dataset

    root = _fashion_folder(tmp_path / "shop", {"interactions.csv": "user_id,item_id\nu,1\nv,2\n"})
    ds = load_demo_dataset(root)
    assert ds.layout == "fashion" and ds.interactions is not None
    assert ds.interactions["item_id"].tolist() == ["1", "2"]


def test_a_folder_two_layouts_fit_names_the_file_it_does_not_read(tmp_path: Path) -> None:
    from visrec.demo.datasets import load_demo_dataset

    root = _fashion_folder(tmp_path / "shop", {"items.csv": "item_id,category\n1,a\n"})
    ds = load_demo_dataset(root)
    assert ds.layout == "fashion"
    assert "items.csv is not read: the folder is read in the fashion layout" in " ".join(ds.notes)


def test_demo_recommenders_without_interactions_is_refused_before_embedding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _fashion_folder(tmp_path / "shop", {})
    out = tmp_path / "out"
    argv = ["demo", "--data", str(root), "--out", str(out), "--recommenders", "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"--recommenders: {root} has no interactions to compare recommenders on" in err
    assert not (out / "vectors.parquet").exists()  # said before any image was embedded


def test_an_interrupted_demo_says_its_embedding_chunks_are_kept(tmp_path: Path) -> None:
    import argparse

    from visrec.commands.demo import _kept_runs

    out = tmp_path / "out"
    args = argparse.Namespace(out=str(out), recommenders=None, data=str(tmp_path), resume=True)
    assert _kept_runs(args) == ""
    parts = out / "vectors.parquet.parts"
    parts.mkdir(parents=True)
    for name in ("chunk-a.parquet", "chunk-b.parquet"):
        (parts / name).write_bytes(b"")
    assert _kept_runs(args) == (
        f"2 finished embedding chunks are kept in {parts}; run the same command again to resume"
    )


def test_similar_report_names_the_items_shown_without_a_photo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    ids = ["a", "b", "c", "d"]
    x = np.eye(4, dtype=np.float32) + 0.1
    vpath = tmp_path / "v.parquet"
    visrec.write_vectors(vpath, visrec.ItemVectors(ids, x, np.ones(4, bool)))
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    Image.new("RGB", (8, 8), "red").save(imgs / "a.png")  # only the query's photo
    argv = ["similar", str(vpath), "a", "--n", "3", "--report", str(tmp_path / "s.html"),
            "--images", str(imgs)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"3 of the 4 items shown have no image in {imgs} and show as grey tiles" in err
    assert "'b'" in err and "'c'" in err and "'d'" in err


def test_an_array_line_of_a_json_lines_file_is_one_bad_record(tmp_path: Path) -> None:
    from visrec.data.amazon import load_amazon_reviews

    review = '{"overall": 5.0, "reviewerID": "u1", "asin": "a1", "unixReviewTime": 1500000000}'
    path = tmp_path / "r.json"
    other = review.replace("u1", "u3")
    path.write_text(f'{review}\n[1, 2]\n"text"\n[3, {other}]\n', encoding="utf-8")
    res = load_amazon_reviews(path)
    # an array holding a record is a batch: the record is read, the 3 is its own bad one
    assert res.frame["user_id"].tolist() == ["u1", "u3"]
    assert [(b.line, b.reason) for b in res.bad] == [
        (2, "expected a JSON object, got an array"),
        (3, "expected a JSON object, got a string"),
        (4, "expected a JSON object, got a number"),
    ]
    whole = tmp_path / "all.json"  # a file that is one array: its elements are the records
    whole.write_text(f"[{review}, {review.replace('u1', 'u2')}]\n", encoding="utf-8")
    res = load_amazon_reviews(whole)
    assert len(res.frame) == 2 and res.bad == []


def test_evaluate_advises_the_command_line_form_for_a_model_listed_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "i.csv"
    csv.write_text("user_id,item_id\n1,2\n2,2\n1,3\n")
    argv = ["evaluate", "--interactions", str(csv), "--models", "popularity,popularity", "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "label the other one: popularity,popularity@b, with --param popularity@b.KEY" in err
    assert "{...its params}" not in err  # the Python form, for run_experiment's lists


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"protocol": "zzz"}, "('protocol' is 'zzz', not one of warm, time, cold-items)"),
        ({"protocol": ["warm"]}, "('protocol' is ['warm'], not one of warm, time, cold-items)"),
        ({"seeds": -1}, "('seeds' is -1, not a list of seeds)"),
    ],
)
def test_report_refuses_an_unknown_protocol_or_seeds_that_are_no_list(
    change: dict[str, object], why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    run = {"seed": 0, "model": "popularity", "auc": 0.5, "recall": 0.1, "ndcg": 0.1}
    result = {"protocol": "warm", "k": 10, "seeds": [0], "runs": [run], **change}
    src = tmp_path / "res.json"
    src.write_text(json.dumps(result))
    assert main(["report", str(src), "-o", str(tmp_path / "r.html")]) == 2
    assert capsys.readouterr().err == (
        f"error: {src}: not a result of `visrec evaluate --json` {why}\n"
    )


def test_cudnn_flags_come_back_when_two_threads_passes_end_out_of_order() -> None:
    import torch

    cudnn = torch.backends.cudnn
    before = (cudnn.benchmark, cudnn.deterministic)
    try:
        cudnn.benchmark, cudnn.deterministic = True, False
        first, second = _deterministic_cudnn(torch, "cuda:0"), _deterministic_cudnn(torch, "cuda:1")
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert (cudnn.benchmark, cudnn.deterministic) == (False, True)  # the second runs on
        second.__exit__(None, None, None)
        assert (cudnn.benchmark, cudnn.deterministic) == (True, False)
    finally:
        cudnn.benchmark, cudnn.deterministic = before


def test_input_not_found_survives_a_trip_through_pickle() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(InputNotFoundError("/data/gone.csv")))
    assert isinstance(err, InputNotFoundError) and err.filename == "/data/gone.csv"
    assert str(err) == "/data/gone.csv: no such file or directory"
