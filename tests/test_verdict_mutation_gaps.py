"""Gaps an outside mutation audit found: sentences of the verdicts, notes and reports
whose wording or call no test pinned (warm --min-rating share, the NDCG switch on
time, the seed-by-seed section, "level with", the popularity sentence, "counted once",
ARI's permutation p, the McNemar scope, knn-rating's JSON notes, the chance purity and
the data summary's repeated-pairs label)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_evaluation_report import _result
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.report.evaluation import render_evaluation_report, verdict
from visrec.report.rating import rating_verdict


def _filled(protocol: str) -> dict[str, Any]:
    """Recall@20 1 for both models on 21 candidates (at most 20 a test user's own):
    NDCG@20 (bpr 0.5, vbpr 0.4) must decide."""
    res = _result(protocol, {"bpr": [1.0] * 3, "vbpr": [1.0] * 3}, n_candidates=21)
    for run in res["runs"]:
        run["ndcg"] = 0.5 if run["model"] == "bpr" else 0.4
    return res


def test_warm_min_rating_note_says_the_share_test_ratio_keeps(tmp_path: Path) -> None:
    # `evaluate --protocol warm --test-ratio 0.5 --min-rating 4`: half the pairs below
    # are left out on each seed, and the note must say 50%, not the default's 80%
    from visrec.commands.evaluate import _drop_below_min_rating

    frame = pd.DataFrame(
        {"user_id": ["u0", "u0", "u1", "u1"], "item_id": ["a", "b", "a", "c"],
         "rating": [5.0, 2.0, 4.0, 1.0]}
    )  # fmt: skip
    args = argparse.Namespace(
        min_rating=4.0,
        interactions=str(tmp_path / "r.csv"),
        protocol="warm",
        test_ratio=0.5,
    )
    notes: list[str] = []
    said: list[str] = []
    kept, below = _drop_below_min_rating(args, frame, notes, said.append)
    assert len(kept) == 2 and below is not None and len(below) == 2
    assert len(notes) == 1
    assert notes[0].startswith(
        "2 (user, item) pairs rated below --min-rating 4: on each seed a random 50% of them "
        "(the share the split keeps for training)"
    )
    assert "80%" not in notes[0] and f"note: {notes[0]}" in said


def test_a_filled_list_compares_time_models_on_ndcg_too() -> None:
    # the time split keeps a training item per test user, as warm does: 21 candidates
    # fill a list of 20, so the verdict must switch to NDCG@20 on time as well
    lines = verdict(_filled("time"))
    assert lines[0].startswith("Recall@20 is 1 for any ranking here")
    assert "best without: bpr, 0.500" in lines[1]
    assert lines[2].startswith("Pictures do not help here: -0.1000 NDCG@20 (-20.0%) on average")
    assert "Recall@20 1.000" not in " ".join(lines)


def test_the_seed_by_seed_section_shows_ndcg_on_a_filled_list() -> None:
    # Recall@20 is 1 everywhere there: the section must table NDCG@20 (what the verdict
    # counts), not a row of 1.0000s
    page = render_evaluation_report(_filled("warm"))
    (section,) = re.findall(r'<section id="seeds">.*?</section>', page, flags=re.S)
    assert "<h3>NDCG@20</h3>" in section and "<h3>AUC</h3>" in section
    assert "Recall@20" not in section
    assert '<td class="num">0.5000</td>' in section and '<td class="num">1.0000</td>' not in section


def test_lowest_rmse_is_level_with_the_runner_up_when_higher_on_one_of_four() -> None:
    # lower on 3 of 4 splits, higher on the 4th: sign test p = 0.313, no winner named
    runs = _rr([0.910, 0.910, 0.910, 0.906], [0.900, 0.900, 0.900, 0.912])
    assert rating_verdict(runs)[0] == (
        "Lowest RMSE: biased MF + visual, 0.903 stars, level with biased MF (0.909: lower "
        "than it on 3 of 4 splits, too few to call a gap of 0.0060)."
    )


def test_lowest_rmse_on_five_of_six_splits_is_called_the_winner() -> None:
    # 5 of 6 is the documented sign-test call (p = 0.109 <= 0.125): no "level with"
    runs = _rr([0.910] * 5 + [0.905], [0.900] * 5 + [0.910])
    assert rating_verdict(runs)[0] == (
        "Lowest RMSE: biased MF + visual, 0.902 stars (below biased MF, 0.909, on 5 of 6 "
        "splits; sign test p = 0.109). Weak evidence (0.219 two-sided, above 0.05, as "
        "either way could have been called): more seeds would firm it up."
    )
    # 8 of 8: p = 0.004, not weak
    runs = _rr([0.910] * 8, [0.900] * 8)
    assert rating_verdict(runs)[0] == (
        "Lowest RMSE: biased MF + visual, 0.900 stars (below biased MF, 0.910, on 8 of 8 "
        "splits; sign test p = 0.004)."
    )


def test_the_popularity_sentence_does_not_call_a_lost_seed_equal() -> None:
    # bpr above popularity on one seed, below it on the other: nothing is "equal"
    res = _result("warm", {"popularity": [0.2, 0.3], "bpr": [0.3, 0.2]})
    line = verdict(res)[-1]
    assert line == (
        "Against the popularity baseline: bpr Recall@20 0.250 vs 0.250, better on 1 of 2 seeds."
    )


def test_models_repeating_another_seed_for_seed_are_said_counted_once() -> None:
    # on warm visual-cf is BPR for every candidate: the best of 3 models without
    # pictures is the best of 2 distinct ones, and the sentence must say why
    same = [0.40, 0.42, 0.41]
    res = _result(
        "warm",
        {"popularity": [0.2, 0.21, 0.2], "bpr": same, "visual-cf": list(same),
         "vbpr": [0.30, 0.31, 0.32]},
    )  # fmt: skip
    text = " ".join(verdict(res))
    assert (
        ", 0.250 for the best of 2 models without pictures (models repeating another seed "
        "for seed counted once), picked on these seeds"
    ) in text


def test_ari_p_is_one_when_every_shuffle_ties_the_observed_ari() -> None:
    # 3 items, 3 labels, 2 clusters: no two items share a label, so every shuffle
    # reaches the observed ARI (a tie counts as reaching it): p = 200/200, not 1/200
    from visrec.analysis.cluster import ari_permutation_p

    assert ari_permutation_p(np.array([0, 0, 1]), np.array(["a", "b", "c"])) == 1.0
    # one cluster: the count table is the same under any shuffle, so again p = 1
    assert ari_permutation_p(np.array([0, 0, 0, 0]), np.array(["a", "a", "b", "b"])) == 1.0


def test_an_ari_with_p_above_0_05_is_not_shown_to_be_above_chance() -> None:
    # p = 0.07 misses the 0.05 line: the report must not read ARI 0.2 as a finding
    from visrec.report.html import ari_reading

    said = ari_reading(0.2, 0.07)
    assert said.startswith("ARI 0.200: not shown to be above chance")
    assert "follow the categories" not in ari_reading(0.2, 0.051)
    assert "follow the categories weakly" in ari_reading(0.2, 0.05)


def test_the_mcnemar_line_says_its_scope_when_a_minority_of_rows_share_a_vector() -> None:
    # 30% of the test rows share a training vector: those rows are not independent
    # trials, so the line must say the test speaks for these items
    from visrec.analysis.rating_knn import KnnRatingResult

    conf = pd.DataFrame([[500, 500], [490, 510]], index=[1.0, 5.0], columns=[1.0, 5.0])
    res = KnnRatingResult(
        accuracy=0.505, majority_accuracy=0.5, majority_class=1.0, mae=0.0,
        majority_mae=0.0, confusion=conf, n_train=8000, n_test=2000,
        labels=[1.0, 5.0], k=3,
    )  # fmt: skip
    scope = "; an item's test rows share its vector, so it speaks for these items)"
    assert not res.against_majority()[1].endswith(scope)
    assert dataclasses.replace(res, same_vector_share=0.3).against_majority()[1].endswith(scope)
    assert dataclasses.replace(res, same_vector_share=0.01).against_majority()[1].endswith(scope)


def test_knn_rating_json_notes_carry_the_same_vector_caveat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 12 items each rated by 4 users: every test row has a training row of the very
    # same vector, and the JSON must say so as stderr does
    rng = np.random.default_rng(0)
    ids = [f"i{j}" for j in range(12)]
    blob = np.arange(12) % 3
    vecs = (np.eye(3, 4)[blob] * 40 + rng.normal(scale=0.2, size=(12, 4))).astype(np.float32)
    write_vectors(
        tmp_path / "v.parquet", ItemVectors(ids=ids, vectors=vecs, has_image=np.ones(12, bool))
    )
    rows = [(f"u{u}", ids[j], float(blob[j] + 3)) for j in range(12) for u in range(4)]
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(
        tmp_path / "r.csv", index=False
    )
    out = tmp_path / "knn.json"
    argv = ["knn-rating", "--interactions", str(tmp_path / "r.csv")]
    assert main([*argv, "--vectors", str(tmp_path / "v.parquet"), "--json", str(out)]) == 0
    err = capsys.readouterr().err
    data = json.loads(out.read_text())
    assert data["same_vector_share"] == 1.0
    caveat = (
        "100.0% of the test rows with a picture have a training row with the very same "
        "vector (another rating of the same item, or the same photo under another id"
    )
    assert caveat in err
    assert [n for n in data["notes"] if n.startswith(caveat)], data["notes"]


def test_the_chance_purity_equal_to_the_one_cluster_share_prints_as_it() -> None:
    # one cluster of 80 items, at most 9 of a label: every shuffle's purity is 9/80,
    # and their mean must print 0.113 as the share does, not 0.112 from float noise
    from visrec.analysis.cluster import shuffled_levels

    labels = np.repeat([f"c{j}" for j in range(9)], [9] * 8 + [8])
    _, purity = shuffled_levels(np.zeros(80, dtype=np.int64), labels)
    assert purity == 9 / 80
    assert f"{purity:.3f}" == "0.113"


def test_data_summary_names_rows_repeating_a_user_item_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a row after its pair's first is counted and said as such (not "repeated pairs":
    # 2 rows over 1 pair here)
    f = tmp_path / "r.csv"
    f.write_text("user_id,item_id\nu1,a\nu1,a\nu1,a\nu2,b\n")
    assert main(["data", "summary", str(f)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^ {3}rows repeating a user-item pair +2  \(50\.0%\)$", out, flags=re.M), out


# --- cases a fuzz of the verdicts found (5,300 evaluate results, 700 rating tables) ---


def _fz(runs: list[tuple[int, str, float | None, float]], n: int, protocol: str = "warm"):  # type: ignore[no-untyped-def]
    """A result dict from ``(seed, model, recall, auc)`` rows."""
    return {
        "protocol": protocol,
        "k": 20,
        "seeds": list(range(n)),
        "splits": {},
        "runs": [
            {"seed": s, "model": m, "recall": r, "ndcg": r, "auc": a, "tuned": None}
            for s, m, r, a in runs
        ],
    }


def test_most_seeds_one_way_and_the_mean_the_other_is_no_call() -> None:
    # vbpr a hair better on 5 of 6 seeds, far worse on one: not "Pictures help"
    runs = [(s, "bpr", 0.4, 0.9) for s in range(6)]
    runs += [(s, "vbpr", 0.401 if s < 5 else 0.1, 0.9) for s in range(6)]
    call = verdict(_fz(runs, 6))[-1]
    assert call.startswith("No clear difference: -0.0492 Recall@20 (-12.3%) on average")
    assert "but the mean goes the other way" in call and "Weak evidence" not in call


def test_seeds_a_model_failed_on_are_said_not_asked_for_again() -> None:
    runs = [(s, "bpr", 0.4, 0.9) for s in range(5)]
    runs += [(s, "vbpr", 0.45 if s < 2 else None, 0.9) for s in range(5)]
    head, call = verdict(_fz(runs, 5))
    assert head.endswith("(on the 2 seeds both ran).")
    assert (
        "only 2 of the 5 seeds have both figures (a call needs 3): see why a model has none "
        "on the others." in call
    )
    one = [(s, "bpr", 0.4, 0.9) for s in range(3)]
    one += [(s, "vbpr", 0.45 if s == 0 else None, 0.9) for s in range(3)]
    assert verdict(_fz(one, 3))[0].endswith("(on the 1 seed both ran).")


def test_cold_counts_a_picture_model_repeating_another_once() -> None:
    runs = [(s, m, 0.3, 0.6 + s / 100) for s in range(3) for m in ("vbpr", "vbpr@x")]
    line = verdict(_fz(runs, 3, "cold-items"))[1]
    assert "above chance: above 0.5 on 3 of 3 splits of this data; sign test p = 0.125)" in line
    assert "best of 2" not in line


def test_a_recall_equal_to_the_random_orders_after_rounding_is_said_so() -> None:
    runs = [(s, "popularity", 0.1004, 0.5) for s in range(3)]
    runs += [(s, "vbpr", 0.1, 0.6) for s in range(3)]
    assert (
        "Recall@20 0.100, about that of a random order (0.100)"
        in verdict(_fz(runs, 3, "cold-items"))[1]
    )


def _rr(mf: list[float | None], vis: list[float | None], knn: float | None = 1.5) -> pd.DataFrame:
    rows = []
    for s, (a, b) in enumerate(zip(mf, vis, strict=True)):
        rows += [
            {"seed": s, "model": "item mean", "uses": "baseline", "rmse": 1.03},
            {"seed": s, "model": "KNN k=3 (image)", "uses": "picture", "rmse": knn},
            {"seed": s, "model": "biased MF", "uses": "ratings", "rmse": a},
            {"seed": s, "model": "biased MF + visual", "uses": "ratings + picture", "rmse": b},
        ]
    return pd.DataFrame(rows)


def test_rating_verdict_edge_cases_from_the_fuzz() -> None:
    from visrec.report.rating import rating_verdict

    # MF + visual without an RMSE anywhere: not "no difference"
    lines = rating_verdict(_rr([0.92, 0.93, 0.91], [None] * 3))
    assert lines[-1].endswith("no split has both RMSEs, so they cannot be compared.")
    # better on 5 of 6 splits, much worse on one: no "helps"
    mixed = rating_verdict(_rr([0.92] * 6, [0.919] * 5 + [1.5]))
    assert mixed[-1].startswith("No clear difference from the picture in the MF: +0.0958")
    assert "but the mean goes the other way" in mixed[-1]
    # a KNN without an RMSE: no sentence of nan
    assert not any("nan" in line for line in rating_verdict(_rr([0.92] * 3, [0.91] * 3, None)))
    # no RMSE at all: said, not a crash
    empty = pd.DataFrame([{"seed": 0, "model": "biased MF", "uses": "ratings", "rmse": None}])
    assert rating_verdict(empty) == ["No model has an RMSE on any split: nothing to compare."]


def test_cold_start_makes_no_call_when_the_mean_auc_goes_the_other_way() -> None:
    # above 0.5 on 5 of 6 splits, far below on one: not "above chance" at a mean of 0.44
    runs = [(s, "vbpr", 0.2, 0.51 if s < 5 else 0.1) for s in range(6)]
    line = verdict(_fz(runs, 6, "cold-items"))[1]
    assert "(no clear call: above 0.5 on 5 of 6 splits" in line
    assert "but the mean AUC goes the other way)" in line and "Weak evidence" not in line


def test_cold_start_says_why_it_counts_fewer_picture_models() -> None:
    runs = [(s, m, 0.3, 0.6 + s / 100) for s in range(4) for m in ("vbpr", "vbpr@x")]
    runs += [(s, "visual-cf", 0.3, 0.55) for s in range(4)]
    line = verdict(_fz(runs, 4, "cold-items"))[1]
    assert (
        "0.125 for the best of 2 picture models (models repeating another seed for seed "
        "counted once), picked on these seeds" in line
    )


def test_a_ratio_that_rounds_to_one_is_about_the_random_orders() -> None:
    runs = [(s, "popularity", 0.100, 0.5) for s in range(3)]
    runs += [(s, "vbpr", 0.1006, 0.6) for s in range(3)]
    line = verdict(_fz(runs, 3, "cold-items"))[1]
    assert "about that of a random order (0.100)" in line and "1.0 times" not in line


def test_one_seed_with_both_figures_is_said_in_the_singular() -> None:
    runs = [(s, "bpr", 0.4, 0.9) for s in range(3)]
    runs += [(s, "vbpr", 0.42 if s == 0 else None, 0.9) for s in range(3)]
    assert "only 1 of the 3 seeds has both figures (a call needs 3)" in verdict(_fz(runs, 3))[-1]


def test_rating_models_that_share_no_split_are_not_said_one_split_apart() -> None:
    rows = [
        {"seed": 0, "model": "biased MF + visual", "uses": "ratings + picture", "rmse": 0.90},
        {"seed": 1, "model": "biased MF", "uses": "ratings", "rmse": 0.93},
        {"seed": 2, "model": "item mean", "uses": "baseline", "rmse": 1.03},
    ]
    first = rating_verdict(pd.DataFrame(rows))[0]
    assert first == (
        "Lowest RMSE: biased MF + visual, 0.900 stars (biased MF, 0.930, ran on other "
        "splits: no split has both RMSEs)."
    )
