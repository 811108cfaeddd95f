"""``visrec embed``: item images -> a Parquet file of image vectors."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visrec.commands._common import (
    LastPathNoted,
    check_output_file,
    check_outputs_distinct,
    named_like_outputs,
    say_note,
    survives_closed_stdout,
    with_run,
)
from visrec.commands._help import BACKBONE_NAMES, HelpFormatter
from visrec.commands._progress import add_progress_args, fit_lines_in_logs, show_progress
from visrec.commands._resume import file_state
from visrec.errors import agree, counted, none_of, shown

if TYPE_CHECKING:
    from visrec.embed.extract import EmbedResult

EPILOG = """\
examples:
  # EfficientNet-Lite0, 1280-d
  visrec embed images/ -o vectors.parquet
  # the tutorial's, 512-d
  visrec embed images/ -o vectors.parquet --backbone resnet18
  # the lite extra
  visrec embed images/ -o vectors.parquet --backbone efficientnet-lite2
  visrec embed --manifest items.csv -o vectors.parquet      # CSV: item_id,path
  visrec embed images/ -o vectors.parquet --engine torch --device cuda
  # on the Ray cluster `ray start --head` began on this machine
  visrec embed images/ -o vectors.parquet --engine ray --ray-address auto
  visrec embed --list-backbones

Images are files named <item_id>.<jpg|jpeg|jfif|png|webp|gif|bmp|tif|tiff> (and .avif
when Pillow can decode it) in IMAGES_DIR itself; spaces around the id are dropped, as
every ratings loader does. Subfolders and other files are skipped, with a note. Bad
files (not an image, truncated, empty, decompression bomb) never stop the run: they get
a zero vector and has_image=false, and are listed in the summary.

The run is resumable: vectors are written in chunks to OUT.parts/ as they are
computed. After an interruption (Ctrl-C, kill -9, a crash) run the same command again:
only missing chunks are computed. Re-running after success reuses the output
("reused N"). One run per OUT at a time: a second one stops at once, naming the
first one's pid. A different backbone, weights or preprocessing never reuses old vectors.

An existing OUT that is not a vectors file, or a vectors file more than half of whose
items are not in this run, is left alone unless --overwrite is given; a vectors file
losing fewer items is updated, with a note naming them.

Images that failed with a read error of the system (permission denied, too many open
files, an I/O error, out of memory) are tried again by the next run; the others stay
failed until their file changes. -o and --json must not name the manifest, one of the
images or each other.

A progress bar shows on a terminal (--quiet hides it, --verbose shows it in a log too).

Exit status 1 when there were images and none could be embedded (the output and the
summary are still written).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "embed",
        help="item images -> image vectors (Parquet)",
        description=(
            "Embed every item image with a pretrained CNN and write item_id / vector / "
            "has_image to a Parquet file, with the backbone, weights and preprocessing "
            "recorded in its metadata."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "images_dir", metavar="IMAGES_DIR", nargs="?", help="folder of <item_id>.<ext> images"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="vectors Parquet file to write (required, except with --list-backbones)",
    )
    p.add_argument(
        "--manifest",
        metavar="CSV",
        help="item_id,path CSV/TSV instead of IMAGES_DIR",
        action=LastPathNoted,
    )
    p.add_argument(
        "--recursive",
        action="store_true",
        help="also read IMAGES_DIR's subfolders (photos by category); the id is still "
        "the file name, so one name in two subfolders is an error",
    )
    p.add_argument(
        "--backbone",
        default="efficientnet-lite0",
        metavar="NAME",
        help=f"image network: {BACKBONE_NAMES} (default efficientnet-lite0; sizes and "
        "preprocessing: --list-backbones)",
    )
    p.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "torch", "onnx", "ray"),
        help=(
            "inference engine; auto = ONNX Runtime if installed and its model cache can be "
            "written, else torch (default auto)"
        ),
    )
    p.add_argument(
        "--device",
        default="auto",
        metavar="DEVICE",
        help="auto, cpu, cuda or cuda:N; auto uses CUDA when available (default auto)",
    )
    p.add_argument("--batch-size", type=int, metavar="N", help="default: the engine's best")
    p.add_argument("--workers", type=int, metavar="N", help="decode threads (default min(4, CPUs))")
    p.add_argument(
        "--chunk-size",
        type=int,
        metavar="N",
        help="mean images per resumable chunk (default: the one OUT was made with, else "
        "512; reuse is by chunk, so another size recomputes every image)",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="with --engine ray: the running Ray cluster to join, HOST:PORT or 'auto' (the one "
        "`ray start` began on this machine); default: start a local Ray for this run",
    )
    p.add_argument("--json", metavar="JSON", help="also write the summary (all failures) as JSON")
    p.add_argument(
        "--overwrite",
        "--replace",
        action="store_true",
        help=(
            "replace an existing OUT that is not a visrec vectors file, or one more than "
            "half of whose items this run would drop (default: refuse)"
        ),
    )
    add_progress_args(p)
    p.add_argument(
        "--list-backbones", action="store_true", help="list available backbones and exit"
    )
    p.set_defaults(func=run)


