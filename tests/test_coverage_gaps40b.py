"""Tests for more lines a line-coverage run of the suite found never run (session 40's
coverage audit, second part): each pins a message, exit status or file a user can reach.

Every server is a local one on 127.0.0.1 started here.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import logging
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

from quiet_http import serving
from test_fetch_qa_fixes import JPEG
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors


@pytest.fixture(scope="module")
def image_server() -> Iterator[str]:
    """Every path answers the same small JPEG."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(JPEG)))
            self.end_headers()
            self.wfile.write(JPEG)

    with serving(Handler) as base:
        yield base


# --- visrec train: -o became a link while the model was fitted ----------------------------


def test_a_model_folder_replaced_by_a_link_during_the_fit_is_swapped_for_the_new_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # train.py _swap_in: the one-step exchange leaves the link in the temporary folder's
    # place; the link is removed (its target stays as it was), not rmtree'd with a warning
    from visrec.commands import train
    from visrec.models.popularity import Popularity

    probe = tmp_path / "probe"
    (probe / "a").mkdir(parents=True)
    (probe / "b").mkdir()
    if not train._exchange(probe / "a", probe / "b"):
        pytest.skip("this system cannot swap two paths in one step")
    data = tmp_path / "t.csv"
    data.write_text("user_id,item_id\nu1,a\nu1,b\nu2,b\nu3,c\n")
    out = tmp_path / "current"
    argv = ["train", "--model", "popularity", "--interactions", str(data), "-o", str(out), "-q"]
    assert main(argv) == 0
    # a deploy script points `current` at another model folder while this run fits
    other = tmp_path / "v2"
    assert main([*argv[:-2], str(other), "-q"]) == 0
    v2_files = {p.name: p.read_bytes() for p in other.iterdir()}
    real_fit = Popularity.fit

    def fit_and_relink(self: Popularity, *args: object, **kwargs: object) -> Popularity:
        import shutil

        shutil.rmtree(out)
        out.symlink_to(other, target_is_directory=True)
        return real_fit(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Popularity, "fit", fit_and_relink)
    capsys.readouterr()
    assert main(argv) == 0
    assert capsys.readouterr().err == ""  # no "previous model could not be removed"
    assert out.is_dir() and not out.is_symlink()
    assert sorted(p.name for p in out.iterdir()) == ["arrays.npz", "model.json", "train.json"]
    assert {p.name: p.read_bytes() for p in other.iterdir()} == v2_files  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "probe", "t.csv", "v2"]


# --- visrec rating-eval --report: the records the loader skipped --------------------------


def _rating_eval_report(tmp_path: Path, broken: bool) -> tuple[str, str]:
    """rating-eval --report on 30 users x 12 items (two rows unusable when ``broken``):
    (its stdout, the page)."""
    from test_interop_fixes import write_rating_case

    # a missing rating and one that is no number
    damage = {5: "u0,i5,", 7: "u0,i7,lots"} if broken else {}
    data, vectors = write_rating_case(tmp_path, damage)
    report = tmp_path / "r.html"
    argv = ["rating-eval", "--interactions", str(data), "--vectors", str(vectors),
            "--seeds", "1", "--n-epochs", "2", "--quiet", "--report", str(report)]  # fmt: skip
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue(), report.read_text()


def test_rating_eval_report_lists_the_records_skipped(tmp_path: Path) -> None:
    out, page = _rating_eval_report(tmp_path, broken=True)
    assert out.endswith(f"\nwrote {tmp_path / 'r.html'}\n")
    row = "<tr><th>records skipped</th><td>2 (missing rating 1, non-numeric rating 1)</td></tr>"
    assert row in page


def test_rating_eval_report_has_no_skipped_row_when_none_was_skipped(tmp_path: Path) -> None:
    _, page = _rating_eval_report(tmp_path, broken=False)
    assert "records skipped" not in page


