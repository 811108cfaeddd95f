"""Benchmark: what ``visrec recommend`` costs per score, for all items and for a
candidate file.

``recommend`` ranks every candidate for every training user, so its cost grows as
users x candidates. This generates a catalogue (power-law popularity over part of the
items, the rest uniform), fits BPR for one epoch (the cost of ranking does not depend on
how well the model is trained), and times the command's own ranking loop
(``visrec.models.candidates.iter_recommendations``) over all items and over a random
share of them, printing seconds and nanoseconds per score. Memory is printed two ways:
``loop`` is the most the ranking loop itself held at once (traced with ``tracemalloc``
over its first two score blocks, in a second, untimed pass), ``process`` the peak
resident size of the whole run so far, data and fit included.

Usage::

    python benchmarks/recommend_scale.py                          # 20k users, 40k items
    python benchmarks/recommend_scale.py --users 100000 --items 150000 --share 0.2
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

from _machine import machine_line
from _peak_memory import peak_rss_kb
from visrec.cli import run_command
from visrec.data.interactions import Interactions
from visrec.errors import VisrecError
from visrec.models.base import Recommender
from visrec.models.candidates import CandidateSet, iter_recommendations
from visrec.models.registry import make_model


def loop_peak_gb(model: Recommender, cands: CandidateSet, n: int) -> float:
    """The most the ranking loop holds at once, over its first two blocks (each block
    is the same size, so more blocks hold no more)."""
    tracemalloc.start()
    try:
        for _ in itertools.islice(iter_recommendations(model, cands, n), 2):
            pass
        return tracemalloc.get_traced_memory()[1] / 1e9
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__,  # all of it: what is measured and printed
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: python benchmarks/recommend_scale.py --users 3000 --items 5000 "
        "--pairs 30000",
    )
    ap.add_argument("--users", type=int, default=20_000, help="users drawn (default 20,000)")
    ap.add_argument("--items", type=int, default=40_000, help="items drawn (default 40,000)")
    ap.add_argument(
        "--pairs",
        type=int,
        default=200_000,
        help="pairs drawn, before de-duplication (default 200,000)",
    )
    ap.add_argument(
        "--share", type=float, default=0.2,
        help="the candidate file's share of the items, in (0, 1] (default 0.2)",
    )  # fmt: skip
    ap.add_argument(
        "--n", type=int, default=20, help="list length, at most the candidates (default 20)"
    )
    args = ap.parse_args(argv)
    return run_command(measure, args)


def measure(args: argparse.Namespace) -> int:
    """Fit a one-epoch BPR on drawn pairs; time and weigh ranking all and some items."""
    if min(args.users, args.items, args.pairs, args.n) < 1:
        raise VisrecError("--users, --items, --pairs and --n must be >= 1")
    if not 0 < args.share <= 1:
        raise VisrecError(f"--share must be in (0, 1], got {args.share}")
    print(machine_line("scored with numpy on its BLAS's default threads, as `visrec recommend` is"))
    rng = np.random.default_rng(0)
    popular = (rng.pareto(1.0, args.pairs) * 50).astype(np.int64) % args.items
    items = np.where(rng.random(args.pairs) < 0.5, popular, rng.integers(0, args.items, args.pairs))
    frame = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in rng.integers(0, args.users, args.pairs)],
            "item_id": [f"i{i}" for i in items],
        }
    )
    model = make_model("bpr", epochs=1, reg=0.01).fit(Interactions.from_frame(frame))
    ids = np.asarray(model.item_map_.ids)
    some = ids[rng.permutation(len(ids))[: max(1, int(args.share * len(ids)))]]
    print(f"{len(model.user_map_):,} users, {len(ids):,} items, top {args.n}")
    for label, cand_ids in (("all items", ids), (f"{len(some) / len(ids):.0%} of the items", some)):
        known = np.asarray(model.item_map_.to_index(cand_ids), dtype=np.int64)
        cands = CandidateSet(cand_ids, known, None, np.zeros(0, dtype=np.int64))
        # as `visrec recommend` does: a list never holds more than the candidates (an
        # --n beyond them sized the blocks, users x n, for nothing, up to out of memory)
        n_list = min(args.n, len(cand_ids))
        t0 = time.perf_counter()
        n_users = sum(len(u) for u, _, _ in iter_recommendations(model, cands, n_list))
        secs = time.perf_counter() - t0
        per = secs / (n_users * len(cand_ids)) * 1e9
        loop = loop_peak_gb(model, cands, n_list)
        process = peak_rss_kb() / 1e6
        print(
            f"  {label:>18}: {len(cand_ids):>9,} candidates  {secs:7.2f} s  "
            f"{per:5.1f} ns/score  memory: loop {loop:.2f} GB, process {process:.2f} GB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
