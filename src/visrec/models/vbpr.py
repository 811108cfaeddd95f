"""VBPR: visual Bayesian personalised ranking (He & McAuley, AAAI 2016); fitted in
PyTorch (``_fit_torch``), scored in NumPy."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from visrec.data.interactions import Interactions
from visrec.embed.store import OUTLIER_LENGTH
from visrec.errors import InvalidParameterError, VisrecError
from visrec.models._auto_reg import AutoRegMixin
from visrec.models._indices import among
from visrec.models._train import FeatureScaler
from visrec.models.base import Recommender

#: the visual terms new items and image-only items are scored with
_NEW_ITEM_ARRAYS = (
    "new_user_visual_factors_",
    "new_projection_",
    "new_visual_bias_",
    "new_item_visual_",
    "new_item_visual_bias_",
)


class VBPR(AutoRegMixin, Recommender):
    """``score(u, i) = beta_i + gamma_u . gamma_i + theta_u . (E f_i) + beta' . f_i``.

    ``f_i`` is the item's image vector, centred and scaled (statistics of the training
    items, saved with the model); ``E`` (d x ``visual_factors``) projects it into the
    user's visual taste space and ``beta'`` gives a visual bias ("how popular does an
    item that looks like this tend to be"). An item never seen in training has no
    ``beta_i``/``gamma_i`` and is scored from its vector alone:
    ``theta_u . (E f) + beta' . f``.

    Training is minibatch Adam on the BPR loss. With probability ``item_dropout`` a
    triple is trained with the free item terms (``beta_i``, ``gamma_i``) of both items
    switched off, so the visual terms alone must rank the pair -- exactly the situation
    of a new item -- instead of leaving all the signal to the free terms (DropoutNet,
    Volkovs et al. 2017). ``item_dropout=0`` is the original VBPR.

    Dropout leaves the free terms undertrained for items that do have interactions, so
    ``finetune_epochs`` more epochs then train only the free terms (``beta_i``,
    ``gamma_i``, ``gamma_u``) on every triple, with ``theta_u``, ``E`` and ``beta'``
    frozen: known items win back most of what dropout cost them (ML-100K warm Recall@20
    0.412 -> 0.422 over 3 seeds; BPR 0.426), and new items, scored by the frozen visual
    terms alone, rank exactly as before.

    With ``visual_dim`` the centred vectors are first reduced to their leading principal
    components (of the training items), which ``E`` and ``beta'`` then act on; the saved
    ``E`` and ``beta'`` have that projection folded in, so they act on the full-width
    vector like an unreduced model's.

    Parameters
    ----------
    factors : int, default 64
        Dimension of ``gamma_u``/``gamma_i``.
    visual_factors : int, default 64
        Dimension of ``theta_u`` (columns of ``E``).
    epochs : int, default 80
    lr : float, default 0.005
    reg : float or "auto", default "auto"
        L2 penalty on the user/item terms used in each batch.
    reg_visual : float or "auto", default "auto"
        L2 penalty on ``E`` and ``beta'`` (per batch, on the whole matrices).
        ``"auto"`` (either or both): ``reg=0.01, reg_visual=1e-3`` on data with at
        least 40 distinct interactions per item, else the best of that and
        ``0.03, 0.03`` and ``0.1, 0.1`` on an inner validation split (three more fits;
        see :mod:`visrec.models._auto_reg`). The values used are ``reg_`` and
        ``reg_visual_``.
    item_dropout : float, default 0.2
        Probability of training a triple on visual terms only.
    finetune_epochs : int, default 10
        Epochs after ``epochs`` that train the free terms alone (no dropout, visual
        terms frozen); 0 skips them.
    visual_dim : int or None, default 256
        Principal components of the image vectors that training sees (None, or at least
        the vector dimension, keeps every dimension). ML-100K: the same warm and
        cold-start quality as all 1280 dimensions in about half the fit time.
    new_item_reg, new_item_reg_visual : float or None, default 0.01 and 1e-3
        Penalties of the fit whose visual terms score items known only by an image (new
        items, and items in the id map with no interactions). When they differ from
        the penalties used, a second VBPR is fitted for them. On sparse data, where
        ``reg="auto"`` chooses stronger penalties for known items, those penalties
        flatten the visual terms' personal part and new items rank about as by chance;
        with the weak ones they rank as before. None: the model's own.
    batch_size : int, default 1024
    init_std : float, default 0.01
    device : str or None, default None
        ``None`` -> CUDA when available, else CPU.
    random_state : int or None, default 0
    verbose : bool, default False

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray of float32, shape (n_users | n_items, factors)
        ``gamma_u`` and ``gamma_i`` (zero for items without interactions).
    item_bias_ : ndarray of float32, shape (n_items,)
        ``beta_i`` (zero for items without interactions).
    user_visual_factors_ : ndarray of float32, shape (n_users, visual_factors)
        ``theta_u``.
    projection_ : ndarray of float32, shape (d, visual_factors)
        ``E``, acting on the centred and scaled full-width vector.
    visual_bias_ : ndarray of float32, shape (d,)
        ``beta'``.
    item_visual_, item_visual_bias_ : ndarray of float32
        ``E f_i`` (n_items, visual_factors) and ``beta' . f_i`` (n_items,) of the id
        map's items (zero without an image).
    feature_mean_, feature_scale_ : ndarray of float32, shapes (d,) and (1,)
        The centring and scaling of the vectors (training items' statistics).
    new_user_visual_factors_, new_projection_, new_visual_bias_, new_item_visual_, \
    new_item_visual_bias_ : ndarray of float32
        The same visual terms from the fit that scores items known only by an image
        (a copy of the model's own when one fit served both).
    item_scorable_ : ndarray of bool, shape (n_items,)
        Items with interactions or an image.
    reg_, reg_visual_ : float
        The penalties trained with (``"auto"`` resolved).
    reg_validation_ : dict
        Validation Recall@20 of each setting tried (empty when none was).
    one_fit_ : bool
        Whether the model's own visual terms score image-only items (derived).
    image_only_ : ndarray of int64
        Positions of the id map's items known only by an image (derived, not saved).
    user_map_, item_map_, seen_, vector_meta_
        As in :class:`~visrec.models.base.Recommender`.

    Notes
    -----
    Items in the training id map with neither interactions nor an image score ``-inf``.
    """

    name = "vbpr"
    _fit_backend = "visrec.models._fit_torch"
    _positive_arrays = ("feature_scale_",)
    _scores_item_subsets = True
    uses_vectors = True
    missing_vector_effect = "their visual term is neutral"
    vector_length_matters = True
    scores_new_items = True
    _array_dims: ClassVar[dict[str, tuple[str | int, ...]]] = {
        "user_factors_": ("users", "factors"),
        "item_factors_": ("items", "factors"),
        "item_bias_": ("items",),
        "user_visual_factors_": ("users", "visual_factors"),
        "projection_": ("vector_dim", "visual_factors"),
        "visual_bias_": ("vector_dim",),
        "item_visual_": ("items", "visual_factors"),
        "item_visual_bias_": ("items",),
        "item_scorable_": ("items",),
        "feature_mean_": ("vector_dim",),
        "feature_scale_": (1,),
        "new_user_visual_factors_": ("users", "visual_factors"),
        "new_projection_": ("vector_dim", "visual_factors"),
        "new_visual_bias_": ("vector_dim",),
        "new_item_visual_": ("items", "visual_factors"),
        "new_item_visual_bias_": ("items",),
    }
    _array_attrs: ClassVar[tuple[str, ...]] = tuple(_array_dims)
    _mask_arrays: ClassVar[tuple[str, ...]] = ("item_scorable_",)
    # saved before these existed: trained without fine-tuning, reduction or a second fit
    _params_before_added: ClassVar[dict[str, Any]] = {
        "finetune_epochs": 0,
        "visual_dim": None,
        "new_item_reg": None,
        "new_item_reg_visual": None,
    }
    _arrays_before_added: ClassVar[tuple[str, ...]] = _NEW_ITEM_ARRAYS
    # validation ranks known items only: the new-item fit would be wasted there
    _trial_params: ClassVar[dict[str, Any]] = {"new_item_reg": None, "new_item_reg_visual": None}
    # on sparse data a stronger reg alone made VBPR worse; with reg_visual raised too it
    # ranked better (docs/models.md, "Sparse data and reg=auto")
    _auto_grid: ClassVar[tuple[dict[str, float], ...]] = (
        {"reg": 0.01, "reg_visual": 1e-3},
        {"reg": 0.03, "reg_visual": 0.03},
        {"reg": 0.1, "reg_visual": 0.1},
    )
    reg_visual_: float
    new_user_visual_factors_: np.ndarray
    new_projection_: np.ndarray
    new_visual_bias_: np.ndarray
    new_item_visual_: np.ndarray
    new_item_visual_bias_: np.ndarray

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    item_bias_: np.ndarray
    user_visual_factors_: np.ndarray
    projection_: np.ndarray
    visual_bias_: np.ndarray
    item_visual_: np.ndarray
    item_visual_bias_: np.ndarray
    item_scorable_: np.ndarray
    feature_mean_: np.ndarray
    feature_scale_: np.ndarray
    # derived on load: whether new items use the model's own terms, and the items in
    # the id map known only by an image
    one_fit_: bool
    image_only_: np.ndarray

    def __init__(
        self,
        factors: int = 64,
        visual_factors: int = 64,
        epochs: int = 80,
        lr: float = 0.005,
        reg: float | str = "auto",
        reg_visual: float | str = "auto",
        item_dropout: float = 0.2,
        finetune_epochs: int = 10,
        visual_dim: int | None = 256,
        new_item_reg: float | None = 0.01,
        new_item_reg_visual: float | None = 1e-3,
        batch_size: int = 1024,
        init_std: float = 0.01,
        device: str | None = None,
        random_state: int | None = 0,
        verbose: bool = False,
    ) -> None:
        self.factors = factors
        self.visual_factors = visual_factors
        self.epochs = epochs
        self.lr = lr
        self.reg = reg
        self.reg_visual = reg_visual
        self.item_dropout = item_dropout
        self.finetune_epochs = finetune_epochs
        self.visual_dim = visual_dim
        self.new_item_reg = new_item_reg
        self.new_item_reg_visual = new_item_reg_visual
        self.batch_size = batch_size
        self.init_std = init_std
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _widths = ("factors", "visual_factors")
    _epochs = ("epochs", "finetune_epochs")

    def _validate(self) -> None:
        self._check_params(
            at_least_one=("factors", "visual_factors", "epochs", "batch_size"),
            non_negative=("init_std", "finetune_epochs"),
            positive=("lr",),
        )
        self._check_reg()
        if self.visual_dim is not None:
            self._check_params(at_least_one=("visual_dim",))
        for name in ("new_item_reg", "new_item_reg_visual"):
            if getattr(self, name) is not None:
                self._check_params(non_negative=(name,))
        if not 0.0 <= float(self.item_dropout) < 1.0:
            raise InvalidParameterError(
                f"model {self.name!r}: item_dropout must be in [0, 1), got {self.item_dropout!r}"
            )

    def _fit(
        self,
        interactions: Interactions,
        vectors: np.ndarray | None,
        has_image: np.ndarray | None,
    ) -> None:
        assert vectors is not None and has_image is not None  # base checks uses_vectors
        trained = np.diff(self.seen_.tocsc().indptr) > 0
        scaler = FeatureScaler(n_components=self.visual_dim).fit(vectors, has_image & trained)
        # no image: the average look, a neutral visual term
        feats = scaler.transform(vectors, has_image)
        assert scaler.mean_ is not None
        self.feature_mean_ = np.asarray(scaler.mean_, dtype=np.float32)
        self.feature_scale_ = np.asarray([scaler.scale_], dtype=np.float32)
        comps = None if scaler.components_ is None else np.asarray(scaler.components_, np.float32)

        own, new = self._penalties_used()
        m = self._train(feats, comps, *own, "vbpr")
        # new items: the visual terms of a fit at the weaker penalties (see __init__)
        v = m if new == own else self._train(feats, comps, *new, "vbpr-new")
        self.user_factors_, self.item_factors_, self.item_bias_ = m["user"], m["item"], m["bias"]
        self.user_visual_factors_, self.projection_ = m["user_visual"], m["proj"]
        self.visual_bias_ = m["visual_bias"]
        self.item_visual_, self.item_visual_bias_ = m["item_visual"], m["item_visual_bias"]
        self.new_user_visual_factors_, self.new_projection_ = v["user_visual"], v["proj"]
        self.new_visual_bias_ = v["visual_bias"]
        self.new_item_visual_ = v["item_visual"]
        self.new_item_visual_bias_ = v["item_visual_bias"]
        # items with no interactions have untrained free terms: visual terms only
        self.item_factors_[~trained] = 0.0
        self.item_bias_[~trained] = 0.0
        self.item_scorable_ = trained | has_image
        self._after_load()

    def _train(
        self, feats: np.ndarray, comps: np.ndarray | None, reg: float, reg_visual: float, desc: str
    ) -> dict[str, np.ndarray]:
        """One VBPR fit with these penalties (its own generator, so it is exactly the
        fit a model with them as ``reg``/``reg_visual`` makes); ``desc`` names its
        progress bars and checkpoints."""
        from visrec.models._fit_torch import fit_vbpr_terms

        rng = np.random.default_rng(self.random_state)
        out = fit_vbpr_terms(
            feats,
            self.seen_,
            factors=int(self.factors),
            visual_factors=int(self.visual_factors),
            init_std=float(self.init_std),
            reg=reg,
            reg_visual=reg_visual,
            epochs=int(self.epochs),
            finetune_epochs=int(self.finetune_epochs),
            item_dropout=float(self.item_dropout),
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            rng=rng,
            device=self.device,
            desc=desc,
            verbose=self.verbose,
        )
        proj, visual_bias = out["proj"], out["visual_bias"]
        out["item_visual"] = feats @ proj
        out["item_visual_bias"] = feats @ visual_bias
        if comps is not None:
            # fold the reduction in: new items are then scored from the full-width
            # centred, scaled vector, as an unreduced model scores them
            proj, visual_bias = comps.T @ proj, comps.T @ visual_bias
        out["proj"], out["visual_bias"] = proj, visual_bias
        return out

    def _derivable(self, attr: str) -> bool:
        # one fit: the new-item terms are the model's own
        return self.one_fit_

    def new_item_fit(self) -> str | None:
        self._check_fitted()
        own, new = self._penalties_used()
        return None if new == own else f"reg={new[0]!r}, reg_visual={new[1]!r}"

    def _penalties_used(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``(reg, reg_visual)`` of the known items' fit and of the new items' fit."""
        own = (self.reg_, self.reg_visual_)
        new = (
            own[0] if self.new_item_reg is None else float(self.new_item_reg),
            own[1] if self.new_item_reg_visual is None else float(self.new_item_reg_visual),
        )
        return own, new

    def _after_load(self) -> None:
        own = ("user_visual_factors_", "projection_", "visual_bias_", "item_visual_",
               "item_visual_bias_")  # fmt: skip
        # a folder saved with a second fit must hold all of its arrays: without them
        # new items would fail deep in scoring, or silently get the known items' terms
        present = [a for a in _NEW_ITEM_ARRAYS if hasattr(self, a)]
        penalties = self._penalties_used()
        if present or penalties[0] != penalties[1]:
            missing = [a for a in _NEW_ITEM_ARRAYS if a not in present]
            if missing:
                raise VisrecError(
                    f"model {self.name!r}: arrays.npz lacks {', '.join(missing)} (the "
                    f"new-item fit at reg={penalties[1][0]!r}, "
                    f"reg_visual={penalties[1][1]!r}); train the model again"
                )
        # one fit (saved before new_item_reg, or its penalties were the model's own; save
        # leaves the copies out, _fit shares them): the new-item terms are the model's,
        # and image-only items need no second pass
        self.one_fit_ = not present or all(
            getattr(self, f"new_{a}") is getattr(self, a) for a in own
        )
        if self.one_fit_:
            for a in own:
                setattr(self, f"new_{a}", getattr(self, a))
        untrained = np.diff(self.seen_.tocsc().indptr) == 0
        self.image_only_ = np.flatnonzero(self.item_scorable_ & untrained)

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        i = slice(None) if item_idx is None else item_idx
        s: np.ndarray = (
            self.user_factors_[user_idx] @ self.item_factors_[i].T
            + self.user_visual_factors_[user_idx] @ self.item_visual_[i].T
            + (self.item_bias_[i] + self.item_visual_bias_[i])
        )
        if not self.one_fit_ and len(self.image_only_):
            # items known only by an image: the new-item terms, as for unseen items
            cols, io = among(self.image_only_, item_idx)
            s[:, cols] = self.new_user_visual_factors_[user_idx] @ self.new_item_visual_[io].T
            s[:, cols] += self.new_item_visual_bias_[io]
        s[:, ~self.item_scorable_[i]] = -np.inf
        return s

    def vector_dim(self) -> int | None:
        self._check_fitted()
        return int(self.feature_mean_.shape[0])  # the scaler's width is the input's

    def _score_new(self, user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return self._score_terms(user_idx, self._new_terms(vectors))

    def _new_terms(self, vectors: np.ndarray) -> tuple[np.ndarray, ...]:
        f = self._transform(vectors)
        return f @ self.new_projection_, f @ self.new_visual_bias_

    def _score_terms(self, user_idx: np.ndarray, terms: tuple[np.ndarray, ...]) -> np.ndarray:
        projected, bias = terms
        s: np.ndarray = self.new_user_visual_factors_[user_idx] @ projected.T + bias
        return s

    def far_vectors(self, vectors: np.ndarray) -> np.ndarray:
        # the scaled training vectors have a root-mean-square length of about 1
        v = self._far_input(vectors)
        far: np.ndarray = np.linalg.norm(self._transform(v), axis=1) > OUTLIER_LENGTH
        return far

    def _transform(self, vectors: np.ndarray) -> np.ndarray:
        return FeatureScaler.from_arrays(self.feature_mean_, self.feature_scale_).transform(vectors)

    def _scorable_items(self) -> np.ndarray | None:
        return self.item_scorable_

    def _item_embeddings(self) -> np.ndarray:
        return np.hstack([self.item_factors_, self.item_visual_])
