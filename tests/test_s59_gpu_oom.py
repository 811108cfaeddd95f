"""torch out of GPU memory is one line naming what was asked, not a traceback (its
error is a RuntimeError, which the CLI's MemoryError line did not cover). No GPU here:
torch's own error is raised where the GPU would run out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from tiny_embed import image_folder
from visrec.cli import main
from visrec.embed.engines import TorchEngine
from visrec.models.bpr import BPR

CUDA_OOM = (
    "CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of "
    "79.10 GiB of which 7.31 GiB is free. Including non-PyTorch memory, this process has "
    "71.78 GiB memory in use. Of the allocated memory 70.1 GiB is allocated by PyTorch. "
    "If reserved but unallocated memory is large try setting "
    "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.\n"
    "See documentation for Memory Management"
)


def _oom(*args: Any, **kwargs: Any) -> Any:
    raise torch.OutOfMemoryError(CUDA_OOM)


def _one_error_line(err: str) -> str:
    # the last line, after train's start lines ("training bpr on ...")
    lines = err.strip().splitlines()
    assert "Traceback" not in err and sum(line.startswith("error") for line in lines) == 1, err
    return lines[-1]


def test_train_out_of_gpu_memory_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "train.csv"
    pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["a", "b", "a"]}).to_csv(
        train, index=False
    )
    monkeypatch.setattr(BPR, "fit", _oom)
    out = tmp_path / "m"
    rc = main(["train", "--model", "bpr", "--interactions", str(train), "-o", str(out)])
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 1
    assert line == (
        "error: out of GPU memory (CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 "
        "has a total capacity of 79.10 GiB of which 7.31 GiB is free); ask for less (e.g. "
        "fewer factors, a smaller batch), free the GPU, or run on the CPU (--device cpu, "
        "or --param device=cpu for a model)"
    )
    assert not (out / "model.json").exists()


def test_embed_out_of_gpu_memory_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = image_folder(tmp_path / "img", 3)
    monkeypatch.setattr(TorchEngine, "__call__", _oom)
    out = tmp_path / "v.parquet"
    rc = main(["embed", str(folder), "-o", str(out), "--engine", "torch", "--no-progress"])
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 1 and line.startswith("error: out of GPU memory (CUDA out of memory. "), line
    assert not out.exists()


@pytest.mark.parametrize(
    "text",
    ["MPS backend out of memory (MPS allocated: 1.00 GB, other allocations: 2.00 GB)."],
)
def test_mps_out_of_memory_is_one_line(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def mps_oom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(text)

    train = tmp_path / "train.csv"
    train.write_text("user_id,item_id\nu1,a\nu2,b\n")
    monkeypatch.setattr(BPR, "fit", mps_oom)
    rc = main(["train", "--model", "bpr", "--interactions", str(train), "-o", str(tmp_path / "m")])
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 1
    assert line.startswith(f"error: out of GPU memory ({text.rstrip('.')}); ask for less")


def test_another_runtime_error_is_still_a_bug_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the GPU line must not swallow errors that merely mention memory
    def other(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("out of memory? no: a shape mismatch")

    train = tmp_path / "train.csv"
    train.write_text("user_id,item_id\nu1,a\nu2,b\n")
    monkeypatch.setattr(BPR, "fit", other)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        main(["train", "--model", "bpr", "--interactions", str(train), "-o", str(tmp_path / "m")])
