"""Mutation audit (session 67, evalcmd) of ``visrec evaluate``'s command module
(src/visrec/commands/evaluate.py), ``--param`` parsing (src/visrec/commands/_params.py)
and the label table reader (src/visrec/commands/_labels.py).

46 hand-made mutants were run (evaluate 30, _params 11, _labels 5), each against a core
set of that module's test files, and survivors against further files naming the code
they touch (P5-P11 and the _labels mutants: core files only, and the keyword files for
L1, L4). The old tests killed 32; 14 were not killed: 2 equivalent (below), and 12 the
tests here kill:
the --protocol time note on --test-size given for cold-items too, the time column read
(a bad time skips its row) under warm, the vectors' spread check skipping a model
that only scores new items, "pictures and attributes" vectors taken for pictures, the
latest-time ties note given with no tie, RecursionError not caught on a deeply nested
value, the 64-character cap on non-JSON numbers, ``+1e3`` read with int(), the "given
twice" note on a repeated same value, the suggestion without evaluate's ``bpr.`` form,
the name check stopping at the first known name (``break``), Parquet labels not
stripped. Two tests written for mutants the old tests kill too (an empty key, a dotted
variant label) were left out.

Equivalent: ``max`` -> ``min`` of the seeds' candidate counts (every protocol has the
same number of candidates on every seed: warm and time all items, cold-items a fixed
floor(share x items)); ``(labels == "") | cells.isna()`` -> ``labels == ""`` (the
loader has already dropped null labels, as session 64 found; not run).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import test_s61_evaluate_mutants as s61
from test_s61_evaluate_mutants import _evaluate, _rows, _vectors
from visrec.commands._params import (
    check_param_names,
    parse_param,
    parse_params,
)
from visrec.embed.store import ItemVectors, write_vectors
from visrec.embed.vector_source import ATTRIBUTES
from visrec.errors import VisrecError
from visrec.evaluation.model_specs import model_class
from visrec.report.verdict import MADE_BY


def test_test_size_with_cold_items_gets_no_time_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches the --protocol time note on --test-size shown for cold-items, where the
    size is used (the held-out share of items)."""
    csv, vec = _rows(tmp_path / "r.csv"), _vectors(tmp_path / "v.parquet")
    flags = ("--vectors", str(vec), "--protocol", "cold-items", "--models", "popularity")
    assert _evaluate(csv, *flags, "--seeds", "1", "--k", "3", "--test-size", "0.3") == 0
    assert "has no effect" not in capsys.readouterr().err


def test_a_bad_timestamp_costs_no_row_under_warm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches the time column read (and a malformed time skipping its row) when the
    protocol is warm, which never reads it."""
    csv = _rows(tmp_path / "r.csv")  # 20 users x 5 items: warm holds out 1 of each 5
    lines = csv.read_text().splitlines()
    stamped = [lines[0] + ",timestamp"] + [
        f"{line},{'bad' if n == 0 else n}" for n, line in enumerate(lines[1:])
    ]
    csv.write_text("\n".join(stamped) + "\n")
    assert _evaluate(csv, "--models", "popularity", "--seeds", "1", "--k", "3") == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("protocol warm: 80 train / 20 test rows")
    assert "skipped" not in err


class _ScoresNewItemsOnly(s61._ReadsVectorsOnly):
    """Fits without vectors, but scores items new to it from their vectors."""

    uses_vectors = False
    scores_new_items = True


def test_all_one_vector_is_warned_of_for_a_model_that_scores_new_items(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Catches the spread check asking only ``uses_vectors``: a model that scores new
    items from their vectors learns nothing from vectors that are all the same."""
    monkeypatch.setattr(s61, "_ReadsVectorsOnly", _ScoresNewItemsOnly)
    ids = np.asarray([f"i{i}" for i in range(5)])
    iv = ItemVectors(ids, np.ones((5, 3), np.float32), np.ones(5, bool))
    notes, said = s61._spread_warnings(iv, ["popularity", "reads-vectors"], monkeypatch)
    assert len(notes) == 1 and said == [f"warning: {notes[0]}"]
    assert "vectors are all the same" in notes[0]


# --- _params: --param values and names ------------------------------------------------


def test_a_64_character_number_json_cannot_spell_is_still_a_number() -> None:
    """Catches the length cap on non-JSON numbers made exclusive (``< 64``): a 64-character
    ``+1...1`` would become a string."""
    raw = "+" + "1" * 63
    assert len(raw) == 64
    assert parse_param(f"x={raw}") == ("x", int("1" * 63))
    assert parse_param(f"x={raw}1") == ("x", raw + "1")  # 65: the text


