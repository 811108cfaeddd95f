"""Gaps a mutation audit of the commands found: fetch's --retries reaching the downloads,
the seed bound as a number, the defaults --help states, evaluate's "rows kept" input,
its half-the-candidates note at exactly 2 x K, its resume record per --k, embed's
Ctrl-C status, --recursive with --manifest and its list of failures, the demo's
results.json and --json copy, --items and the recommenders with --data, and a --json
that is a hard link of similar's vectors file."""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shlex
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import visrec.embed.engines as engines_mod
import visrec.embed.extract as extract_mod
import visrec.images.fetch as fetch_mod
from quiet_http import serving
from test_demo import _colour_embedder
from test_embed import _images, _tiny_cli_embed
from test_evaluate_qa_fixes import _ClosedPipe
from visrec.cli import main
from visrec.demo.synth import make_catalogue
from visrec.embed.store import ItemVectors, write_vectors

# --------------------------------------------------------------------- fetch --retries


@pytest.fixture
def down_server() -> Iterator[tuple[str, list[int]]]:
    """A server whose every answer is 503 (retried); the list counts the requests."""
    hits = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits[0] += 1
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, hits


@pytest.mark.parametrize(
    ("flags", "requests"),
    [([], 4), (["--retries", "0"], 1), (["--retries", "1"], 2)],
    ids=["default", "retries-0", "retries-1"],
)
def test_fetch_makes_one_request_plus_the_retries_asked_for(
    down_server: tuple[str, list[int]],
    flags: list[str],
    requests: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, hits = down_server
    # the waits between attempts (0.5, 1, 2 s by default) shortened; their number is kept
    fast = functools.partial(fetch_mod.fetch_images, backoff=0.01)
    monkeypatch.setattr(fetch_mod, "fetch_images", fast)
    urls = tmp_path / "urls.csv"
    urls.write_text(f"item_id,url\na,{base}/a.jpg\n")
    argv = ["fetch", str(urls), "--cache", str(tmp_path / "c"), "-q", *flags]
    assert main(argv) == 1  # nothing could be fetched
    assert "http 503" in capsys.readouterr().out
    assert hits[0] == requests


# ------------------------------------------------------------------ the seed's bounds

_MISSING = {"v": "missing.parquet", "t": "missing.csv"}
SEEDED = [
    ["cluster", "{v}", "--labels", "{t}", "--id-col", "id", "--label-col", "c",
     "--random-state"],
    ["knn-rating", "--interactions", "{t}", "--vectors", "{v}", "--random-state"],
    ["rating-eval", "--interactions", "{t}", "--random-state"],
    ["train", "--model", "bpr", "--interactions", "{t}", "-o", "{o}", "--seed"],
]  # fmt: skip


@pytest.mark.parametrize("argv", SEEDED, ids=[a[0] for a in SEEDED])
def test_a_seed_of_32_bits_is_taken_and_one_more_is_refused(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bound scikit-learn sets (``random_state`` < 2**32), written out as a number:
    the tests of the range read it from the constant they check."""
    paths = {k: str(tmp_path / v) for k, v in _MISSING.items()} | {"o": str(tmp_path / "m")}
    line = [a.format(**paths) for a in argv]
    assert main([*line, "4294967296"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {argv[-1]} must be between 0 and 4294967295, got 4294967296\n"
    # the largest seed passes the check: the run goes on to the missing input
    assert main([*line, "4294967295"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing." in err and "must be between" not in err


def test_demo_refuses_a_seed_past_32_bits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["demo", "--seed", "4294967296", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == "error: --seed must be between 0 and 4294967295, got 4294967296\n"
    assert not out.exists()


# ------------------------------------------------------------ defaults --help states

DEFAULTS = [
    # (a command line that parses, the option, its metavar in --help, its dest, default)
    (["evaluate", "--interactions", "x.csv"], "--seeds", "N", "seeds", 3),
    (["similar", "v.parquet", "a"], "--n", "N", "n", 10),
    (["fetch", "urls.csv", "--cache", "c"], "--workers", "N", "workers", 16),
    (["fetch", "urls.csv", "--cache", "c"], "--retries", "RETRIES", "retries", 3),
]


@pytest.mark.parametrize(
    ("argv", "option", "metavar", "dest", "default"), DEFAULTS, ids=[d[1] for d in DEFAULTS]
)
def test_an_option_left_out_takes_the_default_its_help_states(
    argv: list[str],
    option: str,
    metavar: str,
    dest: str,
    default: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The defaults are pinned as docs/*.md and --help give them to users."""
    from visrec.cli import build_parser

    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == default
    with pytest.raises(SystemExit) as exc:
        main([argv[0], "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split()).split("options:", 1)[1]
    said = re.search(rf"{re.escape(option)} {metavar} [^()]*\(default (\d+)[,)]", text)
    assert said is not None, text
    assert int(said.group(1)) == default


# ------------------------------------------------------------------------- evaluate


def _write_rows(path: Path, n_items: int, rating: bool = False) -> Path:
    """``n_items + 1`` users with 5 items each, every item rated by several users."""
    rows = [(f"u{u}", f"i{(u + 4 * j) % n_items}", 1 + (u + j) % 5)
            for u in range(n_items + 1) for j in range(5)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    (frame if rating else frame.drop(columns="rating")).to_csv(path, index=False)
    return path


def test_min_rating_is_an_input_of_the_json_and_of_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _write_rows(tmp_path / "r.csv", 20, rating=True)
    out = tmp_path / "r.json"
    argv = ["evaluate", "--interactions", str(csv), "--models", "popularity", "--seeds", "1",
            "--min-rating", "4", "--json", str(out), "-q"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads(out.read_text())["inputs"]["rows kept"] == "rating >= 4"
    page = tmp_path / "r.html"
    assert main(["report", str(out), "-o", str(page)]) == 0
    capsys.readouterr()
    assert f"<th>rows kept</th><td>{html.escape('rating >= 4')}</td>" in page.read_text()
    # without --min-rating no such input is claimed
    assert main([*argv[:7], "--json", str(out), "-q"]) == 0
    assert "rows kept" not in json.loads(out.read_text())["inputs"]


@pytest.mark.parametrize(("k", "noted"), [(10, True), (9, False)])
def test_a_top_k_of_exactly_half_the_candidates_is_noted(
    k: int, noted: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _write_rows(tmp_path / "t.csv", 21)  # warm: 21 items, 20 candidates per user
    out = tmp_path / "r.json"
    argv = ["evaluate", "--interactions", str(csv), "--models", "popularity", "--seeds", "1",
            "--k", str(k), "--json", str(out), "-q"]  # fmt: skip
    assert main(argv) == 0
    text, err = capsys.readouterr()
    assert ", 21 candidates," in text  # one of them is the user's training item
    half = f"20 candidates per test user at most: the top {k} is half of them or more"
    assert (f"note: {half}" in err) is noted, err
    assert any(n.startswith(half) for n in json.loads(out.read_text())["notes"]) is noted


def test_runs_with_another_k_keep_their_own_resume_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --json the record is named after the settings: --k 10 and --k 20 are
    two experiments, and the table unread (a closed stdout) keeps each one's record."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("VISREC_CACHE", str(cache))
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    csv = _write_rows(tmp_path / "t.csv", 20)
    argv = ["evaluate", "--interactions", str(csv), "--models", "popularity", "--seeds", "1",
            "-q", "--k"]  # fmt: skip
    assert main([*argv, "10"]) == 141
    (first,) = (cache / "evaluate").iterdir()
    assert main([*argv, "20"]) == 141
    records = sorted((cache / "evaluate").iterdir())
    assert len(records) == 2 and first in records


# --------------------------------------------------------------------------- embed


def test_ctrl_c_inside_the_embedding_exits_130_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _tiny_cli_embed(monkeypatch)

    class Pressed:  # an engine whose first batch meets the Ctrl-C
        name = "torch"
        batch_size = 4

        def __call__(self, batch: np.ndarray) -> np.ndarray:
            raise KeyboardInterrupt

    monkeypatch.setattr(engines_mod, "make_engine", lambda *a, **kw: Pressed())
    folder = _images(tmp_path / "imgs", 3)
    out = tmp_path / "v.parquet"
    assert main(["embed", str(folder), "-o", str(out), "-q"]) == 130
    captured = capsys.readouterr()
    # nothing had finished: no promise of a resume
    assert captured.err == "interrupted: no chunk had finished, so nothing was kept\n"
    assert "embedded" not in captured.out and not out.exists()

    class Second(Pressed):  # the first chunk is done, then the Ctrl-C
        calls = 0

        def __call__(self, batch: np.ndarray) -> np.ndarray:
            Second.calls += 1
            if Second.calls > 1:
                raise KeyboardInterrupt
            return np.ones((len(batch), 8), np.float32)  # TinyBackbone.dim

    monkeypatch.setattr(engines_mod, "make_engine", lambda *a, **kw: Second())
    argv = ["embed", str(folder), "-o", str(out), "-q", "--chunk-size", "2"]
    assert main(argv) == 130
    assert capsys.readouterr().err == (
        f"interrupted: 1 finished chunk is kept in {out}.parts; run the same command "
        "again to resume\n"
    )


def test_recursive_with_a_manifest_is_refused_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _tiny_cli_embed(monkeypatch)
    _images(tmp_path / "imgs", 2)
    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\na,imgs/000.jpg\nb,imgs/001.jpg\n")
    out = tmp_path / "v.parquet"
    assert main(["embed", "--manifest", str(manifest), "--recursive", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --recursive ") and "--manifest" in err
    assert err.count("\n") == 1 and not out.exists()


def test_six_failed_images_are_all_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _tiny_cli_embed(monkeypatch)
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "cache"))  # its ONNX export
    folder = _images(tmp_path / "imgs", 1)
    for i in range(6):
        (folder / f"bad{i}.jpg").write_bytes(b"%PDF-1.4 not an image")
    assert main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "failed images (6; zero vector, has_image=false):" in err
    listed = [line for line in err.splitlines() if line.startswith("  bad")]
    assert [line.split()[0] for line in listed] == [f"bad{i}.jpg" for i in range(6)]
    assert "more (--json JSON lists all)" not in err


# ---------------------------------------------------------------------------- demo


@pytest.fixture
def stand_in_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's embedding by mean colours (no model): the CLI's paths in a second."""
    monkeypatch.setattr(extract_mod, "embed_images", _colour_embedder([]))


def test_demo_json_is_its_results_json_with_the_run_block(
    tmp_path: Path, stand_in_embedder: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out, copy = tmp_path / "out", tmp_path / "r.json"
    argv = ["demo", "--items", "8", "--users", "4", "--image-size", "32", "--no-recommenders",
            "--out", str(out), "--report", str(tmp_path / "r.html"), "--json", str(copy),
            "-q"]  # fmt: skip
    assert main(argv) == 0
    assert f"wrote {copy}" in capsys.readouterr().out
    assert copy.read_text() == (out / "results.json").read_text()
    saved = json.loads(copy.read_text())
    assert saved["run"]["command"] == shlex.join(["visrec", *argv]) and saved["n_items"] == 8


def test_demo_on_a_data_folder_says_items_is_unused_and_skips_recommenders(
    tmp_path: Path, stand_in_embedder: None, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = make_catalogue(tmp_path / "cat", n_items=12, n_users=10, image_size=32)
    copy = tmp_path / "r.json"
    argv = ["demo", "--data", str(cat.root), "--items", "10", "--out", str(tmp_path / "out"),
            "--report", str(tmp_path / "r.html"), "--json", str(copy), "-q"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "note: --items shapes the generated catalogue, not used with --data" in err
    saved = json.loads(copy.read_text())
    assert saved["n_items"] == 12  # the folder's items, not --items
    # the folder has interactions: only not asked for
    assert saved["recommenders"] is None
    assert saved["recommenders_note"].startswith("not run (on by default for the generated")


# ------------------------------------------------------------------------- similar


def test_a_json_hard_linked_to_the_vectors_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vectors = tmp_path / "three.parquet"
    rows = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
    write_vectors(vectors, ItemVectors(np.array(["a", "b", "c"], dtype=object), rows,
                                       np.ones(3, dtype=bool)))  # fmt: skip
    before = vectors.read_bytes()
    link = tmp_path / "hl.out"  # a name with no format: the link is what is refused
    os.link(vectors, link)
    assert main(["similar", str(vectors), "a", "--n", "1", "--json", str(link)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: --json: {str(link)!r} is the VECTORS file {str(vectors)!r}; writing it "
        "would replace it. Name another output file\n"
    )
    assert vectors.read_bytes() == before and os.path.samefile(vectors, link)
