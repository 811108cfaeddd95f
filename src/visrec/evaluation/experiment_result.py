"""The result of an experiment: per-run metrics, their summary and their formatting.

:class:`ExperimentResult` is what :func:`visrec.evaluation.runner.run_experiment`
returns: one row per (seed, model) run, the mean and spread per model and metric, a
plain-text table, the note on what ``reg="auto"`` chose, and the JSON that ``visrec
evaluate --json`` writes and ``visrec report`` reads. :data:`METRICS` names its columns
of figures.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from visrec._atomic import write_text_atomic
from visrec.errors import VisrecError, WriteError, failed_write, write_error

METRICS = ("auc", "recall", "ndcg", "hit_rate", "coverage", "fit_s")

__all__ = ["METRICS", "ExperimentResult", "seed_mean", "seed_std"]


#: what is said when no test user has a candidate outside their test items (AUC n/a
#: for all): every ranking then scores 1, so no verdict can be drawn
NOTHING_TO_RANK = (
    "nothing to rank: every candidate of every test user is one of their test items, so "
    "AUC is n/a and Recall, NDCG and HitRate are 1 for any ranking; the models cannot "
    "be told apart on this split (users need items they did not take among the "
    "candidates: more items, or with cold-items a larger test size)"
)

#: the layout of ``to_dict``; a reader refuses a file of a later one (a newer visrec's)
RESULT_FORMAT = 1


@dataclass
class ExperimentResult:
    """Per-run metrics and their summary.

    Attributes
    ----------
    runs : DataFrame
        One row per (seed, model): ``seed, model, auc, recall, ndcg, hit_rate, coverage,
        fit_s, score_s, n_test_users, n_candidates, tuned`` (``tuned``: the penalties
        ``reg="auto"`` chose by validation, e.g. ``"reg=0.1"``; None otherwise).
    protocol : str
    k : int
    info : dict
        Split statistics per seed (sizes, dropped rows), for the JSON report.
    params : dict
        Every hyperparameter of each model, defaults included, so the JSON report says
        what was run; ``random_state`` is left out, as each run uses its split's seed,
        unless the params fixed one.
    notes : list of str
        What qualifies the figures (``visrec evaluate`` adds its notes: ties at the
        latest time, items without an image, a catalogue no bigger than ``k``), kept
        with them in the JSON and the report.
    inputs : dict of str to str
        The files the result came from (``{"interactions": ..., "vectors": ...}``),
        shown by the report, also one rebuilt from the JSON.
    records_skipped : dict of str to int
        The records of the interactions file the loader left out, by kind (``visrec
        evaluate`` fills it; ``{}`` when none were).
    resume : dict or None
        Every run as a resume record holds it, with the experiment's fingerprint
        (:func:`visrec.evaluation.run_record.results_section`): the JSON keeps it, so a
        later run with more seeds or models reuses these runs (``run_experiment``'s
        ``earlier``). None: not kept.
    """

    runs: pd.DataFrame
    protocol: str
    k: int
    info: dict[str, Any] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    records_skipped: dict[str, int] = field(default_factory=dict)
    resume: dict[str, Any] | None = None

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation per model and metric.

        Columns are a MultiIndex ``(metric, "mean"|"std")``; models keep the order they
        were given in. The std is the sample standard deviation over the seeds where the
        metric is defined (ddof=1); 0 for a model run on a single seed, NaN (null in
        JSON) when only one of its several seeds defines it (no spread is known).
        """
        order = list(dict.fromkeys(self.runs["model"]))
        cols = pd.MultiIndex.from_tuples([(m, s) for m in METRICS for s in ("mean", "std")])
        rows = []
        for model in order:
            r = self.runs[self.runs["model"] == model]
            row = []
            for m in METRICS:
                sd = seed_std(r[m])
                row += [seed_mean(r[m]), 0.0 if len(r) == 1 and math.isnan(sd) else sd]
            rows.append(row)
        return pd.DataFrame(rows, index=pd.Index(order, name="model"), columns=cols, dtype=float)

    def __repr__(self) -> str:  # the comparison table, not the frames and dicts
        return f"ExperimentResult(protocol={self.protocol!r}, k={self.k})\n{self.table()}"

    def table(self) -> str:
        """A plain-text comparison table: ``mean ± std`` per metric, fit seconds (the
        mean alone when there was a single seed: its std says nothing)."""
        summ = self.summary()
        spread = self.runs["seed"].nunique() > 1
        g = self.runs.groupby("model", sort=False)
        defined = g[list(METRICS)].count().to_dict("index")  # model -> metric -> seeds
        n_runs = g.size().to_dict()
        k = self.k
        names = {
            "auc": "AUC",
            "recall": f"Recall@{k}",
            "ndcg": f"NDCG@{k}",
            "hit_rate": f"HitRate@{k}",
            "coverage": f"Coverage@{k}",
            "fit_s": "fit s",
        }
        rows = []
        for model, r in summ.iterrows():
            row = {"model": str(model)}
            for m in METRICS:
                mu, sd = r[(m, "mean")], r[(m, "std")]
                digits = 1 if m == "fit_s" else 3
                if pd.isna(mu):  # no user for whom it is defined (notes say why)
                    row[names[m]] = "n/a"
                    continue
                cell = f"{mu:.{digits}f}"
                if spread and not pd.isna(sd):
                    cell += f" ± {sd:.{digits}f}"
                n = int(defined[model][m])
                if n < n_runs[model]:  # the mean is of fewer seeds than the header says
                    cell += f" ({n} of {n_runs[model]} seeds)"
                row[names[m]] = cell
            rows.append(row)
        from visrec._display_width import wide_aware

        with wide_aware():  # a model label in CJK stood a column out
            return pd.DataFrame(rows).to_string(index=False)

    def tuned_note(self) -> str | None:
        """One line per model whose ``reg="auto"`` chose by validation: the setting
        chosen and in how many runs, e.g. ``bpr: reg=0.1 (2 runs), reg=0.03 (1 run)``."""
        if "tuned" not in self.runs or self.runs["tuned"].isna().all():
            return None
        lines = []
        for model, g in self.runs.dropna(subset=["tuned"]).groupby("model", sort=False):
            counts = g["tuned"].value_counts(sort=True)
            parts = [f"{setting} ({n} run{'s' if n > 1 else ''})" for setting, n in counts.items()]
            lines.append(f"  {model}: {', '.join(parts)}")
        chosen = " ".join(self.runs["tuned"].dropna().astype(str))
        # reg_visual alone when --param fixed reg: still reg=auto's choice
        what = ["reg=auto on sparse data" if re.search(r"\breg(_visual)?=", chosen) else ""]
        what.append("visual-cf's profile_weight=auto" if "profile_weight=" in chosen else "")
        return (
            f"validation chose ({', '.join(w for w in what if w)}), on inner splits of each "
            "training set:\n" + "\n".join(lines)
        )

    def run_keys(self) -> set[tuple[int, str]]:
        """``(seed, model)`` of every run, as ``run_record.forget`` takes them."""
        pairs = zip(self.runs["seed"], self.runs["model"], strict=True)
        return {(int(s), str(m)) for s, m in pairs}

    def to_dict(self) -> dict[str, Any]:
        summ = self.summary()
        models = {
            str(model): {
                m: {"mean": _num(r[(m, "mean")]), "std": _num(r[(m, "std")])} for m in METRICS
            }
            for model, r in summ.iterrows()
        }
        return {
            "format": RESULT_FORMAT,
            "protocol": self.protocol,
            "k": self.k,
            "seeds": sorted({int(s) for s in self.runs["seed"]}),
            "summary": models,
            "runs": [
                {str(c): _count(v) if c in COUNTS else _plain(v) for c, v in r.items()}
                for r in self.runs.to_dict(orient="records")
            ],
            "splits": copy.deepcopy(self.info),  # the caller may edit it
            "params": {m: {n: _plain(v) for n, v in p.items()} for m, p in self.params.items()},
            # what "away from the defaults" means for this file, whatever visrec reads it
            "defaults": _defaults(self.params),
            "notes": list(self.notes),
            "inputs": dict(self.inputs),
            "records_skipped": dict(self.records_skipped),
            **({} if self.resume is None else {"resume": copy.deepcopy(self.resume)}),
        }

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The result as JSON; written atomically to ``path`` when given (a
        :class:`~visrec.errors.WriteError` naming it when the system refuses)."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            try:
                write_text_atomic(path, text + "\n")
            except OSError as exc:  # "No such file or directory: '/proc/x.json'" misled
                if isinstance(exc, VisrecError) and not isinstance(exc, WriteError):
                    raise  # a folder given for the file: said already
                raise write_error(
                    f"cannot write the experiment result to {str(path)!r} "
                    f"({failed_write(exc, path)})",
                    exc,
                ) from exc
        return text


