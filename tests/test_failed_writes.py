"""Writes that fail (an outside audit with a file size limit, read-only and immutable
folders): a model folder whose files cannot be removed, a previous model that cannot
be cleared away, no usable temporary folder, a rename refused onto the output, a
checkpoint cut short, and a full disk under the ONNX cache."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from visrec import cli
from visrec.cli import main
from visrec.commands import train as train_cmd
from visrec.embed import onnx_engine
from visrec.errors import VisrecError
from visrec.models import _checkpoint


def _train(csv: Path, out: Path) -> int:
    return main(["train", "--model", "popularity", "--interactions", str(csv), "-o",
                 str(out), "--quiet"])  # fmt: skip


def test_a_model_folder_whose_files_cannot_be_removed_is_refused_before_training(
    csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out = tmp_path / "m"
    assert _train(csv, out) == 0
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != out and real(p, mode))
    assert _train(csv, out) == 1  # a refusal of the system
    err = capsys.readouterr().err
    assert f"-o: {out} exists and its files cannot be removed" in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".m.")]


def test_a_read_only_folder_of_other_files_is_no_model_folder(
    csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # no previous model to replace: the input error (exit 2), not a refusal of the system
    out = tmp_path / "notes"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != out and real(p, mode))
    assert _train(csv, out) == 2
    assert "exists and is not a visrec model folder" in capsys.readouterr().err


def test_a_previous_model_that_cannot_be_removed_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    left = tmp_path / ".m.visrec-save-abcdefgh"
    left.mkdir()

    def refuse(path: Any, *, onexc: Any = None, onerror: Any = None) -> None:
        err = PermissionError(errno.EACCES, "Permission denied")
        if onexc is not None:
            onexc(os.unlink, str(path), err)
        else:
            onerror(os.unlink, str(path), (PermissionError, err, None))

    monkeypatch.setattr(shutil, "rmtree", refuse)
    train_cmd._remove_previous(left)
    assert capsys.readouterr().err == (
        f"warning: the previous model could not be removed (Permission denied); it is in "
        f"{left}: remove it yourself\n"
    )


def test_a_refused_swap_names_the_model_folder_not_a_folder_already_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new, out = tmp_path / "new", tmp_path / "m"
    new.mkdir()
    out.mkdir()
    monkeypatch.setattr(train_cmd, "_exchange", lambda a, b: False)

    def replace(a: Any, b: Any) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted", str(a), None, str(b))

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(VisrecError, match=r"m: cannot replace the model folder \(Operation "
                       r"not permitted\); the previous model is unchanged"):  # fmt: skip
        train_cmd._swap_in(new, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "new"]


def test_no_usable_temporary_folder_is_a_refusal_of_the_system(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(args: Any) -> int:
        raise FileNotFoundError(
            errno.ENOENT, "No usable temporary directory found in ['/tmp', '/var/tmp']"
        )

    import argparse

    assert cli.run_command(run, argparse.Namespace()) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no room to write a temporary file (No usable temporary")
    assert "set TMPDIR to a writable folder" in err


def test_a_rename_onto_the_output_names_it_once() -> None:
    exc = PermissionError(errno.EPERM, "Operation not permitted", "o/c.json", None, "o/c.json")
    assert cli._os_error(exc) == "'o/c.json': Operation not permitted"
    exc = PermissionError(errno.EPERM, "Operation not permitted", "a", None, "b")
    assert cli._os_error(exc) == "'a' -> 'b': Operation not permitted"


def test_a_checkpoint_cut_short_says_why_in_words() -> None:
    cut = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 42 vs 41")
    assert _checkpoint._why(cut) == "the write was cut short: a full disk or a file size limit?"
    assert _checkpoint._why(OSError(errno.EFBIG, "File too large", "x")) == "File too large"


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (errno.ENOSPC, "free space or set VISREC_CACHE to a writable folder with room"),
        (errno.EFBIG, "a file size limit (ulimit -f) stops the write; raise it"),
        (errno.EACCES, "set VISREC_CACHE to a writable folder"),
    ],
)
def test_a_failed_write_of_the_onnx_cache_says_what_helps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, advice: str
) -> None:
    from visrec.embed.backbones import get_backbone

    def fail(backbone: Any, path: Any) -> None:
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(onnx_engine, "export_onnx", fail)
    with pytest.raises(VisrecError) as info:
        onnx_engine.cached_onnx_path(get_backbone("efficientnet-lite0"), tmp_path)
    said = str(info.value)
    assert said.endswith(f"({os.strerror(code)}); {advice}")
    assert said.count(str(tmp_path)) == 1
