"""Where commands write: ``train -o`` never deletes a folder it did not write, output
paths that are folders are one-line errors (found by a new-user walkthrough)."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import pytest

from visrec.cli import main


@pytest.fixture()
def train_csv(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    path.write_text("user_id,item_id\nu1,i1\nu1,i2\nu2,i1\nu2,i3\nu3,i2\nu3,i3\n")
    return path


def _train(train_csv: Path, out: Path | str) -> list[str]:
    return ["train", "--model", "popularity", "--interactions", str(train_csv), "-o", str(out)]


# ------------------------------------------------------------------ train -o
def test_train_refuses_a_folder_it_did_not_write(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "sub").mkdir(parents=True)
    (scratch / "keep.txt").write_text("important")
    assert main(_train(train_csv, scratch)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {scratch} exists and is not a visrec model folder (")
    assert err.count("\n") == 1
    assert (scratch / "keep.txt").read_text() == "important"
    assert (scratch / "sub").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch", "train.csv"]


def test_train_refuses_a_folder_with_a_foreign_model_json(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.json").write_text('{"name": "someone else\'s"}')
    assert main(_train(train_csv, other)) == 2
    assert "is not a visrec model folder" in capsys.readouterr().err
    assert (other / "model.json").exists()


def test_train_refuses_a_file(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep")
    assert main(_train(train_csv, target)) == 2
    err = capsys.readouterr().err
    assert f"{target} exists and is not a visrec model folder (it is a file)" in err
    assert target.read_text() == "keep"


def test_train_checks_the_folder_before_training(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "keep.txt").write_text("x")
    # the interactions file is missing too: the -o check comes first, before any load
    argv = _train(tmp_path / "missing.csv", scratch)
    assert main(argv) == 2
    assert "is not a visrec model folder" in capsys.readouterr().err


def test_train_uses_an_empty_folder_and_replaces_its_own(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert main(_train(train_csv, out)) == 0
    assert (out / "model.json").is_file() and (out / "train.json").is_file()
    assert main(_train(train_csv, out)) == 0  # a model folder: replaced whole
    assert sorted(p.name for p in out.iterdir()) == ["arrays.npz", "model.json", "train.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    (out / "stale.txt").write_text("x")  # not the model's: replacing would delete it
    capsys.readouterr()
    assert main(_train(train_csv, out)) == 2
    assert "also holds stale.txt" in capsys.readouterr().err
    assert (out / "stale.txt").read_text() == "x"


@pytest.mark.parametrize("target", [".", "..", "sub/.."])
def test_train_refuses_the_current_folder_and_its_parents(
    target: str,
    train_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    monkeypatch.chdir(work)
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir(work))
    assert main(_train(train_csv, target)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {Path(target)}: is the current folder or one above it")
    assert "Traceback" not in err
    assert (sorted(os.listdir(tmp_path)), sorted(os.listdir(work))) == before


# ------------------------------------------------------------------ evaluate
def _evaluate(train_csv: Path, *extra: str) -> list[str]:
    return ["evaluate", "--interactions", str(train_csv), "--models", "popularity", "--quiet",
            "--k", "2", *extra]  # fmt: skip


@pytest.mark.parametrize("size", ["0", "-3"])
def test_evaluate_batch_size_must_be_positive(
    size: str, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_evaluate(train_csv, "--batch-size", size)) == 2
    assert capsys.readouterr().err == f"error: --batch-users must be at least 1, got {size}\n"


def test_evaluate_one_seed_prints_no_spread(
    train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_evaluate(train_csv, "--seeds", "1")) == 0
    out = capsys.readouterr().out
    assert "±" not in out and "seeds 1" not in out
    assert "1 seed (no spread)" in out
    assert main(_evaluate(train_csv, "--seeds", "2")) == 0
    out = capsys.readouterr().out
    assert "seeds 2 (mean ± std)" in out and " ± 0." in out


@pytest.mark.parametrize("protocol", ["warm", "time"])
def test_evaluate_reads_amazon_reviews_with_photo_lists(
    protocol: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Amazon frames carry lists of photo URLs; the resume record's content hash once
    # crashed on them ("unhashable type: 'list'") whenever all columns were kept (time).
    reviews = [
        {"overall": 5.0, "reviewerID": f"U{u}", "asin": f"B{(u + j) % 7}",
         "unixReviewTime": 1000 * u + j, "image": [f"http://x/{u}_{j}.jpg"]}
        for u in range(12) for j in range(4)
    ]  # fmt: skip
    path = tmp_path / "Reviews_5.json.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in reviews).encode()))
    argv = ["evaluate", "--interactions", str(path), "--protocol", protocol,
            "--models", "popularity", "--seeds", "1", "--k", "2", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert f"protocol {protocol}:" in out and "\npopularity " in out


# ------------------------------------------------------------------ output files
def test_atomic_writers_refuse_a_folder(tmp_path: Path) -> None:
    from visrec._atomic import OutputPathError, atomic_path, write_text_atomic
    from visrec.errors import VisrecError

    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(VisrecError, match=r"^output path '.*out' is a directory; name a file$"):
        write_text_atomic(folder, "x")
    with pytest.raises(IsADirectoryError), atomic_path(folder):  # still an OSError
        pass
    assert issubclass(OutputPathError, VisrecError)
    assert os.listdir(folder) == [] and sorted(os.listdir(tmp_path)) == ["out"]  # no temp
    (tmp_path / "f").write_text("a file")
    with pytest.raises(VisrecError, match=r"'.*f' is a file, not a folder"):
        write_text_atomic(tmp_path / "f" / "sub" / "x.json", "x")
    assert (tmp_path / "f").read_text() == "a file"


def test_check_output_file(tmp_path: Path) -> None:
    from visrec.commands._common import check_output_file
    from visrec.errors import VisrecError

    check_output_file(None, "--json")
    check_output_file(tmp_path / "new" / "r.json", "--json")  # missing folders are made later
    with pytest.raises(VisrecError, match=r"^--json: output path '.*' is a directory; name a"):
        check_output_file(tmp_path, "--json")


def test_evaluate_json_folder_fails_before_the_run(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    # the interactions file is missing too: the --json check comes first
    assert main(_evaluate(tmp_path / "missing.csv", "--json", str(folder))) == 2
    err = capsys.readouterr().err
    assert err == f"error: --json: output path '{folder}' is a directory; name a file\n"
    assert os.listdir(folder) == []


def test_recommend_output_folder_is_a_one_line_error(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model"
    assert main(_train(train_csv, model)) == 0
    capsys.readouterr()  # train's own lines
    folder = tmp_path / "recs"
    folder.mkdir()
    assert main(["recommend", str(model), "-o", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is a directory" in err and "Traceback" not in err
    assert os.listdir(folder) == []


@pytest.fixture
def saved_model(tmp_path: Path) -> tuple[object, Path]:
    """A fitted popularity model and the folder it was saved to with ``{"run": 1}``."""
    import pandas as pd

    from visrec.commands import train as train_cmd
    from visrec.data.interactions import Interactions
    from visrec.models.popularity import Popularity

    frame = pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"]})
    model = Popularity().fit(Interactions.from_frame(frame))
    out = tmp_path / "m"
    train_cmd.save_model_folder(model, out, {"run": 1})
    return model, out


def test_save_model_folder_keeps_the_old_model_when_the_swap_fails(
    saved_model: tuple[object, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from visrec.commands import train as train_cmd

    model, out = saved_model
    monkeypatch.setattr(train_cmd, "_exchange", lambda a, b: False)  # the two-rename path
    before = sorted(p.name for p in out.iterdir())
    real_replace = os.replace

    def fail_onto_out(src: object, dst: object) -> None:
        if Path(str(dst)) == out and ".old." not in str(src):
            raise OSError("disk full")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(train_cmd.os, "replace", fail_onto_out)
    with pytest.raises(OSError, match="disk full"):
        train_cmd.save_model_folder(model, out, {"run": 2})
    assert sorted(p.name for p in out.iterdir()) == before
    assert json.loads((out / "train.json").read_text())["run"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["m"], "no temporary folders left"


def test_save_model_folder_names_the_parked_model_when_it_cannot_restore(
    saved_model: tuple[object, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from visrec.commands import train as train_cmd
    from visrec.errors import VisrecError

    model, out = saved_model
    monkeypatch.setattr(train_cmd, "_exchange", lambda a, b: False)  # the two-rename path
    real_replace = os.replace
    moves: list[str] = []

    def only_first_move(src: object, dst: object) -> None:
        # os.replace is patched module-wide: count only the folder swaps, not the
        # atomic file writes of model.save
        if out in (Path(str(src)), Path(str(dst))):
            moves.append(str(src))
            if len(moves) > 1:  # the swap and the restore both fail
                raise OSError("I/O error")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(train_cmd.os, "replace", only_first_move)
    with pytest.raises(VisrecError, match="the previous model is in") as err:
        train_cmd.save_model_folder(model, out, {"run": 2})
    # the message ends with the parked folder's path (which may hold a space)
    parked = Path(re.sub(r"^.*the previous model is in ", "", str(err.value)))
    assert json.loads((parked / "train.json").read_text())["run"] == 1


def test_leftovers_of_killed_writes_are_swept_once_stale(
    saved_model: tuple[object, Path], tmp_path: Path
) -> None:
    import time

    from visrec import _atomic
    from visrec.commands import train as train_cmd

    # a kill -9 mid-write leaves .NAME.<random>.tmp (a file) or .NAME.<8 chars> (a model
    # folder being saved); the next write of the same name removes them once stale
    target = tmp_path / "out.json"
    old_file = tmp_path / ".out.json.0123456789ab.tmp"
    new_file = tmp_path / ".out.json.ba9876543210.tmp"
    other = tmp_path / ".other.json.0123456789ab.tmp"
    for f in (old_file, new_file, other):
        f.write_text("partial")
    hour_ago = time.time() - _atomic.STALE_AFTER_S - 60
    for f in (old_file, other):
        os.utime(f, (hour_ago, hour_ago))
    with _atomic.atomic_path(target) as tmp:  # no sweep by default (fetch's cache)
        tmp.write_text("{}")
    assert old_file.exists()
    _atomic.write_text_atomic(target, "{}")  # a report, a JSON, a vectors file: swept
    assert not old_file.exists() and new_file.exists() and other.exists()

    model, out = saved_model
    stale = out.parent / f".{out.name}.visrec-save-abcd_123"
    backup = out.parent / f".{out.name}.20261130"  # the user's own (was removed)
    parked = out.parent / f".{out.name}.old.abcd1234"  # an error named it: kept
    ckpt = out.parent / f".{out.name}.checkpoint"
    for d in (stale, backup, parked, ckpt):
        d.mkdir()
        (d / "model.json").write_text("{}")
        os.utime(d, (hour_ago, hour_ago))
    train_cmd.save_model_folder(model, out, {"run": 2})
    assert not stale.exists() and parked.exists() and ckpt.exists() and backup.exists()


def test_train_holding_the_output_removes_a_killed_saves_folder_at_once(
    saved_model: tuple[object, Path], train_csv: Path
) -> None:
    # a save killed a minute ago: only the lock's holder knows nobody is writing it
    from visrec.commands import train as train_cmd

    model, out = saved_model
    fresh = out.parent / f".{out.name}.visrec-save-k1ll3d_x"
    backup = out.parent / f".{out.name}.k1ll3d_x"  # a name a user could give
    backup.mkdir()
    fresh.mkdir()
    (fresh / "arrays.npz").write_bytes(b"partial")
    train_cmd.save_model_folder(model, out, {"run": 2})  # no lock held: kept
    assert fresh.exists()
    assert main(_train(train_csv, out)) == 0
    assert not fresh.exists()
    hidden = sorted(p.name for p in out.parent.iterdir() if p.name.startswith("."))
    assert hidden == [backup.name]
