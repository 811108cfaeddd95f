"""What outside audits found (session 43): a damaged deflate stream in a .gz input
(zlib.error, no OSError) was a traceback; the cluster table lost its ``label``
header; a benchmark script imported a name that had moved."""

from __future__ import annotations

import gzip
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from visrec.analysis.cluster import cluster_vs_labels
from visrec.cli import main
from visrec.data.text_files import decode_text
from visrec.errors import VisrecError

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _damaged_deflate(text: bytes) -> bytes:
    """``text`` gzipped, with one byte of its deflate stream flipped so that zlib, not
    gzip's CRC check, is what fails."""
    packed = gzip.compress(text, mtime=0)
    for at in range(20, len(packed) - 8):
        bad = bytearray(packed)
        bad[at] ^= 0xFF
        try:
            zlib.decompress(bytes(bad[10:]), wbits=-15)
        except zlib.error:
            return bytes(bad)
    raise AssertionError("no flip made zlib fail")


def test_a_damaged_gzip_stream_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "".join(f"u{u},i{u % 7},{1 + u % 5}\n" for u in range(300)).encode()
    path = tmp_path / "ratings.csv.gz"
    path.write_bytes(_damaged_deflate(b"user_id,item_id,rating\n" + rows))
    with pytest.raises(VisrecError, match=r"ratings\.csv\.gz: not a valid gzip file \(Error -3"):
        decode_text(path)
    assert main(["data", "summary", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not a valid gzip file" in err and "Traceback" not in err


def test_the_cluster_table_keeps_its_label_header() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (10, 4)) + 1, rng.normal(0, 0.1, (10, 4)) - 1])
    text = cluster_vs_labels(x, ["red"] * 10 + ["blue"] * 10, k=2).format()
    header = next(line for line in text.splitlines() if "total" in line)
    assert header.split()[0] == "label" and sorted(header.split()[1:]) == ["blue", "red", "total"]


