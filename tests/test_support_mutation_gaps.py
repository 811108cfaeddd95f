"""Gaps a mutation audit of the support modules found: the ``similar`` page (an escaped
query id, ranks from 1, three decimals, the command's notes, a query with no
neighbours, the query's own photo), the rating report (seed-by-seed RMSE, the KNN
against the baseline on one split), the demo catalogue's disliked colour, a folder
that is not a demo dataset, the CUDA probes, atomic writes (the error of a temporary
file that cannot be made, the lock's descriptor, the hour before a leftover is
swept), SIGTERM then Ctrl-C, and the Ray engine's device and batch size."""

from __future__ import annotations

import ctypes
import errno
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from visrec import _device, _interrupt
from visrec._atomic import exclusive_lock, write_text_atomic
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError, WriteError


# ------------------------------------------------------------------- similar page
def _vectors(path: Path, angles: dict[str, float], has_image: list[bool] | None = None) -> Path:
    vecs = np.array([[np.cos(t), np.sin(t)] for t in angles.values()], dtype=np.float32)
    mask = np.ones(len(angles), dtype=bool) if has_image is None else np.array(has_image)
    write_vectors(path, ItemVectors(np.array(list(angles), dtype=object), vecs, mask))
    return path


def _captions(page: str) -> list[tuple[str, str]]:
    return re.findall(r"<figcaption>([^<]*)<br>([^<]*)</figcaption>", page)


def test_the_similar_page_escapes_the_query_and_numbers_its_tiles_from_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", {"<b>&": 0.0, "x": 0.1, "y": 0.4})
    out = tmp_path / "s.html"
    assert main(["similar", str(v), "<b>&", "--n", "5", "--report", str(out)]) == 0
    capsys.readouterr()
    page = out.read_text()
    assert "<h3>items most like &lt;b&gt;&amp;</h3>" in page and "<b>&" not in page
    # rank and cosine as the command prints them: from 1, three decimals
    assert _captions(page) == [
        ("&lt;b&gt;&amp;", "query"),
        ("x", f"1. cosine {np.cos(0.1):.3f}"),
        ("y", f"2. cosine {np.cos(0.4):.3f}"),
    ]
    # what the command said on stderr about the short list is said on the page too
    assert "only 2 other items have an image; showing 2 per item, not 5" in page


def test_a_query_with_no_neighbours_says_so_on_the_similar_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", {"a": 0.0, "b": 0.1}, [True, False])
    out = tmp_path / "s.html"
    assert main(["similar", str(v), "a", "--report", str(out)]) == 0
    assert "(none: no other item in the file has a usable image" in capsys.readouterr().out
    page = out.read_text()
    assert _captions(page) == [("a", "query")]
    assert '<p class="skipped">no other item has a usable image</p>' in page


def test_the_querys_own_photo_is_a_photo_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", {"a": 0.0, "b": 0.1, "c": 0.3})
    images = tmp_path / "imgs"
    images.mkdir()
    Image.new("RGB", (16, 16), (200, 0, 0)).save(images / "a.png")  # the query's only
    out = tmp_path / "s.html"
    argv = ["similar", str(v), "a", "--report", str(out), "--images", str(images)]
    assert main(argv) == 0
    assert "holds no <item_id>.<ext> image" not in capsys.readouterr().err
    page = out.read_text()
    assert "no photos:" not in page
    assert len(re.findall(r"data:image/jpeg;base64", page)) == 1


# ---------------------------------------------------------------- rating report
def test_the_seed_by_seed_table_of_the_rating_report_shows_rmse() -> None:
    from visrec.analysis.rating_eval import rating_eval
    from visrec.report.rating import render_rating_report

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        [(f"u{u}", f"i{i}") for u in range(12) for i in range(10)], columns=["user_id", "item_id"]
    )
    frame["rating"] = rng.integers(1, 6, len(frame)).astype(float)
    data = rating_eval(frame, None, n_seeds=2, mf_params={"n_epochs": 2}).to_dict()
    page = render_rating_report(data, {})
    seeds = page[page.index('id="seeds"') :]
    runs = pd.DataFrame(data["runs"]).sort_values("seed")
    assert (runs["rmse"] - runs["mae"]).abs().min() > 1e-3  # the two tell apart
    for model, r in runs.groupby("model", sort=False):
        row = re.search(rf"<tr><th>{re.escape(str(model))}[^<]*</th>(.*?)</tr>", seeds)
        assert row is not None, model
        shown = re.findall(r'<td class="num">([0-9.]+)</td>', row.group(1))
        assert shown == [f"{v:.4f}" for v in r["rmse"]], model


def _knn_runs(knn: float, item_mean: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"seed": 0, "model": "item mean", "uses": "baseline", "rmse": item_mean},
            {"seed": 0, "model": "KNN k=3 (image)", "uses": "picture", "rmse": knn},
        ]
    )


@pytest.mark.parametrize(
    ("knn", "said"), [(1.020, "0.020 worse than"), (0.990, "0.010 better than")]
)
def test_on_one_split_the_knn_is_worse_than_the_baseline_when_its_rmse_is_higher(
    knn: float, said: str
) -> None:
    from visrec.report.rating import rating_verdict

    line = rating_verdict(_knn_runs(knn, 1.000), "cold-items")[1]
    assert f"RMSE {knn:.3f}, {said} the best baseline (item mean, 1.000)" in line


