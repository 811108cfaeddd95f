"""Session 66 mutation audit of ``visrec recommend``'s inputs and resume
(:mod:`visrec.commands._recs_inputs`, :mod:`visrec.commands._recs_progress`): the
candidate/user file reader (errors naming file and line, blank lines, duplicates, headers,
quotes), unseen candidates' vectors and their seeded order, and the resume record (cut
back, checked by SHA-256, written atomically, byte-identical output after a resume).

Mutants: 45 total (24 in _recs_inputs, 21 in _recs_progress), 41 killed by the existing
tests, 43 killed with these tests, 2 equivalent:
- P16 (drop_unrecorded without ``not self.finished``): once finished, the rows file was
  renamed onto the output and the record removed, so the unlink finds nothing (suppressed).
- P31 (``block_done`` offset from ``fh.tell()``, not ``fstat``): for this write-only UTF-8
  append-mode file CPython's tell() is the byte position; the size is kept as the
  portable choice.
I30 (new items' positions not carried into the seeded order) was killed before only by
test_cli_recommend_judge::test_ids_round_trip_verbatim; the test here pins it directly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec._atomic import write_text_atomic
from visrec.cli import main
from visrec.commands import _recs_inputs, _recs_progress
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError

FP: dict[str, Any] = {"visrec": "test", "model": "m", "n": 5}
COUNTS = {"n_rows": 1, "n_empty": 0, "n_short": 0}
DIM = 4


# --- _recs_inputs -------------------------------------------------------------------


def test_an_error_of_a_named_vectors_file_is_not_blamed_on_train_json() -> None:
    """I29: with ``--vectors`` given, an error reading it is raised as it is; only a
    file taken from train.json (named by nobody) gets the words saying where it came
    from."""
    raw = np.asarray(["n0"], dtype=object)
    model: Any = argparse.Namespace(scores_new_items=True)
    boom = VisrecError("v.parquet: damaged")

    def unseen_vectors(*a: Any, **kw: Any) -> Any:
        raise boom

    with pytest.MonkeyPatch.context() as m:
        m.setattr(_recs_inputs, "unseen_vectors", unseen_vectors)
        m.setattr(_recs_inputs, "note_respelt_candidates", lambda *a: set())
        args = argparse.Namespace(vectors="v.parquet", items=None, model_dir="m")
        with pytest.raises(VisrecError) as info:
            _recs_inputs._new_candidate_vectors(args, model, raw, np.array([0]), "v.parquet")
        assert info.value is boom
        args = argparse.Namespace(vectors=None, items=None, model_dir="m")
        with pytest.raises(VisrecError) as info:
            _recs_inputs._new_candidate_vectors(args, model, raw, np.array([0]), "v.parquet")
        assert str(info.value).startswith("v.parquet: damaged (v.parquet is the vectors file ")


@pytest.fixture()
def shop(tmp_path: Path) -> dict[str, Path]:
    """Eight users x items i0..i5, and vectors for those and the unseen n0..n2 (each
    its own vector)."""
    rng = np.random.default_rng(5)
    rows = [(f"u{u}", f"i{(u + k) % 6}") for u in range(8) for k in range(3)]
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    ids = [f"i{i}" for i in range(6)] + ["n0", "n1", "n2"]
    vec = np.abs(rng.normal(size=(len(ids), DIM))).astype(np.float32)
    vectors = tmp_path / "v.parquet"
    write_vectors(vectors, ItemVectors(np.asarray(ids), vec, np.ones(len(ids), bool)))
    return {"train": train, "vectors": vectors, "dir": tmp_path}


def _recs(shop: dict[str, Path], model: Path, cands: list[str], name: str) -> pd.DataFrame:
    items = shop["dir"] / f"{name}.txt"
    items.write_text("".join(f"{c}\n" for c in cands), encoding="utf-8")
    out = shop["dir"] / f"{name}.csv"
    argv = ["recommend", str(model), "--n", "9", "--items", str(items), "-o", str(out)]
    assert main([*argv, "--quiet"]) == 0
    return pd.read_csv(out, dtype={"user_id": str, "item_id": str})


def test_each_unseen_candidate_is_scored_from_its_own_vector_in_any_file_order(
    shop: dict[str, Path],
) -> None:
    """I30: the unseen candidates' positions follow them into the seeded order; left
    in file order, a new item's vector scored another candidate, and the lists
    depended on the order of the candidates file."""
    model = shop["dir"] / "m"
    argv = ["train", "--model", "vbpr", "--interactions", str(shop["train"]), "-o", str(model)]
    fast = ["--param=epochs=3", "--param=factors=4", "--param=batch_size=16"]
    assert main([*argv, "--vectors", str(shop["vectors"]), *fast, "--quiet"]) == 0
    cands = ["n2", "i0", "n0", "i3", "n1", "i5"]
    one = _recs(shop, model, cands, "a")
    other = _recs(shop, model, cands[::-1], "b")
    pd.testing.assert_frame_equal(one, other)
    # each new item's score is the one it gets as the only candidate (no position mixup)
    for new in ("n0", "n1", "n2"):
        alone = _recs(shop, model, [new], f"only_{new}").set_index("user_id")["score"]
        got = one[one.item_id == new].set_index("user_id")["score"]
        pd.testing.assert_series_equal(got.sort_index(), alone.sort_index(), check_names=False)


# --- _recs_progress -----------------------------------------------------------------


def test_a_record_that_failed_to_write_does_not_spoil_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P10: a record that cannot be written (disk full) leaves the digest of the rows
    as recorded; hashing the appended bytes into it anyway made the next record's
    SHA-256 wrong, and the resume started over."""
    target = tmp_path / "recs.csv"
    rows, state = _recs_progress.side_files(target)
    prog = _recs_progress.Progress(rows, state, FP, saved_at=time.monotonic() - 10)
    real = write_text_atomic

    def full_disk(*a: Any, **kw: Any) -> None:
        raise OSError(28, "No space left on device")

    with prog.open() as fh:
        fh.write("u1,i1,1,0.5\n")
        monkeypatch.setattr(_recs_progress, "write_text_atomic", full_disk)
        with pytest.raises(OSError):
            prog.block_done(fh, 1, COUNTS)
        monkeypatch.setattr(_recs_progress, "write_text_atomic", real)
        fh.write("u2,i1,1,0.5\n")
        prog.block_done(fh, 2, COUNTS)
    data = rows.read_bytes()
    rec = json.loads(state.read_text(encoding="utf-8"))
    assert rec["sha256"] == hashlib.sha256(data).hexdigest()
    said: list[str] = []
    again = _recs_progress.start(target, FP, 40, True, said.append)
    assert (again.users_done, again.offset) == (2, len(data))
    assert said == [f"resuming: 2 users' lists already written ({rows})"]
