"""Training checkpoints: an interrupted fit resumes and ends with the arrays an
uninterrupted fit gives (``models/_checkpoint``, ``visrec train``)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.commands.train import checkpoint_folder
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError
from visrec.models import _checkpoint, _train
from visrec.models.registry import make_model


@pytest.fixture
def data() -> tuple[Interactions, ItemVectors]:
    return dense_data()


def dense_data() -> tuple[Interactions, ItemVectors]:
    """60 users x 40 items with random 8-d vectors."""
    rng = np.random.default_rng(0)
    # about 43 distinct pairs per item, as dense as ML-100K: reg="auto" runs no
    # validation fits, so the epochs counted here are the model's own
    frame = pd.DataFrame(
        {"user_id": rng.integers(0, 60, 3000).astype(str), "item_id": rng.integers(0, 40, 3000)}
    ).astype(str)
    inter = Interactions.from_frame(frame.drop_duplicates())
    ids = np.asarray(inter.item_map.ids)
    vectors = rng.random((len(ids), 8), dtype=np.float32)
    return inter, ItemVectors(ids=ids, vectors=vectors, has_image=np.ones(len(ids), bool))


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, call: int) -> None:
    """Make the ``call``-th epoch raise KeyboardInterrupt (Ctrl-C mid-fit)."""
    real = _train._epoch
    calls = {"n": 0}

    def epoch(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        real(*args, **kwargs)

    monkeypatch.setattr(_train, "_epoch", epoch)


def _fit_interrupted(
    monkeypatch: pytest.MonkeyPatch,
    folder: Path,
    key: str,
    call: int,
    name: str,
    params: dict[str, Any],
    *fit_args: Any,
    log: Any = None,
) -> None:
    """A fit inside ``checkpointing(folder, key)`` (saving after every epoch) that is
    interrupted at its ``call``-th epoch."""
    with monkeypatch.context() as mp:
        _interrupt_at(mp, call)
        with (
            pytest.raises(KeyboardInterrupt),
            _checkpoint.checkpointing(folder, key, every_s=0, log=log or (lambda _: None)),
        ):
            make_model(name, **params).fit(*fit_args)


def _resumed_equals_whole(
    monkeypatch: pytest.MonkeyPatch,
    folder: Path,
    call: int,
    name: str,
    params: dict[str, Any],
    lazy: bool,
    data: tuple[Interactions, ItemVectors],
) -> list[str]:
    """Interrupt a fit at its ``call``-th epoch, resume it, check the arrays equal an
    uninterrupted fit's (``lazy``: the SparseAdam path of large catalogues, forced on
    this small one); returns the notes of both runs."""
    monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0 if lazy else 16)
    whole = make_model(name, **params).fit(*data)
    notes: list[str] = []
    _fit_interrupted(monkeypatch, folder, "key", call, name, params, *data, log=notes.append)
    with _checkpoint.checkpointing(folder, "key", every_s=0, log=notes.append):
        resumed = make_model(name, **params).fit(*data)
    for attr in resumed._array_attrs:
        np.testing.assert_array_equal(getattr(resumed, attr), getattr(whole, attr))
    return notes


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("name", ["bpr", "vbpr", "visual-cf"])
def test_interrupted_fit_resumes_to_the_same_arrays(
    name: str,
    lazy: bool,
    data: tuple[Interactions, ItemVectors],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = {"epochs": 6, "batch_size": 64}
    # epochs 1-3 done and saved, the 4th interrupted
    notes = _resumed_equals_whole(monkeypatch, tmp_path, 4, name, params, lazy, data)
    desc = "vbpr" if name == "vbpr" else "bpr"
    assert notes == [f"resuming {desc} at epoch 4 of 6 (from {tmp_path / (desc + '.pt')})"]


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("call", [5, 6, 7])  # the 1st, 2nd, 3rd fine-tuning epoch
def test_vbpr_interrupted_in_its_finetuning_resumes_to_the_same_arrays(
    call: int,
    lazy: bool,
    data: tuple[Interactions, ItemVectors],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # two fits in one: the main epochs, then the free terms alone, each with its state
    params = {"epochs": 4, "finetune_epochs": 5, "batch_size": 64}
    # main epochs 1-4 done and saved (the finished stage too: not redone), fine-tuning
    # epochs before `call` done and saved
    notes = _resumed_equals_whole(monkeypatch, tmp_path, call, "vbpr", params, lazy, data)
    done = call - 5  # fine-tuning epochs saved before the interruption
    state = tmp_path / "vbpr-finetune.pt"
    tuned = f"resuming vbpr-finetune at epoch {done + 1} of 5 (from {state})"
    assert notes == [
        f"reusing the finished vbpr (4 epochs, from {tmp_path / 'vbpr.pt'})",
        *([tuned] if done else []),
    ]


def test_one_save_clock_runs_across_the_stages_of_a_fit(
    data: tuple[Interactions, ItemVectors], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # vbpr trains in stages (main epochs, fine-tuning); each started its own clock, so
    # stages shorter than a minute never saved however long the whole fit ran
    import time

    clock = {"now": 0.0}
    real = _train._epoch

    def epoch(*args: Any, **kwargs: Any) -> None:
        clock["now"] += 1.0  # one "second" per epoch
        real(*args, **kwargs)

    monkeypatch.setattr(_train, "_epoch", epoch)
    monkeypatch.setattr(time, "monotonic", lambda: clock["now"])
    saved: list[tuple[str, int]] = []
    save = _checkpoint.save_state

    def spy(ckpt: Any, desc: str, epoch: int, *a: Any) -> bool:
        saved.append((desc, epoch))
        return save(ckpt, desc, epoch, *a)

    monkeypatch.setattr(_checkpoint, "save_state", spy)
    params = {"epochs": 4, "finetune_epochs": 5, "batch_size": 64}
    with _checkpoint.checkpointing(tmp_path, "key", every_s=6, log=lambda _m: None):
        make_model("vbpr", **params).fit(*data)
    # 4 + 5 epochs: the 6th "second" falls in the fine-tuning's 2nd epoch
    assert saved == [("vbpr-finetune", 2)]


class _Touch:
    """Unpickled, it would create ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, ...]:
        return (open, (self.path, "w"))