def _list_backbones() -> int:
    from visrec.embed.backbones import DEFAULT_BACKBONE, get_backbone, list_backbones
    from visrec.errors import VisrecError

    names = list_backbones()
    width = max(20, *(len(n) for n in names))  # a registered long name keeps the columns
    for name in names:
        try:
            bb = get_backbone(name)
        except VisrecError as exc:  # an installed package's that fails: the others listed
            print(f"{name:<{width}} not usable: {exc}")
            continue
        pp = bb.preprocessing
        h, w = pp["input_size"]
        resize = (
            f"shorter side {pp['resize_size']}, center crop {h}x{w}"
            if pp["resize"] == "shorter"
            else f"resize to {h}x{w}"
        )
        default = "  (default)" if name == DEFAULT_BACKBONE else ""
        print(
            f"{name:<{width}} {bb.dim:>5}-d  {resize}, {pp['interpolation']}, "
            f"mean {pp['mean'][0]:.3f}.., std {pp['std'][0]:.3f}..{default}"
        )
        missing = bb.missing()
        if missing is not None:
            print(f"{'':<{width}} not installed: {missing}")
        elif (problem := bb.import_problem()) is not None:
            print(f"{'':<{width}} not usable: {problem}")
    return 0


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    if args.list_backbones:
        return _list_backbones()

    from visrec.embed.extract import embed_images
    from visrec.errors import VisrecError, write_error

    _check_args(args)
    items, source, skipped = _list_items(args)
    if not args.output.lower().endswith((".parquet", ".pq")):
        # written all the same (a name that says no format is the user's choice; one
        # that says another, vectors.csv, was refused at start-up), with a word on it,
        # once the checks of the output against the images passed
        print(
            f"note: {args.output} is written as a Parquet file (its name does not end in .parquet)",
            file=sys.stderr,
        )
    before, json_before = file_state(args.output), file_state(args.json)
    try:
        with fit_lines_in_logs(args):  # no bar in a log file: a line a minute instead
            result = embed_images(
                items,
                args.output,
                backbone=args.backbone,
                engine=args.engine,
                device=args.device,
                batch_size=args.batch_size,
                workers=args.workers,
                progress=show_progress(args),
                chunk_size=args.chunk_size,
                ray_address=args.ray_address,
                overwrite=args.overwrite,
            )
    except OSError as exc:  # e.g. an unwritable output folder: a message, not a traceback
        # a failed read (the existing output, a chunk file, the weights) is a ReadError
        # where it happens: what reaches here unsaid is a failed write
        if isinstance(exc, FileNotFoundError | VisrecError):  # said already
            raise
        where = exc.filename or args.output
        raise write_error(f"{where}: {exc.strerror or exc}", exc) from exc
    except KeyboardInterrupt:
        print(f"interrupted: {_kept_chunks(args.output, before)}", file=sys.stderr)
        return 130
    try:
        return _report(args, result, source, skipped)
    except KeyboardInterrupt:  # its read-back of the file for shared vectors
        pending = (
            f", not yet --json {args.json}; run the same command again to write it (every "
            "vector is reused)"
            if args.json and file_state(args.json) in (None, json_before)
            else ""
        )
        print(f"interrupted: {args.output} was written{pending}", file=sys.stderr)
        return 130


def _kept_chunks(output: str | None, before: tuple[int, int, int, int] | None = None) -> str:
    """What an interrupted embed kept for a rerun: the output written whole (an atomic
    rename), an earlier output left as it was (``before``: its :func:`file_state` at
    the start), its finished chunks, if any."""
    from visrec.embed.chunk_files import chunk_files_in, parts_dir

    if output is None:
        return "nothing was written"
    now = file_state(output)
    if now is not None and now != before:
        return f"{output} was written"
    try:
        n = len(chunk_files_in(parts_dir(output)))
    except OSError:
        n = 0
    if not n and now is not None:  # every vector reused, or none computed yet
        return f"{output} is as it was; no new chunk had finished"
    if not n:
        return "no chunk had finished, so nothing was kept"
    return (
        f"{counted(n, 'finished chunk')} {agree(n, 'is', 'are')} kept in {parts_dir(output)}; "
        "run the same command "
        "again to resume"
    )


