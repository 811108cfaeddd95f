"""The result of ``visrec demo``: :class:`DemoResult`, what
:func:`visrec.demo.pipeline.run_demo` computed, with what the CLI prints and what goes to
``results.json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class DemoResult:
    """What :func:`run_demo` computed; ``format()`` is what the CLI prints.

    Attributes
    ----------
    dataset : str
        Dataset name.
    layout : str
        ``generated``, ``movielens``, ``fashion`` or ``generic``.
    n_items : int
        Items with an image file.
    n_embedded : int
        Items whose image gave a vector (``has_image``).
    failures : list of (item_id, path, reason)
        Images that could not be used.
    n_interactions : int
        Interaction rows used (0 when the dataset has none); with ``max_items`` only
        those of the sampled items.
    cluster : ClusterResult or None
    cluster_note : str or None
        Why clustering was skipped, or what was left out of it.
    knn : KnnRatingResult or None
    knn_note : str or None
        Why the rating KNN was skipped (e.g. "no ratings in this dataset"), or what
        was left out.
    recommenders : DataFrame or None
        One row per (protocol, model): AUC, Recall@10, NDCG@10, fit seconds.
    recommenders_note : str or None
        What the recommender comparison means, or why it was skipped.
    vectors_path, report_path, results_path : Path
    timings : dict of str to float
        Seconds per stage.
    notes : list of str
        Loader notes (dropped rows, counted).
    label_name : str
        What the categories are (``category``, ``first genre``, ``masterCategory``).
    """

    dataset: str
    layout: str
    n_items: int
    n_embedded: int
    failures: list[tuple[str, str, str]]
    n_interactions: int
    cluster: Any
    cluster_note: str | None
    knn: Any
    knn_note: str | None
    recommenders: pd.DataFrame | None
    recommenders_note: str | None
    vectors_path: Path
    report_path: Path
    results_path: Path
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    label_name: str = "category"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "layout": self.layout,
            "n_items": self.n_items,
            "n_embedded": self.n_embedded,
            "n_failures": len(self.failures),
            "failures": [list(map(str, f)) for f in self.failures],
            "n_interactions": self.n_interactions,
            "cluster": self.cluster.to_dict() if self.cluster is not None else None,
            "cluster_note": self.cluster_note,
            "knn_rating": self.knn.to_dict() if self.knn is not None else None,
            "knn_note": self.knn_note,
            "recommenders": None
            if self.recommenders is None
            else _recommender_rows(self.recommenders),
            "recommenders_note": self.recommenders_note,
            "vectors": str(self.vectors_path),
            "report": str(self.report_path),
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "notes": self.notes,
        }

    def section_notes(self) -> list[str]:
        """The notes on sections that ran (rows left out, the KNN's same-picture caveat),
        as ``note: ...`` lines; a section skipped says why in :meth:`format` instead."""
        return self._cluster_notes() + self._knn_notes()

    def _cluster_notes(self) -> list[str]:
        ran = self.cluster is not None and self.cluster_note
        return [f"note: {self.cluster_note}"] if ran else []

    def _knn_notes(self) -> list[str]:
        if self.knn is None:
            return []
        said = [self.knn.same_item_caveat(), self.knn_note]
        return [f"note: {n}" for n in said if n]

    def format(self, notes: bool = True) -> str:
        """The summary the CLI prints: clusters table + scores, KNN vs baseline; with
        ``notes`` False without :meth:`section_notes` (``visrec demo`` prints those on
        stderr, with every other note)."""
        lines = [f"== clusters vs {self.label_name} =="]
        if self.cluster is not None:
            lines.append(self.cluster.format())
            lines += self._cluster_notes() if notes else []
        elif self.cluster_note:
            lines.append(f"skipped: {self.cluster_note}")
        lines += ["", "== rating KNN on image vectors =="]
        if self.knn is not None:
            lines.append(self.knn.format())
            lines += self._knn_notes() if notes else []
        elif self.knn_note:
            lines.append(f"skipped: {self.knn_note}")
        lines += ["", "== recommenders: popularity vs BPR vs VBPR vs visual-cf =="]
        if self.recommenders is not None:
            # without the index name, which to_string prints as a row of its own
            table = self.recommenders.rename_axis(None)
            # seconds to a tenth, as the report gives them: 3.930 read like a metric
            seconds = {"fit s": lambda v: f"{v:.1f}"} if "fit s" in table.columns else {}
            lines.append(
                table.to_string(
                    float_format=lambda v: f"{v:.3f}",
                    formatters=seconds,
                    na_rep="n/a",
                )
            )
        if self.recommenders_note:
            lines.append(self.recommenders_note)
        return "\n".join(lines)


__all__ = ["DemoResult"]


def _recommender_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The recommenders table as ``evaluate --json`` names its figures (``auc``,
    ``recall``, ``ndcg``, ``fit_s`` and ``k``), not as printed (``Recall@10``, ``fit s``):
    one reader takes both files. A metric that is not defined (AUC with nothing to rank)
    is null: a bare NaN is no JSON."""
    from visrec.demo.recommenders import REC_K

    names = {"AUC": "auc", f"Recall@{REC_K}": "recall", f"NDCG@{REC_K}": "ndcg", "fit s": "fit_s"}
    rows = []
    for row in table.reset_index().to_dict(orient="records"):
        out = {names.get(str(k), str(k)): None if isinstance(v, float) and v != v else v
               for k, v in row.items()}  # fmt: skip
        rows.append({**out, "k": REC_K})
    return rows
