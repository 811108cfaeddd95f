"""visual-cf's taste term is a cosine: ``profile_scale_ * cos(user's mean picture, item's
picture)``, where a picture is an item's unit vector of ``profile_dim`` principal
components of its scaled (signed-sqrt, L2, centred, scaled) image vector and the user's
mean picture is the unit mean of their training items' pictures (docs/models.md).

The checkerboard of test_visual_cf_profile.py gives every user 6 items, so a profile
left as a sum, or pictures left unnormalised, change every user alike and pass there.
Here users have 1 to 15 items (two have none with an image) and the vectors very
different norms, and the term is recomputed in numpy from the model's saved arrays.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from test_models import FAST
from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import ItemVectors
from visrec.models.visual_cf import VisualCF

N_ITEMS, DIM, NO_IMAGE = 40, 16, 4  # the last NO_IMAGE items have no image
HISTORY = [1, 15, 2, 12, 3, 9, 1, 6, 15, 4, 2, 10]  # items per user (images only)


def _data() -> tuple[dict[int, list[int]], Interactions, ItemVectors]:
    rng = np.random.default_rng(3)
    imaged = N_ITEMS - NO_IMAGE
    history = {u: sorted(rng.choice(imaged, n, replace=False)) for u, n in enumerate(HISTORY)}
    history[len(HISTORY)] = [imaged, imaged + 1]  # two users whose items have no image
    history[len(HISTORY) + 1] = [imaged + 2, imaged + 3]
    df = pd.DataFrame(
        [(f"u{u}", f"i{i}") for u, items in history.items() for i in items],
        columns=["user_id", "item_id"],
    )
    users = IdMap([f"u{u}" for u in history])
    items = IdMap([f"i{i}" for i in range(N_ITEMS)])
    inter = Interactions.from_frame(df, user_map=users, item_map=items)
    vectors = _vectors(rng, N_ITEMS)
    has_image = np.arange(N_ITEMS) < imaged
    vectors[~has_image] = 0.0
    return history, inter, ItemVectors(np.asarray(items.ids), vectors, has_image, {})


def _vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Non-negative vectors, norms spread over two orders of magnitude."""
    v = np.abs(rng.normal(0, 1, (n, DIM))) * rng.uniform(0, 3, (n, 1)) ** 2
    v[:, : DIM // 2] *= rng.uniform(0.2, 3.0, (n, 1))  # a look: which half dominates
    return v.astype(np.float32)


def _unit(a: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(norm == 0, 1.0, norm)


def _pictures(model: VisualCF, vectors: np.ndarray) -> np.ndarray:
    """The pipeline written out: signed sqrt + L2, centre, scale, project, unit length."""
    v = np.sign(vectors) * np.sqrt(np.abs(vectors.astype(np.float64)))
    f = (_unit(v) - model.feature_mean_) / model.feature_scale_[0]
    f[~vectors.any(axis=1)] = 0.0  # no image: the neutral picture
    return _unit(f @ model.profile_components_.T.astype(np.float64))


def test_taste_is_scale_times_cosine_to_the_users_unit_mean_picture() -> None:
    history, inter, iv = _data()
    params = {**FAST["visual-cf"], "map_reg": None, "profile_weight": 1.0, "profile_dim": 4}
    model = VisualCF(**params).fit(inter, iv)
    assert model.profile_components_.shape == (4, DIM)
    scale = float(model.profile_scale_[0])
    assert scale > 0

    # (a) a user's profile has unit length (zero without a picture), whatever their count
    norms = np.linalg.norm(model.user_profiles_, axis=1)
    np.testing.assert_allclose(norms[: len(HISTORY)], 1.0, rtol=1e-5)
    np.testing.assert_array_equal(norms[len(HISTORY) :], 0.0)

    # (b) the taste part of new items' scores: the full score minus the score without it
    new = _vectors(np.random.default_rng(11), 8)
    users = np.arange(len(history))
    off = copy.copy(model)
    off.profile_scale_ = np.zeros(1, dtype=np.float32)
    taste = model.score_new_items(users, new) - off.score_new_items(users, new)

    pictures = _pictures(model, iv.vectors)
    profiles = np.zeros((len(history), model.profile_components_.shape[0]))
    for u, items in history.items():
        profiles[u] = pictures[items].mean(axis=0)  # of unit pictures; no image: zeros
    profiles[: len(HISTORY)] = _unit(profiles[: len(HISTORY)])
    cosines = profiles @ _pictures(model, new).T
    assert np.ptp(cosines) > 0.5  # new items that differ in look, for these users
    np.testing.assert_allclose(taste, scale * cosines, rtol=1e-4, atol=1e-5 * scale)
