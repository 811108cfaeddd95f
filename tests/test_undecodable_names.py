"""File names that are not UTF-8 (Linux allows any bytes; Python keeps the odd ones as
lone surrogates): printed as they are, and one line, not a traceback, where a library
(pyarrow) cannot take them."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visrec import cli
from visrec.cli import main

ODD = os.fsdecode(b"\xff")  # the byte 0xff: no UTF-8 character

pytestmark = pytest.mark.skipif(
    sys.getfilesystemencoding() != "utf-8", reason="file names are not read as UTF-8 here"
)


def _odd_file(path: Path) -> Path:
    try:
        path.write_text("")
    except OSError:  # a file system that only stores UTF-8 names (APFS, ZFS utf8only)
        pytest.skip("file system refuses non-UTF-8 names")
    return path


def _ratings(path: Path) -> Path:
    _odd_file(path).write_text("user_id,item_id\nu1,i1\nu2,i1\nu2,i2\n")
    return path


def test_a_strict_stdout_prints_such_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # under a UTF-8 locale Python's stdout is strict: printing the name used to raise
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "__stdout__", out)  # the process's own stdout, so it is changed
    data = _ratings(tmp_path / f"r{ODD}.csv")
    model = tmp_path / f"m{ODD}"
    argv = ["train", "--model", "popularity", "--interactions", str(data), "-o", str(model)]
    assert main([*argv, "--quiet"]) == 0
    assert (model / "model.json").is_file()
    assert b"-> " + os.fsencode(model) in raw.getvalue()  # the name's own bytes


def test_a_stdout_that_is_not_the_processes_own_is_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a caller's capture (pytest's capsys): changing it would outlive the call
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", out)
    cli._print_any_name()
    assert out.errors == "strict"


def test_a_parquet_output_with_such_a_name_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # pyarrow encodes paths as strict UTF-8: a traceback from deep inside it before,
    # after the first chunk had been computed
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(2):
        arr = np.random.default_rng(i).integers(0, 255, (30, 40, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i}.jpg")
    out = tmp_path / f"{ODD}.parquet"
    assert main(["embed", str(folder), "-o", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"error: -o '{tmp_path}/\\xff.parquet': the name is not valid UTF-8, which "
        "Parquet files need; rename it\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs"]  # nothing left behind
    # from Python, embed_images says the same of its output
    from visrec.embed.extract import embed_images
    from visrec.errors import VisrecError

    with pytest.raises(VisrecError, match=r"output '.*\\xff.parquet': the name is not valid"):
        embed_images({"0": folder / "0.jpg"}, out, progress=False)


def test_vectors_with_such_a_name_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vectors = _odd_file(tmp_path / f"v{ODD}.parquet")
    data = _ratings(tmp_path / "r.csv")
    argv = ["train", "--model", "vbpr", "--interactions", str(data), "--vectors", str(vectors)]
    assert main([*argv, "-o", str(tmp_path / "m"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: '{tmp_path}/v\\xff.parquet': a file name that is not valid UTF-8 cannot be "
        "used here; rename it\n"
    )


def test_a_report_quoting_such_a_name_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the HTML report names the interactions file; UTF-8 cannot hold the odd byte
    data = _odd_file(tmp_path / f"r{ODD}.csv")
    rows = {(f"u{(7 * i) % 30}", f"i{(i * i) % 40}") for i in range(400)}
    data.write_text("user_id,item_id\n" + "".join(f"{u},{i}\n" for u, i in sorted(rows)))
    report = tmp_path / "o.html"
    argv = ["evaluate", "--interactions", str(data), "--protocol", "warm"]
    argv += ["--models", "popularity", "--seeds", "1", "--report", str(report)]
    assert main(argv) == 0
    assert "r\\udcff.csv" in report.read_text(encoding="utf-8")


def test_other_text_that_cannot_be_encoded_keeps_its_traceback() -> None:
    # only a string that can be a path is taken for an odd file name
    doc = f"<html>\n{ODD}\n</html>"
    with pytest.raises(UnicodeEncodeError) as info:
        doc.encode("utf-8")
    assert not cli._undecodable_name(info.value)
    with pytest.raises(UnicodeEncodeError) as info:
        f"/data/{ODD}.parquet".encode()
    assert cli._undecodable_name(info.value)


def test_a_line_break_in_a_file_name_keeps_the_error_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Linux allows '\n' in a name; the error printed it raw, cut in two lines
    empty = tmp_path / "a\nb.csv"
    empty.write_text("")
    assert (
        main(["train", "--model", "bpr", "--interactions", str(empty), "-o", str(tmp_path / "m")])
        == 2
    )
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path}/a\\nb.csv: file is empty, expected an interactions table\n"
    missing = tmp_path / "c\rd"
    assert main(["embed", str(missing), "-o", str(tmp_path / "v.parquet")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path}/c\\rd: no such file or directory\n"


def test_a_utf8_output_name_under_the_c_locale_is_refused_before_any_work(
    tmp_path: Path,
) -> None:
    # LC_ALL=C with PYTHONUTF8=0: Python holds 'vé' as surrogates, which pyarrow refuses
    # at the first chunk's write; an existing file was called "not a visrec vectors file"
    import subprocess

    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (40, 40), (10, 20, 200)).save(tmp_path / "imgs" / "a.jpg")
    out = tmp_path / "vé.parquet"
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    argv = [sys.executable, "-m", "visrec", "embed", str(tmp_path / "imgs"), "-o", str(out), "-q"]
    for exists in (False, True):
        if exists:
            assert main(["embed", str(tmp_path / "imgs"), "-o", str(out), "-q"]) == 0
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, errors="replace")
        assert proc.returncode == 2, proc.stderr
        assert "the name is not valid UTF-8" in proc.stderr
        assert "set PYTHONUTF8=1 or LC_ALL=C.UTF-8" in proc.stderr
        assert "not a visrec vectors file" not in proc.stderr
        assert out.exists() is exists  # nothing written, nothing replaced
        assert not (tmp_path / "vé.parquet.parts").exists()
