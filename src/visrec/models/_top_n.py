"""The top-``n`` lists of scores every model's ``recommend`` and ``similar_items`` (and
:func:`visrec.search.knn.similar_items`) return: :func:`top_n`, the best ``n`` per row
with ``-inf`` as the mark of what must not be listed, and :func:`check_list_length`,
the check of ``n``. Importable from ``visrec.models.base`` as well.
"""

from __future__ import annotations

import numpy as np

from visrec._ranking import top_candidates
from visrec.errors import VisrecError


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``n`` largest entries per row, best first: two arrays
    of shape ``(n_rows, min(n, n_cols))``.

    Entries equal to ``-inf`` are never returned: they become index -1 / score -inf; so
    are NaN entries (a fit that partly diverged), which would otherwise take the top.
    Ties break by lower index (stable), so results are deterministic.

    This is :func:`visrec.evaluation.metrics.top_k`'s ranking with ``-inf`` as the
    exclusion mark: a model scores ``-inf`` what it must not recommend (seen items,
    items outside ``items=``, untrained items), so those are dropped rather than listed
    last. ``top_k`` takes the exclusion as a separate mask and keeps ``-inf``-scored
    candidates, ranked last, because an evaluation must rank every candidate.
    """
    n = check_list_length(n)
    scores = np.fmax(np.atleast_2d(scores), -np.inf)  # NaN -> -inf (a copy)
    # past the candidates every column would be padding: n=10**13 asked for "all"
    # (and no candidates at all, items=[], is zero columns, not n of padding)
    return top_candidates(scores, min(n, scores.shape[1]))


def check_list_length(n: object) -> int:
    """``n`` as an int when it is a positive integer (``True`` and ``2.5`` are not)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise VisrecError(f"n must be a positive integer, got {n!r}")
    if n <= 0:
        raise VisrecError(f"n must be positive, got {n}")
    return int(n)
