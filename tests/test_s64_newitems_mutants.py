"""Session 64 mutation audit of ``visrec.commands._progress`` (the ``--verbose`` /
``--quiet`` flags and when bars or minute lines show), ``visrec.commands._checks`` (range
checks of numeric options) and ``visrec.commands._new_items`` (candidates unseen in
training, for ``visrec recommend``; session 58 audited part of it, see
``test_s58_new_items_mutants.py``).

75 hand-written mutants (16 in _progress, 15 in _checks, 44 in _new_items).
Killed by the existing tests: 7 + 10 + 23 = 40 (run against the targeted test files).
Survived: _progress 9, _checks 5, _new_items 10; 11 more _new_items mutants (``shared``'s
two halves, the lacking count and positions, the respelt wordings and return value,
_backbone, the far mask, "ranked last") ran out of time and met only this file.
Killed after these tests: every mutant but 2 equivalents:
- `{minimum:g}` -> `{minimum}` in check_at_least: every caller passes an int minimum,
  which formats the same both ways.
- read_vectors(vpath, only=[the unseen ids]) -> read_vectors(vpath): the same rows
  after ``align``; only the memory peak differs.

Each test names the mutant it kills.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from visrec import _progress_lines
from visrec.commands._checks import SEED_MAX, check_at_least, check_seed, check_seeds
from visrec.commands._new_items import (
    check_same_backbone,
    check_vector_dim,
    not_a_file,
    note_respelt_candidates,
    unseen_vectors,
)
from visrec.commands._progress import (
    add_no_bar_args,
    add_progress_args,
    check_quiet_params,
    fit_lines_in_logs,
    show_progress,
)
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError


class _Tty(io.StringIO):
    """A stderr that says it is (or is not) a terminal."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _ns(verbose: bool = False, quiet: bool = False) -> argparse.Namespace:
    return argparse.Namespace(verbose=verbose, quiet=quiet)


# --- _progress ----------------------------------------------------------------------


def _help_of(parser: argparse.ArgumentParser) -> str:
    return " ".join(parser.format_help().split())  # argparse wraps at the terminal width


def test_quiet_help_drops_the_article_of_what_it_hides() -> None:
    # kills: `what.removeprefix("a ").removeprefix("an ")` -> `what` ("no a progress bar")
    p = argparse.ArgumentParser()
    add_progress_args(p, what="a progress bar over the users")
    text = _help_of(p)
    assert "no progress bar over the users" in text
    assert "no a progress" not in text
    assert "show a progress bar over the users (default: only when stderr is a terminal)" in text
    q = argparse.ArgumentParser()
    add_progress_args(q, what="an hourly line")
    assert "no hourly line" in _help_of(q)


def test_a_given_quiet_help_is_kept() -> None:
    # kills: `if quiet_help is None` -> `is not None` (train's own --quiet help replaced)
    p = argparse.ArgumentParser()
    add_progress_args(p, what="progress bars", quiet_help="no bars, step lines or time")
    text = _help_of(p)
    assert "no bars, step lines or time" in text
    assert "show progress bars (default" in text


