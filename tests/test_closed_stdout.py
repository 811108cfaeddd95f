"""`visrec COMMAND ... | head -1`: every command that prints to stdout still writes its
files when the reader leaves early, with no traceback and one exit status (141, or the
command's own failure status), through the one helper
(``commands._common.survives_closed_stdout``). Each command runs as a subprocess on a
tiny generated input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

from quiet_http import serving
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors

# Runs `visrec ARGV...`; its stdout lets the first KEEP lines out, then waits until the
# reader has closed the pipe, so the rest meets a closed pipe every time (with `| head`
# the command's short output often sits whole in the pipe before the reader leaves).
_CHILD = """
import select, sys
from visrec.cli import main

class WaitForReader:
    def __init__(self, stream, keep):
        self.stream, self.left = stream, keep
        if keep == 0:
            self._wait()

    def _wait(self):
        self.stream.flush()
        poll = select.poll()
        poll.register(self.stream.fileno(), select.POLLERR)
        poll.poll(30_000)  # POLLERR on a pipe's write end: its reader has gone

    def write(self, text):
        n = self.stream.write(text)
        if self.left > 0 and "\\n" in text:
            self.left -= 1
            if self.left == 0:
                self._wait()
        return n

    def __getattr__(self, name):
        return getattr(self.stream, name)

