"""Benchmark: what ``visrec recommend`` costs per score, for all items and for a
candidate file.

``recommend`` ranks every candidate for every training user, so its cost grows as
users x candidates. This generates a catalogue (power-law popularity over part of the
items, the rest uniform), fits BPR for one epoch (the cost of ranking does not depend on
how well the model is trained), and times the command's own ranking loop
(``visrec.models.candidates.iter_recommendations``) over all items and over a random
share of them, printing seconds, nanoseconds per score and the peak memory.

Usage::

    python benchmarks/recommend_scale.py                          # 20k users, 40k items
    python benchmarks/recommend_scale.py --users 100000 --items 150000 --share 0.2
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from visrec.data.interactions import Interactions
from visrec.models.candidates import CandidateSet, iter_recommendations
from visrec.models.registry import make_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--items", type=int, default=40_000)
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--share", type=float, default=0.2, help="candidate file: this share")
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
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
    for label, cand_ids in (("all items", ids), (f"{args.share:.0%} of the items", some)):
        known = np.asarray(model.item_map_.to_index(cand_ids), dtype=np.int64)
        cands = CandidateSet(cand_ids, known, None, np.zeros(0, dtype=np.int64))
        t0 = time.perf_counter()
        n_users = sum(len(u) for u, _, _ in iter_recommendations(model, cands, args.n))
        secs = time.perf_counter() - t0
        per = secs / (n_users * len(cand_ids)) * 1e9
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(
            f"  {label:>18}: {len(cand_ids):>9,} candidates  {secs:7.2f} s  "
            f"{per:5.1f} ns/score  peak {peak:.2f} GB"
        )


if __name__ == "__main__":
    main()
