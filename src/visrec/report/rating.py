"""An HTML report of one ``visrec rating-eval`` run (``--report``).

It opens with the two questions the tutorial's rating KNN raised: does the picture alone
predict stars better than a baseline, and does a picture added to a model of who rated
what (biased MF + visual term) beat the same model without it, seed by seed. Then the
table, bar plots with one dot per seed and RMSE seed by seed. Self-contained (no
scripts, no links out), every data string escaped, written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visrec._atomic import write_text_atomic
from visrec.analysis.rating_eval import (
    BASELINE,
    MAJORITY,
    PICTURE,
    RATINGS,
    RATINGS_PICTURE,
    format_sizes,
    majority_label,
)
from visrec.errors import VisrecError, shown
from visrec.evaluation.experiment_result import seed_mean, seed_std
from visrec.report import plots
from visrec.report.evaluation import (
    TIE,
    by_little,
    mean_std,
    per_seed_table,
    run_rows,
    seeds_said,
    sign_call,
    sign_test_said,
    weak_evidence,
)
from visrec.report.html import (
    _e,
    _img,
    _kv_table,
    _note,
    _section,
    data_name,
    grid_table,
    id_html,
    page_foot,
    page_head,
    results_title,
    verdict_section,
)
from visrec.report.verdict import (
    against_the_mean,
    as_result,
    more_seeds,
    seeds_for_call,
    signed_figure,
)

__all__ = ["rating_verdict", "render_rating_report", "write_rating_report"]


def _uses(runs: pd.DataFrame) -> dict[str, str]:
    """Each model's ``uses`` (what it draws on), in run order."""
    if "uses" not in runs.columns:
        raise VisrecError(
            "the rating-eval runs have no 'uses' field (made by an older visrec); "
            "run visrec rating-eval again"
        )
    return {str(m): str(u) for m, u in zip(runs["model"], runs["uses"], strict=True)}


def _with(uses: dict[str, str], *kinds: str) -> list[str]:
    return [m for m, u in uses.items() if u in kinds]


def rating_verdict(runs: pd.DataFrame, protocol: str = "random") -> list[str]:
    """Plain sentences on RMSE (lower is better), from the per-seed runs (``model``,
    ``uses``, ``seed``, ``rmse``).

    The visual term is judged like ``evaluate``'s pictures: a one-sided sign test over
    the seeds where the two MFs differ (p <= 0.125), ties apart, and "by little" when
    the mean change is smaller than the plain MF's own spread between splits.
    """
    rmse = runs.groupby("model", sort=False)["rmse"].agg(seed_mean)
    uses = _uses(runs)
    if rmse.isna().all():  # every fit diverged, or a hand-made table without figures
        return ["No model has an RMSE on any split: nothing to compare."]
    best = str(rmse.idxmin())
    level, weak = _level_with(runs, rmse, best)
    lines = [f"Lowest RMSE: {best}, {rmse[best]:.3f} stars{level}.{weak}"]
    plain, visual = _with(uses, RATINGS), _with(uses, RATINGS_PICTURE)
    # on new items: otherwise read as the MF learning nothing, or the picture a big step
    new_items = (
        "Every test item is new here: the item mean has no rating of it (it is the "
        f"global mean), and {plain[0]} has no item term for it, so it predicts about "
        "the user's mean"
        if protocol == "cold-items" and plain
        else None
    )
    if not _with(uses, PICTURE, RATINGS_PICTURE):
        lines.insert(
            0,
            "No item vectors were given (--vectors), so the picture was not tested: "
            "only the baselines and the MF of who rated what ran.",
        )
        if new_items:
            lines.append(f"{new_items}.")
        return lines
    baselines, knn = _with(uses, BASELINE), _with(uses, PICTURE)
    if baselines and knn and np.isfinite(rmse[knn[0]]) and rmse[baselines].notna().any():
        base = str(rmse[baselines].idxmin())
        gaps = _paired(runs, knn[0], base)
        # on the splits both ran, when there are several (a mean over others would not be a gap)
        gap = seed_mean(gaps) if len(gaps) > 1 else rmse[knn[0]] - rmse[base]
        if abs(gap) <= TIE:
            compared = f"the same as the best baseline ({base})"
        else:
            word = "worse" if gap > 0 else "better"
            compared = f"{abs(gap):.3f} {word} than the best baseline ({base}, {rmse[base]:.3f})"
            compared += _how_steady(gaps, gap)
        # split by rows, a test rating's neighbours are mostly ratings of the same item
        how = (
            "on the picture alone"
            if protocol == "cold-items"
            else "on image vectors (its neighbours are mostly other ratings of the same "
            "items; --protocol cold-items asks the picture alone)"
        )
        lines.append(f"The tutorial's KNN {how}: RMSE {rmse[knn[0]]:.3f}, {compared}.")
    if plain and visual:
        lines.append(_visual_term(runs, plain[0], visual[0]))
    if new_items:
        lines.append(f"{new_items}; only the picture can move the MF + visual away from that.")
    return lines


