"""Session 63 mutation audit of ``visrec.models.candidates`` (ranking a mixed candidate
list for ``visrec recommend``: tie keys, score blocks, reserved new-item places, the
one-ranking path) and ``visrec.models._checkpoint`` (saving and resuming a fit's state).

59 hand-written mutants run (34 in candidates, 25 in _checkpoint; 10 more _checkpoint
mutants were written but not run for lack of time): 52 killed by the tests that were
there before, 55 after the tests below, 4 equivalent:

- ``new_slots >= 0`` for ``> 0`` in rank_block: with 0 places ``_reserve_new`` wants
  nothing and returns before touching the row.
- ``_reserve_new(..., new_slots)`` without ``min(new_slots, n)``: wanting more than ``n``
  new items only drops more others, and the row is cut to its ``n`` best by score.
- ``take`` without ``np.maximum(..., 0)``: a negative take adds and drops nothing, and
  the re-sort of an already ranked row by (score, position) leaves it as it was.
- score_block's all-known shortcut disabled: the general path gathers the same
  ``model.score`` columns (the shortcut only saves the -inf column and the gather).

Gaps closed below: an unscorable new item took a reserved place (candidates), popularity
lost its one-ranking path (candidates), and a state of other shapes under the key stopped
the fit instead of starting over (_checkpoint).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import Interactions
from visrec.models import _checkpoint, candidates
from visrec.models.base import Recommender
from visrec.models.candidates import CandidateSet, rank_block
from visrec.models.popularity import Popularity


def test_an_unscorable_new_item_gets_no_reserved_place() -> None:
    # kills: _reserve_new excluding NaN instead of -inf from the new items it reserves
    # places for: a new item the model cannot score (a NaN vector, -inf) pushed a scored
    # candidate out of the list, although the docstring promises "fewer only when fewer
    # are scorable"
    scores = np.asarray([[3.0, 2.0, 1.0, 0.5, -np.inf]], dtype=np.float32)
    new_pos = np.asarray([3, 4], dtype=np.int64)
    pos, val = rank_block(scores.copy(), 2, new_pos, new_slots=2)
    assert pos.tolist() == [[0, 3]]  # the scorable new item replaces the lowest other
    assert val.tolist() == [[3.0, 0.5]]
    # no scorable new item at all: the plain top-n, nothing replaced
    only_unscorable = np.asarray([[3.0, 2.0, 1.0, -np.inf]], dtype=np.float32)
    pos, val = rank_block(only_unscorable, 2, np.asarray([3], dtype=np.int64), new_slots=1)
    assert pos.tolist() == [[0, 1]]
    assert val.tolist() == [[3.0, 2.0]]


def _popularity() -> Popularity:
    """Users u0..u5, items i0..i6: u takes i(u), i(u+1), i(u+2) mod 7."""
    rows = [(f"u{u}", f"i{(u + k) % 7}") for u in range(6) for k in range(3)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    return Popularity().fit(Interactions.from_frame(frame))


def test_popularity_ranks_the_candidates_once_not_per_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # kills: _one_row_for_all with `defined_in(cls, name) > said`: popularity declares
    # same_scores_for_every_user in the class that defines its _score, so it lost the
    # one-ranking path (lists equal, but 53 s instead of a fraction at 50,000 users)
    model = _popularity()
    c = len(model.item_map_)
    raw = np.asarray(model.item_map_.to_list(), dtype=object)
    cands = CandidateSet(raw, np.arange(c, dtype=np.int64), None, np.zeros(0, dtype=np.int64))
    calls: list[int] = []
    real = candidates.score_block

    def counted(m: Recommender, user_idx: np.ndarray, cs: CandidateSet, **kw: bool) -> np.ndarray:
        calls.append(len(user_idx))
        return real(m, user_idx, cs, **kw)

    monkeypatch.setattr(candidates, "score_block", counted)
    got = list(candidates.iter_recommendations(model, cands, 2, batch_users=2))
    assert [len(u) for u, _, _ in got] == [2, 2, 2]
    assert calls == [1], "one score row for every user"
    # the lists are each user's own: none holds a training item
    seen = model.seen_.tocsr()
    for u, pos, _ in got:
        for row, user in zip(pos, u, strict=True):
            assert not set(row.tolist()) & set(seen[user].indices.tolist())


def test_a_subclass_that_scores_per_user_keeps_the_block_path() -> None:
    # the other side of the rule above: a _score overridden below the class that said
    # every user scores alike takes the block path
    class PerUser(Popularity):
        def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
            return super()._score(user_idx, item_idx)

    class Plain(Popularity):
        pass

    assert candidates._one_row_for_all(Popularity())
    assert candidates._one_row_for_all(Plain())
    assert not candidates._one_row_for_all(PerUser())


def test_a_state_of_other_shapes_under_the_key_starts_over(tmp_path: Path) -> None:
    # kills: restore_state without its shape check: a state whose parameters have other
    # shapes (same names) reached load_state_dict and stopped the fit with "damaged
    # training checkpoint ... delete and re-run" instead of starting over
    torch = pytest.importorskip("torch")
    notes: list[str] = []
    ckpt = _checkpoint.Checkpoint(tmp_path, "k", 0.0, notes.append)
    small = torch.nn.Linear(3, 2)
    opts = [torch.optim.Adam(small.parameters(), lr=0.1)]
    assert _checkpoint.save_state(ckpt, "bpr", 2, small, opts, np.random.default_rng(0), [0.5])
    notes.clear()
    wide = torch.nn.Linear(4, 2)
    before = {k: v.clone() for k, v in wide.state_dict().items()}
    got = _checkpoint.restore_state(
        ckpt, "bpr", wide, [torch.optim.Adam(wide.parameters())], np.random.default_rng(0), 4
    )
    assert got == (0, [])
    assert notes == [
        f"note: {tmp_path / 'bpr.pt'}: checkpoint does not fit this fit, starting over"
    ]
    for name, tensor in wide.state_dict().items():
        assert torch.equal(tensor, before[name])
