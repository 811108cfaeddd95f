"""``visrec fetch``: download item/review images from URLs into a cache + manifest."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visrec.commands._checks import check_at_least
from visrec.commands._common import (
    check_output_file,
    check_outputs_distinct,
    say_note,
    survives_closed_stdout,
    with_run,
)
from visrec.commands._help import HelpFormatter
from visrec.commands._progress import add_progress_args, fit_lines_in_logs, show_progress
from visrec.errors import InputNotFoundError, VisrecError, agree, counted, none_of

if TYPE_CHECKING:
    from visrec.images.fetch import FetchReport

EPILOG = """\
examples:
  visrec fetch AMAZON_FASHION_5.json.gz --cache ~/.cache/visrec/img \\
      -o photos.csv
  visrec fetch meta_AMAZON_FASHION.json.gz --cache img/ -o products.csv
  visrec fetch urls.csv --cache img/ -o fetched.csv --workers 32
  # then: the manifest, not DIR
  visrec embed --manifest photos.csv -o vectors.parquet

SOURCE kinds:
  review files (<Category>_5.json[.gz])  review photos, keyed by review_id
      (<asin>_<reviewerID>_<unixReviewTime>, as `visrec data` builds it);
      only the first photo of each review is fetched, as the tutorial did
  meta files (meta_<Category>.json[.gz])  product images keyed by asin: the
      first imageURLHighRes, else the first imageURL
  a manifest CSV/TSV with columns item_id,url
  Amazon Reviews 2023 files (<Category>.jsonl[.gz], meta_<Category>.jsonl[.gz])
      are read the same way: parent_asin for asin, user_id for reviewerID,
      timestamp (ms) in seconds, a review's images' large_image_url, a
      product's images' hi_res (else large)

Each URL is cached once under DIR as <sha256(url)>.<ext> once it decodes as an image;
cached URLs are not downloaded again (two fetches into one DIR at the same time are not
coordinated: each downloads what is not cached yet, and both end correct). Ctrl-C stops
at once, keeping what was fetched (nothing partial): run the same command again to
resume. The manifest (-o, default DIR/manifest.csv) lists item_id,path,url for the
images that were fetched; failures are summarised by reason. Embed the manifest
(`visrec embed --manifest`): the files in DIR are named by URL hash, not by item id.

A manifest entry meant as a URL that is not http(s) (ftp://, file://, //host/x,
127.0.0.1/x.jpg, cdn.shop.com/x.jpg) is a failure (invalid url) naming its item and
line; local paths in a manifest are skipped. An item listed in two sources with
different URLs is an error.

--timeout bounds the connection and each read; --max-time bounds a whole download.

