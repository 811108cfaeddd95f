"""Session 67 mutation audit of ``visrec train`` (src/visrec/commands/train.py).

42 hand-made mutants of the option checks, seed/param handling, the --min-rating
exclusions, train.json, the fit key, --no-resume, the model-folder checks and what is
printed (chosen away from session 60's). Old tests, run on test_s60_train_mutants,
test_train_checkpoint, test_command_mutation_gaps (+ test_train_recommend_cli for the
first 7): 21 mutants were run, 7 killed, 14 survived; 21 more were not run against them
(time) and were checked against the new tests only. The new tests here kill 12 of the
14 survivors and 14 of the 21 not-run ones. Equivalent: `except ValueError` for
`except TypeError` round the constructor (check_param_names rejects unknown names
first; no constructor raises TypeError on a value); `ckpt.last[-1]` for
`ckpt.last[0]` (the list is always set by slice assignment to one element). No bug
found.

Popularity (no PyTorch) where no random_state is needed; a one-epoch bpr on four rows
otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from test_s60_train_mutants import _args, _argv, _csv, _vectors
from visrec._atomic import side_prefix
from visrec.cli import main
from visrec.commands import train as train_cmd

BPR = ["--param", "epochs=1", "--param", "factors=2", "--param", "reg=0.01",
       "--param", "device=cpu"]  # fmt: skip


def _bpr_argv(csv: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--model", "bpr", "--interactions", str(csv), "-o", str(out), *BPR, *extra]


def _train_json(out: Path) -> dict[str, object]:
    data = json.loads((out / "train.json").read_text())
    assert isinstance(data, dict)
    return data


def test_a_blank_output_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant: the empty -o check without .strip(): -o '  ' trained into a folder named
    by two spaces."""
    monkeypatch.chdir(tmp_path)
    assert main(_argv(_csv(tmp_path), Path("  "), "-q")) == 2
    assert "-o: output path is empty" in capsys.readouterr().err
    assert not (tmp_path / "  ").exists()


def test_a_dash_as_output_is_no_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant: the -o '-' check compared with another string: a folder named '-'."""
    monkeypatch.chdir(tmp_path)
    assert main(_argv(_csv(tmp_path), Path("-"), "-q")) == 2
    assert "a model is a folder, not a stream" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()


def test_param_random_state_is_kept_without_seed(tmp_path: Path) -> None:
    """Mutant: the default random_state assigned over --param random_state=5."""
    out = tmp_path / "m"
    assert main(_bpr_argv(_csv(tmp_path), out, "--param", "random_state=5", "-q")) == 0
    data = _train_json(out)
    assert data["seed"] == 5
    params = data["params"]
    assert isinstance(params, dict) and params["random_state"] == 5


def test_the_default_seed_is_zero(tmp_path: Path) -> None:
    """Mutant: random_state defaulting to 1 where --help says 0."""
    out = tmp_path / "m"
    assert main(_bpr_argv(_csv(tmp_path), out, "-q")) == 0
    assert _train_json(out)["seed"] == 0


def test_seed_zero_on_popularity_is_said_to_change_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant: `elif args.seed:` (--seed 0 on a model without randomness unsaid)."""
    assert main(_argv(_csv(tmp_path), tmp_path / "m", "--seed", "0", "-q")) == 0
    err = capsys.readouterr().err
    assert "note: model 'popularity' has no randomness: --seed does not change it\n" in err


def test_popularity_records_no_seed(tmp_path: Path) -> None:
    """Mutant: train.json "seed" taken from --seed, though popularity has none."""
    out = tmp_path / "m"
    assert main(_argv(_csv(tmp_path), out, "--seed", "3", "-q")) == 0
    assert _train_json(out)["seed"] is None


def test_param_verbose_false_is_kept_with_a_bar(tmp_path: Path) -> None:
    """Mutant: verbose=True forced over --param verbose=false whenever a bar shows."""
    out = tmp_path / "m"
    assert main(_bpr_argv(_csv(tmp_path), out, "-v", "--param", "verbose=false")) == 0
    params = _train_json(out)["params"]
    assert isinstance(params, dict) and params["verbose"] is False


def test_a_single_pair_rated_below_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutants: `if n_excluded > 1:` (one excluded pair went unsaid); pairs of an item
    the model does not know kept (`|` for `&`); train.json's min_rating or its count of
    excluded pairs wrong."""
    csv = tmp_path / "t.csv"
    # kept: u1-i1, u2-i2; below: u1-i2 (both known to the model) and u2-i9 (i9 unknown)
    csv.write_text("user_id,item_id,rating\nu1,i1,5\nu1,i2,2\nu2,i2,4\nu2,i9,1\n")
    out = tmp_path / "m"
    assert main(_argv(csv, out, "--min-rating", "3", "-q")) == 0
    err = capsys.readouterr().err
    assert (
        "--min-rating: the (user, item) pair rated below it is never recommended to its user\n"
    ) in err
    data = _train_json(out)
    assert (data["n_excluded_below_min_rating"], data["min_rating"]) == (1, 3.0)


def test_train_json_names_inputs_by_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutants: train.json "interactions" / "vectors" kept as typed (relative), which
    names nothing once read from another folder."""
    _csv(tmp_path)
    _vectors(tmp_path, ["i1", "i2", "i3"])
    monkeypatch.chdir(tmp_path)
    assert main(_argv(Path("t.csv"), Path("m"), "--vectors", "v.parquet", "-q")) == 0
    data = _train_json(tmp_path / "m")
    assert data["interactions"] == str((tmp_path / "t.csv").resolve())
    assert data["vectors"] == str((tmp_path / "v.parquet").resolve())


