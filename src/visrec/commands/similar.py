"""``visrec similar``: items that look most like the given ones (cosine on image vectors)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from visrec.commands._checks import check_at_least
from visrec.commands._common import check_output_file

EPILOG = """\
examples:
  visrec embed images/ -o vectors.parquet
  visrec similar vectors.parquet 10001 10002 --n 5
  visrec similar vectors.parquet 10001 --n 20 --json similar.json

Exact cosine nearest neighbours among items that have an image; the query item itself
is never listed. --json writes [{"item_id", "neighbours": [{"item_id", "rank",
"score"}, ...]}, ...].
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "similar",
        help="items whose pictures look most like the given items",
        description="Nearest neighbours of items by cosine similarity of image vectors.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("vectors", metavar="VECTORS", help="vectors Parquet from `visrec embed`")
    p.add_argument("item_ids", metavar="ITEM_ID", nargs="+", help="query item id(s)")
    p.add_argument("--n", type=int, default=10, help="neighbours per item (default 10)")
    p.add_argument("--json", metavar="OUT", help="also write the neighbours as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from visrec._atomic import write_text_atomic
    from visrec.embed.store import read_vectors
    from visrec.search.knn import SimilarItems

    check_output_file(args.json, "--json")
    check_at_least(args.n, 1, "--n")
    vectors = read_vectors(args.vectors)
    index = SimilarItems(vectors)
    results = index.query(args.item_ids, n=args.n)
    backbone = vectors.meta.get("backbone", "unknown backbone")
    print(
        f"{len(index):,} of {len(vectors):,} items have an image ({backbone}); "
        "cosine similarity, 1 = same direction"
    )
    for res in results:
        print(f"\nitems most like {res.query}:")
        for rank, (iid, score) in enumerate(zip(res.ids, res.scores, strict=True), 1):
            print(f"  {rank:>3}  {iid:<24} {score:.3f}")
        if not res.ids:  # the query is the only item with a usable image
            print("  (none: no other item in the file has a usable image to compare with)")
    if args.json:
        write_text_atomic(args.json, json.dumps([r.to_json() for r in results], indent=2))
        print(f"\nwrote {args.json}")
    return 0
