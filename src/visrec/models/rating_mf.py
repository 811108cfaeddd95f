"""Biased matrix factorisation for explicit ratings, with an optional visual term.

Prediction for user ``u`` and item ``i`` with image vector ``f_i``::

    r_ui = mu + b_u + b_i + w . f_i + p_u . (q_i + E f_i)

* ``mu + b_u + b_i + p_u . q_i`` is the classic biased MF (Koren, Bell & Volinsky 2009).
* ``w . f_i`` (VBPR's visual bias beta') predicts how an item is rated on average from
  its picture, and ``p_u . E f_i`` lets each user's taste act on what the item looks
  like. Folding ``E f_i`` into the item factor (rather than VBPR's separate user visual
  factors theta_u) reuses ``p_u``, so the visual term adds no per-user parameters: on
  explicit ratings users have few ratings each, and a second user vector overfits.
* For an item without training ratings ``b_i`` and ``q_i`` are not learned, and the
  user's mean training rating ``m_u`` stands in for ``mu + b_u`` (see ``user_mean_``),
  so its prediction is ``m_u + w . f_i + p_u . E f_i``: the visual term is the
  cold-start path. Without a usable image it is ``m_u``; for an unknown user (index -1)
  ``m_u = mu`` and ``b_u``, ``p_u`` are 0. These fallbacks are explicit in
  :meth:`RatingMF.predict`.

Training minimises, full batch with Adam (numpy + scipy.sparse, seconds on 80k ratings)::

    mean_r (r_ui - pred)^2
      + reg * mean_r (|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2)     # per rating: frequency-weighted
      + reg_visual * (|E|^2 + |w|^2)

The per-rating regulariser (as in Funk's SGD and ALS-WR) shrinks users and items in
proportion to how often they appear, which keeps one ``reg`` right for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.sparse as sp

from visrec.data.interactions import Interactions
from visrec.embed.store import (
    UNUSABLE_VALUES,
    ItemVectors,
    check_some_vector,
    image_flags,
    nonzero_rows,
    usable_rows,
    usable_values,
    vector_rows,
)
from visrec.errors import (
    HAS_VECTOR,
    ArgumentTypeError,
    InvalidParameterError,
    NotFittedError,
    VisrecError,
    agree,
    counted,
    none_of,
)
from visrec.models._fresh_fit import check_fit_inputs, fit_from_scratch
from visrec.models._indices import Indices, as_indices
from visrec.models._train import FeatureScaler
from visrec.models.params import ParamsMixin

#: the trained parameters and the fitted attributes that keep them (E, w: visual only)
_LEARNED = {
    "bu": "user_bias_",
    "bi": "item_bias_",
    "p": "user_factors_",
    "q": "item_factors_",
    "E": "visual_projection_",
    "w": "visual_bias_",
}
#: how a refusal of the item vectors ends: the way to fit without them
_NO_VISUAL = "; use visual=False to fit without images"


class RatingMF(ParamsMixin):
    """Biased matrix factorisation for star ratings, optionally with image vectors.

    Parameters
    ----------
    n_factors : int, default 32
        Latent dimension of ``p_u`` / ``q_i`` (0 gives the biases-only model).
    visual : bool, default True
        Use the visual terms ``w . f_i`` and ``p_u . E f_i`` (needs ``vectors`` in fit).
    reg : float, default 0.1
        L2 weight on user/item factors and biases, per rating.
    reg_visual : float, default 0.01
        L2 weight on ``E`` and ``w`` (their summed squares).
    n_epochs : int, default 150
        Full-batch Adam steps.
    lr : float, default 0.04
        Adam learning rate.
    init_scale : float, default 0.1
        Standard deviation of the initial factors; > 0 when ``n_factors >= 1`` (factors
        that all start at 0 get no gradient and never move).
    visual_dim : int or None, default 128
        Image vectors are centred and reduced to this many principal components
        (None keeps all dimensions) before ``E`` and ``w`` act on them.
    random_state : int or None, default 0
        Seed of the initial factors.

    Attributes
    ----------
    user_map_, item_map_ : IdMap
        The id maps of the training interactions: ``predict`` takes indices into them
        (``model.user_map_.to_index(raw_ids)``).
    n_users_, n_items_ : int
        Their sizes.
    global_mean_ : float
    user_bias_ : ndarray of shape (n_users,)
    item_bias_ : ndarray of shape (n_items,)
    user_factors_ : ndarray of shape (n_users, n_factors)
    item_factors_ : ndarray of shape (n_items, n_factors)
    visual_projection_ : ndarray of shape (n_factors, d) or None
        ``E``.
    visual_bias_ : ndarray of shape (d,) or None
        ``w``.
    item_visual_ : ndarray of shape (n_items, d) or None
        The standardised image vectors ``f_i`` (``d <= visual_dim``; zero rows for items
        without an image).
    user_seen_, item_seen_ : ndarray of bool
        Which users / items had training ratings.
    user_mean_ : ndarray of shape (n_users,)
        Each user's mean training rating (``global_mean_`` for users without one): the
        anchor of a prediction for an item without training ratings, in place of
        ``mu + b_u``. ``b_u`` is the user's offset *given* the item biases of what they
        rated, and shrunk; for an item with no bias to add, the user's plain mean is the
        better guess (ML-100K cold items, 3 splits: RMSE 1.057 -> 1.041 with the visual
        term; the user mean alone is 1.043).
    rating_min_, rating_max_ : float
        The rating scale seen in training; predictions are clipped to it.
    """

    def __init__(
        self,
        n_factors: int = 32,
        visual: bool = True,
        reg: float = 0.1,
        reg_visual: float = 0.01,
        n_epochs: int = 150,
        lr: float = 0.04,
        init_scale: float = 0.1,
        visual_dim: int | None = 128,
        random_state: int | None = 0,
    ) -> None:
        self.n_factors = n_factors
        self.visual = visual
        self.reg = reg
        self.reg_visual = reg_visual
        self.n_epochs = n_epochs
        self.lr = lr
        self.init_scale = init_scale
        self.visual_dim = visual_dim
        self.random_state = random_state

    _widths = ("n_factors",)
    _epochs = ("n_epochs",)

    def _validate(self) -> None:
        self._check_params(
            at_least_one=("n_epochs",),
            non_negative=("n_factors", "reg", "reg_visual", "init_scale"),
            positive=("lr",),
        )
        if self.visual_dim is not None:
            self._check_params(at_least_one=("visual_dim",))
        if int(self.n_factors) >= 1 and float(self.init_scale) == 0:
            # p = q = E = 0 is a stationary point of the loss: every factor's gradient
            # is 0 at every step, so the fit would quietly be the biases-only model
            raise InvalidParameterError(
                "model 'RatingMF': init_scale must be > 0 with n_factors >= 1 (factors "
                "that start at 0 never move from it); n_factors=0 fits the biases only, "
                f"got {self.init_scale!r}"
            )

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        interactions: Interactions,
        vectors: np.ndarray | ItemVectors | None = None,
        has_image: np.ndarray | None = None,
    ) -> Self:
        """Learn from the ratings in ``interactions``.

        Parameters
        ----------
        interactions : Interactions
            Must carry ratings. Users/items of the id maps without ratings here are
            allowed (they get the fallbacks described in the module docstring).
        vectors : ndarray of shape (n_items, d), or ItemVectors, optional
            Image vectors aligned to ``interactions.item_map`` (an ``ItemVectors`` is
            aligned here, with its own ``has_image``). Required when ``visual=True``.
        has_image : ndarray of bool, shape (n_items,), optional
            Which rows of ``vectors`` are real images (default: non-zero rows; a row
            of zeros has none whatever its flag). Rows without an image contribute no
            visual term.

        Returns
        -------
        self

        Raises
        ------
        VisrecError
            Before anything is learned: no ratings, a bad hyperparameter, or (with
            ``visual=True``) vectors of another shape, an image row holding NaN, infinite
            or huge (beyond ±1e12) values, or no image for any item. After training: a
            fit that diverged (a learned array NaN, infinite or beyond ±1e12; lower
            ``lr``). A failed fit leaves the model unfitted.
        """
        check_fit_inputs("RatingMF", interactions)
        store = vectors if isinstance(vectors, ItemVectors) else None
        if isinstance(vectors, ItemVectors):
            if has_image is not None:
                raise VisrecError("RatingMF: an ItemVectors brings its own has_image; drop it")
            if len(vectors) and not vectors.dim:  # as the recommenders say it
                raise VisrecError(
                    "RatingMF: the item vectors have width 0 (ids only, as read_vector_ids "
                    "reads them); pass vectors read with read_vectors"
                )
            vectors, has_image = vectors.align(interactions.item_map.ids)
        # a wrong value or input fails before an earlier fit is dropped
        self.check_params()
        if interactions.rating is None:
            raise VisrecError("RatingMF needs ratings; the interactions have none")
        if len(interactions) == 0:
            raise VisrecError("RatingMF: no training ratings")
        self._check_widths(interactions.n_users + interactions.n_items)
        self._check_epochs(len(interactions))
        if self.visual and vectors is None:
            raise VisrecError(
                "RatingMF(visual=True) needs item vectors aligned to the item map; "
                "pass vectors=... or use visual=False"
            )
        if self.visual and store is not None:
            # ids spelt otherwise ('242.0' for '242') align to no row: said, as the
            # recommenders say it, not a fit without its visual term
            check_some_vector(store, interactions.item_map.ids, "RatingMF", "items", _NO_VISUAL)
        if self.visual and vectors is not None:
            vectors, has_image = _checked_vectors(vectors, has_image, interactions.item_map.ids)
        return fit_from_scratch(self, lambda: self._fit_all(interactions, vectors, has_image))

    def _fit_all(
        self,
        interactions: Interactions,
        vectors: np.ndarray | None,
        has_image: np.ndarray | None,
    ) -> Self:
        from visrec._blas_threads import one_blas_thread

        self.user_map_, self.item_map_ = interactions.user_map, interactions.item_map
        n_users, n_items = interactions.n_users, interactions.n_items
        u, i, r = _rating_arrays(interactions)

        self.item_visual_ = None
        if self.visual and vectors is not None:
            rated = np.bincount(i, minlength=n_items) > 0
            assert has_image is not None  # fit's _checked_vectors made it
            self.item_visual_ = self._standardise(
                vectors, has_image, interactions.item_map.ids, rated
            )

        rng = np.random.default_rng(self.random_state)
        k = int(self.n_factors)
        mu = float(r.mean())
        self.global_mean_ = mu
        self.rating_min_, self.rating_max_ = float(r.min()), float(r.max())
        n_u = np.bincount(u, minlength=n_users).astype(np.float64)
        n_i = np.bincount(i, minlength=n_items).astype(np.float64)
        self.user_seen_ = n_u > 0
        self.item_seen_ = n_i > 0
        sums = np.bincount(u, weights=r, minlength=n_users)
        self.user_mean_ = np.where(self.user_seen_, sums / np.maximum(n_u, 1.0), mu)
        f = self.item_visual_

        # float(): a Fraction passes the type check but would turn the arrays' updates
        # into object arithmetic that numpy refuses mid-fit
        params = _initial_params(rng, n_users, n_items, k, f, float(self.init_scale))
        batch = _training_batch(u, i, r - mu, n_u, n_i, float(self.reg))
        adam = _Adam(params, lr=float(self.lr))
        # an overflow is said in words below (the fit diverged), not as numpy warnings
        with one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):
            for _ in range(int(self.n_epochs)):
                adam.step(_gradients(params, f, batch, float(self.reg_visual)))
        for key, attr in _LEARNED.items():
            # as Recommender.fit: such arrays would predict NaN or clip every rating
            if key in params and not usable_values(params[key]):
                raise VisrecError(
                    f"model 'RatingMF': the fit diverged ({attr} holds {UNUSABLE_VALUES}); "
                    "lower lr or raise reg"
                )

        self._keep_learned(params)
        self.n_users_, self.n_items_ = n_users, n_items
        return self

    def _keep_learned(self, params: dict[str, np.ndarray]) -> None:
        """Store the trained ``params`` as the fitted attributes (``user_bias_``, ...)."""
        self.user_bias_ = params["bu"]
        self.item_bias_ = params["bi"]
        self.user_factors_ = params["p"]
        self.item_factors_ = params["q"]
        # Parameters without data only moved by their random start: make the fallback exact.
        self.user_bias_[~self.user_seen_] = 0.0
        self.user_factors_[~self.user_seen_] = 0.0
        self.item_bias_[~self.item_seen_] = 0.0
        self.item_factors_[~self.item_seen_] = 0.0
        self.visual_projection_ = params.get("E")
        self.visual_bias_ = params.get("w")

    def _standardise(
        self,
        v: np.ndarray,
        has: np.ndarray,
        item_ids: np.ndarray,
        rated: np.ndarray,
    ) -> np.ndarray:
        """``v`` and ``has`` as :func:`_checked_vectors` returns them (at least one image)."""
        # centred, reduced to the leading principal components (cheaper per step, less
        # to overfit), rows of root-mean-square norm 1 so reg_visual means the same for
        # any backbone; items without an image get the neutral zero row. Fitted on the
        # items with training ratings: items only in the map (a cold-items test) are
        # transformed, never looked at
        learn = has & rated if (has & rated).any() else has
        scaler = FeatureScaler(n_components=self.visual_dim, dtype=np.float64).fit(v, learn)
        return scaler.transform(v, has)

    # ------------------------------------------------------------------ predict
    def predict(self, user_idx: Indices, item_idx: Indices) -> np.ndarray:
        """Predicted ratings, clipped to the training scale.

        Parameters
        ----------
        user_idx, item_idx : array-like of int, shape (m,)
            Indices in the fitted id maps; ``-1`` marks an unknown user / item, which
            gets the explicit fallback (user: no bias, no taste; item: the user's mean
            training rating plus the item's visual terms, if it has an image). Items in
            the map without training ratings are scored the same way. Other
            out-of-range indices raise.

        Returns
        -------
        ndarray of float64, shape (m,)
        """
        if not hasattr(self, "global_mean_"):
            raise NotFittedError("RatingMF is not fitted yet; call fit() first")
        u = as_indices(user_idx, "user")
        i = as_indices(item_idx, "item")
        if u.shape != i.shape:
            raise VisrecError(f"predict: {u.shape} user indices vs {i.shape} item indices")
        for name, idx, n in (("user", u, self.n_users_), ("item", i, self.n_items_)):
            bad = (idx < -1) | (idx >= n)
            if bad.any():
                raise VisrecError(
                    f"predict: {name} index {int(idx[bad][0])} out of range "
                    f"(0..{n - 1}, or -1 for unknown)"
                )
        ku, ki = u >= 0, i >= 0
        uu, ii = np.where(ku, u, 0), np.where(ki, i, 0)
        bu = np.where(ku, self.user_bias_[uu], 0.0)
        bi = np.where(ki, self.item_bias_[ii], 0.0)
        p = self.user_factors_[uu] * ku[:, None]
        q = self.item_factors_[ii] * ki[:, None]
        if self.visual_projection_ is not None and self.item_visual_ is not None:
            f = self.item_visual_[ii] * ki[:, None]
            q = q + f @ self.visual_projection_.T
            bi = bi + f @ self.visual_bias_
        # an item without training ratings: anchored on the user's plain mean (mu for
        # an unknown user)
        user_mean = np.where(ku, self.user_mean_[uu], self.global_mean_)
        anchor = np.where(ki & self.item_seen_[ii], self.global_mean_ + bu, user_mean)
        pred = anchor + bi + (p * q).sum(axis=1)
        clipped: np.ndarray = np.clip(pred, self.rating_min_, self.rating_max_)
        return clipped


def _rating_arrays(interactions: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """User indices, item indices (int64) and ratings (float64); raises on a non-finite rating."""
    u = np.asarray(interactions.user_idx, dtype=np.int64)
    i = np.asarray(interactions.item_idx, dtype=np.int64)
    r = np.asarray(interactions.rating, dtype=np.float64)
    if not np.isfinite(r).all():
        bad = int(np.flatnonzero(~np.isfinite(r))[0])
        raise VisrecError(
            f"RatingMF: rating row {bad} (user {interactions.user_map.ids[u[bad]]!r}, item "
            f"{interactions.item_map.ids[i[bad]]!r}) is NaN or infinite"
        )
    return u, i, r


def _initial_params(
    rng: np.random.Generator,
    n_users: int,
    n_items: int,
    k: int,
    f: np.ndarray | None,
    init_scale: float,
) -> dict[str, np.ndarray]:
    """The starting parameters: zero biases and ``w``, random ``p``, ``q`` (and ``E``)."""
    d = 0 if f is None else f.shape[1]

    # Parameters in one dict so Adam can walk them; gradients are written by hand with
    # sparse products (autograd's gather/scatter on 80k rows is ~10x slower on CPU).
    params: dict[str, np.ndarray] = {
        "bu": np.zeros(n_users),
        "bi": np.zeros(n_items),
        "p": rng.normal(0.0, init_scale, (n_users, k)),
        "q": rng.normal(0.0, init_scale, (n_items, k)),
    }
    if f is not None:
        # from a child stream, not after q's (n_items, k) draws: the same training rows
        # start from the same E whatever other items the map holds (rating-eval's map
        # also lists the test items); spawn leaves the parent's stream where it is
        params["E"] = rng.spawn(1)[0].normal(0.0, init_scale / np.sqrt(d), (k, d))
        params["w"] = np.zeros(d)
    return params


def _checked_vectors(
    vectors: np.ndarray, has_image: np.ndarray | None, item_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``vectors`` as float64 ``(n_items, d)`` with the rows without an image zeroed,
    and the ``has_image`` mask (the non-zero rows, of those it flags), once both are
    usable: no image row with NaN, infinite or huge values (the recommenders' rule), and
    at least one image (else ``visual=True`` would quietly fit the model without its
    visual term). A row of zeros has no image whatever its flag, as ``ItemVectors`` reads
    it: standardised, it would give a picture-less item the mean image's term."""
    n_items = len(item_ids)
    try:
        v = np.asarray(vectors, dtype=np.float64)
    except (ValueError, TypeError):  # text, None: said in the store's words, not numpy's
        try:
            v = vector_rows(vectors).astype(np.float64)  # a column of arrays stacks
        except VisrecError as exc:
            raise ArgumentTypeError(f"RatingMF: {exc}") from None
    if v.ndim != 2 or v.shape[0] != n_items or v.shape[1] == 0:
        raise VisrecError(
            f"RatingMF: vectors of shape {v.shape}, expected ({n_items}, d) aligned "
            "to the item map, d >= 1"
        )
    usable = usable_rows(v)
    if has_image is None:
        # a NaN row is neither zero nor usable: refused, not taken for "no image"
        has = usable & nonzero_rows(np.where(usable[:, None], v, 0.0))
        check = np.ones(n_items, dtype=bool)
    else:
        try:
            has = image_flags(has_image)
        except VisrecError as exc:
            raise VisrecError(f"RatingMF: {exc}") from None
        if len(has) != n_items:
            raise VisrecError(
                f"RatingMF: has_image has {counted(len(has), 'row')}, expected {n_items}"
            )
        check = has  # rows without an image are not read
        has = has & nonzero_rows(v)  # a row of zeros is no picture, as in ItemVectors
    broken = np.flatnonzero(check & ~usable)
    if len(broken):
        bad = int(broken[0])
        raise VisrecError(
            f"RatingMF: the vector of item {item_ids[bad]!r} (row {bad}) holds "
            f"{UNUSABLE_VALUES} ({counted(len(broken), 'item')} in all); re-embed "
            f"{agree(len(broken), 'it or mark it', 'them or mark them')} has_image=False"
        )
    if not has.any():
        what = (
            "is all zeros"
            if has_image is None
            else "has has_image false" + (" or is all zeros" if check.any() else "")
        )
        raise VisrecError(
            f"RatingMF: {none_of(n_items, 'items', *HAS_VECTOR)} (every row {what}){_NO_VISUAL}"
        )
    return np.where(has[:, None], v, 0.0), has


@dataclass(frozen=True)
class _Batch:
    """The training ratings laid out once for the full-batch gradient of every step
    (each step writes its per-rating gradient into ``s_ui.data`` / ``s_iu.data``)."""

    u: np.ndarray
    i: np.ndarray
    centred: np.ndarray  # rating - mu
    n: float  # number of ratings
    n_users: int
    n_items: int
    by_u: np.ndarray  # the ratings in the order of ``s_ui``'s stored entries
    by_i: np.ndarray  # the ratings in the order of ``s_iu``'s stored entries
    s_ui: sp.csr_matrix
    s_iu: sp.csr_matrix
    reg_u: np.ndarray
    reg_i: np.ndarray


def _training_batch(
    u: np.ndarray,
    i: np.ndarray,
    centred: np.ndarray,
    n_u: np.ndarray,
    n_i: np.ndarray,
    reg: float,
) -> _Batch:
    """The ratings as a :class:`_Batch` (``n_u`` / ``n_i``: ratings per user / item)."""
    n_users, n_items = len(n_u), len(n_i)
    n = float(len(centred))
    # users x items and items x users with one stored entry per rating (duplicates
    # kept; sparse products sum them), so only ``.data`` changes between steps
    by_u = np.argsort(u, kind="stable")
    by_i = np.argsort(i, kind="stable")
    s_ui = sp.csr_matrix(
        (np.zeros(len(centred)), i[by_u], np.concatenate([[0], np.cumsum(n_u)]).astype(np.int64)),
        shape=(n_users, n_items),
    )
    s_iu = sp.csr_matrix(
        (np.zeros(len(centred)), u[by_i], np.concatenate([[0], np.cumsum(n_i)]).astype(np.int64)),
        shape=(n_items, n_users),
    )
    reg_u = (2.0 * reg / n) * n_u  # d/dx of reg * mean_r x_u^2, per user
    reg_i = (2.0 * reg / n) * n_i
    return _Batch(u, i, centred, n, n_users, n_items, by_u, by_i, s_ui, s_iu, reg_u, reg_i)


def _gradients(
    params: dict[str, np.ndarray],
    f: np.ndarray | None,
    b: _Batch,
    reg_visual: float,
) -> dict[str, np.ndarray]:
    """The loss's gradient with respect to each of ``params``, over all ratings ``b``."""
    p, q, bu, bi = params["p"], params["q"], params["bu"], params["bi"]
    item_vec = q if f is None else q + f @ params["E"].T  # (n_items, k)
    item_b = bi if f is None else bi + f @ params["w"]
    pred = bu[b.u] + item_b[b.i] + _pair_dot(p, item_vec, b.u, b.i)
    g = (2.0 / b.n) * (pred - b.centred)  # d loss / d pred, per rating
    b.s_ui.data = g[b.by_u]
    b.s_iu.data = g[b.by_i]
    g_item_vec = b.s_iu @ p  # (n_items, k)
    g_item_b = np.bincount(b.i, weights=g, minlength=b.n_items)
    grads = {
        "bu": np.bincount(b.u, weights=g, minlength=b.n_users) + b.reg_u * bu,
        "bi": g_item_b + b.reg_i * bi,
        "p": b.s_ui @ item_vec + b.reg_u[:, None] * p,
        "q": g_item_vec + b.reg_i[:, None] * q,
    }
    if f is not None:
        grads["E"] = g_item_vec.T @ f + (2.0 * reg_visual) * params["E"]
        grads["w"] = f.T @ g_item_b + (2.0 * reg_visual) * params["w"]
    return grads


def _pair_dot(a: np.ndarray, b: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``(a[rows] * b[cols]).sum(1)`` for many pairs, as fast as the shapes allow."""
    if a.shape[1] == 0:
        return np.zeros(len(rows))
    if a.shape[0] * b.shape[0] <= max(4 * len(rows), 2_000_000):
        # the full product is one BLAS call; gathering two (n, k) blocks is slower
        dots: np.ndarray = (a @ b.T).ravel()[rows * b.shape[0] + cols]
        return dots
    return np.asarray(np.einsum("nk,nk->n", a[rows], b[cols]))


class _Adam:
    """Adam (Kingma & Ba 2015) over a dict of numpy arrays, updated in place."""

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        self.params = params
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        for name, g in grads.items():
            m, v = self.m[name], self.v[name]
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g
            self.params[name] -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