def test_non_json_exponents_are_numbers() -> None:
    """Catches a signed exponent dropped from the number pattern (``.5e-3`` a string) and
    an exponent without a dot read with int() (``+1e3`` a crash)."""
    assert parse_param("lr=.5e-3") == ("lr", 0.0005)
    assert parse_param("n=+1e3") == ("n", 1000.0)
    assert isinstance(parse_param("n=+1e3")[1], float)


def test_a_value_nested_too_deep_for_json_is_text() -> None:
    """Catches RecursionError no longer caught: a value of 100,000 ``[`` must be its text,
    not a crash."""
    raw = "[" * 100_000
    assert parse_param(f"x={raw}") == ("x", raw)


def test_a_repeated_param_keeps_the_last_value_and_notes_only_a_change(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Catches the first value kept instead of the last, and the note printed when the
    same value is merely given again."""
    assert parse_params(["a=1", "a=1"]) == {"a": 1}
    assert capsys.readouterr().err == ""
    assert parse_params(["a=1", "a=2"]) == {"a": 2}
    assert capsys.readouterr().err == (
        "note: --param a is given twice (1, then 2): the last, 2, is used\n"
    )


def test_an_unknown_name_after_a_known_one_is_refused_with_evaluates_spelling() -> None:
    """Catches the check stopping at the first known name (``break`` for ``continue``),
    and the suggestion written without the command's form (``bpr.epochs=VALUE``)."""
    bpr = model_class("bpr")
    with pytest.raises(VisrecError, match=r"did you mean bpr\.epochs=VALUE\? \(its hyper"):
        check_param_names(bpr, {"epochs": 3, "epoch": 2}, "bpr", "bpr.{name}=VALUE")


# --- what the vectors show -----------------------------------------------------------


def test_vectors_of_pictures_and_attributes_are_named_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches only pure ``visrec features`` vectors counted as not pictures: vectors made
    by a backbone plus item features must be named in the JSON and in the question."""
    csv, out = _rows(tmp_path / "r.csv"), tmp_path / "o.json"
    vectors = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    ids = np.asarray([f"i{i}" for i in range(20)])
    made_by = f"resnet18+{ATTRIBUTES}"
    iv = ItemVectors(ids, vectors, np.ones(20, bool), meta={"backbone": made_by})
    write_vectors(tmp_path / "v.parquet", iv)
    flags = ("--vectors", str(tmp_path / "v.parquet"), "--models", "popularity")
    assert _evaluate(csv, *flags, "--seeds", "1", "--k", "3", "--json", str(out)) == 0
    assert json.loads(out.read_text())["inputs"][MADE_BY] == made_by
    assert "\ndo pictures and attributes help here?\n" in capsys.readouterr().out


@pytest.mark.parametrize("tie", [False, True])
def test_ties_at_the_latest_time_are_noted_only_when_there_are_some(
    tie: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches the ties note given whenever any user is tested (``if tested``): with
    every time distinct it would say "0 of 12 users have several items ..."."""
    csv, out = s61._timed_rows(tmp_path / "r.csv"), tmp_path / "o.json"
    if tie:  # u0's last two items (times 2 and 3) at one time
        csv.write_text(csv.read_text().replace(",3\n", ",2\n", 1))
    flags = ("--protocol", "time", "--models", "popularity", "--seeds", "1", "--k", "3")
    assert _evaluate(csv, *flags, "--json", str(out)) == 0
    note = (
        "1 of 12 users has several items at their latest time; the later row in the "
        "file is their test item"
    )
    err = capsys.readouterr().err
    notes = json.loads(out.read_text())["notes"]
    assert (f"note: {note}" in err.splitlines()) is tie and (note in notes) is tie
    assert "at their latest time" not in err + "".join(notes) or tie


# --- _labels ------------------------------------------------------------------------


def test_parquet_labels_are_stripped(tmp_path: Path) -> None:
    """Catches the labels no longer stripped: a Parquet table (its loader keeps spaces)
    with " Bags " must give the label "Bags", as a CSV does."""
    import pandas as pd

    from visrec.commands._labels import read_label_table

    path = tmp_path / "lab.parquet"
    pd.DataFrame({"item_id": ["i1", "i2"], "category": [" Bags ", "Shoes"]}).to_parquet(path)
    ids, labels, _ = read_label_table(str(path), "item_id", "category")
    assert list(ids) == ["i1", "i2"] and list(labels) == ["Bags", "Shoes"]
