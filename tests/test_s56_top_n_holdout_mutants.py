"""Session 56: a small mutation audit of ``models._top_n`` and ``_holdout`` (14 mutants,
12 killed before by the protocol, evaluation, reg="auto" and top-n tests; this file pins
one more; one is equivalent: ``counts >= 2`` as ``counts >= 1``, since a one-row user's
``min(n_out, counts - 1)`` is 0 either way). tests/test_s56_ranking_helpers_mutants.py
pins the holdout rules on their own."""

from __future__ import annotations

import json

import numpy as np

from visrec.models._top_n import check_list_length


def test_a_numpy_list_length_comes_back_as_a_python_int() -> None:
    # mutant T6 (`return n`): an np.int64 came back as it was; json.dumps refuses one
    for given in (np.int64(3), np.int32(3), np.uint8(3), 3):
        n = check_list_length(given)
        assert type(n) is int
        assert json.dumps({"n": n}) == '{"n": 3}'
