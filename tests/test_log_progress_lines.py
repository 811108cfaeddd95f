"""Long steps without a bar (stderr is a log file) write plain progress lines: embed and
fetch did not, and an hour of embedding was silent under nohup."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiny_embed import embed_tiny, image_folder
from visrec._progress_lines import fit_lines


def test_embed_writes_progress_lines_where_no_bar_shows(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "imgs", 12)
    lines: list[str] = []
    with fit_lines(lines.append, every_s=0.0):
        embed_tiny(folder, tmp_path / "v.parquet")
    assert lines and all(line.startswith("  embed: ") for line in lines)
    assert lines[-1].split(",")[0] in {f"  embed: {k} of 12 images" for k in range(1, 12)}


def test_embed_lines_count_from_the_reused_images(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "imgs", 12)
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out)
    image_folder(tmp_path / "more", 4)
    for i, f in enumerate(sorted((tmp_path / "more").iterdir())):
        f.rename(folder / f"new{i}.jpg")
    lines: list[str] = []
    with fit_lines(lines.append, every_s=0.0):
        result = embed_tiny(folder, out)
    assert result.n_reused == 12
    counts = [int(line.split(":")[1].split()[0]) for line in lines]
    assert counts and min(counts) > 12  # the reused ones are done before the first line


def test_fetch_writes_progress_lines_where_no_bar_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec.images.fetch as fetch_mod

    def fake_fetch(url: str, cache: Path, *args: object) -> Path:
        path = cache / f"{url.rsplit('/', 1)[1]}.jpg"
        path.write_bytes(b"x")
        return path

    monkeypatch.setattr(fetch_mod, "_fetch_one", fake_fetch)
    cache = tmp_path / "cache"
    cache.mkdir()
    urls = [f"http://127.0.0.1:9/img{i}" for i in range(3)]
    lines: list[str] = []
    with fit_lines(lines.append, every_s=0.0):
        fetch_mod.fetch_images(urls, cache, workers=1, progress=False)
    assert [line.split(",")[0] for line in lines] == [
        "  fetch: 1 of 3 URLs tried",
        "  fetch: 2 of 3 URLs tried",
    ]


def test_a_closed_stderr_keeps_notes_out_of_stdout(tmp_path: Path) -> None:
    import shlex
    import subprocess
    import sys

    data = tmp_path / "bad.csv"  # a skipped row: a note that belongs on stderr
    data.write_text("user_id,item_id\nu1,a\nu1,b\n,b\nu2,b\nu2,c\nu3,a\nu3,c\n")
    argv = [sys.executable, "-m", "visrec", "evaluate", "--interactions", str(data)]
    argv += ["--protocol", "warm", "--models", "popularity", "--seeds", "1"]
    # `2>&-`: Python then has no sys.stderr, and a print to None goes to stdout
    done = subprocess.run(
        ["bash", "-c", shlex.join(argv) + " 2>&-"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0
    assert done.stdout.startswith("protocol warm: ")
    assert "skipped" not in done.stdout and "seed 0:" not in done.stdout


def test_evaluate_ends_with_its_time_unless_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main as cli_main

    data = tmp_path / "d.csv"
    data.write_text("user_id,item_id\nu1,a\nu1,b\nu2,b\nu2,c\nu3,a\nu3,c\n")
    run = ["evaluate", "--interactions", str(data), "--protocol", "warm"]
    run += ["--models", "popularity", "--seeds", "1"]
    assert cli_main(run) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith("time: ")
    assert cli_main([*run, "-q"]) == 0
    assert "time: " not in capsys.readouterr().err
