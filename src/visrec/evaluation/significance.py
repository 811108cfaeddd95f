"""Exact binomial (sign) tests and how their p-values are written, shared by the
evaluation report's seed-by-seed verdicts and knn-rating's McNemar test so that the
same p reads the same everywhere."""

from __future__ import annotations

import math
import numbers
from decimal import ROUND_HALF_UP, Decimal
from typing import SupportsInt, cast

import numpy as np

__all__ = ["p_figure", "p_said", "sign_p", "two_sided_sign_p"]


def sign_p(wins: int, losses: int) -> float:
    """One-sided sign test: P(at least ``wins`` of ``wins + losses`` fair coin flips).
    Exact in integers up to 1,000 flips (seeds; the one division rounds correctly);
    beyond, scipy's binomial tail (McNemar's test sees up to millions of rows, where the
    integer sum grows quadratically and a float ``2.0 ** n`` overflows)."""
    wins, losses = _count("wins", wins), _count("losses", losses)
    n = wins + losses
    if n == 0 or wins <= 0:
        return 1.0
    if n > 1000:
        from scipy.stats import binom

        return float(binom.sf(wins - 1, n, 0.5))
    term = math.comb(n, wins)  # C(n, j) for j = wins, wins + 1, ...: each from the last
    total = 0
    for j in range(wins, n + 1):
        total += term
        term = term * (n - j) // (j + 1)
    return total / (1 << n)


def _count(name: str, value: object) -> int:
    """``value`` as a Python int (numpy counts: ``1 << n`` and the terms overflow), once
    it is a count: a negative one gave p = 0 (3 wins, -1 losses) and 2.7 was cut to 2."""
    whole_float = isinstance(value, float | np.floating) and float(value).is_integer()
    if isinstance(value, bool | np.bool_) or not (
        isinstance(value, numbers.Integral) or whole_float
    ):
        raise ValueError(f"sign test: {name} must be a whole number of pairs, got {value!r}")
    count = int(cast(SupportsInt, value))
    if count < 0:
        raise ValueError(f"sign test: {name} must not be negative, got {count}")
    return count


def two_sided_sign_p(a: int, b: int) -> float:
    """Two-sided sign test of ``a`` against ``b`` (McNemar's exact test on the pairs
    only one side gets right): the same as ``scipy.stats.binomtest(a, a + b).pvalue``."""
    return min(1.0, 2.0 * sign_p(max(a, b), min(a, b)))


def p_figure(p: float) -> str:
    """A p as a figure: ``"0.125"``; ``"0.0501"`` next to 0.05, with as many more
    digits as it takes to fall on the side of 0.05 that ``p`` is on (0.050016 is
    ``"0.05002"``: a rounded ``"0.050"`` or ``"0.0500"`` would read as a p the
    p <= 0.05 rule takes); ``"< 0.001"`` below that."""
    if p < 0.001:
        return "< 0.001"
    digits = 4 if round(p, 3) == 0.05 else 3
    text = _half_up(p, digits)
    while digits < 12 and (float(text) <= 0.05) != (p <= 0.05):
        digits += 1
        text = _half_up(p, digits)
    return text if (float(text) <= 0.05) == (p <= 0.05) else repr(float(p))


def _half_up(p: float, digits: int) -> str:
    # sign-test p's are k / 2**n, exact halves in binary: f"{0.0625:.3f}" rounds half
    # to even ("0.062"), where a reader rounding by hand writes 0.063
    return str(Decimal(repr(float(p))).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))


def p_said(p: float) -> str:
    """``"p = 0.125"``, ``"p = 0.0501"`` or ``"p < 0.001"``."""
    figure = p_figure(p)
    return f"p {figure}" if figure.startswith("<") else f"p = {figure}"
