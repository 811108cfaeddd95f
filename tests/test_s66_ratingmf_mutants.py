"""Session 66 mutation audit of RatingMF (models/rating_mf.py): the prediction formula
(mu, user / item biases, factors, the visual bias w and projection E), clipping to the
training scale, the per-rating and visual penalties and their gradients, Adam, the
fallbacks for unknown (-1) and unrated users / items, cold items scored from their
vectors, the seed, and the checks of hyperparameters, vectors and has_image.

52 mutants (M01..M52 of the session-66 report): 51 killed by the earlier RatingMF tests
(the 18 test files that name the module), 52 once this file is added, 0 equivalent.
The one survivor was M34: Adam's eps moved under the square root
(``sqrt(v_hat + eps)``), which only shows on gradients near 1e-8;
test_adam_steps_are_those_of_kingma_and_ba kills it. The has_image test pins our own
one-line message for a mask of the wrong length either way (M52 was killed before only
by a broader test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visrec.data.interactions import IdMap, Interactions
from visrec.errors import VisrecError
from visrec.models.rating_mf import RatingMF, _Adam


def _reference_adam(x: np.ndarray, grads: list[np.ndarray], lr: float) -> np.ndarray:
    """Algorithm 1 of Kingma & Ba (2015) written out, beta1 0.9, beta2 0.999, eps 1e-8."""
    m, v = np.zeros_like(x), np.zeros_like(x)
    x = x.copy()
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        x = x - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
    return x


def test_adam_steps_are_those_of_kingma_and_ba() -> None:
    # Kills M33 (no bias correction of v), M34 (eps under the square root), M46 (the
    # first moment's (1 - beta1) halved). Gradients span 1e-9 .. 1e3 so eps matters for
    # the smallest; the first step of Adam is lr * g / (|g| + eps), about lr * sign(g).
    rng = np.random.default_rng(3)
    x0 = rng.normal(size=6)
    grads = [np.array([1e-9, -1e-9, 1e-3, -2.0, 5.0, 1e3]) * (1 + 0.3 * t) for t in range(4)]
    params = {"x": x0.copy()}
    adam = _Adam(params, lr=0.05)
    adam.step({"x": grads[0]})
    first = x0 - 0.05 * grads[0] / (np.abs(grads[0]) + 1e-8)
    np.testing.assert_allclose(params["x"], first, rtol=1e-12, atol=1e-15)
    for g in grads[1:]:
        adam.step({"x": g})
    np.testing.assert_allclose(
        params["x"], _reference_adam(x0, grads, 0.05), rtol=1e-12, atol=1e-15
    )


def _small_visual() -> tuple[Interactions, np.ndarray]:
    rng = np.random.default_rng(11)
    n_users, n_items = 12, 9
    rows = [
        (f"u{a}", f"i{b}", float(rng.integers(1, 6)))
        for a in range(n_users)
        for b in range(n_items - 1)  # the last item stays without ratings
        if rng.random() < 0.6
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    items = IdMap(np.array([f"i{b}" for b in range(n_items)], dtype=object))
    users = IdMap(np.array([f"u{a}" for a in range(n_users + 1)], dtype=object))
    inter = Interactions.from_frame(frame, user_map=users, item_map=items)
    return inter, rng.normal(size=(n_items, 5))


@pytest.mark.parametrize("n_flags", [3, 10])
def test_has_image_of_another_length_is_refused_naming_both_lengths(n_flags: int) -> None:
    # Also kills M52 (the length check of has_image only for a longer mask: a shorter one
    # ended in numpy's broadcasting error, not ours).
    inter, vecs = _small_visual()
    with pytest.raises(VisrecError, match=rf"^RatingMF: has_image has {n_flags} rows, expected 9$"):
        RatingMF(n_factors=2, visual_dim=3, n_epochs=2).fit(
            inter, vecs, has_image=np.ones(n_flags, dtype=bool)
        )
