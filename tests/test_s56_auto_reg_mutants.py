"""Mutation audit of reg="auto" (src/visrec/models/_auto_reg.py), session 56 task B.

Scope was cut for time: these tests pin the pure decision helpers only (the validation
split, the choice and its ties, the notes and save/load of the chosen value were not
audited).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from visrec.models import _auto_reg as ar


def _seen(rows: list[int], cols: list[int], n_items: int) -> sp.csr_matrix:
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(max(rows) + 1, n_items))


def test_pairs_per_item_ignores_untrained_items() -> None:
    """Kills `> 0` -> `>= 0` in pairs_per_item (would count empty items)."""
    seen = _seen([0, 0, 1, 1], [0, 1, 0, 1], n_items=10)
    assert ar.pairs_per_item(seen) == 2.0


def test_threshold_is_inclusive() -> None:
    """Kills `per_item >= DENSE` -> `>` in _sparse_auto (and a threshold other than 40):
    exactly 40 pairs per item is dense, 39 sparse."""

    class M:
        reg = "auto"

        def _penalties(self) -> tuple[str, ...]:
            return ("reg",)

    rows = list(range(40))
    dense = _seen(rows, [0] * 40, n_items=1)
    assert ar.pairs_per_item(dense) == 40.0
    assert ar._sparse_auto(M(), dense) is None
    sparse = _seen(rows[:39], [0] * 39, n_items=1)
    assert ar._sparse_auto(M(), sparse) == (["reg"], 39.0)


def test_label_and_digits() -> None:
    """Kills mutants of label's separator/format and distinct_digits' range."""
    assert ar.label({"reg": 0.1, "reg_visual": 0.03}) == "reg=0.1, reg_visual=0.03"
    assert ar.distinct_digits([0.1, 0.2]) == 3
    assert ar.distinct_digits([0.1381, 0.1384]) == 4
    assert ar.distinct_digits([0.10001, 0.10002]) == 5
    assert ar.distinct_digits([0.1, 0.1 + 1e-9]) == 6
