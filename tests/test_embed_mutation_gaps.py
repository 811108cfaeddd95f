"""Gaps a mutation audit of embed, fetch and the reports found: the JPEG draft size,
failures named in a later chunk, URLs in any case, batch size 0, a damaged ONNX cache;
a body without a length over the limit, the redirect limit, a connect timeout, the
report's order and manifest paths; the evaluation table's headers and rows, the plots'
bars and axis labels, the cluster totals, EXIF in thumbnails, float images, a BOM.

Every server is a local one on 127.0.0.1 started here.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from quiet_http import serving
from test_embed import TinyBackbone
from test_evaluation_report import _result
from test_fetch import PNG
from visrec.analysis.cluster import cluster_vs_labels
from visrec.data.images_index import load_manifest
from visrec.embed import onnx_engine
from visrec.embed.backbones import get_backbone
from visrec.embed.engines import make_engine
from visrec.embed.extract import embed_images
from visrec.errors import VisrecError
from visrec.images import fetch as fetch_mod
from visrec.images import http_get
from visrec.images.decode import load_image
from visrec.images.fetch import fetch_images, write_manifest
from visrec.report import plots
from visrec.report.evaluation import render_evaluation_report
from visrec.report.html import ReportData, render_report


class Recording:
    """An engine object that keeps every batch it is given and answers ones (zeros
    would be no picture: a failure of its own)."""

    name = "recording"
    batch_size = 4

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.batches: list[np.ndarray] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.batches.append(np.array(batch))
        return np.ones((len(batch), self.dim), np.float32)


def _detailed_jpeg(path: Path, side: int) -> Path:
    """A ``side`` x ``side`` JPEG with detail down to single pixels."""
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path, quality=95)
    return path


# ------------------------------------------------------------------- embedding
def test_a_jpeg_decoded_in_draft_mode_is_preprocessed_as_one_decoded_whole(
    tmp_path: Path,
) -> None:
    # draft mode may only skip detail the resize would drop: a 224-px photo for the
    # 224-px default backbone is decoded at full size, so its input is unchanged
    bb = get_backbone()
    path = _detailed_jpeg(tmp_path / "a.jpg", 224)
    engine = Recording(bb.dim)
    embed_images([("a", str(path))], None, backbone=bb, engine=engine, progress=False)
    (batch,) = engine.batches
    np.testing.assert_allclose(batch[0], bb.preprocess(load_image(path)), atol=1e-6)


@pytest.mark.parametrize("name", ["efficientnet-lite0", "resnet18"])
def test_a_jpeg_draft_is_never_smaller_than_the_backbone_resizes_to(
    tmp_path: Path, name: str
) -> None:
    bb = get_backbone(name)
    path = _detailed_jpeg(tmp_path / "big.jpg", 4 * bb.resize_size)
    img = load_image(path, draft_size=bb.draft_size)
    assert min(img.size) >= bb.resize_size
    assert max(img.size) < 4 * bb.resize_size  # and the draft did shrink it


def test_failures_in_a_later_chunk_name_their_own_items(tmp_path: Path) -> None:
    # in memory, 40 items in chunks of 8: the second bad file is in the fifth chunk
    items = []
    for i in range(40):
        p = tmp_path / f"{i}.png"
        if i in (3, 33):
            p.write_bytes(b"%PDF-1.4")
        else:
            Image.new("RGB", (30, 30), (i, 2 * i, 3 * i)).save(p)
        items.append((f"item{i}", str(p)))
    res = embed_images(
        items, None, backbone=TinyBackbone(), engine=Recording(8), chunk_size=8, progress=False
    )
    assert [(i, Path(p).name) for i, p, _ in res.failures] == [
        ("item3", "3.png"),
        ("item33", "33.png"),
    ]
    assert list(res.vectors.ids[~res.vectors.has_image]) == ["item3", "item33"]


def test_a_url_in_capitals_is_called_a_url_not_a_missing_file() -> None:
    url = "HTTPS://example.com/a.jpg"
    res = embed_images([("a", url)], None, backbone=TinyBackbone(), engine=Recording(8),
                       progress=False)  # fmt: skip
    [(item, where, reason)] = res.failures
    assert (item, where) == ("a", url)
    assert reason.startswith("URL, not a local file"), reason


def test_a_batch_size_of_zero_is_refused() -> None:
    with pytest.raises(VisrecError, match="batch size must be >= 1, got 0"):
        make_engine(TinyBackbone(), "torch", batch_size=0)


def test_a_cached_onnx_file_damaged_in_place_is_exported_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same size, a stretch of weights zeroed: it would still load, with other vectors
    bb = TinyBackbone()
    path = tmp_path / f"{onnx_engine.export_key(bb)}.onnx"
    good = bytes(range(256)) * 64
    path.write_bytes(good)
    path.with_suffix(".sha256").write_text(hashlib.sha256(good).hexdigest() + "\n")
    exports: list[Path] = []
    monkeypatch.setattr(onnx_engine, "export_onnx", lambda b, target: exports.append(target))
    assert onnx_engine.cached_onnx_path(bb, tmp_path) == path  # intact: reused
    assert exports == []
    path.write_bytes(good[:4000] + bytes(4000) + good[8000:])
    onnx_engine.cached_onnx_path(bb, tmp_path)
    assert exports == [path]


# --------------------------------------------------------------------- decoding
def test_a_float_image_of_zero_to_one_is_scaled_to_grey_levels(tmp_path: Path) -> None:
    a = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    path = tmp_path / "f.tif"
    Image.fromarray(a, mode="F").save(path)
    got = np.asarray(load_image(path))
    assert got.shape == (64, 64, 3)
    np.testing.assert_array_equal(got[..., 0], np.rint(a.astype(np.float64) * 255))


def test_a_manifest_saved_as_excel_csv_utf8_is_read(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("item_id,path\n1,a.jpg\n", encoding="utf-8-sig")  # starts with a BOM
    assert load_manifest(path) == {"1": str(tmp_path.resolve() / "a.jpg")}


# ------------------------------------------------------------------- downloads
FAST = {"timeout": 2.0, "backoff": 0.01, "progress": False}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, threading.Event]]:
    second_done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _image(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def do_GET(self) -> None:
            if self.path == "/no-length.png":  # HTTP/1.0 style: the body ends the reply
                self.send_response(200)
                self.end_headers()
                self.wfile.write(PNG)
                self.close_connection = True
            elif self.path.startswith("/chain/"):  # /chain/N -> N-1 -> ... -> 0, an image
                n = int(self.path.rsplit("/", 1)[1])
                if n == 0:
                    self._image()
                    return
                self.send_response(302)
                self.send_header("Location", f"/chain/{n - 1}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path.startswith("/first/"):  # answers once the second is collected
                second_done.wait(10)
                self._image()
            else:
                self._image()

    with serving(Handler) as url:
        yield url, second_done


def test_a_body_without_a_length_over_max_bytes_is_refused(
    server: tuple[str, threading.Event], tmp_path: Path
) -> None:
    url = f"{server[0]}/no-length.png"
    over = fetch_images([url], tmp_path / "a", max_bytes=len(PNG) - 1, retries=0, **FAST)
    assert over.errors[url] == f"too large: body exceeds max_bytes {len(PNG) - 1:,}"
    exact = fetch_images([url], tmp_path / "b", max_bytes=len(PNG), retries=0, **FAST)
    assert exact.paths[url].read_bytes() == PNG


def test_ten_redirects_are_followed_and_eleven_are_too_many(
    server: tuple[str, threading.Event], tmp_path: Path
) -> None:
    ten, eleven = f"{server[0]}/chain/10", f"{server[0]}/chain/11"
    rep = fetch_images([ten, eleven], tmp_path, retries=0, **FAST)
    assert rep.paths[ten].read_bytes() == PNG
    assert rep.errors[eleven].startswith("too many redirects: more than 10,"), rep.errors


def test_the_report_lists_downloads_in_input_order_not_finishing_order(
    server: tuple[str, threading.Event], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, second_done = server
    first, second = f"{base}/first/a.png", f"{base}/second/b.png"
    collect = fetch_mod._collect

    def collected(report: Any, url: str, fut: Any) -> None:  # in finishing order
        collect(report, url, fut)
        if url == second:
            second_done.set()  # only now the server answers the first

    monkeypatch.setattr(fetch_mod, "_collect", collected)
    second_done.clear()
    rep = fetch_images([first, second], tmp_path, workers=2, retries=0, **FAST)
    assert list(rep.paths) == [first, second]


def test_a_connect_timeout_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a listening socket whose backlog is full: the kernel drops further SYNs, so a
    # connect waits until its timeout (no reply ever comes, as from a silent host)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    held = []
    try:
        for _ in range(4):
            probe = socket.create_connection(("127.0.0.1", port), timeout=0.3)
            held.append(probe)
    except TimeoutError:
        pass
    else:
        pytest.skip("this system answers connects beyond a full backlog")
    attempts = []
    connect = http_get._watched_connection

    def counted(*args: Any, **kw: Any) -> socket.socket:
        attempts.append(args[1])
        return connect(*args, **kw)

    monkeypatch.setattr(http_get, "_watched_connection", counted)
    url = f"http://127.0.0.1:{port}/x.png"
    try:
        rep = fetch_images([url], tmp_path, timeout=0.3, retries=2, backoff=0.01, progress=False)
    finally:
        for s in [*held, srv]:
            s.close()
    assert rep.errors[url] == "timeout: no answer within 0.3s"
    assert len(attempts) == 3  # the first try and two retries


def test_a_written_manifest_holds_paths_relative_to_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    (folder / "img").mkdir(parents=True)
    inside, outside = folder / "img" / "a.png", tmp_path / "b.png"
    rows = [("a", inside, "http://h/a.png"), ("b", outside, "http://h/b.png")]
    assert write_manifest(folder / "manifest.csv", rows) == 2
    lines = (folder / "manifest.csv").read_text().splitlines()
    assert lines[1] == f"a,{Path('img') / 'a.png'},http://h/a.png"
    assert lines[2] == f"b,{outside.resolve()},http://h/b.png"
    moved = tmp_path / "moved"
    folder.rename(moved)  # the pair moves together
    assert load_manifest(moved / "manifest.csv")["a"] == str(moved.resolve() / "img" / "a.png")


# ----------------------------------------------------------- evaluation report
def _results_rows(html: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(header texts, [(model, cell texts)]) of the results table."""
    start = html.index("<th>uses pictures</th>")
    table = html[html.rindex("<table", 0, start) : html.index("</table>", start)]
    end_of_head = table.index("</tr>")
    head = re.findall(r"<th>([^<]*)</th>", table[:end_of_head])
    rows = [
        (m, re.findall(r"<td[^>]*>([^<]*)</td>", cells))
        for m, cells in re.findall(r"<tr><th>([^<]*)</th>(.*?)</tr>", table[end_of_head:])
    ]
    return head, rows


