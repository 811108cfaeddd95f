"""Edges of the reports and the hyperparameters: the tiny-labels note suggests a --keep
that works when pasted (or none, for a label a terminal would not show as it is); user
text on the evaluation, rating and cluster pages shown as the terminal shows it; a factor
width no machine could hold refused in words before anything is allocated; a rating
result without its figures refused naming them."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_evaluation_report import _result
from test_session47_fixes import star_ratings
from visrec.cli import main
from visrec.commands.cluster import _note_small_labels, keep_labels
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import InvalidParameterError, VisrecError
from visrec.models import params
from visrec.models.rating_mf import RatingMF
from visrec.models.registry import make_model
from visrec.report.evaluation import render_evaluation_report
from visrec.report.rating import render_rating_report

# --- the tiny-labels note ---------------------------------------------------------------


def _suggested_keep(note: str) -> str:
    """The --keep argument the note suggests, as a shell would pass it."""
    return shlex.split(note.split("--keep ", 1)[1].split(" (or ", 1)[0])[0]


def test_tiny_label_note_suggests_a_keep_that_reads_back_every_label(capsys) -> None:
    # a comma and a double quote in one label: quoted and doubled, as --keep reads a CSV line
    big = ['12" vinyl, LP', 'say "hi"', "Bags"]
    labels = [lab for lab in big for _ in range(100)] + ["tiny"]
    note = _note_small_labels(labels)
    assert note is not None
    keep = _suggested_keep(note)
    assert keep == '"12"" vinyl, LP","say ""hi""",Bags'
    assert keep_labels(keep, set(labels)) == big
    assert note.endswith("(or --top-labels 3)")


@pytest.mark.parametrize("odd", ["tab\there", "two\nlines", "red\x1b[31m", "abc\u202edef"])
def test_tiny_label_note_leaves_keep_out_for_a_label_the_terminal_would_not_show(
    odd: str, capsys
) -> None:
    labels = [lab for lab in ("Shoes", odd) for _ in range(100)] + ["tiny"]
    note = _note_small_labels(labels)
    assert note is not None
    # the same labels by count, with no raw control or bidi character to paste or print
    assert note.endswith(
        "main categories, --top-labels 2 (not --keep: a label holds a control or "
        "invisible character)"
    )
    assert odd not in capsys.readouterr().err


# --- user text on the pages -------------------------------------------------------------


def test_evaluation_page_shows_model_names_seeds_and_inputs_as_the_terminal_does() -> None:
    res = _result("warm", {"popularity": [0.2, 0.21], "bpr\nx": [0.4, 0.41]})
    res["splits"]["1\u202e"] = res["splits"].pop("1")
    res["params"]["bpr\nx"] = {"ep\tochs": 80}
    res["runs"][-1]["tuned"] = "reg=\u202e0.1"
    page = render_evaluation_report(res, {"interactions": "/d/u\u202e.data"})
    # not in the verdict's sentences yet: the tables and the heading
    tables = page.split('<section id="results">', 1)[1]
    for raw in ("bpr\nx", "\u202e", "\t"):
        assert raw not in tables and raw not in page.split("<section", 1)[0], raw
    # Python's spelling, escaped: in the results, per-seed and tuned tables, the parameters
    assert page.count("<th>&#x27;bpr\\nx&#x27;</th>") == 4
    assert "<summary>&#x27;bpr\\nx&#x27;</summary>" in page
    assert "<th>&#x27;ep\\tochs&#x27;</th>" in page
    assert "<th>seed &#x27;1\\u202e&#x27;</th>" in page
    assert "<td>&#x27;reg=\\u202e0.1&#x27;</td>" in page
    assert "<h1>visrec evaluate: warm protocol on &#x27;u\\u202e.data&#x27;</h1>" in page
    assert "<td>&#x27;/d/u\\u202e.data&#x27;</td>" in page


def _rating_result() -> dict[str, Any]:
    from visrec.analysis.rating_eval import rating_eval

    got = rating_eval(star_ratings(), None, mf_params={"n_epochs": 2}).to_dict()
    return json.loads(json.dumps(got))


def test_rating_page_shows_model_names_as_the_terminal_does() -> None:
    res = _rating_result()
    for run in res["runs"]:
        run["model"] = run["model"].replace("biased MF", "MF\u202eFM")
    page = render_rating_report(res, {"interactions": "/d/r\u202e.csv"})
    assert "<td>&#x27;/d/r\\u202e.csv&#x27;</td>" in page
    assert "baselines (&#x27;r\\u202e.csv&#x27;)</h1>" in page
    # not in the verdict's sentences yet: the tables
    assert "\u202e" not in page.split('<section id="results">', 1)[1]
    assert "<th>&#x27;MF\\u202eFM&#x27;</th>" in page