@pytest.mark.parametrize(
    "script", sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))
)
def test_every_benchmark_script_starts(script: str) -> None:
    """Their imports of visrec's internals are checked by mypy too; this runs them."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage:")


def test_ctrl_c_while_the_cli_is_imported_is_said_as_interrupted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.abc

    from visrec.__main__ import run

    class PressedDuringImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, *args: object, **kwargs: object) -> None:
            if name == "visrec.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "visrec.cli")
    monkeypatch.setattr(sys, "meta_path", [PressedDuringImport(), *sys.meta_path])
    assert run() == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_import_visrec_leaves_the_version_lookup_for_later() -> None:
    """A Ctrl-C in the first 50 ms (importlib.metadata) would be an import traceback."""
    code = (
        "import sys, visrec; print('importlib.metadata' in sys.modules); "
        "print(visrec.__version__); from visrec import __version__ as v; print(v)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    before, version, again = done.stdout.split()
    assert before == "False" and version == again and version[0].isdigit()


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (
            ImportError("libtorch_cpu.so: failed to map segment from shared object"),
            "error: out of memory (libtorch_cpu.so: failed to map segment",
        ),
        (
            OSError("libgomp.so.1: failed to map segment from shared object"),
            "error: out of memory (libgomp.so.1",
        ),
        (RuntimeError("can't start new thread"), "error: cannot start another thread"),
    ],
)
def test_a_library_that_cannot_load_or_a_thread_that_cannot_start_is_one_line(
    exc: Exception, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a tight ``ulimit -v`` gives: the system's refusal, status 1, no traceback."""
    import visrec.commands.data as data_command

    def fails(args: object) -> int:
        raise exc

    monkeypatch.setattr(data_command, "run_summary", fails)
    assert main(["data", "summary", "x.csv"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(said) and "Traceback" not in err


def test_onnx_out_of_memory_keeps_the_cache_and_its_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load refused for want of memory is no damaged file: no re-export, digest kept."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnx", reason="onnx is not installed")
    from test_embed import TinyBackbone
    from visrec.embed import onnx_engine
    from visrec.embed.onnx_engine import OnnxEngine

    bb = TinyBackbone()
    first = OnnxEngine(bb, "cpu", model_dir=tmp_path / "onnx")
    digest = first.model_path.with_suffix(".sha256")
    before = (first.model_path.read_bytes(), digest.read_text())

    def no_memory(*args: object, **kwargs: object) -> None:
        raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : std::bad_alloc")

    def no_export(*args: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(ort, "InferenceSession", no_memory)
    monkeypatch.setattr(onnx_engine, "export_onnx", no_export)
    with pytest.raises(MemoryError, match="onnxruntime could not load"):
        OnnxEngine(bb, "cpu", model_dir=tmp_path / "onnx")
    assert (first.model_path.read_bytes(), digest.read_text()) == before


def test_train_names_a_file_where_its_output_folder_should_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "r.csv"
    data.write_text("user_id,item_id\nu1,a\nu2,b\nu1,b\n")
    (tmp_path / "afile").write_text("mine")
    out = tmp_path / "afile" / "m"
    args = ["train", "--model", "popularity", "--interactions", str(data), "-q"]
    assert main([*args, "-o", str(out)]) == 2
    blocker = str(tmp_path / "afile")
    said = f"error: -o: output path {str(out)!r}: {blocker!r} is a file, not a folder\n"
    assert capsys.readouterr().err == said
    assert (tmp_path / "afile").read_text() == "mine"


def test_an_interrupted_run_says_what_became_of_its_json_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec._atomic import write_text_atomic
    from visrec.commands._resume import run_resumable

    out = tmp_path / "ev.json"

    def stopped(record: Path | None) -> None:
        raise KeyboardInterrupt

    def stopped_after_writing(record: Path | None) -> None:
        write_text_atomic(out, '{"runs": []}\n')
        raise KeyboardInterrupt

    assert run_resumable("evaluate", str(out), None, True, stopped) == 130
    assert capsys.readouterr().err == "interrupted: no run had finished\n"
    out.write_text('{"earlier": true}\n')  # an earlier run's results, reused by this one
    assert run_resumable("evaluate", str(out), None, True, stopped) == 130
    said = f"interrupted: {out} is as it was; no new run had finished\n"
    assert capsys.readouterr().err == said
    assert out.read_text() == '{"earlier": true}\n'
    assert run_resumable("evaluate", str(out), None, True, stopped_after_writing) == 130
    assert capsys.readouterr().err == f"interrupted: the results were written to {out}\n"


def test_a_review_kept_with_the_day_of_its_review_time_is_listed_as_repaired(
    tmp_path: Path,
) -> None:
    import json

    from visrec.data.amazon import load_amazon_reviews

    base = {"overall": 5.0, "reviewTime": "09 4, 2015", "verified": True}
    recs = [
        {**base, "reviewerID": "u1", "asin": "a", "unixReviewTime": 1441324800},
        {**base, "reviewerID": "u2", "asin": "a", "unixReviewTime": {"a": 1}},
        {**base, "reviewerID": "u3", "asin": "a"},  # none at all: reviewTime, no repair
    ]
    path = tmp_path / "Shop_5.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = load_amazon_reviews([path])
    assert res.frame["timestamp"].tolist() == [1441324800] * 3 and not res.bad
    (warned,) = res.warnings
    assert (warned.line, warned.kind) == (2, "unreadable unixReviewTime")
    assert warned.reason.startswith("'unixReviewTime' is {\"a\": 1}, expected whole seconds")


def test_recommend_keys_its_resume_by_the_model_it_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model swapped in (``visrec train -o`` the same folder) while recommend loads:
    the key taken around the load is the loaded model's, so a resume record keyed by
    the new model never takes the old one's lists."""
    from test_models import FAST, checkerboard
    from visrec.commands import _recs_progress
    from visrec.models.base import Recommender
    from visrec.models.registry import make_model

    inter, iv = checkerboard()
    folder = tmp_path / "m"
    old = make_model("bpr", **FAST["bpr"]).fit(inter, iv)
    new = make_model("bpr", **{**FAST["bpr"], "random_state": 7}).fit(inter, iv)
    old.save(folder)
    old_key = _recs_progress.model_key(str(folder))
    real_load = Recommender.load.__func__  # type: ignore[attr-defined]
    loads: list[str] = []

    def load_then_swap(cls: type[Recommender], path: str) -> Recommender:
        model = real_load(cls, path)
        if not loads:  # the first load reads the old model; the new one lands after it
            new.save(folder)
        loads.append(_recs_progress.model_key(str(folder)))
        return model

    monkeypatch.setattr(Recommender, "load", classmethod(load_then_swap))
    model, key = _recs_progress.load_keyed(str(folder))
    assert len(loads) == 2 and key == loads[1] != old_key
    np.testing.assert_array_equal(model.score([0, 3]), new.score([0, 3]))


def test_fetch_says_when_the_file_size_limit_failed_the_images(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``ulimit -f``: each image fails in turn (a full disk stops the fetch); the note
    blamed the URLs."""
    from visrec.commands.fetch import _failed_items
    from visrec.images.fetch import FetchReport

    big = "error: OSError: [Errno 27] File too large: 'c/a/b.jpg'"
    report = FetchReport(errors={"http://h/a": big, "http://h/b": "http 404: Not Found"})
    failed = _failed_items(report, {"A": "http://h/a", "B": "http://h/b"}, None)
    assert failed == {"A": big, "B": "http 404: Not Found"}
    err = capsys.readouterr().err
    assert "2 of 2 images are not in the manifest: their URL failed ('A', 'B'" in err
    assert err.rstrip().endswith(
        "; 1 of them could not be cached: the file size limit (ulimit -f) refused it"
    )
    _failed_items(FetchReport(errors={"http://h/b": "http 404"}), {"B": "http://h/b"}, None)
    assert "ulimit" not in capsys.readouterr().err


def test_weights_overwritten_in_place_are_new_weights(tmp_path: Path) -> None:
    """The id was cached by path for the whole process: new weights saved over the old
    file kept the old id, so embed reused the old vectors and labelled new ones wrongly."""
    import os

    from visrec.embed.backbones import _file_id

    w = tmp_path / "w.pth"
    w.write_bytes(b"a" * 64)
    first = _file_id(str(w))
    assert _file_id(str(w)) == first
    w.write_bytes(b"b" * 64)  # same name, same size
    st = os.stat(w)
    os.utime(w, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert _file_id(str(w)) != first and _file_id(str(w)).startswith("w.pth:")


def test_an_interrupted_embed_says_when_its_output_is_whole(tmp_path: Path) -> None:
    from visrec.commands._resume import file_state
    from visrec.commands.embed import _kept_chunks

    out = tmp_path / "v.parquet"
    assert _kept_chunks(str(out), None) == "no chunk had finished, so nothing was kept"
    out.write_bytes(b"earlier")
    before = file_state(str(out))
    said = _kept_chunks(str(out), before)
    assert said == f"{out} is as it was; no new chunk had finished"
    out.unlink()
    out.write_bytes(b"written by this run, whole")
    assert _kept_chunks(str(out), before) == f"{out} was written"


def test_an_interrupted_evaluate_says_its_report_is_not_written_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec._atomic import write_text_atomic
    from visrec.commands._resume import run_resumable

    out, report = tmp_path / "ev.json", tmp_path / "ev.html"

    def stopped_before_the_report(record: Path | None) -> None:
        write_text_atomic(out, "{}\n")
        raise KeyboardInterrupt

    def stopped_after_both(record: Path | None) -> None:
        write_text_atomic(out, "{}\n")
        write_text_atomic(report, "<html></html>\n")
        raise KeyboardInterrupt

    args = ("evaluate", str(out), None, True)
    assert run_resumable(*args, stopped_before_the_report, report=str(report)) == 130
    assert capsys.readouterr().err == (
        f"interrupted: the results were written to {out}, not yet the report {report}; run "
        "the same command again to write it (the finished runs are reused)\n"
    )
    assert run_resumable(*args, stopped_after_both, report=str(report)) == 130
    assert capsys.readouterr().err == f"interrupted: the results were written to {out}\n"


def test_onnx_out_of_memory_while_embedding_is_a_memory_error(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnx", reason="onnx is not installed")
    from test_embed import TinyBackbone
    from visrec.embed.onnx_engine import OnnxEngine

    engine = OnnxEngine(TinyBackbone(), "cpu", model_dir=tmp_path / "onnx")

    class Exhausted:
        def run(self, *args: object) -> None:
            raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : Failed to allocate memory")

    engine._session = Exhausted()
    with pytest.raises(MemoryError, match="onnxruntime: a batch of 2 images"):
        engine(np.zeros((2, 3, 32, 32), dtype=np.float32))


def test_auto_engine_does_not_fall_back_to_torch_when_memory_ran_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import warnings

    from test_embed import TinyBackbone
    from visrec.embed import engines

    def no_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError("onnxruntime could not load x.onnx")

    monkeypatch.setattr(engines, "auto_engine_name", lambda device: "onnx")
    monkeypatch.setattr(engines, "_make_onnx", no_memory)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback warns
        with pytest.raises(MemoryError, match="could not load"):
            engines.make_engine(TinyBackbone(), "auto", "cpu")


def test_a_parquet_reader_thread_refused_is_the_system_not_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa

    from visrec.embed import store
    from visrec.errors import SystemRefusal

    path = tmp_path / "v.parquet"
    store.write_vectors(path, store.ItemVectors(["a"], np.ones((1, 2)), [True]))

    def refused(*args: object, **kwargs: object) -> None:
        raise pa.ArrowInvalid(
            "Unknown error: Failed to launch worker thread: Resource temporarily unavailable"
        )

    monkeypatch.setattr(store, "_read_table", refused)
    with pytest.raises(SystemRefusal, match=r"v\.parquet: cannot start the threads that read"):
        store.read_vectors(path)
    exc = store.parquet_read_error(str(path), pa.ArrowInvalid("Invalid: bad footer"))
    assert not isinstance(exc, SystemRefusal) and "cannot read as Parquet" in str(exc)


def test_the_visrec_command_is_the_one_that_says_interrupted() -> None:
    import tomllib

    meta = tomllib.loads((BENCHMARKS.parent / "pyproject.toml").read_text())
    assert meta["project"]["scripts"] == {"visrec": "visrec.__main__:run"}


def test_the_ids_only_load_lists_the_repaired_review_time(tmp_path: Path) -> None:
    import json

    from visrec.data.amazon import load_amazon_reviews

    rec = {"reviewerID": "u", "asin": "a", "overall": 5, "reviewTime": "09 4, 2015"}
    path = tmp_path / "Shop_5.json"
    path.write_text(json.dumps({**rec, "unixReviewTime": "soon"}) + "\n")
    res = load_amazon_reviews([path], ids_only=True, keep_time=True)
    assert [w.kind for w in res.warnings] == ["unreadable unixReviewTime"]
    assert res.frame["timestamp"].tolist() == [1441324800]


def test_recommend_keys_nothing_reusable_when_every_load_met_a_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_models import checkerboard
    from visrec.commands import _recs_progress
    from visrec.models.registry import make_model

    inter, _ = checkerboard()
    make_model("popularity").fit(inter).save(tmp_path / "m")
    keys = iter(str(n) for n in range(100))
    monkeypatch.setattr(_recs_progress, "model_key", lambda folder: next(keys))
    _, key = _recs_progress.load_keyed(str(tmp_path / "m"))
    assert len(key) == 32 and not key.isdigit()  # a random key: no record matches it


def test_recommend_fingerprints_the_key_of_the_model_it_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_models import checkerboard
    from visrec.commands import _recs_progress
    from visrec.models.registry import make_model

    inter, _ = checkerboard()
    make_model("popularity").fit(inter).save(tmp_path / "m")
    loaded: list[str] = []
    printed: list[str] = []
    real_load, real_fp = _recs_progress.load_keyed, _recs_progress.fingerprint

    def spy_load(folder: str) -> tuple[object, str]:
        model, key = real_load(folder)
        loaded.append(key)
        return model, key

    def spy_fp(model: str, *args: object) -> dict[str, object]:
        printed.append(model)
        return real_fp(model, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_recs_progress, "load_keyed", spy_load)
    monkeypatch.setattr(_recs_progress, "fingerprint", spy_fp)
    # the folder's key changes after the load: the fingerprint must keep the loaded one
    monkeypatch.setattr(_recs_progress, "model_key", lambda folder: f"{len(loaded)}" * 32)
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(tmp_path / "m"), "--n", "3", "-o", str(out), "-q"]) == 0
    assert printed == loaded == ["0" * 32]


def test_train_stopped_after_its_model_was_written_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import visrec.commands.train as train_command
    from visrec.models.base import Recommender

    data = tmp_path / "r.csv"
    data.write_text("user_id,item_id\nu1,a\nu2,b\nu1,b\n")

    def pressed(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(train_command, "_say_other_states", pressed)
    out = tmp_path / "m"
    args = ["train", "--model", "popularity", "--interactions", str(data), "-o", str(out)]
    assert main([*args, "-q"]) == 130
    assert capsys.readouterr().err == f"interrupted: the model was written to {out}\n"
    assert Recommender.load(out).name == "popularity"