def test_other_key_or_damaged_file_starts_over(
    data: tuple[Interactions, ItemVectors], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inter, _ = data
    whole = make_model("bpr", epochs=5).fit(inter)
    notes: list[str] = []
    _fit_interrupted(monkeypatch, tmp_path, "old", 3, "bpr", {"epochs": 5}, inter)
    with _checkpoint.checkpointing(tmp_path, "new", every_s=0, log=notes.append):
        fresh = make_model("bpr", epochs=5).fit(inter)
    assert notes == [f"note: {tmp_path / 'bpr.pt'}: checkpoint of other data or settings, "
                     "starting over"]  # fmt: skip
    np.testing.assert_array_equal(fresh.item_factors_, whole.item_factors_)

    (tmp_path / "bpr.pt").write_bytes(b"torn")
    notes.clear()
    with _checkpoint.checkpointing(tmp_path, "new", every_s=0, log=notes.append):
        again = make_model("bpr", epochs=5).fit(inter)
    assert len(notes) == 1 and "unreadable training checkpoint, starting over" in notes[0]
    np.testing.assert_array_equal(again.item_factors_, whole.item_factors_)

    # a pickle that would run code: never run, one short line, no torch advice to load
    # it with weights_only=False
    import pickle

    ran = tmp_path / "ran"
    (tmp_path / "bpr.pt").write_bytes(pickle.dumps(_Touch(str(ran))))
    notes.clear()
    with (
        warnings.catch_warnings(),  # torch's "Detected pickle protocol ..." is not shown
        _checkpoint.checkpointing(tmp_path, "new", every_s=0, log=notes.append),
    ):
        warnings.simplefilter("error")
        make_model("bpr", epochs=5).fit(inter)
    assert not ran.exists()
    assert notes == [f"note: {tmp_path / 'bpr.pt'}: unreadable training checkpoint, starting "
                     "over (UnpicklingError)"]  # fmt: skip

    import torch

    torch.save([1, 2], tmp_path / "bpr.pt")  # readable by torch, but no state
    notes.clear()
    with _checkpoint.checkpointing(tmp_path, "new", every_s=0, log=notes.append):
        again = make_model("bpr", epochs=5).fit(inter)
    assert notes == [f"note: {tmp_path / 'bpr.pt'}: not a training checkpoint, starting over"]
    np.testing.assert_array_equal(again.item_factors_, whole.item_factors_)

    # the right format and key but odd fields: a KeyError / TypeError before
    real = torch.load(tmp_path / "bpr.pt", weights_only=True)  # the last fit's, epoch 4
    for odd in ({}, {"epoch": "x", "module": {}}, {"epoch": 2, "module": 5, "opts": []}):
        torch.save({"format": real["format"], "key": real["key"], **odd}, tmp_path / "bpr.pt")
        notes.clear()
        with _checkpoint.checkpointing(tmp_path, "new", every_s=0, log=notes.append):
            again = make_model("bpr", epochs=5).fit(inter)
        assert notes == [
            f"note: {tmp_path / 'bpr.pt'}: checkpoint does not fit this fit, starting over"
        ]
        np.testing.assert_array_equal(again.item_factors_, whole.item_factors_)


def test_no_checkpoint_outside_a_block(
    data: tuple[Interactions, ItemVectors], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_checkpoint, "SAVE_EVERY_S", 0.0)
    make_model("bpr", epochs=3).fit(data[0])
    assert _checkpoint.active() is None and list(tmp_path.iterdir()) == []


def _train_files(data: tuple[Interactions, ItemVectors], tmp_path: Path) -> tuple[Path, Path]:
    """``data`` as the files `visrec train` reads: train.csv and v.parquet."""
    inter, iv = data
    csv = tmp_path / "train.csv"
    users, items = inter.user_map.ids[inter.user_idx], inter.item_map.ids[inter.item_idx]
    pd.DataFrame({"user_id": users, "item_id": items}).to_csv(csv, index=False)
    vec = tmp_path / "v.parquet"
    write_vectors(vec, iv)
    return csv, vec


def test_cli_train_resumes_after_ctrl_c(
    data: tuple[Interactions, ItemVectors],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    train, vec = _train_files(data, tmp_path)
    out = tmp_path / "model"
    argv = ["train", "--model", "vbpr", "--interactions", str(train), "--vectors", str(vec),
            "-o", str(out), "--param", "epochs=6", "--quiet"]  # fmt: skip
    monkeypatch.setattr(_checkpoint, "SAVE_EVERY_S", 0.0)

    with monkeypatch.context() as mp:
        _interrupt_at(mp, 5)
        assert main(argv) == 130
    assert (
        "interrupted (state saved every minute; last: vbpr, epoch 4 of 6): run the same "
        "command again"
    ) in capsys.readouterr().err
    assert not out.exists() and (checkpoint_folder(out) / "vbpr.pt").is_file()
    # under --no-resume, "the same command" would drop the state and start over
    with monkeypatch.context() as mp:
        _interrupt_at(mp, 5)
        noresume = [*argv[:8], str(tmp_path / "nr"), *argv[9:], "--no-resume"]
        assert main(noresume) == 130
    assert "last: vbpr, epoch 4 of 6): run the command without --no-resume again" in (
        capsys.readouterr().err
    )
    # interrupted before any save: no resume is promised
    with monkeypatch.context() as mp:
        mp.setattr(_checkpoint, "SAVE_EVERY_S", 3600.0)
        _interrupt_at(mp, 2)
        other = [*argv[:8], str(tmp_path / "other"), *argv[9:]]
        assert main(other) == 130
    assert "interrupted before the training state was first saved" in capsys.readouterr().err
    # other settings into the same -o, stopped before their own first save: the folder
    # holds the first run's state, but this command's rerun would start over
    with monkeypatch.context() as mp:
        mp.setattr(_checkpoint, "SAVE_EVERY_S", 3600.0)
        _interrupt_at(mp, 2)
        assert main([*argv, "--seed", "7"]) == 130
    err = capsys.readouterr().err
    assert "checkpoint of other data or settings, starting over" in err
    assert "interrupted before the training state was first saved" in err

    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "resuming vbpr at epoch 5 of 6" in captured.err
    # the fit seconds are this run's part only: said, in the line and in train.json
    assert re.search(r"fit \d+\.\d s \(the resumed part\), total", captured.out)
    assert json.loads((out / "train.json").read_text())["fit_resumed"] is True
    assert not checkpoint_folder(out).exists()  # removed once the model is saved
    resumed = np.load(out / "arrays.npz")["item_factors_"]

    assert main([*argv[:-1], "--no-resume"]) == 0  # a plain fit from scratch, for reference
    np.testing.assert_array_equal(np.load(out / "arrays.npz")["item_factors_"], resumed)
    assert "(the resumed part)" not in capsys.readouterr().out
    assert json.loads((out / "train.json").read_text())["fit_resumed"] is False

    # changed data: the saved state is not used
    with monkeypatch.context() as mp:
        _interrupt_at(mp, 5)
        assert main(argv) == 130
    train.write_text(train.read_text() + "new_user,new_item\n")
    capsys.readouterr()
    assert main(argv) == 0
    assert "checkpoint of other data or settings, starting over" in capsys.readouterr().err


def test_an_input_replaced_while_it_was_read_keys_no_saved_state(
    data: tuple[Interactions, ItemVectors],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the key was taken after the read: a state of the old data saved under the new
    # file's key, and a rerun on the new file resumed it into a mix of both
    from visrec.commands import train as train_cmd

    csv, _ = _train_files(data, tmp_path)
    real = train_cmd.load_interactions_frame

    def read_then_replace(*args: Any, **kwargs: Any) -> pd.DataFrame:
        frame = real(*args, **kwargs)
        csv.write_text(csv.read_text() + "late_user,late_item\n")  # after the read
        return frame

    monkeypatch.setattr(train_cmd, "load_interactions_frame", read_then_replace)
    monkeypatch.setattr(_checkpoint, "SAVE_EVERY_S", 0.0)
    out = tmp_path / "model"
    argv = ["train", "--model", "bpr", "--interactions", str(csv), "-o", str(out),
            "--param", "epochs=4", "--quiet"]  # fmt: skip
    with monkeypatch.context() as mp:
        _interrupt_at(mp, 3)
        assert main(argv) == 130
    err = capsys.readouterr().err
    assert "note: an input file changed while it was read; no training state is kept" in err
    assert "interrupted: an input changed, so no training state was kept" in err
    assert not checkpoint_folder(out).exists()


def test_a_fit_that_removes_another_fits_saved_state_says_so(
    data: tuple[Interactions, ItemVectors],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv, vec = _train_files(data, tmp_path)
    out = tmp_path / "model"
    common = ["--interactions", str(csv), "-o", str(out), "--param", "epochs=4", "--quiet"]
    monkeypatch.setattr(_checkpoint, "SAVE_EVERY_S", 0.0)
    with monkeypatch.context() as mp:
        _interrupt_at(mp, 3)
        assert main(["train", "--model", "vbpr", "--vectors", str(vec), *common]) == 130
    assert (checkpoint_folder(out) / "vbpr.pt").is_file()
    capsys.readouterr()
    assert main(["train", "--model", "bpr", *common]) == 0
    assert (
        f"note: removed the saved training state of an interrupted fit of another model, data "
        f"or settings into this folder ({checkpoint_folder(out)}: vbpr.pt); its command will "
        "start over"
    ) in capsys.readouterr().err
    # a fit that resumed its own state names nothing
    with monkeypatch.context() as mp:
        _interrupt_at(mp, 3)
        assert main(["train", "--model", "bpr", *common, "--seed", "3"]) == 130
    capsys.readouterr()
    assert main(["train", "--model", "bpr", *common, "--seed", "3"]) == 0
    assert "removed the saved training state" not in capsys.readouterr().err


def test_damaged_state_that_loads_is_an_error(
    data: tuple[Interactions, ItemVectors], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    inter, _ = data
    _fit_interrupted(monkeypatch, tmp_path, "k", 3, "bpr", {"epochs": 5}, inter)

    state = torch.load(tmp_path / "bpr.pt", weights_only=True)
    state["opts"][0]["state"] = {0: {"step": "x"}}  # shapes fit, contents do not
    torch.save(state, tmp_path / "bpr.pt")
    with (
        pytest.raises(VisrecError, match="damaged training checkpoint"),
        _checkpoint.checkpointing(tmp_path, "k", every_s=0),
    ):
        make_model("bpr", epochs=5).fit(inter)


def test_a_save_that_fails_does_not_stop_the_fit(
    data: tuple[Interactions, ItemVectors], tmp_path: Path
) -> None:
    # a file where the state folder goes (as a read-only or full disk would): one note,
    # and the fit ends as an uninterrupted one
    inter, _ = data
    whole = make_model("bpr", epochs=4).fit(inter)
    blocked = tmp_path / ".model.checkpoint"
    blocked.write_text("in the way")
    notes: list[str] = []
    with _checkpoint.checkpointing(blocked, "k", every_s=0, log=notes.append):
        fitted = make_model("bpr", epochs=4).fit(inter)
    assert len(notes) == 1 and notes[0].startswith(
        f"note: cannot save the training state in {blocked}"
    )
    np.testing.assert_array_equal(fitted.item_factors_, whole.item_factors_)


def _write_train_csv(inter: Interactions, path: Path) -> None:
    users, items = inter.user_map.ids[inter.user_idx], inter.item_map.ids[inter.item_idx]
    pd.DataFrame({"user_id": users, "item_id": items}).to_csv(path, index=False)


def test_cli_no_resume_removes_a_file_in_the_way(
    data: tuple[Interactions, ItemVectors],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    train = tmp_path / "train.csv"
    _write_train_csv(data[0], train)
    out = tmp_path / "model"
    checkpoint_folder(out).write_text("in the way")
    monkeypatch.setattr(_checkpoint, "SAVE_EVERY_S", 0.0)
    argv = ["train", "--model", "bpr", "--interactions", str(train), "-o", str(out),
            "--param", "epochs=3", "--quiet"]  # fmt: skip
    assert main(argv) == 0  # the save fails with a note; the model is still saved
    assert "cannot save the training state" in capsys.readouterr().err
    assert main([*argv, "--no-resume"]) == 0
    assert not checkpoint_folder(out).exists()


def test_fit_key_sees_a_file_edited_inside_a_dataset_folder(tmp_path: Path) -> None:
    import argparse
    import os

    from visrec.commands.train import _fit_key

    folder = tmp_path / "ml"
    folder.mkdir()
    udata = folder / "u.data"
    udata.write_text("1\t10\t5\t100\n2\t20\t4\t200\n")
    args = argparse.Namespace(model="bpr", interactions=str(folder), vectors=None, min_rating=None)
    before = _fit_key(args, {"epochs": 3})
    folder_times = os.stat(folder).st_mtime_ns
    udata.write_text("1\t20\t5\t100\n2\t10\t4\t200\n")  # same size, other pairs
    os.utime(udata, ns=(1, 1))
    assert os.stat(folder).st_mtime_ns == folder_times  # the folder itself looks unchanged
    assert _fit_key(args, {"epochs": 3}) != before
    # the same file named relatively gives the same key
    rel = argparse.Namespace(
        model="bpr", interactions=os.path.relpath(folder), vectors=None, min_rating=None
    )
    assert _fit_key(rel, {"epochs": 3}) == _fit_key(args, {"epochs": 3})


@pytest.mark.parametrize("name", ["bpr", "vbpr"])
def test_a_state_saved_by_the_autograd_step_resumes_under_the_hand_written_one(
    name: str,
    data: tuple[Interactions, ItemVectors],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Checkpoints hold SparseAdam's state whichever step made it: a fit interrupted
    while the lazy path ran through autograd (visrec before the hand-written steps)
    resumes under lazy_step and ends where an uninterrupted fit does (up to rounding)."""
    from visrec.models import _fit_torch

    monkeypatch.setattr(_train, "LAZY_ROWS_PER_BATCH", 0)
    params = {"epochs": 5, "batch_size": 64}
    module = _fit_torch._VBPRModule if name == "vbpr" else _fit_torch._BPRModule
    whole = make_model(name, **params).fit(*data)
    with monkeypatch.context() as mp:
        mp.setattr(module, "lazy_step", None)  # the autograd path saves the state
        _fit_interrupted(mp, tmp_path, "key", 4, name, params, *data)
    notes: list[str] = []
    with _checkpoint.checkpointing(tmp_path, "key", every_s=0, log=notes.append):
        resumed = make_model(name, **params).fit(*data)
    assert notes == [f"resuming {name} at epoch 4 of 5 (from {tmp_path / (name + '.pt')})"]
    for attr in resumed._array_attrs:
        np.testing.assert_allclose(
            getattr(resumed, attr), getattr(whole, attr), rtol=0, atol=1e-5, err_msg=attr
        )


def test_a_checkpoint_damaged_on_disk_or_holding_huge_values_starts_over(
    data: tuple[Interactions, ItemVectors], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # torch.load does not check the zip's CRCs: a flipped byte in a tensor was resumed
    # from, and the saved model was not the one an uninterrupted fit gives
    import zipfile

    import torch

    inter, _ = data
    whole = make_model("bpr", epochs=5).fit(inter)
    _fit_interrupted(monkeypatch, tmp_path, "k", 3, "bpr", {"epochs": 5}, inter)
    path = tmp_path / "bpr.pt"
    with zipfile.ZipFile(path) as zf:  # the largest member: a tensor's bytes, stored
        big = max(zf.infolist(), key=lambda i: i.file_size)
        assert big.compress_type == zipfile.ZIP_STORED
    raw = bytearray(path.read_bytes())
    head = big.header_offset  # the local header's own name and extra (padding) lengths
    start = head + 30 + int.from_bytes(raw[head + 26 : head + 28], "little")
    start += int.from_bytes(raw[head + 28 : head + 30], "little")
    raw[start + big.file_size // 2] ^= 0x40
    path.write_bytes(bytes(raw))
    notes: list[str] = []
    with _checkpoint.checkpointing(tmp_path, "k", every_s=0, log=notes.append):
        again = make_model("bpr", epochs=5).fit(inter)
    assert len(notes) == 1 and f"{path}: damaged training checkpoint (" in notes[0]
    assert notes[0].endswith("), starting over")
    np.testing.assert_array_equal(again.item_factors_, whole.item_factors_)

    path.unlink()  # the finished fit's state: nothing left to interrupt
    _fit_interrupted(monkeypatch, tmp_path, "k", 3, "bpr", {"epochs": 5}, inter)
    state = torch.load(path, weights_only=True)
    name = next(n for n, t in state["module"].items() if t.is_floating_point())
    state["module"][name].view(-1)[0] = 1e30  # intact file, a value no fit saves
    torch.save(state, path)
    notes.clear()
    with _checkpoint.checkpointing(tmp_path, "k", every_s=0, log=notes.append):
        again = make_model("bpr", epochs=5).fit(inter)
    assert notes == [f"note: {path}: checkpoint does not fit this fit, starting over"]
    np.testing.assert_array_equal(again.item_factors_, whole.item_factors_)
