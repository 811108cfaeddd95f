"""What the reviews of this session's change and an audit of visrec inside a service
found (session 43): a user's own train.json deleted by save, a dict taken for labels,
messages after --no-resume and with --json pending, complex and time values taken
as numbers, a weights file copied over with its times kept, and a model folder that
save was rewriting failing to load in a serving thread."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from PIL import Image

from test_models import FAST, checkerboard
from visrec.analysis.cluster import cluster_vs_labels
from visrec.cli import main
from visrec.embed.store import ItemVectors
from visrec.errors import MixedSavesError, SystemRefusal, VisrecError
from visrec.models.base import Recommender
from visrec.models.registry import make_model


def test_save_keeps_a_users_own_train_json(tmp_path: Path) -> None:
    inter, _ = checkerboard()
    model = make_model("popularity").fit(inter)
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "train.json").write_text('{"my": "own training config"}')
    with pytest.raises(VisrecError, match=r"it holds train\.json but no visrec model\.json"):
        model.save(exp)
    assert (exp / "train.json").read_text() == '{"my": "own training config"}'
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / ".DS_Store").write_bytes(b"\0")
    Recommender.load(model.save(hidden))  # only a hidden file: saved beside it
    assert (hidden / ".DS_Store").read_bytes() == b"\0"
    left = tmp_path / "left"
    model.save(left)
    (left / "train.json").write_text("{}")
    (left / "model.json").unlink()  # a save stopped between its files, beside a record
    Recommender.load(model.save(left))


@pytest.mark.parametrize(
    ("labels", "said"),
    [
        ({f"i{k}": "a" for k in range(20)}, r"got dict"),
        ({"a", "b"}, r"got set"),
        (pd.DataFrame({"label": ["a"] * 20}), r"got DataFrame"),
        (None, r"labels must be 1-D \(one per item\), got shape \(\)"),
        (5, r"labels must be 1-D \(one per item\), got shape \(\)"),
    ],
)
def test_cluster_refuses_labels_that_are_no_list_in_the_vectors_order(
    labels: object, said: str
) -> None:
    _, iv = checkerboard()
    with pytest.raises(VisrecError, match=said):
        cluster_vs_labels(iv.vectors, labels, k=2)  # type: ignore[arg-type]


def test_the_report_note_after_no_resume_names_the_command_that_reuses_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec._atomic import write_text_atomic
    from visrec.commands._resume import run_resumable

    out, report = tmp_path / "ev.json", tmp_path / "ev.html"
    report.write_text("<html>an earlier run's</html>")  # left as it was: still pending

    def stopped_before_the_report(record: Path | None) -> None:
        write_text_atomic(out, "{}\n")
        raise KeyboardInterrupt

    for resume, again in ((True, "the same command"), (False, "the command without --no-resume")):
        code = run_resumable(
            "evaluate", str(out), None, resume, stopped_before_the_report, report=str(report)
        )
        assert code == 130
        assert capsys.readouterr().err == (
            f"interrupted: the results were written to {out}, not yet the report {report}; "
            f"run {again} again to write it (the finished runs are reused)\n"
        )


def test_evaluate_tells_its_report_is_not_written_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import visrec.report.evaluation as report_module

    def pressed(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(report_module, "write_evaluation_report", pressed)
    inter, _ = checkerboard()
    data = tmp_path / "r.csv"
    inter.to_frame().to_csv(data, index=False)
    out, report = tmp_path / "ev.json", tmp_path / "ev.html"
    args = ["evaluate", "--interactions", str(data), "--models", "popularity", "--seeds", "1"]
    assert main([*args, "--json", str(out), "--report", str(report), "-q"]) == 130
    err = capsys.readouterr().err
    assert f"the results were written to {out}, not yet the report {report}" in err


@pytest.mark.parametrize(
    ("vectors", "said"),
    [
        (pd.DataFrame([[1 + 2j, 1.0], [1.0, 1.0]]), r"got complex128 values"),
        (np.array([[1, 2], [3, 4]], dtype="datetime64[s]"), r"got datetime64\[s\] values"),
        (np.array([[1, 2], [3, 4]], dtype="timedelta64[s]"), r"got timedelta64\[s\] values"),
        (np.array([1.0, 2.0], dtype=object), r"vectors of shape \(2,\)"),
    ],
)
def test_item_vectors_refuse_complex_times_and_a_flat_list(vectors: object, said: str) -> None:
    with pytest.raises(VisrecError, match=said):
        ItemVectors(["a", "b"], vectors, [True, True])  # type: ignore[arg-type]


def test_item_vectors_read_pandas_missing_values_as_nan() -> None:
    frame = pd.DataFrame({"x": pd.array([1.0, None], dtype="Float64"), "y": [2.0, 4.0]})
    got = ItemVectors(["a", "b"], frame, [True, True]).vectors
    assert got[0].tolist() == [1.0, 2.0] and np.isnan(got[1, 0]) and got[1, 1] == 4.0


def test_a_weights_file_copied_over_with_its_times_kept_is_new_weights(tmp_path: Path) -> None:
    from visrec.embed.backbones import _file_id

    a, b, w = tmp_path / "a.pth", tmp_path / "b.pth", tmp_path / "w.pth"
    a.write_bytes(b"a" * 64)
    b.write_bytes(b"b" * 64)
    os.utime(b, ns=(os.stat(a).st_atime_ns, os.stat(a).st_mtime_ns))
    shutil.copy2(a, w)  # cp -p: same size and mtime as b
    first = _file_id(str(w))
    time.sleep(0.01)  # the change time moves on
    shutil.copy2(b, w)  # in place: same inode
    assert _file_id(str(w)) != first
    first = _file_id(str(w))
    tmp = tmp_path / "new.pth"
    shutil.copy2(a, tmp)
    os.utime(tmp, ns=(os.stat(w).st_atime_ns, os.stat(w).st_mtime_ns))
    os.replace(tmp, w)  # replaced by a rename: another inode, same size and mtime
    assert _file_id(str(w)) != first


def _one_image(tmp_path: Path) -> Path:
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(imgs / "a.png")
    return imgs


@pytest.mark.parametrize("json_written", [False, True])
def test_embed_stopped_in_its_summary_says_whether_the_json_is_written(
    json_written: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import visrec.commands.embed as embed_command
    import visrec.embed.extract as extract

    out, js = tmp_path / "v.parquet", tmp_path / "s.json"

    def written(items: object, output: str, **kwargs: object) -> None:
        Path(output).write_bytes(b"whole")

    def pressed(*args: object) -> None:
        if json_written:
            js.write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(extract, "embed_images", written)
    monkeypatch.setattr(embed_command, "_report", pressed)
    imgs = _one_image(tmp_path)
    assert main(["embed", str(imgs), "-o", str(out), "--json", str(js), "-q"]) == 130
    pending = (
        ""
        if json_written
        else f", not yet --json {js}; run the same command again to write it (every vector "
        "is reused)"
    )
    assert capsys.readouterr().err == f"interrupted: {out} was written{pending}\n"


def test_embed_stopped_before_any_new_chunk_leaves_the_earlier_output_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import visrec.embed.extract as extract
    from visrec.embed.store import write_vectors

    out = tmp_path / "v.parquet"
    write_vectors(out, ItemVectors(["a"], np.ones((1, 2)), [True]))  # an earlier run's

    def pressed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(extract, "embed_images", pressed)
    imgs = _one_image(tmp_path)
    assert main(["embed", str(imgs), "-o", str(out), "-q"]) == 130
    assert capsys.readouterr().err == (
        f"interrupted: {out} is as it was; no new chunk had finished\n"
    )


def test_load_amazon_reviews_takes_any_path_like_and_refuses_the_rest(tmp_path: Path) -> None:
    from visrec.data.amazon import load_amazon_reviews

    path = tmp_path / "Shop_5.json"
    path.write_text('{"reviewerID": "u", "asin": "a", "overall": 5, "unixReviewTime": 1}\n')

    class Where:
        def __fspath__(self) -> str:
            return str(path)

    assert len(load_amazon_reviews(Where()).frame) == 1  # type: ignore[arg-type]
    for bad, name in ((os.fsencode(path), "bytes"), (None, "NoneType"), (5, "int")):
        with pytest.raises(VisrecError, match=rf"a file path or a list of them, got {name}$"):
            load_amazon_reviews(bad)  # type: ignore[arg-type]


def test_refused_reader_threads_are_the_system_for_tables_and_vector_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec._parquet as parquet
    from visrec.data.tables import read_parquet_frame
    from visrec.embed import store

    def refused(*args: object, **kwargs: object) -> None:
        raise pa.ArrowInvalid("Failed to launch worker thread: Resource temporarily unavailable")

    table = tmp_path / "r.parquet"
    pd.DataFrame({"user_id": ["u"], "item_id": ["a"]}).to_parquet(table)
    vectors = tmp_path / "v.parquet"
    store.write_vectors(vectors, ItemVectors(["a"], np.ones((1, 2)), [True]))
    monkeypatch.setattr(parquet, "read_columns", refused)
    monkeypatch.setattr(store, "read_columns", refused)
    for call in (lambda: read_parquet_frame(table), lambda: store.read_vector_ids(vectors)):
        with pytest.raises(SystemRefusal, match=r"cannot start the threads that read it"):
            call()


def test_onnx_failed_allocation_while_loading_keeps_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnx", reason="onnx is not installed")
    from test_embed import TinyBackbone
    from visrec.embed.onnx_engine import OnnxEngine

    OnnxEngine(TinyBackbone(), "cpu", model_dir=tmp_path / "onnx")

    def no_memory(*args: object, **kwargs: object) -> None:
        raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : Failed to allocate memory")

    monkeypatch.setattr(ort, "InferenceSession", no_memory)
    with pytest.raises(MemoryError):
        OnnxEngine(TinyBackbone(), "cpu", model_dir=tmp_path / "onnx")
    assert [p.suffix for p in sorted((tmp_path / "onnx").iterdir())] == [".onnx", ".sha256"]


def test_ray_out_of_memory_at_start_is_a_memory_error_and_an_empty_reason_named() -> None:
    from test_embed import TinyBackbone
    from visrec.embed.ray_engine import RayPipeline

    class FakeRay:
        def __init__(self, exc: BaseException) -> None:
            self.exc = exc

        def is_initialized(self) -> bool:
            return False

        def init(self, **kwargs: object) -> None:
            raise self.exc

    pipeline = RayPipeline(TinyBackbone())
    with pytest.raises(MemoryError):
        pipeline._start(FakeRay(MemoryError()))
    with pytest.raises(
        VisrecError, match=r"cannot start/connect Ray \(a local instance\): OSError$"
    ):
        pipeline._start(FakeRay(OSError()))


def _load_while_the_second_file_lands(folder: Path, staged: Path) -> Recommender:
    """``Recommender.load(folder)`` while a save of ``staged`` lands in it: its arrays
    already there (the first rename), its model.json 0.1 s later. Load waits longer
    than its 0.5 s for it here: a loaded machine may start the thread late."""
    from visrec.models import _save_load

    shutil.copy2(staged / "arrays.npz", folder / "arrays.npz")

    def second_rename() -> None:
        time.sleep(0.1)
        os.replace(staged / "model.json", folder / "model.json")

    lands = threading.Thread(target=second_rename)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_save_load, "_MIXED_WAIT_S", 60.0)
        lands.start()
        try:
            return Recommender.load(folder)
        finally:
            lands.join()


def test_load_waits_for_a_save_between_its_two_files(tmp_path: Path) -> None:
    """A service reloading a folder that save rewrites: the moment between the arrays'
    rename and model.json's gave 'two different saves; train the model again'."""
    inter, iv = checkerboard()
    old = make_model("bpr", **FAST["bpr"]).fit(inter, iv)
    new = make_model("bpr", **{**FAST["bpr"], "random_state": 9}).fit(inter, iv)
    folder, staged = tmp_path / "m", tmp_path / "staged"
    old.save(folder)
    new.save(staged)
    loaded = _load_while_the_second_file_lands(folder, staged)
    np.testing.assert_array_equal(loaded.score([0, 3]), new.score([0, 3]))
    # a folder left mixed for good (an interrupted save) is refused, after a moment
    shutil.copy2(folder / "arrays.npz", tmp_path / "new_arrays.npz")
    old.save(folder)
    shutil.copy2(tmp_path / "new_arrays.npz", folder / "arrays.npz")
    started = time.monotonic()
    with pytest.raises(MixedSavesError, match="come from two different saves"):
        Recommender.load(folder)
    assert time.monotonic() - started < 5
    json.loads((folder / "model.json").read_text())  # untouched


