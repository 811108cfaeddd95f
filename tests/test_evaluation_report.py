"""The HTML report of an evaluation: `visrec evaluate --report` and `visrec report`."""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from test_runner import checkerboard, write_case
from visrec.cli import main
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models.bpr import BPR
from visrec.models.registry import models_that, or_list
from visrec.report.evaluation import (
    picture_roles,
    read_result,
    render_evaluation_report,
    verdict,
)


def _result(
    protocol: str,
    recalls: dict[str, list[float]],
    aucs: dict[str, list[float]] | None = None,
    n_candidates: int = 50,
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
            str(s): {"n_train": 800 + s, "n_test": 200, "n_candidates": n_candidates}
            for s in range(n)
        },
        "params": {m: {"epochs": 80} for m in recalls},
    }


def test_picture_roles_come_from_each_models_class() -> None:
    models = ["popularity", "bpr", "vbpr", "visual-cf@taste", "nope"]
    assert picture_roles(models, "cold-items") == {
        "popularity": "no",
        "bpr": "no",
        "vbpr": "yes",
        "visual-cf@taste": "yes",
        "nope": "unknown",
    }
    # on a warm split visual-cf is BPR for every candidate: no pictures used
    assert picture_roles(models, "warm")["visual-cf@taste"] == "new items only"
    assert picture_roles(models, "warm")["vbpr"] == "yes"


def test_verdict_pictures_help_when_better_on_every_seed() -> None:
    res = _result("warm", {"popularity": [0.2, 0.21, 0.2], "bpr": [0.40, 0.42, 0.41],
                           "vbpr": [0.42, 0.43, 0.44]})  # fmt: skip
    head, call = verdict(res)
    assert head == "Best with pictures: vbpr, Recall@20 0.430; best without: bpr, 0.410."
    assert call == (
        "Pictures help here: +0.0200 Recall@20 (+4.9%) on average, better on 3 of 3 seeds; sign "
        "test p = 0.125. Weak evidence (0.250 two-sided, above 0.05, "
        "as either way could have been called): more seeds would firm "
        "it up. (bpr itself "
        "moves 0.0100 (std) between the splits.)"
    )


def test_verdict_allows_for_picking_the_best_of_several_models() -> None:
    # the best of two picture models is better on all of 3 seeds by chance twice as
    # often as one named in advance: p 0.250, no call; on 4 seeds, 0.125
    two = _result("warm", {"bpr": [0.40, 0.42, 0.41], "vbpr": [0.42, 0.43, 0.44],
                           "vbpr@b": [0.41, 0.43, 0.43]})  # fmt: skip
    assert verdict(two)[-1].startswith(
        "Too few seeds to call: +0.0200 Recall@20 (+4.9%) on average, better on 3 of 3 seeds; sign "
        "test p = 0.125, 0.250 for the best of 2 picture models, picked on these seeds; run "
        "--seeds 4 or more."
    )
    four = _result("warm", {"bpr": [0.40, 0.42, 0.41, 0.4], "vbpr": [0.42, 0.43, 0.44, 0.41],
                            "vbpr@b": [0.41] * 4})  # fmt: skip
    assert verdict(four)[-1].startswith(
        "Pictures help here: +0.0175 Recall@20 (+4.3%) on average, better on 4 of 4 seeds; sign "
        "test p = 0.063, 0.125 for the best of 2 picture models, picked on these seeds."
    )
    # the other way, the pick is the best of the models without pictures
    down = _result("warm", {"popularity": [0.41, 0.43, 0.42], "bpr": [0.40, 0.42, 0.41],
                            "vbpr": [0.39, 0.40, 0.40]})  # fmt: skip
    assert verdict(down)[-1].startswith(
        "Too few seeds to call: -0.0233 Recall@20 (-5.6%) on average, better on 0 of 3 seeds; sign "
        "test p = 0.125, 0.250 for the best of 2 models without pictures, picked on these "
        "seeds; run --seeds 4 or more."
    )


