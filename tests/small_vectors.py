"""Hand-written item vectors for tests (imported as ``tiny_embed`` and ``quiet_http`` are)."""

from __future__ import annotations

import numpy as np

from visrec.embed.store import ItemVectors


def item_vectors(
    ids: list[str], rows: list[list[float]], has: list[bool] | None = None
) -> ItemVectors:
    """``ids`` with the vectors ``rows`` (float32), all with an image unless ``has`` says
    otherwise, from a backbone named "test"."""
    return ItemVectors(
        ids=np.array(ids, dtype=object),
        vectors=np.array(rows, dtype=np.float32),
        has_image=np.array([True] * len(ids) if has is None else has),
        meta={"backbone": "test"},
    )
