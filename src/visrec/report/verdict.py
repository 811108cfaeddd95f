"""The verdict of an evaluation report: the sentences that answer "do pictures help
here?" from the per-seed runs of a ``visrec evaluate`` result, and the sign test's
wording they share with the rating-eval report.

Which models use pictures (:func:`picture_roles`), the best model with pictures against
the best without seed by seed or, on cold items, against chance (:func:`verdict`), the
one-sided sign test's call and its sentences (:func:`sign_call`, :func:`sign_test_said`,
:func:`weak_evidence`, :class:`Picks`), and the settings away from the defaults. The HTML
around them is :mod:`visrec.report.evaluation`'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from visrec import __version__
from visrec.embed.vector_source import what_vectors_show
from visrec.errors import VisrecError, a_or_an, agree
from visrec.evaluation.experiment_result import seed_mean, seed_std
from visrec.evaluation.significance import p_figure, p_said, sign_p

YES, NO, NEW_ONLY, UNKNOWN = "yes", "no", "new items only", "unknown"

#: ``inputs`` key of a result: the vectors' backbone (``item-features`` for `visrec
#: features`' output, ``<backbone>+item-features`` next to image vectors)
MADE_BY = "vectors made by"


def vectors_noun(result: Mapping[str, Any]) -> str:
    """What the vectors of ``result`` describe, for its sentences: "pictures", or
    "attributes" / "pictures and attributes" where they came from ``visrec features``."""
    inputs = result.get("inputs") if isinstance(result, Mapping) else None
    return what_vectors_show((inputs if isinstance(inputs, Mapping) else {}).get(MADE_BY))


def in_words_of(result: Mapping[str, Any], line: str) -> str:
    """``line`` with "pictures" as :func:`vectors_noun` says (the sentences are written
    for image vectors; a model reads attribute vectors the same way)."""
    noun = vectors_noun(result)
    if noun == "pictures":
        return line
    return re.sub(
        r"\bpicture models\b|\bpictures\b",
        lambda m: f"models with {noun}" if m.group(0) == "picture models" else noun,
        line,
    )


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


def as_result(result: Any) -> Any:
    """``result`` as the ``--json`` dict the report functions read: an
    ``ExperimentResult`` or ``RatingEvalResult`` given as it is becomes its
    ``to_dict()``; anything else is returned unchanged (for the caller's check)."""
    to_dict = getattr(result, "to_dict", None)
    return to_dict() if not isinstance(result, Mapping) and callable(to_dict) else result


def verdict(result: Mapping[str, Any]) -> list[str]:
    """Plain sentences: does the best model with pictures beat the best one without?
    (see :func:`_picture_verdict`), then the settings that differ from the defaults: an
    answer for 5 epochs is not one for the defaults. ``result`` is the ``--json`` dict
    (or the ``ExperimentResult``) of ``visrec evaluate``."""
    from visrec.report.evaluation import _check

    result = as_result(result)
    _check(result, "result")  # a missing key was a KeyError from inside
    lines = [in_words_of(result, line) for line in _picture_verdict(result)]
    models = list(dict.fromkeys(_runs(result)["model"]))
    recorded = result.get("defaults")
    recorded = recorded if isinstance(recorded, Mapping) else {}
    changed = _away_from_defaults(result.get("params") or {}, models, recorded)
    if changed and all(m in recorded for m in models if m in (result.get("params") or {})):
        lines.append(f"Settings away from the defaults: {changed}; the answer is for these.")
    elif changed:  # written before files recorded their defaults: today's may be newer
        lines.append(
            f"Settings away from this visrec's defaults: {changed}; the answer is for these "
            "(the file does not record the defaults it ran with, which an older visrec may "
            "have had)."
        )
    return lines


def _picture_verdict(result: Mapping[str, Any]) -> list[str]:
    """Does the best model with pictures beat the best one without?

    Compared on Recall@K seed by seed, on the seeds where both ran (every model of a
    seed shares its split), next to how much the figures move between seeds. "Help"
    or "do not help" needs a one-sided sign test over the seeds where the two differ at
    p <= 0.125: all of at least 3 seeds, or 5 of 6, 7 of 8, 8 of 10 and so on. When no
    test user has more candidates than K, Recall@K is 1 for any ranking: warm and time
    runs are then compared on NDCG@K (cold-items on AUC, as always), and said so.
    """
    runs = _runs(result)
    k = int(result["k"])
    if "auc" in runs and runs["auc"].isna().all():  # no runs: refused by _check
        from visrec.evaluation.experiment_result import NOTHING_TO_RANK

        return [f"No verdict: {NOTHING_TO_RANK}."]
    if str(result["protocol"]) != "cold-items" and _fills_the_list(result) and "ndcg" in runs:
        return [
            f"Recall@{k} is 1 for any ranking here (no test user has more candidates than "
            f"{k}), so models are compared on NDCG@{k}.",
            *_picture_verdict_on(result, runs, "ndcg", f"NDCG@{k}"),
        ]
    return _picture_verdict_on(result, runs, "recall", f"Recall@{k}")


def _picture_verdict_on(
    result: Mapping[str, Any], runs: pd.DataFrame, col: str, label: str
) -> list[str]:
    """:func:`_picture_verdict` on the metric in column ``col`` of ``runs``, named
    ``label`` in the sentences ("Recall@20")."""
    k = int(result["k"])
    models = list(dict.fromkeys(runs["model"]))
    protocol = str(result["protocol"])
    roles = picture_roles(models, protocol)
    with_img = [m for m in models if roles[m] == YES]
    # a model that uses pictures only for new items counts as one without, here
    without = [m for m in models if roles[m] in (NO, NEW_ONLY)]
    lines = _classing_notes(models, roles)

    mean = runs.groupby("model")[col].agg(seed_mean).dropna()
    # a model without pictures with no figure is named too: dropped unsaid, the best
    # "without" would be another (popularity), or the verdict would read as if none ran
    no_figure = [m for m in models if m in with_img + without and m not in mean.index]
    pictures_unscored = any(m in with_img for m in no_figure)
    with_img = [m for m in with_img if m in mean.index]
    without = [m for m in without if m in mean.index]
    if no_figure:
        lines.append(
            f"{', '.join(no_figure)} ran but {agree(len(no_figure), 'has', 'have')} no "
            f"{label} on any seed (no user with a test item could be scored)."
        )
    if not with_img:
        if pictures_unscored:
            return lines
        return [*lines, *_no_picture_model_verdict(result, runs, mean, roles, col, label)]
    if result["protocol"] == "cold-items":
        return [*lines, *_cold_verdict(runs, with_img, without, k, _fills_the_list(result))]
    best_img = max(with_img, key=lambda m: mean[m])
    if not without:
        return [*lines, f"Best with pictures: {best_img}, {label} {mean[best_img]:.3f}."]
    best_plain = max(without, key=lambda m: mean[m])
    # each side is the best of its models on these seeds: its p allows for that pick
    up, down = _distinct(runs, with_img, col), _distinct(runs, without, col)
    once = " (models repeating another seed for seed counted once)"
    picks = Picks(
        up,
        down,
        "picture models" + (once if up < len(with_img) else ""),
        "models without pictures" + (once if down < len(without) else ""),
    )
    return [*lines, *_best_pair_verdict(result, runs, best_img, best_plain, picks, col, label)]


def _distinct(runs: pd.DataFrame, models: list[str], col: str) -> int:
    """How many of ``models`` differ in ``col`` on some seed: one that repeats another
    seed for seed (visual-cf on a warm split is BPR) is no second model to pick from,
    and would make a call that way need more seeds than the pick calls for."""
    table = runs[runs["model"].isin(models)].pivot_table(index="seed", columns="model", values=col)
    return len({tuple(table[m].fillna(-1.0)) for m in models if m in table}) or len(models)


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
            f"does) and {'counts as a model' if one else 'count as models'} without pictures."
        )
    if unknown:
        lines.append(
            f"Not classed (unknown to visrec {__version__}, so not known to use pictures "
            f"or not): {', '.join(unknown)}."
        )
    return lines


