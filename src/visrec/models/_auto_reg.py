"""``reg="auto"``: the L2 penalties of a BPR-family model, chosen on the data it is fitted on.

``reg=0.01`` was tuned on ML-100K (48-59 distinct interactions per item). On sparser
cuts of it stronger penalties ranked better, and there the default BPR and VBPR fell
below popularity (docs/models.md, "Sparse data and reg=auto"). So on data with fewer
than ``DENSE_PAIRS_PER_ITEM`` distinct interactions per trained item, ``fit`` holds out a
random 20% of each user's items, fits the model once per setting of its grid on the rest
(BPR: ``reg`` in ``GRID``; VBPR: ``reg`` with ``reg_visual``), and keeps the setting with
the best validation Recall@20; then it fits on everything with that setting. Denser data
gets the grid's first (the ML-100K) setting without the extra fits (validation chose it
on ML-100K too), so a large dense fit costs what it did.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np
import scipy.sparse as sp

from visrec import _progress_lines
from visrec._bars import progress_bar
from visrec._holdout import per_user_holdout
from visrec._ranking import recall_rows, top_candidates
from visrec.data.interactions import Interactions
from visrec.errors import InvalidParameterError, VisrecError

if TYPE_CHECKING:
    from visrec.embed.store import ItemVectors
    from visrec.models.base import Recommender

AUTO = "auto"
#: the values of ``reg`` tried, weakest first (a tie keeps the weaker penalty)
GRID = (0.01, 0.03, 0.1)
#: at or above this many distinct interactions per trained item, the grid's first
#: setting is used unvalidated. ML-100K's warm training split has 48; the sparse
#: cuts where a stronger penalty won had 9-32.
DENSE_PAIRS_PER_ITEM = 40.0
VALID_RATIO = 0.2
K = 20
# users scored at a time in validation (memory: block x n_items floats)
_BLOCK = 1024
#: users validation ranks the catalogue for, at most (each costs a score per item per
#: trial): every user of sets this size (ML-100K has 943); a seeded sample beyond, the
#: same for every trial. 200,000 users x 100,000 items took over 11 minutes a trial.
VALID_USERS = 20_000


def pairs_per_item(seen: sp.csr_matrix) -> float:
    """Distinct interactions per item that has at least one."""
    trained = int((np.diff(seen.tocsc().indptr) > 0).sum())
    return float(seen.nnz) / max(trained, 1)


def inner_split(seen: sp.csr_matrix, rng: np.random.Generator) -> np.ndarray:
    """Mask over ``seen``'s stored entries (CSR order): True for the validation ones.

    Per user, ``round(VALID_RATIO * n)`` random items (at least 1, and never all of
    them; users with one item keep it): the rule of ``visrec evaluate``'s warm split.
    """
    users = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    return per_user_holdout(users, seen.shape[0], VALID_RATIO, rng)


def can_hold_out(seen: sp.csr_matrix) -> bool:
    """Whether :func:`inner_split` holds anything out: some user has a second item (a
    user with one item keeps it)."""
    return bool((np.diff(seen.indptr) > 1).any())


def validation_users(valid: sp.csr_matrix, rng: np.random.Generator) -> np.ndarray:
    """The users with validation items, or ``VALID_USERS`` of them drawn by ``rng``."""
    users = np.flatnonzero(np.diff(valid.indptr) > 0)
    if len(users) > VALID_USERS:
        users = np.sort(rng.choice(users, VALID_USERS, replace=False))
    return users


def validation_recall(
    model: Recommender,
    train: sp.csr_matrix,
    valid: sp.csr_matrix,
    users: np.ndarray | None = None,
) -> float:
    """Mean Recall@K over ``users`` (default: those with validation items), ranking every
    item but the user's ``train`` items: hits / min(K, held-out items), ``visrec
    evaluate``'s definition (``_ranking.recall_rows``, as models do not import the
    evaluation package). ``train`` and ``valid`` hold disjoint pairs."""
    if users is None:
        users = np.flatnonzero(np.diff(valid.indptr) > 0)
    per: list[np.ndarray] = []
    for s in range(0, len(users), _BLOCK):
        u = users[s : s + _BLOCK]
        rows = np.arange(len(u))
        scores = np.array(model.score(u), copy=True)  # marked in place below
        if scores.dtype.kind != "f":
            scores = scores.astype(np.float64)
        scores[np.isnan(scores)] = -np.inf  # a diverged trial ranks nothing
        # the training items from the sparse rows: a dense users x items mask per block
        # cost more than the scoring
        tr = train[u]
        scores[np.repeat(rows, np.diff(tr.indptr)), tr.indices] = -np.inf
        top, _ = top_candidates(scores, K)
        recall = recall_rows(top, valid[u])  # sparse: read at the listed entries only
        per.append(recall[~np.isnan(recall)])
    values = np.concatenate(per) if per else np.empty(0)
    return float(values.mean()) if len(values) else float("nan")


def choose_penalties(
    model: Recommender,
    interactions: Interactions,
    item_vectors: ItemVectors | None,
    seen: sp.csr_matrix,
    grid: list[dict[str, float]],
) -> tuple[dict[str, float], dict[str, float]]:
    """The penalties an ``auto`` model trains with (one entry of ``grid``, weakest
    first), and the validation Recall@K of each entry by its label. The first entry,
    with no scores, when the data is dense enough, when no user has a second item to
    hold out, or when the 80% cannot be fitted (e.g. visual-cf left with one image item).
    """
    if pairs_per_item(seen) >= DENSE_PAIRS_PER_ITEM or not can_hold_out(seen):
        return grid[0], {}
    from visrec.models import _checkpoint

    rs = getattr(model, "random_state", None)
    # a stream of its own: the split must not shift with the model's own draws
    rng = np.random.default_rng(None if rs is None else [int(rs), 0xA7])
    is_val = inner_split(seen, rng)
    coo = seen.tocoo()
    inner = Interactions(
        user_map=interactions.user_map,
        item_map=interactions.item_map,
        user_idx=coo.row[~is_val].astype(np.int32),
        item_idx=coo.col[~is_val].astype(np.int32),
    )
    valid = sp.csr_matrix(
        (np.ones(int(is_val.sum()), dtype=np.float32), (coo.row[is_val], coo.col[is_val])),
        shape=seen.shape,
    )
    train = inner.to_csr("binary")
    # a stream of its own again: the users must not shift with the split's draws
    users = validation_users(valid, np.random.default_rng(None if rs is None else [int(rs), 0xA8]))
    verbose = bool(getattr(model, "verbose", False))
    # each trial shows its own epoch bar under the trials' bar: a trial on a large set
    # takes as long as the final fit, and a bar standing at 0/3 says nothing for that long
    params = {**model.get_params(), **getattr(model, "_trial_params", {}), "verbose": verbose}
    scores: dict[str, float] = {}
    # the validation rows in the key: random_state=None draws another split each run
    split_id = hashlib.sha1(np.packbits(is_val).tobytes()).hexdigest()[:16]
    trials = progress_bar(grid, desc=f"{model.name} reg=auto", show=verbose, leave=False)
    for n, values in enumerate(trials, 1):
        # under `visrec train` a finished trial's score is kept (keyed by its penalties
        # too): a resumed run refits only the trials it had not finished
        desc = f"reg-auto-trial-{n}"
        with _checkpoint.keyed(f"{desc}:{label(values)}:{split_id}"):
            # random_state=None draws another split on a rerun: nothing to keep for it
            ckpt = None if rs is None else _checkpoint.active()
            done = None if ckpt is None else _checkpoint.load_values(ckpt, desc, 1)
            if done is not None:
                scores[label(values)] = done[0]
                _progress_lines.say(
                    f"  {model.name} reg=auto trial {n}/{len(grid)}: {label(values)} -> "
                    f"validation Recall@{K} {done[0]:.4f} (reused)"
                )
                continue
            trial = type(model)(**{**params, **values})
            # the trial's epochs are not the fit `visrec train` resumes: no state saved
            try:
                with (
                    _checkpoint.suspended(),
                    _progress_lines.stage(f"reg=auto trial {n}/{len(grid)}"),
                ):
                    trial.fit(inner, item_vectors)
            except VisrecError:
                # data the full fit can use but its 80% cannot (visual-cf: fewer than 2
                # items with an image left): no validation, the dense-data setting
                return grid[0], {}
            scores[label(values)] = validation_recall(trial, train, valid, users)
            if ckpt is not None:
                _checkpoint.save_values(ckpt, desc, [scores[label(values)]])
        _progress_lines.say(
            f"  {model.name} reg=auto trial {n}/{len(grid)}: {label(values)} -> validation "
            f"Recall@{K} {scores[label(values)]:.4f}"
        )
    # max() keeps the first of equals: a tie goes to the weaker penalty
    best = max(grid, key=lambda v: scores[label(v)])
    return best, scores


def distinct_digits(values: list[float], least: int = 3, most: int = 6) -> int:
    """Decimals that keep different scores apart when printed (3 unless two of them
    would read the same: "0.138; 0.138: reg=0.1" looks like a tie broken the wrong way)."""
    finite = [float(v) for v in values if math.isfinite(float(v))]
    for d in range(least, most):
        if len({round(v, d) for v in finite}) == len({round(v, 12) for v in finite}):
            return d
    return most


def _sparse_auto(
    model: object, seen: sp.csr_matrix, fitted: bool = False
) -> tuple[list[str], float] | None:
    """The penalties ``model`` leaves ``"auto"`` (``fitted``: left in its last fit, not
    as set since) and the pairs per item of ``seen`` when they are validated there
    (sparse data), else None."""
    penalties = getattr(model, "_penalties", lambda: ())()
    value = getattr(model, "fitted_param", None) if fitted else None
    auto = [n for n in penalties if (value(n) if value else getattr(model, n)) == AUTO]
    per_item = pairs_per_item(seen)
    if not auto or per_item >= DENSE_PAIRS_PER_ITEM:
        return None
    return auto, per_item


def validation_ahead(model: object, seen: sp.csr_matrix) -> str | None:
    """What a fit of ``model`` on ``seen`` will do first when ``reg="auto"`` validates
    (for a log that shows no bars), or None when it will not."""
    sparse = _sparse_auto(model, seen)
    if sparse is None or not can_hold_out(seen):
        return None
    auto, per_item = sparse
    n = len(getattr(model, "_auto_grid", GRID))
    skip = " ".join(f"--param {name}=..." for name in auto)
    return (
        f"sparse data ({per_item:.1f} pairs per item): reg=auto first fits {n} models on "
        f"80% of it to choose the penalty, then the model ({skip} skips that)"
    )


def label(values: dict[str, float]) -> str:
    """``{"reg": 0.1}`` -> ``"reg=0.1"``."""
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def chosen_label(model: object) -> str | None:
    """``"reg=0.1"``: the setting a fitted model's ``reg="auto"`` chose by validation
    (the best of ``reg_validation_``, first of equals as in ``choose_penalties``); None
    when it ran no validation (dense data, explicit penalties, or none possible)."""
    scores: dict[str, float] | None = getattr(model, "reg_validation_", None)
    return max(scores, key=scores.__getitem__) if scores else None


def auto_note(model: object) -> str | None:
    """One line on what ``reg="auto"`` did on sparse data: the setting its validation
    fits chose, or that none could run (the dense-data setting was used)."""
    found = _sparse_auto(model, model.seen_, fitted=True)  # type: ignore[attr-defined]
    if found is None:
        return None
    auto, per_item = found
    sparse = f"reg=auto: sparse data ({per_item:.1f} distinct interactions per item, under "
    sparse += f"{DENSE_PAIRS_PER_ITEM:.0f}), "
    best = chosen_label(model)
    if best is None:
        used = label({n: getattr(model, f"{n}_") for n in auto})
        return (
            sparse + "but too little to hold out an inner validation split (no user with "
            f"a second item, or too few items left to fit): {used}, the dense-data setting"
        )
    scores = model.reg_validation_  # type: ignore[attr-defined]
    d = distinct_digits(list(scores.values()))
    tried = "; ".join(f"{setting} -> {recall:.{d}f}" for setting, recall in scores.items())
    second = model.new_item_fit()  # type: ignore[attr-defined]
    extra = f"; items known only by an image use a second fit at {second}" if second else ""
    if len(scores) > 1 and len({round(float(r), 12) for r in scores.values()}) == 1:
        # e.g. every user has at most 20 candidates: each trial lists all of them
        return (
            sparse + f"but its inner validation split could not tell the settings apart "
            f"(Recall@20: {tried}, all equal), so the weakest was kept: {best}{extra}"
        )
    return (
        sparse + f"so the penalties were chosen on an inner validation split "
        f"(Recall@20: {tried}): {best}{extra}"
    )


def _as_float(value: Any) -> float | None:
    """``value`` as a float when it is a real number (no bool) a float can hold, else
    None: JSON's ``true`` is no number, and its integers may be too large for a float."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool | np.bool_):
        return None
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        return None


