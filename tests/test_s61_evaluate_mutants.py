"""Gaps a mutation audit (session 61) of ``visrec evaluate`` (src/visrec/commands/evaluate.py)
found. 75 hand-made mutants: 68 run against the existing tests, 58 killed there; the
10 survivors (a --test-size of 1, a leading or trailing comma in --models, the tail of
the time --min-rating note, rows on an item without a picture, the vectors' spread
warnings for a model that only reads vectors and for vbpr beside visual-cf, the JSON's
"vectors" input, reg=auto's choice printed) and 7 not run against them for time (the
time-protocol note over one seed, notes on stderr, the JSON's run block, its atomic
write and last newline, the record name's --test-size and --min-rating) are killed by
the tests here. None was equivalent; no bug in the command was found."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors, write_vectors
from visrec.models.base import Recommender


def _rows(path: Path, n_users: int = 20, n_items: int = 20, per_user: int = 5) -> Path:
    """``user_id,item_id``: each user with ``per_user`` distinct items."""
    rows = [
        (f"u{u}", f"i{(u * 7 + j * 3) % n_items}") for u in range(n_users) for j in range(per_user)
    ]
    path.write_text("user_id,item_id\n" + "".join(f"{u},{i}\n" for u, i in rows))
    return path


def _evaluate(csv: Path, *flags: str) -> int:
    return main(["evaluate", "--interactions", str(csv), "--quiet", *flags])


# --- option checks -------------------------------------------------------------------


# kills ratio_le1 (`0.0 < r < 1.0` -> `0.0 < r <= 1.0`): a test size of 1 holds out
# everything and leaves nothing to train on
def test_a_test_size_of_one_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = _rows(tmp_path / "r.csv")
    assert _evaluate(csv, "--models", "popularity", "--test-size", "1") == 2
    assert capsys.readouterr().err == "error: --test-size must be between 0 and 1, got 1.0\n"


# kills trailing_comma (`split(",")[:-1]` -> `split(",")`): one trailing comma (a list
# built in a shell loop) names no empty model and is accepted
def test_a_trailing_comma_in_models_is_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _rows(tmp_path / "r.csv")
    assert _evaluate(csv, "--models", "popularity,", "--seeds", "1", "--k", "3") == 0
    table = capsys.readouterr().out.splitlines()  # the summary line, the header, one model
    assert table[1].split()[0] == "model" and table[2].split()[0] == "popularity"
    assert len(table) == 3 or not table[3].strip()


# kills leading_comma (`split(",")[:-1]` -> `split(",")[1:-1]`): ',bpr' ($M unset
# before the comma) leaves a model out without a word
def test_a_leading_comma_in_models_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _rows(tmp_path / "r.csv")
    assert _evaluate(csv, "--models", ",popularity") == 2
    assert capsys.readouterr().err == (
        "error: --models ',popularity': an empty name between commas; name every model\n"
    )


# --- the --min-rating note ----------------------------------------------------------


# kills later_le (`if n_out < n_below` -> `<=`): when every pair below --min-rating
# came before its user's test item, the note says no "0 rated after ..."
def test_time_min_rating_note_without_later_pairs_has_no_tail() -> None:
    from visrec.commands.evaluate import _below_note

    kept = pd.DataFrame(
        {"user_id": ["a", "a", "b", "b"], "item_id": ["1", "2", "1", "3"],
         "timestamp": [1, 5, 2, 3]}
    )  # fmt: skip
    below = pd.DataFrame(  # both before their user's test item (a at 5, b at 3)
        {"user_id": ["a", "b"], "item_id": ["3", "2"], "timestamp": [4, 2]}
    )
    assert _below_note(kept, below, 4, "time") == [
        "2 (user, item) pairs rated below --min-rating 4 are neither hits nor misses: left "
        "out of that user's candidates, as a model trained with --min-rating never "
        "recommends them"
    ]


# --- the JSON written ----------------------------------------------------------------


# kills json_nonatomic (write_text_atomic -> Path(args.json).write_text): a disk that
# fills up while the results are written must leave the earlier --json as it was
def test_a_full_disk_keeps_the_earlier_json_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _rows(tmp_path / "r.csv")
    out = tmp_path / "e.json"
    out.write_text('{"earlier": true}\n')

    def full(self: Path, data: str, *args: object, **kwargs: object) -> int:
        with open(self, "w"):  # the file opens (truncated), the write fails
            pass
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    argv = ["--models", "popularity", "--seeds", "1", "--k", "3", "--no-resume"]
    assert _evaluate(csv, *argv, "--json", str(out)) == 1
    monkeypatch.undo()
    assert out.read_text() == '{"earlier": true}\n'
    err = capsys.readouterr().err
    assert f"error: '{out}': No space left on device" in err
    assert f"finished runs are kept in {out}.partial.jsonl" in err  # not lost either


# --- what is said of the vectors -----------------------------------------------------


def _vectors(path: Path, no_image: tuple[int, ...] = ()) -> Path:
    """Vectors of items i0..i19; those in ``no_image`` have a row but no picture."""
    vectors = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    has_image = np.ones(20, bool)
    for i in no_image:
        has_image[i], vectors[i] = False, 0.0
    write_vectors(path, ItemVectors(np.asarray([f"i{i}" for i in range(20)]), vectors, has_image))
    return path


# kills coverage_all_ids (`iv.ids[iv.has_image]` -> `iv.ids`): an item with a vector row
# but no picture is no item "with an image"; the shortfall is said and kept in the JSON
def test_rows_on_an_item_without_a_picture_are_counted_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _rows(tmp_path / "r.csv")  # 5 of its 100 rows are on i0
    vectors = _vectors(tmp_path / "v.parquet", no_image=(0,))
    out = tmp_path / "e.json"
    argv = ["--vectors", str(vectors), "--models", "popularity", "--seeds", "1", "--k", "3"]
    assert _evaluate(csv, *argv, "--json", str(out)) == 0
    said = f"{vectors}: 20 item vectors; 95 of 100 rows are on an item with an image"
    assert said in capsys.readouterr().err.splitlines()  # under --quiet too
    assert json.loads(out.read_text())["notes"] == [said]


class _ReadsVectorsOnly(Recommender):
    """A plug-in model that reads the vectors of its training items but scores no new
    item (``scores_new_items`` False)."""

    name = "reads-vectors"
    uses_vectors = True

    def __init__(self) -> None:
        pass

    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        self.n_items_ = interactions.n_items

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        n = self.n_items_ if item_idx is None else len(item_idx)
        return np.zeros((len(user_idx), n), np.float32)


def _spread_warnings(
    iv: ItemVectors, models: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], list[str]]:
    """``(notes, lines said)`` of evaluate's check of the vectors' spread for ``models``."""
    import argparse

    from visrec.commands.evaluate import _warn_vector_spread
    from visrec.models import registry

    real = registry.get_model_class
    monkeypatch.setattr(
        registry,
        "get_model_class",
        lambda name: _ReadsVectorsOnly if name == "reads-vectors" else real(name),
    )
    frame = pd.DataFrame({"user_id": ["u0"] * len(iv), "item_id": iv.ids})
    notes: list[str] = []
    said: list[str] = []
    args = argparse.Namespace(vectors="v.parquet")
    _warn_vector_spread(args, iv, frame, [(m, {}) for m in models], notes, said.append)
    return notes, said


# kills readers_and (`c.uses_vectors or c.scores_new_items` -> `and`): a model that reads
# the vectors, though it scores no new item, is warned of vectors that are all the same
def test_all_one_vector_is_warned_of_for_a_model_that_only_reads_vectors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = np.asarray([f"i{i}" for i in range(5)])
    iv = ItemVectors(ids, np.ones((5, 3), np.float32), np.ones(5, bool))
    notes, said = _spread_warnings(iv, ["popularity", "reads-vectors"], monkeypatch)
    text = (
        "v.parquet: the 5 items' vectors are all the same: the pictures cannot tell these "
        "items apart, so the image terms learn nothing"
    )
    assert notes == [text] and said == [f"warning: {text}"]
    assert _spread_warnings(iv, ["popularity", "bpr"], monkeypatch) == ([], [])  # no reader


# kills longer_all (`any(c.vector_length_matters ...)` -> `all(...)`): vbpr beside
# visual-cf still has a vector 1000 times the others' length pointed out
def test_a_far_too_long_vector_is_warned_of_when_any_model_minds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = np.asarray([f"i{i}" for i in range(5)])
    vectors = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    vectors[2] *= 1000
    iv = ItemVectors(ids, vectors, np.ones(5, bool))
    notes, said = _spread_warnings(iv, ["vbpr", "visual-cf"], monkeypatch)
    assert len(notes) == 1 and said == [f"warning: {notes[0]}"]
    assert notes[0].startswith("v.parquet: 1 item vector is over 100 times as long as the")
    assert "median one ('i2')" in notes[0]
    assert _spread_warnings(iv, ["visual-cf"], monkeypatch) == ([], [])  # length not minded


# --- the table, the notes under it, and the JSON file --------------------------------


# kills trivial_lt (`elif n_cand <= args.k` -> `<`): with exactly --k candidates per test
# user, every candidate is in the list: Recall and HitRate are 1 for any ranking
def test_as_many_candidates_as_k_is_said_to_make_recall_trivial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _rows(tmp_path / "r.csv")  # 20 items: 19 candidates for a test user of warm
    assert _evaluate(csv, "--models", "popularity", "--seeds", "1", "--k", "19") == 0
    assert (
        "note: 19 candidates per test user at most, <= --k 19: Recall@19 and HitRate@19 "
        "are 1 for any ranking (every candidate is in the top 19); compare AUC and "
        "NDCG@19, or lower --k"
    ) in capsys.readouterr().err.splitlines()


def _timed_rows(path: Path) -> Path:
    """``user_id,item_id,timestamp``: 12 users x 4 items, each at its own time."""
    rows = [
        (f"u{u}", f"i{(u * 5 + j * 3) % 16}", 1000 * u + j) for u in range(12) for j in range(4)
    ]
    path.write_text("user_id,item_id,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows))
    return path


# kills same_split_ge1 (`len(stats) > 1` -> `>= 1`): one seed of --protocol time has no
# spread to explain; two seeds hold out the same rows, which is said
@pytest.mark.parametrize(("seeds", "said"), [("1", False), ("2", True)])
def test_the_same_split_of_time_is_said_only_over_several_seeds(
    seeds: str, said: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _timed_rows(tmp_path / "r.csv")
    out = tmp_path / "e.json"
    argv = ["--protocol", "time", "--models", "popularity", "--seeds", seeds, "--k", "3"]
    assert _evaluate(csv, *argv, "--json", str(out)) == 0
    note = (
        "protocol time: every seed holds out the same rows (each user's last), so the "
        "spread is that of the model fits alone"
    )
    assert (f"note: {note}" in capsys.readouterr().err.splitlines()) is said
    assert (note in json.loads(out.read_text())["notes"]) is said


# kills json_no_newline (`json.dumps(...) + "\n"` -> `json.dumps(...)`): the --json file
# is a text file, its last line ended (`cat`, `wc -l`, diff see it whole); the keys a
# reader relies on are there, the run block with the command line among them
def test_the_json_ends_with_a_newline_and_holds_the_run(tmp_path: Path) -> None:
    csv = _rows(tmp_path / "r.csv")
    out = tmp_path / "e.json"
    assert _evaluate(csv, "--models", "popularity", "--seeds", "2", "--json", str(out)) == 0
    text = out.read_text(encoding="utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    data = json.loads(text)
    assert {"format", "protocol", "k", "seeds", "summary", "runs", "splits", "params",
            "notes", "inputs", "records_skipped", "run"} <= set(data)  # fmt: skip
    assert (data["protocol"], data["k"], data["seeds"]) == ("warm", 20, [0, 1])
    assert data["inputs"] == {"interactions": str(csv), "vectors": ""}
    assert data["run"]["command"].startswith(f"visrec evaluate --interactions {csv} --quiet")


# kills key_time_ratio, key_no_k, key_no_minrating (a setting left out of, or added
# to, the name of the resume record kept without --json): runs of another --k or
# --min-rating are kept apart; --test-size, which --protocol time does not read, keeps
# the name an earlier visrec gave the record
def test_the_record_without_json_is_named_after_the_settings_that_matter(
    tmp_path: Path,
) -> None:
    import argparse
    import hashlib

    from visrec.commands.evaluate import _record_path

    csv = _rows(tmp_path / "r.csv")

    def name(**given: Any) -> str:
        settings = {"protocol": "warm", "k": 20, "test_ratio": 0.2, "min_rating": None}
        args = argparse.Namespace(
            interactions=str(csv), vectors=None, json=None, **{**settings, **given}
        )
        path = _record_path(args)
        assert path is not None
        return path.name

    key = [str(csv.resolve()), None, "time", 20, 0.2, None]
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]
    assert name(protocol="time", test_ratio=0.3) == f"r.csv-{digest}.jsonl"
    assert name(protocol="time", test_ratio=0.2) == f"r.csv-{digest}.jsonl"
    assert name(test_ratio=0.3) != name()  # warm reads it
    assert name(k=10) != name()
    assert name(min_rating=4.0) != name()


# kills no_tuned (the `print(tuned)` under the table dropped): what reg=auto chose by
# validation is printed on the terminal, not only kept in the JSON
def test_the_setting_reg_auto_chose_is_printed_under_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _rows(tmp_path / "r.csv")
    argv = ["--models", "bpr", "--param", "bpr.reg=auto", "--param", "bpr.epochs=2"]
    assert _evaluate(csv, *argv, "--seeds", "1", "--k", "3") == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index(
        "validation chose (reg=auto on sparse data), on inner splits of each training set:"
    )
    assert out[at - 1].split()[0] == "bpr"  # right under the table (its last row)
    assert out[at + 1].startswith("  bpr: reg=") and out[at + 1].endswith(" (1 run)")