Exit status 1 when there were URLs and none could be fetched; an existing manifest is
then left as it was. A progress bar shows on a terminal (--quiet, or --no-progress,
hides it; --verbose shows it in a log too).
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
        formatter_class=HelpFormatter,
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
        help="for a folder SOURCE: fetch only the Amazon files of this kind; for Amazon "
        "files: check that each is of this kind (what is fetched follows the file name: "
        "meta_* files give product images, others review photos); a manifest's URLs are "
        "fetched whatever it is",
    )
    p.add_argument(
        "--workers", type=int, default=16, metavar="N", help="parallel downloads (default 16)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait for the connection and for each read (default 10; a day at most)",
    )
    p.add_argument(
        "--max-time",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds one download attempt may take in all, redirects included (default "
        "6 x --timeout: 60; a day at most); a slower one is stopped and counts as a "
        "timeout (not retried)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=3,
        help="extra attempts on timeouts, 5xx, 429 and connection errors, after 0.5, 1, 2 "
        "... s, doubling up to a minute, or as long as the server's Retry-After asks, a minute "
        "at most (default 3)",
    )
    p.add_argument(
        "--max-bytes",
        type=int,
        default=20_000_000,
        metavar="BYTES",
        help="largest accepted image in bytes (default 20000000)",
    )
    add_progress_args(p)
    p.add_argument("--json", default=None, metavar="OUT", help="write counts and failures as JSON")
    p.set_defaults(func=run)


# Schemes that make a manifest entry a URL even without "//" after them (``file:/x``,
# ``data:image/png;...``); any other ``scheme://`` is one too. Two letters at least, so
# a Windows drive ``C:\\x`` is a path.
_URL_SCHEMES = frozenset(
    {"http", "https", "file", "ftp", "ftps", "sftp", "data", "mailto", "javascript", "blob"}
)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")
# a host written without its scheme: an IPv4 address, localhost, www.*, name:port, or a
# domain name with a common or two-letter top-level domain (cdn.shop.com/x.jpg); a folder
# named like that is still a path when the file exists (checked in looks_like_url)
_HOST_FIRST = re.compile(
    r"(?:\d{1,3}(?:\.\d{1,3}){3}|localhost|www\.[^/]+|[A-Za-z0-9.-]+:\d{1,5}"
    r"|(?:[A-Za-z0-9-]+\.)+(?:com|net|org|edu|gov|info|biz|io|co|app|dev|cloud|shop|store"
    r"|[A-Za-z]{2})(?=/))(?::\d{1,5})?(?:/|$)",
    re.IGNORECASE,
)


def looks_like_url(loc: str, base: Path) -> bool:
    """Whether a manifest entry is meant as a URL (not a local path for `visrec embed`).

    ``http(s)://...``, any ``scheme://...``, ``file:``/``ftp:``/``data:``..., ``//host/x``,
    and, unless such a file exists under ``base``, a path that starts with a host:
    ``127.0.0.1/x.jpg``, ``localhost:8000/x.jpg``, ``www.shop.com/x.jpg``,
    ``cdn.shop.com/x.jpg``.
    """
    if loc.startswith("//"):
        return True
    m = _SCHEME.match(loc)
    if m and (loc[m.end() :].startswith("//") or m.group(1).lower() in _URL_SCHEMES):
        return True
    return bool(_HOST_FIRST.match(loc)) and not (base / Path(loc).expanduser()).exists()


@dataclass
class Sources:
    """What ``visrec fetch`` read from its SOURCEs.

    Attributes
    ----------
    files : list of Path
        The source files, folders expanded, each file once.
    urls : dict of str to str
        Key (review id, asin, item id) -> URL as written, in source order.
    where : dict of str to str
        Key -> where its URL came from (``"urls.csv line 4"``), for error messages.
    notes : list of str
        Lines to print: counts, bad records, skipped local paths.
    """

    files: list[Path] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def source_files(sources: list[str], what: str | None = None) -> list[Path]:
    """The files SOURCE names: folders expanded to their Amazon files, repeats once."""
    from visrec.data.amazon import is_meta_file
    from visrec.data.tables import amazon_review_files, is_json_file

    paths: list[Path] = []
    for s in sources:
        p = Path(s)
        if not p.exists():
            raise InputNotFoundError(p)
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
            kind = {"product-images": "meta files (meta_*.json[l][.gz|.bz2|.xz])",
                    "review-photos": "review files (.json[l][.gz|.bz2|.xz])"}.get(
                what or "", "review or meta files (.json[l][.gz|.bz2|.xz])")  # fmt: skip
            raise VisrecError(
                f"{p}: folder holds no Amazon {kind}" + (f" for --what {what}" if what else "")
            )
        paths += found
    # the same file named twice (or through a link) is read once
    seen: set[Path] = set()
    unique = []
    for p in paths:
        r = p.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(p)
    return unique


def read_sources(files: list[Path], what: str | None = None) -> Sources:
    """Read the URLs of :func:`source_files`' files.

    Manifest entries that are local paths are skipped with a note (a manifest may list
    files for `visrec embed` too); entries meant as URLs (:func:`looks_like_url`) are
    kept, valid or not, so that a bad one is reported as a failure. An id given in two
    sources with different URLs is an error naming both; with the same URL it is
    fetched once.
    """
    from visrec.data.amazon import is_meta_file, load_amazon_meta, load_amazon_reviews
    from visrec.data.images_index import manifest_base, read_manifest_rows
    from visrec.data.tables import is_json_file
    from visrec.images.http_get import hide_password

    meta = [p for p in files if is_json_file(p) and is_meta_file(p)]
    reviews = [p for p in files if is_json_file(p) and not is_meta_file(p)]
    manifests = [p for p in files if not is_json_file(p)]
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
    out = Sources(files=list(files))
    urls, notes = out.urls, out.notes
    if what and manifests:  # a manifest says nothing of its kind: its URLs are fetched
        named = str(manifests[0]) + (
            f" (and {len(manifests) - 1} more)" if len(manifests) > 1 else ""
        )
        notes.append(
            f"--what {what} does not apply to {named}: a manifest's URLs are fetched as listed"
        )
    if reviews:
        res = load_amazon_reviews(reviews, for_photos=True)  # rating and time not needed
        n = _add_first_urls(out, res.frame["review_id"], res.frame["image"], res.frame["_where"])
        notes.append(
            f"{counted(len(reviews), 'review file')}: {counted(res.n_rows, 'review')}, {n:,} with "
            f"photos (first photo each; {counted(len(set(urls.values())), 'distinct URL')})"
        )
        if res.n_bad:
            notes.append(res.describe_bad())
    if meta:
        res = load_amazon_meta(meta, with_lines=True)
        n = _add_first_urls(out, res.frame["item_id"], res.frame["image_urls"], res.frame["_where"])
        notes.append(
            f"{counted(len(meta), 'meta file')}: {counted(res.n_rows, 'product')}, {n:,} with "
            "images"
        )
        if res.n_bad:
            notes.append(res.describe_bad())
    for m in manifests:
        base = manifest_base(m)
        n_local = n_web = 0
        # locations as written (load_manifest would resolve a typo such as htps://x
        # into a path); its errors (columns, field counts, repeated ids) name the line
        for key, loc, line in read_manifest_rows(m, prefer_url=True):
            if not looks_like_url(loc, base):
                n_local += 1
                continue
            n_web += 1
            here = f"{m} line {line}"
            if key in urls and urls[key] != loc:
                raise VisrecError(
                    f"{here}: item {key!r} has URL {hide_password(loc)!r}, but "
                    f"{out.where[key]} gives it {hide_password(urls[key])!r}; keep one"
                )
            if key not in urls:
                urls[key] = loc
                out.where[key] = here
        if not n_web:
            raise VisrecError(f"{m}: no http(s) URLs in this manifest (nothing to fetch)")
        if n_local:
            what_ = "entry that is a local path" if n_local == 1 else "entries that are local paths"
            notes.append(f"{m}: skipped {n_local:,} {what_} (for `visrec embed`, not fetched)")
    return out


def _is_cache_entry(path: Path, cache: Path) -> bool:
    """Whether ``path`` is (or would be) one of the cache's image files: named by a
    URL's hash, directly in ``cache``."""
    from visrec.images.fetch import CACHE_NAME

    same_folder = os.path.realpath(path.expanduser().parent) == os.path.realpath(cache)
    return same_folder and bool(CACHE_NAME.fullmatch(path.name.partition(".")[0]))


def _add_first_urls(
    out: Sources, ids: Iterable[Any], images: Iterable[Any], wheres: Iterable[str]
) -> int:
    """Add each id's first image URL to ``out`` (an id already there keeps its URL),
    with the file and line it came from; returns how many ids had at least one URL."""
    n = 0
    for key, imgs, where in zip(ids, images, wheres, strict=True):
        if imgs:
            k = str(key)
            if k not in out.urls:
                out.urls[k] = imgs[0]
                out.where[k] = where
            n += 1
    return n


def _examples_of(keys: list[str], limit: int = 3) -> str:
    """``"'a', 'b', 'c' and 5 more"``."""
    from visrec.data.id_spelling import shown_ids

    return shown_ids(keys, limit) + (
        f" and {len(keys) - limit:,} more" if len(keys) > limit else ""
    )


def _interrupted_note(report: FetchReport, n_stopped: int) -> str:
    """The line printed on Ctrl-C: what was dropped, what is kept, what to do."""
    stopped = ""
    if n_stopped:
        s, them = ("", "it") if n_stopped == 1 else ("s", "them")
        stopped = f"{n_stopped:,} download{s} in progress stopped (nothing of {them} kept); "
    n_kept, n_urls = len(report.paths), len(report.urls)
    images = "image" if n_urls == 1 else "images"
    if not n_stopped and n_kept + len(report.errors) == n_urls:  # every URL was tried
        return (
            f"interrupted: the cache has {n_kept:,} of the {n_urls:,} {images} (every URL "
            "was tried); run the same command again to write the manifest"
        )
    rest = "the rest" if n_kept else "them"
    return (
        f"interrupted: {stopped}the cache has {n_kept:,} of the {n_urls:,} {images}; "
        f"run the same command again to fetch {rest} and write the manifest"
    )


def _check_options(args: argparse.Namespace) -> float:
    """Check the numeric options; returns --max-time (its default follows --timeout)."""
    from visrec.images.fetch import check_seconds, default_max_time

    check_at_least(args.workers, 1, "--workers")
    check_at_least(args.max_bytes, 1, "--max-bytes")
    check_at_least(args.retries, 0, "--retries")
    check_seconds(args.timeout, "--timeout")
    max_time = default_max_time(args.timeout) if args.max_time is None else args.max_time
    check_seconds(max_time, "--max-time")
    return max_time


def _check_cache(cache: Path) -> None:
    """Refuse a --cache that cannot take the images, without making it."""
    from visrec.images.fetch import CacheDirError, check_cache_dir

    # before the downloads, not after them: on a cache that takes no file every
    # download would fail only once transferred
    try:
        check_cache_dir(cache, make=False)  # nothing made yet: a source may still fail
    except CacheDirError as exc:
        err = VisrecError(f"--cache: {exc}")
        err.exit_status = exc.exit_status  # a refusal of the system stays exit 1
        raise err from exc


def _check_outputs_apart(
    args: argparse.Namespace, out: Path, out_option: str, cache: Path, files: list[Path]
) -> None:
    """Refuse outputs that would overwrite each other, a source or a cached image."""
    if args.json and Path(args.json).expanduser().resolve() == out.resolve():
        raise VisrecError(
            f"--json: {args.json!r} is also the manifest ({out_option}); name another"
        )
    # before the outputs' other checks: the image's name says more than its bytes
    for option, path in ((out_option, out), ("--json", args.json)):
        if path is not None and _is_cache_entry(Path(path), cache):  # trusted when read
            raise VisrecError(
                f"{option}: {str(path)!r} is an image of the --cache (its name is a URL's "
                "hash); writing it would replace that image. Name another output file"
            )
    # writing a source would replace the URL list with only the images fetched
    check_outputs_distinct(
        {out_option: out, "--json": args.json}, [("source", f) for f in files], {out_option: "CSV"}
    )


def _refused_urls(got: Sources) -> dict[str, tuple[str, list[str]]]:
    """URL -> (why it cannot be requested, the items it serves, with where each is)."""
    from visrec.images.fetch import normalize_url

    refused: dict[str, tuple[str, list[str]]] = {}
    for key, url in got.urls.items():
        if url in refused:
            refused[url][1].append(f"{key!r} ({got.where[key]})")
            continue
        try:
            normalize_url(url)
        except ValueError as exc:
            refused[url] = (str(exc), [f"{key!r} ({got.where[key]})"])
    return refused


def _add_refused(report: FetchReport, refused: dict[str, tuple[str, list[str]]]) -> None:
    """Count each refused URL as an "invalid url" failure naming its items."""
    for url, (reason, items) in refused.items():
        shown = ", ".join(items[:3]) + (f" and {len(items) - 3:,} more" if len(items) > 3 else "")
        report.add_failure(url, f"invalid url: item {shown}: {reason}")


def _failed_items(
    report: FetchReport, urls: dict[str, str], json_out: str | None
) -> dict[str, str]:
    """Item -> why its image is not in the manifest, said in a note when there are any."""
    # the manifest lists what was fetched: say which items are missing from it, by id
    failed = {
        k: report.errors.get(u, "not fetched") for k, u in urls.items() if u not in report.paths
    }
    if failed:  # named when none was fetched too: which items are missing, and why
        # a file size limit fails each image in turn (a full disk stops the fetch): it
        # is not the URLs
        too_large = sum("File too large" in why for why in failed.values())
        limit = (
            f"; {too_large:,} of them could not be cached: the file size limit "
            f"(ulimit -f) refused {agree(too_large, 'it', 'them')}"
            if too_large
            else ""
        )
        say_note(
            f"{len(failed):,} of {counted(len(urls), 'image')} "
            f"{agree(len(failed), 'is', 'are')} not in the manifest: "
            f"{agree(len(failed), 'its', 'their')} URL failed ({_examples_of(list(failed))}"
            + (f"; --json {json_out} lists them all" if json_out else "; --json lists them")
            + f"){limit}"
        )
    return failed


def _write_manifest(
    out: Path, rows: list[tuple[str, Path, str]], urls: dict[str, str]
) -> tuple[int, bool]:
    """Write the manifest unless it would wipe an earlier run's; returns (rows, written)."""
    from visrec.images.fetch import write_manifest

    # a header-only manifest would replace the images of an earlier run
    written = bool(rows) or not urls or not out.exists()
    n_rows = write_manifest(out, rows) if written else 0
    if written:
        print(f"wrote {out} ({n_rows:,} image{agree(n_rows, '', 's')})")
    return n_rows, written


def _check_manifest_paths(out: Path, cache: Path, option: str) -> None:
    """Refuse, before any download, a cache whose path the manifest would hold (as
    :func:`visrec.images.fetch.write_manifest` writes it: relative to the manifest's
    folder, else absolute) with bytes that are not UTF-8, which its CSV cannot."""
    from visrec._atomic import shown_path, utf8_path
    from visrec.images.fetch import manifest_path

    if not utf8_path(manifest_path(cache, out.expanduser().resolve().parent)):
        raise VisrecError(
            f"--cache '{shown_path(cache)}': the manifest ({option}) names each image by "
            "its path in this folder, whose name is not valid UTF-8, which the manifest's "
            "text cannot hold; rename the folder, or write the manifest inside it"
        )


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    max_time = _check_options(args)
    if not args.cache.strip():  # Path("") is the current folder: downloads landed there
        raise VisrecError("--cache: folder path is empty; name the image cache folder")
    cache = Path(args.cache).expanduser()
    # checked as given: an empty -o is an error, not the default (Path("") is ".")
    given = args.output if args.output is not None else str(cache / "manifest.csv")
    out_option = "-o" if args.output is not None else "--cache (its manifest.csv)"
    _check_cache(cache)
    check_output_file(given, out_option, "CSV")
    out = Path(given)
    _check_manifest_paths(out, cache, out_option)
    check_output_file(args.json, "--json")
    files = source_files(args.sources, args.what)
    _check_outputs_apart(args, out, out_option, cache, files)
    from visrec._atomic import exclusive_lock

    # one fetch per manifest: a second downloaded everything again and the last to
    # finish replaced the other's manifest, both saying they wrote it
    with exclusive_lock(out, "visrec fetch", advice="give another -o"):
        return _fetch_and_write(args, out, cache, files, max_time)


def _fetch_and_write(
    args: argparse.Namespace, out: Path, cache: Path, files: list[Path], max_time: float | None
) -> int:
    """The fetch itself, once the output is held: read the sources, download, write the
    manifest (and ``--json``); the exit status."""
    from visrec._atomic import write_text_atomic
    from visrec.images.fetch import FetchInterrupted, fetch_images

    got = read_sources(files, args.what)
    for n in got.notes:
        say_note(n)
    # A URL that cannot be requested (ftp://, //host/x, htps://) fails here, naming its
    # items and where they are, and is never requested.
    refused = _refused_urls(got)
    try:
        with fit_lines_in_logs(args):  # no bar in a log file: a line a minute instead
            report = fetch_images(
                [u for u in got.urls.values() if u not in refused],
                cache,
                workers=args.workers,
                timeout=args.timeout,
                retries=args.retries,
                max_bytes=args.max_bytes,
                max_time=max_time,
                progress=show_progress(args),
            )
    except FetchInterrupted as exc:
        print(_interrupted_note(exc.report, exc.n_stopped), file=sys.stderr)
        return 130
    _add_refused(report, refused)
    print(report.summary())
    urls = got.urls
    rows = [(k, report.paths[u], u) for k, u in urls.items() if u in report.paths]
    failed = _failed_items(report, urls, args.json)
    n_rows, written = _write_manifest(out, rows, urls)
    if args.json:
        data = report.to_dict()
        data.update({"n_keys": len(urls), "manifest": str(out), "manifest_rows": n_rows,
                     "manifest_written": written, "failed_items": failed})  # fmt: skip
        write_text_atomic(args.json, json.dumps(with_run(data, args), indent=2) + "\n")
    if urls and n_rows == 0:  # a script must not go on to embed nothing (as embed says)
        n_urls = len(set(urls.values()))  # urls maps each photo's key; one URL may serve many
        kept = "holds only its header" if written else "is left as it was"
        offline = bool(report.errors) and all(
            e.startswith(("connection error", "timeout")) for e in report.errors.values()
        )
        advice = (
            "; if this machine cannot reach them, put the images in a folder as "
            "<id>.<ext> and run visrec embed FOLDER, or list local paths in a manifest "
            "(item_id,path) for visrec embed --manifest"
            if offline
            else ""
        )
        say_note(
            f"error: {none_of(n_urls, 'URLs', 'could be fetched', 'could not be fetched')} "
            f"(for {counted(len(urls), 'image')}; the summary says why): {out} {kept}{advice}"
        )
        return 1
    return 0
