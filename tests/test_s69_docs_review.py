"""Session 69 docs review: prose claims the snippet tests cannot see, pinned to the code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from visrec.evaluation import protocols, runner

ROOT = Path(__file__).resolve().parent.parent


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_run_experiment_exclude_on_warm_is_the_training_share_not_all() -> None:
    # run_experiment keeps out, on a warm split, only the share of `exclude` that the
    # split keeps for training (warm_known), seed by seed; the docs said "all on warm"
    pairs = pd.DataFrame({"user_id": [f"u{i}" for i in range(2000)], "item_id": "i"})
    kept = protocols.warm_known(pairs, seed=0, test_ratio=0.2)
    assert 0.75 < len(kept) / len(pairs) < 0.85
    assert np.array_equal(kept.index, protocols.warm_known(pairs, 0, 0.2).index)

    doc = _flat(runner.run_experiment.__doc__ or "")
    exclude = doc[doc.index("exclude : DataFrame") : doc.index("earlier : path")]
    assert "all on ``warm``" not in exclude
    assert "warm_known" in exclude and "1 - test_ratio" in exclude

    text = _flat((ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8"))
    para = text[text.index("`exclude` is a frame of") : text.index("`resume=PATH` turns on")]
    assert "all on warm" not in para
    assert "warm_known" in para and "1 - test_ratio" in para
