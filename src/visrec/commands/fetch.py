"""``visrec fetch``: download item/review images from URLs into a cache + manifest."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from visrec.commands._checks import check_at_least
from visrec.commands._common import check_output_file
from visrec.commands._progress import add_progress_args, show_progress
from visrec.errors import VisrecError

EPILOG = """\
examples:
  visrec fetch AMAZON_FASHION_5.json.gz --cache ~/.cache/visrec/img -o photos.csv
  visrec fetch meta_AMAZON_FASHION.json.gz --cache img/ -o products.csv
  visrec fetch urls.csv --cache img/ -o fetched.csv --workers 32

SOURCE kinds:
  review files (<Category>_5.json[.gz])  review photos, keyed by review_id
      (<asin>_<reviewerID>_<unixReviewTime>, as `visrec data` builds it); only the
      first photo of each review is fetched, as the original tutorial did
  meta files (meta_<Category>.json[.gz])  product images keyed by asin; the first
      imageURLHighRes, else the first imageURL
  a manifest CSV/TSV with columns item_id,url

Each URL is cached once under DIR as <sha256(url)>.<ext> after it decoded as an image;
cached URLs are not downloaded again. The manifest (-o, default DIR/manifest.csv) lists
item_id,path,url for the images that were fetched; failures are summarised by reason.
Exit status 1 when there were URLs and none could be fetched. A progress bar shows on a
terminal (--quiet, or --no-progress, hides it; --verbose shows it in a log too).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "fetch",
        help="download review photos / product images from URLs into a cache",
        description=(
            "Download images concurrently into an on-disk cache (timeouts, retries with "
            "backoff, a size cap, content checked by decoding) and write a manifest "
            "item_id,path,url for `visrec embed`."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="review, meta or manifest files, or folders of review/meta files",
    )
    p.add_argument("--cache", required=True, metavar="DIR", help="image cache folder")
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="MANIFEST",
        help="manifest CSV to write (default: DIR/manifest.csv)",
    )
    p.add_argument(
        "--what",
        choices=("review-photos", "product-images"),
        default=None,
        help="check that every Amazon file is of this kind (what is fetched always "
        "follows the file name: meta_* files give product images, others review photos)",
    )
    p.add_argument("--workers", type=int, default=16, help="parallel downloads (default 16)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.add_argument(
        "--retries",
        type=int,
        default=3,
        help="extra attempts on timeouts/5xx/connection errors (default 3)",
    )
    p.add_argument(
        "--max-bytes",
        type=int,
        default=20_000_000,
        help="largest accepted image in bytes (default 20000000)",
    )
    add_progress_args(p, quiet_aliases=("--no-progress",))
    p.add_argument("--json", default=None, metavar="OUT", help="write counts and failures as JSON")
    p.set_defaults(func=run)