sys.stdout = WaitForReader(sys.stdout, int(sys.argv[1]))
sys.exit(main(sys.argv[2:]))
"""

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
    b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Case:
    argv: list[str]
    keep: int  # lines the reader takes before it closes the pipe
    checks: dict[str, Callable[[Path], bool]]  # output file -> is it complete
    status: int = 141


def _json(path: Path) -> bool:
    return bool(json.loads(path.read_text()))


def _html(path: Path) -> bool:
    return path.read_text().rstrip().endswith("</html>")


def _csv_rows(n: int) -> Callable[[Path], bool]:
    return lambda path: len(path.read_text().splitlines()) == n + 1  # with the header


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 items in 3 picture groups, 8 users' ratings, labels, a trained model and an
    evaluate result: the inputs of every case, made once."""
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    items = [f"i{i}" for i in range(12)]
    groups = np.arange(12) % 3
    vecs = (np.eye(4)[groups] * 5 + rng.normal(0, 0.1, (12, 4))).astype(np.float32)
    write_vectors(
        d / "v.parquet", ItemVectors(np.array(items, dtype=object), vecs, np.ones(12, bool))
    )
    (d / "labels.csv").write_text(
        "id,kind\n" + "".join(f"{i},k{g}\n" for i, g in zip(items, groups, strict=True))
    )
    rows = ["user_id,item_id,rating"]
    for u in range(8):
        for i in rng.choice(12, size=7, replace=False):
            rows.append(f"u{u},i{i},{1 + (u + groups[i]) % 5}")
    (d / "ratings.csv").write_text("\n".join(rows) + "\n")
    base = ["--interactions", str(d / "ratings.csv")]
    assert main(["train", "--model", "popularity", *base, "-o", str(d / "model")]) == 0
    argv = ["evaluate", *base, "--models", "popularity", "--k", "3", "--quiet"]
    assert main([*argv, "--json", str(d / "eval.json")]) == 0
    return d


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """127.0.0.1 only: /ok*.png are images, anything else is a 404."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            ok = self.path.startswith("/ok")
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG) if ok else 0))
            self.end_headers()
            if ok:
                self.wfile.write(PNG)

    with serving(Handler) as base:
        yield base


def _case(name: str, d: Path, out: Path, url: str) -> Case:
    v, ratings = str(d / "v.parquet"), str(d / "ratings.csv")
    js, html = out / "out.json", out / "out.html"
    both = {"out.json": _json, "out.html": _html}
    files = ["--json", str(js), "--report", str(html)]
    fetch = ["fetch", str(out / "urls.csv"), "--cache", str(out / "cache"), "--quiet",
             "--retries", "0", "--timeout", "5", "--json", str(js),
             "-o", str(out / "m.csv")]  # fmt: skip
    if name == "evaluate":
        argv = ["evaluate", "--interactions", ratings, "--vectors", v, "--models",
                "popularity", "--k", "3", "--quiet", *files]  # fmt: skip
        return Case(argv, 1, both)
    if name == "rating-eval":
        argv = ["rating-eval", "--interactions", ratings, "--vectors", v, "--n-epochs", "2",
                "--quiet", *files]  # fmt: skip
        return Case(argv, 1, both)
    if name == "cluster":
        argv = ["cluster", v, "--labels", str(d / "labels.csv"), "--id-col", "id",
                "--label-col", "kind", *files]  # fmt: skip
        return Case(argv, 1, both)
    if name == "knn-rating":
        return Case(["knn-rating", "--interactions", ratings, "--vectors", v, *files], 1, both)
    if name == "similar":
        return Case(["similar", v, "i0", "i1", "--n", "3", *files], 1, both)
    if name == "demo":
        argv = ["demo", "--items", "8", "--users", "4", "--image-size", "32",
                "--no-recommenders", "--out", str(out / "demo"), *files]  # fmt: skip
        return Case(argv, 1, {**both, "demo/results.json": _json})
    if name == "embed":  # the default backbone's weights are installed locally
        from PIL import Image

        (out / "imgs").mkdir()
        for i in range(3):
            Image.new("RGB", (40, 40), (80 * i, 20, 200)).save(out / "imgs" / f"{i}.jpg")
        argv = ["embed", str(out / "imgs"), "-o", str(out / "v.parquet"), "--quiet",
                "--json", str(js)]  # fmt: skip
        return Case(argv, 1, {"out.json": _json, "v.parquet": lambda p: p.stat().st_size > 0})
    if name == "data-summary":
        return Case(["data", "summary", ratings, "--json", str(js)], 1, {"out.json": _json})
    if name == "fetch":
        (out / "urls.csv").write_text(f"item_id,url\nA,{url}/ok1.png\nB,{url}/ok2.png\n")
        return Case(fetch, 1, {"out.json": _json, "m.csv": _csv_rows(2)})
    if name == "fetch-all-failed":  # the command's own failure status wins over 141
        (out / "urls.csv").write_text(f"item_id,url\nA,{url}/gone.png\n")
        return Case(fetch, 1, {"out.json": _json, "m.csv": _csv_rows(0)}, status=1)
    # one line each, after their file: the reader leaves before it
    if name == "train":
        argv = ["train", "--model", "popularity", "--interactions", ratings, "-o",
                str(out / "model")]  # fmt: skip
        return Case(argv, 0, {"model/model.json": _json})
    if name == "recommend":
        argv = ["recommend", str(d / "model"), "--n", "2", "-o", str(out / "rec.csv")]
        return Case(argv, 0, {"rec.csv": _csv_rows(16)})
    if name == "report":
        return Case(["report", str(d / "eval.json"), "-o", str(html)], 0, {"out.html": _html})
    raise AssertionError(name)


COMMANDS = ["evaluate", "rating-eval", "cluster", "knn-rating", "similar", "demo",
            "embed", "data-summary", "fetch", "fetch-all-failed",
            "train", "recommend", "report"]  # fmt: skip


@pytest.mark.parametrize("both", [False, True], ids=["stdout", "2>&1"])
@pytest.mark.parametrize("name", COMMANDS)
def test_a_reader_that_leaves_early_loses_no_file(
    name: str, both: bool, data: Path, server: str, tmp_path: Path
) -> None:
    # both: `visrec ... 2>&1 | head -1`, where a note on stderr may be the first to meet
    # the closed pipe (and what the command says after it cannot be read here)
    case = _case(name, data, tmp_path, server)
    # stdout block-buffered, as a user's is: the unread lines fail at the last flush
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(case.keep), *case.argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if both else subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(case.keep)]
    proc.stdout.close()  # the reader goes away
    err = "" if proc.stderr is None else proc.stderr.read().decode()
    assert proc.wait(timeout=120) == case.status, err
    assert all(lines), f"the command printed fewer than {case.keep} line(s)"
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception" not in err, err
    for rel, complete in case.checks.items():
        assert complete(tmp_path / rel), rel


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_stdout_that_cannot_be_written_is_one_error_line(data: Path, tmp_path: Path) -> None:
    js = tmp_path / "out.json"
    argv = ["data", "summary", str(data / "ratings.csv"), "--json", str(js)]
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "visrec", *argv], stdout=full, stderr=subprocess.PIPE
        )
    assert proc.returncode == 1
    assert proc.stderr.decode() == "error: cannot write to stdout (No space left on device)\n"
    assert _json(js)  # the command's file is made all the same


def test_a_command_started_with_stdout_closed_says_its_lines_were_lost(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (40, 40), (10, 20, 200)).save(tmp_path / "imgs" / "a.jpg")
    out, js = tmp_path / "v.parquet", tmp_path / "e.json"
    cmd = (
        f"'{sys.executable}' -m visrec embed '{tmp_path / 'imgs'}' -o '{out}' --quiet "
        f"--json '{js}' >&-"
    )
    proc = subprocess.run(["sh", "-c", cmd], stderr=subprocess.PIPE)
    # its summary had nowhere to go: said as `ls >&-` says it, once the files are made
    assert proc.returncode == 1, proc.stderr.decode()
    assert proc.stderr.decode() == "error: cannot write to stdout (Bad file descriptor)\n"
    assert _json(js) and out.stat().st_size > 0


# Runs `visrec ARGV...` once the reader of its stderr has gone; stdout is a file
_CHILD_NO_STDERR_READER = """
import select, sys
from visrec.cli import main

