"""Session 71 review of the session's changes: one id written twice with the same
spaces is the duplicate check's (not "two ids became one"); train's low-ratings note
survives a row dropped for its id (and that row costs no second read of the file); a
vectors file whose first row has no vector (has_image false) still tells its width."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from visrec.cli import main
from visrec.embed.store import read_vectors, vector_width
from visrec.errors import VisrecError

FAST = ["--param", "epochs=2", "--param", "reg=0.01"]


def _vectors(path: Path, ids: list[str], vectors: list[list[float] | None] | None = None) -> Path:
    vecs = vectors if vectors is not None else [[1.0, float(k)] for k in range(len(ids))]
    flags = [v is not None for v in vecs]
    table = {
        "item_id": ids,
        "vector": pa.array(vecs, type=pa.list_(pa.float32())),
        "has_image": flags,
    }
    pq.write_table(pa.table(table), path)
    return path


# ------------------------------------------------------------- spaced ids in vectors
def test_one_spaced_spelling_written_twice_is_a_duplicate_not_a_merge(tmp_path: Path) -> None:
    v = _vectors(tmp_path / "v.parquet", [" i1", "i2", " i1"])
    with pytest.raises(VisrecError) as exc:
        read_vectors(v)
    assert "are one id once the spaces" not in str(exc.value)
    assert "has 2 rows (1, 3" in str(exc.value)


def test_two_spellings_made_one_are_named_by_their_differing_rows(tmp_path: Path) -> None:
    # rows 1 and 2 are the same spelling; row 4 is the one that joins them
    v = _vectors(tmp_path / "v.parquet", [" i1", " i1", "i2", "i1 "])
    with pytest.raises(VisrecError, match=r"' i1' \(row 1\) and 'i1 ' \(row 4\) are one id"):
        read_vectors(v)


def test_spaced_vector_ids_still_stripped_and_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", [" a", "b ", "c", " a2"])
    iv = read_vectors(v, only=["a", "b"])
    assert list(iv.ids) == ["a", "b"]
    assert list(read_vectors(v).ids) == ["a", "b", "c", "a2"]
    err = capsys.readouterr().err
    assert err.count("had spaces around them") == 1
    assert "3 item ids had spaces around them, removed (' a' is read as 'a')" in err


# ------------------------------------------------------------- train's low-ratings note
def test_low_ratings_note_survives_a_row_dropped_for_its_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "train.csv"
    lines = [f"u{k % 5},i{k % 7},{r}" for k, r in enumerate(["1", "5", "4", "2"] * 4)]
    p.write_text("user_id,item_id,rating\n,i1,5\n" + "\n".join(lines) + "\n")
    argv = ["train", "--model", "bpr", "--interactions", str(p), "-o", str(tmp_path / "m")]
    assert main([*argv, "-q", *FAST]) == 0
    err = capsys.readouterr().err
    assert "empty user id" in err  # the row dropped for its id is still said
    assert "note: 8 rows are rated 2 or lower" in err


def test_a_row_dropped_for_its_id_costs_no_second_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.commands import _common
    from visrec.data import tables

    p = tmp_path / "train.csv"
    p.write_text("user_id,item_id,rating\n,i1,5\nu1,i1,1\nu2,i2,5\n")
    calls = []
    real = tables.load_interactions

    def counting(*a: object, **kw: object) -> object:
        calls.append(kw.get("keep_rating"))
        return real(*a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tables, "load_interactions", counting)
    frame = _common.load_interactions_frame(str(p), ids_only=True, peek_rating=True)
    assert len(calls) == 1
    assert list(frame["rating"]) == [1.0, 5.0]
    # an unusable rating: the row kept, without a rating column, in the same one read
    # (session 72: was a second read without the rating)
    p.write_text("user_id,item_id,rating\nu1,i1,x\nu1,i2,1\nu2,i2,5\n")
    calls.clear()
    frame = _common.load_interactions_frame(str(p), ids_only=True, peek_rating=True)
    assert len(calls) == 1 and len(frame) == 3 and "rating" not in frame.columns


# ------------------------------------------------------------- a null first vector
def test_vector_width_skips_a_first_row_without_vector(tmp_path: Path) -> None:
    v = _vectors(tmp_path / "v.parquet", ["a", "b", "c"], [None, [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert vector_width(v) == 3
    assert np.array_equal(read_vectors(v).vectors[0], np.zeros(3, np.float32))
    empty = _vectors(tmp_path / "n.parquet", ["a"], [None])
    assert vector_width(empty) is None


def test_recommend_refuses_a_wrong_width_file_whose_first_row_has_no_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "train.csv"
    rows = [f"u{u},i{(u + k) % 4}" for u in range(6) for k in range(2)]
    train.write_text("user_id,item_id\n" + "\n".join(rows) + "\n")
    three = [[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.5, 0.5, 1.0], [1.0, 1.0, 0.0]]
    good = _vectors(tmp_path / "v.parquet", ["i0", "i1", "i2", "i3"], three)
    m = tmp_path / "m"
    argv = ["train", "--model", "vbpr", "--interactions", str(train), "--vectors", str(good)]
    assert main([*argv, "-o", str(m), "-q", *FAST]) == 0
    wrong = _vectors(tmp_path / "w.parquet", ["i0", "i1", "i9"], [None, [1.0, 2.0], [3.0, 4.0]])
    capsys.readouterr()
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(m), "-o", str(out), "--vectors", str(wrong), "-q"]) == 2
    assert "vectors have dimension 2, the model was trained on 3-d" in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------- only rows without a vector
def test_reading_only_items_without_a_picture_gives_zeros_of_the_files_width(
    tmp_path: Path,
) -> None:
    v = _vectors(tmp_path / "v.parquet", ["a", "b", "c"], [[1.0, 2.0], None, [3.0, 4.0]])
    iv = read_vectors(v, only=["b"])
    assert list(iv.ids) == ["b"] and not iv.has_image[0]
    assert np.array_equal(iv.vectors, np.zeros((1, 2), np.float32))


def test_a_file_of_null_vectors_only_is_refused_as_such(tmp_path: Path) -> None:
    v = _vectors(tmp_path / "v.parquet", ["a", "b"], [None, None])
    with pytest.raises(VisrecError, match=r"no item has a vector \(every row's is null"):
        read_vectors(v)


def test_recommend_ranks_new_candidates_without_a_picture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "train.csv"
    rows = [f"u{u},i{(u + k) % 4}" for u in range(6) for k in range(2)]
    train.write_text("user_id,item_id\n" + "\n".join(rows) + "\n")
    three = [[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.5, 0.5, 1.0], [1.0, 1.0, 0.0], None]
    v = _vectors(tmp_path / "v.parquet", ["i0", "i1", "i2", "i3", "new"], three)
    m, out = tmp_path / "m", tmp_path / "recs.csv"
    argv = ["train", "--model", "vbpr", "--interactions", str(train), "--vectors", str(v)]
    assert main([*argv, "-o", str(m), "-q", *FAST]) == 0
    items = tmp_path / "c.txt"
    items.write_text("i0\ni1\nnew\n")
    argv = ["recommend", str(m), "-o", str(out), "--vectors", str(v), "--items", str(items)]
    assert main(argv) == 0, capsys.readouterr().err
    assert "new" in out.read_text()


# ------------------------------------------------------------- visual-cf's profile note
def _validated(scores: list[float], sign: list[list[int]]) -> str | None:
    from visrec.models.visual_cf import PROFILE_WEIGHTS, VisualCF

    model = VisualCF()  # profile_weight="auto"
    keys = [f"profile_weight={w:g}" for w in PROFILE_WEIGHTS]
    model.profile_validation_ = dict(zip(keys, scores, strict=True))
    model.profile_sign_ = dict(zip(keys[1:], sign, strict=True))
    model.profile_unvalidated_ = ""
    model.item_map_ = None  # type: ignore[assignment]  # as fitted: the note reads no more
    return model.profile_note()


def test_profile_note_with_every_score_zero_names_no_sign_test() -> None:
    note = _validated([0.0, 0.0, 0.0, 0.0], [[0, 0], [0, 0], [0, 0]])
    assert note is not None and note.endswith(": 0 (none gains 10% over 0)")


def test_profile_note_names_the_sign_test_that_refused_a_gain() -> None:
    note = _validated([0.1, 0.2, 0.1, 0.1], [[30, 20], [0, 0], [0, 0]])
    assert note is not None and note.endswith(
        ": 0 (none gains 10% over 0 significantly: 0.5 did better for 30 validation users,"
        " worse for 20)"
    )
