"""Amazon Review Data (2018) loaders: review files and product metadata files; the
2023 release's records are read as their 2018 equivalents (:func:`as_2018_record`).

Both layouts found in the wild are read: JSON lines (one object per line, as
distributed) and pretty-printed concatenated objects (one object spread over many
lines, objects back to back). Files are decoded with one streaming
``json.JSONDecoder.raw_decode`` pass, so each record's starting line is known for
error reports and neither layout needs to be declared.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from visrec.data.column_names import ALIASES, column_key
from visrec.data.interactions import ITEM, RATING, TIMESTAMP, USER
from visrec.data.tables import BadRecord, LoadResult, encoding_warnings
from visrec.data.text_files import PathLike, decode_text
from visrec.errors import (
    InputNotFoundError,
    VisrecError,
    agree,
    counted,
    names_text,
    shown,
)

REVIEW_COLUMNS = (
    "review_id",
    USER,
    ITEM,
    RATING,
    TIMESTAMP,
    "verified",
    "image",
    "category",
)
PHOTO_COLUMNS = ("review_id", USER, ITEM, "image", "category", "_where")
META_COLUMNS = (ITEM, "title", "category", "main_cat", "categories", "image_urls")
#: ``load_amazon_reviews(..., review_digest=True)``'s column saying a review has text
REVIEW_HAS_TEXT = "review_has_text"

_NONWS = re.compile(r"\S")
# A line holding something other than whitespace ("\r" of CRLF endings included).
_NONBLANK_LINE = re.compile(r"^[^\S\n]*\S", re.MULTILINE)
_DECODER = json.JSONDecoder()


def category_from_filename(path: PathLike) -> str:
    """``AMAZON_FASHION_5.json.gz`` -> ``AMAZON_FASHION``; ``meta_All_Beauty.json`` ->
    ``All_Beauty``; also strips the 2014 ``reviews_`` prefix."""
    name = Path(path).name
    for ext in (".gz", ".bz2", ".xz", ".json", ".jsonl", ".txt"):
        name = name.removesuffix(ext)
    for prefix in ("meta_", "reviews_"):
        name = name.removeprefix(prefix)
    return re.sub(r"_\d+$", "", name) or name


def iter_json_records(text: str, where: str) -> Iterator[tuple[int, object | BadRecord]]:
    """Yield ``(line, object)`` for each top-level JSON value, or ``(line, BadRecord)``.

    Works for JSON lines and for concatenated (pretty-printed) objects alike. After a
    parse error it resumes at the next line that starts with ``{`` (after no more
    indentation than the broken record's line) after the broken record's first line,
    which is the next record in both layouts. An array that is the whole file, or that
    holds an object, yields its elements (all with the array's line); any other (a
    line ``[1, 2]`` of a JSON-lines file) is one value, one bad record, not one per
    element. An array of objects that does not parse is read element by element (each
    with its own line), so only its broken element is lost. Commas between top-level
    objects are tolerated.
    """
    pos = 0
    line = 1
    counted_to = 0
    errors = 0  # invalid JSON said so far
    # the broken arrays of records being read: their line, and the errors said before
    open_arrays: list[tuple[int, int]] = []
    n = len(text)
    first = _NONWS.search(text)
    start, stop = (first.start() if first else 0), len(text.rstrip())  # the file's values
    while pos < n:
        m = _NONWS.search(text, pos)
        if m is None:
            break
        pos = m.start()
        line += text.count("\n", counted_to, pos)
        counted_to = pos
        if text[pos] == ",":
            pos += 1
            continue
        if text[pos] == "]" and open_arrays:  # the end of an array stepped into below
            open_arrays.pop()
            pos += 1
            continue
        try:
            obj, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            inner = _NONWS.search(text, pos + 1) if text[pos] == "[" else None
            if inner is not None and text[inner.start()] == "{":
                # a batch of records with a broken one: read its elements one by one, so
                # the broken one is the bad record and the others load
                open_arrays.append((line, errors))
                pos += 1
                continue
            errors += 1
            err_line = line + text.count("\n", pos, exc.pos)
            col = exc.pos - text.rfind("\n", 0, exc.pos)  # 1-based, on the line it is on
            said = f"column {col}" if err_line == line else f"line {err_line}, column {col}"
            detail = f"{exc.msg} ({said})"
            yield line, BadRecord(where, line, "invalid JSON", f"invalid JSON: {detail}")
            # the next record: a line starting with "{" no deeper than this record's line
            # (records may be indented; a pretty-printed one's nested objects are deeper),
            # or with a "," before it (a comma-first layout)
            ls = text.rfind("\n", 0, pos) + 1
            indent = len(text[ls:pos]) - len(text[ls:pos].lstrip())
            nxt = re.compile(rf"\n[^\S\n]{{0,{indent}}}(?:,[^\S\n]*)?\{{").search(text, pos)
            pos = n if nxt is None else nxt.end() - 1
            continue
        if isinstance(obj, list) and (
            (pos == start and end == stop) or any(isinstance(e, dict) for e in obj)
        ):  # a batch of records (each non-object in it is its own bad record)
            for el in obj:
                yield line, el
        else:
            yield line, obj
        pos = end
    for opened, before in open_arrays:
        if errors > before:  # resuming after its broken element may have passed its "]"
            continue
        why = "invalid JSON: the array that starts on this line is not closed (no ']')"
        yield opened, BadRecord(where, opened, "invalid JSON", why)


#: what a JSON reader calls each value (not Python's int, str, NoneType)
_JSON_KINDS: dict[type, str] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _load_json_file(
    p: Path,
) -> tuple[str, list[tuple[int, object | BadRecord]], str, list[BadRecord]]:
    """``(where, records, layout, warnings)``: a record on a line that is not valid
    UTF-8 (in a file that otherwise is) is that bad record."""
    where = str(p)
    decoded = decode_text(p)
    text = decoded.text
    records = list(iter_json_records(text, where))
    _refuse_other_json(p, text, records)
    return where, records, _layout(text, records), encoding_warnings(decoded, where)


def _refuse_other_json(p: Path, text: str, records: list[tuple[int, object | BadRecord]]) -> None:
    """One error for JSON that is no Amazon file at all, where every record would be
    a bad record blaming a missing Amazon field: a table exported as JSON lines
    (``user_id``, ``item_id``), or the 2014 release's Python-literal records."""
    first = next((rec for _, rec in records if isinstance(rec, dict)), None)
    if first is None:
        head = text.lstrip()
        if records and head.startswith("{'"):
            raise VisrecError(
                f"{p}: records in Python's notation ({{'asin': ...}}, the 2014 Amazon "
                "release's files), not JSON; visrec reads the 2018 and 2023 releases' JSON "
                "files"
            )
        if records and head[:1] not in ("{", "["):
            # no JSON object at all (a CSV under a .json name): the parser would lump the
            # whole file into one "invalid JSON" record and load an empty table
            start = head.splitlines()[0][:60]
            raise VisrecError(
                f"{shown(str(p))}: no JSON object in it (it starts {start!r}); Amazon review "
                "files are JSON lines or concatenated JSON objects, and a .json or .jsonl "
                "name is read as one: a CSV or TSV table of interactions needs another name, "
                "e.g. .csv"
            )
        return
    if {"reviewerID", "asin", "parent_asin"} & first.keys():
        return
    roles = {role for role, names in ALIASES.items() for k in first if column_key(k) in names}
    if {USER, ITEM} <= roles:
        raise VisrecError(
            f"{p}: JSON records with fields {names_text(list(first))}: JSON files are "
            "read as Amazon reviews only (reviewerID and asin; 2023: user_id and "
            "parent_asin); save the table as CSV or Parquet, e.g. pandas.read_json(path, "
            "lines=True).to_csv('interactions.csv', index=False)"
        )


def _layout(text: str, records: list[tuple[int, object | BadRecord]]) -> str:
    """Informational layout label: JSON lines iff every non-blank line starts a record.

    Blank lines (between records or at the end) say nothing about the layout, so only
    non-blank lines are counted; a pretty-printed object has lines that start no record.
    """
    if not records:
        return "empty"
    n_lines = sum(1 for _ in _NONBLANK_LINE.finditer(text))
    n_starts = len({line for line, _ in records})  # a top-level array shares one line
    if n_lines <= n_starts:
        return "JSON lines"
    return "concatenated JSON objects (pretty-printed)"


def is_2023_record(rec: dict[str, Any]) -> bool:
    """An Amazon Reviews 2023 review or metadata record: a ``parent_asin`` (or a review's
    ``user_id``) and no 2018 ``reviewerID``."""
    return ("parent_asin" in rec or "user_id" in rec) and "reviewerID" not in rec


# a 2023 ``timestamp`` below this is in seconds, not the release's milliseconds
_SECONDS_BELOW = 10**11
# marks a record read from the 2023 layout, so a bad record names its own fields
_FROM_2023 = "\x00visrec 2023"
# 2018 field names in bad-record messages -> the 2023 record's (longest first)
_NAMES_2023 = (
    (", and no usable reviewTime", ""),
    (" or reviewTime", ""),
    ("unixReviewTime", "timestamp"),
    ("whole seconds", "whole milliseconds"),
    ("reviewerID", "user_id"),
    ("'overall'", "'rating'"),
    ("'asin'", "'parent_asin'"),
    ("missing asin", "missing parent_asin"),
    ("no asin (", "no parent_asin ("),
    ("verified", "verified_purchase"),
)


def _own_names(rec: dict[str, Any], text: str) -> str:
    """``text`` (a bad record's kind or reason) in the field names of ``rec``'s layout."""
    if _FROM_2023 in rec:
        for old, new in _NAMES_2023:
            text = text.replace(old, new)
    return text


def as_2018_record(rec: dict[str, Any]) -> dict[str, Any]:
    """A 2023 record with the 2018 field names added, so one reader serves both
    releases; a 2018 record as it is.

    The item is the ``parent_asin`` (the product; ``asin`` names one variant of it, as
    the 2023 release's own benchmarks do), ``user_id`` is the ``reviewerID``,
    ``rating`` the ``overall``, ``timestamp`` (milliseconds) the ``unixReviewTime``
    (seconds), ``verified_purchase`` the ``verified``; ``images`` give the review
    photos (``large_image_url``) or, in metadata, the ``imageURLHighRes`` (``hi_res``,
    else ``large``); ``main_category`` and ``categories`` become ``main_cat`` and
    ``category``.
    """
    if not is_2023_record(rec):
        return rec
    out = dict(rec)
    out[_FROM_2023] = True
    # the product; without one the record has no item (its variant asin is not it)
    out["asin"] = rec.get("parent_asin")
    if "parent_asin" not in rec:
        del out["asin"]
    renamed = {
        "user_id": "reviewerID",
        "rating": "overall",
        "verified_purchase": "verified",
        "main_category": "main_cat",
        "categories": "category",
    }
    for new, old in renamed.items():
        if new in rec:
            out[old] = rec[new]
    if "timestamp" in rec:
        ms = _whole_seconds(rec["timestamp"])
        # a value that is no whole number stays as written, for the bad record; one
        # below 1e11 is already in seconds (as milliseconds it would be before 1974,
        # decades before online reviews): a converted file keeps its times
        if ms is None:
            out["unixReviewTime"] = rec["timestamp"]
        else:
            out["unixReviewTime"] = ms if abs(ms) < _SECONDS_BELOW else ms // 1000
    images = rec.get("images")
    if isinstance(images, list):
        found = [im for im in images if isinstance(im, dict)]
        if "user_id" in rec:  # a review: its photos
            out["image"] = [im.get("large_image_url") or im.get("medium_image_url") for im in found]
        else:
            out["imageURLHighRes"] = [im.get("hi_res") or im.get("large") for im in found]
    return out


def _as_id(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 2.0**63:
        v = int(v)  # 1e3 is the id "1000", as a whole-number float column's is
    s = str(v).strip()
    return s or None


class _IdKinds:
    """The first JSON number or numeric-looking string of each id text, per field: the
    number 7 and the string "7" are one id as text, and merged one user would get
    another's reviews; refused naming both, as ``Interactions.from_frame`` does."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], tuple[object, str, int]] = {}

    def check(self, key: str, raw: object, text: str, where: str, line: int) -> None:
        number = not isinstance(raw, str)
        if not number and text[:1] not in "-0123456789":
            return  # no number is spelt so: nothing to keep for "A2SUAM1J3GNN3B"
        seen, at, at_line = self.first.setdefault((key, text), (raw, where, line))
        if isinstance(seen, str) == number:
            raise VisrecError(
                f"{where}:{line}: {key} {raw!r} ({type(raw).__name__}) and {at}:{at_line}: "
                f"{key} {seen!r} ({type(seen).__name__}) are both the id {text!r} as text; "
                "give the ids one kind of value (all strings, or all numbers)"
            )


def _not_an_id(key: str, v: object) -> str | None:
    """Why ``v`` cannot be an id (``None`` when it can): an object, a list, true/false
    or a non-finite number would become its Python spelling (``"{'a': 1}"``); a line
    break or NUL would cut a CSV line, as the interaction tables' loader says."""
    if isinstance(v, str) and ("\n" in v or "\r" in v or "\x00" in v):
        return f"{key!r} is {json.dumps(v)[:60]}, which holds a line break or NUL no id can"
    if v is None or isinstance(v, str):
        return None
    if isinstance(v, int | float) and not isinstance(v, bool) and v == v and abs(v) != float("inf"):
        return None
    return f"{key!r} is {json.dumps(v, default=str)[:60]}, expected a string id"


def _review_time(rec: dict[str, object]) -> int | str:
    """The review's time in whole seconds, or why there is none (for the bad record).

    ``unixReviewTime`` must be whole seconds within int64 (``Infinity``, ``1e30``, ``1.5``
    or ``true`` are not); when it is absent or unusable, ``reviewTime`` ("09 1, 2016")
    is parsed instead.
    """
    t = rec.get("unixReviewTime")
    secs = _whole_seconds(t)
    if secs is not None:
        return secs
    rt = rec.get("reviewTime")
    if isinstance(rt, str):
        try:
            return int(datetime.strptime(rt.strip(), "%m %d, %Y").replace(tzinfo=UTC).timestamp())
        except ValueError:
            pass
    if t is None:
        return "no usable unixReviewTime or reviewTime"
    return (
        f"'unixReviewTime' is {_shown(t)}, expected whole seconds within int64, "
        "and no usable reviewTime"
    )


def _note_time_repair(scan: _JsonScan, r: Any) -> None:
    """A review kept with the time of its ``reviewTime`` because its ``unixReviewTime``
    is there but unusable: a repair, listed with the others (under ``--protocol time``
    it decides which side of the split the review falls)."""
    t = r.rec.get("unixReviewTime")
    if t is not None and _whole_seconds(t) is None:
        scan.warnings.append(
            BadRecord(
                r.where,
                r.line,
                _own_names(r.rec, "unreadable unixReviewTime"),
                _own_names(
                    r.rec,
                    f"'unixReviewTime' is {_shown(t)}, expected whole seconds (the day "
                    "of its reviewTime is used)",
                ),
            )
        )


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _whole_seconds(t: object) -> int | None:
    """``t`` as int64 seconds: an int, a whole float or an integer string; else None."""
    if t is None or isinstance(t, bool):
        return None
    if isinstance(t, float):
        if not t.is_integer():  # also NaN and +-Infinity
            return None
        v = int(t)
    elif isinstance(t, int):
        v = t
    elif isinstance(t, str):
        try:
            v = int(t.strip())
        except ValueError:
            return None
    else:
        return None
    return v if _INT64_MIN <= v <= _INT64_MAX else None


def _shown(v: object) -> str:
    """A JSON value as it was written (``Infinity``, ``1e+30``, ``"soon"``), shortened."""
    try:
        text = json.dumps(v)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _url_list(v: object) -> list[str]:
    """The review photo URLs of an ``image`` value: its non-blank strings."""
    if v is None:
        return []
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        return []
    return [u.strip() for u in v if isinstance(u, str) and u.strip()]


def _as_paths(paths: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    # a DataFrame iterates its column names, bytes its numbers; a generator is read once
    iterable = not isinstance(paths, pd.DataFrame | bytes) and isinstance(paths, Iterable)
    given: list[Any] = list(paths) if iterable else [paths]
    bad = [p for p in given if not isinstance(p, str | os.PathLike)]
    if bad:
        raise VisrecError(
            "load_amazon_reviews takes a file path or a list of them, got "
            f"{type(bad[0]).__name__} {'among them' if len(given) > 1 else ''}".rstrip()
        )
    out = [Path(p) for p in given]
    if not out:
        raise VisrecError("no input files given")
    for p in out:
        if not p.exists():
            raise InputNotFoundError(p)
        if p.is_dir():
            raise VisrecError(f"{p}: is a folder, expected an Amazon .json or .json.gz file")
    return out


@dataclass
class _JsonScan:
    """Reads the JSON objects of ``files`` and keeps account of what it read.

    ``bad`` gets unparsable records and non-objects (loaders append their own rejects
    to it, so it stays in file order), ``formats`` each file's layout and ``n_read``
    counts every record read, good or bad.
    """

    files: list[Path]
    bad: list[BadRecord] = field(default_factory=list)
    warnings: list[BadRecord] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    n_read: int = 0
    #: reviews whose ``image`` held an entry that is no URL (``[null]``, ``[""]``), and
    #: the first of them: said in one warning by :meth:`result`
    n_odd_images: int = 0
    first_odd_image: _Review | None = None

    def images(self, r: _Review) -> list[str]:
        """The photo URLs of review ``r``, counting it when an entry of its ``image``
        is not one (it is read as no photo)."""
        v = r.rec.get("image")
        urls = _url_list(v)
        entries = [v] if isinstance(v, str) else v if isinstance(v, list) else []
        if len(urls) < len(entries):
            self.n_odd_images += 1
            if self.first_odd_image is None:
                self.first_odd_image = r
        return urls

    def objects(self) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
        """Every JSON object of the files as ``(category, where, line, record)``."""
        for p in self.files:
            category = category_from_filename(p)
            where, records, layout, warnings = _load_json_file(p)
            self.formats[where] = layout
            self.warnings += warnings
            for line, rec in records:
                self.n_read += 1
                if isinstance(rec, BadRecord):
                    self.bad.append(rec)
                elif not isinstance(rec, dict):
                    kind = _JSON_KINDS.get(type(rec), type(rec).__name__)
                    self.bad.append(
                        BadRecord(
                            where, line, "not an object", f"expected a JSON object, got {kind}"
                        )
                    )
                else:
                    yield category, where, line, as_2018_record(rec)

    def result(self, frame: pd.DataFrame) -> LoadResult:
        if self.first_odd_image is not None:
            self.warnings.append(_odd_images_note(self.n_odd_images, self.first_odd_image))
        return LoadResult(
            frame=frame,
            bad=self.bad,
            warnings=self.warnings,
            files=[str(p) for p in self.files],
            formats=self.formats,
            n_read=self.n_read,
        )


def load_amazon_reviews(
    paths: PathLike | Sequence[PathLike],
    *,
    ids_only: bool = False,
    keep_rating: bool = False,
    keep_time: bool = False,
    for_photos: bool = False,
    review_digest: bool = False,
) -> LoadResult:
    """Load one or more Amazon review files into one table.

    Parameters
    ----------
    paths : path or sequence of paths
        ``<Category>[_5].json`` or ``.json.gz`` files, JSON lines or pretty-printed
        concatenated objects.
    ids_only : bool, default False
        Read only reviewerID and asin: ``overall`` and the review time are not looked
        at, so a record with a missing or null rating (or no time) is kept, as an
        implicit-feedback positive.
    keep_rating : bool, default False
        With ``ids_only``, also read ``overall`` (``rating``), for a rating threshold: a
        record with a missing, null or non-numeric rating is in ``bad``, one without a
        time is kept (unless ``keep_time``).
    keep_time : bool, default False
        With ``ids_only``, also read the review time (``timestamp``), for a split by
        time: a record without a usable time is in ``bad``, one without a rating is kept
        (unless ``keep_rating``).
    for_photos : bool, default False
        Read the records for their review photos (``visrec fetch``): the columns are
        ``review_id``, ``user_id``, ``item_id``, ``image``, ``category`` and ``_where``
        (``<file> line <n>``, where the record starts, for reports), and a
        record needs only its reviewerID and asin, so one with no usable rating or time
        (``"overall": null``) keeps its photos. A record the full load keeps has the
        same ``review_id`` here; any other gets ``<asin>_<reviewerID>[_<time>]_x``
        (``_2``... before the ``_x`` on repeats), which no full load gives.
    review_digest : bool, default False
        Add a ``review_digest`` column (int64): a digest of the review's time, stars,
        summary and text as the record gives them (2023: timestamp, rating, title and
        text), the same for the copies Amazon lists under each variant of a product
        (:mod:`visrec.data.variants`); and ``review_has_text`` (bool): the summary or
        text (2023: title or text) is a non-blank string. Only a review with text tells
        a copy: one without is a reviewer's stars on a day, which two products can
        share. With ``ids_only`` too.

    Returns
    -------
    LoadResult
        ``frame`` columns: ``review_id`` (str, ``<asin>_<reviewerID>_<unixReviewTime>``
        with ``_2``, ``_3``... appended to repeats, skipping one already given: unique
        across all files, in file order), ``user_id`` (reviewerID), ``item_id``
        (asin), ``rating`` (overall, float64), ``timestamp`` (unixReviewTime, int64;
        parsed from ``reviewTime`` when absent), ``verified`` (bool, False when
        absent), ``image`` (list of review photo URLs, empty when none) and
        ``category`` (from the file name).
        Records with a missing/null/non-numeric rating, a missing reviewerID or asin,
        no usable time, or unparsable JSON are in ``bad`` with file and line.
        With ``ids_only`` the columns are ``user_id`` and ``item_id`` only (and
        ``rating`` with ``keep_rating``, ``timestamp`` with ``keep_time``), and only
        records without a reviewerID or asin (or a usable rating or time, when read), or
        unparsable ones, are in ``bad``.
    """
    if (keep_rating or keep_time) and not ids_only:
        what = "keep_rating" if keep_rating else "keep_time"
        raise VisrecError(f"{what} only applies with ids_only (every field is read anyway)")
    if for_photos and ids_only:
        raise VisrecError("for_photos and ids_only are two different tables; give one")
    if review_digest and for_photos:
        raise VisrecError("review_digest is not a column of the review photos' table")
    scan = _JsonScan(_as_paths(paths))
    if ids_only:
        return scan.result(_review_ids(scan, keep_rating, keep_time, review_digest))
    if for_photos:
        return scan.result(_review_photos(scan))
    cols: dict[str, list[object]] = {c: [] for c in REVIEW_COLUMNS}
    digests: list[int] = []
    has_text: list[bool] = []
    ids = _ReviewIds()
    for r in _checked_reviews(scan, _review_problem):
        ts = _review_time(r.rec)
        if isinstance(ts, str):
            scan.bad.append(_no_time(r, ts))
            continue
        _note_time_repair(scan, r)
        cols["review_id"].append(ids.issue(f"{r.item}_{r.user}_{ts}"))
        cols[USER].append(r.user)
        cols[ITEM].append(r.item)
        cols[RATING].append(float(r.rec["overall"]))
        cols[TIMESTAMP].append(ts)
        verified = _verified(r.rec.get("verified"))
        if verified is None:
            scan.warnings.append(
                BadRecord(
                    r.where,
                    r.line,
                    _own_names(r.rec, "unreadable verified"),
                    _own_names(
                        r.rec,
                        f"'verified' is {_shown(r.rec['verified'])}, expected true or false "
                        "(kept as false)",
                    ),
                )
            )
        cols["verified"].append(bool(verified))
        cols["image"].append(scan.images(r))
        cols["category"].append(r.category)
        if review_digest:
            digests.append(_review_digest(r.rec))
            has_text.append(_review_has_text(r.rec))
    frame = pd.DataFrame(
        {
            "review_id": pd.Series(cols["review_id"], dtype=str),
            USER: pd.Series(cols[USER], dtype=str),
            ITEM: pd.Series(cols[ITEM], dtype=str),
            RATING: pd.Series(cols[RATING], dtype="float64"),
            TIMESTAMP: pd.Series(cols[TIMESTAMP], dtype="int64"),
            "verified": pd.Series(cols["verified"], dtype=bool),
            "image": pd.Series(cols["image"], dtype=object),
            "category": pd.Series(cols["category"], dtype=str),
        }
    )
    if review_digest:
        frame["review_digest"] = pd.Series(digests, dtype="int64")
        frame[REVIEW_HAS_TEXT] = pd.Series(has_text, dtype=bool)
    return scan.result(frame)


#: the fields of a review (2018 names, and the 2023 release's texts) that say two records
#: are one review: all but the reviewer (a column of its own) and the item
_REVIEW_FIELDS = (
    "unixReviewTime",
    "reviewTime",
    "overall",
    "summary",
    "reviewText",
    "title",
    "text",
)


def _review_digest(rec: dict[str, Any]) -> int:
    """A 64-bit digest of a review's time, stars, summary and text as the record gives
    them (an absent field and a null are one value: nothing said). ``repr`` keeps types
    apart (5 and "5") and is twice as fast as a JSON dump: millions of reviews."""
    get = rec.get
    said = repr(tuple([get(k) for k in _REVIEW_FIELDS])).encode("utf-8", "backslashreplace")
    return int.from_bytes(hashlib.blake2b(said, digest_size=8).digest(), "little", signed=True)


#: the texts of a review (2018 names, then 2023's): one of them non-blank is what lets
#: its digest tell a copy (stars and a day alone are shared by unrelated reviews)
_TEXT_FIELDS = ("summary", "reviewText", "title", "text")


def _review_has_text(rec: dict[str, Any]) -> bool:
    """Whether the review's summary or text (2023: title or text) is a non-blank string."""
    return any(isinstance(v := rec.get(k), str) and v.strip() for k in _TEXT_FIELDS)


class _ReviewIds:
    """Unique review ids: ``key`` + ``tail``, then ``key_2`` + ``tail``... on repeats.
    A repeat's number skips one already issued: reviewerIDs hold '_', so item 'A',
    user 'U_5', time 2 gives 'A_U_5_2', which is user 'U''s second review at time 5."""

    def __init__(self, tail: str = "") -> None:
        self.tail = tail
        self.repeats: dict[str, int] = {}
        self.issued: set[str] = set()

    def issue(self, key: str) -> str:
        k = self.repeats.get(key, 0) + 1
        while (review_id := key + self.tail if k == 1 else f"{key}_{k}{self.tail}") in self.issued:
            k += 1
        self.repeats[key] = k
        self.issued.add(review_id)
        return review_id


def _review_photos(scan: _JsonScan) -> pd.DataFrame:
    """The ``for_photos`` table: every review with a reviewerID and asin; the ids of
    those the full load keeps are its own (same order, same repeat numbering)."""
    cols: dict[str, list[object]] = {c: [] for c in PHOTO_COLUMNS}
    ids = _ReviewIds()  # as in the full load, for the records it keeps
    ids_x = _ReviewIds("_x")  # the others: a name space no full-load id (digits) ends
    for r in _checked_reviews(scan, _id_problem):
        ts = _review_time(r.rec)
        if _review_problem(r.rec) is None and not isinstance(ts, str):
            review_id = ids.issue(f"{r.item}_{r.user}_{ts}")
        else:
            review_id = ids_x.issue(
                f"{r.item}_{r.user}" + ("" if isinstance(ts, str) else f"_{ts}")
            )
        cols["review_id"].append(review_id)
        cols[USER].append(r.user)
        cols[ITEM].append(r.item)
        cols["image"].append(scan.images(r))
        cols["category"].append(r.category)
        cols["_where"].append(f"{r.where} line {r.line}")
    return pd.DataFrame(
        {c: pd.Series(v, dtype=object if c == "image" else str) for c, v in cols.items()}
    )


_TRUE = ("true", "1")
_FALSE = ("false", "0", "")


def _verified(v: object) -> bool | None:
    """``verified`` as a bool: JSON true/false, the strings "true"/"false" (any case),
    1/0 or "1"/"0"; absent, null or "" is False; None for anything else."""
    if v is None or isinstance(v, bool):
        return bool(v)
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        t = v.strip().lower()
        if t in _TRUE or t in _FALSE:
            return t in _TRUE
    return None


def _review_ids(
    scan: _JsonScan, keep_rating: bool = False, keep_time: bool = False, digest: bool = False
) -> pd.DataFrame:
    """``user_id``/``item_id`` (and ``rating`` with ``keep_rating``, ``timestamp`` with
    ``keep_time``, ``review_digest`` and ``review_has_text`` with ``digest``) of every
    review that has them (``ids_only``)."""
    users: list[str] = []
    items: list[str] = []
    ratings: list[float] = []
    times: list[int] = []
    digests: list[int] = []
    has_text: list[bool] = []
    # the full loader's checks in its order (ids, then rating, then time), less the
    # fields that are not read
    for r in _checked_reviews(scan, _review_problem if keep_rating else _id_problem):
        if keep_time:
            ts = _review_time(r.rec)
            if isinstance(ts, str):
                scan.bad.append(_no_time(r, ts))
                continue
            _note_time_repair(scan, r)
            times.append(ts)
        if keep_rating:
            ratings.append(float(r.rec["overall"]))
        users.append(r.user)
        items.append(r.item)
        if digest:
            digests.append(_review_digest(r.rec))
            has_text.append(_review_has_text(r.rec))
    cols: dict[str, pd.Series] = {
        USER: pd.Series(users, dtype=str),
        ITEM: pd.Series(items, dtype=str),
    }
    if keep_rating:
        cols[RATING] = pd.Series(ratings, dtype="float64")
    if keep_time:
        cols[TIMESTAMP] = pd.Series(times, dtype="int64")
    if digest:
        cols["review_digest"] = pd.Series(digests, dtype="int64")
        cols[REVIEW_HAS_TEXT] = pd.Series(has_text, dtype=bool)
    return pd.DataFrame(cols)


def _no_time(r: _Review, why: str) -> BadRecord:
    return BadRecord(r.where, r.line, "missing time", _own_names(r.rec, why))


class _Review(NamedTuple):
    """A review record that passed its check, with its reviewerID and asin cleaned."""

    category: str
    where: str
    line: int
    rec: dict[str, Any]
    user: str
    item: str


def _checked_reviews(
    scan: _JsonScan, problem_of: Callable[[dict[str, Any]], tuple[str, str] | None]
) -> Iterator[_Review]:
    """The review objects of ``scan`` that pass ``problem_of`` (it returns ``None``);
    one it gives a ``(kind, message)`` goes to ``scan.bad`` instead, in file order."""
    kinds = _IdKinds()
    items: set[str] = set()
    lower: dict[str, tuple[str, int, dict[str, Any]]] = {}  # first row of each
    for category, where, line, rec in scan.objects():
        problem = problem_of(rec)
        if problem is not None:
            kind, reason = (_own_names(rec, text) for text in problem)
            scan.bad.append(BadRecord(where, line, kind, reason))
            continue
        user, item = _as_id(rec["reviewerID"]), _as_id(rec["asin"])
        assert user is not None and item is not None  # vetted by problem_of
        kinds.check("reviewerID", rec["reviewerID"], user, where, line)
        kinds.check("asin", rec["asin"], item, where, line)
        if item not in items:
            items.add(item)
            if item != item.upper():
                lower.setdefault(item, (where, line, rec))
        yield _Review(category, where, line, rec, user, item)
    _note_lower_case_asins(scan, items, lower)


def _note_lower_case_asins(
    scan: _JsonScan, items: set[str], lower: dict[str, tuple[str, int, dict[str, Any]]]
) -> None:
    """A warning for each asin written in lower case beside its upper-case spelling
    (Amazon writes asins in upper case): two items, as written, that are one product."""
    for item, (where, line, rec) in lower.items():
        upper = item.upper()
        if upper in items:
            scan.warnings.append(
                BadRecord(
                    where,
                    line,
                    _own_names(rec, "asin in lower case"),
                    _own_names(
                        rec,
                        f"asin {item!r} is the asin {upper!r} in lower case: two items, "
                        "as written (Amazon writes asins in upper case)",
                    ),
                )
            )


def _odd_images_note(n: int, first: _Review) -> BadRecord:
    """One warning for the ``n`` reviews whose ``image`` held an entry that is no URL
    (``[null]``, ``[""]``): read as no photo, which the file does not quite say."""
    if _FROM_2023 in first.rec:
        entry = "an 'images' entry without a large_image_url or medium_image_url"
    else:
        entry = "an 'image' entry that is null or blank, not a URL (e.g. [null])"
    return BadRecord(
        first.where,
        first.line,
        "image entry without a URL",
        f"{counted(n, 'review')} {agree(n, 'has', 'have')} {entry}: read as no photo; "
        "the first is here",
    )


def _id_problem(rec: dict[str, object]) -> tuple[str, str] | None:
    for key in ("reviewerID", "asin"):
        if key not in rec:
            return f"missing {key}", f"no {key!r} field"
        wrong = _not_an_id(key, rec[key])
        if wrong is not None:
            return f"bad {key}", wrong
        if _as_id(rec[key]) is None:
            return f"missing {key}", f"{key!r} is null or empty"
    return None


def _review_problem(rec: dict[str, object]) -> tuple[str, str] | None:
    problem = _id_problem(rec)
    if problem is not None:
        return problem
    if "overall" not in rec:
        return "missing rating", "no 'overall' field"
    v = rec["overall"]
    if v is None:
        return "null rating", "'overall' is null"
    if isinstance(v, bool):
        return "non-numeric rating", f"'overall' is {v!r}, expected a number"
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "non-numeric rating", f"'overall' is {v!r}, expected a number"
    if f != f or f in (float("inf"), float("-inf")):
        return "non-numeric rating", f"'overall' is {v!r}, expected a finite number"
    if not 1.0 <= f <= 5.0:  # Amazon's stars: a 0 or 50 is a corrupt record, not a rating
        return "rating out of range", f"'overall' is {v!r}, expected 1 to 5 stars"
    return None


def load_amazon_meta(
    paths: PathLike | Sequence[PathLike], *, with_lines: bool = False, keep_repeats: bool = False
) -> LoadResult:
    """Load Amazon metadata files (``meta_<Category>.json[.gz]``).

    Parameters
    ----------
    paths : path or sequence of paths
        ``meta_<Category>.json`` or ``.json.gz`` files, JSON lines or pretty-printed
        concatenated objects.
    with_lines : bool, default False
        Add ``_line``, the line where each record's object starts, and ``_where``,
        ``<file> line <n>`` (for reports on records dropped later, e.g. an empty label,
        or on a bad image URL).
    keep_repeats : bool, default False
        Keep every record of a repeated asin, for a caller that picks one after its own
        checks (an item table keeps the first with a label).

    Returns
    -------
    LoadResult
        ``frame`` columns: ``item_id`` (asin), ``title``, ``category`` (from the file
        name, like the review loader), ``main_cat``, ``categories`` (the record's own
        ``category`` breadcrumb list) and ``image_urls`` (``imageURLHighRes`` when
        non-empty, else ``imageURL``; list, empty when none). Records without an asin,
        unparsable JSON and repeated asins (first kept, unless ``keep_repeats``) are in
        ``bad``.
    """
    scan = _JsonScan(_as_paths(paths))
    rows: list[dict[str, object]] = []
    first_seen: dict[str, str] = {}
    kinds = _IdKinds()
    for category, where, line, rec in scan.objects():
        wrong = _not_an_id("asin", rec.get("asin"))
        if wrong is not None:
            scan.bad.append(BadRecord(where, line, "bad asin", _own_names(rec, wrong)))
            continue
        item = _as_id(rec.get("asin"))
        if item is None:
            kind, reason = (
                _own_names(rec, t) for t in ("missing asin", "no asin (null or absent)")
            )
            scan.bad.append(BadRecord(where, line, kind, reason))
            continue
        kinds.check("asin", rec["asin"], item, where, line)
        if item in first_seen and not keep_repeats:
            scan.bad.append(
                BadRecord(
                    where,
                    line,
                    "duplicate asin",
                    f"asin {item!r} already at {first_seen[item]} (kept that)",
                )
            )
            continue
        first_seen[item] = f"{where}:{line}"
        urls = _url_list(rec.get("imageURLHighRes")) or _url_list(rec.get("imageURL"))
        cats = rec.get("category")
        rows.append(
            {
                "_line": line,
                "_where": f"{where} line {line}",
                ITEM: item,
                "title": str(rec.get("title") or ""),
                "category": category,
                "main_cat": _main_cat(rec.get("main_cat")),
                "categories": [str(c) for c in cats] if isinstance(cats, list) else [],
                "image_urls": urls,
            }
        )
    columns = ["_line", "_where", *META_COLUMNS] if with_lines else list(META_COLUMNS)
    return scan.result(pd.DataFrame(rows, columns=columns))


#: the 2018 metadata's main_cat of some stores: an HTML image whose alt text is the name
_IMG_ALT = re.compile(r"""<img\b[^>]*\balt=(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)


def _main_cat(value: object) -> str:
    """A record's ``main_cat`` as a label: ``'<img src=... alt="AMAZON FASHION"/>'`` (the
    2018 release writes some stores' so) is its alt text."""
    text = str(value or "")
    alt = _IMG_ALT.search(text) if text.lstrip().startswith("<") else None
    return html.unescape(alt.group(2)).strip() if alt else text


def is_meta_file(path: PathLike) -> bool:
    """True for ``meta_*.json[.gz]`` file names."""
    return Path(path).name.startswith("meta_")
