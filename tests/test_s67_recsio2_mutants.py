"""Session 67 mutation audit (recsio2) of ``visrec recommend``'s inputs and resume
(:mod:`visrec.commands._recs_inputs`, :mod:`visrec.commands._recs_progress`), in the
parts session 66 left unrun: the candidates file's reading (blank and ``""`` lines,
duplicates and their note, a header-only file, tabs, a mis-decoded file's
warning), ``--vectors`` against the recorded file, the fingerprint's fields, and stale
side files (a record left by ``--no-resume`` or a mismatch, a lock-less run's files).

Mutants: 48 (21 in _recs_inputs: A1-A21; 27 in _recs_progress: B1-B27). The old tests
killed 19 (A2-A4, A10, A12-A14, A19; B7, B8, B13, B15, B17-B21, B23, B27); with these
tests 47 are killed. A1-A10 ran against every test file naming these modules; the rest,
for time, against test_s53_recs_inputs, test_s66_recsio_mutants, test_odd_ids,
test_reader_mutation_gaps, test_s61_recommend_mutants (inputs) or test_recommend_resume
and test_s66_recsio_mutants (progress), so a few counted as survivors may be killed
elsewhere too. 1 equivalent:
- B2 (the fingerprint without ``cands.known_idx``): the model indices follow from the
  candidate ids and the model, and the model's key is in the fingerprint already.
Each test's docstring names the mutants it kills.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from small_vectors import item_vectors
from test_s53_recs_inputs import FAST, _list_vectors, _train_csv
from test_s61_recommend_mutants import _run
from visrec.cli import main
from visrec.commands import _recs_progress
from visrec.commands._recs_inputs import read_candidates
from visrec.embed.store import write_vectors
from visrec.errors import VisrecError
from visrec.models.candidates import CandidateSet

FP: dict[str, Any] = {"visrec": "test", "model": "m", "n": 5}
COUNTS = {"n_rows": 1, "n_empty": 0, "n_short": 0}


def _cands_file(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "cands.txt"
    path.write_bytes(data)
    return str(path)


# --- the candidates file ------------------------------------------------------------


def test_a_line_of_two_quotes_is_blank_not_the_empty_id(tmp_path: Path) -> None:
    """A1: a line ``""`` (a CSV writer's empty field) is skipped as blank; tested on the
    line's text rather than the field, it became the candidate ''."""
    assert read_candidates(_cands_file(tmp_path, b'a\n""\n\n  \nb\n')) == ["a", "b"]


def test_duplicates_are_kept_once_in_first_order_and_counted_in_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A5, A6, A7: a repeated id is kept once, at its first place, and the note counts
    the repeats (one here: 'a' twice)."""
    path = _cands_file(tmp_path, b"b\na\nc\na\n")
    assert read_candidates(path) == ["b", "a", "c"]
    assert capsys.readouterr().err == f"note: {path}: 1 duplicate item id kept once\n"
    path = _cands_file(tmp_path, b"a\na\na\nb\nb\n")
    assert read_candidates(path) == ["a", "b"]
    assert capsys.readouterr().err == f"note: {path}: 3 duplicate item ids kept once\n"


def test_a_file_holding_only_a_header_is_refused(tmp_path: Path) -> None:
    """A8: a file of a header and blank lines holds no candidate: refused, not an empty
    candidate list."""
    path = _cands_file(tmp_path, b"item_id\n\n")
    with pytest.raises(VisrecError, match="holds no item ids"):
        read_candidates(path)


def test_a_bare_id_holding_a_tab_is_refused_naming_its_line(tmp_path: Path) -> None:
    """A9: a tab in a bare line is two fields (a TSV pasted in), refused as a comma is;
    quoted, it is one id."""
    path = _cands_file(tmp_path, b"a\nb\tc\n")
    with pytest.raises(VisrecError, match="line 2: expected one item id per line"):
        read_candidates(path)
    assert read_candidates(_cands_file(tmp_path, b'a\n"b\tc"\n')) == ["a", "b\tc"]


def test_a_mixed_encoding_file_is_warned_of_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A11, A21: a line that is not UTF-8 in a file of UTF-8 lines is read as
    Windows-1252 and warned of (path and line): those ids may not match training's."""
    path = _cands_file(tmp_path, "café\n".encode() + b"caf\xe9\n")
    read_candidates(path)
    assert capsys.readouterr().err.startswith(f"warning: {path}:2: not valid UTF-8 here")


def test_the_bare_canonical_header_is_skipped_without_the_quote_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A12: bare ``item_id`` is the header itself: the note does not suggest quoting it
    (as it does for an alias such as ``asin``, which may be an id)."""
    path = _cands_file(tmp_path, b"item_id\na\n")
    assert read_candidates(path) == ["a"]
    assert capsys.readouterr().err == f"note: {path}:1: 'item_id' taken for a header and skipped\n"
    path = _cands_file(tmp_path, b"asin\na\n")
    assert read_candidates(path) == ["a"]
    assert capsys.readouterr().err == (
        f"note: {path}:1: 'asin' taken for a header and skipped; if it is an id, quote it "
        '("asin")\n'
    )


# --- recommend with candidates and vectors ------------------------------------------


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """visual-cf trained on 4-d vectors of i0..i5 (train.json records v.parquet), a
    popularity model, and other.parquet: the same backbone, with vectors of new0/new1."""
    folder = tmp_path_factory.mktemp("shop")
    train = _train_csv(folder)
    rng = np.random.default_rng(1)
    vectors = folder / "v.parquet"
    write_vectors(
        vectors, item_vectors([f"i{i}" for i in range(6)], rng.normal(size=(6, 4)).tolist())
    )
    other = folder / "other.parquet"
    write_vectors(other, item_vectors(["new0", "new1"], rng.normal(size=(2, 4)).tolist()))
    visual, pop = folder / "vis", folder / "pop"
    argv = ["train", "--interactions", str(train), "--quiet"]
    assert (
        main([*argv, "--model", "visual-cf", "--vectors", str(vectors), "-o", str(visual), *FAST])
        == 0
    )
    assert main([*argv, "--model", "popularity", "-o", str(pop)]) == 0
    return {"dir": folder, "visual": visual, "pop": pop, "other": other}


def _recommend(model: Path, out: Path, *extra: str) -> int:
    return _run(model, out, "--n", "3", *extra)


def test_vectors_named_on_the_command_line_beat_the_file_train_json_records(
    shop: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A16, A15: ``--vectors`` is used over the file recorded at training (which lacks
    new0); preferring the recorded one left new0 unscored, warned of as unscorable. And
    with some of the all-unseen candidates scored, no 'none can be scored' warning."""
    items = tmp_path / "items.txt"
    items.write_text("new0\nnew2\n")
    out = tmp_path / "recs.csv"
    assert (
        _recommend(shop["visual"], out, "--items", str(items), "--vectors", str(shop["other"])) == 0
    )
    assert "no candidate can be scored" not in capsys.readouterr().err
    recs = pd.read_csv(out, dtype={"user_id": str, "item_id": str})
    new0 = recs[recs.item_id == "new0"]
    assert len(new0) == 7 and np.isfinite(new0.score).all() and (new0["rank"] == 1).all()


def test_vectors_a_model_does_not_use_are_noted_not_checked(
    shop: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A18: popularity scores no item from vectors: ``--vectors`` is noted as unused,
    not read (a file of no fixed width and no 'vector' column was refused)."""
    wide = _list_vectors(tmp_path / "emb.parquet", 8, column="emb")
    assert _recommend(shop["pop"], tmp_path / "r.csv", "--vectors", str(wide)) == 0
    assert capsys.readouterr().err == (
        "note: model 'popularity' does not score items from vectors; --vectors is not used\n"
    )


def test_new_slots_note_says_no_candidate_is_unseen(
    shop: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A19: with every candidate seen in training the note says so, not that the model
    cannot score unseen ones."""
    assert _recommend(shop["pop"], tmp_path / "r.csv", "--new-slots", "1") == 0
    assert "note: --new-slots has no effect: no candidate is unseen in training\n" in (
        capsys.readouterr().err
    )


def test_the_unknown_users_error_counts_the_others(
    shop: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A20: three unknown users: the first is named, 'and 2 more' (not 3)."""
    users = tmp_path / "users.txt"
    users.write_text("u1\nx\ny\nz\n")
    assert _recommend(shop["pop"], tmp_path / "r.csv", "--users", str(users)) == 2
    assert "line 2: user 'x' (and 2 more) is not a user" in capsys.readouterr().err


# --- the fingerprint ----------------------------------------------------------------


def _cset(raw: list[str], known: list[int], vectors: Any = None, pos: Any = ()) -> CandidateSet:
    return CandidateSet(
        raw_ids=np.asarray(raw, dtype=object),
        known_idx=np.asarray(known, dtype=np.int64),
        new_vectors=vectors,
        new_pos=np.asarray(pos, dtype=np.int64),
    )


def _fp(cands: CandidateSet, users: Any = None, newcomers: tuple[str, ...] = ()) -> Any:
    return _recs_progress.fingerprint("key", cands, users, list(newcomers), {"n": 5})


def test_the_fingerprint_changes_with_each_input_that_decides_the_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B1, B3, B4, B5, B6: the unseen candidates' vectors, the ids (not only their
    concatenation), the users in order, the new users and the code revision each change
    the fingerprint: else a resume took rows written from other inputs."""
    vec = np.ones((1, 4), np.float32)
    base = _cset(["a", "n"], [0, -1], vec, [1])
    assert _fp(base) == _fp(_cset(["a", "n"], [0, -1], vec.copy(), [1]))
    assert _fp(base) != _fp(_cset(["a", "n"], [0, -1], vec * 2, [1]))
    assert _fp(_cset(["ab", "c"], [-1, -1])) != _fp(_cset(["a", "bc"], [-1, -1]))
    assert _fp(base, np.array([0, 1])) != _fp(base, np.array([1, 0]))
    assert _fp(base, np.array([0, 1])) != _fp(base, None)
    assert _fp(base, None, ("x",)) != _fp(base, None, ("y",))
    assert _fp(base, None, ("x",)) != _fp(base, None)
    one = _fp(base)
    monkeypatch.setattr(_recs_progress, "code_revision", lambda: "another")
    assert _fp(base) != one and _fp(base)["visrec"] == "another"


def test_a_model_folder_without_its_arrays_matches_no_record(tmp_path: Path) -> None:
    """B22: with ``arrays.npz`` gone the model key is new each time (no record of it
    can be resumed), not the key of ``model.json`` alone."""
    from visrec.models.model_folder import MODEL_JSON

    (tmp_path / MODEL_JSON).write_text("{}")
    assert _recs_progress.model_key(str(tmp_path)) != _recs_progress.model_key(str(tmp_path))


# --- the record and the side files --------------------------------------------------


def _recorded(target: Path, users_done: int = 1) -> _recs_progress.Progress:
    """A record of ``users_done`` users' rows (one row each) beside ``target``."""
    rows, state = _recs_progress.side_files(target)
    prog = _recs_progress.Progress(rows, state, FP, saved_at=-1e9)
    with prog.open() as fh:
        for u in range(users_done):
            fh.write(f"u{u},i1,1,0.5\n")
        prog.block_done(fh, users_done, COUNTS)
    return prog


def test_a_record_left_by_no_resume_or_a_mismatch_is_removed_at_the_start(
    tmp_path: Path,
) -> None:
    """B9, B10: a record a run does not resume from is removed as it starts: left, it
    described the new run's rows file, so a failure kept a half-written file (and said
    its lists were kept)."""
    target = tmp_path / "recs.csv"
    notes: list[str] = []
    for fp, resume in ((FP, False), ({**FP, "n": 6}, True)):
        _recorded(target)
        prog = _recs_progress.start(target, fp, 5, resume, notes.append)
        assert prog.users_done == 0 and not prog.state.exists()
        prog.open().close()
        prog.drop_unrecorded()
        assert not prog.rows.exists()
    assert notes == [
        f"resume: {prog.rows} was written with other inputs (n changed); starting over"
    ]


def test_an_empty_rows_file_without_a_record_is_started_over(tmp_path: Path) -> None:
    """B11: a rows file left empty (killed between creating and writing it) is the
    rows of a run, written over with a note, not refused as someone else's file."""
    target = tmp_path / "recs.csv"
    rows, _ = _recs_progress.side_files(target)
    rows.write_bytes(b"")
    notes: list[str] = []
    assert _recs_progress.start(target, FP, 5, True, notes.append).users_done == 0
    assert notes == [
        f"resume: {rows} has no resume record (its run stopped before the first); starting over"
    ]


def test_a_record_of_every_user_resumes(tmp_path: Path) -> None:
    """B13, B14: a record of all the users (killed before the rename), whose rows file
    is exactly the recorded size, is resumed, not started over."""
    target = tmp_path / "recs.csv"
    _recorded(target, 3)
    notes: list[str] = []
    prog = _recs_progress.start(target, FP, 3, True, notes.append)
    assert prog.users_done == 3 and prog.counts == COUNTS
    assert notes == [f"resuming: 3 users' lists already written ({prog.rows})"]


@pytest.mark.parametrize(
    "change",
    [{"offset": 0}, {"users_done": 0}, {"sha256": None}, {"counts": {"n_rows": 1}}],
)
def test_a_record_with_a_field_out_of_range_is_damaged(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    """B12, B26: a record of no bytes or no users, or of no SHA-256, is damaged (an
    offset of 0 cut away the header), whatever the rest says."""
    target = tmp_path / "recs.csv"
    prog = _recorded(target)
    rec = json.loads(prog.state.read_text())
    if change.get("offset") == 0:
        rec["sha256"] = hashlib.sha256(b"").hexdigest()
    rec.update(change)
    prog.state.write_text(json.dumps(rec))
    notes: list[str] = []
    assert _recs_progress.start(target, FP, 5, True, notes.append).users_done == 0
    assert notes == [f"resume: {prog.state} is damaged; starting over"]


def test_the_counts_of_the_last_record_are_kept(tmp_path: Path) -> None:
    """B24: after a record, the progress holds its counts (the closing line's figures
    after a later failed record)."""
    counts = {"n_rows": 3, "n_empty": 1, "n_short": 2}
    rows, state = _recs_progress.side_files(tmp_path / "recs.csv")
    prog = _recs_progress.Progress(rows, state, FP, saved_at=-1e9)
    with prog.open() as fh:
        prog.block_done(fh, 1, counts)
    assert prog.counts == counts


def test_nothing_is_said_kept_before_the_first_record(tmp_path: Path) -> None:
    """B16: a run that recorded nothing itself says no lists are kept, even with a
    record on disk."""
    target = tmp_path / "recs.csv"
    other = _recorded(target)
    fresh = _recs_progress.Progress(other.rows, other.state, FP)
    assert fresh.kept(5) == ""
    assert other.kept(5).startswith("1 of 5 users' lists is kept in")


def test_a_lock_less_run_leaves_another_run_s_record_and_its_own_rows_go(
    tmp_path: Path,
) -> None:
    """B18, B19, B23: a run without the lock records nothing: it does not remove the
    record there (another run's), and after a failure its own temporary rows file goes
    even though a record exists."""
    target = tmp_path / "recs.csv"
    theirs = _recorded(target)
    mine = _recs_progress.private(target, FP)
    assert not mine.resumable and mine.rows != theirs.rows
    mine.open().close()
    mine.forget()
    assert theirs.state.exists()
    mine.drop_unrecorded()
    assert not mine.rows.exists() and theirs.rows.exists()


def test_the_recorded_vectors_file_is_checked_for_its_backbone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A17: only ``--vectors`` was checked before the read; the file ``train.json``
    records, since replaced by another backbone's vectors, is checked at the read: its
    scores would be meaningless."""
    from visrec.embed.store import ItemVectors

    rng = np.random.default_rng(2)
    vectors = tmp_path / "v.parquet"
    write_vectors(
        vectors, item_vectors([f"i{i}" for i in range(6)], rng.normal(size=(6, 4)).tolist())
    )
    model = tmp_path / "m"
    argv = ["train", "--interactions", str(_train_csv(tmp_path)), "--model", "visual-cf"]
    assert main([*argv, "--vectors", str(vectors), "-o", str(model), "--quiet", *FAST]) == 0
    ids = [f"i{i}" for i in range(6)] + ["new0"]
    other = ItemVectors(
        ids=np.array(ids, dtype=object),
        vectors=rng.normal(size=(7, 4)).astype(np.float32),
        has_image=np.ones(7, bool),
        meta={"backbone": "other"},
    )
    write_vectors(vectors, other)
    items = tmp_path / "items.txt"
    items.write_text("i1\nnew0\n")
    out = tmp_path / "recs.csv"
    assert _recommend(model, out, "--items", str(items)) == 2
    err = capsys.readouterr().err
    assert f"{vectors}: holds other vectors, but model 'visual-cf' was trained on test" in err
    assert "recorded when the model was trained" in err and not out.exists()
