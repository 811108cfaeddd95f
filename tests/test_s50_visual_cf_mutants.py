"""Gaps a mutation audit of visual-cf (session 50) found: the scores of items known only
by an image, written out in numpy from the model's BPR terms (the ridge map in closed
form, its alpha, the bias weight, the -inf of items with neither), the spread factor
of a two-BPR model's taste term, and what ``profile_weight="auto"``'s validation
folds hold out and learn from."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from test_model_mutation_gaps import N_IMAGE_ONLY, N_TRAINED, N_USERS, NO_IMAGE, _vcf, catalogue
from visrec.models import _train, visual_cf
from visrec.models.visual_cf import VisualCF

USERS = np.arange(N_USERS)
IMAGE_ONLY = np.arange(N_TRAINED, N_TRAINED + N_IMAGE_ONLY)
BARE = np.arange(N_TRAINED + N_IMAGE_ONLY, N_TRAINED + N_IMAGE_ONLY + 2)


def _sqrt_l2(v: np.ndarray) -> np.ndarray:
    out = np.sign(v) * np.sqrt(np.abs(v.astype(np.float64)))
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _closed_form_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, ...]:
    """Ridge with an unpenalised intercept: centre, solve (X'X + alpha I) W = X'y."""
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    xc = x - xm
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - ym))
    return w, ym - xm @ w


def test_image_only_and_new_items_score_the_mapped_terms_written_out() -> None:
    """One BPR, no taste term: ``score(u, i) = p_u . q_hat + bias_weight * b_hat`` with
    ``(q_hat, b_hat) = W f_i + c``, W, c the ridge (alpha 7, not the fast settings' 1) of
    the known items' BPR terms on their sqrt-L2, centred, scaled vectors; the items
    with neither interactions nor an image -inf, the trained ones without an image
    their BPR score."""
    inter, iv, learn = catalogue(16)
    m = VisualCF(**_vcf(alpha=7.0, bias_weight=2.0)).fit(inter, iv)
    trained = np.arange(N_TRAINED)
    p = m.user_factors_.astype(np.float64)
    q, b = m.item_factors_.astype(np.float64), m.item_bias_.astype(np.float64)
    rows = _sqrt_l2(iv.vectors[learn])
    mean = rows.mean(axis=0)
    scale = np.sqrt(((rows - mean) ** 2).sum(axis=1).mean())
    w, c = _closed_form_ridge((rows - mean) / scale, np.hstack([q, b[:, None]])[learn], 7.0)
    t = (_sqrt_l2(iv.vectors[IMAGE_ONLY]) - mean) / scale @ w + c
    want = p @ t[:, :-1].T + 2.0 * t[:, -1]
    scores = m.score(USERS)
    np.testing.assert_allclose(scores[:, IMAGE_ONLY], want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m.score_new_items(USERS, iv.vectors[IMAGE_ONLY]), want,
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    # the known items: BPR's p.q + b, those without an image too
    np.testing.assert_allclose(
        scores[:, trained], p @ q[trained].T + b[trained], rtol=1e-5, atol=1e-6
    )
    assert np.isfinite(scores[:, list(NO_IMAGE)]).all()
    assert np.isneginf(scores[:, BARE]).all()


@pytest.fixture(scope="module")
def two_bpr() -> dict[str, Any]:
    """Fits on ``catalogue(16)`` with a map BPR (map_reg 0.01, reg 0.05): without and
    with the taste term."""
    inter, iv, learn = catalogue(16)
    kw = _vcf(map_reg=0.01)
    plain = VisualCF(**kw).fit(inter, iv)
    taste = VisualCF(**{**kw, "profile_weight": 1.0}).fit(inter, iv)
    return {"plain": plain, "taste": taste, "iv": iv, "learn": learn}


def test_the_taste_term_of_a_two_bpr_model_varies_as_much_as_its_mapped_scores(
    two_bpr: dict[str, Any],
) -> None:
    """The spread factor compares the cosines with the mapped scores that new items
    get, those of the map's BPR users (not the known items' BPR's)."""
    vectors = two_bpr["iv"].vectors[two_bpr["learn"]]
    plain, taste = two_bpr["plain"], two_bpr["taste"]
    assert plain.image_user_factors_ is not plain.user_factors_
    mapped = plain.score_new_items(USERS, vectors).astype(np.float64)
    term = taste.score_new_items(USERS, vectors) - mapped
    assert mapped.std() > 0.01
    assert term.std() == pytest.approx(mapped.std(), rel=1e-3)


def test_a_validation_fold_maps_from_its_kept_items_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """One fold of ``profile_weight="auto"``: the ridge learns from the items with an
    image and interactions that the fold keeps, on vectors centred and scaled on those
    items (the held-out ones play new items: their refitted BPR terms are untrained)."""
    inter, iv, learn = catalogue(16)
    m = VisualCF(**_vcf()).fit(inter, iv)
    held = np.flatnonzero(learn)[[0, 4, 9]]
    out = np.zeros(len(learn), dtype=bool)
    out[held] = True
    keep = learn & ~out
    inner = sp.csr_matrix(m.seen_.multiply(~out[None, :]))
    inner.eliminate_zeros()
    test = sp.csr_matrix(m.seen_[:, held])
    users = np.flatnonzero((np.diff(test.indptr) > 0) & (np.diff(inner.indptr) > 0))
    calls: list[np.ndarray] = []

    def spy(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        calls.append(x)
        return _train.ridge(x, y, alpha)

    monkeypatch.setattr(visual_cf, "ridge", spy)
    normed = _train.power_normalise(iv.vectors)
    m._fold_scores("fold", 0.05, normed, iv.has_image, learn, held, inner, test, users)
    (x,) = calls
    rows = _sqrt_l2(iv.vectors[keep])
    mean = rows.mean(axis=0)
    scale = np.sqrt(((rows - mean) ** 2).sum(axis=1).mean())
    np.testing.assert_allclose(x, (rows - mean) / scale, rtol=1e-4, atol=1e-5)


def test_validation_folds_are_a_seeded_draw_of_trained_items_with_an_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The held-out items of the three folds: disjoint, items with interactions and an
    image only (an image-only item has no interactions to recall), drawn at random (ids
    may follow popularity or signup order) and the same draw for the same seed."""
    inter, iv, learn = catalogue(16)
    monkeypatch.setattr(visual_cf, "MIN_FOLD_ITEMS", 2)  # 16 items to fold: no big data
    drawn: list[np.ndarray] = []

    def scores(self: VisualCF, desc: str, map_reg: float, *args: Any) -> np.ndarray:
        drawn.append(np.asarray(args[3]))  # normed, has_image, learn, held
        return np.zeros((3, len(visual_cf.PROFILE_WEIGHTS)))  # recall, sign counts

    monkeypatch.setattr(VisualCF, "_fold_scores", scores)

    def folds(seed: int) -> list[np.ndarray]:
        drawn.clear()
        VisualCF(**_vcf(profile_weight="auto", epochs=1, random_state=seed)).fit(inter, iv)
        return list(drawn)

    first = folds(0)
    # 16 items in 5 folds of 4, 3, 3, 3, 3, the first three validated
    assert [len(h) for h in first] == [4, 3, 3]
    held = np.concatenate(first)
    assert len(np.unique(held)) == len(held) and learn[held].all()
    assert not np.array_equal(np.sort(held), np.flatnonzero(learn)[: len(held)])
    assert all(np.array_equal(a, b) for a, b in zip(first, folds(0), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, folds(1), strict=True))