def test_a_call_against_pictures_says_how_weak_it_is_in_full() -> None:
    three = _result("warm", {"bpr": [0.40, 0.42, 0.41], "vbpr": [0.39, 0.41, 0.40]})
    assert verdict(three)[-1] == (
        "Pictures do not help here: -0.0100 Recall@20 (-2.4%) on average, better on 0 of 3 "
        "seeds; "
        "sign test p = 0.125. Weak evidence (0.250 two-sided, above 0.05, "
        "as either way could have been called): more seeds "
        "would firm it up. "
        "(bpr itself moves 0.0100 (std) between the splits.)"
    )
    five = _result("warm", {"bpr": [0.40] * 5, "vbpr": [0.39] * 5})
    assert verdict(five)[-1] == (
        "Pictures do not help here: -0.0100 Recall@20 (-2.5%) on average, better on 0 of 5 "
        "seeds; "
        "sign test p = 0.031. Weak evidence (0.063 two-sided, above 0.05, as either way "
        "could have been called): more seeds would firm it up. (bpr itself moves 0.0000 "
        "(std) between the splits.)"
    )


def test_too_few_seeds_names_what_a_call_the_way_the_seeds_went_needs() -> None:
    # one picture model, two without (visual-cf ranks as bpr here, seed for seed: no
    # second model to pick from): 3 of 3 up is a call, 2 of 3 up needs no more seeds
    # than that to be one, 0 of 3 down needs 4
    models = {"popularity": [0.2] * 3, "bpr": [0.40, 0.42, 0.41], "visual-cf": [0.40, 0.42, 0.41]}
    mixed = _result("warm", {**models, "vbpr": [0.41, 0.43, 0.40]})
    assert verdict(mixed)[-1].startswith("No clear difference: +0.0033 Recall@20")
    worse = _result("warm", {**models, "vbpr": [0.39, 0.41, 0.40]})
    assert verdict(worse)[-1].startswith("Too few seeds to call: -0.0100 Recall@20")
    assert "0.250 for the best of 2 models without pictures" in verdict(worse)[-1]
    assert "; run --seeds 4 or more." in verdict(worse)[-1]
    # a third model that differs on one seed is one more to pick from
    other = _result(
        "warm", {**models, "visual-cf": [0.40, 0.42, 0.405], "vbpr": [0.39, 0.41, 0.40]}
    )
    assert "0.375 for the best of 3 models without pictures" in verdict(other)[-1]


def test_the_report_table_says_when_a_mean_is_over_fewer_seeds() -> None:
    res = _result("cold-items", {"vbpr": [0.1, 0.2, 0.3]}, {"vbpr": [0.7, None, None]})
    page = render_evaluation_report(res)
    assert "0.700 (1 of 3 seeds)" in page and "0.200 ± 0.100" in page


def test_verdict_sign_test_ties_and_few_seeds() -> None:
    def call(plain: list[float], img: list[float], protocol: str = "warm") -> str:
        return verdict(_result(protocol, {"bpr": plain, "vbpr": img}))[-1]

    assert call([0.40, 0.42, 0.41], [0.41, 0.41, 0.42]).startswith(
        "No clear difference: +0.0033 Recall@20 (+0.8%) on average, better on 2 of 3 seeds"
    )
    assert call([0.40, 0.42, 0.41], [0.39, 0.41, 0.40]).startswith(
        "Pictures do not help here: -0.0100 Recall@20 (-2.4%) on average, better on 0 of 3 seeds"
    )
    # Two losses and a tie are two coin flips, too few to call: the tie tells the sign
    # test nothing, so a call needs a fourth seed; nor are two seeds.
    assert call([0.40, 0.42, 0.41], [0.39, 0.41, 0.41]).startswith(
        "Too few seeds to call: -0.0067 Recall@20 (-1.6%) on average, better on 0 of 3 seeds, "
        "worse on 2, equal on 1; sign test p = 0.250; run --seeds 4 or more."
    )
    assert call([0.40, 0.42], [0.41, 0.43]).startswith("Too few seeds to call: +0.0100")
    # The same ranking on every seed (visual-cf with its taste term off is bpr).
    assert call([0.40, 0.42, 0.41], [0.40, 0.42, 0.41]) == (
        "No difference: vbpr and bpr have the same Recall@20 on every seed."
    )
    # 5 of 6 and 8 of 10 pass the sign test (p 0.109, 0.055); 4 of 6 does not.
    six = [0.40] * 6
    assert call(six, [0.41] * 5 + [0.39]).startswith("Pictures help here")
    assert call(six, [0.41] * 4 + [0.39] * 2).startswith("No clear difference")
    assert call([0.40] * 10, [0.41] * 8 + [0.39] * 2).startswith("Pictures help here")
    assert call([0.40], [0.45]) == "+0.0500 Recall@20 on one seed: run --seeds 3 or more."
    # The time split is the same for every seed: only the initialisation moves.
    assert "the seeds change only the models' randomness, their initialisation" in call(
        [0.40, 0.42, 0.41], [0.41, 0.43, 0.42], "time"
    )