def _no_picture_model_verdict(
    result: Mapping[str, Any],
    runs: pd.DataFrame,
    mean: pd.Series,
    roles: dict[str, str],
    col: str,
    label: str,
) -> list[str]:
    """With no model here using pictures: what to add to ``--models``; the popularity check."""
    from visrec.models.registry import models_that, or_list

    if NEW_ONLY in roles.values():
        known = models_that("uses_vectors", "pictures_for_known_items")
        return [
            f"No model{' known' if UNKNOWN in roles.values() else ''} here uses pictures for "
            f"items with interactions: add {or_list(known)} to --models to ask whether "
            "pictures help them.",
        ]
    given = bool((result.get("inputs") or {}).get("vectors"))
    # a model not classed may read pictures: only the known ones are said not to
    return [
        f"No model {'known to read' if UNKNOWN in roles.values() else 'that reads'} "
        "pictures ran: "
        + ("" if given else "give --vectors and ")
        + f"add {or_list(models_that('uses_vectors'))} to --models to ask whether "
        "pictures help.",
        *_against_popularity(runs, mean, col, label),
    ]


def _best_pair_verdict(
    result: Mapping[str, Any],
    runs: pd.DataFrame,
    best_img: str,
    best_plain: str,
    picks: Picks,
    col: str,
    label: str,
) -> list[str]:
    """The sentences comparing the two best models, with pictures and without, seed by
    seed, on column ``col`` (named ``label``)."""
    pair = runs[runs["model"].isin([best_img, best_plain])].pivot_table(
        index="seed", columns="model", values=col
    )
    pair = pair.dropna()
    if len(pair) == 0:
        return [
            f"Best with pictures: {best_img}; best without: {best_plain}; no seed ran both "
            f"with {a_or_an(label)} {label}, so they cannot be compared split by split.",
        ]
    a, b = pair[best_img], pair[best_plain]
    shared = (
        ""
        if len(pair) == runs["seed"].nunique()
        else f" (on the {len(pair)} seed{'s' if len(pair) > 1 else ''} both ran)"
    )
    head = (
        f"Best with pictures: {best_img}, {label} {seed_mean(a):.3f}; best without: "
        f"{best_plain}, {seed_mean(b):.3f}{shared}."
    )
    call = _pair_call(result, (a - b).to_numpy(), b, best_img, best_plain, picks, label)
    return [head, call]


