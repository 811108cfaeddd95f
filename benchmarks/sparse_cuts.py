"""Write the four sparse cuts of MovieLens-100K behind docs/models.md's "Sparse data and
``reg=auto``" tables, so they can be re-measured with ``visrec evaluate``.

* ``first12.csv``: each user's first 12 ratings by time, then a 5-core;
* ``rand35.csv``: a random 35% of the rows (pandas ``sample(random_state=0)``), 5-core;
* ``rand12.csv``: a random 12% of the rows, the same way, 5-core;
* ``rand4to8.csv``: per user a random 4-8 of their ratings, then items with 3+ ratings.

The first three are the files the tables were measured on, row for row. The 4-8 cut of
the tables came from an earlier draw that was not kept (5,154 rows); this script's draw
follows the same recipe with a fixed seed (5,050 rows), so its figures differ within the
spread between draws.

Usage::

    python benchmarks/sparse_cuts.py --data ../shared/data/movielens-100k-posters -o cuts/
    visrec evaluate --interactions cuts/rand4to8.csv --vectors ml100k.parquet \\
        --protocol warm --models popularity,bpr,bpr@fixed,vbpr,vbpr@fixed \\
        --param bpr@fixed.reg=0.01 --param vbpr@fixed.reg=0.01 \\
        --param vbpr@fixed.reg_visual=0.001
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from visrec._atomic import write_text_atomic
from visrec.errors import VisrecError

# beside the checkout, as the other benchmarks find it: not "../shared" from wherever
# the script is started (from benchmarks/ that named a folder that is not there)
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens-100k-posters"


def k_core(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """Drop users and items with fewer than ``k`` rows until none is left."""
    while True:
        n = len(frame)
        frame = frame[frame.groupby("user_id").item_id.transform("size") >= k]
        frame = frame[frame.groupby("item_id").user_id.transform("size") >= k]
        if len(frame) == n:
            return frame


def cuts(ratings: pd.DataFrame) -> dict[str, pd.DataFrame]:
    by_time = ratings.sort_values(["user_id", "timestamp"], kind="stable")
    rng = np.random.default_rng(0)
    few = pd.concat(
        g.sample(n=int(rng.integers(4, 9)), random_state=rng) for _, g in ratings.groupby("user_id")
    )
    return {
        "first12": k_core(by_time.groupby("user_id").head(12), 5),
        "rand35": k_core(ratings.sample(frac=0.35, random_state=0), 5),
        "rand12": k_core(ratings.sample(frac=0.12, random_state=0), 5),
        "rand4to8": few[few.groupby("item_id").user_id.transform("size") >= 3],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="folder with MovieLens-100K's u.data (default "
                   "../shared/data/movielens-100k-posters beside the checkout)")  # fmt: skip
    p.add_argument("-o", "--output", required=True, help="folder to write the CSVs into")
    args = p.parse_args(argv)
    udata = Path(args.data) / "u.data"
    if not udata.is_file():
        print(f"error: {udata} not found (pass --data)", file=sys.stderr)
        return 2
    ratings = pd.read_csv(udata, sep="\t", names=["user_id", "item_id", "rating", "timestamp"])
    out = Path(args.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file of that name, or no right to make it
        print(f"error: -o {out}: cannot make the folder ({exc.strerror})", file=sys.stderr)
        return 2
    for name, frame in cuts(ratings).items():
        try:
            write_text_atomic(out / f"{name}.csv", frame.to_csv(index=False))
        except VisrecError as exc:  # a full disk: one line, not a traceback
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_status
        print(f"{name}.csv: {len(frame):,} rows, {frame.user_id.nunique():,} users, "
              f"{frame.item_id.nunique():,} items")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
