"""Visual CF: BPR for the items people interacted with, a learned image -> item-factor
map for the ones nobody has (cold start)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from visrec._ranking import recall_rows, top_candidates
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import InvalidParameterError, VisrecError, agree
from visrec.models._auto_reg import (
    AUTO,
    AutoRegMixin,
    K,
    _finite_number,
    distinct_digits,
    saved_scores,
)
from visrec.models._indices import among
from visrec.models._train import FeatureScaler, power_normalise, ridge
from visrec.models.base import Recommender
from visrec.models.model_folder import ARRAYS_NPZ, MODEL_JSON


class VisualCF(AutoRegMixin, Recommender):
    """BPR-MF plus a ridge map from an item's image vector to its BPR factors and bias.

    ``score(u, i) = b_i + p_u . q_i`` with the BPR item terms for items seen in training,
    and with ``(q_i, b_i) = (W f_i + c)`` for items seen only as an image (new items,
    or items in the training id map with no interactions). Warm quality is BPR's; the
    cold score is mostly the predicted bias -- how popular an item that looks like this
    tends to be -- plus the predicted taste direction ``p_u . q_hat``.

    Parameters
    ----------
    factors, epochs, lr, reg, batch_size, init_std
        BPR hyperparameters, as in :class:`visrec.models.bpr.BPR`
        (defaults 64, 80, 0.005, "auto", 1024, 0.01). ``reg`` is the penalty of the BPR
        that scores known items; ``"auto"`` is chosen by their validation Recall@20, as
        for BPR.
    map_reg : float or None, default 0.01
        Penalty of the BPR whose item factors and biases the image map learns, and whose
        user factors score the items known only by an image. When it differs from the
        ``reg`` used, a second BPR is fitted for the map. On sparse data, where
        ``reg="auto"`` chooses a stronger penalty for known items, new items still rank
        best from a BPR at 0.01 (the stronger penalty shrinks the user's taste
        direction and leaves mostly predicted popularity). None: the known items' BPR.
    alpha : float, default 100.0
        Ridge penalty of the image -> (factors, bias) map, on vectors centred and scaled
        to root-mean-square row norm 1.
    bias_weight : float, default 1.0
        Multiplier of the predicted bias of image-only items (predicted popularity
        carries most of the cold-start signal). On ML-100K, over the three
        ``visrec evaluate`` cold splits, 1 and 2 give the same Recall@20 (0.177) and 1
        the better AUC (0.643 vs 0.637); on another split 2 gave the better Recall@20
        (0.234 vs 0.212) -- the split matters more than this knob.
    feature_norm : {"sqrt-l2", "none"}, default "sqrt-l2"
        Transform of the image vectors before centring and scaling: signed square root
        and unit L2 norm per item (ML-100K cold splits, mean of three: Recall@20 0.187
        vs 0.177, AUC 0.647 vs 0.643, on the splits it was chosen on; on three others
        the earlier "none" with bias_weight 2 did as well: docs/models.md), or none.
    profile_weight : float or "auto", default "auto"
        Weight of a visual taste term for items scored from their image: the cosine
        between the item's picture and the mean picture of the user's training items
        (in ``profile_dim`` principal components of the scaled vectors), rescaled to the
        spread of the mapped scores; 0 turns it off. It helps where people choose by
        look and hurts where they do not: on a generated shop whose users pick by
        article type and colour, weight 1 raised cold-start Recall@20 from 0.240 to
        0.287, on ML-100K posters it lowered it from 0.187 to 0.161. ``"auto"`` chooses
        among 0, 0.5, 1 and 2 on three folds, each holding out 20% of the training
        items (a BPR refitted without them: three more BPR fits), and keeps 0 unless
        the best gains at least 10% validation Recall@20 over it and does better than 0
        for significantly more validation users than worse (sign test). It chose 2 on that
        shop (0.292) and 0 on ML-100K (figures unchanged) (docs/models.md).
    profile_dim : int, default 64
        Principal components the taste term compares pictures in.
    device : str or None, default None
    random_state : int or None, default 0
    verbose : bool, default False

    Attributes
    ----------
    user_factors_, item_factors_, item_bias_ : ndarray of float32
        ``p_u`` (n_users, factors), ``q_i`` (n_items, factors), ``b_i`` (n_items,):
        BPR's terms for items with interactions, the map's for the id map's items known
        only by an image.
    image_user_factors_ : ndarray of float32, shape (n_users, factors)
        The user factors that score items known only by an image (those of the map's
        BPR; equal to ``user_factors_`` when one BPR served both).
    map_weights_, map_intercept_ : ndarray of float32, shapes (d, factors + 1), (factors + 1,)
        ``W`` and ``c``: the scaled image vector -> ``(q_i, b_i)`` ridge map.
    feature_mean_, feature_scale_ : ndarray of float32, shapes (d,) and (1,)
        The centring and scaling of the (``feature_norm``-transformed) vectors.
    item_scorable_ : ndarray of bool, shape (n_items,)
        Items with interactions or an image.
    profile_components_, user_profiles_, image_only_profiles_, profile_scale_ : ndarray
        The taste term (empty when its weight is 0): principal components (k, d), each
        user's unit mean picture (n_users, k), the image-only items' unit pictures, and
        the factor that puts cosines on the scores' scale.
    reg_ : float
        The known items' BPR penalty (``"auto"`` resolved).
    reg_validation_, profile_validation_ : dict
        Validation Recall@20 of each penalty / taste weight tried (empty when none was).
    profile_sign_ : dict or None
        For each positive weight tried, ``[better, worse]``: the validation users (of
        all folds) whose Recall@20 it raised / lowered against weight 0 (None: a model
        saved before this was kept, decided by the mean gain alone).
    profile_unvalidated_ : str
        Why ``profile_weight="auto"`` could not validate (``"items"``: too few items
        with interactions and an image; ``"users"``: no user with a held-out item and
        another), ``""`` when it did or was not asked to, ``"unknown"`` when saved
        before this was kept.
    image_only_ : ndarray of int64
        Positions of the id map's items known only by an image (derived, not saved).
    user_map_, item_map_, seen_, vector_meta_
        As in :class:`~visrec.models.base.Recommender`.
    """

    name = "visual-cf"
    _fit_backend = "visrec.models._fit_torch"
    _positive_arrays = ("feature_scale_",)
    _scores_item_subsets = True
    uses_vectors = True
    missing_vector_effect = "the image map does not learn from them; they keep their BPR terms"
    pictures_for_known_items = False  # known items: exactly BPR's scores
    scores_new_items = True
    _array_dims: ClassVar[dict[str, tuple[str | int, ...]]] = {
        "user_factors_": ("users", "factors"),
        "item_factors_": ("items", "factors"),
        "item_bias_": ("items",),
        "item_scorable_": ("items",),
        "image_user_factors_": ("users", "factors"),
        "map_weights_": ("vector_dim", "factors + 1"),
        "map_intercept_": ("factors + 1",),
        "feature_mean_": ("vector_dim",),
        "feature_scale_": (1,),
        "profile_components_": ("components", "vector_dim"),
        "user_profiles_": ("users", "components"),
        "image_only_profiles_": ("*", "components"),
        "profile_scale_": (1,),
    }
    _array_attrs: ClassVar[tuple[str, ...]] = tuple(_array_dims)
    _mask_arrays: ClassVar[tuple[str, ...]] = ("item_scorable_",)

    # saved before these existed: the map learned from the known items' BPR, on the
    # vectors as given, with no taste term
    _params_before_added: ClassVar[dict[str, Any]] = {
        "feature_norm": "none",
        "map_reg": None,
        "profile_weight": 0.0,
        "profile_dim": 64,
    }
    _profile_arrays: ClassVar[tuple[str, ...]] = (
        "profile_components_",
        "user_profiles_",
        "image_only_profiles_",
        "profile_scale_",
    )
    _arrays_before_added: ClassVar[tuple[str, ...]] = ("image_user_factors_", *_profile_arrays)
    # validation ranks known items only: the map's BPR would be a wasted fit
    # (and no taste term: known items only, and its own validation would be 3 more fits
    # per trial, with items the trial's split leaves image-only scored by it)
    _trial_params: ClassVar[dict[str, Any]] = {"map_reg": None, "profile_weight": 0.0}

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    item_bias_: np.ndarray
    item_scorable_: np.ndarray
    image_user_factors_: np.ndarray
    map_weights_: np.ndarray
    map_intercept_: np.ndarray
    feature_mean_: np.ndarray
    feature_scale_: np.ndarray
    # the taste term (empty when profile_weight is 0): components (k, d) of the scaled
    # vectors, each user's unit mean picture (n_users, k), the image-only items' unit
    # pictures (in image_only_ order) and the factor that puts cosines on the scores' scale
    profile_components_: np.ndarray
    user_profiles_: np.ndarray
    image_only_profiles_: np.ndarray
    profile_scale_: np.ndarray

    def __init__(
        self,
        factors: int = 64,
        epochs: int = 80,
        lr: float = 0.005,
        reg: float | str = "auto",
        batch_size: int = 1024,
        init_std: float = 0.01,
        map_reg: float | None = 0.01,
        alpha: float = 100.0,
        bias_weight: float = 1.0,
        feature_norm: str = "sqrt-l2",
        profile_weight: float | str = "auto",
        profile_dim: int = 64,
        device: str | None = None,
        random_state: int | None = 0,
        verbose: bool = False,
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.lr = lr
        self.reg = reg
        self.batch_size = batch_size
        self.init_std = init_std
        self.map_reg = map_reg
        self.alpha = alpha
        self.bias_weight = bias_weight
        self.feature_norm = feature_norm
        self.profile_weight = profile_weight
        self.profile_dim = profile_dim
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _widths = ("factors",)
    _epochs = ("epochs",)

    def _validate(self) -> None:
        self._check_params(
            at_least_one=("factors", "epochs", "batch_size", "profile_dim"),
            non_negative=("init_std", "alpha", "bias_weight"),
            positive=("lr",),
        )
        self._check_reg()
        w = self.profile_weight
        if not (w == AUTO or (_finite_number(w) and float(w) >= 0)):
            raise InvalidParameterError(
                f"model {self.name!r}: profile_weight must be a number >= 0 or 'auto', got {w!r}"
            )
        if self.map_reg is not None:
            self._check_params(non_negative=("map_reg",))
        if self.feature_norm not in ("sqrt-l2", "none"):
            raise InvalidParameterError(
                f"model {self.name!r}: feature_norm must be 'sqrt-l2' or 'none', "
                f"got {self.feature_norm!r}"
            )

    def _check_usable_vectors(self, interactions: Interactions, item_vectors: ItemVectors) -> None:
        # the map needs two pictures of trained items: refused before fit forgets an
        # earlier fit, as fit's docstring promises for a wrong argument
        super()._check_usable_vectors(interactions, item_vectors)
        trained = np.bincount(interactions.item_idx, minlength=interactions.n_items) > 0
        pictured = interactions.item_map.ids[
            trained & item_vectors.has_image_for(interactions.item_map.ids)
        ]
        if len(pictured) < 2:
            n, which = len(pictured), "".join(f" ({i!r})" for i in pictured)
            raise VisrecError(
                f"model {self.name!r} needs at least 2 items with both interactions and an "
                f"image vector (to learn how pictures map to tastes); {n} of the "
                f"{int(trained.sum()):,} training items {agree(n, 'has', 'have')} one{which}"
            )

    def _fit(
        self,
        interactions: Interactions,
        vectors: np.ndarray | None,
        has_image: np.ndarray | None,
    ) -> None:
        assert vectors is not None and has_image is not None
        trained = np.diff(self.seen_.tocsc().indptr) > 0
        learn = trained & has_image  # two or more: _check_usable_vectors

        def bpr(reg: float, desc: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return self._bpr(self.seen_, reg, desc)

        map_reg = self.reg_ if self.map_reg is None else float(self.map_reg)
        p, q, b = bpr(self.reg_, "bpr")
        pm, qm, bm = (p, q, b) if map_reg == self.reg_ else bpr(map_reg, "bpr-map")
        vectors = self._normalise(vectors)
        scaler = FeatureScaler().fit(vectors, learn)
        feats = scaler.transform(vectors, has_image)
        self.feature_mean_, self.feature_scale_ = scaler.to_arrays()
        target = np.hstack([qm, bm[:, None]])
        # every item learnt from (the usual case): no copy of the features
        x, y = (feats, target) if learn.all() else (feats[learn], target[learn])
        self.map_weights_, self.map_intercept_ = ridge(x, y, float(self.alpha))
        # image-only items in the id map get the mapped terms
        image_only = ~trained & has_image
        if image_only.any():
            mq, mb = self._map(feats[image_only])
            q[image_only], b[image_only] = mq, mb
        self.user_factors_, self.item_factors_, self.item_bias_ = p, q, b
        self.image_user_factors_ = pm
        self.item_scorable_ = trained | has_image
        self._fit_profiles(vectors, feats, has_image, learn, image_only)
        self._after_load()

    def _bpr(
        self, seen: sp.csr_matrix, reg: float, desc: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # a generator each: each fit is exactly BPR(reg=reg)'s, so known items rank
        # as bpr's and new items as with reg=map_reg
        from visrec.models._fit_torch import fit_bpr_factors

        return fit_bpr_factors(
            seen,
            factors=int(self.factors),
            epochs=int(self.epochs),
            lr=float(self.lr),
            reg=reg,
            batch_size=int(self.batch_size),
            init_std=float(self.init_std),
            device=self.device,
            rng=np.random.default_rng(self.random_state),
            verbose=self.verbose,
            desc=desc,
        )

    def _fit_profiles(
        self,
        normed: np.ndarray,
        feats: np.ndarray,
        has_image: np.ndarray,
        learn: np.ndarray,
        image_only: np.ndarray,
    ) -> None:
        """The taste term's arrays (weight 0: none; ``_after_load`` makes empty ones).
        ``profile_scale_`` holds the weight times the spread factor. ``normed`` are the
        vectors before scaling, which the validation folds scale themselves."""
        self.profile_validation_: dict[str, float] = {}
        self.profile_sign_: dict[str, list[int]] | None = {}
        self.profile_unvalidated_ = ""
        if self.profile_weight != AUTO and float(self.profile_weight) == 0:
            return
        self.profile_components_ = self._profile_components(feats, learn)
        g = self._pictures(feats) * has_image[:, None]
        if self.profile_weight == AUTO:
            weight, self.profile_validation_ = self._choose_profile_weight(normed, has_image, learn)
        else:
            weight = float(self.profile_weight)
        if weight == 0:
            del self.profile_components_
            return
        self.user_profiles_ = _profiles(self.seen_, has_image, g)
        self.image_only_profiles_ = g[image_only]
        spread = _spread_factor(
            self.image_user_factors_, self._map, feats, self.user_profiles_, g, learn,
            self.random_state,
        )  # fmt: skip
        with np.errstate(over="ignore"):  # a weight beyond float32: fit() says so in words
            self.profile_scale_ = np.asarray([weight * spread], dtype=np.float32)

    def _profile_components(self, feats: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The taste term's principal components of ``feats[rows]`` (the identity when
        ``profile_dim`` keeps every dimension)."""
        # feats are centred on these rows already: components only, no second mean
        comps = FeatureScaler(n_components=int(self.profile_dim)).fit(feats, rows).components_
        d = feats.shape[1]
        return np.asarray(np.eye(d, dtype=np.float32) if comps is None else comps, np.float32)

    def _choose_profile_weight(
        self, normed: np.ndarray, has_image: np.ndarray, learn: np.ndarray
    ) -> tuple[float, dict[str, float]]:
        """``profile_weight="auto"``: mean validation Recall@20 of each weight in
        ``PROFILE_WEIGHTS`` over three folds, each holding out 20% of the items that
        have interactions and an image (a BPR refitted without them; the vector scaling,
        the taste term's components, the map and the profiles learned on the rest; the
        held-out items are the candidates, as in the cold-items protocol). 0 unless the
        best gains ``PROFILE_MARGIN`` over it, significantly (``_decide``). Sets
        ``profile_sign_`` and, when no validation is possible, ``profile_unvalidated_``."""
        import hashlib

        from visrec.models import _checkpoint

        rows = np.flatnonzero(learn)
        if len(rows) < 5 * MIN_FOLD_ITEMS:  # folds of fewer candidates rank all of them
            self.profile_unvalidated_ = "items"
            return 0.0, {}
        rs = self.random_state
        rng = np.random.default_rng(None if rs is None else [int(rs), 0x7A57E])
        map_reg = self.reg_ if self.map_reg is None else float(self.map_reg)
        n_w = len(PROFILE_WEIGHTS)
        total = np.zeros((3, n_w))  # mean recall; users better / worse than weight 0
        folds = np.array_split(rng.permutation(rows), 5)[:PROFILE_FOLDS]
        for k, held in enumerate(folds):
            out = np.zeros(self.seen_.shape[1], dtype=bool)
            out[held] = True
            inner = sp.csr_matrix(self.seen_.multiply(~out[None, :]))
            inner.eliminate_zeros()
            test = sp.csr_matrix(self.seen_[:, held])
            users = np.flatnonzero((np.diff(test.indptr) > 0) & (np.diff(inner.indptr) > 0))
            if not len(users):  # no user with a held-out item and another one
                self.profile_unvalidated_ = "users"
                return 0.0, {}
            if len(users) > PROFILE_USERS:  # a random sample: ids may follow signup order
                users = np.sort(rng.choice(users, PROFILE_USERS, replace=False))
            # `visrec train` resumes the fold's fit and skips a finished fold; keyed by
            # the fold's items, so that a run with random_state=None (other folds) or
            # another map_reg never reuses them
            desc = f"profile-fold-{k + 1}"
            digest = hashlib.sha1(np.asarray(held, np.int64).tobytes()).hexdigest()[:16]
            with _checkpoint.keyed(f"{desc}:{digest}:{map_reg!r}"):
                ckpt = _checkpoint.active()
                # 3 x n_w values: one saved before the sign counts (n_w) is redone
                done = None if ckpt is None else _checkpoint.load_values(ckpt, desc, 3 * n_w)
                if done is None:
                    fold = self._fold_scores(
                        desc, map_reg, normed, has_image, learn, held, inner, test, users
                    )
                    if ckpt is not None:
                        _checkpoint.save_values(ckpt, desc, fold.ravel().tolist())
                else:
                    fold = np.asarray(done).reshape(3, n_w)
            total += fold
        recall = total[0] / len(folds)
        scores = {
            f"profile_weight={w:g}": round(float(r), 4)
            for w, r in zip(PROFILE_WEIGHTS, recall, strict=True)
        }
        self.profile_sign_ = {
            f"profile_weight={w:g}": [int(total[1, j]), int(total[2, j])]
            for j, w in enumerate(PROFILE_WEIGHTS)
            if w
        }
        return _decide(scores, self.profile_sign_), scores

    def _fold_scores(
        self,
        desc: str,
        map_reg: float,
        normed: np.ndarray,
        has_image: np.ndarray,
        learn: np.ndarray,
        held: np.ndarray,
        inner: sp.csr_matrix,
        test: sp.csr_matrix,
        users: np.ndarray,
    ) -> np.ndarray:
        """``_fold_recall`` of each profile weight on one fold: BPR refitted on
        ``inner`` (the interactions without the ``held`` items), the scaling, components,
        map and profiles learned on the other items, the held-out items as candidates."""
        p, q, b = self._bpr(inner, map_reg, desc)
        out = np.zeros(len(learn), dtype=bool)
        out[held] = True
        keep = learn & ~out
        # statistics of the kept items only: a new item never shapes them either
        feats = FeatureScaler().fit(normed, keep).transform(normed, has_image)
        g = self._pictures(feats, self._profile_components(feats, keep)) * has_image[:, None]
        w, c = ridge(feats[keep], np.hstack([q, b[:, None]])[keep], float(self.alpha))

        def fold_map(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            t = f @ w + c
            return t[:, :-1], float(self.bias_weight) * t[:, -1]

        profiles = _profiles(inner, has_image & ~out, g)
        spread = _spread_factor(p, fold_map, feats, profiles, g, keep, self.random_state)
        mq, mb = fold_map(feats[held])
        return _fold_recall(p, mq, mb, spread, profiles, g[held], test, users)

    def profile_note(self) -> str | None:
        """One line on what ``profile_weight="auto"`` chose (or on a set weight that
        can do nothing), or None."""
        self._check_fitted()
        weight = self.fitted_param("profile_weight")
        if weight != AUTO:
            if float(weight) != 0 and float(self.profile_scale_[0]) == 0:
                return (
                    f"profile_weight={float(weight):g}: the pictures' cosines "
                    "to the users' profiles do not vary (the scaled vectors are all alike), "
                    "so the taste term adds nothing"
                )
            return None
        val = self.profile_validation_
        if not val:
            items = f"fewer than {5 * MIN_FOLD_ITEMS} items with interactions and an image"
            users = "no user with a held-out item and another"
            why = {"items": items, "users": users}.get(self.profile_unvalidated_)
            return (
                f"profile_weight=auto: no validation possible ({why or f'{items}, or {users}'}), "
                "so profile_weight=0: no taste term"
            )
        d = distinct_digits(list(val.values()))
        scores = "; ".join(f"{k.split('=')[1]} -> {v:.{d}f}" for k, v in val.items())
        chosen = self.chosen_profile_weight()
        why = ""
        if not chosen:
            why = f" (none gains {PROFILE_MARGIN:.0%} over 0"
            best = max(val, key=val.__getitem__)
            sign = self.profile_sign_
            # said only of a taste weight (the best is 0 itself when every score is 0)
            # that gained enough: the sign test refused it
            gained = val[best] >= (1 + PROFILE_MARGIN) * val["profile_weight=0"]
            if sign is not None and best in sign and gained:
                better, worse = sign[best]
                why += (
                    f" significantly: {best.split('=')[1]} did better for {better:,} "
                    f"validation {agree(better, 'user', 'users')}, worse for {worse:,}"
                )
            why += ")"
        return (
            f"profile_weight=auto: validation Recall@20 on {PROFILE_FOLDS} folds of held-out "
            f"items ({scores}): {chosen:g}{why}"
        )

    def fit_notes(self) -> list[str]:
        profile = self.profile_note()
        return super().fit_notes() + ([profile] if profile else [])

    def tuned(self) -> str | None:
        parts = [super().tuned()]
        auto = self.fitted_param("profile_weight") == AUTO
        if auto and getattr(self, "profile_validation_", None):
            parts.append(f"profile_weight={self.chosen_profile_weight():g}")
        found = [p for p in parts if p]
        return ", ".join(found) if found else None

    def chosen_profile_weight(self) -> float:
        """The taste term's weight this model scores with (0: off)."""
        self._check_fitted()  # before fit, "auto" has chosen nothing: not 0
        weight = self.fitted_param("profile_weight")
        if weight != AUTO:
            return float(weight)
        return _decide(
            getattr(self, "profile_validation_", {}), getattr(self, "profile_sign_", None)
        )

    def _pictures(self, feats: np.ndarray, comps: np.ndarray | None = None) -> np.ndarray:
        """Unit-length principal-component coordinates of scaled features (on ``comps``,
        default the model's ``profile_components_``)."""
        return _unit(feats @ (self.profile_components_ if comps is None else comps).T)

    def _taste(self, user_idx: np.ndarray, pictures: np.ndarray) -> np.ndarray:
        taste: np.ndarray = float(self.profile_scale_[0]) * (
            self.user_profiles_[user_idx] @ pictures.T
        )
        return taste

    def _extra_state(self) -> dict[str, Any]:
        return {
            **super()._extra_state(),
            "profile_validation": self.profile_validation_,
            "profile_sign": self.profile_sign_,
            "profile_unvalidated": self.profile_unvalidated_,
        }

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        super()._set_extra_state(state)
        scores = saved_scores(self.name, state, "profile_validation")
        # what profile_weight="auto" decides by: "profile_weight=W", 0 among them
        weights = [k.partition("=") for k in scores]
        if scores and not (
            all(key == "profile_weight" and _is_number(w) for key, _, w in weights)
            and "profile_weight=0" in scores
        ):
            raise VisrecError(
                f"model {self.name!r}: model.json holds no usable profile_validation "
                f"({scores!r}: expected validation scores by 'profile_weight=W', 0 among them); "
                "train the model again"
            )
        self.profile_validation_ = scores
        # saved before these were kept: decided by the mean gain alone, reason unknown
        sign = state.get("profile_sign")
        if sign is not None and not (
            isinstance(sign, dict)
            and set(sign) <= set(scores)
            and all(
                isinstance(v, list)
                and len(v) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in v)
                for v in sign.values()
            )
        ):
            raise VisrecError(
                f"model {self.name!r}: model.json holds no usable profile_sign ({sign!r}: "
                "expected [better, worse] user counts by 'profile_weight=W'); train the model again"
            )
        self.profile_sign_ = sign
        why = state.get("profile_unvalidated", "unknown")
        self.profile_unvalidated_ = why if why in ("", "items", "users") else "unknown"

    def _after_load(self) -> None:
        self._check_left_out()
        # one BPR (saved before map_reg, or map_reg == reg: `save` leaves the copy out):
        # share the known items' user factors, so image-only items score as before
        # saving (the one-column product of the two-BPR path differs in the last bit)
        if not hasattr(self, "image_user_factors_"):
            self.image_user_factors_ = self.user_factors_
        # derived, not saved: the items scored by mapped terms
        untrained = np.diff(self.seen_.tocsc().indptr) == 0
        self.image_only_ = np.flatnonzero(self.item_scorable_ & untrained)
        if hasattr(self, "profile_scale_"):
            rows, n = len(self.image_only_profiles_), len(self.image_only_)
            if rows != n:  # more rows scored silently; fewer failed as an IndexError
                raise VisrecError(
                    f"{ARRAYS_NPZ}: image_only_profiles_ has {rows:,} rows, but the model has "
                    f"{n:,} items known only by an image (one row each): the folder is "
                    "damaged; train the model again"
                )
        else:  # weight 0, or saved before the term
            d = len(self.feature_mean_)
            self.profile_components_ = np.zeros((0, d), dtype=np.float32)
            self.user_profiles_ = np.zeros((self.seen_.shape[0], 0), dtype=np.float32)
            self.image_only_profiles_ = np.zeros((len(self.image_only_), 0), dtype=np.float32)
            self.profile_scale_ = np.zeros(1, dtype=np.float32)

    def _check_left_out(self) -> None:
        """Arrays ``save`` leaves out only when they hold nothing (``_derivable``) are
        missing from a damaged folder too: tell the two apart by what the model says it
        was trained with, instead of scoring without the taste term or the second BPR.
        Taste-term arrays a model of weight 0 never has, or a scale that flips the term,
        are damage too."""
        have = [a for a in self._profile_arrays if hasattr(self, a)]
        if have and len(have) < len(self._profile_arrays):
            gone = next(a for a in self._profile_arrays if a not in have)
            raise VisrecError(
                f"{ARRAYS_NPZ} holds {have[0]} but not {gone} (the taste term's arrays are "
                "saved together): the folder is damaged; train the model again"
            )
        weight = self.chosen_profile_weight()
        if have and weight == 0:  # it scored with them, and save would leave them out
            raise VisrecError(
                f"{ARRAYS_NPZ} holds the taste term's arrays of a model that {MODEL_JSON} "
                "says scores with profile_weight 0 (without them): the folder is damaged; "
                "train the model again"
            )
        if have and not float(self.profile_scale_[0]) >= 0:  # would flip the term
            raise VisrecError(
                f"{ARRAYS_NPZ}: profile_scale_ is {float(self.profile_scale_[0]):g}, not >= 0 "
                "(a weight >= 0 times a spread): the folder is damaged; train the model again"
            )
        if not have and weight != 0:
            raise VisrecError(
                f"{ARRAYS_NPZ} lacks the taste term's arrays ({', '.join(self._profile_arrays)}) "
                f"of a model that scores with profile_weight {weight:g}: the folder is "
                "damaged; train the model again"
            )
        map_reg = self.fitted_param("map_reg")
        two_fits = map_reg is not None and float(map_reg) != float(self.reg_)
        if two_fits and not hasattr(self, "image_user_factors_"):
            raise VisrecError(
                f"{ARRAYS_NPZ} lacks image_user_factors_, which a model with map_reg "
                f"{map_reg!r} (not reg {self.reg_!r}) saves: the folder is damaged; "
                "train the model again"
            )

    def _derivable(self, attr: str) -> bool:
        if attr in self._profile_arrays:  # no taste term: _after_load makes the empties
            # by the weight, as _check_left_out tells a damaged folder: a weight whose
            # scale came out 0 (cosines that do not vary) still saves its arrays
            return self.chosen_profile_weight() == 0
        # one BPR: image items use the known items' user factors
        return self.image_user_factors_ is self.user_factors_

    def new_item_fit(self) -> str | None:
        self._check_fitted()
        fitted = self.fitted_param("map_reg")
        map_reg = self.reg_ if fitted is None else float(fitted)
        return None if map_reg == self.reg_ else f"reg={map_reg!r}"

    def _normalise(self, vectors: np.ndarray) -> np.ndarray:
        sqrt = self.fitted_param("feature_norm") == "sqrt-l2"
        return power_normalise(vectors) if sqrt else vectors

    def _map(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = feats @ self.map_weights_ + self.map_intercept_
        return t[:, :-1], float(self.fitted_param("bias_weight")) * t[:, -1]

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        i = slice(None) if item_idx is None else item_idx
        s: np.ndarray = self.user_factors_[user_idx] @ self.item_factors_[i].T + self.item_bias_[i]
        cols, io = among(self.image_only_, item_idx)
        if self.image_user_factors_ is not self.user_factors_ and len(io):
            # mapped terms live in the map's BPR space: score them with its users
            s[:, cols] = self.image_user_factors_[user_idx] @ self.item_factors_[io].T
            s[:, cols] += self.item_bias_[io]
        if float(self.profile_scale_[0]) and len(io):
            # the profiles are in image_only_ order (sorted item indices)
            rows = np.searchsorted(self.image_only_, io)
            s[:, cols] += self._taste(user_idx, self.image_only_profiles_[rows])
        s[:, ~self.item_scorable_[i]] = -np.inf
        return s

    def vector_dim(self) -> int | None:
        self._check_fitted()
        return int(self.feature_mean_.shape[0])  # the scaler's width is the input's

    def _expected_dims(self) -> dict[str, int]:
        dims = super()._expected_dims()
        return {**dims, "factors + 1": dims["factors"] + 1}

    def _score_new(self, user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return self._score_terms(user_idx, self._new_terms(vectors))

    def _new_terms(self, vectors: np.ndarray) -> tuple[np.ndarray, ...]:
        scaler = FeatureScaler.from_arrays(self.feature_mean_, self.feature_scale_)
        f = scaler.transform(self._normalise(vectors))
        mq, mb = self._map(f)
        if float(self.profile_scale_[0]):
            return mq, mb, self._pictures(f)
        return mq, mb

    def _score_terms(self, user_idx: np.ndarray, terms: tuple[np.ndarray, ...]) -> np.ndarray:
        mq, mb, *pictures = terms
        s: np.ndarray = self.image_user_factors_[user_idx] @ mq.T + mb
        if pictures:
            s += self._taste(user_idx, pictures[0])
        return s

    def _scorable_items(self) -> np.ndarray | None:
        return self.item_scorable_

    def _item_embeddings(self) -> np.ndarray:
        return self.item_factors_


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _unit(a: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero."""
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    return (a / np.where(norm == 0, 1.0, norm)).astype(np.float32)


#: ``profile_weight="auto"``: the weights tried, the folds, the gain over 0 required,
#: and the one-sided sign-test p-value that gain must reach (``_decide``)
PROFILE_WEIGHTS = (0.0, 0.5, 1.0, 2.0)
PROFILE_FOLDS = 3
PROFILE_MARGIN = 0.10
PROFILE_SIGNIFICANCE = 0.01
#: the list length validation scores (the penalties' validation uses the same)
K_VALID = K
#: fewer items with interactions and an image than 5x this: no validation, weight 0
MIN_FOLD_ITEMS = 5 * K_VALID
#: users scored per fold (bounds the cost on large data)
PROFILE_USERS = 5000


def _decide(scores: dict[str, float], sign: dict[str, list[int]] | None = None) -> float:
    """The weight ``profile_weight="auto"`` keeps from its validation ``scores``: the best
    (first of equals), unless it gains less than ``PROFILE_MARGIN`` over 0 or, with the
    ``sign`` counts (``[better, worse]`` users by weight; None: a model saved before
    them), fails the sign test at ``PROFILE_SIGNIFICANCE``; 0 if none."""
    if not scores:
        return 0.0
    best = max(scores, key=scores.__getitem__)
    if scores[best] < (1 + PROFILE_MARGIN) * scores["profile_weight=0"]:
        return 0.0
    # At a tiny recall a 10% gain is a few hits (random vectors on a million rows: 0.0053
    # vs 0.0048): the best of three weights then wins by chance. The gain must also come
    # from clearly more users helped than hurt (one-sided sign test on per-user recall).
    if sign is not None and _sign_p(*sign.get(best, [0, 0])) >= PROFILE_SIGNIFICANCE:
        return 0.0
    return float(best.split("=")[1])


def _sign_p(better: int, worse: int) -> float:
    """One-sided sign-test p-value of ``better`` users against ``worse`` (ties left out):
    the chance of at least ``better`` heads in ``better + worse`` fair coin tosses."""
    from scipy.special import bdtrc

    return float(bdtrc(better - 1, better + worse, 0.5)) if better > 0 else 1.0


def _profiles(seen: sp.csr_matrix, has_image: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Each user's unit mean picture over their items with an image (zero if none)."""
    return _unit(np.asarray(seen.multiply(has_image[None, :]).tocsr() @ g, dtype=np.float32))


def _spread_factor(
    user_factors: np.ndarray,
    image_map: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    feats: np.ndarray,
    profiles: np.ndarray,
    g: np.ndarray,
    items_mask: np.ndarray,
    random_state: int | None,
) -> float:
    """What a cosine is multiplied by to move a score as much as the mapped terms vary:
    the ratio of the two spreads over a sample of users x items of ``items_mask`` (only
    the sampled items are mapped)."""
    # one fixed sample under None too: a scale estimated, not a random choice to vary
    rng = np.random.default_rng(0 if random_state is None else random_state)
    users = rng.choice(len(user_factors), min(500, len(user_factors)), replace=False)
    rows = np.flatnonzero(items_mask)
    items = rng.choice(rows, min(2000, len(rows)), replace=False)
    mq, mb = image_map(feats[items])
    mapped = user_factors[users] @ mq.T + mb
    spread = float((profiles[users] @ g[items].T).std())
    return float(mapped.std()) / spread if spread > 0 else 0.0


def _fold_recall(
    user_factors: np.ndarray,
    mq: np.ndarray,
    mb: np.ndarray,
    spread: float,
    profiles: np.ndarray,
    pictures: np.ndarray,
    test: sp.csr_matrix,
    users: np.ndarray,
) -> np.ndarray:
    """For each weight of ``PROFILE_WEIGHTS`` (columns): the mean Recall@``K_VALID`` of
    ``users`` over the held-out items (the columns of ``test``), then the number of those
    users whose recall is higher / lower than at weight 0 (rows 1 and 2, for
    ``_decide``'s sign test). Scored in blocks of users (a users x items array of a
    million-item catalogue would not fit)."""
    total = np.zeros((3, len(PROFILE_WEIGHTS)))
    step = max(1, 2_000_000 // max(len(mb), 1))
    for start in range(0, len(users), step):
        ub = users[start : start + step]
        mapped = user_factors[ub] @ mq.T + mb
        taste = spread * (profiles[ub] @ pictures.T)
        relevant = test[ub].toarray().astype(bool)  # users with a held-out item only
        for j, weight in enumerate(PROFILE_WEIGHTS):
            top, _ = top_candidates(mapped + weight * taste, K_VALID)
            r = recall_rows(top, relevant)
            if j == 0:  # PROFILE_WEIGHTS[0] is 0: what the others are compared with
                base = r
            total[:, j] += [float(r.sum()), float((r > base).sum()), float((r < base).sum())]
    total[0] /= len(users)
    return total