def _pair_call(
    result: Mapping[str, Any],
    diff: np.ndarray,
    plain: pd.Series,
    best_img: str,
    best_plain: str,
    picks: Picks,
    label: str,
) -> str:
    """The call on ``diff`` (the metric ``label`` with pictures less ``plain``'s, seed
    by seed)."""
    wins, losses = int((diff > TIE).sum()), int((diff < -TIE).sum())
    ties = diff.size - wins - losses
    n_run = int(_runs(result)["seed"].nunique())
    # the size in plain terms: +0.0015 is 1.7% more hits of the same test items
    base = seed_mean(plain)
    rel = (
        f" ({signed_figure(seed_mean(diff) / base, '.1%')})"
        if base > 0 and np.isfinite(base)
        else ""
    )
    said = (
        f"{signed_figure(seed_mean(diff), '.4f')} {label}{rel} on average, "
        f"{seeds_said(wins, losses, diff.size)}"
    )
    if diff.size > 1 and ties < diff.size:
        said += sign_test_said(wins, losses, picks)
    if ties == diff.size:
        call = f"No difference: {best_img} and {best_plain} have the same {label} on every seed."
    elif diff.size == 1:
        call = (
            f"{signed_figure(diff[0], '.4f', one=True)} {label} on one seed: "
            + more_seeds(picks.seeds(diff[0] > 0), diff.size, n_run)
            + "."
        )
    else:
        # seeds where the two rank alike tell the sign test nothing: not counted as run
        kind = against_the_mean(sign_call(wins, losses, wins + losses, picks), seed_mean(diff))
        call = {
            "up": f"Pictures help here{_by_little(diff, plain)}: {said}.",
            "down": f"Pictures do not help here{_by_little(diff, plain)}: {said}.",
            "few": f"Too few seeds to call: {said}; "
            + more_seeds(seeds_for_call(wins, losses, ties, picks), diff.size, n_run)
            + ".",
            "unclear": f"No clear difference: {said}.",
            "mixed": f"No clear difference: {said}, but the mean goes the other way (a large "
            "gap on few seeds outweighs the rest).",
        }[kind]
        if kind != "mixed":
            call += weak_evidence(wins, losses, diff.size, picks)
    spread = seed_std(plain)
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


