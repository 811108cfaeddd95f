"""The demo's recommender comparison: popularity, BPR, VBPR and visual-cf on the warm and
cold-start-items protocols (:func:`visrec.evaluation.runner.run_experiment`), for
:func:`visrec.demo.pipeline.run_demo`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from visrec.errors import VisrecError, counted
from visrec.evaluation.experiment_result import NOTHING_TO_RANK


def _recommenders_wanted(
    recommenders: bool | None, data_dir: str | os.PathLike[str] | None
) -> tuple[bool, bool]:
    """Whether the recommender comparison runs, and whether the caller turned it off."""
    if recommenders is None:
        return data_dir is None, False
    # False means the caller turned them off (--no-recommenders)
    return recommenders, not recommenders


REC_K = 10
PROTOCOLS = ("warm", "cold-items")


def record_paths(out: Path) -> list[Path]:
    """The resume records of the comparison in the demo's folder ``out``, one per
    protocol: ``run_record.forget`` drops runs by (seed, model) only, so the protocols
    cannot share one. Hidden, as the demo's own files are."""
    return [out / f".recommenders-{protocol}.partial.jsonl" for protocol in PROTOCOLS]


def drop_records(out: Path) -> None:
    """Remove the comparison's resume records from ``out`` (its results are written, or
    ``resume=False``). Only files: a folder someone put there is refused before any
    work (``run_demo``), not removed."""
    for record in record_paths(out):
        if record.is_file() or record.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                record.unlink()


def _compare_recommenders(
    interactions: pd.DataFrame,
    iv: Any,
    random_state: int,
    progress: bool = False,
    *,
    records: Sequence[Path] | None = None,
    tell: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame | None, str]:
    """Popularity, BPR, VBPR and visual-cf on the warm and cold-start-items protocols, one seed.

    ``records`` (one per protocol, :func:`record_paths`): every finished run is recorded
    there and a rerun reuses it (``tell`` gets the "resuming: ..." lines); the records
    stay until the caller drops them, once the results are written.

    Returns ``(table, note)``; ``table`` is None with the reason in ``note`` when the
    models or the runner are not available or the data is too small.
    """
    try:
        from visrec.evaluation.runner import run_experiment
    except ImportError as exc:
        return None, f"skipped: the evaluation runner is not available ({exc})"
    frames = []
    caveats: list[str] = []
    failed: list[str] = []
    for i, protocol in enumerate(PROTOCOLS):
        try:
            res = run_experiment(
                interactions[["user_id", "item_id"]], iv, protocol,
                models=("popularity", "bpr", "vbpr", "visual-cf"), seeds=(random_state,), k=REC_K,
                progress=progress,  # its bars: 160 s on ML-100K went by in silence
                resume=None if records is None else records[i], note=tell, keep_record=True,
            )  # fmt: skip
        except (ImportError, VisrecError) as exc:
            # the protocols already compared stay: their models were fitted and scored
            failed.append(f"{protocol} protocol failed ({exc})")
            caveats.append(f"{protocol}: skipped, the protocol failed ({exc})")
            continue
        runs = res.runs.set_index("model")
        # what `visrec evaluate` says under its table, said here too
        stats = [v for v in res.info.values() if "skipped" not in v]
        n_cand = max((int(v["n_candidates"]) for v in stats), default=0)
        n_cand -= protocol != "cold-items"  # a warm test user's training item is no candidate
        no_auc = runs["auc"].isna()
        if no_auc.all():
            caveats.append(f"{protocol}: {NOTHING_TO_RANK}")
        elif stats and n_cand <= REC_K:
            caveats.append(
                f"{protocol}: {counted(n_cand, 'candidate')} per test user at most, <= {REC_K}: "
                f"Recall@{REC_K} is 1 for any ranking; compare AUC and NDCG@{REC_K}"
            )
        if no_auc.any() and not no_auc.all():
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
    if not frames:
        return None, "skipped: " + "; ".join(failed)
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
