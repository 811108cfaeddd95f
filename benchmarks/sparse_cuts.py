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

from _shared_data import SHARED_DATA
from visrec._atomic import write_text_atomic
from visrec.cli import run_command
from visrec.errors import VisrecError, write_error

# beside the checkout, as the other benchmarks find it: not "../shared" from wherever
# the script is started (from benchmarks/ that named a folder that is not there)
DEFAULT_DATA = SHARED_DATA / "movielens-100k-posters"


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
    # a user with fewer ratings than drawn keeps them all (ML-100K has none: 20+ each;
    # pandas refused a larger sample than the user's rows with a traceback)
    few = pd.concat(
        g.sample(n=min(int(rng.integers(4, 9)), len(g)), random_state=rng)
        for _, g in ratings.groupby("user_id")
    )
    return {
        "first12": k_core(by_time.groupby("user_id").head(12), 5),
        "rand35": k_core(ratings.sample(frac=0.35, random_state=0), 5),
        "rand12": k_core(ratings.sample(frac=0.12, random_state=0), 5),
        "rand4to8": few[few.groupby("item_id").user_id.transform("size") >= 3],
    }


def read_udata(data: Path) -> pd.DataFrame:
    """MovieLens-100K's ``u.data``: four whole numbers a line, tab-separated."""
    udata = data / "u.data"
    if not udata.is_file():
        raise VisrecError(f"{udata} not found (pass --data)")
    names = ["user_id", "item_id", "rating", "timestamp"]
    try:
        return pd.read_csv(udata, sep="\t", names=names, dtype="int64")
    except (ValueError, pd.errors.ParserError) as exc:  # a line that is not 4 numbers
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VisrecError(
            f"{udata}: not MovieLens-100K's u.data (four whole numbers a line, "
            f"tab-separated): {reason}"
        ) from exc


def write_cuts(args: argparse.Namespace) -> int:
    """Draw the four cuts and write them as CSVs into ``args.output``."""
    ratings = read_udata(Path(args.data))  # first: bad data leaves no empty folder
    out = Path(args.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file of that name, or no right to make it
        raise write_error(f"-o: cannot make the folder {out} ({exc.strerror})", exc) from exc
    for name, frame in cuts(ratings).items():
        write_text_atomic(out / f"{name}.csv", frame.to_csv(index=False))
        print(f"{name}.csv: {len(frame):,} rows, {frame.user_id.nunique():,} users, "
              f"{frame.item_id.nunique():,} items")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(  # all of the docstring: the four cuts and their use
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="folder with MovieLens-100K's u.data (default "
                   "../shared/data/movielens-100k-posters beside the checkout)")  # fmt: skip
    p.add_argument("-o", "--output", required=True, help="folder to write the CSVs into")
    args = p.parse_args(argv)
    return run_command(write_cuts, args)


if __name__ == "__main__":
    sys.exit(main())