def signed_figure(x: float, spec: str, *, one: bool = False) -> str:
    """``x`` to ``spec`` with its sign (``"+0.0015"``, ``"-1.7%"``), but one that rounds
    to 0 without it: "-0.0000 (-0.0%)" read as a loss where the two are level. With
    ``one`` (``x`` is one seed's difference, no tie), a non-zero ``x`` that rounds to 0
    gets the digits to its first one instead (``"+0.00003"``): "0.0000 on one seed" read
    as level where that seed went one way."""
    said = f"{x:+{spec}}"
    if said[1:].strip("0.%"):
        return said
    if one and x != 0 and np.isfinite(x):
        scale = 100 if spec.endswith("%") else 1
        # from the first digit as rounded (9.6e-6 is "+0.00001", not "+0.000010")
        digits = -int(np.floor(np.log10(float(f"{abs(x) * scale:.0e}"))))
        if digits > 12:  # no line of zeros for what no figure here comes near
            return f"{x * scale:+.0e}{'%' * (scale == 100)}"
        return f"{x:+.{digits}{spec[-1]}}"
    return said[1:]


TIE = 1e-9  # Recall@K differences below this are ties (the same ranking)


def _away_from_defaults(
    params: Mapping[str, Any], models: list[str], recorded: Mapping[str, Any]
) -> str:
    """``"bpr epochs=5 (default 80)"``: the hyperparameters of the run's models that
    differ from their defaults: those ``recorded`` in the file, else this version's
    (models unknown to it, or whose installed package fails to import, left out)."""
    said = []
    for name in models:
        if name not in params:
            continue
        kept = recorded.get(name)
        defaults = dict(kept) if isinstance(kept, Mapping) else _todays_defaults(name)
        if defaults is None:
            continue
        moved = [
            f"{k}={v!r} (default {defaults[k]!r})"
            for k, v in params[name].items()
            if k in defaults and k not in ("verbose", "device") and v != defaults[k]
        ]
        if moved:
            said.append(f"{name} {', '.join(moved)}")
    return "; ".join(said)


def _todays_defaults(name: str) -> dict[str, Any] | None:
    """This version's defaults of ``name``; None where its class cannot be had (a
    plugin that fails to import): a report still comes out, as for an unknown name."""
    from visrec.models.registry import default_params

    try:
        return default_params(name)
    except VisrecError:
        return None


def _against_popularity(runs: pd.DataFrame, mean: pd.Series, col: str, label: str) -> list[str]:
    """One sentence: the best other model against the popularity baseline, seed by seed."""
    others = [m for m in mean.index if m != "popularity"]
    if "popularity" not in mean.index or not others:
        return []
    best = max(others, key=lambda m: mean[m])
    pair = (
        runs[runs["model"].isin([best, "popularity"])]
        .pivot_table(index="seed", columns="model", values=col)
        .dropna()
    )
    if pair.empty:
        return []
    gap = pair[best] - pair["popularity"]
    wins, losses = int((gap > TIE).sum()), int((gap < -TIE).sum())
    return [
        f"Against the popularity baseline: {best} {label} {seed_mean(pair[best]):.3f} vs "
        f"{seed_mean(pair['popularity']):.3f}, {seeds_said(wins, losses, len(pair))}."
    ]