def _check_args(args: argparse.Namespace) -> None:
    """Refuse options and outputs that cannot work, before any image is listed."""
    from visrec.commands._checks import check_at_least
    from visrec.data.images_index import IMAGE_SUFFIXES
    from visrec.embed.backbones import get_backbone
    from visrec.embed.extract import check_utf8_output, empty_file
    from visrec.embed.store import is_foreign_file
    from visrec.errors import VisrecError

    if not args.output:
        what = (
            "the output file" if args.images_dir or args.manifest else "the images and the output"
        )
        raise VisrecError(f"give {what}: visrec embed IMAGES_DIR -o vectors.parquet")
    if bool(args.images_dir) == bool(args.manifest):
        raise VisrecError("give exactly one of IMAGES_DIR or --manifest CSV")
    if args.recursive and args.manifest:
        raise VisrecError(
            "--recursive reads subfolders of IMAGES_DIR; a --manifest lists its files"
        )
    table = args.images_dir and Path(args.images_dir).suffix.lower() in {".csv", ".tsv", ".txt"}
    if table and Path(args.images_dir).is_file():  # e.g. the manifest `visrec fetch` wrote
        import shlex

        raise VisrecError(
            f"{args.images_dir}: a file, not a folder of images; a manifest "
            f"(item_id,path) is given with --manifest: visrec embed --manifest "
            f"{shlex.quote(args.images_dir)} -o {shlex.quote(args.output)} ..."
        )
    check_output_file(args.output, "-o", "Parquet")
    check_utf8_output(args.output, "-o")  # before the file is read to tell whether it is ours
    check_output_file(args.json, "--json")
    outputs = {"-o": args.output, "--json": args.json}
    check_outputs_distinct(outputs, {"--manifest": args.manifest}, {"-o": "Parquet"})
    for option, value in (
        ("--batch-size", args.batch_size),
        ("--workers", args.workers),
        ("--chunk-size", args.chunk_size),
    ):
        check_at_least(value, 1, option)
    if args.ray_address is not None and not args.ray_address.strip():
        # empty, it would start a local Ray without a word
        raise VisrecError("--ray-address is empty; name the cluster (HOST:PORT) or 'auto'")
    if args.ray_address and args.engine != "ray":
        # it would otherwise run locally without a word
        raise VisrecError("--ray-address needs --engine ray")
    from visrec._device import parse_device

    parse_device(args.device)  # a typo, also where a finished output is only reused
    get_backbone(args.backbone)  # a typo'd name before any file is read (cheap: no weights)
    if Path(args.output).suffix.lower() in IMAGE_SUFFIXES and Path(args.output).exists():
        # an image, most likely one of the inputs: --overwrite is not the fix
        raise VisrecError(
            f"-o {args.output} is an image; -o names the vectors file to write "
            "(e.g. vectors.parquet)"
        )
    if not args.overwrite and is_foreign_file(args.output) and not empty_file(args.output):
        # refused before the images are even listed; embed_images would refuse too
        raise VisrecError(
            f"{args.output} exists and is not a visrec vectors file; give another -o, or "
            "--overwrite to replace it"
        )


def _list_items(args: argparse.Namespace) -> tuple[Any, str, str | None]:
    """``(item_id -> image path, where they were listed, note on skipped files)``, the
    outputs checked against them before the model loads."""
    from visrec.data.images_index import is_web_url
    from visrec.embed.extract import check_dropped, no_images_message
    from visrec.errors import VisrecError

    outputs = {"-o": args.output, "--json": args.json}
    skipped = None
    if args.manifest:
        from visrec.data.images_index import load_manifest

        items: Any = load_manifest(args.manifest)
        source = args.manifest
    else:
        from visrec.data.images_index import scan_images

        scan = scan_images(args.images_dir, recursive=args.recursive)
        items = scan.images
        source = args.images_dir
        skipped = scan.skipped_note()
        _check_fetch_cache(args.images_dir, list(items), args.output)
    if not items:
        if args.manifest:  # the folder's message would name files it never looked for
            raise VisrecError(f"{source}: the manifest lists no images (no rows after its header)")
        raise VisrecError(no_images_message(source, skipped))
    # an output named like one of the images would replace it (before the model loads)
    local = (p for p in items.values() if not is_web_url(str(p)))
    check_outputs_distinct(
        outputs, [(f"image {p.name}", p) for p in named_like_outputs(outputs, local)]
    )
    # refused before the model is loaded; embed_images would refuse too, in its words
    check_dropped(
        args.output,
        list(items),
        args.overwrite,
        "choose another -o, or pass --overwrite to replace it",
    )
    if skipped:
        skipped = f"{source}: {skipped}"
        if show_progress(args):  # before a long run, not only after it
            say_note(f"note: {skipped}")

    return items, source, skipped


