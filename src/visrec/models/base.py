"""The ``Recommender`` base class every model derives from.

Conventions (see ``../shared/CONVENTIONS.md``):

* hyperparameters are keyword arguments of ``__init__``, stored unchanged;
* ``fit(interactions, item_vectors=None)`` starts from scratch and returns ``self``;
* learned state ends with ``_``; arrays listed in ``_array_attrs`` are what ``save``
  writes (plain ``.npz`` + JSON, never pickle; ``model_folder`` reads and checks
  the files) and ``load`` restores;
* everything here speaks in *indices* of the id maps learned in ``fit``
  (``user_map_``, ``item_map_``); raw ids only appear at the CLI edge.

Items in ``item_map_`` with no training interactions (e.g. cold-start candidates that
only have an image) are legal: models that use vectors score them from the vector,
others give them ``-inf`` in their ``_score`` (popularity, bpr). Items that arrive
after training are scored with ``score_new_items`` by models whose
``scores_new_items`` is True.

What every fit does before learning (the argument checks, the start from scratch) is in
``_fresh_fit``, the top-``n`` lists ``recommend`` returns in ``_top_n``; their public
names (``check_fit_inputs``, ``fit_from_scratch``, ``forget_fit``, ``top_n``,
``check_list_length``) are importable from here as well. Saving to a model folder and
loading from one (``save``, ``load``, and the hooks ``_extra_state``,
``_set_extra_state``, ``_after_load`` a model overrides) are in ``_save_load``'s
``SaveLoadMixin``, which ``Recommender`` inherits.
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from visrec.data.interactions import IdMap, Interactions
from visrec.embed.store import (
    UNUSABLE_VALUES,
    ItemVectors,
    backbone_names,
    check_some_vector,
    described,
    image_flags,
    made_differently,
    nonzero_rows,
    usable_rows,
    usable_values,
    vector_rows,
)
from visrec.errors import NotFittedError, VisrecError, agree, counted
from visrec.models._fresh_fit import check_fit_inputs as check_fit_inputs
from visrec.models._fresh_fit import fit_from_scratch, forget_fit
from visrec.models._indices import Indices, as_indices
from visrec.models._save_load import SaveLoadMixin
from visrec.models._top_n import check_list_length as check_list_length
from visrec.models._top_n import top_n
from visrec.models.model_folder import ARRAYS_NPZ, MODEL_JSON, check_array_forms

# SaveLoadMixin.load reads the arrays with this name, where callers (and tests) patch it
from visrec.models.model_folder import read_arrays as read_arrays
from visrec.models.params import ParamsMixin

__all__ = [
    "ARRAYS_NPZ",
    "MODEL_JSON",
    "NewItemTerms",
    "ParamsMixin",
    "Recommender",
    "fit_from_scratch",
    "forget_fit",
    "top_n",
]


# scores per block in Recommender.recommend (4M float64 = 32 MB)
RECOMMEND_BLOCK = 4_000_000


def defined_in(cls: type, name: str) -> int:
    """The place in ``cls``'s MRO of the class that defines ``name`` (0: ``cls`` itself),
    to tell which of two methods a subclass overrode last."""
    return next(i for i, k in enumerate(cls.__mro__) if name in vars(k))


@dataclass(frozen=True)
class NewItemTerms:
    """New items as a model scores them, worked out from their vectors once
    (:meth:`Recommender.new_item_terms`): the model's own arrays and which rows hold an
    image (the others score ``-inf``)."""

    terms: tuple[np.ndarray, ...]
    has_image: np.ndarray

    def __len__(self) -> int:
        return len(self.has_image)


def _same(a: object, b: object) -> bool:
    """``a`` is ``b``, or equal (False where ``==`` gives no truth value)."""
    if a is b:
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


class Recommender(ParamsMixin, SaveLoadMixin, ABC):
    """Base class: fit on implicit feedback, score / recommend by index.

    Subclasses implement ``_fit`` and ``_score`` (and ``_score_new`` when they can score
    items from image vectors alone, best split into ``_new_terms``, the pictures' part,
    and ``_score_terms``, the users') and list their learned arrays in ``_array_attrs``.

    Attributes
    ----------
    user_map_, item_map_ : IdMap
        Raw ids <-> row indices of the training users and items; every array below is
        aligned to them, and ``save`` keeps them with the model.
    seen_ : scipy.sparse.csr_matrix, shape (n_users, n_items)
        The training interactions (1 per distinct pair), left out of recommendations.
    vector_meta_ : dict
        Only after a fit with item vectors: their metadata (backbone, ``dim``...), to
        refuse vectors of another backbone when scoring.
    fit_params_ : dict
        The hyperparameters of the last fit (or of the loaded folder), which scoring
        reads: ``set_params`` after a fit changes the next fit, and ``save`` refuses
        while a value differs (the folder would not describe its arrays).
    """

    #: registry name, also written to ``model.json``
    name: ClassVar[str] = "base"
    #: True when ``fit`` needs item vectors
    uses_vectors: ClassVar[bool] = False
    #: what a training item without a vector means for the fit, in words (for a note)
    missing_vector_effect: ClassVar[str] = "they are fitted without one"
    #: True when items never seen in training can be scored from their vectors
    scores_new_items: ClassVar[bool] = False
    #: True when a vector's length weighs in its scores (one scale for all vectors, not
    #: each normalised): a few very long vectors then drown the others
    vector_length_matters: ClassVar[bool] = False
    #: False for a model whose scores of items with interactions ignore their vectors
    #: (visual-cf is BPR there): on warm and time splits it does not use pictures
    pictures_for_known_items: ClassVar[bool] = True
    #: True when ``_score`` takes ``item_idx`` and scores only those items
    _scores_item_subsets: ClassVar[bool] = False
    #: True when every user gets the same score row (popularity): their lists are the
    #: one ranking of it, less each user's own items, with no (users, items) block
    same_scores_for_every_user: ClassVar[bool] = False
    #: saved arrays that must be positive (a feature scale divides by them)
    _positive_arrays: ClassVar[tuple[str, ...]] = ()
    #: the module ``fit`` trains with, imported by :meth:`load_fit_backend` (PyTorch's
    #: first import takes 6-12 s)
    _fit_backend: ClassVar[str | None] = None
    #: learned ndarray attributes saved by ``save`` (besides the id maps and ``seen_``)
    #: and their axes: ``"users"``/``"items"`` (the id maps' sizes), an int, ``"*"``
    #: (any), or another name with one size across the arrays (and ``_expected_dims``);
    #: ``load`` checks them, so an edited array fails with one line, not wrong scores
    _array_dims: ClassVar[dict[str, tuple[str | int, ...]]] = {}
    _array_attrs: ClassVar[tuple[str, ...]] = ()
    #: boolean arrays (masks) among them; every other one holds floats
    _mask_arrays: ClassVar[tuple[str, ...]] = ()
    #: hyperparameters added after models were first saved, with the value that stands
    #: for how a model saved without them was trained (its default may differ)
    _params_before_added: ClassVar[dict[str, Any]] = {}
    #: arrays of ``_array_attrs`` added after models were first saved: a folder without
    #: them still loads, and ``_after_load`` derives them
    _arrays_before_added: ClassVar[tuple[str, ...]] = ()

    # learned in fit
    user_map_: IdMap
    item_map_: IdMap
    seen_: sp.csr_matrix
    #: pairs never recommended besides the training pairs (``exclude_pairs``); kept
    #: apart from ``seen_`` because they are no positives: popularity lists count those
    excluded_: sp.csr_matrix | None = None

    # ------------------------------------------------------------------ fit
    def load_fit_backend(self) -> Self:
        """Import what ``fit`` trains with (PyTorch for the factor models) now, so a
        timer around ``fit`` times the fit and not the first import; ``fit`` imports it
        anyway."""
        if self._fit_backend is not None:
            importlib.import_module(self._fit_backend)
        return self

    def fit(self, interactions: Interactions, item_vectors: ItemVectors | None = None) -> Self:
        """Learn from ``interactions`` (every row an implicit positive).

        Parameters
        ----------
        interactions : Interactions
            Training data; its id maps become the model's (``user_map_``, ``item_map_``).
        item_vectors : ItemVectors, optional
            Image vectors; aligned to ``item_map_`` (missing items get a zero row and
            ``has_image=False``). Default None; required when ``uses_vectors`` is True
            (vbpr, visual-cf), ignored by the other models.

        Returns
        -------
        self
            Fitted from scratch: nothing of an earlier fit is kept.

        Raises
        ------
        VisrecError
            A wrong argument or hyperparameter, before anything is learned (an earlier
            fit is then left as it was).
        """
        check_fit_inputs(self.name, interactions, item_vectors)
        if self.uses_vectors and item_vectors is None:
            raise VisrecError(
                f"model {self.name!r} needs item vectors: pass item_vectors "
                "(an ItemVectors; --vectors on the command line)"
            )
        self.check_params()
        self._check_params_stored()
        if len(interactions) == 0:
            raise VisrecError("cannot fit on an empty interactions table")
        self._check_widths(interactions.n_users + interactions.n_items)
        self._check_epochs(len(interactions))
        if self.uses_vectors and item_vectors is not None:
            self._check_usable_vectors(interactions, item_vectors)
        return fit_from_scratch(self, lambda: self._fit_all(interactions, item_vectors))

    def _check_params_stored(self) -> None:
        """Refuse a class whose ``__init__`` changes a hyperparameter (``self.k = 2 * k``):
        ``save`` writes ``get_params()`` and ``load`` passes it to ``__init__`` again, so
        each save and load changed the value, silently."""
        params = self.get_params()
        again = type(self)(**params).get_params()
        for key, value in params.items():
            if not _same(again.get(key), value):
                raise VisrecError(
                    f"model {self.name!r}: __init__ changes its hyperparameters ({key}="
                    f"{value!r} is stored as {again.get(key)!r}); store each one unchanged "
                    "(convert and check it in _validate or _fit)"
                )

    def _check_usable_vectors(self, interactions: Interactions, item_vectors: ItemVectors) -> None:
        """One training item's vector holding NaN makes a whole model NaN (VBPR draws
        every item as a negative; visual-cf's ridge mixes all rows), or fails inside
        sklearn: refused, naming the first in id-map order, before anything is learned.
        Vectors of none of the training items are refused too, with the ids of both
        (most often spelt otherwise: '242.0' for '242')."""
        check_some_vector(
            item_vectors, interactions.item_map.ids, f"model {self.name!r}", "training items"
        )
        bad = item_vectors.has_image & ~usable_rows(item_vectors.vectors)
        if not bad.any():
            return
        bad_ids = {str(i) for i in item_vectors.ids[bad]}
        broken = [i for i in interactions.item_map.ids if str(i) in bad_ids]
        if broken:
            raise VisrecError(
                f"model {self.name!r}: the vector of item {broken[0]!r} holds "
                f"{UNUSABLE_VALUES} ({counted(len(broken), 'item')} in all); re-embed or drop "
                + agree(len(broken), "it", "them")
            )

    def _fit_all(self, interactions: Interactions, item_vectors: ItemVectors | None) -> Self:
        # what the arrays were learned with: set_params afterwards changes the next fit,
        # not this one's scores, and save refuses a model.json the arrays do not fit
        self.fit_params_ = dict(self.get_params())
        self.user_map_ = interactions.user_map
        self.item_map_ = interactions.item_map
        self.seen_ = interactions.to_csr("binary")
        vectors = has_image = None
        if item_vectors is not None:
            vectors, has_image = item_vectors.align(self.item_map_.ids)
            # the width trained on, whatever the meta says (a cut copy may keep the old)
            # what the vectors are; not their file's embed record (failures, chunks)
            self.vector_meta_ = {**described(item_vectors.meta), "dim": item_vectors.dim}
        self._before_fit(interactions, item_vectors, self.seen_)
        from visrec._progress_lines import owner
        from visrec.models._checkpoint import keyed

        # a resumed fit must have made the same data-dependent choices
        with keyed(self._checkpoint_extra()), owner(self.name):
            self._fit(interactions, vectors, has_image)
        for attr in self._array_attrs:
            value = getattr(self, attr, None)
            # such an array would be saved, then refused on load
            floats = isinstance(value, np.ndarray) and value.dtype.kind == "f"
            if floats and not usable_values(value):
                # the profile term's scale comes from profile_weight, not from training
                fix = (
                    "lower profile_weight"
                    if attr.startswith("profile")
                    else "lower lr or raise reg"
                )
                raise VisrecError(
                    f"model {self.name!r}: the fit diverged ({attr} holds {UNUSABLE_VALUES}); {fix}"
                )
        self._check_learned_arrays()
        return self

    def _check_learned_arrays(self) -> None:
        """What ``_fit`` left in ``_array_attrs`` is what ``load`` takes back: numpy
        arrays of numbers, each with its axes in ``_array_dims`` and of that form. A dict
        or a sparse matrix was saved as a pickle that load refused as a corrupt file, an
        int array as damage, and an array without axes was never checked."""
        arrays: dict[str, np.ndarray] = {}
        for attr in self._array_attrs:
            value = getattr(self, attr, None)
            if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
                what = (
                    f"an array of {value.dtype}"
                    if isinstance(value, np.ndarray)
                    else f"a value of type {type(value).__name__}"
                )
                raise VisrecError(
                    f"model {self.name!r}: _fit left {attr} (listed in _array_attrs) as "
                    f"{what}; save keeps only numpy arrays of numbers: make it one, or keep "
                    "other state with _extra_state"
                )
            if attr not in self._array_dims:
                raise VisrecError(
                    f"model {self.name!r}: {attr} is in _array_attrs but not in _array_dims; "
                    "give its axes there (e.g. ('items',)) so that load can check it"
                )
            arrays[attr] = value
        check_array_forms(
            f"model {self.name!r} after fit",
            self,
            arrays,
            advice="fix its _fit, or its _array_dims / _mask_arrays",
        )

    def _expected_dims(self) -> dict[str, int]:
        """Sizes of the axes of ``_array_dims`` named after a hyperparameter
        (``"factors"``): the value in ``model.json`` must be the arrays' width."""
        params = self.get_params()
        named = {d for dims in self._array_dims.values() for d in dims if isinstance(d, str)}
        return {n: int(params[n]) for n in named if isinstance(params.get(n), int)}

    def vector_dim(self) -> int | None:
        """The width of the image vectors that new items are scored from (``None`` for
        models that read no vectors)."""
        return None

    def far_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """Per row of ``vectors (m, d)``: far from the training items' vectors (over
        ``OUTLIER_LENGTH`` times their typical distance from their mean), where a
        vector's length decides its score (``vector_length_matters``); all False for
        other models. A ``vectors`` that is no ``(m, d)`` array of the model's width
        is a VisrecError (a 1-D row failed deep inside the scaler)."""
        return np.zeros(len(self._far_input(vectors)), dtype=bool)

    def _far_input(self, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` as a 2-D array of ``vector_dim()`` columns (when the model has
        one), for :meth:`far_vectors`."""
        self._check_fitted()
        return self._check_vector_shape(np.asarray(vectors))

    def _check_vector_shape(self, v: np.ndarray) -> np.ndarray:
        """``v`` once it is ``(m, d)`` with the width of the fit's vectors (when the model
        has them): the rule of :meth:`new_item_terms` and :meth:`far_vectors`."""
        if v.ndim != 2:
            hint = " (one vector: pass vectors[None, :])" if v.ndim == 1 else ""
            raise VisrecError(
                f"vectors must have shape (m, d), one row per item, got {v.shape}{hint}"
            )
        want = self.vector_dim()
        if want is not None and v.shape[1] != want:  # here, not in each model's _score_new
            raise VisrecError(
                f"vectors have dimension {v.shape[1]}, the model was trained on {want}-d "
                "vectors (use the same backbone)"
            )
        return v

    def fit_notes(self) -> list[str]:
        """Lines on what validation did during the last fit (``reg="auto"`` on sparse
        data; visual-cf's ``profile_weight="auto"``), for a log; empty when none ran.
        Models with their own validation extend it."""
        from visrec.models._auto_reg import auto_note

        self._check_fitted()
        note = auto_note(self)
        return [note] if note else []

    def tuned(self) -> str | None:
        """What validation chose in the last fit, as ``KEY=VALUE`` pairs (``"reg=0.03,
        profile_weight=2"``); None when nothing was chosen by validation."""
        from visrec.models._auto_reg import chosen_label

        self._check_fitted()
        return chosen_label(self)

    def new_item_fit(self) -> str | None:
        """The penalties of a second fit that scores items known only by an image
        (``"reg=0.01, reg_visual=0.001"``), or None when the model made one fit."""
        self._check_fitted()
        return None

    def _derivable(self, attr: str) -> bool:
        """True when ``attr`` (one of ``_arrays_before_added``) holds nothing that
        ``_after_load`` would not rebuild, so ``save`` can leave it out."""
        return False

    def _checkpoint_extra(self) -> str:
        """What ``_before_fit`` chose, for the checkpoint key; empty here."""
        return ""

    def _before_fit(
        self, interactions: Interactions, item_vectors: ItemVectors | None, seen: sp.csr_matrix
    ) -> None:
        """Choose data-dependent settings before ``_fit`` (``reg="auto"``); no-op here."""

    @abstractmethod
    def _fit(
        self,
        interactions: Interactions,
        vectors: np.ndarray | None,
        has_image: np.ndarray | None,
    ) -> None:
        """Learn state; ``vectors`` is ``(n_items, d)`` aligned to ``item_map_``."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "item_map_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def fitted_param(self, name: str) -> Any:
        """Hyperparameter ``name`` as the last fit (or the loaded folder) had it, which
        scoring reads: ``set_params`` after a fit takes effect at the next fit."""
        return getattr(self, "fit_params_", {}).get(name, getattr(self, name))

    def check_params_unchanged(self) -> None:
        """Refuse (one line) when ``set_params`` changed a hyperparameter since the fit:
        saved, the folder would name values its arrays were not learned with.
        ``verbose`` and ``device`` do not shape what is learned."""
        fitted = getattr(self, "fit_params_", None)
        if fitted is None:
            return
        now = self.get_params()
        changed = [
            f"{k} {fitted[k]!r} -> {now[k]!r}"
            for k in fitted
            if k not in ("verbose", "device") and k in now and now[k] != fitted[k]
        ]
        if changed:
            raise VisrecError(
                f"model {self.name!r}: set_params changed {', '.join(changed)} after the "
                "fit; fit again (or set them back) before saving"
            )

    # ------------------------------------------------------------------ scoring
    @abstractmethod
    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        """Scores of shape ``(len(user_idx), n_items)`` over all items in ``item_map_``,
        or ``(len(user_idx), len(item_idx))`` for those items only (checked indices):
        a candidate list costs its own size, not the catalogue's. A model whose
        ``_score`` takes only ``user_idx`` leaves ``_scores_item_subsets`` False and
        ``score`` takes the columns from the full block."""

    def _score_new(self, user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        raise VisrecError(f"model {self.name!r} cannot score items unseen in training")

    def _new_terms(self, vectors: np.ndarray) -> tuple[np.ndarray, ...]:
        """What a new item's scores need of its vector alone (checked rows), the same
        for every user: worked out once per candidate set, not once per user block. A
        model may split ``_score_new`` so (``_new_terms`` + ``_score_terms``); by
        default the terms are the vectors and ``_score_new`` does all per block."""
        return (vectors,)

    def _score_terms(self, user_idx: np.ndarray, terms: tuple[np.ndarray, ...]) -> np.ndarray:
        """Scores ``(len(user_idx), m)`` of the new items ``_new_terms`` described."""
        return self._score_new(user_idx, terms[0])

    def _new_scoring_split(self) -> bool:
        """Whether new items go through ``_new_terms`` / ``_score_terms``: not for a
        subclass that overrides ``_score_new`` alone below the class that split it (the
        older extension point), nor with ``_score_new`` set on the instance; their own
        ``_score_new`` is what scores, once per block."""
        cls = type(self)
        if "_score_new" in vars(self):
            return False
        return defined_in(cls, "_score_terms") <= defined_in(cls, "_score_new")

    def _scores_new_items_own_way(self) -> bool:
        """True when ``score_new_items`` itself was replaced (by a subclass, or on the
        instance): :meth:`new_item_scorer` then calls it for each block of users."""
        return "score_new_items" in vars(self) or defined_in(type(self), "score_new_items") < (
            defined_in(type(self), "new_item_terms")
        )

    def new_item_scorer(self, vectors: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """``score_new_items(user_idx, vectors)`` for any blocks of users, the pictures'
        part worked out once (:meth:`new_item_terms`); a ``score_new_items`` of one's
        own (a subclass's, or one set on the instance) is called for each block."""
        if self._scores_new_items_own_way():
            return lambda user_idx: self.score_new_items(user_idx, vectors)
        terms = self.new_item_terms(vectors)
        return lambda user_idx: self.score_new_item_terms(user_idx, terms)

    def _check_users(self, user_idx: Indices) -> np.ndarray:
        u = as_indices(user_idx, "user")
        bad = (u < 0) | (u >= len(self.user_map_))
        if bad.any():
            raise VisrecError(
                f"unknown user index {int(u[bad][0])} (model has {len(self.user_map_)} users)"
            )
        return u

    def _check_items(self, item_idx: Indices) -> np.ndarray:
        i = as_indices(item_idx, "item")
        bad = (i < 0) | (i >= len(self.item_map_))
        if bad.any():
            raise VisrecError(
                f"unknown item index {int(i[bad][0])} (model has {len(self.item_map_)} items)"
            )
        return i

    def score(self, user_idx: Indices, item_idx: Indices | None = None) -> np.ndarray:
        """Scores of users for known items.

        Parameters
        ----------
        user_idx : int or array-like of int
            Positions in ``user_map_`` (``user_map_.to_index(raw_ids)``).
        item_idx : array-like of int, optional
            Positions in ``item_map_``; default None, every item.

        Returns
        -------
        ndarray of float32, shape (n_users_query, n_items_query)
            Higher is better. Items the model cannot score (no interaction and, for
            image models, no image) are ``-inf``.
        """
        self._check_fitted()
        u = self._check_users(user_idx)
        i = None if item_idx is None else self._check_items(item_idx)
        s = self._score(u) if i is None else self._score_some(u, i)
        return np.asarray(self._checked_scores(s, len(u), i), dtype=np.float32)

    def _checked_scores(
        self, s: np.ndarray, n_users: int, item_idx: np.ndarray | None
    ) -> np.ndarray:
        """``s`` once it has a row per user asked for and a column per item (all of
        ``item_map_``, or ``item_idx``): a model's ``_score`` of another shape was
        returned as it was, or failed as an IndexError deep in ``recommend``."""
        want = (n_users, len(self.item_map_) if item_idx is None else len(item_idx))
        shape = np.shape(s)
        if shape != want:
            raise VisrecError(
                f"model {self.name!r}: _score returned scores of shape {shape}, expected "
                f"{want} (one row per user asked for, one column per item); fix its _score"
            )
        return s

    def _score_some(self, u: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        """``_score`` over ``item_idx`` only: computed for those items where the model
        can, else the columns of the full block."""
        if self._scores_item_subsets:
            return self._score(u, item_idx)
        return self._checked_scores(self._score(u), len(u), None)[:, item_idx]

    def score_new_items(
        self,
        user_idx: Indices,
        vectors: ArrayLike | ItemVectors,
        has_image: ArrayLike | None = None,
    ) -> np.ndarray:
        """Scores for ``m`` items never seen in training, from their image vectors alone.

        Parameters
        ----------
        user_idx : int or array-like of int
            Positions in ``user_map_``.
        vectors : ndarray of shape (m, d), or ItemVectors
            The new items' image vectors (``ItemVectors.align`` gives them with the mask).
            An ``ItemVectors`` brings its own ``has_image``, and its backbone (``meta``)
            must be the one the model was trained on: another network's features of the
            same width would be scored as if they were these.
        has_image : ndarray of bool, shape (m,), optional
            Rows that hold a real image. Items without one score ``-inf``, and so does
            a row of zeros whatever its flag (no picture, as ``ItemVectors`` reads it).
            Default: every row that is not all zeros.

        Returns
        -------
        ndarray of float32, shape (n_users_query, m)
            Vectors holding NaN, infinity or values beyond ±1e12 on an image row are an
            error naming the row.

        See Also
        --------
        new_item_terms, score_new_item_terms : the same in two steps, the picture-only
            work done once for many blocks of users.
        """
        self._check_fitted()
        u = self._check_users(user_idx)
        return self.score_new_item_terms(u, self.new_item_terms(vectors, has_image))

    def check_vector_meta(self, meta: Any) -> None:
        """Refuse vectors of another backbone, weights or preprocessing than the fit's:
        of the same width, they would be scored as if they were these.

        :meth:`score_new_items` runs it on an ``ItemVectors``; code that scores arrays
        taken out of one (``evaluate_model`` aligns them to the test items) runs it
        first, as the arrays no longer carry their backbone.

        Parameters
        ----------
        meta : dict or None
            The vectors' ``ItemVectors.meta`` (backbone name, weights, preprocessing);
            None or a model fitted without vectors: nothing to compare, no error.

        Raises
        ------
        VisrecError
            The backbone, its weights or its preprocessing differ from the fit's.
        """
        mine, theirs = backbone_names(getattr(self, "vector_meta_", None), meta)
        if mine and theirs and mine != theirs:
            raise VisrecError(
                f"the vectors are from {theirs!r}, the model was trained on {mine!r} "
                "vectors: embed the new items with the same backbone"
            )
        differ = made_differently(getattr(self, "vector_meta_", None), meta)
        if differ:
            raise VisrecError(
                "the vectors were made with other weights or preprocessing than the "
                f"ones the model was trained on ({'; '.join(differ)}): embed the new "
                "items the way the training items were"
            )

    def new_item_terms(
        self, vectors: ArrayLike | ItemVectors, has_image: ArrayLike | None = None
    ) -> NewItemTerms:
        """The part of :meth:`score_new_items` that depends on the vectors alone (checks
        included), for :meth:`score_new_item_terms` to score any users with: a long
        candidate list of new items is then transformed once, not once per block of
        users. Arguments and errors as :meth:`score_new_items`."""
        self._check_fitted()
        from_store = isinstance(vectors, ItemVectors)  # its has_image is zero-checked
        if isinstance(vectors, ItemVectors):
            if has_image is not None:
                raise VisrecError("has_image comes with the ItemVectors: pass one or the other")
            self.check_vector_meta(vectors.meta)
            has_image = vectors.has_image
            vectors = vectors.vectors
        elif isinstance(vectors, str | os.PathLike):
            raise VisrecError(
                "vectors must be an (m, d) array or an ItemVectors (visrec.read_vectors(path) "
                f"reads a file), got the path {os.fspath(vectors)!r}"
            )
        with np.errstate(over="ignore"):  # a float64 beyond float32 is refused just below
            v = self._check_vector_shape(vector_rows(vectors))  # a pandas column too
        has = np.ones(len(v), dtype=bool)
        if has_image is not None:
            has = image_flags(has_image)  # true/false or 1/0, as ItemVectors takes it
            if has.shape != (len(v),):
                raise VisrecError(
                    f"has_image must have shape ({len(v)},), one flag per vector, "
                    f"got shape {has.shape}"
                )
        if v.shape[1] and not from_store:  # a row of zeros is no picture, as in ItemVectors
            has = has & nonzero_rows(v)
        broken = np.flatnonzero(has & ~usable_rows(v))
        if len(broken):
            raise VisrecError(
                f"vectors row {int(broken[0])} holds {UNUSABLE_VALUES} "
                f"({counted(len(broken), 'row')} in all); re-embed it or mark it has_image=False"
            )
        if not has.all():
            v = np.where(has[:, None], v, np.float32(0.0))
        return NewItemTerms(self._new_terms(v) if self._new_scoring_split() else (v,), has)

    def score_new_item_terms(self, user_idx: Indices, terms: NewItemTerms) -> np.ndarray:
        """:meth:`score_new_items` of the items :meth:`new_item_terms` described: float32
        ``(n_users_query, m)``, ``-inf`` for the rows without an image."""
        self._check_fitted()
        u = self._check_users(user_idx)
        scored = (
            self._score_terms(u, terms.terms)
            if self._new_scoring_split()
            else self._score_new(u, terms.terms[0])
        )
        scores = np.asarray(scored, dtype=np.float32)
        scores[:, ~terms.has_image] = -np.inf
        return scores

    def recommend(
        self,
        user_idx: Indices,
        n: int = 10,
        filter_seen: bool = True,
        items: Indices | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The top-``n`` items of each user.

        Parameters
        ----------
        user_idx : int or array-like of int
            Positions in ``user_map_``.
        n : int, default 10
            List length.
        filter_seen : bool, default True
            Leave out each user's training items.
        items : array-like of int, optional
            Positions in ``item_map_`` that may be recommended; default None, all.

        Returns
        -------
        ids : ndarray of int64, shape (n_users_query, min(n, n_items))
            Item positions, best first; a single user gives one row. Rows with fewer
            candidates are padded with -1: keep ``ids >= 0`` before mapping them to
            raw ids (``item_map_.to_raw``).
        scores : ndarray of float64, same shape
            Their scores (-inf on the padding). Ties go to the lower item index;
            ``visrec recommend`` breaks them by a seeded order of the raw ids instead
            (:func:`visrec.models.candidates.tie_key`), so among items of equal score
            (popularity's equal counts, say) its lists may differ from these.
        """
        self._check_fitted()
        n = check_list_length(n)
        if not isinstance(filter_seen, (bool, np.bool_)):  # "no" would read as True
            raise VisrecError(f"filter_seen must be True or False, got {filter_seen!r}")
        u = self._check_users(user_idx)
        # the candidates in item order (ties break by the lower item index, as over
        # all items); only they are scored where the model can score a subset
        cand = None if items is None else np.unique(self._check_items(items))
        width = min(n, len(self.item_map_))
        # users in blocks of about RECOMMEND_BLOCK scores: all 30k users x 12k items at
        # once would hold 2.9 GB of float64 scores
        n_cols = len(self.item_map_) if cand is None else len(cand)
        step = max(1, RECOMMEND_BLOCK // max(n_cols, 1))
        parts = [
            self._recommend_block(u[s : s + step], n, filter_seen, cand, width)
            for s in range(0, len(u), step)
        ]
        if not parts:
            return top_n(np.empty((0, len(self.item_map_))), n)
        return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])

    def exclude_pairs(self, user_idx: Indices, item_idx: Indices) -> int:
        """Never recommend item ``item_idx[k]`` to user ``user_idx[k]`` (indices into the
        id maps), as if they were training items, without making them positives: say
        the films a user rated 2 stars (``visrec train --min-rating``). Saved with the
        model. Returns how many pairs were new (not training pairs, not excluded yet)."""
        self._check_fitted()
        u, i = self._check_users(user_idx), self._check_items(item_idx)
        if len(u) != len(i):
            raise VisrecError(
                f"exclude_pairs takes as many users as items, got {len(u)} and {len(i)}"
            )
        shape = self.seen_.shape
        pairs = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)), shape=shape)
        before = self._blocked_matrix()
        merged = ((before + pairs) > 0).astype(np.float32).tocsr()
        extra = (merged - (self.seen_ > 0).astype(np.float32)).tocsr()
        extra.eliminate_zeros()
        extra.sort_indices()
        n_new = int(merged.nnz - before.nnz)
        self.excluded_ = extra if extra.nnz else None
        return n_new

    def _blocked_matrix(self) -> sp.csr_matrix:
        """The pairs never recommended: training pairs and ``excluded_``."""
        if self.excluded_ is None:
            return self.seen_
        return (self.seen_ + self.excluded_).tocsr()

    def _blocked(self, user_idx: np.ndarray) -> sp.csr_matrix:
        """Rows ``user_idx`` of :meth:`_blocked_matrix`."""
        if self.excluded_ is None:
            return self.seen_[user_idx]
        return (self.seen_[user_idx] + self.excluded_[user_idx]).tocsr()

    def _recommend_block(
        self, u: np.ndarray, n: int, filter_seen: bool, cand: np.ndarray | None, width: int
    ) -> tuple[np.ndarray, np.ndarray]:
        if cand is None:
            scores = np.array(self._checked_scores(self._score(u), len(u), None), np.float64)
            col_of = None
        else:
            scored = self._checked_scores(self._score_some(u, cand), len(u), cand)
            scores = np.array(scored, dtype=np.float64)
            col_of = np.full(len(self.item_map_), -1, dtype=np.int64)
            col_of[cand] = np.arange(len(cand))
        if filter_seen:
            seen = self._blocked(u)
            rows = np.repeat(np.arange(len(u)), np.diff(seen.indptr))
            cols = seen.indices if col_of is None else col_of[seen.indices]
            keep = cols >= 0
            scores[rows[keep], cols[keep]] = -np.inf
        idx, val = top_n(scores, n)
        if cand is None:
            return idx, val
        # candidate positions -> item indices, padded to the width over all items
        out_idx = np.full((len(u), width), -1, dtype=np.int64)
        out_val = np.full((len(u), width), -np.inf, dtype=np.float64)
        w = min(idx.shape[1], width) if len(cand) else 0
        out_idx[:, :w] = np.where(idx[:, :w] >= 0, cand[np.maximum(idx[:, :w], 0)], -1)
        out_val[:, :w] = val[:, :w]
        return out_idx, out_val

    def similar_items(self, item_idx: Indices, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` items most similar to each query item, by the cosine of the
        model's item embeddings (its item factors), the item itself excluded.

        Parameters
        ----------
        item_idx : int or array-like of int
            Positions in ``item_map_``.
        n : int, default 10

        Returns
        -------
        ids : ndarray of int64, shape (n_queries, min(n, n_items))
            Item positions, most similar first, padded with -1 like ``recommend``.
        sims : ndarray of float64, same shape
            Cosine similarities (-inf on the padding).

        Items the model cannot score (``score`` gives them ``-inf``: no training
        interaction and, for image models, no image) hold untrained factors, so they
        are never returned, and such a query item gets a row of padding. A model without
        item embeddings (popularity) raises VisrecError; for looks alone,
        :func:`visrec.search.knn.similar_items` works on the image vectors.
        """
        self._check_fitted()
        i = self._check_items(item_idx)
        emb = self._item_embeddings().astype(np.float64)
        norm = np.linalg.norm(emb, axis=1, keepdims=True)
        emb = emb / np.where(norm == 0, 1.0, norm)
        scorable = self._scorable_items()
        # queries in blocks of about RECOMMEND_BLOCK similarities, as recommend: every
        # item of a 100k catalogue against all at once would need 80 GB
        step = max(1, RECOMMEND_BLOCK // max(len(emb), 1))
        parts = []
        for s in range(0, max(len(i), 1), step):
            q = i[s : s + step]
            sims = emb[q] @ emb.T
            sims[np.arange(len(q)), q] = -np.inf
            if scorable is not None:
                sims[:, ~scorable] = -np.inf
                sims[~scorable[q]] = -np.inf
            parts.append(top_n(sims, n))
        return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])

    def _scorable_items(self) -> np.ndarray | None:
        """Boolean mask of the items ``_score`` does not set to ``-inf`` (None: all)."""
        return None

    def _item_embeddings(self) -> np.ndarray:
        raise VisrecError(f"model {self.name!r} has no item embeddings for similar_items")
