"""Session 53 audit of `visrec recommend`'s inputs (commands/_recs_inputs.py): the
--items and --users files, empty option paths, and a --vectors file checked against the
model. Each test says what failed before its fix, or which mutant it kills."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from small_vectors import item_vectors
from visrec.cli import main
from visrec.embed.store import write_vectors

FAST = ["--param=epochs=5", "--param=factors=4", "--param=batch_size=16"]


def _train_csv(folder: Path) -> Path:
    """Users u1..u7, items i0..i5, each user three items."""
    rows = [(f"u{u}", f"i{(u + k) % 6}") for u in range(1, 8) for k in range(3)]
    train = folder / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    return train


@pytest.fixture(scope="module")
def popularity_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pop")
    out = folder / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(_train_csv(folder))]
    assert main([*argv, "-o", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def visual_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """visual-cf trained on 4-d vectors of i0..i5."""
    folder = tmp_path_factory.mktemp("vis")
    ids = [f"i{i}" for i in range(6)]
    rows = np.random.default_rng(0).normal(size=(6, 4)).tolist()
    vectors = folder / "v.parquet"
    write_vectors(vectors, item_vectors(ids, rows))
    out = folder / "m"
    argv = ["train", "--model", "visual-cf", "--interactions", str(_train_csv(folder))]
    argv += ["--vectors", str(vectors), "-o", str(out), "--quiet", *FAST]
    assert main(argv) == 0
    return out


def _recommend(model: Path, out: Path, *extra: str) -> int:
    return main(["recommend", str(model), "--n", "3", "-o", str(out), "--quiet", *extra])


@pytest.mark.parametrize("option", ["--items", "--users"])
def test_an_id_holding_a_nul_byte_past_the_binary_sniff_is_refused_naming_its_line(
    popularity_dir: Path, tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: decode_text refuses NUL only in a file's first 8 KiB (as binary); a NUL
    # later made 'i\x001' an id of its own, ranked (or an unknown user) without a word,
    # where every loader of ids refuses it
    prefix = "i" if option == "--items" else "u"
    ids = [f"{prefix}{k % 6 + (option == '--users')}" for k in range(3000)]  # > 8 KiB
    listed = tmp_path / "ids.txt"
    listed.write_bytes(("\n".join(ids) + f"\n{prefix}\x001\n").encode())
    out = tmp_path / "recs.csv"
    assert _recommend(popularity_dir, out, option, str(listed)) == 2
    noun = "item" if option == "--items" else "user"
    what = "candidates" if option == "--items" else "users"
    assert capsys.readouterr().err.endswith(
        f"error: {what} file {str(listed)!r} line 3001: {noun} id '{prefix}\\x001' holds a NUL "
        "byte, which no id can (a damaged file?)\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "what"),
    [
        ("--items", "a file of item ids"),
        ("--users", "a file of user ids"),
        ("--vectors", "a vectors file"),
    ],
)
def test_an_empty_path_is_refused_not_read_as_the_option_left_out(
    popularity_dir: Path,
    tmp_path: Path,
    option: str,
    what: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # before: '' is false, so --items "" ranked every known item, --users "" listed every
    # user and --vectors "" used the recorded file, all with exit 0 and no word (an unset
    # shell variable: --items "$CANDS")
    out = tmp_path / "recs.csv"
    assert _recommend(popularity_dir, out, option, "") == 2
    assert capsys.readouterr().err == (
        f"error: {option}: path is empty (an unset shell variable?); name {what}, or leave it out\n"
    )
    assert not out.exists()


def test_an_empty_users_path_is_named_before_unknown_users_is_checked(
    popularity_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an empty --users is the mistake to name, not "--unknown-users is for a --users file"
    out = tmp_path / "recs.csv"
    assert _recommend(popularity_dir, out, "--users", "", "--unknown-users", "skip") == 2
    assert capsys.readouterr().err.startswith("error: --users: path is empty (an unset shell")


def _list_vectors(path: Path, width: int, column: str = "vector") -> Path:
    """A vectors file as another tool writes it: a list column of no fixed width, no
    visrec metadata; the ids are not the model's (no candidate is new here)."""
    rows = pa.array([[1.0] * width, [2.0] * width], type=pa.list_(pa.float32()))
    pq.write_table(pa.table({"item_id": ["n0", "n1"], column: rows}), path)
    return path