def test_verdict_compares_on_shared_seeds_and_skips_unknown_and_empty_models() -> None:
    res = _result("warm", {"bpr": [0.40, 0.42, 0.41], "vbpr": [0.39, 0.41, 0.58]})
    res["runs"] = [r for r in res["runs"] if not (r["model"] == "bpr" and r["seed"] == 2)]
    head, call = verdict(res)
    assert head == (
        "Best with pictures: vbpr, Recall@20 0.400; best without: bpr, 0.410 (on the 2 "
        "seeds both ran)."
    )
    assert call.startswith("Too few seeds to call: -0.0100")
    unknown = _result("warm", {"cornac-vbpr": [0.5, 0.5, 0.5], "bpr": [0.40, 0.42, 0.41],
                               "vbpr": [0.41, 0.43, 0.42]})  # fmt: skip
    lines = verdict(unknown)
    assert lines[0].startswith("Not classed (unknown to visrec") and "cornac-vbpr" in lines[0]
    assert lines[-1].startswith("Pictures help here")  # bpr, not cornac-vbpr, is "without"
    empty = _result("warm", {"bpr": [0.40, 0.42, 0.41], "vbpr": [0.4, 0.4, 0.4]})
    for run in empty["runs"]:
        if run["model"] == "vbpr":
            run["recall"] = None
    # it ran: the verdict says it has no figure, not "add vbpr to --models"
    assert verdict(empty) == [
        "vbpr ran but has no Recall@20 on any seed (no user with a test item could be scored)."
    ]
    del empty["runs"][3:]  # bpr only
    assert verdict(empty)[-1].startswith("No model that reads pictures ran")
    # warm with visual-cf and no vbpr: visual-cf is BPR here; vbpr would answer
    only_new = _result("warm", {"bpr": [0.40, 0.42, 0.41], "visual-cf": [0.40, 0.42, 0.41]})
    lines = verdict(only_new)
    assert lines[0].startswith("visual-cf uses pictures only for items nobody interacted with")
    assert lines[1] == (
        "No model here uses pictures for items with interactions: add vbpr to --models to "
        "ask whether pictures help them."
    )