def test_cluster_page_title_and_inputs_show_paths_and_column_as_the_terminal_does(
    tmp_path: Path, capsys
) -> None:
    rng = np.random.default_rng(0)
    vecs = np.vstack([rng.normal(20 * b, 0.1, (10, 3)) for b in range(2)]).astype(np.float32)
    ids = [f"p{i}" for i in range(20)]
    vectors = tmp_path / "v\u202e.parquet"
    write_vectors(vectors, ItemVectors(ids, vecs, np.ones(20, dtype=bool)))
    labels = tmp_path / "l\u202e.csv"
    rows = [f"{i},{'ab'[n // 10]}" for n, i in enumerate(ids)]
    labels.write_text("id,ki\u202end\n" + "\n".join(rows) + "\n")
    out = tmp_path / "c.html"
    argv = ["cluster", str(vectors), "--labels", str(labels), "--id-col", "id",
            "--label-col", "ki\u202end", "--report", str(out), "-q"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    page = out.read_text()
    assert "\u202e" not in page
    col = "&#x27;ki\\u202end&#x27;"
    assert f"<h1>visrec cluster: &#x27;v\\u202e.parquet&#x27; vs {col}</h1>" in page
    shown_labels = f"&#x27;{tmp_path}/l\\u202e.csv&#x27;"
    assert f"labels {col} from {shown_labels}</b>" in page
    assert f"<td>{shown_labels}, column {col}</td>" in page


# --- factor widths no machine could hold ------------------------------------------------


def _ratings() -> Interactions:
    return Interactions.from_frame(star_ratings())


def test_a_factor_width_beyond_memory_is_refused_naming_it_before_anything_is_learned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(params, "_memory_bytes", lambda: 2**30)
    inter = _ratings()
    rows = inter.n_users + inter.n_items
    # numpy said "Maximum allowed dimension exceeded" (10**30) or MemoryError (10**12)
    model = RatingMF(n_factors=4, n_epochs=1, visual=False).fit(inter)
    before = model.user_factors_.copy()
    model.set_params(n_factors=10**12)
    with pytest.raises(
        InvalidParameterError,
        match=rf"^model 'RatingMF': n_factors=1,000,000,000,000 is too large: its arrays "
        rf"\({rows} users and items x n_factors\) need \d+ TiB or more, beyond this "
        r"machine's 1\.0 GiB of memory; give a smaller n_factors$",
    ):
        model.fit(inter)
    np.testing.assert_array_equal(model.user_factors_, before)  # the earlier fit kept
    # 10**400 was an OverflowError from the range check
    with pytest.raises(InvalidParameterError, match=r"n_factors=1\.00e400 is too large"):
        RatingMF(n_factors=10**400, visual=False).fit(inter)
    ids = inter.item_map.ids
    iv = ItemVectors(ids, np.eye(len(ids), 4, dtype=np.float32) + 1, np.ones(len(ids), bool))
    for name, width in [("bpr", "factors"), ("vbpr", "visual_factors"), ("visual-cf", "factors")]:
        with pytest.raises(
            InvalidParameterError,
            match=rf"^model '{name}': {width}=1\.00e30 is too large: .* need \d\.\d\de\d\d TiB",
        ):
            make_model(name, **{width: 10**30, "epochs": 1}).fit(inter, iv)


def test_a_factor_width_the_machine_can_hold_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(params, "_memory_bytes", lambda: 2**30)
    # 2**30 bytes hold 1000 rows x 268,435 values of 4 bytes, not one more
    make_model("bpr", factors=268_435)._check_widths(1000)
    with pytest.raises(InvalidParameterError, match=r"need 1\.0 GiB or more"):
        make_model("bpr", factors=268_436)._check_widths(1000)


# --- a rating result without its figures ------------------------------------------------


@pytest.mark.parametrize("drop", [["rmse"], ["mae", "fit_seconds"]])
def test_rating_result_without_a_figure_in_any_run_is_refused_naming_it(
    drop: list[str],
) -> None:
    res = _rating_result()
    for run in res["runs"]:
        for key in drop:
            run.pop(key)
    named = " or ".join(f"'{k}'" for k in drop)
    with pytest.raises(
        VisrecError,
        match=rf"^result: no run has {named}: not a result of `visrec rating-eval --json`",
    ):
        render_rating_report(res)
    # missing from one run only: that run shows n/a, the others their figures
    res = _rating_result()
    res["runs"][0].pop(drop[0])
    assert "n/a" in render_rating_report(res)


def test_rating_result_without_its_sizes_is_refused_naming_them() -> None:
    res = _rating_result()
    res.pop("sizes")
    render_rating_report(res)  # n_train and n_test stand for them
    res.pop("n_test")
    with pytest.raises(VisrecError, match=r"^result: no 'sizes' and no 'n_test': not a result"):
        render_rating_report(res)
    for run in res["runs"]:
        run.pop("rmse")
    with pytest.raises(
        VisrecError, match=r"^result: no run has 'rmse'; no 'sizes' and no 'n_test'"
    ):
        render_rating_report(res)
