"""visrec: does what a product looks like make recommendations better?

The names most scripts need are here (``from visrec import make_model``;
``Recommender.load(folder)`` reads any saved model); each is
imported on first use, so ``import visrec`` stays light (no torch, no pandas) and the
CLI starts fast. Everything else lives in the stage packages: ``visrec.data``,
``visrec.embed``, ``visrec.analysis``, ``visrec.models``, ``visrec.evaluation``,
``visrec.search``, ``visrec.report``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it
_EXPORTS = {
    "Interactions": "visrec.data.interactions",
    "IdMap": "visrec.data.interactions",
    "load_interactions": "visrec.data.tables",
    "load_amazon_reviews": "visrec.data.amazon",
    "ItemVectors": "visrec.embed.item_vectors",  # read and written by visrec.embed.store
    "read_vectors": "visrec.embed.store",
    "write_vectors": "visrec.embed.store",
    "embed_images": "visrec.embed.extract",
    "embed_folder": "visrec.embed.extract",
    "cluster_vs_labels": "visrec.analysis.cluster",
    "knn_rating": "visrec.analysis.rating_knn",
    "rating_eval": "visrec.analysis.rating_eval",
    "Recommender": "visrec.models.base",
    "make_model": "visrec.models.registry",
    "register_model": "visrec.models.registry",
    "make_split": "visrec.evaluation.protocols",
    "run_experiment": "visrec.evaluation.runner",
    "similar_items": "visrec.search.knn",
    "VisrecError": "visrec.errors",
}

__all__ = [
    "IdMap",
    "Interactions",
    "ItemVectors",
    "Recommender",
    "VisrecError",
    "__version__",
    "cluster_vs_labels",
    "embed_folder",
    "embed_images",
    "knn_rating",
    "load_amazon_reviews",
    "load_interactions",
    "make_model",
    "make_split",
    "rating_eval",
    "read_vectors",
    "register_model",
    "run_experiment",
    "similar_items",
    "write_vectors",
]

if TYPE_CHECKING:
    __version__: str
    from visrec.analysis.cluster import cluster_vs_labels
    from visrec.analysis.rating_eval import rating_eval
    from visrec.analysis.rating_knn import knn_rating
    from visrec.data.amazon import load_amazon_reviews
    from visrec.data.interactions import IdMap, Interactions
    from visrec.data.tables import load_interactions
    from visrec.embed.extract import embed_folder, embed_images
    from visrec.embed.store import ItemVectors, read_vectors, write_vectors
    from visrec.errors import VisrecError
    from visrec.evaluation.protocols import make_split
    from visrec.evaluation.runner import run_experiment
    from visrec.models.base import Recommender
    from visrec.models.registry import make_model, register_model
    from visrec.search.knn import similar_items


def _version() -> str:
    # read on first use: importlib.metadata costs 50 ms of every start, during which a
    # Ctrl-C would show a traceback instead of the CLI's "interrupted"
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("visrec")
    except PackageNotFoundError:  # running from a source tree without install
        return "0.0.0+local"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'visrec' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup does not come here
    return value


def __dir__() -> list[str]:
    # the public names, not this module's own imports (Any, importlib, version...)
    return sorted({*__all__, *_EXPORTS})