def test_verdict_cold_start() -> None:
    cold = _result(
        "cold-items",
        {"popularity": [0.08, 0.09, 0.1], "vbpr": [0.15, 0.16, 0.1], "visual-cf": [0.19, 0.2, 0.1]},
        {"popularity": [0.5, 0.5, 0.5], "vbpr": [0.6, 0.62, 0.6], "visual-cf": [0.64, 0.66, 0.65]},
    )
    lines = verdict(cold)
    assert "Models without pictures (popularity) score every new item alike" in lines[0]
    # the best of two picture models on these three splits: 3 of 3 is p = 0.25 for it
    assert lines[1] == (
        "Best with pictures: visual-cf, AUC 0.650 (too few seeds to call: above 0.5 on 3 "
        "of 3 splits of this data; sign test p = 0.125, 0.250 for the best of 2 picture "
        "models, picked on these seeds; run --seeds 4 or more), Recall@20 0.163, 1.8 times "
        "that of a random order (0.090)."
    )
    one = _result("cold-items", {"visual-cf": [0.19, 0.2, 0.1]}, {"visual-cf": [0.64, 0.66, 0.65]})
    assert verdict(one)[1] == (
        "Best with pictures: visual-cf, AUC 0.650 (above chance: above 0.5 on 3 of 3 "
        "splits of this data; sign test p = 0.125), Recall@20 0.163. Weak evidence (0.250 "
        "two-sided, above 0.05, "
        "as either way could have been called): more seeds would firm it up."
    )
    four = _result("cold-items", {"vbpr": [0.1] * 4, "visual-cf": [0.2] * 4},
                   {"vbpr": [0.6] * 4, "visual-cf": [0.65] * 4})  # fmt: skip
    assert verdict(four)[1].endswith(
        "(above chance: above 0.5 on 4 of 4 splits of this data; sign test p = 0.063, 0.125 "
        "for the best of 2 picture models, picked on these seeds), Recall@20 0.200. Weak "
        "evidence (0.250 two-sided, above 0.05, "
        "as either way could have been called): more seeds would firm it up."
    )
    # five of five splits: p = 0.031, 0.063 two-sided: still weak; six of six no longer
    five = _result("cold-items", {"vbpr": [0.2] * 5}, {"vbpr": [0.6] * 5})
    assert verdict(five)[1].endswith(
        "of this data; sign test p = 0.031), Recall@20 0.200. Weak evidence (0.063 two-sided, "
        "above 0.05, as either way could have been called): more seeds would firm it up."
    )
    six = _result("cold-items", {"vbpr": [0.2] * 6}, {"vbpr": [0.6] * 6})
    assert verdict(six)[1].endswith("of this data; sign test p = 0.016), Recall@20 0.200.")
    below = _result("cold-items", {"vbpr": [0.01, 0.02, 0.0]}, {"vbpr": [0.40, 0.42, 0.41]})
    lines = verdict(below)
    assert "only pictures can tell them apart" in lines[0] and "(none)" not in lines[0]
    assert "AUC 0.410 (below chance, worse than a random order: above 0.5 on 0 of 3" in lines[1]
    plain = _result("warm", {"popularity": [0.2, 0.2], "bpr": [0.4, 0.41]})
    assert verdict(plain)[0].startswith("No model that reads pictures")