@pytest.mark.parametrize("flags", [["-v", "-q"], ["--verbose", "--no-progress"]])
def test_a_command_without_a_bar_refuses_verbose_with_quiet(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: add_no_bar_args's mutually exclusive group replaced by the parser itself
    p = argparse.ArgumentParser()
    add_no_bar_args(p)
    with pytest.raises(SystemExit) as exc:
        p.parse_args(flags)
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_command_without_a_bar_takes_no_progress_as_quiet() -> None:
    # kills: "--no-progress" dropped from add_no_bar_args (a script passing it to every
    # step failed on report / cluster / knn-rating / data with "unrecognized arguments")
    p = argparse.ArgumentParser()
    add_no_bar_args(p)
    args = p.parse_args(["--no-progress"])
    assert args.quiet is True and args.verbose is False


def test_a_command_without_a_bar_keeps_its_own_quiet_help() -> None:
    # kills: `help=quiet_help or "..."` -> the default text always (cluster's progress line)
    p = argparse.ArgumentParser()
    add_no_bar_args(p, "no progress line (the notes stay)")
    assert "no progress line (the notes stay)" in _help_of(p)
    q = argparse.ArgumentParser()
    add_no_bar_args(q)
    assert "this one draws no progress bar (its notes stay, on stderr)" in _help_of(q)


def test_no_bar_with_stderr_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    # kills: the `sys.stderr is None: return False` guard dropped (`2>&-` then raised
    # AttributeError on None.isatty, or drew bars into nothing with --verbose)
    monkeypatch.setattr(sys, "stderr", None)
    assert show_progress(_ns()) is False
    assert show_progress(_ns(verbose=True)) is False


@pytest.mark.parametrize(
    ("verbose", "quiet", "tty", "shown"),
    [
        (False, False, True, True),
        (False, False, False, False),
        (False, True, True, False),  # --quiet on a terminal
        (True, False, False, True),  # --verbose into a log file
    ],
)
def test_bars_show_on_a_terminal_or_with_verbose_never_with_quiet(
    monkeypatch: pytest.MonkeyPatch, verbose: bool, quiet: bool, tty: bool, shown: bool
) -> None:
    # kills: `args.verbose or (not args.quiet and tty)` -> `args.verbose or tty` and
    # -> `args.verbose and (...)`
    monkeypatch.setattr(sys, "stderr", _Tty(tty))
    assert show_progress(_ns(verbose, quiet)) is shown


def _lines_said(monkeypatch: pytest.MonkeyPatch, args: argparse.Namespace, tty: bool) -> str:
    err = _Tty(tty)
    monkeypatch.setattr(sys, "stderr", err)
    with fit_lines_in_logs(args):
        _progress_lines.say("fit: 3 of 8")
    return err.getvalue()


def test_minute_lines_only_into_a_log_file_without_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    # kills: `args.quiet or` dropped (--quiet into a log still wrote minute lines) and
    # `show_progress(args) or` dropped (a terminal with a bar got lines beside it too)
    assert _lines_said(monkeypatch, _ns(), tty=False) == "fit: 3 of 8\n"
    assert _lines_said(monkeypatch, _ns(quiet=True), tty=False) == ""
    assert _lines_said(monkeypatch, _ns(), tty=True) == ""
    assert _lines_said(monkeypatch, _ns(verbose=True), tty=False) == ""


def test_no_minute_lines_with_stderr_closed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: `or sys.stderr is None` dropped: print(file=None) writes to stdout, where
    # the recommendations or the JSON go
    monkeypatch.setattr(sys, "stderr", None)
    with fit_lines_in_logs(_ns()):
        _progress_lines.say("fit: 3 of 8")
    assert capsys.readouterr().out == ""


def test_quiet_beside_a_verbose_param_is_refused_only_for_true() -> None:
    check_quiet_params(_ns(quiet=True), {"verbose": False}, "--param verbose")
    check_quiet_params(_ns(quiet=False), {"verbose": True}, "--param verbose")
    check_quiet_params(argparse.Namespace(), {"verbose": True}, "--param verbose")
    with pytest.raises(VisrecError, match=r"^--quiet and --param verbose=true contradict"):
        check_quiet_params(_ns(quiet=True), {"verbose": True}, "--param verbose")


# --- _checks ------------------------------------------------------------------------


def test_seed_range_is_zero_to_two_to_the_32_minus_one() -> None:
    # kills: SEED_MAX 2**32 - 1 -> 2**32 or 2**31 - 1; `0 <= value` -> `1 <=`;
    # `value <= top` -> `<`
    assert SEED_MAX == 4294967295
    check_seed(0, "--seed")
    check_seed(2**31, "--seed")
    check_seed(4294967295, "--seed")
    with pytest.raises(VisrecError) as exc:
        check_seed(4294967296, "--seed")
    assert str(exc.value) == "--seed must be between 0 and 4294967295, got 4294967296"
    with pytest.raises(VisrecError, match=r"got -1$"):
        check_seed(-1, "--seed")


def test_the_last_of_several_seeds_must_be_in_range() -> None:
    # kills: `top = SEED_MAX - (count - 1)` -> `SEED_MAX - count` and -> `SEED_MAX`;
    # `{count - 1}` -> `{count}` in the message; `count > 1` -> `count > 2`
    check_seed(4294967293, "--random-state", count=3)  # seeds ..93, ..94, ..95
    with pytest.raises(VisrecError) as exc:
        check_seed(4294967294, "--random-state", count=3)
    assert str(exc.value) == (
        "--random-state must be between 0 and 4294967293 (with 3 seeds, the last one is "
        "--random-state + 2), got 4294967294"
    )
    with pytest.raises(VisrecError) as exc2:
        check_seed(4294967295, "--random-state", count=2)
    assert "(with 2 seeds, the last one is --random-state + 1)" in str(exc2.value)


@pytest.mark.parametrize("n", [1, 1000])
def test_seeds_from_one_to_a_thousand_pass(n: int) -> None:
    check_seeds(n)


@pytest.mark.parametrize("n", [0, 1001])
def test_seeds_outside_one_to_a_thousand_are_refused(n: int) -> None:
    # kills: SEEDS_MAX 1000 -> 1001; `1 <= value` -> `0 <=`; `<= SEEDS_MAX` -> `<`
    with pytest.raises(VisrecError) as exc:
        check_seeds(n)
    assert str(exc.value) == (
        f"--seeds must be between 1 and 1000 (each seed is a whole experiment), got {n}"
    )


def test_at_least_refuses_nan_and_says_values_briefly() -> None:
    # kills: `not value >= minimum` -> `value < minimum` (NaN passed: a NaN penalty);
    # `{value:g}` -> `{value}` ("got -1.0" for --reg -1)
    with pytest.raises(VisrecError, match=r"^--reg must be at least 0, got nan$"):
        check_at_least(math.nan, 0, "--reg")
    with pytest.raises(VisrecError) as exc:
        check_at_least(-1.0, 0, "--reg")
    assert str(exc.value) == "--reg must be at least 0, got -1"
    check_at_least(None, 1, "--k")
    check_at_least(1, 1, "--k")


# --- _new_items ---------------------------------------------------------------------


class _Model:
    """What ``unseen_vectors`` reads of a model that scores new items from 4-d vectors:
    trained on items t0..t2; ``far`` marks the rows ``far_vectors`` calls far."""

    name = "fake"
    scores_new_items = True

    def __init__(self, backbone: str | None = None, far: tuple[bool, ...] | None = None) -> None:
        self.item_map_ = SimpleNamespace(ids=np.array(["t0", "t1", "t2"], dtype=object))
        self.vector_meta_ = {"backbone": backbone} if backbone else None
        self.far = far

    def vector_dim(self) -> int:
        return DIM

    def far_vectors(self, vectors: np.ndarray) -> np.ndarray:
        if self.far is None:
            return np.zeros(len(vectors), dtype=bool)
        return np.asarray(self.far[: len(vectors)], dtype=bool)


DIM = 4


def _vectors(path: Path, rows: dict[str, list[float]], backbone: str | None = None) -> str:
    ids = np.array(list(rows), dtype=object)
    vec = np.array(list(rows.values()), dtype=np.float32).reshape(len(rows), DIM)
    meta = {"backbone": backbone} if backbone else {}
    write_vectors(path, ItemVectors(ids, vec, np.ones(len(rows), bool), meta=meta))
    return str(path)


def _unseen(
    model: object, cands: list[str], vpath: str | None, named: tuple[str, ...] = ()
) -> tuple[np.ndarray | None, np.ndarray]:
    raw = np.array(cands, dtype=object)
    pos = np.arange(len(cands), dtype=np.int64)
    return unseen_vectors(model, raw, pos, vpath, "c.txt", named=named)  # type: ignore[arg-type]


def test_not_a_file_says_a_folder_is_a_directory(tmp_path: Path) -> None:
    # kills: `what == "a folder"` -> `== "folder"` ("is a folder, not a regular file;
    # give the .parquet file" for a folder)
    assert not_a_file(tmp_path) == "is a directory, not a file"


def test_one_candidate_a_model_cannot_score_is_ranked_last(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # kills: `are = "is" if n_unseen == 1 else "are"` -> always "are"
    model = SimpleNamespace(name="pop", scores_new_items=False)
    assert _unseen(model, ["n0"], None)[0] is None
    err = capsys.readouterr().err
    assert (
        "model 'pop' cannot score items unseen in training; 1 such candidate is ranked last" in err
    )


def test_a_candidate_with_nan_in_its_vector_is_named_and_not_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: `has &= ~broken` dropped (the NaN row was scored: NaN for every user) and
    # the note naming every unseen candidate instead of the broken one
    v = _vectors(tmp_path / "v.parquet", {
        "t0": [1, 0, 0, 0], "n0": [1, 2, 3, 4], "n1": [np.nan, 0, 0, 0], "n2": [4, 3, 2, 1]
    })  # fmt: skip
    vecs, pos = _unseen(_Model(), ["n0", "n1", "n2"], v)
    assert pos.tolist() == [0, 2]
    assert vecs is not None and np.isfinite(vecs).all()
    err = capsys.readouterr().err
    assert (
        "note: 1 of 3 candidates unseen in training has NaN, infinite or huge (beyond ±1e12) "
        f"values in the vector in {v}; it is ranked last (c.txt: 'n1')"
    ) in err


def test_two_broken_vectors_are_counted_in_the_plural(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: _verb / _they always plural or singular
    v = _vectors(tmp_path / "v.parquet", {
        "t0": [1, 0, 0, 0], "n0": [np.inf, 0, 0, 0], "n1": [np.nan, 0, 0, 0], "n2": [4, 3, 2, 1]
    })  # fmt: skip
    _vecs, pos = _unseen(_Model(), ["n0", "n1", "n2"], v)
    assert pos.tolist() == [2]
    assert "2 of 3 candidates unseen in training have NaN" in capsys.readouterr().err


def test_one_scored_candidate_is_no_group_of_equal_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: `len(scored) > 1` -> `> 0` (one candidate "all have the same one")
    v = _vectors(tmp_path / "v.parquet", {"t0": [1, 0, 0, 0], "n0": [1, 2, 3, 4]})
    vecs, pos = _unseen(_Model(), ["n0"], v)
    assert pos.tolist() == [0] and vecs is not None
    assert "same one" not in capsys.readouterr().err


def test_vectors_sharing_some_values_are_not_one_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: `(scored == scored[0]).all()` -> `.any()`
    v = _vectors(
        tmp_path / "v.parquet", {"t0": [1, 0, 0, 0], "n0": [1, 2, 3, 4], "n1": [1, 5, 6, 7]}
    )
    _unseen(_Model(), ["n0", "n1"], v)
    assert "same one" not in capsys.readouterr().err


def test_equal_vectors_note_names_only_those_with_a_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: the "same one" note naming `unseen_pos` (every unseen candidate) for
    # `unseen_pos[has]`
    v = _vectors(
        tmp_path / "v.parquet", {"t0": [1, 0, 0, 0], "n0": [1, 2, 3, 4], "n1": [1, 2, 3, 4]}
    )
    _vecs, pos = _unseen(_Model(), ["n0", "ghost", "n1"], v)
    assert pos.tolist() == [0, 2]
    line = next(x for x in capsys.readouterr().err.splitlines() if "same one" in x)
    assert line.endswith("(c.txt: 'n0', 'n1')")


def test_a_file_of_the_models_items_but_no_candidate_gives_a_note_not_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: the model's items dropped from `shared` (a file that knows the training
    # items was then "holds none of the model's items ... spelt the same way?")
    v = _vectors(tmp_path / "v.parquet", {"t0": [1, 0, 0, 0], "t1": [0, 1, 0, 0]})
    assert _unseen(_Model(), ["n0", "n1"], v)[0] is None
    err = capsys.readouterr().err
    assert "holds none of the model's items" not in err
    assert (
        f"note: 2 of 2 candidates unseen in training have no image vector in {v}; they are "
        "ranked last (c.txt: 'n0', 'n1')"
    ) in err


def test_a_file_of_some_candidates_but_no_training_item_gives_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: the candidates dropped from `shared`, and the lacking count taken as every
    # unseen candidate (`len(has)`) or the note naming all of them
    v = _vectors(tmp_path / "v.parquet", {"n0": [1, 2, 3, 4], "n2": [4, 3, 2, 1]})
    _vecs, pos = _unseen(_Model(), ["n0", "n1", "n2"], v)
    assert pos.tolist() == [0, 2]
    err = capsys.readouterr().err
    assert "holds none" not in err
    assert (
        f"note: 1 of 3 candidates unseen in training has no image vector in {v}; it is "
        "ranked last (c.txt: 'n1')"
    ) in err


def test_the_lacking_note_says_vector_for_attribute_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: _backbone always None ("image vector" for `visrec features` output)
    v = _vectors(tmp_path / "v.parquet", {"n0": [1, 2, 3, 4]}, backbone="item-features")
    _unseen(_Model(backbone="item-features"), ["n0", "n1"], v)
    assert "1 of 2 candidates unseen in training has no vector in" in capsys.readouterr().err


def test_the_far_note_counts_and_words_one_far_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: 'it'/'them' always 'them'; `{OUTLIER_LENGTH:g}` -> `{OUTLIER_LENGTH}` ("100.0");
    # _what_it_shows always "the picture"
    v = _vectors(
        tmp_path / "v.parquet", {"t0": [1, 0, 0, 0], "n0": [1, 2, 3, 4], "n1": [9, 9, 9, 9]}
    )
    _unseen(_Model(far=(False, True)), ["n0", "n1"], v)
    assert (
        "1 of 2 candidates unseen in training has a vector far from the training items' in "
        f"{v} (over 100 times their typical distance from their mean); fake's scores for it "
        "follow the vector's size more than the picture (c.txt: 'n1')"
    ) in capsys.readouterr().err
    _unseen(_Model(backbone="item-features", far=(True, True)), ["n0", "n1"], v)
    assert "fake's scores for them follow the vector's size more than its attributes" in (
        capsys.readouterr().err
    )


def test_one_respelt_candidate_is_worded_in_the_singular(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # kills: the singular wordings of note_respelt_candidates always plural, and its
    # return value (the candidates it named) emptied or made the training spellings
    model = SimpleNamespace(item_map_=SimpleNamespace(ids=np.array(["150", "7"], dtype=object)))
    named = note_respelt_candidates(np.array(["150.0", "n9"], dtype=object), model, "c.txt")  # type: ignore[arg-type]
    assert named == {"150.0"}
    err = capsys.readouterr().err
    assert (
        "note: c.txt: 1 candidate unseen in training may be a training item spelt otherwise" in err
    )
    assert "so it is a new item here" in err


def test_a_candidate_named_as_respelt_is_not_hinted_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: `if str(i) not in named` dropped from the lacking note's respelling hint
    v = _vectors(tmp_path / "v.parquet", {"t0": [1, 0, 0, 0], "7": [1, 2, 3, 4]})
    _unseen(_Model(), ["7.0", "n1"], v, named=("7.0",))
    said = capsys.readouterr().err
    _unseen(_Model(), ["7.0", "n1"], v)
    hinted = capsys.readouterr().err
    assert "1 of them is in it spelt otherwise ('7.0' as '7')" in hinted
    assert "(c.txt: '7.0', 'n1')" in said and "spelt otherwise" not in said


def test_vectors_of_the_same_backbone_and_preprocessing_pass(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # kills: `mine != theirs` -> `==` (the right file refused, another one taken)
    meta = {"backbone": "resnet50", "preprocessing": {"resize": 256}}
    check_same_backbone("v.parquet", dict(meta), dict(meta), "vbpr")
    assert capsys.readouterr().err == ""
    with pytest.raises(VisrecError) as exc:
        check_same_backbone("v.parquet", {"backbone": "clip"}, meta, "vbpr")
    assert str(exc.value).startswith(
        "v.parquet: holds clip vectors, but model 'vbpr' was trained on resnet50 vectors"
    )


def test_vectors_of_the_same_backbone_made_otherwise_are_refused() -> None:
    # kills: made_differently's answer ignored (`differ = []`): vectors of the same
    # network but another resize were scored without a word
    trained = {"backbone": "resnet50", "preprocessing": {"resize": 256}}
    given = {"backbone": "resnet50", "preprocessing": {"resize": 224}}
    with pytest.raises(VisrecError) as exc:
        check_same_backbone("v.parquet", given, trained, "vbpr")
    assert "made with other weights or preprocessing" in str(exc.value)
    assert "(resize 256 vs 224)" in str(exc.value)


def test_vector_width_is_checked_only_against_a_known_width() -> None:
    # kills: `want is not None and` dropped (a model that reads no vectors refused every
    # file) and `dim != want` -> `dim > want` (narrower vectors taken)
    check_vector_dim("v.parquet", 8, SimpleNamespace(vector_dim=lambda: None))  # type: ignore[arg-type]
    check_vector_dim("v.parquet", 4, _Model())  # type: ignore[arg-type]
    with pytest.raises(VisrecError) as exc:
        check_vector_dim("v.parquet", 3, _Model())  # type: ignore[arg-type]
    assert str(exc.value).startswith(
        "v.parquet: vectors have dimension 3, the model was trained on 4-d vectors"
    )


def test_a_recorded_vectors_file_that_has_gone_is_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: `not vpath or not Path(vpath).is_file()` -> `not vpath` (a training-time
    # path since deleted then ended in a traceback instead of "pass --vectors")
    gone = tmp_path / "gone.parquet"
    assert _unseen(_Model(), ["n0"], str(gone))[0] is None
    err = capsys.readouterr().err
    assert f"note: no vectors file for the 1 candidate unseen in training ({gone} " in err
    assert "pass --vectors. They are ranked last (c.txt: 'n0')" in err


def test_the_recorded_vectors_file_is_checked_for_its_backbone(tmp_path: Path) -> None:
    # kills: `if not checked` -> `if checked`: the path recorded at training time (not
    # checked by `run`, as --vectors is) replaced by another network's vectors was scored
    v = _vectors(tmp_path / "v.parquet", {"t0": [1, 0, 0, 0], "n0": [1, 2, 3, 4]}, "clip")
    with pytest.raises(VisrecError, match="holds clip vectors, but model 'fake' was trained on"):
        _unseen(_Model(backbone="resnet50"), ["n0"], v)
