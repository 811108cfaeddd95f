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
