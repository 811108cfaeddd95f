"""visrec inside a bigger program: a library call leaves the host's process state as
it found it (its stdout, its torch random numbers and thread count, its warnings
filters, its matplotlib backend), also with calls in several threads at once."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def test_building_the_network_leaves_stdout_and_the_torch_random_numbers_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.embed.backbones import build_quietly, get_backbone

    backbone = get_backbone("efficientnet-lite0")
    if backbone.missing():
        pytest.skip(backbone.missing() or "")
    host_stdout = sys.stdout
    seen: list[bool] = []
    real_load = torch.load

    def load(*args: object, **kw: object) -> object:
        seen.append(sys.stdout is host_stdout)  # a redirect is the whole process's
        return real_load(*args, **kw)

    monkeypatch.setattr(torch, "load", load)
    with torch.random.fork_rng():  # the seed set here is not every later test's
        torch.manual_seed(0)
        expected = torch.rand(3)
        torch.manual_seed(0)
        net = build_quietly(backbone)
        assert torch.equal(torch.rand(3), expected)  # the random layers drew from a fork
    assert seen == [True] and capsys.readouterr().out == ""
    assert net(torch.zeros(1, 3, 224, 224)).shape == (1, 1280)


def test_fits_in_two_threads_give_the_host_its_thread_count_back() -> None:
    from visrec.models._train import single_cpu_thread

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        cpu = torch.device("cpu")
        first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

        def first() -> None:
            with single_cpu_thread(cpu):
                first_in.set()
                second_in.wait(10)
            first_out.set()

        during: list[int] = []

        def second() -> None:
            first_in.wait(10)
            with single_cpu_thread(cpu):
                second_in.set()
                first_out.wait(10)
                during.append(torch.get_num_threads())  # still fitting: still one thread

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        # the count is also the default of threads started later (a host's pool)
        later: list[int] = []
        fresh = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
        fresh.start()
        fresh.join(10)
        assert during == [1] and torch.get_num_threads() == 2 and later == [2]
    finally:
        torch.set_num_threads(before)


def test_two_first_uses_of_the_onnx_cache_export_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.embed import onnx_engine
    from visrec.embed.backbones import get_backbone

    calls: list[Path] = []

    def slow_export(backbone: object, target: Path) -> Path:
        calls.append(Path(target))
        time.sleep(0.3)  # long enough for the other thread to find no cache
        Path(target).write_bytes(b"model")
        Path(target).with_suffix(".sha256").write_text(onnx_engine._file_sha256(Path(target)))
        return Path(target)

    monkeypatch.setattr(onnx_engine, "export_onnx", slow_export)
    backbone = get_backbone("efficientnet-lite0")
    got: list[Path] = []
    threads = [
        threading.Thread(
            target=lambda: got.append(onnx_engine.cached_onnx_path(backbone, tmp_path))
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(calls) == 1 and len(got) == 3 and len(set(got)) == 1
    shutil.rmtree(tmp_path)


def test_reports_leave_the_hosts_matplotlib_backend_alone() -> None:
    import matplotlib

    from visrec.report.plots import knn_bar_png

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        png = knn_bar_png(0.6, 0.5, "5")
        assert png.startswith(b"\x89PNG") and matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)


def test_importing_the_image_code_adds_no_warnings_filter() -> None:
    import subprocess

    # numpy's own import adds four (its ABI notes, RankWarning): the others are visrec's
    code = (
        "import warnings, numpy, PIL.Image; before = list(warnings.filters); "
        "import visrec.images.decode, visrec.embed.extract, visrec.report.plots; "
        "print([f[2].__name__ for f in warnings.filters if f not in before])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == "[]\n", done.stderr


def test_a_second_save_to_a_folder_being_saved_is_refused_and_the_first_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_models import FAST, checkerboard
    from visrec.errors import VisrecError
    from visrec.models.base import Recommender
    from visrec.models.registry import make_model

    frame, _ = checkerboard()
    first = make_model("bpr", **FAST["bpr"]).fit(frame)
    second = make_model("bpr", **{**FAST["bpr"], "random_state": 1}).fit(frame)
    real = Recommender._save_files
    inside, tried = threading.Event(), threading.Event()

    def slow(self: Recommender, folder: Path) -> None:
        inside.set()
        # the two files of one save, while another save comes: held until it came (a
        # fixed sleep let a loaded machine's first save finish before the second began)
        tried.wait(20)
        real(self, folder)

    monkeypatch.setattr(Recommender, "_save_files", slow)
    errors: list[Exception] = []
    saver = threading.Thread(target=lambda: first.save(tmp_path / "m"))
    saver.start()
    inside.wait(10)
    try:
        second.save(tmp_path / "m")
    except VisrecError as exc:
        errors.append(exc)
    finally:
        tried.set()
    saver.join(20)
    assert len(errors) == 1 and "is being written by another model save" in str(errors[0])
    back = Recommender.load(tmp_path / "m")
    users = np.arange(4)
    assert np.array_equal(back.recommend(users, n=3)[0], first.recommend(users, n=3)[0])


def test_ray_data_settings_are_put_back_after_a_run() -> None:
    import logging
    from types import SimpleNamespace

    from visrec.embed.ray_engine import _quiet_ray_data

    ctx = SimpleNamespace(
        enable_progress_bars=True, print_on_execution_start=True, enable_auto_log_stats=True
    )
    ray = SimpleNamespace(
        data=SimpleNamespace(DataContext=SimpleNamespace(get_current=lambda: ctx))
    )
    logger = logging.getLogger("ray.data")
    before = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with _quiet_ray_data(ray):
            assert not ctx.enable_progress_bars and logger.level == logging.ERROR
        assert ctx.enable_progress_bars and ctx.print_on_execution_start
        assert ctx.enable_auto_log_stats and logger.level == logging.DEBUG
    finally:
        logger.setLevel(before)


def test_a_ray_decode_task_quiets_pillow_for_its_batch_only(tmp_path: Path) -> None:
    import warnings

    from test_decode import _png_with_size
    from visrec.embed.backbones import get_backbone
    from visrec.embed.ray_engine import _decode_batch

    big = tmp_path / "big.png"
    big.write_bytes(_png_with_size(9_500, 9_500))  # between 1x and 2x Pillow's limit
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # a worker that shows every warning
        before = list(warnings.filters)
        batch = {"chunk": np.asarray([0]), "row": np.asarray([0]), "path": np.asarray([str(big)])}
        out = _decode_batch(batch, get_backbone("efficientnet-lite0"))
        assert warnings.filters == before  # put back after the batch
    assert [str(w.message) for w in seen if "exceeds limit" in str(w.message)] == []
    assert not out["ok"][0] and "decompression bomb" in str(out["reason"][0])


def test_the_onnx_export_warns_nothing_to_a_strict_host(tmp_path: Path) -> None:
    import warnings

    from visrec.embed.backbones import get_backbone
    from visrec.embed.onnx_engine import export_onnx

    pytest.importorskip("onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pytest -W error, a host's strict filters
        path = export_onnx(get_backbone("efficientnet-lite0"), tmp_path / "m.onnx")
    assert path.stat().st_size > 1_000_000