poll = select.poll()
poll.register(sys.stderr.fileno(), select.POLLERR)
poll.poll(30_000)
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("name", ["cluster", "knn-rating", "demo"])
def test_a_stderr_whose_reader_has_gone_loses_no_file(
    name: str, data: Path, server: str, tmp_path: Path
) -> None:
    # `visrec ... 2>&1 >results.txt | head -c1`: the notes meet a closed pipe, the results
    # and the files do not
    case = _case(name, data, tmp_path, server)
    with open(tmp_path / "stdout.txt", "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD_NO_STDERR_READER, *case.argv],
            stdout=out,
            stderr=subprocess.PIPE,
        )
        assert proc.stderr is not None
        proc.stderr.close()
        assert proc.wait(timeout=120) == 141
    assert (tmp_path / "stdout.txt").read_text().strip()  # the results, whole
    for rel, complete in case.checks.items():
        assert complete(tmp_path / rel), rel


def test_an_error_line_meeting_a_closed_stderr_keeps_the_error_status(tmp_path: Path) -> None:
    argv = ["cluster", str(tmp_path / "v.parquet"), "--labels", str(tmp_path / "no.csv")]
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD_NO_STDERR_READER, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    proc.stderr.close()
    assert proc.wait(timeout=60) == 2  # the input error's status, not a traceback's 1


def test_an_in_process_call_with_no_stderr_gets_none_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a host started with stderr closed (sys.stderr is None): the command's notes and
    # errors go nowhere, not to stdout, and the host's None is put back (the sink closed)
    monkeypatch.setattr(sys, "stderr", None)
    seen = []
    real = sys.modules["visrec.cli"]._guarded_main

    def spy(argv: object) -> int:
        seen.append(sys.stderr)
        return int(real(argv))  # type: ignore[arg-type]

    monkeypatch.setattr(sys.modules["visrec.cli"], "_guarded_main", spy)
    assert main(["report", str(tmp_path / "missing.json"), "-o", str(tmp_path / "r.html")]) == 2
    assert sys.stderr is None
    assert seen[0] is not None and seen[0].closed
    assert capsys.readouterr().out == ""