def _check_fetch_cache(folder: str, ids: list[str], output: str) -> None:
    """A `visrec fetch` cache names its files by the URL's hash: embedded as a folder,
    every item id would be a 64-hex hash. Its manifest holds the item ids: with the
    manifest inside, refused with the command to run; without, a note."""
    import shlex

    from visrec.errors import VisrecError
    from visrec.images.fetch import CACHE_NAME

    manifest = Path(folder) / "manifest.csv"
    hashed = sum(1 for i in ids if CACHE_NAME.fullmatch(i))
    if not ids or hashed <= len(ids) // 2:
        return
    if manifest.is_file():
        raise VisrecError(
            f"{folder} is a visrec fetch cache: its files are named by the hash of their "
            f"URL ({hashed:,} of {len(ids):,}), not by item id; embed its manifest instead: "
            f"visrec embed --manifest {shlex.quote(str(manifest))} -o {shlex.quote(output)}"
        )
    # no manifest inside (fetch -o wrote it elsewhere), or a shop's own hash-named
    # files: embedded as asked, but the ids are said to be hashes
    print(
        f"note: {folder} looks like a visrec fetch cache: {hashed:,} of {len(ids):,} files "
        "are named by a 64-hex hash, and those are the item ids here. For a fetch cache, "
        "embed the manifest that visrec fetch -o wrote instead: visrec embed --manifest "
        f"MANIFEST.csv -o {shlex.quote(output)}",
        file=sys.stderr,
    )


#: the largest vectors file whose rows embed compares after a run (read whole)
DUPLICATE_CHECK_BYTES = 2 << 30


def _duplicate_note(result: EmbedResult) -> str | None:
    """Items of the written file whose vectors are identical (one photo for several
    items), or None; skipped for files over ``DUPLICATE_CHECK_BYTES`` (``visrec data
    summary`` says it for any size)."""
    from visrec.embed.store import duplicate_groups, duplicate_note

    out = result.output
    if not result.n_ok or out is None or not out.is_file():
        return None
    if out.stat().st_size > DUPLICATE_CHECK_BYTES:
        return None
    iv = result.vectors  # read back once, and kept on the result
    # has_image leaves out all-zero rows (ItemVectors): no photo shared by zero vectors
    return duplicate_note(iv.ids, duplicate_groups(iv.vectors, iv.has_image))


def _report(args: argparse.Namespace, result: EmbedResult, source: str, skipped: str | None) -> int:
    """Print the run's summary (and write ``--json``); 1 when no image could be embedded."""
    from visrec._atomic import write_text_atomic

    rate = result.images_per_second
    images = "image" if result.n == 1 else "images"
    # with failures, the count embedded is the ones with a vector, not all listed
    done = f"{result.n_ok:,} of {result.n:,}" if result.failures else f"{result.n:,}"
    print(
        f"embedded {done} {images} from {source} with {result.backbone} "
        f"(engine {result.engine}) -> {args.output}"
    )
    print(
        f"  ok {result.n_ok}, failed {len(result.failures)}, "
        f"reused {result.n_reused}, computed {result.n_computed}"
    )
    if result.n_computed:
        print(f"  {result.seconds:.1f} s, {rate:.1f} img/s (images embedded this run / wall time)")
    else:
        print(f"  {result.seconds:.1f} s, nothing to compute")
    notes = ([skipped] if skipped else []) + result.notes
    # with progress shown, these were said on stderr as they came: not twice
    said = set(notes) if show_progress(args) else set()
    same = _duplicate_note(result)
    if same:
        notes.append(same)
    for msg in notes:
        if msg not in said:
            say_note(f"note: {msg}")
    if result.failures:
        limit = 50
        say_note(f"failed images ({len(result.failures):,}; zero vector, has_image=false):")
        for item_id, path, reason in result.failures[:limit]:
            # a manifest's paths are read relative to its folder: the path looked at
            where = path if args.manifest else os.path.basename(path)
            # a line break in a manifest's path would cut this listing: escaped
            say_note(f"  {shown(where)} (item {shown(item_id)}): {reason}")
        if len(result.failures) > limit:
            more = len(result.failures) - limit
            say_note(f"  ... and {more:,} more (--json JSON lists all)")
    if args.json:
        summary = {
            "n": result.n,
            "n_ok": result.n_ok,
            "n_reused": result.n_reused,
            "n_computed": result.n_computed,
            "seconds": round(result.seconds, 3),
            "images_per_second": round(rate, 2),
            "backbone": result.backbone,
            "engine": result.engine,
            "output": str(args.output),
            "failures": [{"item_id": i, "path": p, "reason": r} for i, p, r in result.failures],
            "notes": notes,
        }
        write_text_atomic(args.json, json.dumps(with_run(summary, args), indent=2))
        print(f"wrote {args.json}")
    if result.n and not result.n_ok:
        # like visrec fetch: a script must not go on with a file of zero vectors only
        print(
            f"error: {none_of(result.n, 'images', 'could be embedded', 'could not be embedded')}"
            f" (all failed; see above); {args.output} has zero vectors only",
            file=sys.stderr,
        )
        return 1
    return 0
