"""An HTML report of one ``visrec evaluate`` run, made from its JSON result.

The report answers the toolkit's question first ("do pictures help here?", from the
per-seed runs, with the spread between splits next to the gain), then shows the table,
bar plots with one dot per seed, the per-seed figures, the splits, what validation
chose and every hyperparameter. It is built from the dict ``ExperimentResult.to_dict``
gives (the ``--json`` file), so a saved result can be reported without refitting
(``visrec report results.json``). Self-contained like the demo's report: no scripts, no
links out, every data string escaped, written atomically.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visrec import __version__
from visrec._atomic import check_input_exists, write_text_atomic
from visrec.errors import VisrecError, os_error
from visrec.evaluation.significance import p_figure, p_said, sign_p
from visrec.report import plots
from visrec.report.html import (
    _e,
    _img,
    _kv_table,
    _note,
    _section,
    data_name,
    grid_table,
    page_foot,
    page_head,
    results_title,
    verdict_section,
)

__all__ = [
    "read_result",
    "render_evaluation_report",
    "verdict",
    "write_evaluation_report",
]

PROTOCOLS = {
    "warm": "per-user random split: each user's held-out interactions are the test",
    "time": "leave-last-out: each user's latest interaction is the test",
    "cold-items": (
        "cold start: a share of the items is held out with all their interactions; the "
        "candidates are exactly those items, which no model saw in training"
    ),
}
NEEDED = ("seed", "model", "auc", "recall", "ndcg")
METRIC_KEYS = ("auc", "recall", "ndcg", "hit_rate", "coverage")


def read_result(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A ``visrec evaluate --json`` file, checked enough to report on."""
    check_input_exists(path, "result file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise os_error(f"{path}: cannot read ({exc.strerror or exc})", exc) from exc
    except UnicodeDecodeError as exc:  # a Parquet or .gz file named by mistake
        raise VisrecError(
            f"{path}: not a text file (byte {exc.start}: not UTF-8); give the file "
            "`visrec evaluate --json` wrote"
        ) from exc
    try:
        result: dict[str, Any] = json.loads(text)  # _check refuses anything else
    except json.JSONDecodeError as exc:
        raise VisrecError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from exc
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number; nesting too deep
        raise VisrecError(f"{path}: not a JSON file visrec can read ({exc})") from exc
    _check(result, str(path))
    return result


def _check(result: Any, source: str) -> None:
    what = "not a result of `visrec evaluate --json`"
    if not isinstance(result, dict):
        raise VisrecError(f"{source}: {what} (expected a JSON object)")
    missing = [k for k in ("protocol", "k", "runs") if k not in result]
    if "k" in missing and {"n_train", "models", "runs"} <= set(result):
        raise VisrecError(
            f"{source}: a result of `visrec rating-eval --json`, not of `visrec evaluate "
            "--json`; its report comes from `visrec rating-eval ... --report HTML`"
        )
    if missing:
        raise VisrecError(f"{source}: {what} (no {', '.join(repr(m) for m in missing)})")
    runs = result["runs"]
    if not isinstance(runs, list) or not runs:
        raise VisrecError(f"{source}: {what} ('runs' is empty or not a list)")
    k = result["k"]
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise VisrecError(f"{source}: {what} ('k' is {k!r}, not a positive integer)")
    if not isinstance(result["protocol"], str):
        raise VisrecError(f"{source}: {what} ('protocol' is {result['protocol']!r})")
    for key in ("splits", "params", "inputs"):
        if not isinstance(result.get(key) or {}, dict):
            raise VisrecError(f"{source}: {what} ('{key}' is not a JSON object)")
    for name, used in (result.get("params") or {}).items():
        if not isinstance(used, dict):
            raise VisrecError(f"{source}: {what} (params of {name!r} are not a JSON object)")
    if not isinstance(result.get("notes") or [], list):
        raise VisrecError(f"{source}: {what} ('notes' is not a list)")
    seeds = result.get("seeds")
    first: dict[tuple[int, str], int] = {}  # (seed, model) -> the run that has it
    for i, run in enumerate(runs):
        gone = [k for k in NEEDED if not isinstance(run, dict) or k not in run]
        if gone:
            raise VisrecError(f"{source}: runs[{i}] has no {', '.join(map(repr, gone))}")
        seed, model = run["seed"], run["model"]
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise VisrecError(f"{source}: runs[{i}]: seed {seed!r} is not an integer")
        if not isinstance(model, str) or not model:
            raise VisrecError(f"{source}: runs[{i}]: model {model!r} is not a name")
        # a doubled run would count twice in every mean and in the sign test
        if (seed, model) in first:
            raise VisrecError(
                f"{source}: runs[{i}] repeats seed {seed} of model {model!r} "
                f"(runs[{first[seed, model]}]): one run per seed and model"
            )
        first[seed, model] = i
        if not isinstance(run.get("tuned"), str | None):
            raise VisrecError(f"{source}: runs[{i}] ({model}): tuned {run['tuned']!r} is not text")
        if isinstance(seeds, list) and seed not in seeds:
            raise VisrecError(
                f"{source}: runs[{i}] ({model}) has seed {seed}, which 'seeds' does not list"
            )
        for key in (*METRIC_KEYS, "fit_s"):
            value = run.get(key)
            if value is None:  # null: a metric that could not be computed (NaN)
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise VisrecError(f"{source}: runs[{i}] ({model}): {key} {value!r} is not a number")
            if not math.isfinite(value):
                raise VisrecError(f"{source}: runs[{i}] ({model}): {key} is {value}")


YES, NO, NEW_ONLY, UNKNOWN = "yes", "no", "new items only", "unknown"


def picture_roles(models: list[str], protocol: str) -> dict[str, str]:
    """Whether each model (``NAME`` or ``NAME@LABEL``) uses pictures for the candidates
    of ``protocol``, from its class: ``"yes"``, ``"no"``, ``"new items only"`` or
    ``"unknown"`` (a name this version does not know, from a result written by another
    version: shown but not classed).

    On warm and time splits every candidate has interactions, so a model that uses
    pictures only for new items (visual-cf: BPR on known items) does not use them there:
    comparing it with BPR would compare BPR with itself."""
    from visrec.evaluation.model_specs import model_class

    roles = {}
    for m in models:
        try:
            klass = model_class(m)
        except VisrecError:
            roles[m] = UNKNOWN
            continue
        if not klass.uses_vectors:
            roles[m] = NO
        elif protocol != "cold-items" and not klass.pictures_for_known_items:
            roles[m] = NEW_ONLY
        else:
            roles[m] = YES
    return roles


def _runs(result: Mapping[str, Any]) -> pd.DataFrame:
    runs = pd.DataFrame(result["runs"])
    for col in ("auc", "recall", "ndcg", "hit_rate", "coverage", "fit_s"):
        if col in runs:
            runs[col] = pd.to_numeric(runs[col], errors="coerce")
    runs["model"] = runs["model"].astype(str)
    return runs


def mean_std(v: pd.Series, digits: int = 3) -> str:
    """``"0.650 ± 0.012"`` over the seeds where ``v`` is defined, said when those are
    fewer than its runs (``"0.700 (1 of 3 seeds)"``): the header counts every seed."""
    defined = v.dropna()
    if defined.empty:
        return "n/a"
    if len(defined) == 1:
        text = f"{defined.iloc[0]:.{digits}f}"
    else:
        text = f"{defined.mean():.{digits}f} ± {defined.std(ddof=1):.{digits}f}"
    return text + (f" ({len(defined)} of {len(v)} seeds)" if len(defined) < len(v) else "")


def verdict(result: Mapping[str, Any]) -> list[str]:
    """Plain sentences: does the best model with pictures beat the best one without?
    (see :func:`_picture_verdict`), then the settings that differ from the defaults: an
    answer for 5 epochs is not one for the defaults."""
    lines = _picture_verdict(result)
    models = list(dict.fromkeys(_runs(result)["model"]))
    changed = _away_from_defaults(result.get("params") or {}, models)
    if changed:
        lines.append(f"Settings away from the defaults: {changed}; the answer is for these.")
    return lines


def _picture_verdict(result: Mapping[str, Any]) -> list[str]:
    """Does the best model with pictures beat the best one without?

    Compared on Recall@K seed by seed, on the seeds where both ran (every model of a
    seed shares its split), next to how much the figures move between seeds. "Help"
    or "do not help" needs a one-sided sign test over the seeds where the two differ at
    p <= 0.125: all of at least 3 seeds, or 5 of 6, 7 of 8, 8 of 10 and so on.
    """
    runs = _runs(result)
    k = int(result["k"])
    models = list(dict.fromkeys(runs["model"]))
    protocol = str(result["protocol"])
    roles = picture_roles(models, protocol)
    with_img = [m for m in models if roles[m] == YES]
    # a model that uses pictures only for new items counts as one without, here
    without = [m for m in models if roles[m] in (NO, NEW_ONLY)]
    lines = _classing_notes(models, roles)

    mean = runs.groupby("model")["recall"].mean().dropna()
    no_figure = [m for m in with_img if m not in mean.index]
    with_img = [m for m in with_img if m in mean.index]
    without = [m for m in without if m in mean.index]
    if no_figure:
        lines.append(
            f"{', '.join(no_figure)} ran but {'has' if len(no_figure) == 1 else 'have'} no "
            f"Recall@{k} on any seed (no user with a test item could be scored)."
        )
    if not with_img:
        if no_figure:
            return lines
        return [*lines, *_no_picture_model_verdict(result, runs, mean, roles, k)]
    if result["protocol"] == "cold-items":
        return [*lines, *_cold_verdict(runs, with_img, without, k, _fills_the_list(result))]
    best_img = max(with_img, key=lambda m: mean[m])
    if not without:
        return [*lines, f"Best with pictures: {best_img}, Recall@{k} {mean[best_img]:.3f}."]
    best_plain = max(without, key=lambda m: mean[m])
    # each side is the best of its models on these seeds: its p allows for that pick
    picks = Picks(len(with_img), len(without), "picture models", "models without pictures")
    return [*lines, *_best_pair_verdict(result, runs, best_img, best_plain, picks)]


def _classing_notes(models: list[str], roles: dict[str, str]) -> list[str]:
    """The sentences on models using pictures only for new items and on unknown models."""
    unknown = [m for m in models if roles[m] == UNKNOWN]
    lines: list[str] = []
    only_new = [m for m in models if roles[m] == NEW_ONLY]
    if only_new:
        one = len(only_new) == 1
        lines.append(
            f"{', '.join(only_new)} use{'s' if one else ''} pictures only for items nobody "
            "interacted with; every candidate here has interactions, so "
            f"{'it ranks' if one else 'they rank'} them without pictures (visual-cf as BPR "
            f"does) and count{'s' if one else ''} as a model without pictures."
        )
    if unknown:
        lines.append(
            f"Not classed (unknown to visrec {__version__}, so not known to use pictures "
            f"or not): {', '.join(unknown)}."
        )
    return lines


def _no_picture_model_verdict(
    result: Mapping[str, Any], runs: pd.DataFrame, mean: pd.Series, roles: dict[str, str], k: int
) -> list[str]:
    """With no model here using pictures: what to add to ``--models``; the popularity check."""
    if NEW_ONLY in roles.values():
        return [
            f"No model{' known' if UNKNOWN in roles.values() else ''} here uses pictures for "
            "items with interactions: add vbpr to --models to ask whether pictures help them.",
        ]
    given = bool((result.get("inputs") or {}).get("vectors"))
    return [
        "No model that reads pictures has a Recall@K in this run: "
        + ("" if given else "give --vectors and ")
        + "add vbpr or visual-cf to --models to ask whether pictures help.",
        *_against_popularity(runs, mean, k),
    ]


def _best_pair_verdict(
    result: Mapping[str, Any], runs: pd.DataFrame, best_img: str, best_plain: str, picks: Picks
) -> list[str]:
    """The sentences comparing the two best models, with pictures and without, seed by seed."""
    k = int(result["k"])
    pair = runs[runs["model"].isin([best_img, best_plain])].pivot_table(
        index="seed", columns="model", values="recall"
    )
    pair = pair.dropna()
    if len(pair) == 0:
        return [
            f"Best with pictures: {best_img}; best without: {best_plain}; no seed ran both "
            "with a Recall@K, so they cannot be compared split by split.",
        ]
    a, b = pair[best_img], pair[best_plain]
    shared = "" if len(pair) == runs["seed"].nunique() else f" (on the {len(pair)} seeds both ran)"
    head = (
        f"Best with pictures: {best_img}, Recall@{k} {a.mean():.3f}; best without: "
        f"{best_plain}, {b.mean():.3f}{shared}."
    )
    call = _pair_call(result, (a - b).to_numpy(), b, best_img, best_plain, picks)
    return [head, call]


def _pair_call(
    result: Mapping[str, Any],
    diff: np.ndarray,
    plain: pd.Series,
    best_img: str,
    best_plain: str,
    picks: Picks,
) -> str:
    """The call on ``diff`` (Recall@K with pictures less ``plain``'s, seed by seed)."""
    k = int(result["k"])
    wins, losses = int((diff > TIE).sum()), int((diff < -TIE).sum())
    ties = diff.size - wins - losses
    said = f"{diff.mean():+.4f} Recall@{k} on average, {seeds_said(wins, losses, diff.size)}"
    if diff.size > 1 and ties < diff.size:
        said += sign_test_said(wins, losses, picks)
    if ties == diff.size:
        call = f"No difference: {best_img} and {best_plain} have the same Recall@{k} on every seed."
    elif diff.size == 1:
        call = (
            f"{diff[0]:+.4f} Recall@{k} on one seed: run --seeds "
            f"{picks.seeds(diff[0] > 0)} or more."
        )
    else:
        call = {
            "up": f"Pictures help here{_by_little(diff, plain)}: {said}.",
            "down": f"Pictures do not help here{_by_little(diff, plain)}: {said}.",
            "few": f"Too few seeds to call: {said}; run --seeds "
            f"{picks.seeds(wins >= losses)} or more.",
            "unclear": f"No clear difference: {said}.",
        }[sign_call(wins, losses, diff.size, picks)]
        call += weak_evidence(wins, losses, diff.size, picks)
    spread = plain.std(ddof=1) if len(plain) > 1 else float("nan")
    if np.isfinite(spread) and ties < diff.size:
        what = (
            "between seeds (the time split is the same for every seed: the seeds change "
            "only the models' randomness, their initialisation and the inner split "
            "reg=auto validates on)"
            if result["protocol"] == "time"
            else "between the splits"
        )
        call += f" ({best_plain} itself moves {spread:.4f} (std) {what}.)"
    return call


TIE = 1e-9  # Recall@K differences below this are ties (the same ranking)


def _away_from_defaults(params: Mapping[str, Any], models: list[str]) -> str:
    """``"bpr epochs=5 (default 80)"``: the hyperparameters of the run's models that
    differ from their defaults (models unknown to this version left out)."""
    from visrec.models.registry import MODELS, get_model_class

    said = []
    for name in models:
        base = name.partition("@")[0]
        if base not in MODELS or name not in params:
            continue
        defaults = get_model_class(base)().get_params()
        moved = [
            f"{k}={v!r} (default {defaults[k]!r})"
            for k, v in params[name].items()
            if k in defaults and k not in ("verbose", "device") and v != defaults[k]
        ]
        if moved:
            said.append(f"{name} {', '.join(moved)}")
    return "; ".join(said)


def _against_popularity(runs: pd.DataFrame, mean: pd.Series, k: int) -> list[str]:
    """One sentence: the best other model against the popularity baseline, seed by seed."""
    others = [m for m in mean.index if m != "popularity"]
    if "popularity" not in mean.index or not others:
        return []
    best = max(others, key=lambda m: mean[m])
    pair = (
        runs[runs["model"].isin([best, "popularity"])]
        .pivot_table(index="seed", columns="model", values="recall")
        .dropna()
    )
    if pair.empty:
        return []
    wins = int((pair[best] - pair["popularity"] > TIE).sum())
    return [
        f"Against the popularity baseline: {best} Recall@{k} {pair[best].mean():.3f} vs "
        f"{pair['popularity'].mean():.3f}, better on {wins} of {len(pair)} seeds."
    ]


SIGN_P = 0.125  # one-sided sign test: 3 of 3 seeds is p = 0.125


def by_little(diff: np.ndarray, plain: pd.Series) -> bool:
    """Whether the mean change is smaller than the model without pictures moves between
    seeds: a real but small effect, to be said as such."""
    spread = plain.std(ddof=1) if len(plain) > 1 else float("nan")
    return bool(abs(diff.mean()) < spread)


def _by_little(diff: np.ndarray, plain: pd.Series) -> str:
    return ", consistently but by little" if by_little(diff, plain) else ""


def seeds_said(wins: int, losses: int, n: int) -> str:
    """``"better on 2 of 3 seeds, worse on 1"``; ties (``n - wins - losses``) said as
    ``", equal on 1"``."""
    said = f"better on {wins} of {n} seed{'s' if n != 1 else ''}"
    ties = n - wins - losses
    if losses and ties:
        said += f", worse on {losses}, equal on {ties}"
    elif ties:
        said += f", equal on {ties}"
    return said


@dataclass(frozen=True)
class Picks:
    """How many models each side of a sign test was the best of, on the same seeds it
    is tested on: the best of ``up`` picture models beats chance (or the other side)
    on all of 3 seeds more often than one named in advance, so its p is multiplied by
    ``up`` (Bonferroni), and a call the other way by ``down``."""

    up: int = 1
    down: int = 1
    up_what: str = "models"
    down_what: str = "models"

    def p(self, wins: int, losses: int) -> float:
        """The one-sided p of ``wins`` against ``losses`` (up), allowing for the pick."""
        return min(1.0, max(self.up, 1) * sign_p(wins, losses))

    def p_down(self, wins: int, losses: int) -> float:
        return min(1.0, max(self.down, 1) * sign_p(losses, wins))

    def seen(self, wins: int, losses: int) -> tuple[int, str, float]:
        """The way the seeds went: how many models that side was the best of, what
        they are, and the p allowing for the pick."""
        if wins >= losses:
            return self.up, self.up_what, self.p(wins, losses)
        return self.down, self.down_what, self.p_down(wins, losses)

    def seeds(self, up: bool = True) -> int:
        """The fewest seeds on which a call that way (``up``: pictures help, or are
        above chance) is possible, all of them going that way."""
        n = 3
        while max(self.up if up else self.down, 1) * 0.5**n > SIGN_P:
            n += 1
        return n


ONE = Picks()  # a test of two models named in advance


def sign_call(wins: int, losses: int, n_seeds: int, picks: Picks = ONE) -> str:
    """The sign test's call: ``"up"`` or ``"down"`` at p <= SIGN_P (allowing for
    ``picks``), else ``"few"`` (fewer seeds than a call the way the seeds went needs:
    ``picks.seeds(wins >= losses)``) or ``"unclear"``."""
    if picks.p(wins, losses) <= SIGN_P:
        return "up"
    if picks.p_down(wins, losses) <= SIGN_P:
        return "down"
    return "few" if n_seeds < picks.seeds(wins >= losses) else "unclear"


def weak_evidence(wins: int, losses: int, n_seeds: int, picks: Picks = ONE) -> str:
    """ " Weak evidence (p above 0.05): ..." after a call the sign test made at
    p <= 0.125 but not at 0.05 (3 of 3, 4 of 4, 5 of 6 seeds...); empty otherwise."""
    called = sign_call(wins, losses, n_seeds, picks) in ("up", "down")
    if called and picks.seen(wins, losses)[2] > 0.05:  # a call goes the way the seeds went
        return " Weak evidence (p above 0.05): more seeds would firm it up."
    return ""


def _fills_the_list(result: Mapping[str, Any]) -> bool:
    """Whether no test user had more candidates than K, so that Recall@K and
    HitRate@K are 1 for any ranking (``evaluate`` notes it too)."""
    splits = [s for s in (result.get("splits") or {}).values() if isinstance(s, Mapping)]
    counts = [s.get("n_candidates") for s in splits]
    known = [float(c) for c in counts if isinstance(c, int | float)]
    if not known or len(known) < len(counts):
        return False
    return max(known) <= int(result["k"])


def sign_test_said(wins: int, losses: int, picks: Picks = ONE) -> str:
    """ "; sign test p = 0.125": the one-sided p in the direction the seeds went, and
    with ``picks``, that p allowing for the pick of the best ("0.250 for the best of 2
    picture models, picked on these seeds")."""
    said = f"; sign test {p_said(sign_p(max(wins, losses), min(wins, losses)))}"
    n, what, adjusted = picks.seen(wins, losses)
    if n > 1:
        said += f", {p_figure(adjusted)} for the best of {n} {what}, picked on these seeds"
    return said


def _cold_verdict(
    runs: pd.DataFrame, with_img: list[str], without: list[str], k: int, fills: bool = False
) -> list[str]:
    """Cold start: the best picture model by AUC (what tells new items apart; Recall@K
    is 1 for any ranking when there are no more candidates than K, ``fills``: NDCG@K is
    quoted then), called above or below chance split by split with the sign test of
    the warm verdict. The splits are of one data set: the call says how steady the
    result is across them, with its p."""
    auc = runs.groupby("model")["auc"].mean()
    top = "ndcg" if fills and "ndcg" in runs else "recall"
    recall = runs.groupby("model")[top].mean()
    lines = []
    if without:
        lines.append(
            "Cold start: the candidates are items nobody interacted with in training. "
            f"Models without pictures ({', '.join(without)}) score every new item alike, "
            "so their AUC is 0.5 and any AUC above 0.5 is what the pictures know; their "
            f"Recall@{k}, NDCG@{k}, HitRate@{k} and coverage are those of one random order "
            "of the new items, the same list for every user (chance, not a ranking)."
        )
    else:
        lines.append(
            "Cold start: the candidates are items nobody interacted with in training, so "
            "only pictures can tell them apart; AUC 0.5 is chance."
        )
    scored = [m for m in with_img if np.isfinite(auc.get(m, float("nan")))]
    if not scored:
        lines.append("No model that reads pictures has an AUC in this run.")
        return lines
    best = max(scored, key=lambda m: auc[m])
    per_seed = runs.loc[runs["model"] == best, "auc"].dropna().to_numpy()
    above, below = int((per_seed > 0.5 + TIE).sum()), int((per_seed < 0.5 - TIE).sum())
    count = (
        f"above 0.5 on {above} of {per_seed.size} split{'s' if per_seed.size > 1 else ''} "
        "of this data"
    )
    # the best of the picture models on these splits: its p allows for that pick (the
    # worst of them would be the one to call below chance: that call needs none)
    picks = Picks(len(scored), 1, "picture models")
    if per_seed.size > 1 and above + below:
        count += sign_test_said(above, below, picks)
    call = sign_call(above, below, per_seed.size, picks)
    where = (
        "at chance"
        if above + below == 0
        else {
            "up": f"above chance: {count}",
            "down": f"below chance, worse than a random order: {count}",
            "few": f"too few seeds to call: {count}; run --seeds "
            f"{picks.seeds(above >= below)} or more",
            "unclear": f"not consistently above chance: {count}",
        }[call]
    )
    metric = f"NDCG@{k}" if top == "ndcg" else f"Recall@{k}"
    lines.append(
        f"Best with pictures: {best}, AUC {auc[best]:.3f} ({where}), {metric} "
        f"{recall[best]:.3f}."
        + (weak_evidence(above, below, per_seed.size, picks) if above + below else "")
    )
    return lines


def _results_table(runs: pd.DataFrame, models: list[str], k: int, roles: dict[str, str]) -> str:
    cols = [
        ("auc", "AUC", 3),
        ("recall", f"Recall@{k}", 3),
        ("ndcg", f"NDCG@{k}", 3),
        ("hit_rate", f"HitRate@{k}", 3),
        ("coverage", f"Coverage@{k}", 3),
        ("fit_s", "fit s", 1),
    ]
    cols = [c for c in cols if c[0] in runs]
    head = "".join(f"<th>{_e(t)}</th>" for _, t, _ in cols)
    rows = []
    for m in models:
        r = runs[runs["model"] == m]
        cells = "".join(f'<td class="num">{_e(mean_std(r[c], d))}</td>' for c, _, d in cols)
        rows.append(f"<tr><th>{_e(m)}</th><td>{roles[m]}</td>{cells}</tr>")
    return grid_table(f"<th>model</th><th>uses pictures</th>{head}", rows)


def per_seed_table(runs: pd.DataFrame, models: list[str], col: str, title: str) -> str:
    """``col`` of every model seed by seed, to 4 decimals: the verdicts call a seed won
    on any difference, which 3 decimals showed as a tie (0.925 vs 0.925)."""
    table = runs.pivot_table(index="model", columns="seed", values=col).reindex(models)
    head = "".join(f"<th>seed {_e(s)}</th>" for s in table.columns)
    rows = []
    for m, r in table.iterrows():
        cells = "".join(
            f'<td class="num">{"" if pd.isna(v) else f"{v:.4f}"}</td>' for v in r.to_list()
        )
        rows.append(f"<tr><th>{_e(m)}</th>{cells}</tr>")
    return f"<h3>{_e(title)}</h3>" + grid_table(f"<th>model</th>{head}", rows)


def _splits_table(splits: Mapping[str, Any]) -> str:
    names = {
        "n_train": "train rows",
        "n_test": "test rows",
        "n_users": "training users",
        "n_test_users": "users with a test row",
        "n_train_items": "training items",
        "n_candidates": "candidates",
        "n_dropped_users": "test rows of unknown users (dropped)",
        "n_dropped_items": "test rows of unknown items (dropped)",
        "n_duplicates": "duplicate rows collapsed",
    }
    frame = pd.DataFrame({f"seed {s}": v for s, v in splits.items() if isinstance(v, dict)})
    if frame.empty:
        return _note("no split statistics in this result", "skipped")
    frame = frame.reindex(
        [n for n in names if n in frame.index] + [n for n in frame.index if n not in names]
    )
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for key, r in frame.iterrows():
        cells = "".join(f'<td class="num">{_e(_count(v))}</td>' for v in r.to_list())
        rows.append(f"<tr><th>{_e(names.get(str(key), key))}</th>{cells}</tr>")
    return grid_table(f"<th>split</th>{head}", rows)


def _count(v: Any) -> str:
    if isinstance(v, int | float) and not isinstance(v, bool):
        if not math.isfinite(v):  # a field only some seeds have (pandas fills NaN)
            return ""
        if float(v).is_integer():
            return f"{int(v):,}"
    return "" if v is None else str(v)


def _params_section(params: Mapping[str, Any]) -> str:
    if not params:
        return _note("no hyperparameters recorded", "skipped")
    parts = []
    for model, p in params.items():
        body = _kv_table({str(k): json.dumps(v) for k, v in p.items()}) if p else "(none)"
        parts.append(f"<details><summary>{_e(model)}</summary>{body}</details>")
    return "".join(parts)


def _tuned_section(runs: pd.DataFrame) -> str | None:
    if "tuned" not in runs or runs["tuned"].isna().all():
        return None
    rows = runs.dropna(subset=["tuned"])
    table = rows.pivot_table(index="model", columns="seed", values="tuned", aggfunc="first")
    head = "".join(f"<th>seed {_e(s)}</th>" for s in table.columns)
    body = "".join(
        f"<tr><th>{_e(m)}</th>"
        + "".join(f"<td>{'' if pd.isna(v) else _e(v)}</td>" for v in r.to_list())
        + "</tr>"
        for m, r in table.iterrows()
    )
    return (
        '<p class="explain">reg="auto" (on sparse data) and visual-cf\'s '
        'profile_weight="auto" choose by validation on an inner split of each training '
        "set; what they chose, per run:</p>" + grid_table(f"<th>model</th>{head}", [body])
    )


def render_evaluation_report(
    result: Mapping[str, Any], inputs: Mapping[str, str] | None = None, title: str | None = None
) -> str:
    """The report of ``result`` (the ``--json`` dict) as an HTML string.

    ``inputs`` (e.g. ``{"interactions": "u.data", "vectors": "v.parquet"}``) is shown
    under the heading.
    """
    _check(result, "result")
    runs = _runs(result)
    k = int(result["k"])
    protocol = str(result["protocol"])
    models = list(dict.fromkeys(runs["model"]))
    roles = picture_roles(models, protocol)
    seeds = sorted({int(s) for s in runs["seed"]})
    shown_inputs = {**(result.get("inputs") or {}), **(inputs or {})}
    # the data's name in the title: several reports open side by side tell apart in tabs
    name = data_name(shown_inputs.get("interactions"))
    heading = title or f"visrec evaluate: {protocol} protocol" + (f" on {name}" if name else "")
    info = _run_info(result, shown_inputs, protocol, k, seeds)
    notes = [str(n) for n in result.get("notes") or []]
    figure = _metric_figure(result, runs, models, roles, k)
    parts = [
        *page_head(heading),
        _kv_table(info),
        verdict_section("Do pictures help here?", verdict(result)),
        *(
            [_section("notes", "Notes", "".join(_note(n, "explain") for n in notes))]
            if notes
            else []
        ),
        _section(
            "results", results_title(len(seeds)), _results_table(runs, models, k, roles) + figure
        ),
        _section("seeds", "Seed by seed", _seeds_body(runs, models, k, protocol)),
        _section("splits", "Splits", _splits_table(result.get("splits") or {})),
    ]
    tuned = _tuned_section(runs)
    if tuned:
        parts.append(_section("tuned", "What validation chose", tuned))
    parts += [
        _section("params", "Hyperparameters", _params_section(result.get("params") or {})),
        _section("metrics", "How the figures are computed", _metrics_note(k)),
        *page_foot(),
    ]
    return "\n".join(parts)


def _run_info(
    result: Mapping[str, Any],
    shown_inputs: Mapping[str, Any],
    protocol: str,
    k: int,
    seeds: list[int],
) -> dict[str, Any]:
    """The table under the heading: protocol, K, seeds, inputs, how the result was made."""
    info = {
        "protocol": f"{protocol}: {PROTOCOLS.get(protocol, '')}".rstrip(": "),
        "list length K": k,
        "seeds": ", ".join(map(str, seeds)),
        **{str(key): str(v) for key, v in shown_inputs.items() if v},
    }
    run = result.get("run")
    if isinstance(run, dict):  # how the result was made (the CLI's --json has it)
        if run.get("command"):
            info["command"] = str(run["command"])
        if run.get("created"):
            info["run"] = f"visrec {run.get('visrec', '?')}, {run['created']}"
    return info


def _metric_figure(
    result: Mapping[str, Any],
    runs: pd.DataFrame,
    models: list[str],
    roles: dict[str, str],
    k: int,
) -> str:
    """The bar plot of the metrics per model, embedded, with the note on how to read it."""
    img = [m for m in models if roles[m] == YES]
    # no more candidates than K: a Recall@K panel of equal bars at 1 says nothing
    recall_panel = [] if _fills_the_list(result) else [("recall", f"Recall@{k}", 0.0)]
    plot = plots.metric_bars_png(
        runs,
        models,
        [("auc", "AUC", 0.5), *recall_panel, ("ndcg", f"NDCG@{k}", 0.0)],
        image_models=img,
    )
    return _img(
        plot,
        f"AUC, {f'Recall@{k} and ' if recall_panel else ''}NDCG@{k} per model, one dot per seed",
    ) + _note(
        "Bars: the mean over seeds (AUC bars start at 0.5, chance); black dots: "
        "each seed; line: from the lowest to the highest seed. Blue: models that "
        "read pictures; orange: models that do not; grey: the popularity baseline.",
        "explain",
    )


def _seeds_body(runs: pd.DataFrame, models: list[str], k: int, protocol: str) -> str:
    """The "Seed by seed" section: what its columns show, then Recall@K and AUC by seed."""
    return (
        _note(
            "Every model of a seed is fitted and scored on the same split, so compare "
            "models within a column; "
            + (
                "the time split is the same for every seed, so the columns show how "
                "much the models' randomness (their initialisation, the inner split "
                "reg=auto validates on) moves the figures."
                if protocol == "time"
                else "the columns show how much one split differs from another."
            ),
            "explain",
        )
        + per_seed_table(runs, models, "recall", f"Recall@{k}")
        + per_seed_table(runs, models, "auc", "AUC")
    )


def _metrics_note(k: int) -> str:
    """The "How the figures are computed" section's body."""
    return _note(
        f"Every candidate item except the user's training items is scored for every "
        f"test user. AUC: the chance that a held-out item outranks a candidate the "
        f"user did not interact with (ties count one half). Recall@{k}: hits in the "
        f"top {k} / min({k}, the user's held-out items). NDCG@{k}: binary gains, "
        f"log2 discount. HitRate@{k}: share of users with a hit. Coverage@{k}: "
        f"distinct items recommended / candidates. Means over test users, then "
        f"mean and sample std over seeds.",
        "explain",
    )


def write_evaluation_report(
    path: str | os.PathLike[str],
    result: Mapping[str, Any],
    inputs: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Path:
    """Render the report of ``result`` and write it to ``path`` atomically."""
    target = Path(path)
    write_text_atomic(target, render_evaluation_report(result, inputs, title))
    return target