SIGN_P = 0.125  # one-sided sign test: 3 of 3 seeds is p = 0.125


def by_little(diff: np.ndarray, plain: pd.Series) -> bool:
    """Whether the mean change is smaller than the model without pictures moves between
    seeds: a real but small effect, to be said as such."""
    spread = seed_std(plain)
    return bool(abs(seed_mean(diff)) < spread)


def _by_little(diff: np.ndarray, plain: pd.Series) -> str:
    return ", by little" if by_little(diff, plain) else ""


def seeds_said(wins: int, losses: int, n: int) -> str:
    """``"better on 2 of 3 seeds"`` (the rest worse); with ties (``n - wins - losses``)
    the losses and ties too: ``", worse on 1, equal on 1"``, or ``", equal on 1"``
    where none was worse."""
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
        return self.needed(0, 0, up)

    def needed(self, ahead: int, behind: int, up: bool) -> int:
        """The seeds a call that way needs when ``ahead`` seeds went that way and
        ``behind`` the other, if every further seed goes that way."""
        more = 0
        while (self.p(ahead + more, behind) if up else self.p_down(behind, ahead + more)) > SIGN_P:
            more += 1
        return ahead + behind + more


ONE = Picks()  # a test of two models named in advance


def more_seeds(
    needed: int, compared: int, n_run: int, figures: str = "both figures", then: str = ""
) -> str:
    """What a call needs, as advice (no closing stop): more seeds (``then`` after it:
    " to call it"), or, where enough ran and only ``compared`` of them have
    ``figures`` (a model failed on the others), that."""
    if n_run >= needed and compared < n_run:
        return (
            f"only {compared} of the {n_run} seeds {agree(compared, 'has', 'have')} "
            f"{figures} (a call needs {needed}): see why a model has none on the others"
        )
    return f"run --seeds {needed} or more{then}"


def seeds_for_call(wins: int, losses: int, ties: int, picks: Picks = ONE) -> int:
    """The seeds a run needs for a call the way most of its seeds went, if every
    further seed goes that way: ``wins + losses + ties`` and as many more as it takes
    (1 better, 1 worse and 1 equal of 3: 7, four more; 4 better of 6 untied: 9)."""
    return picks.needed(max(wins, losses), min(wins, losses), wins >= losses) + ties


def against_the_mean(call: str, change: float) -> str:
    """``call`` (:func:`sign_call`'s), or ``"mixed"`` where it goes against the mean
    ``change`` (positive: the way "up" says): most seeds one way and a large gap on a
    few the other is no call."""
    if (call == "up" and change < 0) or (call == "down" and change > 0):
        return "mixed"
    return call


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
    """ " Weak evidence (0.250 two-sided, above 0.05, ...): ..." after a call the sign
    test made at p <= 0.125 whose two-sided p is above 0.05 (one model a side: 3 of 3
    to 5 of 5, 5 of 6, 6 of 7, 7 of 8, 7 of 9, 8 of 10 seeds...); empty otherwise. The
    p quoted elsewhere is one-sided, the way the seeds went; as a call either way was
    possible, the chance of one with no real difference is twice that, which is what is
    weighed and said here."""
    called = sign_call(wins, losses, n_seeds, picks) in ("up", "down")
    two_sided = min(1.0, 2 * picks.seen(wins, losses)[2])  # a call goes the way the seeds went
    if called and two_sided > 0.05:
        return (
            f" Weak evidence ({p_figure(two_sided)} two-sided, above 0.05, as either way "
            "could have been called): more seeds would firm it up."
        )
    return ""


