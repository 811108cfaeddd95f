"""Session 62 mutation audit of RatingMF (models/rating_mf.py), BPR (models/bpr.py) and
Popularity (models/popularity.py): predictions, fallbacks for unknown / unrated users and
items, clipping, regularisation, Adam, seeds, vector checks, score masks, load checks.

66 mutants (46 RatingMF, 12 BPR, 8 Popularity): 55 killed by the earlier tests (the
RatingMF files incl. test_s49_scoring_mutants; test_models, test_model_mutation_gaps,
test_old_model_folders, test_model_folder_damage for BPR and Popularity), 60 killed once
this file is added (R37, B07, P02, P03, P04), 6 equivalent:

* R19 / R21 (unseen users' / items' biases not reset to 0 after the fit): they start at
  0 and their gradient is exactly 0 (no ratings, per-rating penalty 0), so Adam never
  moves them.
* R36 (``_pair_dot`` takes the einsum path for small shapes): the same dot products.
* R38 (``_checked_vectors`` returns the rows without an image unzeroed): the scaler is
  fitted on image rows only and ``transform(v, has)`` zeroes the others anyway.
* R43 (no finite check of the ratings in ``_rating_arrays``): ``Interactions`` refuses
  NaN / infinite ratings when built and keeps read-only copies, so none reaches it.
* P05 (item counts from ``seen_ > 0``): ``seen_`` is the binary matrix already.

Each test names the mutant(s) it kills (ids of the session-62 report).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import IdMap, Interactions
from visrec.errors import InvalidParameterError, VisrecError
from visrec.models.base import Recommender
from visrec.models.rating_mf import RatingMF

# ---------------------------------------------------------------------- RatingMF fixtures
#: users A..E rate items x..z; user "N" and item "n" are in the maps without ratings
_RATINGS = [
    ("A", "x", 5.0),
    ("A", "y", 4.0),
    ("A", "z", 1.0),
    ("B", "x", 4.0),
    ("B", "y", 5.0),
    ("C", "x", 1.0),
    ("C", "z", 2.0),
    ("D", "y", 2.0),
    ("D", "z", 1.0),
    ("E", "x", 3.0),
    ("E", "z", 1.0),
]


def _ratings(rows: list[tuple[str, str, float]] | None = None) -> Interactions:
    frame = pd.DataFrame(rows or _RATINGS, columns=["user_id", "item_id", "rating"])
    users = IdMap(np.array(["A", "B", "C", "D", "E", "N"]))
    items = IdMap(np.array(["x", "y", "z", "n"]))
    return Interactions.from_frame(frame, user_map=users, item_map=items)


def test_rating_mf_refuses_a_zero_start_with_one_factor() -> None:
    # Kills R37 (the all-zero start refused only for n_factors > 1): one factor that
    # starts at 0 never moves either.
    with pytest.raises(InvalidParameterError, match="init_scale must be > 0"):
        RatingMF(n_factors=1, init_scale=0.0, visual=False).fit(_ratings())
    # with no factors it is the biases-only model, which is fine
    RatingMF(n_factors=0, init_scale=0.0, visual=False, n_epochs=2).fit(_ratings())


# ---------------------------------------------------------------------- BPR
def _implicit(n_users: int = 12, n_items: int = 10, seed: int = 0) -> Interactions:
    """Users 0..5 pick from items 0..4, users 6..11 from items 5..9 (4 each); item 9
    is in the map with no interactions."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        base = 0 if u < n_users // 2 else 5
        pool = 5 if base == 0 else 4  # item 9 left out
        rows += [(f"u{u}", f"i{base + k}") for k in rng.choice(pool, size=4, replace=False)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    return Interactions.from_frame(
        frame, item_map=IdMap(np.array([f"i{i}" for i in range(n_items)]))
    )


def test_bpr_similar_items_are_the_cosines_of_the_item_factors() -> None:
    # Kills B07 (similar_items on factors with the item bias folded in). The documented
    # similarity is the cosine of the item factors q_i, the item itself and items
    # without interactions (item 9) left out.
    from visrec.models.bpr import BPR

    inter = _implicit()
    m = BPR(factors=4, epochs=5, lr=0.05, reg=0.01, batch_size=16, device="cpu").fit(inter)
    assert np.abs(m.item_bias_[:9]).max() > 1e-3  # the bias would change the cosines
    q = m.item_factors_.astype(np.float64)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    ids, sims = m.similar_items([0, 6], n=8)
    for row, query in enumerate((0, 6)):
        expected = q[ids[row]] @ q[query]
        np.testing.assert_allclose(sims[row], expected, rtol=1e-5)
        assert query not in ids[row] and 9 not in ids[row]
        assert (np.diff(sims[row]) <= 0).all()


# ---------------------------------------------------------------------- Popularity
def _rewrite_counts(folder: Path, index: int, value: float) -> None:
    npz = folder / "arrays.npz"
    with np.load(npz) as z:
        kept = {k: z[k] for k in z.files}
    counts = kept["item_counts_"].copy()
    counts[index] = value
    np.savez(npz, **{**kept, "item_counts_": counts})


@pytest.mark.parametrize("bad", ["minus one", "one too many", "a fraction"])
def test_popularity_refuses_a_saved_count_just_out_of_bounds(tmp_path: Path, bad: str) -> None:
    # Kills P02 (`counts < -1`: a count of -1 loaded, the item silently ranked -inf),
    # P03 (`counts > most + 1`: one more user than the item's training pairs) and P04
    # (no whole-number check: 2.5 users). The earlier test wrote -5, which any of the
    # mutants still refuses.
    from visrec.models.popularity import Popularity

    model = Popularity().fit(_implicit())
    most = float(model.item_counts_[0])
    assert most >= 2
    value = {"minus one": -1.0, "one too many": most + 1, "a fraction": most - 0.5}[bad]
    folder = model.save(tmp_path / "m")
    _rewrite_counts(folder, 0, value)
    with pytest.raises(VisrecError, match=r"item_counts_ says .* the folder is damaged"):
        Recommender.load(folder)
    # the count as saved loads
    _rewrite_counts(folder, 0, most)
    assert Recommender.load(folder).item_counts_[0] == most  # type: ignore[attr-defined]