def collect_urls(sources: list[str], what: str | None = None) -> tuple[dict[str, str], list[str]]:
    """Map key -> URL from the sources; also return notes (bad records, skips) to print.

    Keys are review ids for review files, asins for meta files, item ids for manifests.
    The first URL seen for a key wins.
    """
    from visrec.data.amazon import is_meta_file, load_amazon_meta, load_amazon_reviews
    from visrec.data.images_index import load_manifest
    from visrec.data.tables import amazon_review_files, is_json_file

    paths: list[Path] = []
    for s in sources:
        p = Path(s)
        if not p.exists():
            raise FileNotFoundError(2, "No such file or directory", str(p))
        if not p.is_dir():
            paths.append(p)
            continue
        # a folder of Amazon files (one per category), as the other commands take it;
        # --what picks the kind, so a folder holding both kinds fits either. Review files
        # as load_interactions picks them: another JSON there (a result file) is not one.
        found: list[Path] = []
        if what != "review-photos":
            found += [c for c in p.iterdir() if c.is_file() and is_json_file(c) and is_meta_file(c)]
        if what != "product-images":
            found += amazon_review_files(p)
        found.sort()
        if not found:
            raise VisrecError(
                f"{p}: folder holds no Amazon review or meta files (.json[l][.gz])"
                + (f" for --what {what}" if what else "")
            )
        paths += found
    meta = [p for p in paths if is_json_file(p) and is_meta_file(p)]
    reviews = [p for p in paths if is_json_file(p) and not is_meta_file(p)]
    manifests = [p for p in paths if not is_json_file(p)]
    if what == "review-photos" and meta:
        raise VisrecError(
            f"{meta[0]}: a meta file has product images, not review photos "
            "(drop --what or use --what product-images)"
        )
    if what == "product-images" and reviews:
        raise VisrecError(
            f"{reviews[0]}: a review file has review photos, not product "
            "images (drop --what or use --what review-photos)"
        )
    urls: dict[str, str] = {}
    notes: list[str] = []
    if reviews:
        res = load_amazon_reviews(reviews)
        n = _add_first_urls(urls, res.frame["review_id"], res.frame["image"])
        notes.append(
            f"{len(reviews)} review file(s): {res.n_rows:,} reviews, {n:,} with "
            f"photos (first photo each; {len(set(urls.values())):,} distinct URLs)"
        )
        if res.n_bad:
            notes.append(res.describe_bad())
    if meta:
        res = load_amazon_meta(meta)
        n = _add_first_urls(urls, res.frame["item_id"], res.frame["image_urls"])
        notes.append(f"{len(meta)} meta file(s): {res.n_rows:,} products, {n:,} with images")
        if res.n_bad:
            notes.append(res.describe_bad())
    for m in manifests:
        entries = load_manifest(m)
        web = {k: v for k, v in entries.items() if v.lower().startswith(("http://", "https://"))}
        if not web:
            raise VisrecError(f"{m}: no http(s) URLs in this manifest (nothing to fetch)")
        if len(web) < len(entries):
            notes.append(f"{m}: skipped {len(entries) - len(web):,} entries that are local paths")
        for k, v in web.items():
            urls.setdefault(k, v)
    return urls, notes


def _add_first_urls(urls: dict[str, str], ids: Iterable[Any], images: Iterable[Any]) -> int:
    """Add each id's first image URL to ``urls`` (an id already there keeps its URL);
    returns how many ids had at least one URL."""
    n = 0
    for key, imgs in zip(ids, images, strict=True):
        if imgs:
            urls.setdefault(str(key), imgs[0])
            n += 1
    return n


def run(args: argparse.Namespace) -> int:
    from visrec._atomic import write_text_atomic
    from visrec.images.fetch import fetch_images, write_manifest

    check_at_least(args.workers, 1, "--workers")
    check_at_least(args.max_bytes, 1, "--max-bytes")
    check_at_least(args.retries, 0, "--retries")
    if not args.timeout > 0:  # `not >` also refuses NaN
        raise VisrecError(f"--timeout must be more than 0 seconds, got {args.timeout:g}")
    cache = Path(args.cache).expanduser()
    out = Path(args.output) if args.output else cache / "manifest.csv"
    # before the downloads, not after them
    check_output_file(out, "-o" if args.output else "--cache (its manifest.csv)")
    check_output_file(args.json, "--json")
    urls, notes = collect_urls(args.sources, args.what)
    for n in notes:
        print(n)
    report = fetch_images(
        urls.values(),
        cache,
        workers=args.workers,
        timeout=args.timeout,
        retries=args.retries,
        max_bytes=args.max_bytes,
        progress=show_progress(args),
    )
    print(report.summary())
    rows = [(k, report.paths[u], u) for k, u in urls.items() if u in report.paths]
    n_rows = write_manifest(out, rows)
    print(f"wrote {out} ({n_rows:,} image{'' if n_rows == 1 else 's'})")
    if args.json:
        data = report.to_dict()
        data.update({"n_keys": len(urls), "manifest": str(out), "manifest_rows": n_rows})
        write_text_atomic(args.json, json.dumps(data, indent=2) + "\n")
    return 1 if urls and n_rows == 0 else 0
