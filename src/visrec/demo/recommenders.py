"""The demo's recommender comparison: popularity, BPR, VBPR and visual-cf on the warm and
cold-start-items protocols (:func:`visrec.evaluation.runner.run_experiment`), for
:func:`visrec.demo.pipeline.run_demo`."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from visrec.errors import VisrecError


def _recommenders_wanted(
    recommenders: bool | None, data_dir: str | os.PathLike[str] | None
) -> tuple[bool, bool]:
    """Whether the recommender comparison runs, and whether the caller turned it off."""
    if recommenders is None:
        return data_dir is None, False
    # False means the caller turned them off (--no-recommenders)
    return recommenders, not recommenders


REC_K = 10


def _compare_recommenders(
    interactions: pd.DataFrame, iv: Any, random_state: int, progress: bool = False
) -> tuple[pd.DataFrame | None, str]:
    """Popularity, BPR, VBPR and visual-cf on the warm and cold-start-items protocols, one seed.

    Returns ``(table, note)``; ``table`` is None with the reason in ``note`` when the
    models or the runner are not available or the data is too small.
    """
    try:
        from visrec.evaluation.runner import run_experiment
    except ImportError as exc:
        return None, f"skipped: the evaluation runner is not available ({exc})"
    frames = []
    caveats: list[str] = []
    for protocol in ("warm", "cold-items"):
        try:
            res = run_experiment(
                interactions[["user_id", "item_id"]], iv, protocol,
                models=("popularity", "bpr", "vbpr", "visual-cf"), seeds=(random_state,), k=REC_K,
                progress=progress,  # its bars: 160 s on ML-100K went by in silence
            )  # fmt: skip
        except (ImportError, VisrecError) as exc:
            return None, f"skipped: {protocol} protocol failed ({exc})"
        runs = res.runs.set_index("model")
        # what `visrec evaluate` says under its table, said here too
        stats = [v for v in res.info.values() if "skipped" not in v]
        n_cand = max((int(v["n_candidates"]) for v in stats), default=0)
        n_cand -= protocol != "cold-items"  # a warm test user's training item is no candidate
        if stats and n_cand <= REC_K:
            caveats.append(
                f"{protocol}: {n_cand:,} candidate(s) per test user at most, <= {REC_K}: "
                f"Recall@{REC_K} is 1 for any ranking; compare AUC and NDCG@{REC_K}"
            )
        if runs["auc"].isna().any():
            caveats.append(
                f"{protocol}: AUC n/a: no test user has a candidate they did not interact "
                "with (nothing to rank the held-out items above)"
            )
        frames.append(
            pd.DataFrame(
                {
                    "protocol": protocol,
                    "AUC": runs["auc"],
                    f"Recall@{REC_K}": runs["recall"],
                    f"NDCG@{REC_K}": runs["ndcg"],
                    "fit s": runs["fit_s"],
                }
            )
        )
    table = pd.concat(frames)
    table.index.name = "model"
    note = (
        f"Top-{REC_K} recommendation of held-out interactions, one seed. warm: a random 20% "
        "of each user's items held out; cold-items: 20% of the items held out with all "
        "their interactions, so only the models that read the pictures (VBPR; visual-cf, "
        "which is BPR plus a map from picture to BPR factors) can rank them "
        "(the others score them all the same: AUC 0.5, and their Recall and NDCG there "
        "are those of one random order of the new items, i.e. chance). AUC 0.5 is chance, "
        "1 is perfect."
    )
    if caveats:
        note += " Note: " + "; ".join(caveats) + "."
    return table, note