# ------------------------------------------------------------------------- demo
def test_demo_users_rate_their_disliked_colour_lower(tmp_path: Path) -> None:
    from visrec.demo.synth import make_catalogue

    cat = make_catalogue(tmp_path / "c", n_items=40, n_users=150, image_size=32)
    items, users = pd.read_csv(cat.items_csv), pd.read_csv(cat.users_csv)
    rated = pd.read_csv(cat.interactions_csv).merge(items, on="item_id").merge(users, on="user_id")
    disliked = rated["colour"] == rated["disliked_colour"]
    assert disliked.sum() > 50 and (~disliked).sum() > 50
    assert rated["rating"][disliked].mean() < rated["rating"][~disliked].mean()


def test_a_folder_with_items_csv_but_no_images_folder_is_not_a_demo_dataset(
    tmp_path: Path,
) -> None:
    from visrec.demo.datasets import load_demo_dataset

    root = tmp_path / "d"
    root.mkdir()
    (root / "items.csv").write_text("item_id,category\na,x\n")
    said = r"not a dataset folder visrec demo recognises \(found: items\.csv\)"
    with pytest.raises(VisrecError, match=said):
        load_demo_dataset(root)


# --------------------------------------------------------------------- devices
def test_without_the_nvidia_driver_library_torch_sees_no_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_library(name: str, *args: object, **kwargs: object) -> object:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", no_library)
    assert _device.cuda_driver_present() is False
    why = _device.torch_cuda_missing()
    assert why is not None and "no NVIDIA driver found" in why


@pytest.mark.parametrize(("available", "auto"), [(False, "cpu"), (True, "cuda")])
def test_with_a_driver_torch_decides_whether_auto_is_the_gpu(
    monkeypatch: pytest.MonkeyPatch, available: bool, auto: str
) -> None:
    import torch

    monkeypatch.setattr(_device, "cuda_driver_present", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert _device.torch_device("auto") == auto
    why = _device.torch_cuda_missing()
    assert (why is None) is available
    if not available:
        assert why is not None and "install a CUDA build of torch" in why


class _CpuOnlyRay:
    """Stands in for the ``ray`` module of a cluster without GPUs (no Ray started)."""

    @staticmethod
    def cluster_resources() -> dict[str, float]:
        return {"CPU": 4.0}


def test_auto_on_a_ray_cluster_without_gpus_is_the_cpu() -> None:
    # test_ray_engine.py checks this too, but only where ray is installed
    from visrec.embed.ray_engine import _resolve_ray_device

    assert _resolve_ray_device(_CpuOnlyRay(), "auto") == "cpu"
    with pytest.raises(VisrecError, match=r"the Ray cluster has no GPUs \(resources: "):
        _resolve_ray_device(_CpuOnlyRay(), "cuda")


def test_a_ray_batch_size_of_zero_is_refused_before_ray_starts() -> None:
    from visrec.embed.backbones import get_backbone
    from visrec.embed.ray_engine import RayPipeline

    with pytest.raises(VisrecError, match="batch size must be >= 1, got 0"):
        RayPipeline(get_backbone(), "cpu", batch_size=0)
    assert RayPipeline(get_backbone(), "cpu", batch_size=1).batch_size == 1


# ---------------------------------------------------------------- atomic writes
def test_a_temporary_file_that_cannot_be_made_is_reported_as_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.json"
    real_open = os.open

    def refuse_temp(path: object, flags: int, *args: object) -> int:
        if str(path).endswith(".tmp") and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    def refuse_node(path: object, mode: int = 0o600, device: int = 0) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    # a folder that refuses new files refuses mknod(2) and open(2) alike
    monkeypatch.setattr(os, "open", refuse_temp)
    monkeypatch.setattr(os, "mknod", refuse_node)
    with pytest.raises(WriteError) as err:  # an OSError with the errno, not a bare one
        write_text_atomic(out, "{}")
    assert err.value.errno == errno.EACCES and err.value.filename == str(out)
    assert ".tmp" not in str(err.value) and not out.exists()


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_the_output_lock_closes_its_descriptor(tmp_path: Path) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("no /proc/self/fd to count open descriptors")
    before = _open_fds()
    for _ in range(20):
        with exclusive_lock(tmp_path / "out.parquet", "test") as held:
            assert held
    assert len(_open_fds() - before) == 0


def test_a_killed_writes_temporary_file_is_swept_once_it_is_an_hour_old(
    tmp_path: Path,
) -> None:
    """The README and docs/data.md promise: removed by a later write "once it is an hour
    old", so a younger one (perhaps still being written) stays."""
    out = tmp_path / "out.json"
    young, old = tmp_path / ".out.json.0123456789ab.tmp", tmp_path / ".out.json.ba9876543210.tmp"
    now = time.time()
    for path, minutes in ((young, 55), (old, 65)):
        path.write_text("half")
        os.utime(path, (now - 60 * minutes, now - 60 * minutes))
    write_text_atomic(out, "{}")
    assert young.exists() and not old.exists() and out.read_text() == "{}"


# -------------------------------------------------------------------- interrupt
@pytest.fixture
def _fresh_interrupt() -> Iterator[None]:
    _interrupt.clear()
    yield
    _interrupt.clear()


@pytest.mark.usefixtures("_fresh_interrupt")
def test_a_ctrl_c_after_a_sigterm_still_exits_as_the_sigterm() -> None:
    _interrupt.mark(signum=signal.SIGTERM)
    _interrupt.mark()  # then a Ctrl-C during the cleanup
    assert _interrupt.pressed() and _interrupt.exit_status() == 143