def test_load_waits_for_a_save_of_another_kind_between_its_two_files(tmp_path: Path) -> None:
    """The arrays of a bpr save over a popularity model lack popularity's: a mix of two
    saves (checked first), not a damaged folder, so load waits for model.json too."""
    inter, iv = checkerboard()
    new = make_model("bpr", **FAST["bpr"]).fit(inter, iv)
    folder, staged = tmp_path / "m", tmp_path / "staged"
    make_model("popularity").fit(inter).save(folder)
    new.save(staged)
    loaded = _load_while_the_second_file_lands(folder, staged)
    assert loaded.name == "bpr"
    np.testing.assert_array_equal(loaded.score([0, 3]), new.score([0, 3]))


def test_ray_start_turns_faulthandler_off_again() -> None:
    import faulthandler

    from visrec.embed.ray_engine import _ProcessState

    was = faulthandler.is_enabled()
    faulthandler.disable()
    try:
        kept = _ProcessState()
        faulthandler.enable()  # what ray.init does
        kept.put_back()
        assert not faulthandler.is_enabled()
    finally:
        if was:
            faulthandler.enable()


def test_item_vectors_name_a_time_column_of_a_table() -> None:
    times = pd.to_datetime(["2020-01-01", "2020-01-02"])
    for column in (times, times.tz_localize("UTC")):
        frame = pd.DataFrame({"t": column, "x": [1.0, 2.0]})
        with pytest.raises(VisrecError, match=r"got datetime64\[\w+(, UTC)?\] values"):
            ItemVectors(["a", "b"], frame, [True, True])
