"""Session 60 mutation audit of ``visrec train`` (src/visrec/commands/train.py).

36 hand-made mutants of the argument checks, the vectors checks, the model-folder
checks and swap, checkpoints/resume, train.json and what is printed: 28 killed by the
existing tests, 8 survived them and are killed here (none equivalent; a mutant of the
folder-permission check was not tried: the suite runs as root). No bug found.

Each test names the mutant it kills; all run popularity (no PyTorch) on a few rows.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pytest

from visrec.cli import main
from visrec.commands import train as train_cmd
from visrec.embed.store import ItemVectors, write_vectors


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("user_id,item_id,rating\nu1,i1,5\nu1,i2,2\nu2,i1,4\nu2,i3,1\n")
    return path


def _argv(csv: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--model", "popularity", "--interactions", str(csv), "-o", str(out), *extra]


def _vectors(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "v.parquet"
    vec = np.random.default_rng(0).random((len(ids), 4)).astype(np.float32)
    write_vectors(path, ItemVectors(np.asarray(ids), vec, np.ones(len(ids), bool)))
    return path


def test_a_picture_model_without_vectors_names_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # mutant: the `elif model.uses_vectors: raise ...` check dropped (the fit's own
    # error then speaks of the Python API's item_vectors, not of --vectors)
    argv = ["train", "--model", "vbpr", "--interactions", str(_csv(tmp_path)), "-o",
            str(tmp_path / "m")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == "error: model 'vbpr' needs item vectors: pass --vectors V.parquet\n"
    assert not (tmp_path / "m").exists()


def test_vectors_given_to_a_model_without_pictures_are_said_unused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # mutant: the wording of "does not use --vectors" changed
    vec = _vectors(tmp_path, ["i1", "i2", "i3"])
    assert main(_argv(_csv(tmp_path), tmp_path / "m", "--vectors", str(vec), "-q")) == 0
    assert "note: model 'popularity' does not use --vectors\n" in capsys.readouterr().err


def test_a_fit_into_a_log_says_it_started_unless_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # mutant: `not show_progress(args)` flipped (the line shown with a bar, never in a log)
    csv = _csv(tmp_path)
    assert main(_argv(csv, tmp_path / "m")) == 0
    err = capsys.readouterr().err
    assert "training popularity on 2 users x 3 items (4 rows) ...\n" in err
    assert main(_argv(csv, tmp_path / "m", "--quiet")) == 0
    assert "training popularity" not in capsys.readouterr().err


def test_the_last_line_names_the_counts_and_the_model_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # mutants: "-> {out}" dropped from the summary; "(the resumed part)" always empty is
    # pinned elsewhere (test_train_checkpoint)
    out = tmp_path / "m"
    assert main(_argv(_csv(tmp_path), out, "-q")) == 0
    line = capsys.readouterr().out
    assert re.fullmatch(
        r"trained popularity: 2 users, 3 items, 4 rows \(4 distinct pairs\); "
        rf"fit \d+\.\d s, total \d+\.\d s -> {re.escape(str(out))}\n",
        line,
    )


def test_many_foreign_files_are_counted_after_the_first_five(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # mutant: "and {len(other) - 5} more" off by one
    csv, out = _csv(tmp_path), tmp_path / "m"
    assert main(_argv(csv, out, "-q")) == 0
    for k in range(8):
        (out / f"f{k}.txt").write_text("x")
    assert main(_argv(csv, out, "-q")) == 2
    assert "also holds f0.txt, f1.txt, f2.txt, f3.txt, f4.txt and 3 more, which" in (
        capsys.readouterr().err
    )


def _args(csv: Path, **kw: object) -> argparse.Namespace:
    base: dict[str, object] = {"model": "popularity", "interactions": str(csv), "vectors": None,
                               "min_rating": None, "sep": None, "user_col": None,
                               "item_col": None, "rating_col": None, "time_col": None}  # fmt: skip
    base.update(kw)
    return argparse.Namespace(**base)


def test_the_resume_key_covers_min_rating_and_the_layout(tmp_path: Path) -> None:
    # mutants: "min_rating" or "layout" left out of the fit key (a rerun with another
    # --min-rating or --item-col resumed the state of other data)
    csv = _csv(tmp_path)
    plain = train_cmd._fit_key(_args(csv), {})
    assert train_cmd._fit_key(_args(csv), {}) == plain
    assert train_cmd._fit_key(_args(csv, min_rating=4.0), {}) != plain
    assert train_cmd._fit_key(_args(csv, item_col="rating"), {}) != plain


def test_a_dataset_folder_is_not_a_stream(tmp_path: Path) -> None:
    # mutant: _is_stream true for a folder (an Amazon reviews folder kept no state)
    assert not train_cmd._is_stream(str(tmp_path))
    assert not train_cmd._is_stream(str(_csv(tmp_path)))
    assert not train_cmd._is_stream(str(tmp_path / "missing"))


def test_a_single_training_item_without_a_vector_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # mutant: `if missing:` as `if missing > 1:` (one item fitted without a picture, unsaid)
    from visrec.embed.store import read_vectors

    vec = read_vectors(_vectors(tmp_path, ["i1", "i2"]))
    items = np.asarray(["i1", "i2", "i3"], dtype=object)
    train_cmd.check_training_vectors(vec, items, "v.parquet", "t.csv", "EFFECT")
    assert capsys.readouterr().err == (
        "note: v.parquet: 1 of 3 training items have no image vector (EFFECT) ('i3')\n"
    )


def test_a_failed_save_names_the_users_folder_not_the_hidden_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mutant: the OSError's filename left naming the removed temporary folder
    import errno

    import pandas as pd

    from visrec.data.interactions import Interactions
    from visrec.models.registry import make_model

    frame = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["i1", "i2"]})
    model = make_model("popularity").fit(Interactions.from_frame(frame))

    def full(path: Path, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(train_cmd, "write_text_atomic", full)
    out = tmp_path / "m"
    with pytest.raises(OSError) as info:
        train_cmd.save_model_folder(model, out, {})
    assert info.value.filename == str(out / "train.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_dangling_link_as_model_folder_is_said_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the audit's observation, mended: "dang exists and is not a visrec model folder"
    inter = tmp_path / "t.csv"
    inter.write_text("user_id,item_id\nu1,a\nu2,b\n")
    link = tmp_path / "dang"
    link.symlink_to(tmp_path / "nowhere")
    argv = ["train", "--model", "popularity", "--interactions", str(inter), "-o", str(link)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is a link to" in err and "which does not exist" in err and "exists and" not in err
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()