def test_cold_verdict_goes_by_auc_seed_by_seed() -> None:
    # one seed far above chance, one below: the mean (0.734) alone said "above chance"
    noise = _result("cold-items", {"vbpr": [1.0, 1.0]}, {"vbpr": [0.988, 0.480]})
    # one each way: a call needs 5 of 6, four more splits above chance
    assert (
        "(too few seeds to call: above 0.5 on 1 of 2 splits of this data; sign test p = "
        "0.750; run --seeds 6 or more)" in (verdict(noise)[1])
    )
    mixed = _result("cold-items", {"vbpr": [1.0] * 4}, {"vbpr": [0.6, 0.46, 0.6, 0.55]})
    assert (
        "(not consistently above chance: above 0.5 on 3 of 4 splits of this data; sign test "
        "p = 0.313)" in verdict(mixed)[1]
    )
    # Recall@K 1 for every model (no more candidates than K): the best is the best AUC
    tiny = _result(
        "cold-items", {"vbpr": [1.0] * 3, "visual-cf": [1.0] * 3},
        {"vbpr": [0.55] * 3, "visual-cf": [0.564] * 3},
    )  # fmt: skip
    assert verdict(tiny)[1].startswith("Best with pictures: visual-cf, AUC 0.564")
    # and with 12 candidates per split the line quotes NDCG@20, not a Recall@20 of 1
    for split in tiny["splits"].values():
        split["n_candidates"] = 12
    line = verdict(tiny)[1]
    assert "NDCG@20" in line and "Recall@20" not in line
    # nor does the plot give Recall@20 a panel of bars all at 1
    page = render_evaluation_report(tiny)
    assert 'alt="AUC and NDCG@20 per model, one dot per seed"' in page
    for split in tiny["splits"].values():
        split["n_candidates"] = 21
    assert 'alt="AUC, Recall@20 and NDCG@20 per model' in render_evaluation_report(tiny)


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
            "--protocol", "warm", "--models", "popularity,bpr,vbpr,visual-cf", "--seeds", "2",
            "--k", "3", "--param", "bpr.epochs=3", "--param", "visual-cf.epochs=3",
            "--param", "vbpr.epochs=3",
            "--json", str(out_json), "--report", str(out_html)]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"wrote {out_json}\nwrote {out_html}" in text
    page = out_html.read_text()
    assert "Do pictures help here?" in page and "visual-cf" in page and str(csv) in page
    result = read_result(out_json)
    lines = verdict(result)
    # warm: visual-cf is BPR on known items, so the picture model compared is vbpr
    assert lines[0].startswith("visual-cf uses pictures only for items nobody interacted")
    assert lines[1].startswith("Best with pictures: vbpr, Recall@3")
    assert "<td>new items only</td>" in page
    assert all(html.escape(line, quote=True) in page for line in lines)
    # how it was made: the command line and the version, in the page and the JSON
    assert result["run"]["command"] == shlex.join(["visrec", *argv])
    assert html.escape(result["run"]["command"], quote=True) in page
    assert f"visrec {result['run']['visrec']}, {result['run']['created']}" in page

    again = tmp_path / "again.html"
    assert main(["report", str(out_json), "-o", str(again), "--title", "Checkerboard"]) == 0
    assert f"wrote {again}" in capsys.readouterr().out
    other = again.read_text()
    assert "<h1>Checkerboard</h1>" in other and str(out_json) in other
    assert html.escape(result["run"]["command"], quote=True) in other  # from the JSON
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
    missing = tmp_path / "missing.json"
    assert main(["report", str(missing), "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"error: result file {str(missing)!r} does not exist\n"
    missing.mkdir()  # there, but not readable as a file
    assert main(["report", str(missing), "-o", str(out)]) == 2
    assert "missing.json: cannot read (Is a directory)" in capsys.readouterr().err
    same = tmp_path / "result.out"  # a name that says no format: the clash is what is refused
    same.write_text(bad.read_text())
    assert main(["report", str(same), "-o", str(same)]) == 2
    assert "is the RESULT.json file; writing it would replace it" in capsys.readouterr().err
    # the result itself, though its name says JSON: that it is the input is what counts
    assert main(["report", str(bad), "-o", str(bad)]) == 2
    assert "is the RESULT.json file; writing it would replace it" in capsys.readouterr().err
    assert main(["report", str(bad), "-o", str(tmp_path / "new.json")]) == 2
    assert "ends in .json (JSON), but visrec writes HTML there" in capsys.readouterr().err
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


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["runs"][0].update(seed=None), "runs[0]: seed None is not an integer"),
        (lambda r: r["runs"][0].update(seed="a"), "runs[0]: seed 'a' is not an integer"),
        (lambda r: r["runs"][0].update(model=None), "runs[0]: model None is not a name"),
        (lambda r: r.update(k="twenty"), "'k' is 'twenty', not a positive integer"),
        (lambda r: r["runs"][1].update(recall="0.4"), "runs[1] (vbpr): recall '0.4' is not"),
        (lambda r: r["runs"][1].update(auc=float("inf")), "runs[1] (vbpr): auc is inf"),
        (lambda r: r.update(splits=[1, 2]), "'splits' is not a JSON object"),
        (lambda r: r.update(params="x"), "'params' is not a JSON object"),
        (lambda r: r.update(params={"bpr": [1, 2]}), "params of 'bpr' are not a JSON object"),
        (lambda r: r.update(notes=5), "'notes' is not a list"),
        (lambda r: r.update(inputs=[1, 2]), "'inputs' is not a JSON object"),
        (lambda r: r["runs"][1].update(tuned=[1]), "runs[1] (vbpr): tuned [1] is not text"),
    ],
)
def test_a_damaged_result_is_one_line_naming_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, message: str
) -> None:
    res = _result("warm", {"bpr": [0.4], "vbpr": [0.45]})
    change(res)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(res))  # Infinity is written as JSON's extension literal
    assert main(["report", str(bad), "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_binary_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "v.parquet"
    binary.write_bytes(b"PAR1\x98\x00\xff\xfe")
    assert main(["report", str(binary), "-o", str(tmp_path / "x.html")]) == 2
    assert "v.parquet: not a text file (byte 4: not UTF-8)" in capsys.readouterr().err


def test_the_json_records_the_defaults_its_settings_are_judged_against(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame, iv = checkerboard()
    csv, vec = write_case(tmp_path, frame, iv)
    out_json = tmp_path / "r.json"
    argv = ["evaluate", "--interactions", str(csv), "--vectors", str(vec), "--quiet",
            "--models", "popularity,bpr", "--param", "bpr.epochs=2", "--seeds", "1",
            "--json", str(out_json)]  # fmt: skip
    assert main(argv) == 0
    result = read_result(out_json)
    assert result["defaults"]["bpr"] == json.loads(json.dumps(BPR().get_params()))
    assert result["defaults"]["popularity"] == {}
    assert verdict(result)[-1] == (
        "Settings away from the defaults: bpr epochs=2 (default 80); the answer is for these."
    )


def test_notes_and_inputs_stay_with_the_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame, iv = checkerboard()
    frame = frame.sample(frac=1.0, random_state=3)  # each user's last row: mostly known
    frame.loc[len(frame)] = ["lonely", "i0", 1]  # one item: trains, is not tested
    frame["timestamp"] = 1  # every user's items at one time: file order picks the test
    half = ItemVectors(iv.ids[:10], iv.vectors[:10], iv.has_image[:10], iv.meta)
    csv, vec = write_case(tmp_path, frame, half)
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    argv = ["evaluate", "--interactions", str(csv), "--vectors", str(vec), "--quiet",
            "--protocol", "time", "--models", "popularity", "--seeds", "1", "--k", "50",
            "--json", str(out_json), "--report", str(out_html)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    # the image coverage is a data warning: said under --quiet too
    assert f"{vec}: 10 item vectors; 61 of 121 rows are on an item with an image" in err
    result = read_result(out_json)
    assert result["notes"] == [
        "12 of 12 users have several items at their latest time; the later row in the "
        "file is their test item",
        f"{vec}: 10 item vectors; 61 of 121 rows are on an item with an image",
        "19 candidates per test user at most, <= --k 50: Recall@50 and HitRate@50 are 1 "
        "for any ranking (every candidate is in the top 50); compare AUC and NDCG@50, or "
        "lower --k",
    ]
    assert result["inputs"] == {"interactions": str(csv), "vectors": str(vec)}
    page = out_html.read_text()
    assert '<section id="notes">' in page
    assert all(html.escape(n, quote=True) in page for n in result["notes"])
    # leave-last-out: one test row per user with 2+ items, not every training user
    stats = result["splits"]["0"]
    assert (stats["n_users"], stats["n_test_users"], stats["n_test"]) == (13, 12, 12)
    assert "<th>training users</th>" in page and "<th>users with a test row</th>" in page
    again = tmp_path / "again.html"
    assert main(["report", str(out_json), "-o", str(again)]) == 0
    rebuilt = again.read_text()
    assert str(csv) in rebuilt and str(vec) in rebuilt and '<section id="notes">' in rebuilt


def test_verdict_says_settings_off_the_defaults_weak_evidence_and_the_baseline() -> None:
    res = _result("warm", {"popularity": [0.2] * 6, "bpr": [0.40] * 6,
                           "vbpr": [0.42, 0.43, 0.44, 0.45, 0.46, 0.39]})  # fmt: skip
    res["params"]["bpr"] = {"epochs": 5, "verbose": True}
    res["defaults"] = {m: {"epochs": 80, "verbose": False} for m in res["params"]}
    lines = verdict(res)
    assert lines[-1] == (
        "Settings away from the defaults: bpr epochs=5 (default 80); the answer is for these."
    )
    # the defaults the file records, not this version's: 5 was that run's default
    res["defaults"]["bpr"]["epochs"] = 5
    assert not any("Settings away" in line for line in verdict(res))
    # a file from before the defaults were recorded: compared with today's, and said so
    del res["defaults"]
    assert verdict(res)[-1] == (
        "Settings away from this visrec's defaults: bpr epochs=5 (default 80); the answer "
        "is for these (the file does not record the defaults it ran with, which an older "
        "visrec may have had)."
    )
    # 5 of 6 seeds: called, and said to be weak (p = 0.109)
    assert "better on 5 of 6 seeds; sign test p = 0.109. Weak evidence (0.219 two-sided" in lines[1]
    assert "0.219 two-sided, above 0.05, as either way could have been called" in lines[1]
    strong = _result("warm", {"bpr": [0.40] * 6, "vbpr": [0.42] * 6})
    assert "Weak evidence" not in " ".join(verdict(strong))  # 6 of 6: p = 0.016
    # no picture model: the run still answers whether the model beats popularity
    plain = _result("warm", {"popularity": [0.2, 0.2], "bpr": [0.4, 0.41]})
    plain["inputs"] = {"vectors": "v.parquet"}
    said = verdict(plain)
    # every registered model that reads pictures is named (the built-in two here)
    readers = or_list(models_that("uses_vectors"))
    assert said[0] == (
        f"No model that reads pictures ran: add {readers} to --models to ask whether pictures help."
    )
    assert said[1] == (
        "Against the popularity baseline: bpr Recall@20 0.405 vs 0.200, better on 2 of 2 seeds."
    )


def test_cold_verdict_shows_the_recall_of_the_model_it_names() -> None:
    # popularity's chance-order Recall@20 (0.300) is higher than vbpr's (0.100);
    # the line naming vbpr must show vbpr's 0.100
    from visrec.report.evaluation import verdict

    runs = []
    for seed in range(3):
        for model, recall, auc in (("popularity", 0.3, 0.5), ("vbpr", 0.1, 0.7)):
            runs.append({"seed": seed, "model": model, "auc": auc, "recall": recall,
                         "ndcg": recall / 2, "hit_rate": 0.5, "coverage": 0.5,
                         "fit_s": 1.0, "tuned": None})  # fmt: skip
    res = {
        "protocol": "cold-items",
        "k": 20,
        "seeds": [0, 1, 2],
        "runs": runs,
        "splits": {str(s): {"n_train": 800, "n_test": 200, "n_candidates": 50} for s in range(3)},
        "params": {"popularity": {}, "vbpr": {"epochs": 80}},
    }
    lines = verdict(res)
    assert lines[1] == (
        "Best with pictures: vbpr, AUC 0.700 (above chance: above 0.5 on 3 of 3 splits of "
        "this data; sign test p = 0.125), Recall@20 0.100, below that of a random order "
        "(0.300). Weak evidence (0.250 two-sided, above 0.05, "
        "as either way could have been called): more seeds would firm it up."
    )


def test_seed_by_seed_tables_show_what_the_verdict_counts() -> None:
    # "better on 2 of 2 seeds" next to 0.925 and 0.925 read as a contradiction
    import pandas as pd

    from visrec.report.evaluation import per_seed_table

    runs = pd.DataFrame({"seed": [0, 0], "model": ["a", "b"], "rmse": [0.92512, 0.92549]})
    html = per_seed_table(runs, ["a", "b"], "rmse", "RMSE")
    assert '<td class="num">0.9251</td>' in html and '<td class="num">0.9255</td>' in html


def test_the_report_knows_every_metric_the_runner_computes() -> None:
    # a metric added to the runner reaches its JSON and table; this points at the
    # report's lists (METRIC_KEYS, _results_table, the explanations) to add it there too
    from visrec.evaluation.runner import METRICS
    from visrec.report.evaluation import METRIC_KEYS

    assert (*METRIC_KEYS, "fit_s") == METRICS
    page = render_evaluation_report(_result("warm", {"popularity": [0.2], "bpr": [0.4]}))
    for label in ("AUC", "Recall@20", "NDCG@20", "HitRate@20", "Coverage@20", "fit s"):
        assert f"<th>{label}</th>" in page


def test_a_filled_list_compares_warm_models_on_ndcg() -> None:
    # 21 candidates on warm: each test user has a training item, so at most 20 are
    # theirs, Recall@20 is 1 for any ranking and NDCG@20 decides
    res = _result("warm", {"bpr": [1.0, 1.0, 1.0], "vbpr": [1.0, 1.0, 1.0]})
    for run in res["runs"]:
        run["ndcg"] = 0.5 if run["model"] == "bpr" else 0.4
    for split in res["splits"].values():
        split["n_candidates"] = 21
    lines = verdict(res)
    assert lines[0].startswith("Recall@20 is 1 for any ranking here")
    assert "best without: bpr, 0.500" in lines[1] and "Recall@20 1.000" not in " ".join(lines)
    assert lines[2].startswith("Pictures do not help here: -0.1000 NDCG@20 (-20.0%) on average")
    page = render_evaluation_report(res)
    assert 'alt="AUC and NDCG@20 per model, one dot per seed"' in page
    # 22 candidates: a user may have 21, so Recall@20 still says something
    for split in res["splits"].values():
        split["n_candidates"] = 22
    assert verdict(res)[0].startswith("Best with pictures: vbpr, Recall@20 1.000")


def test_the_popularity_sentence_counts_one_seed_as_one() -> None:
    res = _result("warm", {"popularity": [0.2], "bpr": [0.4]})
    assert verdict(res)[-1].endswith("0.400 vs 0.200, better on 1 of 1 seed.")


@pytest.mark.parametrize(
    ("chosen", "said"),
    [
        (["reg=0.03, profile_weight=2"] * 3, "turned on by validation on every split: users "
         "here pick new items by look"),
        (["profile_weight=0"] * 3, "left off by validation on every split"),
        (["profile_weight=2", "profile_weight=0", "profile_weight=0.5"],
         "turned on by validation on 2 of 3 splits"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("name", ["visual-cf", "visual-cf@taste"])
def test_cold_verdict_says_what_the_taste_term_choice_means(
    chosen: list[str], said: str, name: str
) -> None:
    # a shop owner reads "profile_weight=2" as jargon: the verdict says what it tells
    res = _result("cold-items", {"popularity": [0.05] * 3, name: [0.29] * 3},
                  {"popularity": [0.5] * 3, name: [0.74] * 3})  # fmt: skip
    for run in res["runs"]:
        if run["model"] == name:
            run["tuned"] = chosen[run["seed"]]
    lines = verdict(res)
    assert "Recall@20 0.290, 5.8 times that of a random order (0.050)" in lines[1]
    assert lines[2].startswith(f"{name}'s taste-by-look term (profile_weight) was {said}")
    # a run without the choice (a set weight, or an older file) says nothing of it
    for run in res["runs"]:
        run["tuned"] = None
    assert not any("taste-by-look" in line for line in verdict(res))


def test_no_auc_panel_when_no_run_defines_auc() -> None:
    res = _result("cold-items", {"popularity": [0.2, 0.3], "bpr": [0.3, 0.4]},
                  {"popularity": [None, None], "bpr": [None, None]})  # type: ignore[dict-item]  # fmt: skip
    page = render_evaluation_report(res, {})
    (alt,) = re.findall(r'<img class="plot" alt="([^"]+)"', page)
    assert alt == "Recall@20 and NDCG@20 per model, one dot per seed"
    assert "AUC bars start at 0.5" not in page
    res["runs"][0]["auc"] = 0.6  # one seed defines it: the panel is back
    page = render_evaluation_report(res, {})
    (alt,) = re.findall(r'<img class="plot" alt="([^"]+)"', page)
    assert alt == "AUC, Recall@20 and NDCG@20 per model, one dot per seed"
    assert "AUC bars start at 0.5, chance" in page