def test_vectors_of_another_width_are_refused_when_no_candidate_is_new(
    visual_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: with no fixed width in the schema only an unseen candidate's read checked
    # the width; with none unseen the 8-d file for a 4-d model passed (exit 0), though the
    # check runs "even when no candidate is new: a wrong file is a mistake either way"
    wide = _list_vectors(tmp_path / "w8.parquet", 8)
    out = tmp_path / "recs.csv"
    assert _recommend(visual_dir, out, "--vectors", str(wide)) == 2
    assert capsys.readouterr().err == (
        f"error: {wide}: vectors have dimension 8, the model was trained on 4-d vectors; pass "
        "the vectors it was trained with (or one embedded with the same backbone)\n"
    )
    assert not out.exists()
    # the right width passes (the check is of the width, not of the file's origin)
    assert _recommend(visual_dir, out, "--vectors", str(_list_vectors(wide, 4))) == 0


def test_a_file_with_no_vector_column_is_refused_when_no_candidate_is_new(
    visual_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: accepted with exit 0 (only an unseen candidate's read looked at the columns)
    other = _list_vectors(tmp_path / "emb.parquet", 4, column="emb")
    out = tmp_path / "recs.csv"
    assert _recommend(visual_dir, out, "--vectors", str(other)) == 2
    assert capsys.readouterr().err == (
        f"error: {other}: not a visrec vectors file (no 'vector' column; columns: item_id, emb)\n"
    )


def test_popular_note_says_after_the_others_only_when_there_are_others(
    popularity_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: "... most taken in training, after the others" with no known user at all
    users = tmp_path / "users.txt"
    users.write_text("zed\nabe\n")
    out = tmp_path / "recs.csv"
    assert _recommend(popularity_dir, out, "--users", str(users), "--unknown-users", "popular") == 0
    err = capsys.readouterr().err
    assert (
        f"note: users file {str(users)!r}: 2 of 2 users the model was not trained on get the "
        "candidates most taken in training ('zed', 'abe')\n"
    ) in err
    assert list(dict.fromkeys(pd.read_csv(out, dtype=str)["user_id"])) == ["zed", "abe"]


def _candidates(tmp_path: Path, text: str) -> list[str]:
    from visrec.commands.recommend import read_candidates

    listed = tmp_path / "cands.txt"
    listed.write_text(text)
    return read_candidates(str(listed))


def test_a_quoted_alias_over_a_mix_of_quoted_and_bare_ids_is_an_id(tmp_path: Path) -> None:
    # kills: _all_quoted's all() made any() (M03), and the header check looking at the
    # lines after the next one, lines[lineno + 1:] (M15): '"asin"' is a header only when
    # every later line is quoted too, and 'b0' (bare) says this file is not so
    assert _candidates(tmp_path, '"asin"\nb0\n"b1"\n') == ["asin", "b0", "b1"]


def test_the_canonical_header_name_is_a_header_in_any_case_even_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: the canonical-name test without .lower() (M14): '"Item_ID"' over bare ids
    # is the header, as is_item_header takes it, not an item named 'Item_ID'
    assert _candidates(tmp_path, '"Item_ID"\nb0\nb1\n') == ["b0", "b1"]
    assert "'Item_ID' taken for a header and skipped\n" in capsys.readouterr().err


def test_a_quoted_id_is_stripped_as_the_loader_strips_the_training_ids(tmp_path: Path) -> None:
    # kills: the line not stripped before the quote test (M06: an indented '"a,b"' was
    # read as the bare text '"a,b"' and refused for its comma, a trailing blank after the
    # closing quote as text after it) and the quoted field not stripped (M11: '" b1 "'
    # stayed ' b1 ', which matches no training id: the loader strips ids, quoted or not)
    assert _candidates(tmp_path, '  "a,b"\n"b0" \n" b1 "\n') == ["a,b", "b0", "b1"]


def test_new_slots_note_says_the_model_cannot_score_unseen_candidates(
    popularity_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # kills: `if not model.scores_new_items` made `if model.scores_new_items` in the
    # --new-slots note (M35; no test reached that branch): popularity scores no new item,
    # so the note must say so, not blame the candidates' vectors
    items = tmp_path / "items.txt"
    items.write_text("i1\nnew0\n")
    out = tmp_path / "recs.csv"
    assert _recommend(popularity_dir, out, "--items", str(items), "--new-slots", "1") == 0
    assert (
        "note: --new-slots has no effect: model 'popularity' cannot score the candidates "
        "unseen in training\n"
    ) in capsys.readouterr().err