def _level_with(runs: pd.DataFrame, rmse: pd.Series, best: str) -> tuple[str, str]:
    """(" , level with B (0.919): ...", "") unless the best is lower than the runner-up
    on enough splits for the sign test the picture's call takes (p <= 0.125: 3 of 3, 4
    of 4, 5 of 6...; tied splits left out), so the best is not named as a winner in
    noise, and the two sentences of a report judge a pair alike; when it is, the
    splits it is lower on and, after the sentence, the weak-evidence caveat: both
    models were picked (lowest and next) on the splits that test them, so the gap
    could have been called either way. Paired by split: how much each model moves
    between splits is mostly how hard each split is, which a gap of the same sign on
    every split is not."""
    if len(rmse) < 2:
        return "", ""
    others = rmse.drop(best).dropna()
    if others.empty:  # the other models have no RMSE (e.g. diverged)
        return "", ""
    second = str(others.idxmin())
    if rmse[second] - rmse[best] <= TIE:  # a tie (e.g. every rating the same)
        ties = [str(m) for m in others.index if rmse[m] - rmse[best] <= TIE]
        return f", tied with {', '.join(ties)}", ""
    gaps = _paired(runs, second, best)
    if not len(gaps):  # each ran on splits the other did not: no gap to take
        return (
            f" ({second}, {rmse[second]:.3f}, ran on other splits: no split has both RMSEs)",
            "",
        )
    if len(gaps) < 2:  # one split: nothing says whether the gap is more than noise
        n_run = int(runs["seed"].nunique())
        can = (
            "--seeds 3 or more can"
            if n_run < 3
            else f"the other {n_run - len(gaps)} splits lack one of the two"
        )
        return (
            f" ({second} next at {rmse[second]:.3f}: a gap of "
            f"{rmse[second] - rmse[best]:.4f} that one split cannot judge; {can})",
            "",
        )
    if gaps.mean() < 0:  # a model with no figure on some splits: ahead on the others
        return f" ({second}, {rmse[second]:.3f}, is lower on the {len(gaps)} splits both ran)", ""
    lower, higher = int((gaps > TIE).sum()), int((gaps < -TIE).sum())
    if sign_call(lower, higher, lower + higher) == "up":
        equal = len(gaps) - lower - higher
        n_run = int(runs["seed"].nunique())
        # the runner-up's mean is over its own splits: quoted only where they are the same
        on = (
            f"{second}, {rmse[second]:.3f}, on {lower} of {len(gaps)} splits"
            if len(gaps) == n_run
            else f"{second} on {lower} of the {len(gaps)} splits both ran"
        )
        on += f", equal on {equal}" if equal else ""
        return (
            f" (below {on}{sign_test_said(lower, higher)})",
            weak_evidence(lower, higher, lower + higher),
        )
    return (
        f", level with {second} ({rmse[second]:.3f}: lower than it on {lower} of "
        f"{len(gaps)} splits, too few to call a gap of {seed_mean(gaps):.4f})",
        "",
    )


