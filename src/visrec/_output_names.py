"""Output names checked against the format written there: visrec's own readers go by
the suffix, so ``recs.parquet`` written as CSV could not be read back. Shared by the
commands (:mod:`visrec.commands._output_paths`) and the Python API (``embed_images``)."""

from __future__ import annotations

import os
from pathlib import Path

from visrec.errors import VisrecError

#: what each written format is named by, and the names that say another format: a
#: ``recs.csv.gz`` written as plain text is refused by visrec's own gzip-reading loaders
_FORMAT_SUFFIXES = {
    "CSV": (".csv",),
    "JSON": (".json",),
    "HTML": (".html", ".htm"),
    "Parquet": (".parquet", ".pq"),
}
_OTHER_SUFFIXES = {
    ".tsv": "tab-separated text",
    ".tab": "tab-separated text",
    ".jsonl": "JSON lines",
    ".xlsx": "Excel",
}
_COMPRESSED = (".gz", ".bz2", ".xz", ".zip", ".zst", ".zstd", ".lz4", ".7z")


def check_output_suffix(path: str | os.PathLike[str], option: str, writes: str) -> None:
    """Refuse an output name whose suffix says another format than the ``writes`` one
    the command writes there (``recs.parquet`` for CSV, ``ev.json.gz`` for plain JSON):
    the file would be refused by visrec's own readers, which go by the suffix. Names
    with no suffix or one that says no format (``out.dat``) pass."""
    name = Path(path).name.lower()
    suffix = Path(name).suffix
    right = _FORMAT_SUFFIXES[writes][0]
    stem = Path(path).name[: len(Path(path).name) - len(suffix)]
    if suffix in _COMPRESSED:
        inner = Path(stem).suffix.lower()
        other = inner in _OTHER_SUFFIXES or any(inner in e for e in _FORMAT_SUFFIXES.values())
        base = stem[: len(stem) - len(inner)] if other else stem
        keep = stem if inner in _FORMAT_SUFFIXES[writes] else f"{base}{right}"
        raise VisrecError(
            f"{option}: {str(path)!r} ends in {suffix}, but visrec writes it as plain "
            f"{writes}, not compressed; name it {keep!r} (and compress it afterwards)"
        )
    said = _OTHER_SUFFIXES.get(suffix) or next(
        (fmt for fmt, ends in _FORMAT_SUFFIXES.items() if suffix in ends and fmt != writes), None
    )
    if said is not None:
        raise VisrecError(
            f"{option}: {str(path)!r} ends in {suffix} ({said}), but visrec writes "
            f"{writes} there; name it {stem + right!r}"
        )
