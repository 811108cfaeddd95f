"""Benchmark: training and recommending time of the pairwise models on a larger catalogue.

MovieLens-100K (943 users, 1,682 items) is small; shop data is not. This generates an
implicit-feedback set of the given size (item popularity follows a power law, like real
catalogues) with random 1280-d "image" vectors, trains each model for a few epochs,
and prints seconds per epoch, the time the default 80 epochs would take, and the time
to recommend 20 items to every user. Quality is meaningless here (the data is random);
``benchmarks/vbpr_vs_cornac.py`` measures quality on real data. The penalties are fixed
at what dense data gets (``reg=0.01``, VBPR's ``reg_visual=1e-3``): on data with under
40 pairs per item the default ``reg="auto"`` adds three validation fits on 80% of it.
PyTorch's first import is loaded before any timer starts. Seconds per epoch are the
fit's time over its epochs, one-off steps included (VBPR's principal components,
visual-cf's ridge map), so the 80-epoch figure overstates those two a little;
visual-cf's also holds the three validation BPR fits of ``profile_weight="auto"`` (its
default, left on): four BPR fits in all, three of them on part of the data.

Usage::

    python benchmarks/train_scale.py                       # 30k users, 12k items, 596k pairs
    python benchmarks/train_scale.py --users 100000 --items 50000 --pairs 2000000 \\
        --models bpr --epochs 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from _machine import machine_line
from visrec._atomic import write_text_atomic
from visrec.cli import run_command
from visrec.commands._checks import check_at_least
from visrec.commands._common import check_output_file
from visrec.data.interactions import Interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.models.registry import make_model


def make_data(
    n_users: int, n_items: int, n_pairs: int, dim: int, seed: int
) -> tuple[Interactions, ItemVectors]:
    """Power-law item popularity, uniform users; vectors are non-negative like CNN output."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / (np.arange(n_items) + 10.0) ** 0.8
    rng.shuffle(pop)
    users = rng.integers(0, n_users, n_pairs)
    items = rng.choice(n_items, n_pairs, p=pop / pop.sum())
    frame = pd.DataFrame(
        {"user_id": [f"u{u}" for u in users], "item_id": [f"i{i}" for i in items]}
    ).drop_duplicates()
    inter = Interactions.from_frame(frame)
    ids = np.asarray(inter.item_map.ids)
    vectors = np.abs(rng.normal(size=(len(ids), dim))).astype(np.float32)
    return inter, ItemVectors(ids=ids, vectors=vectors, has_image=np.ones(len(ids), dtype=bool))


def measure(args: argparse.Namespace) -> int:
    """Time each model's fit and recommend on the drawn data; print (and save) the figures."""
    check_output_file(args.json, "--json")
    if min(args.users, args.items, args.pairs, args.dim, args.epochs) < 1:
        raise VisrecError("--users, --items, --pairs, --dim and --epochs must be >= 1")
    check_at_least(args.seed, 0, "--seed")  # else numpy's traceback, after the checks
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    if not names:  # else the data is drawn and nothing is timed, exit 0
        raise VisrecError(f"--models names no model ({args.models!r}); e.g. bpr,vbpr")
    for name in names:  # before the data is drawn: a typo costs no minutes
        if "epochs" not in make_model(name).get_params():
            raise VisrecError(
                f"--models: {name!r} trains no epochs; this times the pairwise models "
                "(bpr, vbpr, visual-cf)"
            )
    from visrec.models._train import fit_device

    where = fit_device(None)  # the models' default device, which the fits below use
    threads = (
        "fits train on 1 torch thread (visrec's CPU rule)"
        if where.type == "cpu"
        else f"fits train on {where} (the models' default device when torch sees a GPU)"
    )
    print(machine_line(threads), flush=True)
    inter, iv = make_data(args.users, args.items, args.pairs, args.dim, args.seed)
    n_users, n_items = inter.n_users, inter.n_items
    print(
        f"data: {n_users:,} users, {n_items:,} items, {len(inter):,} pairs, {args.dim}-d vectors",
        flush=True,
    )
    rows = []
    for name in names:
        params = {"epochs": args.epochs, "random_state": args.seed}
        default_ft = make_model(name).get_params().get("finetune_epochs")
        tuned = default_ft is not None
        if tuned:  # time the main epochs; fine-tuning epochs cost about a bpr epoch
            params["finetune_epochs"] = 0
        # reg="auto" adds 3 validation fits on data under 40 pairs per item: time the
        # model's own epochs, with the penalties dense data gets
        fixed = dict(getattr(make_model(name), "_auto_grid", ({},))[0])
        params.update(fixed)
        model = make_model(name, **params).load_fit_backend()
        t0 = time.perf_counter()
        model.fit(inter, iv if model.uses_vectors else None)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.recommend(np.arange(n_users), n=20, filter_seen=True)
        rec_s = time.perf_counter() - t0
        per_epoch = fit_s / args.epochs
        row = {
            "model": name,
            "epochs": args.epochs,
            "fit_s": round(fit_s, 2),
            "s_per_epoch": round(per_epoch, 3),
            "fit_80_epochs_s": round(80 * per_epoch, 1),
            "recommend_all_s": round(rec_s, 2),
        }
        if tuned:  # the JSON says it too: these figures leave the fine-tuning out
            row["finetune_epochs"] = 0
        if fixed:
            row["penalties"] = fixed
        rows.append(row)
        print(
            f"{name:10s} fit {fit_s:7.1f} s for {args.epochs} epoch{'s' * (args.epochs != 1)} "
            f"({per_epoch:.2f} s/epoch, "
            f"~{80 * per_epoch:.0f} s for 80)   recommend 20 x {n_users:,} users {rec_s:.1f} s"
            + (f"  [main epochs; + {default_ft} fine-tuning by default]" if tuned else ""),
            flush=True,
        )
    if args.json:
        write_text_atomic(args.json, json.dumps({"args": vars(args), "results": rows}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--users", type=int, default=30_000, help="users drawn (default 30,000)")
    ap.add_argument("--items", type=int, default=12_000, help="items drawn (default 12,000)")
    ap.add_argument(
        "--pairs",
        type=int,
        default=600_000,
        help="pairs drawn, before de-duplication (default 600,000)",
    )
    ap.add_argument("--dim", type=int, default=1280, help="vector dimension (default 1280)")
    ap.add_argument(
        "--models",
        default="bpr,vbpr,visual-cf",
        help="comma-separated (default bpr,vbpr,visual-cf)",
    )
    ap.add_argument("--epochs", type=int, default=3, help="epochs timed per model (default 3)")
    ap.add_argument("--seed", type=int, default=0, help="data and model seed (default 0)")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)
    return run_command(measure, args)


if __name__ == "__main__":
    sys.exit(main())
