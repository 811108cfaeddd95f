"""BPR matrix factorisation (Rendle et al., UAI 2009) with an item bias; fitted in PyTorch
(``_fit_torch``), scored in NumPy."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from visrec.data.interactions import Interactions
from visrec.models._auto_reg import AutoRegMixin
from visrec.models.base import Recommender


class BPR(AutoRegMixin, Recommender):
    """Bayesian personalised ranking: ``score(u, i) = b_i + p_u . q_i``.

    Trained with minibatch Adam on uniformly sampled ``(u, i, j)`` triples (one epoch =
    one pass over the training pairs, each with a fresh negative).

    Parameters
    ----------
    factors : int, default 64
        Latent dimension.
    epochs : int, default 80
    lr : float, default 0.005
        Adam learning rate.
    reg : float or "auto", default "auto"
        L2 penalty on the user/item factors and item biases used in each batch.
        ``"auto"``: 0.01 on data with at least 40 distinct interactions per item, else
        the best of 0.01 / 0.03 / 0.1 on an inner validation split (three more fits;
        see :mod:`visrec.models._auto_reg`). The value used is ``reg_``.
    batch_size : int, default 1024
    init_std : float, default 0.01
        Standard deviation of the initial factors.
    device : str or None, default None
        ``None`` -> CUDA when available, else CPU.
    random_state : int or None, default 0
    verbose : bool, default False
        Show a progress bar over epochs.

    Attributes
    ----------
    user_factors_ : ndarray of float32, shape (n_users, factors)
    item_factors_ : ndarray of float32, shape (n_items, factors)
    item_bias_ : ndarray of float32, shape (n_items,)
    reg_ : float
        The penalty trained with (``"auto"`` resolved).
    reg_validation_ : dict
        Validation Recall@20 of each penalty tried (empty when none was).
    item_trained_ : ndarray of bool, shape (n_items,)
        Items with a training interaction (derived, not saved).
    user_map_, item_map_, seen_
        As in :class:`~visrec.models.base.Recommender`.

    Notes
    -----
    Items with no training interactions cannot be ranked and score ``-inf``; items
    unseen in training cannot be scored at all (``scores_new_items`` is False).
    """

    name = "bpr"
    _fit_backend = "visrec.models._fit_torch"
    _scores_item_subsets = True
    _array_dims: ClassVar[dict[str, tuple[str | int, ...]]] = {
        "user_factors_": ("users", "factors"),
        "item_factors_": ("items", "factors"),
        "item_bias_": ("items",),
    }
    _array_attrs: ClassVar[tuple[str, ...]] = tuple(_array_dims)

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    item_bias_: np.ndarray
    #: derived on load, not saved: items with a training interaction
    item_trained_: np.ndarray

    def __init__(
        self,
        factors: int = 64,
        epochs: int = 80,
        lr: float = 0.005,
        reg: float | str = "auto",
        batch_size: int = 1024,
        init_std: float = 0.01,
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
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _widths = ("factors",)
    _epochs = ("epochs",)

    def _validate(self) -> None:
        self._check_params(
            at_least_one=("factors", "epochs", "batch_size"),
            non_negative=("init_std",),
            positive=("lr",),
        )
        self._check_reg()

    def _fit(
        self,
        interactions: Interactions,
        vectors: np.ndarray | None,
        has_image: np.ndarray | None,
    ) -> None:
        # torch is imported by fitting only: loading and scoring a saved model is NumPy
        from visrec.models._fit_torch import fit_bpr_factors

        rng = np.random.default_rng(self.random_state)
        p, q, b = fit_bpr_factors(
            self.seen_,
            factors=self.factors,
            epochs=self.epochs,
            lr=self.lr,
            reg=self.reg_,
            batch_size=self.batch_size,
            init_std=self.init_std,
            device=self.device,
            rng=rng,
            verbose=self.verbose,
        )
        self.user_factors_, self.item_factors_, self.item_bias_ = p, q, b
        self._after_load()

    def _after_load(self) -> None:
        # Derived, not saved: items with no training interaction rank last.
        self.item_trained_ = np.diff(self.seen_.tocsc().indptr) > 0

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        i = slice(None) if item_idx is None else item_idx
        s: np.ndarray = self.user_factors_[user_idx] @ self.item_factors_[i].T + self.item_bias_[i]
        s[:, ~self.item_trained_[i]] = -np.inf
        return s

    def _scorable_items(self) -> np.ndarray | None:
        return self.item_trained_

    def _item_embeddings(self) -> np.ndarray:
        return self.item_factors_