def test_the_results_table_pairs_each_header_with_its_metric() -> None:
    recalls = {"vbpr": [0.30, 0.32], "bpr": [0.20, 0.22]}
    head, rows = _results_rows(render_evaluation_report(_result("warm", recalls)))
    for model, cells in rows:
        by_head = dict(zip(head[1:], cells, strict=True))
        r = np.array(recalls[model])
        assert by_head["Recall@20"] == f"{r.mean():.3f} ± {r.std(ddof=1):.3f}"
        assert by_head["NDCG@20"] == f"{r.mean() / 2:.3f} ± {r.std(ddof=1) / 2:.3f}"


def test_the_results_table_lists_models_in_the_order_they_were_evaluated() -> None:
    res = _result("warm", {"vbpr": [0.3, 0.32], "bpr": [0.2, 0.22], "popularity": [0.1, 0.11]})
    _, rows = _results_rows(render_evaluation_report(res))
    assert [m for m, _ in rows] == ["vbpr", "bpr", "popularity"]


# ----------------------------------------------------------------------- plots
@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every figure the plots module draws, kept instead of rendered."""
    kept: list[Any] = []

    def keep(fig: Any) -> bytes:
        kept.append(fig)
        return b""

    monkeypatch.setattr(plots, "_png", keep)
    return kept


def test_metric_bars_run_from_chance_to_the_mean(figures: list[Any]) -> None:
    runs = pd.DataFrame({
        "seed": [0, 1, 0, 1],
        "model": ["popularity", "popularity", "vbpr", "vbpr"],
        "auc": [0.8, 0.82, 0.9, 0.92],
        "recall": [0.1, 0.12, 0.3, 0.32],
    })  # fmt: skip
    plots.metric_bars_png(runs, ["popularity", "vbpr"], [("auc", "AUC", 0.5),
                                                         ("recall", "Recall", 0.0)])  # fmt: skip
    auc, recall = figures[0].axes[:2]
    spans = [(p.get_x(), p.get_x() + p.get_width()) for p in auc.patches]
    np.testing.assert_allclose(spans, [(0.5, 0.81), (0.5, 0.91)])
    spans = [(p.get_x(), p.get_x() + p.get_width()) for p in recall.patches]
    np.testing.assert_allclose(spans, [(0.0, 0.11), (0.0, 0.31)])


def test_the_confusion_heatmap_has_predicted_across_and_true_down(figures: list[Any]) -> None:
    conf = pd.DataFrame([[5, 1], [2, 7]], index=[1, 5], columns=[1, 5])
    plots.confusion_png(conf)
    ax = figures[0].axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted rating", "true rating")
    # the count at column c, row r is confusion[true r][predicted c]
    cells = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert cells == {((0, 0), "5"), ((1, 0), "1"), ((0, 1), "2"), ((1, 1), "7")}


def test_each_projection_axis_shows_its_own_share_of_the_variance(figures: list[Any]) -> None:
    coords = np.random.default_rng(0).standard_normal((6, 2))
    plots.projection_png(coords, list("aabbcc"), explained=(0.4, 0.1))
    ax = figures[0].axes[0]
    assert ax.get_xlabel() == "component 1 (40% of the variance)"
    assert ax.get_ylabel() == "component 2 (10% of the variance)"


def test_a_thumbnail_follows_the_exif_orientation(tmp_path: Path) -> None:
    im = Image.new("RGB", (80, 40), (255, 0, 0))
    exif = im.getexif()
    exif[0x0112] = 6  # stored landscape, shown rotated a quarter turn: portrait
    path = tmp_path / "phone.jpg"
    im.save(path, exif=exif)
    thumb = Image.open(io.BytesIO(plots.thumbnail_jpeg(path, size=72) or b""))
    assert thumb.size == (36, 72)


# -------------------------------------------------------------- cluster report
def test_a_mixed_clusters_total_and_heading_count_all_its_items(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (10, 3)), rng.normal(5, 0.1, (10, 3))])
    labels = ["Apparel"] * 7 + ["Footwear"] * 13  # the first blob is 7 + 3
    cluster = cluster_vs_labels(x, labels, k=2)
    img = tmp_path / "t.png"
    Image.new("RGB", (20, 20)).save(img)
    html = render_report(
        ReportData(
            title="t",
            dataset="d",
            summary={},
            cluster=cluster,
            cluster_samples={0: [("i0", img)], 1: [("i10", img)]},
        )
    )
    totals = re.findall(r'<td class="num total">([^<]*)</td>', html)
    assert sorted(totals) == ["10", "10"]
    heads = re.findall(r"<h3>cluster \d+ &middot; (\d+) items", html)
    assert heads == ["10", "10"]
    mixed = cluster.table.loc[(cluster.table > 0).sum(axis=1) > 1]
    assert sorted(mixed.iloc[0]) == [3, 7]  # so a max would say 7