def test_summary_of_more_than_20_rating_values_gives_their_statistics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # half stars and one outlier: 21 distinct values, too many for a histogram
    ratings = [0.5 * k for k in range(1, 21)] + [37.25]
    csv = tmp_path / "r.csv"
    csv.write_text(
        "user_id,item_id,rating\n" + "".join(f"u{k},i{k % 3},{r}\n" for k, r in enumerate(ratings))
    )
    out = tmp_path / "s.json"
    assert main(["data", "summary", str(csv), "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "   ratings: min 0.5, median 5.5, mean 6.774, max 37.25" in lines
    assert not any(ln.startswith("   ratings (mean") for ln in lines)
    (section,) = json.loads(out.read_text())["sections"]
    assert section["rating_stats"] == {
        "min": 0.5,
        "median": 5.5,
        "max": 37.25,
        "mean": pytest.approx(142.25 / 21),
    }


def test_summary_shows_the_first_5_bad_records_and_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "bad.csv"
    rows = [f"u{k},i{k},4\n" for k in range(3)] + [f",i{k},3\n" for k in range(7)]
    csv.write_text("user_id,item_id,rating\n" + "".join(rows))
    assert main(["data", "summary", str(csv)]) == 0
    text = capsys.readouterr().out
    head = "   bad records (not kept): 7 (empty user id 7)\n"
    shown = "".join(f"     {csv}:{line}: empty user id\n" for line in range(5, 10))
    assert head + shown + "     ... and 2 more\n" in text
    assert f"{csv}:10:" not in text


# --- an item table whose item_id column is not its id column ------------------------------


def test_a_parquet_label_table_with_an_item_id_column_beside_the_id_column_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    labels = tmp_path / "items.parquet"
    frame = {"id": ["a", "b"], "item_id": ["x", "y"], "kind": ["shoe", "bag"]}
    pd.DataFrame(frame).to_parquet(labels)
    vectors = tmp_path / "v.parquet"
    ids = np.array(["a", "b"], dtype=object)
    write_vectors(vectors, ItemVectors(ids, np.eye(2, dtype=np.float32), np.ones(2, bool)))
    argv = ["cluster", str(vectors), "--labels", str(labels), "--id-col", "id"]
    assert main([*argv, "--label-col", "kind"]) == 2
    assert capsys.readouterr().err == (
        f"error: {labels}: column 'item_id' clashes with the loader's own 'item_id' "
        "(the id column 'id' becomes 'item_id'); rename it\n"
    )
    # named as the id column, item_id is read as the ids
    from visrec.data.item_tables import load_item_table

    res = load_item_table(labels, id_col="item_id")
    assert res.frame["item_id"].tolist() == ["x", "y"]
    assert res.frame["id"].tolist() == ["a", "b"]


# --- visrec fetch ---------------------------------------------------------------------------


def test_fetch_says_which_review_records_it_could_not_read(
    image_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = tmp_path / "Toys_5.json"
    photo = {"reviewerID": "U1", "asin": "B1", "overall": 5, "unixReviewTime": 1}
    no_asin = {"reviewerID": "U2", "overall": 5, "unixReviewTime": 2}
    reviews.write_text(
        json.dumps({**photo, "image": [f"{image_server}/a.jpg"]}) + "\n"
        "not json\n" + json.dumps({**no_asin, "image": [f"{image_server}/b.jpg"]}) + "\n"
    )
    assert main(["fetch", str(reviews), "--cache", str(tmp_path / "c"), "-q"]) == 0
    out, err = capsys.readouterr()
    assert "fetched 1 of 1 image URLs" in out
    assert err == (
        "1 review file: 1 review, 1 with photos (first photo each; 1 distinct URL)\n"
        "bad records: 2 (invalid JSON 1, missing asin 1)\n"
        f"  {reviews}:2: invalid JSON: Expecting value (column 1)\n"
        f"  {reviews}:3: no 'asin' field\n"
    )


def test_fetch_says_which_meta_records_it_could_not_read(
    image_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = tmp_path / "meta_Toys.json.gz"
    products = [
        {"asin": "A1", "imageURL": [f"{image_server}/a1.jpg"]},
        {"asin": ["A2"], "imageURL": [f"{image_server}/a2.jpg"]},
    ]
    with gzip.open(meta, "wt") as fh:
        fh.writelines(json.dumps(p) + "\n" for p in products)
    assert main(["fetch", str(meta), "--cache", str(tmp_path / "c"), "-q"]) == 0
    out, err = capsys.readouterr()
    assert "fetched 1 of 1 image URLs" in out
    assert err == (
        "1 meta file: 1 product, 1 with images\n"
        "bad records: 1 (bad asin 1)\n"
        f"  {meta}:2: 'asin' is [\"A2\"], expected a string id\n"
    )


def test_items_sharing_a_refused_url_are_named_in_its_one_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = tmp_path / "urls.csv"
    urls.write_text(
        "item_id,url\n" + "".join(f"{k},ftp://h/x.jpg\n" for k in "abcd") + "e,ftp://h/y.jpg\n"
    )
    js = tmp_path / "f.json"
    argv = ["fetch", str(urls), "--cache", str(tmp_path / "c"), "-q", "--json", str(js)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    shared = (
        f"invalid url: item 'a' ({urls} line 2), 'b' ({urls} line 3), 'c' ({urls} line 4) "
        "and 1 more: scheme 'ftp' is not http or https"
    )
    assert f"      ftp://h/x.jpg  ({shared})\n" in out
    data = json.loads(js.read_text())
    assert data["n_urls"] == 2 and data["n_keys"] == 5
    assert data["failures_by_kind"] == {"invalid url": 2}  # one failure per URL
    assert data["errors"] == {
        "ftp://h/x.jpg": shared,
        "ftp://h/y.jpg": (
            f"invalid url: item 'e' ({urls} line 6): scheme 'ftp' is not http or https"
        ),
    }
    assert {k: data["failed_items"][k] == shared for k in "abcde"} == {
        "a": True, "b": True, "c": True, "d": True, "e": False,
    }  # fmt: skip


# --- the resume record's folder cannot be made ----------------------------------------------


def test_evaluate_runs_without_a_resume_record_when_its_cache_folder_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder would be\n")
    monkeypatch.setenv("VISREC_CACHE", str(blocker))
    rows = [(f"u{u}", f"i{(u * 7 + j * 3) % 20}") for u in range(20) for j in range(5)]
    data = tmp_path / "train.csv"
    data.write_text("user_id,item_id\n" + "".join(f"{u},{i}\n" for u, i in rows))
    argv = ["evaluate", "--interactions", str(data), "--models", "popularity", "--seeds", "1"]
    assert main([*argv, "-q"]) == 0
    out, err = capsys.readouterr()
    assert "popularity" in out  # the table still comes out
    assert err.startswith(
        f"note: cannot make {blocker / 'evaluate'} (Not a directory): finished runs are not "
        "recorded, an interrupted run would start over\n"
    )
    assert blocker.read_text() == "a file where the cache folder would be\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "train.csv"]


# --- an ONNX model in the cache that onnxruntime cannot open --------------------------------


def _cached_garbage(folder: Path, backbone: object) -> Path:
    """A cache entry whose digest matches but which is no ONNX model (what an
    onnxruntime upgrade that cannot read an older export looks like to the cache)."""
    from visrec.embed.onnx_engine import export_key

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{export_key(backbone)}.onnx"
    path.write_bytes(b"not an onnx model")
    path.with_suffix(".sha256").write_text(hashlib.sha256(b"not an onnx model").hexdigest())
    return path


def test_a_cached_onnx_model_that_cannot_be_loaded_is_exported_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnx", reason="onnx is not installed")
    from test_embed import TinyBackbone
    from visrec.embed.onnx_engine import OnnxEngine, _cache_valid

    bb = TinyBackbone()
    path = _cached_garbage(tmp_path / "onnx", bb)
    with caplog.at_level(logging.WARNING, logger="visrec.embed.onnx_engine"):
        engine = OnnxEngine(bb, "cpu", model_dir=tmp_path / "onnx")
    (record,) = caplog.records
    assert record.getMessage().startswith(f"ONNX cache {path} cannot be loaded by onnxruntime (")
    assert record.getMessage().endswith("); exporting again")
    assert engine.model_path == path
    assert path.read_bytes() != b"not an onnx model" and _cache_valid(path)  # digest renewed
    assert engine(np.zeros((2, 3, 32, 32), np.float32)).shape == (2, 8)


def test_an_onnx_model_that_cannot_be_loaded_even_when_exported_again_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnx", reason="onnx is not installed")
    from test_embed import TinyBackbone
    from visrec.embed import onnx_engine
    from visrec.errors import VisrecError

    bb = TinyBackbone()
    path = _cached_garbage(tmp_path / "onnx", bb)
    exported: list[Path] = []

    def broken_export(backbone: object, target: Path) -> Path:
        exported.append(target)
        return _cached_garbage(target.parent, backbone)  # what this onnxruntime cannot read

    monkeypatch.setattr(onnx_engine, "export_onnx", broken_export)
    with pytest.raises(VisrecError) as exc:
        onnx_engine.OnnxEngine(bb, "cpu", model_dir=tmp_path / "onnx")
    assert exported == [path]
    assert str(exc.value).startswith(f"onnxruntime cannot load the exported model {path}: ")
    assert "INVALID_PROTOBUF" in str(exc.value)


# --- a chunked download cut short -------------------------------------------------------------


@pytest.fixture(scope="module")
def chunked_server() -> Iterator[str]:
    """``/whole``: a chunked body of 5 bytes and its last chunk; ``/cut``: the first
    chunk, then the connection is closed without the last (zero-size) chunk."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n" + (b"0\r\n\r\n" if self.path == "/whole" else b""))
            self.wfile.flush()
            self.close_connection = True

    with serving(Handler) as base:
        yield base


def test_a_chunked_download_cut_short_is_a_truncated_download_to_retry(
    chunked_server: str,
) -> None:
    from visrec.images.http_get import FetchError, download

    assert download(f"{chunked_server}/whole", 5.0, 1000, 10.0) == b"hello"
    with pytest.raises(FetchError) as exc:
        download(f"{chunked_server}/cut", 5.0, 1000, 10.0)
    assert str(exc.value) == "truncated download: got 5 bytes"
    assert exc.value.kind == "truncated download" and exc.value.retry


# --- an id that is not valid UTF-8, met by a library that encodes strictly ------------------


@pytest.mark.skipif(
    sys.getfilesystemencoding() != "utf-8", reason="file names are not read as UTF-8 here"
)
def test_an_undecodable_id_that_pyarrow_cannot_take_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # cli.py: a UnicodeEncodeError ("surrogates not allowed") of one short string is one
    # line, exit 2. A JSON escape "\udcff" gives Python a lone surrogate, as a file
    # name's byte 0xff does; pandas' pyarrow strings then refuse the frame of asins.
    # (The words "a name ... rename it" fit a file name, not an asin: reported.)
    import pandas as pd

    if pd.Series(["x"]).dtype == object:  # pandas 2: object strings take any str
        pytest.skip("pandas keeps text as Python objects here (pandas < 3)")
    meta = tmp_path / "meta_Toys.json"
    meta.write_text('{"asin": "B\\udcff", "imageURL": ["http://127.0.0.1:9/a.jpg"]}\n')
    cache = tmp_path / "c"
    assert main(["fetch", str(meta), "--cache", str(cache), "-q", "--retries", "0"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: 'B\\xff': text that is not valid UTF-8 (a file name, or an id read from "
        "a file) cannot be used here; rename it\n"
    )
    assert not cache.exists()
