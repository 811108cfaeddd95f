"""The HTML report of an evaluation: `visrec evaluate --report` and `visrec report`."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from test_runner import checkerboard, write_case
from visrec.cli import main
from visrec.errors import VisrecError
from visrec.report.evaluation import (
    image_models,
    read_result,
    render_evaluation_report,
    verdict,
)


def _result(
    protocol: str, recalls: dict[str, list[float]], aucs: dict[str, list[float]] | None = None
) -> dict[str, Any]:
    """A result dict as `evaluate --json` writes it, with the given per-seed figures."""
    runs = []
    for model, values in recalls.items():
        for seed, r in enumerate(values):
            auc = (aucs or {}).get(model, [0.9] * len(values))[seed]
            runs.append({"seed": seed, "model": model, "auc": auc, "recall": r,
                         "ndcg": r / 2, "hit_rate": min(1.0, 2 * r), "coverage": 0.5,
                         "fit_s": 1.5, "tuned": None})  # fmt: skip
    n = len(next(iter(recalls.values())))
    return {
        "protocol": protocol,
        "k": 20,
        "seeds": list(range(n)),
        "runs": runs,
        "splits": {
            str(s): {"n_train": 800 + s, "n_test": 200, "n_candidates": 50} for s in range(n)
        },
        "params": {m: {"epochs": 80} for m in recalls},
    }


def test_image_models_are_the_ones_that_read_vectors() -> None:
    assert image_models(["popularity", "bpr", "vbpr", "visual-cf@taste", "nope"]) == [
        "vbpr",
        "visual-cf@taste",
    ]


def test_verdict_pictures_help_when_better_on_every_seed() -> None:
    res = _result("warm", {"popularity": [0.2, 0.21, 0.2], "bpr": [0.40, 0.42, 0.41],
                           "vbpr": [0.42, 0.43, 0.44]})  # fmt: skip
    head, call = verdict(res)
    assert "Best with pictures: vbpr, Recall@20 0.430; best without: bpr, 0.410" in head
    assert call.startswith("Pictures help here: +0.020 Recall@20 on average, better on 3 of 3")
    assert "bpr itself moves 0.010 (std)" in call


def test_verdict_no_clear_difference_and_no_help() -> None:
    mixed = _result("time", {"bpr": [0.40, 0.42, 0.41], "visual-cf": [0.41, 0.41, 0.42]})
    assert verdict(mixed)[1].startswith("No clear difference: +0.003 Recall@20 on average, "
                                        "better on 2 of 3 seeds")  # fmt: skip
    worse = _result("warm", {"bpr": [0.40, 0.42, 0.41], "vbpr": [0.39, 0.40, 0.40]})
    assert verdict(worse)[1].startswith("Pictures do not help here: -0.013 Recall@20")
    two = _result("warm", {"bpr": [0.40, 0.42], "vbpr": [0.39, 0.40]})
    assert verdict(two)[1].startswith("Too few seeds to call: -0.015 Recall@20 on average, "
                                      "better on 0 of 2 seeds; run --seeds 3 or more.")  # fmt: skip


def test_verdict_one_seed_cold_start_and_no_image_model() -> None:
    one = _result("warm", {"bpr": [0.40], "vbpr": [0.45]})
    assert "on one seed: run --seeds 3 or more" in verdict(one)[1]
    cold = _result(
        "cold-items",
        {"popularity": [0.08, 0.09], "vbpr": [0.15, 0.16], "visual-cf": [0.19, 0.2]},
        {"popularity": [0.5, 0.5], "vbpr": [0.6, 0.62], "visual-cf": [0.64, 0.66]},
    )
    lines = verdict(cold)
    assert "cannot tell them apart (AUC 0.500" in lines[0]
    assert lines[1] == "Best with pictures: visual-cf, AUC 0.650, Recall@20 0.195."
    plain = _result("warm", {"popularity": [0.2, 0.2], "bpr": [0.4, 0.41]})
    assert verdict(plain)[0].startswith("No model that reads pictures was in this run")


def test_report_is_self_contained_and_escapes_labels() -> None:
    res = _result("warm", {"popularity": [0.2, 0.21], "bpr@<b>x</b>": [0.4, 0.41],
                           "vbpr": [0.42, 0.43]})  # fmt: skip
    res["runs"][2]["tuned"] = "reg=0.03"
    page = render_evaluation_report(res, {"interactions": "a&b.csv"})
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "bpr@&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "a&amp;b.csv" in page
    for section in ("verdict", "results", "seeds", "splits", "tuned", "params", "metrics"):
        assert f'<section id="{section}">' in page
    # One embedded PNG: the bar plot.
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(pngs) == 1 and base64.b64decode(pngs[0])[:8] == b"\x89PNG\r\n\x1a\n"
    # The table shows mean ± std; the per-seed table each seed's figure.
    assert "0.425 ± 0.007" in page and "<th>seed 1</th>" in page and "0.430" in page
    assert "reg=0.03" in page and "Too few seeds to call: +0.020" in page


def test_cli_evaluate_report_and_report_from_the_saved_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, vec = write_case(tmp_path, *checkerboard())
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    argv = ["evaluate", "--interactions", str(csv), "--vectors", str(vec), "--quiet",
            "--protocol", "warm", "--models", "popularity,bpr,visual-cf", "--seeds", "2",
            "--k", "3", "--param", "bpr.epochs=3", "--param", "visual-cf.epochs=3",
            "--json", str(out_json), "--report", str(out_html)]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"wrote {out_json}\nwrote {out_html}" in text
    page = out_html.read_text()
    assert "Do pictures help here?" in page and "visual-cf" in page and str(csv) in page
    result = read_result(out_json)
    lines = verdict(result)
    assert lines[0].startswith("Best with pictures: visual-cf, Recall@3")
    assert all(html.escape(line, quote=True) in page for line in lines)

    again = tmp_path / "again.html"
    assert main(["report", str(out_json), "-o", str(again), "--title", "Checkerboard"]) == 0
    assert f"wrote {again}" in capsys.readouterr().out
    other = again.read_text()
    assert "<h1>Checkerboard</h1>" in other and str(out_json) in other
    # The same figures: every section but the heading, the inputs and the time.
    body = page[page.index('<section id="verdict">') : page.index("<footer>")]
    assert body == other[other.index('<section id="verdict">') : other.index("<footer>")]


def test_report_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.html"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["report", str(bad), "-o", str(out)]) == 2
    assert "bad.json: not JSON (line 1" in capsys.readouterr().err
    bad.write_text(json.dumps({"protocol": "warm", "k": 20}))
    assert main(["report", str(bad), "-o", str(out)]) == 2
    assert "not a result of `visrec evaluate --json` (no 'runs')" in capsys.readouterr().err
    res = _result("warm", {"bpr": [0.4]})
    del res["runs"][0]["recall"]
    bad.write_text(json.dumps(res))
    assert main(["report", str(bad), "-o", str(out)]) == 2
    assert "runs[0] has no 'recall'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.json"), "-o", str(out)]) == 2
    assert "missing.json: cannot read" in capsys.readouterr().err
    assert main(["report", str(bad), "-o", str(bad)]) == 2
    assert "is the result file itself" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(VisrecError, match="runs' is empty"):
        render_evaluation_report({"protocol": "warm", "k": 20, "runs": []})


def test_evaluate_refuses_report_and_json_on_one_file_before_any_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, _ = write_case(tmp_path, *checkerboard())
    same = tmp_path / "same"
    argv = ["evaluate", "--interactions", str(csv), "--json", str(same), "--report", str(same)]
    assert main(argv) == 2
    assert "--report and --json name the same file" in capsys.readouterr().err
    assert main(["evaluate", "--interactions", str(csv), "--report", str(tmp_path)]) == 2
    assert "--report: output path" in capsys.readouterr().err
