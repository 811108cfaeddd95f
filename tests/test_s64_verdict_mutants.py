"""Session 64 mutation audit of ``report/verdict.py`` (after sessions 49, 52 and 54),
aimed at what those did not cover or what changed since: ``in_words_of`` /
``vectors_noun`` (vectors from ``visrec features``), the settings line, the list-filling
bound, the taste line, the popularity line, ``more_seeds``, ``signed_figure``'s digits,
the cold line's figures, ``as_result``, ``Picks.seen`` and the no-picture-model advice.

44 mutants: 29 killed before, 37 after, 7 equivalent:
- W02 (the regex's two alternatives swapped): "pictures" cannot match "picture models".
- W05 (the regex without ``\b``): no sentence holds either phrase inside a longer word.
- T03 (``profile_weight=`` read without ``e+-``): ``:g`` puts an exponent only after a
  non-zero mantissa, so on/off is read the same.
- T04 (only the first ``profile_weight=`` of a ``tuned`` string): it holds one.
- C02 (``ratio >= 1`` as ``> 1.05``): every ratio in [1, 1.05) shows "1.0" and is said
  "about" before this test is reached.
- C05 (``"ndcg" in runs`` dropped in the cold line): ``_check`` refuses runs without it.
- K03 (``min(1.0, ...)`` dropped from the two-sided p): it is weighed only after a call
  at p <= 0.125, where twice p is at most 0.25.
Each test below names the mutant it kills."""

from __future__ import annotations

from test_evaluation_report import _result
from visrec.report.verdict import signed_figure, verdict

PAIR = {"bpr": [0.3, 0.31, 0.32], "vbpr": [0.4, 0.41, 0.42]}


def test_every_setting_a_model_moved_is_said() -> None:
    """Kills D04 (only a model's first moved setting said): two of bpr's are named."""
    res = _result("warm", PAIR)
    res["params"] = {"bpr": {"epochs": 5, "lr": 0.01}}
    res["defaults"] = {"bpr": {"epochs": 80, "lr": 0.005}}
    assert verdict(res)[-1] == (
        "Settings away from the defaults: bpr epochs=5 (default 80), lr=0.01 (default 0.005); "
        "the answer is for these."
    )


def test_one_split_with_more_candidates_than_k_keeps_recall() -> None:
    """Kills F04 (the fewest candidates of any split taken for the list filling): one
    split of three has 500 candidates, so Recall@20 tells rankings apart there."""
    res = _result("warm", PAIR, n_candidates=21)
    assert verdict(res)[0].startswith("Recall@20 is 1 for any ranking here")
    res["splits"]["1"]["n_candidates"] = 500
    lines = verdict(res)
    assert lines[0].startswith("Best with pictures: vbpr, Recall@20 0.410; best without: bpr")
    assert not any("NDCG@20" in line for line in lines)


def test_a_tiny_one_seed_difference_is_said_with_its_digits() -> None:
    """Kills G01 (the cut-off for a line of zeros at 3 digits, not 12): a difference of
    0.00003 on one seed is said "+0.00003", and only one far below any figure in e-form."""
    lines = verdict(_result("warm", {"bpr": [0.3], "vbpr": [0.30003]}))
    assert lines[1] == "+0.00003 Recall@20 on one seed: run --seeds 3 or more."
    assert signed_figure(-2e-8, ".1%", one=True) == "-0.000002%"
    assert signed_figure(2e-16, ".4f", one=True) == "+2e-16"


def test_a_zero_one_seed_figure_is_said_as_zero() -> None:
    """Kills G03 (``one`` looking for the first digit of 0 too: log10(0) overflowed)."""
    assert signed_figure(0.0, ".4f", one=True) == "0.0000"
    assert signed_figure(-0.0, ".1%", one=True) == "0.0%"


def test_a_cold_picture_model_without_the_quoted_figure_says_n_a() -> None:
    """Kills C04 (``nan`` printed for the best picture model's missing NDCG@K): with
    the list filled, cold start quotes NDCG@20, which vbpr has on no split."""
    res = _result(
        "cold-items",
        {"popularity": [0.1, 0.1, 0.1], "vbpr": [0.3, 0.31, 0.32]},
        {"popularity": [0.5] * 3, "vbpr": [0.6, 0.62, 0.64]},
        n_candidates=20,
    )
    for run in res["runs"]:
        if run["model"] == "vbpr":
            run["ndcg"] = None
    line = verdict(res)[1]
    assert line.startswith(
        "Best with pictures: vbpr, AUC 0.620 (above chance: above 0.5 on 3 of 3 splits of "
        "this data; sign test p = 0.125), NDCG@20 n/a. Weak evidence"
    )
    assert "nan" not in line and "random order" not in line


class _MappingWithToDict(dict[str, object]):
    def to_dict(self) -> dict[str, object]:
        raise AssertionError("a mapping is read as it is, not through its to_dict()")


def test_a_mapping_with_a_to_dict_is_read_as_it_is() -> None:
    """Kills A01 (``as_result`` calling ``to_dict()`` on a mapping too)."""
    res = _MappingWithToDict(_result("warm", PAIR))
    assert verdict(res)[0].startswith("Best with pictures: vbpr, Recall@20 0.410")


def test_a_model_not_classed_beside_visual_cf_is_said_of_known_models_only() -> None:
    """Kills N01 (" known" dropped): with ``nope`` not classed, the advice beside
    visual-cf on a warm split says no *known* model uses pictures for known items."""
    res = _result("warm", {"bpr": [0.3, 0.31, 0.32], "visual-cf": [0.3, 0.31, 0.32],
                           "nope": [0.4, 0.41, 0.42]})  # fmt: skip
    assert verdict(res)[2] == (
        "No model known here uses pictures for items with interactions: add vbpr to "
        "--models to ask whether pictures help them."
    )


def test_vectors_given_are_not_asked_for_again() -> None:
    """Kills N02 ("give --vectors" said though the run had vectors)."""
    res = _result("warm", {"bpr": [0.3, 0.31, 0.32], "nope": [0.4, 0.41, 0.42]})
    res["inputs"] = {"vectors": "v.parquet"}
    assert verdict(res)[1] == (
        "No model known to read pictures ran: add vbpr or visual-cf to --models to ask "
        "whether pictures help."
    )