def _fills_the_list(result: Mapping[str, Any]) -> bool:
    """Whether no test user had more candidates than K, so that Recall@K and
    HitRate@K are 1 for any ranking (``evaluate`` notes it, by the same bound: on warm
    and time a test user has a training item, which is no candidate of theirs)."""
    splits = [s for s in (result.get("splits") or {}).values() if isinstance(s, Mapping)]
    counts = [s.get("n_candidates") for s in splits]
    known = [float(c) for c in counts if isinstance(c, int | float)]
    if not known or len(known) < len(counts):
        return False
    own = 0 if str(result.get("protocol")) == "cold-items" else 1
    return max(known) - own <= int(result["k"])


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
    auc = runs.groupby("model")["auc"].agg(seed_mean)
    top = "ndcg" if fills and "ndcg" in runs else "recall"
    recall = runs.groupby("model")[top].agg(seed_mean)
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
    # a model repeating another split for split (vbpr@x = vbpr) is no second pick
    up = _distinct(runs, scored, "auc")
    once = " (models repeating another seed for seed counted once)" if up < len(scored) else ""
    picks = Picks(up, 1, "picture models" + once)
    if per_seed.size > 1 and above + below:
        count += sign_test_said(above, below, picks)
    mean_auc = float(per_seed.mean()) if per_seed.size else 0.5
    level = per_seed.size - above - below  # splits at exactly 0.5 tell the test nothing
    call = against_the_mean(sign_call(above, below, above + below, picks), mean_auc - 0.5)
    where = (
        "at chance"
        if above + below == 0
        else {
            "up": f"above chance: {count}",
            "down": f"below chance, worse than a random order: {count}",
            "few": f"too few seeds to call: {count}; "
            + more_seeds(
                seeds_for_call(above, below, level, picks),
                per_seed.size,
                runs["seed"].nunique(),
                "its AUC",
            ),
            "unclear": f"not consistently above chance: {count}",
            "mixed": f"no clear call: {count}, but the mean AUC goes the other way",
        }[call]
    )
    metric = f"NDCG@{k}" if top == "ndcg" else f"Recall@{k}"
    # models without pictures give one random order: how many times its hits
    chance = [float(recall[m]) for m in without if np.isfinite(recall.get(m, float("nan")))]
    times = ""
    if chance and max(chance) > 0 and np.isfinite(recall[best]):
        ratio = recall[best] / max(chance)
        times = (
            f", about that of a random order ({max(chance):.3f})"
            if f"{recall[best]:.3f}" == f"{max(chance):.3f}" or f"{ratio:.1f}" == "1.0"
            else f", {ratio:.1f} times that of a random order ({max(chance):.3f})"
            if ratio >= 1
            else f", below that of a random order ({max(chance):.3f})"
        )
    shown = f"{recall[best]:.3f}" if np.isfinite(recall[best]) else "n/a"
    lines.append(
        f"Best with pictures: {best}, AUC {auc[best]:.3f} ({where}), {metric} "
        f"{shown}{times}."
        + (weak_evidence(above, below, per_seed.size, picks) if call != "mixed" else "")
    )
    lines += _taste_said(runs)
    return lines


def _taste_said(runs: pd.DataFrame) -> list[str]:
    """What each visual-cf's ``profile_weight="auto"`` choice (``visual-cf@taste`` too)
    says about the data, in words: on (users choose new items by how they look, as in
    a shop) or off."""
    if "tuned" not in runs:
        return []
    lines = []
    for name in dict.fromkeys(runs["model"].astype(str)):
        if name.partition("@")[0] != "visual-cf":  # visual-cf@taste too
            continue
        chosen = runs.loc[runs["model"] == name, "tuned"].dropna().astype(str)
        found = (re.findall(r"profile_weight=([\d.e+-]+)", t) for t in chosen)
        weights = [float(w) for ws in found for w in ws]
        if not weights:
            continue
        on = sum(w > 0 for w in weights)
        if on == len(weights):
            said = "turned on by validation on every split: users here pick new items by look"
        elif on == 0:
            said = (
                "left off by validation on every split: a user's past pictures did not help "
                "pick their new items here, so new items are ranked by how popular items "
                "that look like them are"
            )
        else:
            said = f"turned on by validation on {on} of {len(weights)} splits"
        lines.append(f"{name}'s taste-by-look term (profile_weight) was {said}.")
    return lines