def _pair(runs: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """The RMSE of ``a`` and ``b`` (columns) split by split, on the splits both ran."""
    pair = runs[runs["model"].isin([a, b])].pivot_table(
        index="seed", columns="model", values="rmse"
    )
    return pair.reindex(columns=[a, b]).dropna()


def _paired(runs: pd.DataFrame, a: str, b: str) -> np.ndarray:
    """``a``'s RMSE minus ``b``'s, split by split (the splits both ran)."""
    pair = _pair(runs, a, b)
    return (pair[a] - pair[b]).to_numpy(dtype=float)


def _how_steady(gaps: np.ndarray, mean_gap: float) -> str:
    """ ", on 3 of 3 splits" when every split's gap goes the mean's way, " on average
    (better on 1 of 3 splits, equal on 1)" when not, and what one split cannot say."""
    if len(gaps) < 2:
        return " (one split: no spread to judge the gap by)"
    better, worse = int((gaps < -TIE).sum()), int((gaps > TIE).sum())
    if (better if mean_gap < 0 else worse) == len(gaps):
        return f", on {len(gaps)} of {len(gaps)} splits"
    equal = len(gaps) - better - worse
    return f" on average (better on {better} of {len(gaps)} splits" + (
        f", equal on {equal})" if equal else ")"
    )


def _visual_term(runs: pd.DataFrame, plain: str, visual: str) -> str:
    pair = _pair(runs, plain, visual)
    diff = (pair[visual] - pair[plain]).to_numpy()
    what = f"The picture in the MF ({visual} vs {plain})"
    if not diff.size:  # one of the two has no RMSE on any split both ran
        return f"{what}: no split has both RMSEs, so they cannot be compared."
    wins, losses = int((diff < -TIE).sum()), int((diff > TIE).sum())
    ties = diff.size - wins - losses
    # one seed's difference is no average, and its sign says how that seed went (as
    # evaluate's one-seed verdict words it)
    said = (
        f"{signed_figure(diff[0], '.4f', one=True)} RMSE on one seed (negative is better)"
        if diff.size == 1
        else f"{signed_figure(seed_mean(diff), '.4f')} RMSE on average (negative is better), "
        f"{seeds_said(wins, losses, diff.size)}"
    )
    if ties == diff.size:
        return f"{what}: no difference, the same RMSE on every seed."
    spread = seed_std(pair[plain])
    little = by_little(diff, pair[plain])
    # "up" is a lower RMSE: the change that way is minus the mean difference
    verdict = against_the_mean(sign_call(wins, losses, wins + losses), -seed_mean(diff))
    if diff.size > 1:
        said += sign_test_said(wins, losses)
    n_run = int(runs["seed"].nunique())
    if verdict == "few":
        needed = seeds_for_call(wins, losses, ties)  # tied seeds tell the sign test nothing
        return f"{what}: {said}; {more_seeds(needed, diff.size, n_run, then=' to call it')}."
    if verdict == "mixed":
        return (
            f"No clear difference from the picture in the MF: {said}, but the mean goes "
            "the other way (a large gap on few splits outweighs the rest)."
        )
    call = {
        "up": f"The picture helps the MF{', by little' if little else ''}",
        "down": f"The picture does not help the MF{', by little' if little else ''}",
        "unclear": "No clear difference from the picture in the MF",
    }[verdict]
    tail = f" ({plain} itself moves {spread:.4f} between the splits)" if np.isfinite(spread) else ""
    return f"{call}: {said}{tail}.{weak_evidence(wins, losses, diff.size)}"


#: what each run of a rating-eval result holds, besides its model and seed
RUN_FIGURES = ("accuracy", "mae", "rmse", "fit_seconds")


def render_rating_report(result: Mapping[str, Any], inputs: Mapping[str, str] | None = None) -> str:
    """The report of ``result`` (``RatingEvalResult.to_dict()``, or the result itself)
    as an HTML string; ``inputs`` (e.g. ``{"interactions": PATH}``) are listed on it."""
    result = as_result(result)
    inputs = inputs or {}
    if not isinstance(result, Mapping) or "runs" not in result:
        raise VisrecError(
            "result: not a result of `visrec rating-eval --json` (expected a JSON object "
            "with 'runs', or a RatingEvalResult)"
        )
    given = result["runs"]
    # an empty list was a KeyError 'model' from inside pandas
    if not isinstance(given, list) or not given or not all(isinstance(r, Mapping) for r in given):
        raise VisrecError(
            "result: 'runs' is empty or not a list of runs (objects), so there is no model "
            "to report on; give the JSON `visrec rating-eval --json` wrote"
        )
    lacking = sorted({key for r in given for key in ("model", "seed") if key not in r})
    if lacking:
        raise VisrecError(
            f"result: a run has no {' or '.join(map(repr, lacking))}: not a result of "
            "`visrec rating-eval --json`"
        )
    # the figures the page shows (a run without one shows n/a), and the split's size
    # where 'sizes' is absent: each was a KeyError from inside pandas
    figures = [key for key in RUN_FIGURES if all(key not in r for r in given)]
    sizes = [] if result.get("sizes") else [k for k in ("n_train", "n_test") if k not in result]
    if figures or sizes:
        said = [f"no run has {' or '.join(map(repr, figures))}"] if figures else []
        said += [f"no 'sizes' and no {' or '.join(map(repr, sizes))}"] if sizes else []
        raise VisrecError(
            f"result: {'; '.join(said)}: not a result of `visrec rating-eval --json`; "
            "give the JSON it wrote"
        )
    runs = pd.DataFrame(given)
    runs["model"] = runs["model"].astype(str).replace({MAJORITY: majority_label(runs)})
    uses = _uses(runs)
    models = list(uses)
    seeds = sorted({int(s) for s in runs["seed"]})
    cols = [("accuracy", "accuracy", 3), ("mae", "MAE", 3), ("rmse", "RMSE", 3)]
    head = "".join(f"<th>{_e(t)}</th>" for _, t, _ in cols) + "<th>fit s</th>"
    rows = []
    for m in models:
        r = runs[runs["model"] == m]
        cells = "".join(f'<td class="num">{_e(mean_std(r[c], d))}</td>' for c, _, d in cols)
        cells += f'<td class="num">{_e(mean_std(r["fit_seconds"], 1))}</td>'
        rows.append(f"<tr><th>{id_html(m)}</th><td>{id_html(uses[m])}</td>{cells}</tr>")
    table = grid_table(f"<th>model</th><th>uses</th>{head}", rows)
    plot = plots.metric_bars_png(
        runs,
        models,
        [
            ("rmse", "RMSE, stars (lower is better)", 0.0),
            ("mae", "MAE, stars (lower is better)", 0.0),
            ("accuracy", "accuracy (higher is better)", 0.0),
        ],
        image_models=_with(uses, PICTURE, RATINGS_PICTURE),
        baselines=_with(uses, BASELINE),
    )
    info = {
        "split": str(result.get("protocol", "random")),
        "ratings": format_sizes(result.get("sizes") or [(result["n_train"], result["n_test"])]),
        "seeds": ", ".join(map(str, seeds)),
        # file paths: a line break or a bidi override in one shown as the terminal shows it
        **{shown(str(k)): shown(str(v)) for k, v in inputs.items() if v},
        **run_rows(result),
    }
    name = data_name(inputs.get("interactions"))
    title = "visrec rating-eval: who rated, what it looks like, and the baselines" + (
        f" ({name})" if name else ""
    )
    notes = "".join(_note(n) for n in result.get("notes", []))
    parts = [
        *page_head(title),
        _kv_table(info),
        verdict_section(
            "Does the picture predict stars?",
            rating_verdict(runs, str(result.get("protocol", "random"))),
        ),
        _section(
            "results",
            results_title(len(seeds)),
            table
            + _img(plot, "RMSE, MAE and accuracy per model, one dot per seed")
            + _note(
                "Grey: baselines (the most common rating; the mean rating of all, of the "
                "item or of the user); blue: models that use the picture; orange: models "
                "of who rated what. Accuracy: the "
                "prediction rounded to the nearest rating seen in training; MAE and RMSE "
                "of the raw prediction, in stars.",
                "explain",
            )
            + notes,
        ),
        _section("seeds", "Seed by seed", per_seed_table(runs, models, "rmse", "RMSE")),
        *page_foot(),
    ]
    return "\n".join(parts)


def write_rating_report(
    path: str | os.PathLike[str],
    result: Mapping[str, Any],
    inputs: Mapping[str, str] | None = None,
) -> Path:
    """Render the report of ``result`` and write it to ``path`` atomically."""
    target = Path(path)
    write_text_atomic(target, render_rating_report(result, inputs))
    return target
