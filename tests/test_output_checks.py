"""Output-file options (``--json``, ``-o``) are checked at startup, before any work, so
a long run is not lost to a folder named by mistake (``commands._common.check_output_file``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from visrec.cli import main


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "results"
    path.mkdir()
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str], option: str, path: Path) -> None:
    captured = capsys.readouterr()
    assert captured.err == f"error: {option}: output path '{path}' is a directory; name a file\n"
    assert captured.out == ""  # nothing was read or summarised first


def test_data_summary_json_folder_fails_before_the_summary(
    tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ratings = tmp_path / "r.csv"
    ratings.write_text("user_id,item_id,rating\nu1,i1,5\nu2,i1,3\n")
    assert main(["data", "summary", str(ratings), "--json", str(folder)]) == 2
    _one_line_error(capsys, "--json", folder)
    assert os.listdir(folder) == []
    out = tmp_path / "s.json"
    assert main(["data", "summary", str(ratings), "--json", str(out)]) == 0
    assert out.exists() and f"wrote {out}" in capsys.readouterr().out


def test_rating_eval_json_folder_fails_before_the_run(
    tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the interactions file is missing too: the --json check comes first
    argv = ["rating-eval", "--interactions", str(tmp_path / "missing.csv")]
    assert main([*argv, "--json", str(folder)]) == 2
    _one_line_error(capsys, "--json", folder)
    assert os.listdir(folder) == []


@pytest.mark.parametrize("option", ["-o", "--json"])
def test_fetch_output_folder_fails_before_downloading(
    option: str, tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a missing source would fail too, but later: nothing is read or fetched first
    argv = ["fetch", str(tmp_path / "missing.csv"), "--cache", str(tmp_path / "c")]
    assert main([*argv, option, str(folder)]) == 2
    _one_line_error(capsys, option, folder)
    assert os.listdir(folder) == [] and not (tmp_path / "c").exists()


def test_fetch_default_manifest_that_is_a_folder_fails_before_downloading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "c" / "manifest.csv"
    blocked.mkdir(parents=True)
    assert main(["fetch", str(tmp_path / "missing.csv"), "--cache", str(tmp_path / "c")]) == 2
    _one_line_error(capsys, "--cache (its manifest.csv)", blocked)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["embed", "{missing}", "-o", "{folder}"], "-o"),
        (["embed", "{missing}", "-o", "{tmp}/v.parquet", "--json", "{folder}"], "--json"),
        (["demo", "--out", "{tmp}/d", "--json", "{folder}"], "--json"),
        (["demo", "--out", "{tmp}/d", "--report", "{folder}"], "--report"),
        (
            [
                "cluster",
                "{missing}",
                "--labels",
                "{missing}",
                "--id-col",
                "id",
                "--label-col",
                "c",
                "--json",
                "{folder}",
            ],
            "--json",
        ),
        (
            [
                "knn-rating",
                "--interactions",
                "{missing}",
                "--vectors",
                "{missing}",
                "--json",
                "{folder}",
            ],
            "--json",
        ),
        (["similar", "{missing}", "x", "--json", "{folder}"], "--json"),
        (["recommend", "{missing}", "-o", "{folder}"], "-o"),
    ],
)
def test_commands_check_output_paths_first(
    argv: list[str],
    option: str,
    tmp_path: Path,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # every input is missing too: the output check must come first
    names = {"missing": str(tmp_path / "missing"), "folder": str(folder), "tmp": str(tmp_path)}
    assert main([a.format(**names) for a in argv]) == 2
    _one_line_error(capsys, option, folder)
    assert os.listdir(folder) == []
    assert not (tmp_path / "d").exists()


def test_a_pipe_or_dash_as_output_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # /dev/stdout as root was replaced by a regular file: a pipe stands in for it here
    ratings = tmp_path / "r.csv"
    ratings.write_text("user_id,item_id,rating\nu1,i1,5\nu2,i1,3\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "stdout"
    link.symlink_to(fifo)
    for target in (fifo, link):
        assert main(["data", "summary", str(ratings), "--json", str(target)]) == 2
        assert capsys.readouterr().err == (
            f"error: --json: output path '{target}' is not a regular file (a device, pipe "
            "or terminal); name a file\n"
        )
    assert link.is_symlink() and fifo.exists() and not fifo.is_file()
    monkeypatch.chdir(tmp_path)  # a refused "-" must not be made here either
    assert main(["data", "summary", str(ratings), "--json", "-"]) == 2
    assert "writing to stdout is not supported" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()


def test_the_file_stdout_is_redirected_to_is_refused_as_output(tmp_path: Path) -> None:
    # `-o /dev/stdout > f` passed as a regular file: the rename replaced f, and the
    # summary line went to the old, unlinked f (lost); `-o f > f` the same
    import subprocess
    import sys

    ratings = tmp_path / "r.csv"
    ratings.write_text("user_id,item_id\nu1,i1\nu2,i1\n")
    model = tmp_path / "pop"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(ratings), "-o", str(model)])
        == 0
    )
    shown = tmp_path / "shown.txt"
    for target, stream in (("/dev/stdout", "standard output"), (str(shown), "standard output")):
        with open(shown, "w") as fh:
            run = subprocess.run(
                [sys.executable, "-m", "visrec", "recommend", str(model), "-o", target],
                stdout=fh,
                stderr=subprocess.PIPE,
                text=True,
            )
        assert run.returncode == 2
        assert run.stderr == (
            f"error: -o: output path '{target}' is this command's {stream} (redirected to "
            "that file); name another file\n"
        )
        assert shown.read_text() == ""  # not replaced by the recommendations
    with open(shown, "w") as fh:  # standard error too; another file is fine
        run = subprocess.run(
            [sys.executable, "-m", "visrec", "recommend", str(model), "-o", "/dev/stderr"],
            stdout=subprocess.PIPE,
            stderr=fh,
            text=True,
        )
    assert run.returncode == 2 and "is this command's standard error" in shown.read_text()
    # another hard link to the file stdout goes to is another name: replaced alone
    twin = tmp_path / "twin.csv"
    os.link(shown, twin)
    with open(shown, "w") as fh:
        run = subprocess.run(
            [sys.executable, "-m", "visrec", "recommend", str(model), "-o", str(twin)], stdout=fh
        )
    assert run.returncode == 0 and f"-> {twin}" in shown.read_text()
    assert twin.read_text().startswith("user_id,item_id,rank,score\n")
    os.link(twin, shown.with_name("again.txt"))  # and the stream's own name, linked
    with open(twin, "w") as fh:
        run = subprocess.run(
            [sys.executable, "-m", "visrec", "recommend", str(model), "-o", str(twin)],
            stdout=fh,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert run.returncode == 2 and "is this command's standard output" in run.stderr
    out = tmp_path / "recs.csv"
    with open(shown, "w") as fh:
        run = subprocess.run(
            [sys.executable, "-m", "visrec", "recommend", str(model), "-o", str(out)], stdout=fh
        )
    assert run.returncode == 0 and f"-> {out}" in shown.read_text()
    assert out.read_text().startswith("user_id,item_id,rank,score\n")


def test_an_output_through_a_symlink_writes_the_file_and_keeps_the_link(
    tmp_path: Path,
) -> None:
    from visrec._atomic import write_text_atomic

    real = tmp_path / "store" / "summary.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "summary.json"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_an_output_name_near_the_systems_limit_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the temporary names add about 20 bytes: a legal 250-byte name must still work
    ratings = tmp_path / "r.csv"
    ratings.write_text("user_id,item_id,rating\nu1,i1,5\nu2,i1,3\n")
    out = tmp_path / ("a" * 245 + ".json")
    assert main(["data", "summary", str(ratings), "--json", str(out)]) == 0
    assert out.is_file() and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [out.name, "r.csv"]
    )
