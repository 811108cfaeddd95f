"""How options are read: no abbreviations, hints for unknown options, aliases of the
same meaning across commands, VECTORS as a positional or --vectors, wrapped help."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from visrec.cli import build_parser, main
from visrec.commands._help import SAME_MEANING
from visrec.commands.evaluate import EPILOG
from visrec.embed.store import ItemVectors, write_vectors


def error_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The last stderr line of a command that argparse refuses (exit 2)."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # --seed was taken for --seeds: 42 seeds of evaluate without a word
        (
            ["evaluate", "--interactions", "x", "--seed", "42"],
            "visrec evaluate: error: unrecognized arguments: --seed 42; --seeds N is how many "
            "split seeds to run; --random-state S is the first",
        ),
        # --n was taken for --no-resume
        (
            ["evaluate", "--interactions", "x", "--n", "10"],
            "visrec evaluate: error: unrecognized arguments: --n 10; --k K is the list length "
            "of Recall@K and NDCG@K here",
        ),
        (
            ["recommend", "m", "-o", "r.csv", "--k", "5"],
            "visrec recommend: error: unrecognized arguments: --k 5; --n N is the list length here",
        ),
        (
            ["recommend", "m", "-o", "r.csv", "--batch-size", "9"],
            "visrec recommend: error: unrecognized arguments: --batch-size 9; --batch-users N is "
            "the users scored at a time here",
        ),
        (
            ["rating-eval", "--interactions", "x", "--seed", "3"],
            "visrec rating-eval: error: unrecognized arguments: --seed 3; --seeds N is how many "
            "splits to run; --random-state S seeds the first",
        ),
        (
            ["cluster", "v", "--labels", "t", "--id-col", "a", "--label-col", "b", "--n", "4"],
            "visrec cluster: error: unrecognized arguments: --n 4; --k K is the number of "
            "clusters here",
        ),
        # --backend is close to --backbone, but the runtime is meant
        (
            ["embed", "imgs", "-o", "v.parquet", "--backend", "onnx"],
            "visrec embed: error: unrecognized arguments: --backend onnx; --engine "
            "auto|onnx|torch|ray is the runtime here",
        ),
        # a hyperparameter given as an option
        (
            ["train", "--model", "bpr", "--interactions", "x", "-o", "m", "--epochs", "3"],
            "visrec train: error: unrecognized arguments: --epochs 3; hyperparameters are set "
            "with --param epochs=VALUE",
        ),
        (
            ["evaluate", "--interactions", "x", "--item-dropout", "0.3"],
            "visrec evaluate: error: unrecognized arguments: --item-dropout 0.3; "
            "hyperparameters are set with --param MODEL.item_dropout=VALUE",
        ),
        (
            ["train", "--model", "bpr", "--interactions", "x", "-o", "m", "--random-state", "3"],
            "visrec train: error: unrecognized arguments: --random-state 3; --seed S is the "
            "model's seed (its random_state) here",
        ),
        (
            ["demo", "--random-state", "1"],
            "visrec demo: error: unrecognized arguments: --random-state 1; --seed S is the "
            "demo's seed (its random_state) here",
        ),
        # nothing close: no hint rather than a wrong one (--model is not --help)
        (
            ["recommend", "m", "-o", "r.csv", "--model", "bpr"],
            "visrec recommend: error: unrecognized arguments: --model bpr",
        ),
        (
            ["train", "--model", "bpr", "--interactions", "x", "-o", "m", "--sed", "3"],
            "visrec train: error: unrecognized arguments: --sed 3; did you mean --seed?",
        ),
        # a prefix of an option is not the option any more
        (
            ["train", "--model", "bpr", "--interactions", "x", "-o", "m", "--vec", "v"],
            "visrec train: error: unrecognized arguments: --vec v; did you mean --vectors?",
        ),
        # the parser of the subcommand that was given says it, nested ones too
        (
            ["data", "summary", "x", "--jsn", "o.json"],
            "visrec data summary: error: unrecognized arguments: --jsn o.json; did you mean "
            "--json?",
        ),
        (
            ["data", "summary", "x", "--zzz"],
            "visrec data summary: error: unrecognized arguments: --zzz",
        ),
        # a misspelt required option: argparse reports the missing one first, which
        # alone would not say what was wrong with the command line
        (
            ["evaluate", "--inter", "t.csv", "--protocol", "warm"],
            "visrec evaluate: error: unrecognized arguments: --inter; did you mean "
            "--interactions? (also: the following arguments are required: --interactions)",
        ),
        (
            ["train", "--model=bpr", "--interaction=x", "--zzz", "-o", "m"],
            "visrec train: error: unrecognized arguments: --interaction=x --zzz; did you mean "
            "--interactions? (also: the following arguments are required: --interactions)",
        ),
        (
            ["train", "--model", "bpr", "-o", "m"],
            "visrec train: error: the following arguments are required: --interactions",
        ),
        # after "--" everything is a value, not an option to name
        (
            ["train", "--model", "bpr", "-o", "m", "--", "--weird"],
            "visrec train: error: the following arguments are required: --interactions",
        ),
    ],
)
def test_unknown_options_get_a_hint(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert error_of(argv, capsys) == expected


def test_every_hint_names_an_option_of_its_command() -> None:
    def commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return dict(subs[0].choices) if subs else {}

    commands = commands_of(build_parser())
    for sub in list(commands.values()):  # `data summary`: its hints are under "summary"
        commands.update(commands_of(sub))
    for command, hints in SAME_MEANING.items():
        own = {s for a in commands[command]._actions for s in a.option_strings}
        for typed, hint in hints.items():
            assert typed not in own, (command, typed)  # else the hint is never shown
            if "visrec " in hint:  # names another command's option
                continue
            named = {w.rstrip(";:,") for w in hint.split() if w.startswith("-")}
            assert named and named <= own, (command, hint)


@pytest.mark.parametrize(
    ("argv", "dest", "value"),
    [
        (["knn-rating", "--interactions", "x", "--vectors", "v", "--seed", "7"], "random_state", 7),
        (["cluster", "v", "--labels", "t", "--id-col", "a", "--label-col", "b", "--seed", "4"],
         "random_state", 4),
        (["evaluate", "--interactions", "x", "--test-size", "0.3"], "test_ratio", 0.3),
        (["evaluate", "--interactions", "x", "--no-progress"], "quiet", True),
        (["train", "--model", "bpr", "--interactions", "x", "-o", "m", "--no-progress"],
         "quiet", True),
        (["train", "--model", "bpr", "--interactions", "x", "-o", "m", "-q"], "quiet", True),
        (["recommend", "m", "-o", "r.csv", "-q"], "quiet", True),
        (["embed", "imgs", "-o", "v.parquet", "-v"], "verbose", True),
        (["evaluate", "--interactions", "x", "-v"], "verbose", True),
    ],
)  # fmt: skip
def test_one_meaning_one_name_across_commands(argv: list[str], dest: str, value: object) -> None:
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == value


@pytest.fixture
def vectors_file(tmp_path: Path) -> Path:
    path = tmp_path / "v.parquet"
    rows = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], dtype=np.float32)
    write_vectors(path, ItemVectors(ids=["a", "b", "c", "d"], vectors=rows, has_image=[True] * 4))
    return path


def test_similar_takes_vectors_as_option_too(
    vectors_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = []
    for argv in (
        ["similar", str(vectors_file), "a", "c", "--n", "2"],
        ["similar", "--vectors", str(vectors_file), "a", "c", "--n", "2"],
        ["similar", "a", "c", "--vectors", str(vectors_file), "--n", "2"],
        # ids on both sides of an option: argparse alone left "c" unrecognized
        ["similar", "a", "--vectors", str(vectors_file), "c", "--n", "2"],
        ["similar", str(vectors_file), "a", "--n", "2", "c"],
        ["similar", str(vectors_file), "--n", "2", "a", "c"],  # every id after the option
    ):
        out = tmp_path / f"n{len(runs)}.json"
        assert main([*argv, "--json", str(out)]) == 0
        capsys.readouterr()
        runs.append(json.loads(out.read_text()))
    assert all(run == runs[0] for run in runs) and len(runs) == 6
    # both queries answered: with --vectors the first positional is a query, not a file
    assert [r["item_id"] for r in runs[0]] == ["a", "c"]
    assert [n["item_id"] for n in runs[0][0]["neighbours"]] == ["b", "c"]


def test_vectors_file_given_twice_or_not_at_all(
    vectors_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = ["--labels", "t.csv", "--id-col", "id", "--label-col", "c"]
    assert main(["cluster", str(vectors_file), "--vectors", "other.parquet", *labels]) == 2
    assert capsys.readouterr().err == (
        f"error: two vectors files: {vectors_file} and --vectors other.parquet; give one\n"
    )
    assert main(["cluster", *labels]) == 2
    assert capsys.readouterr().err == (
        "error: give the vectors file (from visrec embed): visrec cluster VECTORS ...\n"
    )
    # one positional: the file without ids, or an id without the file
    assert main(["similar", str(vectors_file)]) == 2
    assert capsys.readouterr().err == (
        "error: no item id after the vectors file: visrec similar VECTORS ITEM_ID...\n"
    )
    assert main(["similar", "a"]) == 2
    assert capsys.readouterr().err == (
        "error: give the vectors file (from visrec embed) and the item ids: "
        "visrec similar VECTORS ITEM_ID...\n"
    )
    # with --vectors, an existing .parquet file first among the ids is a second vectors
    # file, however many ids follow
    for ids in (["a"], []):
        argv = ["similar", str(vectors_file), *ids, "--vectors", str(vectors_file)]
        assert main(argv) == 2
        assert capsys.readouterr().err == (
            f"error: two vectors files: {vectors_file} and --vectors {vectors_file}; give one\n"
        )


def test_words_after_an_unknown_option_are_not_taken_as_ids(
    vectors_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["similar", str(vectors_file), "a", "--n", "2", "c", "--bogus", "x"]
    assert error_of(argv, capsys) == ("visrec similar: error: unrecognized arguments: c --bogus x")
    # a command without a list positional still refuses a stray word
    labels = ["--labels", "t.csv", "--id-col", "id", "--label-col", "c"]
    assert error_of(["cluster", str(vectors_file), "stray", *labels], capsys).endswith(
        "error: unrecognized arguments: stray"
    )


@pytest.mark.parametrize("command", ["cluster", "similar"])
def test_written_out_usage_lists_every_option(command: str) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    p = sub.choices[command]
    words = p.format_usage().replace("[", " ").replace("]", " ").split()  # "[-v | -q]"
    for action in p._actions:
        if action.option_strings and action.help != argparse.SUPPRESS:
            shown = [o for o in action.option_strings if o in words]
            assert shown, (command, action.option_strings)


def test_train_seed_and_param_random_state_must_agree(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["train", "--model", "bpr", "--interactions", str(csv), "--quiet"]
    fast = ["--param", "epochs=1"]
    assert main([*base, "-o", str(tmp_path / "a"), "--seed", "3", *fast,
                 "--param", "random_state=5"]) == 2  # fmt: skip
    assert capsys.readouterr().err == (
        "error: --seed 3 and --param random_state=5 disagree; give one of them\n"
    )
    assert not (tmp_path / "a").exists()
    # either alone, or both the same: trained with that seed, recorded as such
    for name, extra in (
        ("b", ["--seed", "3"]),
        ("c", ["--param", "random_state=3"]),
        ("d", ["--seed", "3", "--param", "random_state=3"]),
    ):
        assert main([*base, "-o", str(tmp_path / name), *fast, *extra]) == 0
        model = json.loads((tmp_path / name / "model.json").read_text())
        assert model["params"]["random_state"] == 3
        assert json.loads((tmp_path / name / "train.json").read_text())["seed"] == 3
    # the seed reaches the fit: another seed, other factors; the same seed, the same
    assert main([*base, "-o", str(tmp_path / "e"), *fast, "--seed", "4"]) == 0

    def factors(name: str) -> np.ndarray:
        with np.load(tmp_path / name / "arrays.npz") as z:
            return z["item_factors_"]

    assert np.array_equal(factors("b"), factors("c"))
    assert not np.array_equal(factors("b"), factors("e"))
    # popularity has no randomness: a --seed is said to do nothing, and none is recorded
    capsys.readouterr()
    pop = ["train", "--model", "popularity", "--interactions", str(csv), "--quiet"]
    assert main([*pop, "-o", str(tmp_path / "p"), "--seed", "3"]) == 0
    assert "note: model 'popularity' has no randomness: --seed does not change it" in (
        capsys.readouterr().err
    )
    assert json.loads((tmp_path / "p" / "train.json").read_text())["seed"] is None


def test_recommend_names_a_missing_model_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope"
    assert main(["recommend", str(missing), "-o", str(tmp_path / "r.csv")]) == 2
    assert capsys.readouterr().err == f"error: model folder {str(missing)!r} does not exist\n"
    missing.mkdir()
    assert main(["recommend", str(missing), "-o", str(tmp_path / "r.csv")]) == 2
    assert "not a visrec model folder (no model.json)" in capsys.readouterr().err


def test_help_prose_is_wrapped_and_examples_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = capsys.readouterr().out
    lines = text.splitlines()
    description = lines[lines.index("") + 1 : lines.index("options:") - 1]
    assert len(description) >= 2 and max(map(len, description)) <= 80
    # the description, one long line in the source, is still all there
    joined = " ".join(text.split())
    assert "and print mean ± std of AUC, Recall@K, NDCG@K, HitRate@K, catalogue coverage" in joined
    # indented lines (the examples) are left as written
    examples = [line for line in EPILOG.splitlines() if line.startswith("  ")]
    assert len(examples) >= 3 and all(line in text.splitlines() for line in examples)


def test_nothing_given_names_the_vectors_among_what_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv, said in (
        (["similar"], "required: VECTORS, ITEM_ID"),
        (["cluster"], "required: VECTORS, --labels, --id-col, --label-col"),
        (["similar", "--vectors", "v.parquet"], "required: ITEM_ID"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert capsys.readouterr().err.endswith(f"the following arguments are {said}\n")


def test_option_values_and_words_after_a_double_dash_are_told_apart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # an option's value is no VECTORS, and what follows -- is one
    for argv, said in (
        (["similar", "--n", "3"], "required: VECTORS, ITEM_ID"),
        (["cluster", "--labels", "x"], "required: VECTORS, --id-col, --label-col"),
        (["cluster", "--", "v.parquet"], "required: --labels, --id-col, --label-col"),
    ):
        with pytest.raises(SystemExit):
            main(argv)
        assert capsys.readouterr().err.endswith(f"the following arguments are {said}\n")
