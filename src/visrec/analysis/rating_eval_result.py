"""The result of :func:`visrec.analysis.rating_eval.rating_eval` and how it is shown.

:class:`RatingEvalResult` holds one row per (seed, model) run and the mean (and spread)
per model, and gives the plain-text table and the JSON that ``visrec rating-eval
--json`` writes and ``visrec report`` reads. Beside it: :data:`METRICS` (its columns of
figures), what each model draws on (:data:`BASELINE`, :data:`PICTURE`, :data:`RATINGS`,
:data:`RATINGS_PICTURE`), the majority-class baseline's name (:data:`MAJORITY`,
:func:`majority_label`), :func:`format_sizes` and :data:`RECORD_MODEL`, the model name
of a seed's line in the resume record.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from visrec.evaluation.experiment_result import seed_mean, seed_std

METRICS = ("accuracy", "mae", "rmse")

# What each model draws on (the runs' ``uses`` column): the report groups, colours and
# compares models by these, not by their display names.
BASELINE = "baseline"  # neither the picture nor who rated
PICTURE = "picture"  # the tutorial's KNN on the item vector alone
RATINGS = "ratings"  # who rated what
RATINGS_PICTURE = "ratings + picture"
#: the model name of a seed's line in the resume record (one line holds every model)
RECORD_MODEL = "rating-eval"


@dataclass
class RatingEvalResult:
    """Outcome of :func:`rating_eval`.

    Attributes
    ----------
    table : DataFrame
        One row per model (in the order they were run); columns ``accuracy``, ``mae``,
        ``rmse``, ``fit_seconds`` (means over seeds), ``accuracy_std``, ``mae_std``,
        ``rmse_std``, ``fit_seconds_std`` (ddof 1; 0 with a single seed, as
        ``visrec evaluate``'s; NaN where only one of several seeds defines it).
    runs : DataFrame
        One row per (seed, model): ``seed``, ``model``, ``uses`` (what the model draws
        on: :data:`BASELINE`, :data:`PICTURE`, :data:`RATINGS` or
        :data:`RATINGS_PICTURE`), the metrics, ``fit_seconds``, and ``class``: the
        rating the majority-class baseline answers (empty for the other models).
    n_train, n_test : int
        Rows in each split (the same for every seed with ``"random"``; the last seed's
        with ``"cold-items"``, where item sizes vary: ``sizes`` has every seed's).
    seeds : list of int
        The ``random_state`` of each split.
    notes : list of str
        What was left out or filled in, in words.
    protocol : str
        ``"random"`` or ``"cold-items"``.
    sizes : list of (int, int)
        ``(n_train, n_test)`` of every seed's split, in ``seeds`` order.
    resume : dict or None
        Every seed as a resume record holds it, with the fingerprint
        (:func:`visrec.evaluation.run_record.results_section`): the JSON keeps it, so a
        later call with more seeds reuses these (``rating_eval``'s ``earlier``). None:
        not kept.
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    n_train: int
    n_test: int
    seeds: list[int]
    notes: list[str] = field(default_factory=list)
    protocol: str = "random"
    sizes: list[tuple[int, int]] = field(default_factory=list)
    resume: dict[str, Any] | None = None

    def run_keys(self) -> list[tuple[int, str]]:
        """``(seed, "rating-eval")`` of every seed, as ``run_record.forget`` takes them."""
        return [(int(s), RECORD_MODEL) for s in self.seeds]

    def size_text(self) -> str:
        """``"80,000 train / 20,000 test"``, or ranges over the seeds when they differ."""
        return format_sizes(self.sizes or [(self.n_train, self.n_test)])

    def to_dict(self) -> dict[str, Any]:
        """``{"n_train", "n_test", "seeds", "protocol", "notes", "models": {name: {...}},
        "runs"}``; ``models`` is keyed by the names of ``runs`` (the table's
        ``"majority class (4)"`` is ``"majority class"``, its rating(s) under
        ``classes``), so results of other data join on them."""
        shown = majority_label(self.runs)
        models: dict[str, dict[str, Any]] = {}
        for name, row in self.table.iterrows():
            entry: dict[str, Any] = {str(c): _finite(v) for c, v in row.items()}
            if name == shown and "class" in self.runs:
                picked = self.runs.loc[self.runs["model"] == MAJORITY, "class"].dropna()
                entry["classes"] = [_rating(v) for v in sorted(set(picked))]
                name = MAJORITY
            models[str(name)] = entry
        runs = [
            {
                k: (
                    v
                    if isinstance(v, str)
                    else int(v)
                    if k == "seed"
                    else _rating(v)
                    if k == "class"
                    else _finite(v)
                )
                for k, v in rec.items()
                if not (k == "class" and pd.isna(v))  # only the majority class has one
            }
            for rec in self.runs.to_dict(orient="records")
        ]
        return {
            "n_train": int(self.n_train),
            "n_test": int(self.n_test),
            "seeds": [int(s) for s in self.seeds],
            "protocol": self.protocol,
            "notes": list(self.notes),
            "sizes": [[int(a), int(b)] for a, b in self.sizes],
            "models": models,
            "runs": runs,
            **({} if self.resume is None else {"resume": copy.deepcopy(self.resume)}),
        }

    def __repr__(self) -> str:  # the comparison table, not the frames
        return f"RatingEvalResult(protocol={self.protocol!r})\n{self.format(notes=False)}"

    def format(self, notes: bool = True) -> str:
        """The comparison table, baselines first, then the notes on the input (unless
        ``notes`` is False: ``visrec rating-eval`` prints those on stderr)."""
        multi = len(self.seeds) > 1
        head = (
            f"rating prediction, all models on the same split: {self.size_text()} "
            f"ratings, {self.protocol} split; "
            + (
                f"{len(self.seeds)} seeds ({', '.join(map(str, self.seeds))}), mean ± std"
                if multi
                else f"random_state {self.seeds[0]}"
            )
        )
        width = max(len(str(n)) for n in self.table.index) + 2
        names = ("accuracy", "MAE", "RMSE")
        cells = [
            [f"{row[m]:.3f} ± {row[m + '_std']:.3f}" if multi else f"{row[m]:.3f}" for m in METRICS]
            + [
                f"{row['fit_seconds']:.1f} ± {row['fit_seconds_std']:.1f}"
                if multi
                else f"{row['fit_seconds']:.1f}"
            ]
            for _, row in self.table.iterrows()
        ]
        # each column as wide as its widest cell: ratings on a 0-1,000,000 scale ran
        # into one another at a fixed width
        widths = [
            2 + max(len(h), *(len(r[c]) for r in cells)) for c, h in enumerate((*names, "fit s"))
        ]
        cols = f"{'model':<{width}}" + "".join(
            f"{h:>{w}}" for h, w in zip((*names, "fit s"), widths, strict=True)
        )
        lines = [head, "", cols]
        for name, row_cells in zip(self.table.index, cells, strict=True):
            lines.append(
                f"{name!s:<{width}}"
                + "".join(f"{c:>{w}}" for c, w in zip(row_cells, widths, strict=True))
            )
        lines += [
            "",
            "accuracy: prediction rounded to the nearest rating value seen in training;",
            "MAE / RMSE: of the raw prediction, in stars. Lower is better for both.",
        ]
        if notes:
            lines += self.notes
        return "\n".join(lines)


def _rating(v: Any) -> int | float:
    """A rating for JSON as the data spells it: 4, not 4.0 (knn-rating's
    ``majority_class``), 4.5 as itself."""
    f = float(v)
    return int(f) if f.is_integer() else f


def _finite(v: Any) -> float | None:
    """A figure for JSON: NaN (a std over one seed) is null, which JSON parsers read."""
    f = float(v)
    return None if math.isnan(f) else f


def _table(runs: pd.DataFrame, n_seeds: int) -> pd.DataFrame:
    """Mean and standard deviation per model, in run order; the std is 0 over a single
    seed, as ``visrec evaluate``'s, so the JSON has the same keys whatever ``--seeds``."""
    order = list(dict.fromkeys(runs["model"]))
    grouped = runs.groupby("model", sort=False)
    # summed as the report and the verdict sum them: the same figure, rounded alike
    table = grouped[[*METRICS, "fit_seconds"]].agg(seed_mean).reindex(order)
    std = grouped[[*METRICS, "fit_seconds"]].agg(seed_std).reindex(order)
    for m in (*METRICS, "fit_seconds"):
        table[m + "_std"] = std[m] if n_seeds > 1 else 0.0
    table.index.name = "model"
    return table.rename(index={MAJORITY: majority_label(runs)})


MAJORITY = "majority class"


def majority_label(runs: pd.DataFrame) -> str:
    """``"majority class (5)"``, or ``"majority class (4 or 5, by split)"`` when the
    splits' most common training rating differs."""
    from visrec.analysis.rating_knn import _fmt

    if "class" not in runs:
        return MAJORITY
    values = sorted(set(runs.loc[runs["model"] == MAJORITY, "class"].dropna()))
    if len(values) == 1:
        return f"{MAJORITY} ({_fmt(values[0])})"
    return f"{MAJORITY} ({' or '.join(_fmt(v) for v in values)}, by split)"


def format_sizes(pairs: Sequence[Sequence[int]]) -> str:
    """``(train, test)`` rows per seed as ``"80,000 train / 20,000 test"``, each a range
    (``"80,154-81,020"``) where the seeds' splits differ."""
    spans = []
    for j, what in ((0, "train"), (1, "test")):
        lo, hi = min(int(p[j]) for p in pairs), max(int(p[j]) for p in pairs)
        spans.append(f"{lo:,} {what}" if lo == hi else f"{lo:,}-{hi:,} {what}")
    return " / ".join(spans)
