"""Outputs that cannot be written, said in one line naming the output before any work:
a name longer than the system takes (ENAMETOOLONG) and a demo --out folder that cannot
be made, worded as every other output that cannot be written ("OPTION: cannot write");
the API's writers (write_report, write_vectors...) raise a WriteError naming the output,
not a bare OSError naming the folder above it that could not be made."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest

from visrec._atomic import probe_writable, write_text_atomic
from visrec.cli import main
from visrec.commands._output_paths import check_output_file
from visrec.data.interactions import Interactions
from visrec.errors import VisrecError, WriteError
from visrec.evaluation.experiment_result import ExperimentResult
from visrec.images.fetch import CacheDirError, check_cache_dir
from visrec.models.popularity import Popularity
from visrec.report.html import ReportData, write_report

LONG = "x" * 300  # over the 255 bytes a file name may take


def test_a_name_too_long_is_refused_as_an_output_that_cannot_be_written(tmp_path: Path) -> None:
    # was a bare OSError from Path.is_dir: "error: 'xxx...': File name too long", exit 1
    out = tmp_path / f"{LONG}.json"
    with pytest.raises(VisrecError) as caught:
        check_output_file(out, "--json")
    assert str(caught.value) == f"--json: cannot write {str(out)!r} (File name too long)"
    assert caught.value.exit_status == 2  # a wrong command line, not a refusal


def test_the_api_writer_raises_a_write_error_for_a_name_too_long(tmp_path: Path) -> None:
    out = tmp_path / LONG / "page.html"  # a folder above it too long
    with pytest.raises(WriteError) as caught:
        write_text_atomic(out, "x")
    assert caught.value.errno == errno.ENAMETOOLONG
    assert str(caught.value) == f"cannot write {str(out)!r} (File name too long)"
    assert list(tmp_path.iterdir()) == []


def test_the_probe_tries_the_output_name_itself(tmp_path: Path) -> None:
    # kills dropping the lstat in probe_writable: its temporary file's name is cut to
    # fit, so from Python 3.13 (Path.is_dir silent) only the final rename met it
    with pytest.raises(OSError) as caught:
        probe_writable(tmp_path / LONG)
    assert caught.value.errno == errno.ENAMETOOLONG
    assert list(tmp_path.iterdir()) == []


def test_train_refuses_a_model_folder_name_too_long_before_training(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was Path.is_symlink's bare OSError: "error: 'xxx...': File name too long", exit 1
    out = tmp_path / LONG
    argv = ["train", "--model", "popularity", "--interactions", str(csv), "-o", str(out)]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: -o: cannot write {str(out)!r} (File name too long)\n"


def test_fetch_cache_name_too_long_is_a_cache_that_cannot_be_written(tmp_path: Path) -> None:
    cache = tmp_path / LONG
    with pytest.raises(CacheDirError) as caught:
        check_cache_dir(cache, make=False)
    assert str(caught.value) == f"cannot write to {str(cache)!r} (File name too long)"
    assert caught.value.exit_status == 2


def test_demo_out_that_cannot_be_made_is_refused_before_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # was "error: 'OUT': Permission denied" once the catalogue was being generated
    out = tmp_path / "demo"
    real = os.mkdir

    def refuse(path: object, *args: object, **kwargs: object) -> None:
        if Path(str(path)) == out:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "mkdir", refuse)
    report = tmp_path / "r.html"
    assert main(["demo", "--out", str(out), "--report", str(report), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == f"error: --out: cannot write to {str(out)!r} (Permission denied)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_demo_out_name_too_long_is_a_wrong_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / LONG
    assert main(["demo", "--out", str(out), "--report", str(tmp_path / "r.html"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --out: cannot write to {str(out)!r} (File name too long)\n"


def _refuse_mkdir(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``folder`` cannot be made (a read-only disk, which root's permissions cannot make)."""
    real = os.mkdir

    def refuse(path: object, *args: object, **kwargs: object) -> None:
        if Path(str(path)) == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "mkdir", refuse)


def test_write_report_into_a_folder_that_cannot_be_made_names_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # was a bare PermissionError naming the folder: "[Errno 13] Permission denied: 'DIR'"
    out = tmp_path / "site" / "index.html"
    _refuse_mkdir(monkeypatch, out.parent)
    data = ReportData(title="t", dataset="d", summary={"items": 3}, cluster_note="n", knn_note="n")
    with pytest.raises(WriteError) as caught:
        write_report(out, data)
    assert str(caught.value) == f"cannot write {str(out)!r} (Permission denied)"
    assert caught.value.errno == errno.EACCES and caught.value.exit_status == 1
    assert list(tmp_path.iterdir()) == []


def test_a_result_and_a_model_keep_their_own_words_for_a_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kills re-raising atomic_path's WriteError as it is in ExperimentResult.to_json and
    Recommender.save (their "cannot write the experiment result to" / "cannot save the
    model to" would be lost)."""
    runs = pd.DataFrame(
        {"seed": [0], "model": ["a"], "auc": [0.7], "recall": [0.1], "ndcg": [0.1],
         "hit_rate": [0.2], "coverage": [0.5], "fit_s": [1.0]}
    )  # fmt: skip
    out = tmp_path / "r" / "e.json"
    _refuse_mkdir(monkeypatch, out.parent)
    with pytest.raises(WriteError) as caught:
        ExperimentResult(runs=runs, protocol="warm", k=20).to_json(out)
    assert str(caught.value) == (
        f"cannot write the experiment result to {str(out)!r} "
        f"({str(out.parent)!r}: Permission denied)"
    )
    frame = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 1], "rating": [5, 4, 3]})
    model = Popularity().fit(Interactions.from_frame(frame))
    folder = tmp_path / "m"
    folder.mkdir()
    real_open = os.open

    def refuse_temp(path: object, flags: int, *args: object) -> int:
        if str(path).endswith(".tmp") and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    def refuse_node(path: object, *args: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", refuse_temp)
    monkeypatch.setattr(os, "mknod", refuse_node)
    with pytest.raises(WriteError, match=r"^cannot save the model to ") as saved:
        model.save(folder)
    assert saved.value.errno == errno.EACCES
    assert [p.name for p in folder.iterdir() if ".tmp" in p.name] == []  # none left
