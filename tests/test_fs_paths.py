"""Awkward paths and a refusing system: one `error:` line, no traceback, no fit lost
to an output that cannot be written, links kept."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors

CSV = "user_id,item_id\n" + "".join(f"u{u},i{(u + k) % 9}\n" for u in range(12) for k in range(4))


def _train(tmp_path: Path, out: Path | str, *extra: str) -> int:
    data = tmp_path / "t.csv"
    data.write_text(CSV)
    argv = ["train", "--model", "popularity", "--interactions", str(data), "-o", str(out)]
    return main([*argv, "--quiet", *extra])


def test_a_system_error_is_one_line_naming_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # imported before the patch: a module first imported under it would keep the fake
    # write_text_atomic for the rest of the run (the train tests below, run alone)
    from visrec.commands import data as data_cmd
    from visrec.commands import train as _train_cmd  # noqa: F401

    def full(*args: object, **kw: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "s.json"))

    data = tmp_path / "t.csv"
    data.write_text(CSV)
    monkeypatch.setattr(data_cmd, "write_text_atomic", full, raising=False)
    monkeypatch.setattr("visrec._atomic.write_text_atomic", full)
    assert main(["data", "summary", str(data), "--json", str(tmp_path / "s.json")]) == 1
    err = capsys.readouterr().err
    assert err == f"error: '{tmp_path / 's.json'}': No space left on device\n"


def test_a_symlink_loop_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert _train(tmp_path, loop) == 2
    assert capsys.readouterr().err.startswith("error: ")
    data = tmp_path / "t.csv"
    # the same on every Python: from 3.13 Path.resolve no longer raises on a loop, and
    # the write would have replaced the link with the file
    for out in (loop, loop / "s.json"):
        assert main(["data", "summary", str(data), "--json", str(out)]) == 2
        assert capsys.readouterr().err == (
            f"error: --json: output path '{out}' goes through a symlink loop (a link that "
            "leads back to itself); remove the link or name another file\n"
        )
    assert loop.is_symlink() and os.readlink(loop) == str(loop)


def test_an_input_that_is_a_broken_link_is_named_as_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop, dangling = tmp_path / "loop", tmp_path / "dangling"
    loop.symlink_to(loop)
    dangling.symlink_to(tmp_path / "gone.csv")
    assert main(["data", "summary", str(loop)]) == 2
    assert capsys.readouterr().err == (
        f"error: {loop}: a symlink loop (a link that leads back to itself)\n"
    )
    assert main(["data", "summary", str(dangling)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {dangling}: a link to a file or folder that does not exist\n"
    assert main(["data", "summary", str(tmp_path / "gone.csv")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'gone.csv'}: no such file or directory\n"
    # the commands that check their inputs themselves say the same
    link = "is a link to a file or folder that does not exist"
    said_loop = "is a symlink loop (a link that leads back to itself)"
    data = tmp_path / "t.csv"
    data.write_text(CSV)
    for argv, said in [
        (["train", "--model", "popularity", "--interactions", str(dangling), "-o",
          str(tmp_path / "m")], f"interactions file '{dangling}' {link}"),
        (["evaluate", "--interactions", str(loop), "--models", "popularity"],
         f"interactions file '{loop}' {said_loop}"),
        (["similar", str(dangling), "i1"], f"vectors file '{dangling}' {link}"),
        (["recommend", str(dangling), "-o", str(tmp_path / "r.csv")],
         f"model folder '{dangling}' {link}"),
        (["report", str(loop), "-o", str(tmp_path / "r.html")],
         f"result file '{loop}' {said_loop}"),
        (["cluster", str(dangling), "--labels", str(dangling), "--id-col", "a",
          "--label-col", "b"], f"vectors file '{dangling}' {link}"),
    ]:  # fmt: skip
        assert main(argv) == 2, argv
        assert capsys.readouterr().err == f"error: {said}\n"


def test_recommend_and_cluster_name_a_broken_link_among_their_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "gone")
    assert _train(tmp_path, tmp_path / "m") == 0
    vectors = tmp_path / "v.parquet"
    write_vectors(vectors, ItemVectors(["i1", "i2"], np.eye(2, dtype=np.float32), np.ones(2, bool)))
    capsys.readouterr()
    link = "is a link to a file or folder that does not exist"
    out = str(tmp_path / "r.csv")
    for argv, said in [
        (["recommend", str(tmp_path / "m"), "--users", str(dangling), "-o", out],
         f"users file '{dangling}' {link}"),
        (["recommend", str(tmp_path / "m"), "--vectors", str(dangling), "-o", out],
         f"vectors file '{dangling}' {link}"),
        (["cluster", str(vectors), "--labels", str(dangling), "--id-col", "a",
          "--label-col", "b"], f"label table '{dangling}' {link}"),
    ]:  # fmt: skip
        assert main(argv) == 2, argv
        assert capsys.readouterr().err == f"error: {said}\n"


def test_two_outputs_through_a_linked_folder_are_one_file(tmp_path: Path) -> None:
    from visrec.commands._common import check_outputs_distinct
    from visrec.errors import VisrecError

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(VisrecError, match="name the same file"):
        check_outputs_distinct(
            {"--json": tmp_path / "link" / "o.json", "--report": tmp_path / "real" / "o.json"}, []
        )


def test_only_a_link_is_called_a_broken_link(tmp_path: Path) -> None:
    from visrec._atomic import absent, broken_link

    there = tmp_path / "f"
    there.write_text("x")
    loopd = tmp_path / "loopd"
    loopd.symlink_to(loopd)
    assert broken_link(there) is None and broken_link(tmp_path / "gone") is None
    assert absent(tmp_path / "gone") == "does not exist"
    assert absent("a\x00b") == "does not exist"  # a NUL byte (Python API): no traceback
    # a folder above that loops: the path itself is no link, the loop is still named
    assert broken_link(loopd / "x.csv") == "a symlink loop (a link that leads back to itself)"


@pytest.mark.parametrize(("given", "said"), [
    ("s.json/", "ends with '/', so it names a folder; name a file"),
    ("", "output path is empty; name a file"),
])  # fmt: skip
def test_a_file_output_named_like_a_folder_or_empty_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str, said: str
) -> None:
    data = tmp_path / "t.csv"
    data.write_text(CSV)
    target = f"{tmp_path}/{given}" if given else ""
    assert main(["data", "summary", str(data), "--json", target]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()


def test_train_tries_its_output_before_the_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import visrec._atomic as atomic

    fits = []

    def read_only(target: Path) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic, "probe_writable", read_only)
    from visrec.models.popularity import Popularity

    monkeypatch.setattr(Popularity, "fit", lambda self, *a, **k: fits.append(1))
    assert _train(tmp_path, tmp_path / "m") == 1  # the system's refusal: exit 1
    assert capsys.readouterr().err == (
        f"error: -o: cannot write '{tmp_path / 'm'}' (Read-only file system)\n"
    )
    assert fits == []


def test_train_through_a_link_to_a_model_folder_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "store" / "m"
    assert _train(tmp_path, real) == 0
    first = (real / "model.json").read_text()
    link = tmp_path / "current"
    link.symlink_to(real, target_is_directory=True)
    assert _train(tmp_path, link) == 0
    assert link.is_symlink() and (link / "model.json").is_file()
    # the folder the link names was replaced: each save writes a token of its own
    assert (real / "model.json").read_text() != first


def _train_from_a_pipe(out: Path) -> int:
    """`visrec train --interactions <(cat t.csv)`: a /proc/self/fd link to a pipe."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("no /proc/self/fd on this system")
    r, w = os.pipe()

    def feed() -> None:
        with os.fdopen(w, "w") as fh:
            fh.write(CSV)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        argv = ["train", "--model", "popularity", "--interactions", f"/proc/self/fd/{r}"]
        return main([*argv, "-o", str(out), "--quiet"])
    finally:
        writer.join(5)
        os.close(r)


def test_train_reads_interactions_from_a_pipe(tmp_path: Path) -> None:
    assert _train_from_a_pipe(tmp_path / "m") == 0
    assert (tmp_path / "m" / "model.json").is_file()


def test_a_fit_on_a_pipe_keeps_no_training_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a rerun cannot tell what came through the pipe, so there is nothing to resume
    import visrec.models._checkpoint as ckpt

    used: list[str] = []
    real = ckpt.checkpointing

    def spy(folder: object, key: str, **kw: object):  # type: ignore[no-untyped-def]
        used.append(key)
        return real(folder, key, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ckpt, "checkpointing", spy)
    assert _train(tmp_path, tmp_path / "m1") == 0  # a file: state kept while fitting
    assert len(used) == 1
    assert _train_from_a_pipe(tmp_path / "m2") == 0
    assert len(used) == 1
