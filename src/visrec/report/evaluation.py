"""An HTML report of one ``visrec evaluate`` run, made from its JSON result.

The report answers the toolkit's question first ("do pictures help here?", from the
per-seed runs, with the spread between splits next to the gain), then shows the table,
bar plots with one dot per seed, the per-seed figures, the splits, what validation
chose and every hyperparameter. It is built from the dict ``ExperimentResult.to_dict``
gives (the ``--json`` file), so a saved result can be reported without refitting
(``visrec report results.json``). Self-contained like the demo's report: no scripts, no
links out, every data string escaped, written atomically.

The verdict's sentences (which models use pictures, the sign test over the seeds and its
wording) are in :mod:`visrec.report.verdict`; their public names are importable from
here too.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from visrec._atomic import check_input_exists, write_text_atomic
from visrec.errors import VisrecError, read_error, shown
from visrec.evaluation.experiment_result import RESULT_FORMAT, seed_mean, seed_std
from visrec.report import plots
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
from visrec.report.verdict import NEW_ONLY as NEW_ONLY
from visrec.report.verdict import NO as NO
from visrec.report.verdict import ONE as ONE
from visrec.report.verdict import SIGN_P as SIGN_P
from visrec.report.verdict import TIE as TIE
from visrec.report.verdict import UNKNOWN as UNKNOWN
from visrec.report.verdict import YES as YES
from visrec.report.verdict import Picks as Picks
from visrec.report.verdict import _fills_the_list, _runs, as_result, in_words_of
from visrec.report.verdict import by_little as by_little
from visrec.report.verdict import picture_roles as picture_roles
from visrec.report.verdict import seeds_said as seeds_said
from visrec.report.verdict import sign_call as sign_call
from visrec.report.verdict import sign_test_said as sign_test_said
from visrec.report.verdict import verdict as verdict
from visrec.report.verdict import weak_evidence as weak_evidence

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
        # utf-8-sig: a BOM an editor added (Notepad) is no part of the JSON
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise read_error(f"{path}: cannot read ({exc.strerror or exc})", exc) from exc
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


#: the keys that tell another command's ``--json`` (each with a ``--report`` of its own)
_OTHER_RESULTS: tuple[tuple[str, set[str]], ...] = (
    ("rating-eval", {"n_train", "models", "runs"}),
    ("knn-rating", {"majority_accuracy", "confusion"}),
    ("cluster", {"ari", "nmi", "purity", "table"}),
)


def _check(result: Any, source: str) -> None:
    what = "not a result of `visrec evaluate --json`"
    if not isinstance(result, Mapping):  # the dict of `--json`, or any mapping like it
        raise VisrecError(f"{source}: {what} (expected a JSON object)")
    missing = [k for k in ("protocol", "k", "runs") if k not in result]
    # another command's --json: name it and where its page comes from
    other = next((cmd for cmd, keys in _OTHER_RESULTS if keys <= set(result)), None)
    if missing and other is not None:
        raise VisrecError(
            f"{source}: a result of `visrec {other} --json`, not of `visrec evaluate "
            f"--json`; its report comes from `visrec {other} ... --report HTML`"
        )
    if missing:
        raise VisrecError(f"{source}: {what} (no {', '.join(repr(m) for m in missing)})")
    form = result.get("format", 1)  # files from before it was recorded: the first layout
    if not isinstance(form, int) or isinstance(form, bool) or form < 1:
        raise VisrecError(f"{source}: {what} ('format' is {form!r}, not a positive integer)")
    if form > RESULT_FORMAT:
        run = result.get("run")
        by = run.get("visrec") if isinstance(run, dict) else None
        raise VisrecError(
            f"{source}: written in result format {form} by a newer visrec "
            f"({by or 'version not recorded'}); this one reads format {RESULT_FORMAT}: "
            "upgrade visrec"
        )
    runs = result["runs"]
    if not isinstance(runs, list) or not runs:
        raise VisrecError(f"{source}: {what} ('runs' is empty or not a list)")
    k = result["k"]
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise VisrecError(f"{source}: {what} ('k' is {k!r}, not a positive integer)")
    protocol = result["protocol"]
    if not isinstance(protocol, str) or protocol not in PROTOCOLS:  # a page explaining none
        raise VisrecError(
            f"{source}: {what} ('protocol' is {protocol!r}, not one of {', '.join(PROTOCOLS)})"
        )
    for key in ("splits", "params", "inputs"):
        if not isinstance(result.get(key) or {}, dict):
            raise VisrecError(f"{source}: {what} ('{key}' is not a JSON object)")
    for name, used in (result.get("params") or {}).items():
        if not isinstance(used, dict):
            raise VisrecError(f"{source}: {what} (params of {name!r} are not a JSON object)")
    if not isinstance(result.get("notes") or [], list):
        raise VisrecError(f"{source}: {what} ('notes' is not a list)")
    seeds = result.get("seeds")
    if seeds is not None and not isinstance(seeds, list):
        raise VisrecError(f"{source}: {what} ('seeds' is {seeds!r}, not a list of seeds)")
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
            # every metric is a share of users, items or pairs; a time is no less than 0
            top = math.inf if key == "fit_s" else 1.0 + 1e-9  # float sums: 1.0000000000000002
            if not 0.0 <= value <= top:
                within = "at least 0" if key == "fit_s" else "between 0 and 1"
                raise VisrecError(f"{source}: runs[{i}] ({model}): {key} {value!r} is not {within}")


def mean_std(v: pd.Series, digits: int = 3) -> str:
    """``"0.650 ± 0.012"`` over the seeds where ``v`` is defined, said when those are
    fewer than its runs (``"0.700 (1 of 3 seeds)"``): the header counts every seed."""
    defined = v.dropna()
    if defined.empty:
        return "n/a"
    if len(defined) == 1:
        text = f"{defined.iloc[0]:.{digits}f}"
    else:
        text = f"{seed_mean(defined):.{digits}f} ± {seed_std(defined):.{digits}f}"
    return text + (f" ({len(defined)} of {len(v)} seeds)" if len(defined) < len(v) else "")


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
        rows.append(f"<tr><th>{id_html(m)}</th><td>{roles[m]}</td>{cells}</tr>")
    return grid_table(f"<th>model</th><th>uses pictures</th>{head}", rows)


def per_seed_table(runs: pd.DataFrame, models: list[str], col: str, title: str) -> str:
    """``col`` of every model seed by seed, to 4 decimals: the verdicts call a seed won
    on any difference, which 3 decimals showed as a tie (0.925 vs 0.925)."""
    table = runs.pivot_table(index="model", columns="seed", values=col)
    # every seed, one with no figure on any model too: pivot_table drops that column
    table = table.reindex(index=models, columns=sorted(runs["seed"].unique()))
    head = "".join(f"<th>seed {id_html(s)}</th>" for s in table.columns)
    rows = []
    for m, r in table.iterrows():
        cells = "".join(
            f'<td class="num">{"n/a" if pd.isna(v) else f"{v:.4f}"}</td>' for v in r.to_list()
        )
        rows.append(f"<tr><th>{id_html(m)}</th>{cells}</tr>")
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
    frame = pd.DataFrame({str(s): v for s, v in splits.items() if isinstance(v, dict)})
    if frame.empty:
        return _note("no split statistics in this result", "skipped")
    frame = frame.reindex(
        [n for n in names if n in frame.index] + [n for n in frame.index if n not in names]
    )
    # seeds and field names from the JSON file: a hand-edited one may hold anything
    head = "".join(f"<th>seed {id_html(c)}</th>" for c in frame.columns)
    rows = []
    for key, r in frame.iterrows():
        cells = "".join(f'<td class="num">{id_html(_count(v))}</td>' for v in r.to_list())
        rows.append(f"<tr><th>{id_html(names.get(str(key), key))}</th>{cells}</tr>")
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
        body = _kv_table({shown(str(k)): json.dumps(v) for k, v in p.items()}) if p else "(none)"
        parts.append(f"<details><summary>{id_html(model)}</summary>{body}</details>")
    return "".join(parts)


def _tuned_section(runs: pd.DataFrame) -> str | None:
    if "tuned" not in runs or runs["tuned"].isna().all():
        return None
    rows = runs.dropna(subset=["tuned"])
    table = rows.pivot_table(index="model", columns="seed", values="tuned", aggfunc="first")
    head = "".join(f"<th>seed {id_html(s)}</th>" for s in table.columns)
    body = "".join(
        f"<tr><th>{id_html(m)}</th>"
        + "".join(f"<td>{'' if pd.isna(v) else id_html(v)}</td>" for v in r.to_list())
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
    result = as_result(result)  # an ExperimentResult as it is
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
        verdict_section(in_words_of(result, "Do pictures help here?"), verdict(result)),
        *(
            [_section("notes", "Notes", "".join(_note(n, "explain") for n in notes))]
            if notes
            else []
        ),
        _section(
            "results", results_title(len(seeds)), _results_table(runs, models, k, roles) + figure
        ),
        _section(
            "seeds",
            "Seed by seed",
            _seeds_body(runs, models, k, protocol, _fills_the_list(result)),
        ),
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
        # file paths: a line break or a bidi override in one shown as the terminal shows it
        **{shown(str(key)): shown(str(v)) for key, v in shown_inputs.items() if v},
    }
    return {**info, **run_rows(result)}


def run_rows(result: Mapping[str, Any]) -> dict[str, str]:
    """How the result was made (the CLI's ``--json`` has it): the command and when, with
    which visrec; nothing for a result made in Python."""
    run = result.get("run")
    rows: dict[str, str] = {}
    if isinstance(run, dict):
        if run.get("command"):
            # its arguments are paths and names: a line break or bidi override said
            rows["command"] = shown(str(run["command"]))
        if run.get("created"):
            rows["run"] = f"visrec {run.get('visrec', '?')}, {run['created']}"
    return rows


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
    # AUC undefined in every run (no test user has a candidate that is not a test
    # item): an empty panel would read as a plotting failure; the table says n/a
    defined = "auc" in runs and bool(pd.to_numeric(runs["auc"], errors="coerce").notna().any())
    auc_panel = [("auc", "AUC", 0.5)] if defined else []
    panels = [*auc_panel, *recall_panel, ("ndcg", f"NDCG@{k}", 0.0)]
    plot = plots.metric_bars_png(runs, models, panels, image_models=img)
    named = [title for _, title, _ in panels]
    return _img(
        plot,
        f"{', '.join(named[:-1])} and {named[-1]} per model, one dot per seed"
        if len(named) > 1
        else f"{named[0]} per model, one dot per seed",
    ) + _note(
        "Bars: the mean over seeds"
        + (" (AUC bars start at 0.5, chance)" if auc_panel else "")
        + "; black dots: each seed; line: from the lowest to the highest seed. Blue: models that "
        "read pictures; orange: models that do not; grey: the popularity baseline.",
        "explain",
    )


def _seeds_body(
    runs: pd.DataFrame, models: list[str], k: int, protocol: str, fills: bool = False
) -> str:
    """The "Seed by seed" section: what its columns show, then Recall@K (NDCG@K when it
    ``fills`` the list: no more candidates than K) and AUC by seed."""
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
        + (
            # no more candidates than K: Recall@K is 1 everywhere, NDCG@K still ranks
            per_seed_table(runs, models, "ndcg", f"NDCG@{k}")
            if fills
            else per_seed_table(runs, models, "recall", f"Recall@{k}")
        )
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
        f"distinct items recommended / candidates. Means over test users (Coverage@{k}: "
        f"over the candidates), then mean and sample std over seeds.",
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