def _finite_number(value: Any) -> bool:
    number = _as_float(value)
    return number is not None and math.isfinite(number)


class AutoRegMixin:
    """L2 penalties that may be ``"auto"`` (see the module docstring).

    ``_auto_grid`` lists the settings tried, weakest first, each a dict over the
    penalties it sets; the penalties given as ``"auto"`` are chosen together from it
    (numbers given for the others are kept). After ``fit``, ``NAME_`` holds the value
    each penalty was trained with and ``reg_validation_`` the validation Recall@K of
    each setting tried (empty when none was); both are saved in ``model.json``.
    """

    name: ClassVar[str]
    _auto_grid: ClassVar[tuple[dict[str, float], ...]] = tuple({"reg": r} for r in GRID)
    #: hyperparameters of the trial fits besides the penalties (what validation needs)
    _trial_params: ClassVar[dict[str, Any]] = {}
    reg_: float
    reg_validation_: dict[str, float]

    def _penalties(self) -> tuple[str, ...]:
        return tuple(self._auto_grid[0])

    def check_param_types(self) -> None:
        # a penalty is a number or the one string "auto": say so, not "a string"
        for name in self._penalties():
            value = getattr(self, name)
            if isinstance(value, str) or _finite_number(value):
                continue
            raise InvalidParameterError(
                f"model {self.name!r}: {name}={value!r} must be a number >= 0 or 'auto'"
            )
        super().check_param_types()  # type: ignore[misc]

    def _check_reg(self) -> None:
        for name in self._penalties():
            value = getattr(self, name)
            ok = value == AUTO if isinstance(value, str) else float(value) >= 0
            if not ok:
                raise InvalidParameterError(
                    f"model {self.name!r}: {name} must be a number >= 0 or 'auto', got {value!r}"
                )

    def _before_fit(
        self, interactions: Interactions, item_vectors: ItemVectors | None, seen: sp.csr_matrix
    ) -> None:
        given = {n: getattr(self, n) for n in self._penalties()}
        auto = [n for n, v in given.items() if v == AUTO]
        chosen = {n: float(v) for n, v in given.items() if n not in auto}
        self.reg_validation_ = {}
        if auto:
            grid: list[dict[str, float]] = []
            for entry in self._auto_grid:  # distinct settings of the auto penalties
                values = {n: entry[n] for n in auto}
                if values not in grid:
                    grid.append(values)
            model = cast("Recommender", self)
            best, self.reg_validation_ = choose_penalties(
                model, interactions, item_vectors, seen, grid
            )
            chosen.update(best)
        for n, v in chosen.items():
            setattr(self, f"{n}_", v)

    def _chosen(self) -> dict[str, float]:
        """The value each penalty was trained with."""
        return {n: getattr(self, f"{n}_") for n in self._penalties()}

    def _checkpoint_extra(self) -> str:
        # a rerun that chose otherwise (random_state=None) must not resume this fit
        return label(self._chosen())

    def _extra_state(self) -> dict[str, Any]:
        return {"penalties": self._chosen(), "reg_validation": self.reg_validation_}

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        chosen = state.get("penalties", {})
        for n in self._penalties():
            v = chosen.get(n, getattr(self, n))  # saved before "auto": its own number
            if not _finite_number(v) or v < 0:
                raise VisrecError(
                    f"model {self.name!r}: model.json holds no usable {n} ({v!r}); "
                    "train the model again"
                )
            given = getattr(self, n)
            if given != AUTO and float(given) != float(v):
                # a number given is the one trained with: refits and notes would disagree
                raise VisrecError(
                    f"model {self.name!r}: model.json's params give {n}={given!r} but its "
                    f"penalties say the model was trained with {v!r}; train the model again"
                )
            setattr(self, f"{n}_", float(v))
        self.reg_validation_ = saved_scores(self.name, state, "reg_validation")


def saved_scores(model: str, state: dict[str, Any], key: str) -> dict[str, float]:
    """``state[key]`` (default empty), once it is what validation saves: an object of
    validation Recall@K by setting. An edited one made ``fit_notes`` and ``tuned`` of
    the loaded model fail later with a bare ValueError or TypeError."""
    scores = state.get(key, {})
    if isinstance(scores, dict) and all(_real(v) for v in scores.values()):
        return {k: float(v) for k, v in scores.items()}
    raise VisrecError(
        f"model {model!r}: model.json holds no usable {key} ({scores!r}: expected an "
        "object of validation scores by setting); train the model again"
    )


def _real(value: Any) -> bool:
    """A number JSON wrote (NaN too: a trial that ranked no user scores NaN)."""
    return _as_float(value) is not None
