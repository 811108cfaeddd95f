"""One way to write a p-value and one way to show ids in a note, shared by every
command (two copies had drifted: a 0.0501 shown as 0.050 next to "p above 0.05", and
ids written out in full, 5,000 characters each)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from visrec.cli import main
from visrec.commands._common import name_ids
from visrec.embed.store import ItemVectors, write_vectors
from visrec.evaluation.significance import p_figure, p_said, sign_p, two_sided_sign_p
from visrec.report.evaluation import Picks, sign_test_said


def test_sign_p_is_the_binomial_tail() -> None:
    for wins, losses in [(3, 0), (5, 1), (22, 10), (7, 7), (1, 9)]:
        n = wins + losses
        exact = sum(math.comb(n, j) for j in range(wins, n + 1)) / 2**n
        assert sign_p(wins, losses) == pytest.approx(exact, rel=1e-12)
    assert sign_p(0, 0) == 1.0 and sign_p(0, 4) == 1.0


def test_two_sided_matches_scipy_and_survives_many_rows() -> None:
    from scipy.stats import binomtest

    rng = random.Random(0)
    pairs = [(rng.randint(0, 400), rng.randint(0, 400)) for _ in range(300)]
    pairs += [(3505, 4674), (50_000, 50_400), (10, 2_000), (600, 600)]
    for a, b in pairs:
        if a + b:
            want = binomtest(a, a + b, 0.5).pvalue
            assert two_sided_sign_p(a, b) == pytest.approx(want, rel=1e-9, abs=1e-300)
    # past 1,023 rows a float 2.0 ** n overflowed; a million rows is an answer, not an error
    assert sign_p(501_000, 499_000) == pytest.approx(0.0228, abs=2e-4)  # z = 2: 1 - Phi(2)


def test_a_p_next_to_the_line_is_not_rounded_onto_it() -> None:
    assert p_figure(0.125) == "0.125" and p_said(0.125) == "p = 0.125"
    assert p_figure(0.0501) == "0.0501" and p_figure(0.0499) == "0.0499"
    assert p_said(0.0004) == "p < 0.001"


def test_the_picked_p_reads_as_the_plain_one() -> None:
    # 22 of 32 seeds, the best of 2 picture models: p = 0.025, 0.0501 allowing for the
    # pick; a "0.050" there read as called, next to "Weak evidence (... above 0.05)"
    said = sign_test_said(22, 10, Picks(up=2, up_what="picture models"))
    assert said == (
        "; sign test p = 0.025, 0.0501 for the best of 2 picture models, picked on these seeds"
    )
    assert sign_test_said(40, 0) == "; sign test p < 0.001"


def test_name_ids_cuts_each_id() -> None:
    long_ids = ["x" * 5_000, "y" * 5_000, "z"]
    said = name_ids(long_ids, "f.csv", limit=2)
    assert len(said) < 120, said
    assert said == f" (f.csv: {'x' * 37!r}..., {'y' * 37!r}... and 1 more)".replace("'...", "...'")


def test_an_error_over_long_ids_stays_a_readable_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter = tmp_path / "inter.csv"
    ids = [c * 5_000 for c in "abcd"]
    inter.write_text(
        "user_id,item_id\n" + "".join(f"u{n},{i}\n" for n, i in enumerate(ids)), encoding="utf-8"
    )
    vectors = tmp_path / "v.parquet"
    write_vectors(
        vectors, ItemVectors(np.array(["1", "2"]), np.eye(2, dtype=np.float32), np.ones(2, bool))
    )
    argv = ["train", "--model", "vbpr", "--interactions", str(inter), "--vectors", str(vectors)]
    assert main([*argv, "-o", str(tmp_path / "m")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "a" * 100 not in err
    assert max(len(line) for line in err.splitlines()) < 1_000, err


def test_numpy_counts_give_the_same_p() -> None:
    # np.int64 counts overflowed `1 << n` and the running terms: p = inf, or an error
    assert sign_p(np.int64(45), np.int64(20)) == pytest.approx(sign_p(45, 20), rel=1e-12)
    assert sign_p(np.int64(70), np.int64(0)) == pytest.approx(0.5**70, rel=1e-12)
    assert two_sided_sign_p(np.int64(40), np.int64(30)) == pytest.approx(
        two_sided_sign_p(40, 30), rel=1e-12
    )
    assert sign_test_said(np.int64(45), np.int64(20)) == "; sign test p = 0.001"


def test_many_flips_take_scipys_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    # the exact sum grows quadratically: a million McNemar rows must not take it
    from scipy import stats

    calls: list[int] = []
    real = stats.binom.sf

    def counted(k: int, n: int, p: float) -> float:
        calls.append(n)
        return float(real(k, n, p))

    monkeypatch.setattr(stats.binom, "sf", counted)
    sign_p(600, 400)
    assert calls == []
    sign_p(501_000, 499_000)
    assert calls == [1_000_000]


def test_a_p_just_above_the_line_shows_the_digits_that_say_so() -> None:
    assert p_figure(0.050016) == "0.05002"  # 159 against 125 McNemar rows
    assert p_said(two_sided_sign_p(159, 125)) == "p = 0.05002"
    assert p_figure(0.049984) == "0.0500"  # at or below: the rule takes it, as shown
    assert p_figure(0.05) == "0.0500"


def test_a_p_a_hair_above_the_line_is_never_shown_on_it() -> None:
    p = float(np.nextafter(0.05, 1.0))
    assert float(p_figure(p)) > 0.05
