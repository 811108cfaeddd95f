"""Benchmark: visrec's VBPR against Cornac 3.0.1's VBPR on MovieLens-100K posters.

Both models are trained in one run on the same split with the same factors and epochs
(both on the CPU; Cornac: ``k``, ``k2``, ``n_epochs``, learning rate 0.005, its default
batch of 100;
ours: ``factors``, ``visual_factors``, ``epochs``, its defaults otherwise, except that
its fine-tuning epochs of the free terms, which come on top of ``epochs``, are off
unless ``--finetune-epochs N`` is given, so that both train the same number; ours
trains on 256 principal components of the vectors, its default, where Cornac uses all:
``--visual-dim 0`` gives ours the full width too), and both are
scored by visrec's metrics (AUC, Recall@K, NDCG@K over all candidates except the
user's training items). Cornac is a benchmark-only dependency (``pip install
'.[bench]'`` in a checkout, i.e. ``cornac==3.0.1``); the visrec package never imports it.

Cold split (``--cold``): Cornac's VBPR only scores items it was trained on. For the
held-out items this script applies Cornac's own learned visual terms,
``theta_u . (E f) + beta' . f`` (``beta_i`` = 0 and no ``gamma_i`` for a new item),
which is the most Cornac's model can say about them.

Usage::

    python benchmarks/vbpr_vs_cornac.py --vectors /path/ml100k.parquet [--cold]
    python benchmarks/vbpr_vs_cornac.py --data ../shared/data/movielens-100k-posters \\
        --epochs 30 --k 10 --k2 10 --seed 0 --json out.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from _machine import machine_line
from _shared_data import SHARED_DATA
from visrec._atomic import write_text_atomic
from visrec._cache import cache_dir
from visrec.cli import run_command
from visrec.commands._checks import check_at_least
from visrec.commands._common import check_output_file, load_interactions_frame
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors, read_vectors
from visrec.errors import VisrecError
from visrec.evaluation.protocols import Split, cold_items_split, warm_split
from visrec.evaluation.runner import evaluate_model
from visrec.models.base import Recommender
from visrec.models.registry import make_model

DEFAULT_DATA = SHARED_DATA / "movielens-100k-posters"


class CornacScores(Recommender):
    """Adapter: a fitted Cornac VBPR seen through visrec's ``Recommender`` interface.

    Scores come from Cornac's ``score(user_idx)`` (all its known items), reordered from
    Cornac's ``uid_map``/``iid_map`` into the split's id order. New items are scored
    with Cornac's learned visual terms only (see the module docstring).
    """

    name = "cornac-vbpr"
    scores_new_items = True
    cornac_: Any
    users_: np.ndarray  # the split's users and items as Cornac's indices
    items_: np.ndarray

    def __init__(self) -> None:
        pass

    @classmethod
    def wrap(cls, model: Any, train_set: Any, train: Interactions) -> CornacScores:
        self = cls()
        self.cornac_ = model
        self.user_map_ = train.user_map
        self.item_map_ = train.item_map
        self.seen_ = train.to_csr("binary")
        self.users_ = np.asarray([train_set.uid_map[u] for u in train.user_map.ids])
        self.items_ = np.asarray([train_set.iid_map[i] for i in train.item_map.ids])
        return self

    def _fit(self, interactions: Interactions, vectors: Any, has_image: Any) -> None:
        raise VisrecError("CornacScores wraps an already fitted Cornac model")

    def _score(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        # item_idx is never given: _scores_item_subsets is False, so score() slices
        return np.stack([self.cornac_.score(int(self.users_[u]))[self.items_] for u in user_idx])

    def _score_new(self, user_idx: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        m = self.cornac_
        theta_items = vectors @ m.emb_matrix  # (n_new, k2)
        visual_bias = (vectors @ m.beta_prime).ravel()
        scores: np.ndarray = m.theta_user[self.users_[user_idx]] @ theta_items.T + visual_bias
        return scores


def load_frame(data: Path) -> Any:
    """The ratings in the dataset folder; skipped records are reported on stderr."""
    return load_interactions_frame(data, log=lambda msg: print(msg, file=sys.stderr))


def load_vectors(path: str | None, data: Path) -> ItemVectors:
    if path:
        return read_vectors(path)
    posters = data / "posters"
    if not posters.is_dir():
        raise VisrecError(f"no --vectors given and no poster folder {posters} to embed")
    from visrec.embed.extract import embed_folder

    # in visrec's cache, not a fixed /tmp name every user shares; an interrupted run
    # resumes there (embed_folder reuses the vectors already written)
    out = cache_dir("bench") / "ml100k_posters.parquet"
    print(
        f"no --vectors: embedding {posters} into {out} (EfficientNet-Lite0; minutes)",
        file=sys.stderr,
    )
    embed_folder(posters, out)
    return read_vectors(out)


CORNAC_MISSING = (
    "this benchmark needs Cornac: pip install cornac==3.0.1 (the bench extra: "
    "pip install -e '.[bench]')"
)


def fit_cornac(split: Split, iv: ItemVectors, args: argparse.Namespace) -> tuple[Any, float]:
    try:
        import cornac
        from cornac.data import ImageModality
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise VisrecError(CORNAC_MISSING) from exc
    frame = split.train.to_frame()
    triples = list(zip(frame["user_id"], frame["item_id"], np.ones(len(frame)), strict=True))
    train_set = cornac.data.Dataset.from_uir(triples, seed=args.seed)
    raw = np.asarray(list(train_set.iid_map.keys()), dtype=object)
    feats, _ = iv.align(raw)
    modality = ImageModality(features=feats, ids=list(raw), normalized=False)
    modality.build(id_map=train_set.iid_map)
    train_set.add_modalities(item_image=modality)
    model = cornac.models.VBPR(
        k=args.k,
        k2=args.k2,
        n_epochs=args.epochs,
        learning_rate=0.005,
        lambda_w=0.01,
        lambda_b=0.01,
        lambda_e=0.0,
        use_gpu=False,
        verbose=False,
        seed=args.seed,
    )
    t0 = time.perf_counter()
    model.fit(train_set)
    fit_s = time.perf_counter() - t0
    return CornacScores.wrap(model, train_set, split.train), fit_s


def run_split(split: Split, iv: ItemVectors, args: argparse.Namespace) -> dict[str, Any]:
    n_cand = split.test.n_items
    print(
        f"\n{split.protocol} split (seed {args.seed}): {len(split.train):,} train / "
        f"{len(split.test):,} test rows, {n_cand:,} candidates",
        flush=True,
    )
    ours = make_model(
        "vbpr",
        factors=args.k,
        visual_factors=args.k2,
        epochs=args.epochs,
        finetune_epochs=args.finetune_epochs,
        visual_dim=args.visual_dim or None,
        random_state=args.seed,
        device="cpu",  # as Cornac's (use_gpu=False): ours took a GPU where there is one
    )
    ours.load_fit_backend()  # PyTorch's first import is no part of the fit
    t0 = time.perf_counter()
    ours.fit(split.train, iv)
    ours_s = time.perf_counter() - t0
    print(f"  visrec VBPR fitted in {ours_s:.1f} s", flush=True)
    cornac_model, cornac_s = fit_cornac(split, iv, args)
    print(f"  Cornac VBPR fitted in {cornac_s:.1f} s", flush=True)
    out: dict[str, Any] = {"n_candidates": n_cand, "models": {}}
    for name, model, secs in (
        ("visrec VBPR", ours, ours_s),
        ("Cornac VBPR", cornac_model, cornac_s),
    ):
        m = evaluate_model(model, split, k=args.top_k, item_vectors=iv)
        out["models"][name] = {
            "fit_s": secs,
            "auc": m["auc"],
            "recall": m["recall"],
            "ndcg": m["ndcg"],
        }
    out["ratio"] = ours_s / cornac_s
    return out


def print_table(protocol: str, res: dict[str, Any], k: int) -> None:
    print(f"\n{protocol}: {res['n_candidates']} candidates", flush=True)
    print(f"{'model':<12} {'fit s':>8} {'AUC':>7} {f'Recall@{k}':>10} {f'NDCG@{k}':>9}")
    for name, m in res["models"].items():
        print(
            f"{name:<12} {m['fit_s']:>8.1f} {m['auc']:>7.3f} {m['recall']:>10.3f} {m['ndcg']:>9.3f}"
        )
    print(f"fit time ratio visrec / Cornac = {res['ratio']:.3f} (target <= 0.2)", flush=True)


def compare(args: argparse.Namespace) -> int:
    """Fit both VBPRs on the split(s); print (and save) the table."""
    if importlib.util.find_spec("cornac") is None:  # before minutes of our own fit
        raise VisrecError(CORNAC_MISSING)
    check_output_file(args.json, "--json")
    # before the data and the vectors (embedding the posters takes minutes); the
    # model would say it only then, and by its own parameter names
    for option, value, least in (
        ("--epochs", args.epochs, 1),
        ("--k", args.k, 1),
        ("--k2", args.k2, 1),
        ("--top-k", args.top_k, 1),
        ("--finetune-epochs", args.finetune_epochs, 0),
        ("--visual-dim", args.visual_dim, 0),
        ("--seed", args.seed, 0),  # the split said it only after the data and vectors
    ):
        check_at_least(value, least, option)
    if not args.data.exists():
        raise VisrecError(f"data folder {args.data} does not exist (see --data)")
    frame = load_frame(args.data)
    iv = load_vectors(args.vectors, args.data)
    import torch

    print(
        machine_line(
            "visrec's VBPR trains on 1 torch thread (its CPU rule), "
            f"Cornac's on torch's {torch.get_num_threads()}"
        )
    )
    print(
        f"k={args.k} k2={args.k2} epochs={args.epochs} seed={args.seed} "
        f"(ours: visual_dim={args.visual_dim or 'all'}, "
        f"finetune_epochs={args.finetune_epochs})"
    )
    results = {"warm": run_split(warm_split(frame, seed=args.seed), iv, args)}
    print_table("warm", results["warm"], args.top_k)
    if args.cold:
        eligible = iv.ids[iv.has_image]
        split = cold_items_split(frame, seed=args.seed, eligible_items=eligible)
        results["cold-items"] = run_split(split, iv, args)
        print_table("cold-items", results["cold-items"], args.top_k)
    if args.json:
        write_text_atomic(
            args.json,
            json.dumps(
                {"args": vars(args) | {"data": str(args.data)}, "results": results}, indent=2
            )
            + "\n",
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MovieLens-100K posters folder")
    p.add_argument("--vectors", default=None, help="item vectors Parquet (default: embed posters)")
    p.add_argument("--epochs", type=int, default=30, help="epochs of both models (default 30)")
    p.add_argument(
        "--finetune-epochs",
        type=int,
        default=0,
        help="our VBPR's extra epochs on the free terms alone (default 0: same epochs as Cornac)",
    )
    p.add_argument(
        "--visual-dim",
        type=int,
        default=256,
        help="principal components our VBPR trains on (default 256, its default; 0: all)",
    )
    p.add_argument("--k", type=int, default=10, help="latent factors (gamma; default 10)")
    p.add_argument("--k2", type=int, default=10, help="visual factors (theta; default 10)")
    p.add_argument("--seed", type=int, default=0, help="split and initialisation seed (default 0)")
    p.add_argument("--top-k", type=int, default=20, help="K of Recall@K / NDCG@K (default 20)")
    p.add_argument("--cold", action="store_true", help="also run the cold-start items split")
    p.add_argument("--json", default=None, help="write the figures as JSON")
    args = p.parse_args(argv)
    return run_command(compare, args)


if __name__ == "__main__":
    sys.exit(main())
