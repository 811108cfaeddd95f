"""Mutation audit (session 71) of ``analysis/rating_eval.py`` (metrics and rounding, the
baselines, the new-user note, the resume record's use: ``_usable``, the fingerprint,
``_split_seed``, ``keep_record``, the record's folders, the cold-items draw, the visual
MF's image mask) and the first half of ``commands/rating_eval.py`` (option checks,
loading, the notes on unused image options, what is passed to the run). Mutants of
sessions 66 and 68 (their docstrings) not repeated; the script is
/tmp/s71/mutrate/mut.py.

Mutants written and run: 40 (26 of the analysis A01 A03-A11 A13-A17 A19-A26, 14 of the
command C01-C07 C09-C18). Old tests (analysis: test_rating_models, test_s68_rateval_mutants,
test_rating_eval_duplicates, test_rating_eval_resume, test_s61_rating_mutants,
test_s61_rating_helpers; command: test_s64_ratingcmd_mutants, test_s66_rateval_mutants,
test_s63_ratingio_mutants, test_cli_option_ranges, test_rating_eval_resume,
test_rating_models) killed 30; 10 survived. Killed after this file: 39. Equivalent: 1.
(A10, an item without training ratings given 0 not the global mean, died first by the
shared-MovieLens test under -x; test_s68's baselines test reaches the case too.)

Equivalent:
* A26 the visual MF fitted with every item flagged as having an image
  (``np.ones_like(has)``): ``align`` zeroes the rows without one and RatingMF drops
  zero rows from the mask (``has & nonzero_rows(v)``), so the mask is the same.

Which test kills which survivor:
* test_a_resumed_last_seed_keeps_its_note_on_test_users_absent_from_training: A17 (a
  seed read back from the record counted 0 test ratings of new users).
* test_a_cold_items_record_without_the_held_out_mark_is_fitted_again: A21 (the
  fingerprint's ``held_out`` dropped: an older record of another draw was reused).
* test_the_folders_made_for_a_record_go_with_it: A24 (``remove_empty`` dropped).
* test_json_naming_the_vectors_file_is_refused_as_that_input: C02 (--vectors not among
  the inputs an output must not name).
* test_a_test_size_outside_0_1_is_refused_before_the_data_is_read: C03 (``<= 1.0``).
* test_ratings_without_a_rating_column_are_refused_naming_the_option: C09 (the
  command's no-rating-column check dropped).
* test_image_options_without_vectors_are_a_note_one_or_two: C10 ("are" for one
  option), C11 (--k left out of the note).
* test_copies_of_a_review_under_another_item_are_a_note_kept_with_the_results: C16
  (take_copy_note's note dropped from the results).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import signed
from test_interop_fixes import write_rating_case
from test_rating_eval_resume import _count_fits, _data
from test_s50_variants import _review, _write
from visrec.analysis.rating_eval import rating_eval, split_rows
from visrec.cli import main
from visrec.data.amazon import load_amazon_reviews
from visrec.data.variants import variant_copy_note

_FAST = {"n_epochs": 2, "n_factors": 4}


def _new_users_frame() -> pd.DataFrame:
    """12 users rating most of 8 items, and 30 users with a single rating each: a random
    split puts some of those in the test rows only (users absent from training)."""
    rng = np.random.default_rng(5)
    pairs = [(f"u{u}", f"i{i}") for u in range(12) for i in range(8) if rng.random() < 0.8]
    pairs += [(f"once{u}", f"i{u % 8}") for u in range(30)]
    frame = pd.DataFrame(pairs, columns=["user_id", "item_id"])
    frame["rating"] = rng.integers(1, 6, size=len(frame)).astype(float)
    return frame


def test_a_resumed_last_seed_keeps_its_note_on_test_users_absent_from_training(
    tmp_path: Path,
) -> None:
    # Kills A17 (a seed read back from the record gave 0 test ratings of new users: the
    # note on the models' fallbacks vanished from a resumed run)
    frame = _new_users_frame()
    tr, te = split_rows(frame, "random", 0.2, 1234)
    new = ~frame["user_id"].iloc[te].isin(set(frame["user_id"].iloc[tr]))
    assert new.sum() >= 2  # the fixture reaches the case
    record = tmp_path / "r.jsonl"
    first = rating_eval(frame, None, mf_params=_FAST, resume=record, keep_record=True)
    want = f"{new.sum()} test ratings (last split) are by users absent from training"
    assert sum(n.startswith(want) for n in first.notes) == 1
    assert record.exists()  # keep_record: the seed stays for the next call
    notes: list[str] = []
    again = rating_eval(frame, None, mf_params=_FAST, resume=record, note=notes.append)
    assert notes == [f"resuming: 1 of 1 seeds already done ({record})"]
    assert again.notes == first.notes
    assert json.dumps(again.to_dict()) == json.dumps(first.to_dict())
    assert not record.exists()


def test_a_cold_items_record_without_the_held_out_mark_is_fitted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kills A21 (the fingerprint without "held_out": a record of a cold-items split made
    # when items without a picture could be held out, as visrec once did, was reused)
    frame, iv = _data()  # three items without a picture
    record = tmp_path / "r.jsonl"
    kw: dict[str, Any] = {"protocol": "cold-items", "mf_params": _FAST}
    rating_eval(frame, iv, resume=record, keep_record=True, **kw)
    rec = json.loads(record.read_text())
    assert rec["fp"].pop("held_out") == "items with an image"
    record.write_text(json.dumps(signed(rec)) + "\n")  # as an older visrec wrote it
    notes: list[str] = []
    fits = _count_fits(monkeypatch)
    rating_eval(frame, iv, resume=record, note=notes.append, **kw)
    assert len(fits) == 2  # the seed's two MF fitted again
    assert len(notes) == 1
    assert notes[0].startswith(f"resume: ignoring 1 seed recorded in {record} with other")
    assert not record.exists()


def test_the_folders_made_for_a_record_go_with_it(tmp_path: Path) -> None:
    # Kills A24 (remove_empty dropped: a complete call left the empty folders it had
    # made for its resume record)
    frame = _new_users_frame()
    record = tmp_path / "made" / "for" / "it" / "r.jsonl"
    res = rating_eval(frame, None, mf_params=_FAST, resume=record)
    assert res.seeds == [1234]
    assert not (tmp_path / "made").exists()
    assert [p.name for p in tmp_path.iterdir()] == []
    # a folder that was there before is left, empty or not
    (tmp_path / "kept").mkdir()
    rating_eval(frame, None, mf_params=_FAST, resume=tmp_path / "kept" / "r.jsonl")
    assert (tmp_path / "kept").is_dir()


def test_json_naming_the_vectors_file_is_refused_as_that_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Kills C02 (--vectors left out of the inputs an output must not name: the refusal
    # came from the format check instead, not saying the file is the vectors)
    data, vectors = write_rating_case(tmp_path, {})
    before = vectors.read_bytes()
    args = ["--interactions", str(data), "--vectors", str(vectors), "--json", str(vectors)]
    assert main(["rating-eval", *args]) != 0
    err = capsys.readouterr().err
    assert f"--json: '{vectors}' is the --vectors file" in err
    assert vectors.read_bytes() == before


@pytest.mark.parametrize("size", ["1", "1.0", "0", "-0.2"])
def test_a_test_size_outside_0_1_is_refused_before_the_data_is_read(
    tmp_path: Path, size: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Kills C03 (``<= 1.0``: a test size of 1 went on to read the ratings)
    missing = tmp_path / "no-such-ratings.csv"
    assert main(["rating-eval", "--interactions", str(missing), "--test-size", size]) != 0
    err = capsys.readouterr().err
    assert f"--test-size must be between 0 and 1, got {float(size)}" in err
    assert "no-such-ratings" not in err


def test_ratings_without_a_rating_column_are_refused_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Kills C09 (the command's own check dropped: the analysis refused the frame in
    # other words, without pointing to --rating-col)
    data = tmp_path / "views.csv"
    data.write_text("user_id,item_id\n" + "".join(f"u{k},i{k % 3}\n" for k in range(12)))
    out = tmp_path / "re.json"
    assert main(["rating-eval", "--interactions", str(data), "--json", str(out)]) != 0
    err = capsys.readouterr().err
    assert f"{data}: no rating column, which rating-eval needs" in err
    assert "--rating-col NAME" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (["--k", "5"], "--k is"),
        (["--reg-visual", "0.5"], "--reg-visual is"),
        (["--k", "5", "--reg-visual", "0.5"], "--k and --reg-visual are"),
    ],
)
def test_image_options_without_vectors_are_a_note_one_or_two(
    tmp_path: Path, given: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Kills C10 ("are" for one option) and C11 (--k left out of the note)
    data, _ = write_rating_case(tmp_path, {})
    args = ["--interactions", str(data), "--n-epochs", "2", "--quiet", *given]
    assert main(["rating-eval", *args]) == 0
    err = capsys.readouterr().err
    want = (
        f"note: {said} for the image models (the KNN, MF + visual), which need --vectors: not used"
    )
    assert err.count(want) == 1
    assert err.count("need --vectors") == 1


def test_copies_of_a_review_under_another_item_are_a_note_kept_with_the_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Kills C16 (take_copy_note's note dropped: the figures reward finding the copy
    # under the other variant, and neither the table nor the JSON said so)
    rng = np.random.default_rng(2)
    rows = [
        _review(f"u{u}", f"P{i}", 100 + u, float(rng.integers(1, 6)), f"u{u} on P{i}")
        for u in range(15)
        for i in range(5)
    ]
    rows.append(_review("u0", "P5", 100, 5.0, "u0 on P0"))  # u0's P0 review, again
    path = _write(tmp_path / "Shop_5.json.gz", rows)
    want = variant_copy_note(load_amazon_reviews(path, review_digest=True).frame, path)
    assert want is not None and want.startswith("1 of 76 rows")
    out = tmp_path / "re.json"
    args = ["--interactions", str(path), "--n-epochs", "2", "--quiet", "--json", str(out)]
    assert main(["rating-eval", *args]) == 0
    assert json.loads(out.read_text())["notes"].count(want) == 1
    assert capsys.readouterr().err.count(f"note: {want}") == 1
