"""Session 50, errors: every failed write is one kind of error (a ``WriteError``: a
``VisrecError`` and an ``OSError`` with the failed call's errno, exit status 1 when the
system refused), the vector-meta check ``evaluate_model`` runs is public, and the fetch
summary shows a URL's or a reason's escapes and bidi overrides escaped."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path

import pandas as pd
import pytest

import visrec._atomic as atomic
from visrec.commands import train as train_cmd
from visrec.commands._output_paths import check_output_file
from visrec.data.interactions import Interactions
from visrec.errors import VisrecError, WriteError
from visrec.evaluation import run_record
from visrec.images import fetch
from visrec.images.fetch import CacheDirError, FetchReport, check_cache_dir
from visrec.models.popularity import Popularity


def _popularity() -> Popularity:
    rows = [("a", "x"), ("a", "y"), ("b", "x")]
    return Popularity().fit(
        Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    )


def _refused(code: int, name: str = "where") -> OSError:
    return OSError(code, os.strerror(code), name)


# --- one kind of error for every failed write --------------------------------------


def test_a_resume_record_folder_that_cannot_be_made_is_a_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # run_experiment(resume=...) makes it: one `except OSError` of a caller catches this
    # failed write as it does a failed Recommender.save
    def refused(p: Path, made: list[Path]) -> None:
        raise _refused(errno.EACCES, str(p))

    monkeypatch.setattr(run_record, "make_folders", refused)
    path = tmp_path / "sub" / "runs.jsonl"
    with pytest.raises(WriteError) as caught:
        run_record.open_record(path, {}, {}, lambda _m: None)
    assert str(caught.value) == (
        f"cannot make the folder of the resume record {path}: Permission denied"
    )
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.EACCES
    assert caught.value.filename == str(tmp_path / "sub") and caught.value.exit_status == 1


@pytest.mark.parametrize(("code", "status"), [(errno.EROFS, 1), (errno.EISDIR, 2)])
def test_an_output_the_probe_cannot_write_is_a_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, status: int
) -> None:
    def probe(path: object) -> None:
        raise _refused(code, str(path))

    monkeypatch.setattr(atomic, "probe_writable", probe)
    out = str(tmp_path / "r.json")
    with pytest.raises(WriteError) as caught:
        check_output_file(out, "--json")
    assert str(caught.value) == f"--json: cannot write {out!r} ({os.strerror(code)})"
    # the CLI's exit status as before: 1 when the system refused, 2 for a wrong path
    assert caught.value.errno == code and caught.value.exit_status == status


def test_a_model_folder_whose_files_cannot_be_removed_is_a_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _popularity().save(tmp_path / "m")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != out and real(p, mode))
    with pytest.raises(WriteError, match=r"exists and its files cannot be removed") as caught:
        train_cmd.check_model_folder(out)
    assert caught.value.errno == errno.EACCES and caught.value.filename == str(out)
    assert caught.value.exit_status == 1
    again = pickle.loads(pickle.dumps(caught.value))
    assert str(again) == str(caught.value) and again.errno == errno.EACCES


def test_an_unwritable_image_cache_carries_its_errno(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def probe(path: object) -> None:
        raise _refused(errno.EROFS, str(path))

    monkeypatch.setattr(fetch, "probe_writable", probe)
    with pytest.raises(CacheDirError) as caught:
        check_cache_dir(tmp_path)
    assert isinstance(caught.value, WriteError) and caught.value.errno == errno.EROFS
    assert caught.value.exit_status == 1
    assert str(caught.value) == f"cannot write to {str(tmp_path)!r} (Read-only file system)"


# --- the vector-meta check is public -----------------------------------------------


def test_check_vector_meta_refuses_another_backbone() -> None:
    model = _popularity()
    model.vector_meta_ = {"backbone": "resnet50"}  # as a fit on such vectors keeps
    with pytest.raises(VisrecError, match=r"^the vectors are from 'clip', the model was"):
        model.check_vector_meta({"backbone": "clip"})
    model.check_vector_meta({"backbone": "resnet50"})  # the same: no error
    model.check_vector_meta(None)  # a file that does not say: nothing to compare


# --- the fetch summary shows text that would command the terminal escaped ----------


def test_fetch_summary_escapes_a_urls_and_a_reasons_control_characters() -> None:
    report = FetchReport()
    report.add_failure("http://x/\x1b[31ma", "http 404: Not Found \u202egnp.exe")
    report.add_failure("http://y/\x1b" + "b" * 300, "bad\x1b[2J: url")
    lines = report.summary().splitlines()
    assert not any("\x1b" in line or "\u202e" in line for line in lines)
    assert lines[2] == "      'http://x/\\x1b[31ma'  ('http 404: Not Found \\u202egnp.exe')"
    assert lines[3].startswith("  'bad\\x1b[2J' ")
    # still cut: the first 160 of its 310 characters, escaped, then its length
    assert lines[4] == "      " + repr("http://y/\x1b" + "b" * 150) + "... (310 characters)  " + (
        "('bad\\x1b[2J: url')"
    )


def test_fetch_summary_shows_plain_text_as_it_is() -> None:
    report = FetchReport()
    report.add_failure("http://x/a.jpg", "http 404: Not Found")
    assert report.summary().splitlines()[2] == "      http://x/a.jpg  (http 404: Not Found)"