def _defined(values: Any) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def seed_mean(values: Any) -> float:
    """The mean of ``values`` over the seeds where it is defined (NaN when none is),
    summed exactly (``math.fsum``): the same figure whatever the order or the pandas
    code path (a groupby mean and a Series mean differ in the last bit, 0.2225 read as
    0.22249999 by one and 0.22250001 by the other), so the table, the JSON, the report
    and the verdict round it alike."""
    vals = _defined(values)
    return math.fsum(vals) / len(vals) if vals else math.nan


def seed_std(values: Any) -> float:
    """The sample standard deviation (ddof 1) over the seeds where ``values`` is defined,
    about :func:`seed_mean`; NaN with fewer than two."""
    vals = _defined(values)
    if len(vals) < 2:
        return math.nan
    mu = math.fsum(vals) / len(vals)
    return math.sqrt(math.fsum((v - mu) ** 2 for v in vals) / (len(vals) - 1))


def _defaults(params: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each registered model's hyperparameter defaults (``name@label``: its base's)."""
    from visrec.models.registry import default_params

    out = {}
    for name in params:
        defaults = default_params(name)
        if defaults is not None:
            out[name] = {n: _plain(v) for n, v in defaults.items()}
    return out


def _num(v: Any) -> float | None:
    f = float(v)
    return None if math.isnan(f) else f


#: columns of ``runs`` that count things: whole numbers in JSON, as in ``splits``
COUNTS = ("n_test_users", "n_candidates")


def _count(v: Any) -> int | None:
    f = _num(v)
    return None if f is None else int(f)


def _plain(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return _num(v)
    return v.item() if isinstance(v, np.generic) else v