def test_n_rows_counts_duplicate_rows(tmp_path: Path) -> None:
    """Mutant: train.json "n_rows" as the distinct pairs."""
    csv = tmp_path / "t.csv"
    csv.write_text("user_id,item_id\nu1,i1\nu1,i1\nu2,i1\n")
    out = tmp_path / "m"
    assert main(_argv(csv, out, "-q")) == 0
    data = _train_json(out)
    assert (data["n_rows"], data["n_pairs"]) == (3, 2)


def test_no_resume_removes_a_dangling_link_in_the_state_place(tmp_path: Path) -> None:
    """Mutant: --no-resume removes only what exists (a dangling link there stayed)."""
    out = tmp_path / "m"
    ckpt = train_cmd.checkpoint_folder(out)
    ckpt.symlink_to(tmp_path / "nowhere")
    assert main(_argv(_csv(tmp_path), out, "--no-resume", "-q")) == 0
    assert not os.path.lexists(ckpt)


def test_the_fit_key_ignores_verbose_and_covers_the_vectors(tmp_path: Path) -> None:
    """Mutants: verbose in the fit key (a rerun from a terminal of a fit logged to a file
    started over); the vectors file left out of it (a fit resumed on other pictures)."""
    csv = _csv(tmp_path)
    assert train_cmd._fit_key(_args(csv), {"verbose": True}) == train_cmd._fit_key(
        _args(csv), {"verbose": False}
    )
    vec = _vectors(tmp_path, ["i1", "i2", "i3"])
    assert train_cmd._fit_key(_args(csv, vectors=str(vec)), {}) != train_cmd._fit_key(
        _args(csv), {}
    )


def test_a_folder_above_the_current_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant: only the current folder itself refused as -o, not one above it (the swap
    would move the process's own folder away)."""
    csv = _csv(tmp_path)
    sub = tmp_path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    assert main(_argv(csv, tmp_path, "-q")) == 2
    assert "is the current folder or one above it" in capsys.readouterr().err
    assert csv.exists()


def test_a_killed_saves_fresh_temporary_folder_goes_with_the_lock_held(tmp_path: Path) -> None:
    """Mutants: the sweep of killed saves' folders always waits for their age (or train
    says it is not the sole writer): a fresh leftover stayed beside the model."""
    out = tmp_path / "m"
    prefix = side_prefix(out.name, len(train_cmd.SAVE_TAG) + 8) + train_cmd.SAVE_TAG
    left = tmp_path / f"{prefix}abcd1234"
    left.mkdir()
    assert main(_argv(_csv(tmp_path), out, "-q")) == 0
    assert not left.exists()


def test_vectors_are_not_handed_to_a_model_without_pictures(tmp_path: Path) -> None:
    """Mutant: fit given the vectors whatever the model (popularity's model.json then
    described pictures it never used)."""
    out = tmp_path / "m"
    vec = _vectors(tmp_path, ["i1", "i2", "i3"])
    assert main(_argv(_csv(tmp_path), out, "--vectors", str(vec), "-q")) == 0
    assert json.loads((out / "model.json").read_text())["vector_meta"] is None


def test_a_file_as_model_folder_is_said_to_be_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant: an -o that is a plain file said to be "not a folder" only."""
    out = tmp_path / "m"
    out.write_text("x")
    assert main(_argv(_csv(tmp_path), out, "-q")) == 2
    err = capsys.readouterr().err
    assert f"{out} exists and is not a visrec model folder (it is a file)" in err
    assert out.read_text() == "x"


def test_a_linked_model_folder_is_named_as_typed_and_resolved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant: the last line names only the link, not the folder it was written to."""
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert main(_argv(_csv(tmp_path), link, "-q")) == 0
    assert capsys.readouterr().out.endswith(f" -> {link} (a link to {real})\n")
    assert link.is_symlink() and (real / "train.json").exists()


def test_what_validation_chose_goes_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant: the fit notes (reg=auto's choice) printed on stdout, which then holds
    more than the one summary line."""
    out = tmp_path / "m"
    csv = _csv(tmp_path)
    argv = ["train", "--model", "bpr", "--interactions", str(csv), "-o", str(out),
            "--param", "epochs=1", "--param", "factors=2", "--param", "device=cpu",
            "-q"]  # fmt: skip
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert cap.out.startswith("trained bpr:") and cap.out.count("\n") == 1
    assert "reg" in cap.err


def test_a_bad_param_value_is_refused_before_the_data_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant: model.check_params() dropped (a bad value found only mid-fit, after the
    data is read: here the missing file is said instead of the bad --param)."""
    argv = _bpr_argv(tmp_path / "missing.csv", tmp_path / "m", "--param", "epochs=-1", "-q")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "epochs" in err and "missing.csv" not in err
