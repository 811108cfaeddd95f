"""An item table's own attributes (genres, category, brand, release date, price) as
vectors, to compare with what the pictures say or to use next to them.

Each named column becomes a block of numbers:

* ``category``: one 0/1 column per level (the ``max_levels`` most common; the rest share
  ``(other)``), an empty cell all zeros;
* ``multi``: ``|``-joined levels (MovieLens genres), one 0/1 column per level;
* ``number`` and ``date`` (a date's year, with its fraction): the value standardised,
  plus ``value >= q`` for the deciles ``q`` (a linear model downstream can then fit a
  curve, e.g. recent films being watched most) and, where the table has empty cells, a
  ``missing`` flag (the others are 0 there).

Each block is scaled so that its rows' mean squared norm is 1 over the table it was
fitted on: every column has the same say, whatever its number of levels. The encoding
(levels, means, deciles, scales) is kept in the vectors file, so that new items are
encoded alike later (``visrec features --like``).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from visrec.data.timestamps import read_dates
from visrec.errors import VisrecError, agree, counted, names_text

KINDS = ("category", "multi", "number", "date")
OTHER = "(other)"
_DECILES = np.linspace(0.1, 0.9, 9)


@dataclass
class ColumnCode:
    """How one column is encoded (see the module's docstring)."""

    name: str
    kind: str
    levels: list[str] = field(default_factory=list)
    mean: float = 0.0
    sd: float = 1.0
    cuts: list[float] = field(default_factory=list)
    missing_flag: bool = False
    scale: float = 1.0
    lo: float | None = None  # number/date: the range seen, for the summary line
    hi: float | None = None

    @property
    def names(self) -> list[str]:
        """The block's feature names, ``genres=Drama``, ``year>=1995``..."""
        if self.kind in ("category", "multi"):
            return [f"{self.name}={level}" for level in self.levels]
        base = f"{self.name}:year" if self.kind == "date" else self.name
        out = [base] + [f"{base}>={_cut_text(c)}" for c in self.cuts]
        return out + ([f"{self.name}:missing"] if self.missing_flag else [])

    def summary(self) -> str:
        if self.kind in ("category", "multi"):
            other = OTHER in self.levels
            n = len(self.levels) - other
            return f"{self.name}: {self.kind}, {n} level{'s' * (n != 1)}" + (
                f" + {OTHER}" if other else ""
            )
        lo, hi = self.lo, self.hi
        if self.kind == "date" and lo is not None and hi is not None:
            lo, hi = math.floor(lo), math.floor(hi)  # years, not their fractions
        span = "" if lo is None else f" {_cut_text(lo)}-{_cut_text(hi)}"
        what = "year" if self.kind == "date" else "number"
        return f"{self.name}: {self.kind} ({what}{span})"


def _cut_text(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"


def parse_columns(text: str) -> list[tuple[str, str | None]]:
    """``"genres,release_date:date"`` -> ``[("genres", None), ("release_date", "date")]``
    (a kind after ``:`` overrides the guess)."""
    out: list[tuple[str, str | None]] = []
    for part in text.split(","):
        name, kind = part.strip(), None
        head, colon, tail = name.rpartition(":")
        if colon and tail.strip() in KINDS:  # "a:b" with no kind after it is a name
            name, kind = head.strip(), tail.strip()
        if not name:
            raise VisrecError(f"--columns {text!r}: an empty column name; give NAME[:KIND],...")
        if any(name == n for n, _ in out):
            raise VisrecError(f"--columns: column {name!r} is named twice")
        out.append((name, kind))
    return out


#: cells that spell "no value" in exported tables (pandas reads them as NaN); "None" is
#: left a value, it can be one (a season, a usage)
MISSING_WORDS = frozenset({"nan", "n/a", "na", "null", "#n/a", "<na>"})


def _cells(values: pd.Series) -> pd.Series:
    """The column as stripped text, missing where empty (NaN, None, blank, ``n/a``...):
    None or NaN, as pandas gives it (pandas 3's text dtype holds NaN, never None)."""
    text = values.map(lambda v: None if _empty(v) else str(v).strip())
    return text.where((text != "") & ~text.str.lower().isin(MISSING_WORDS), None)


def _empty(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # a list or an array cell
        return False


def _numbers(cells: pd.Series) -> pd.Series:
    """The cells as numbers; NaN where not one, and for "inf" or "1e999" too (they would
    make every item's value NaN once standardised)."""
    x = pd.to_numeric(cells, errors="coerce")
    return x.where(np.isfinite(x.to_numpy(float)))


def _years(cells: pd.Series) -> pd.Series:
    """Dates as years with their fraction (1995-07-02 -> 1995.5); NaN where unreadable."""
    with np.errstate(all="ignore"):
        when = read_dates(cells)
    # whole days since 1 January; no text to parse (pandas 2 warned on "<NA>-01-01")
    frac = (when.dt.day_of_year - 1) / 365.25
    return (when.dt.year + frac).astype(float)


def _guess_kind(cells: pd.Series) -> str:
    """The kind of a column's non-empty cells (``fit_encoding`` refuses an empty one)."""
    present = cells.dropna()
    if _numbers(present).notna().all():
        return "number"
    if present.str.contains("|", regex=False).mean() >= 0.05:
        return "multi"
    # a date only where most cells read as one and the text has a digit (a category such
    # as "May" would otherwise read as a date of this year)
    if present.str.contains(r"\d", regex=True).all() and _years(present).notna().mean() >= 0.9:
        return "date"
    return "category"


def fit_encoding(
    frame: pd.DataFrame, columns: list[tuple[str, str | None]], max_levels: int = 50
) -> list[ColumnCode]:
    """The encoding of ``columns`` (name, kind or None to guess) fitted on ``frame``.

    A category column whose distinct values are both more than ``max_levels`` and more
    than half its rows (a title, an id, free text) is refused: one column per value would
    say nothing about an item it has not seen.

    Raises
    ------
    VisrecError
        Also for an entry of ``columns`` that is no ``(name, kind)`` pair, a kind not in
        :data:`KINDS` (``"numeric"`` was read as a date), a column ``frame`` lacks, and
        a ``max_levels`` below 1.
    """
    if (
        not isinstance(max_levels, numbers.Integral)
        or isinstance(max_levels, bool)
        or max_levels < 1
    ):
        raise VisrecError(f"max_levels must be a whole number >= 1, got {max_levels!r}")
    pairs = [columns] if isinstance(columns, str) else list(columns)
    for entry in pairs:
        if not (isinstance(entry, tuple | list) and len(entry) == 2):
            raise VisrecError(
                f"columns must be (name, kind) pairs, kind one of {', '.join(KINDS)} or "
                f"None to guess, e.g. [('genres', None)]; got {entry!r}"
            )
        if entry[1] is not None and entry[1] not in KINDS:
            raise VisrecError(
                f"column {entry[0]!r}: unknown kind {entry[1]!r}; expected one of "
                f"{', '.join(KINDS)}, or None to guess"
            )
    _check_present(frame, [name for name, _ in pairs])
    codes = []
    for name, kind in pairs:
        cells = _cells(frame[name])
        present = cells.dropna()
        if present.empty:
            raise VisrecError(f"column {name!r} is empty in every row: nothing to encode")
        guessed, kind = kind is None, kind or _guess_kind(present)
        code = ColumnCode(name, kind)
        if kind in ("category", "multi"):
            values = present if kind == "category" else _split(present).explode().dropna()
            counts = values.value_counts()
            if kind == "category" and len(counts) > max_levels and len(counts) > len(present) / 2:
                x = _numbers(present)
                if guessed and x.notna().mean() >= 0.9:  # numbers, a few cells of text
                    bad = _failed_rows(cells, x)
                    raise VisrecError(
                        f"{unreadable_text(frame, name, 'number', bad)}, and as a category "
                        f"its {len(counts):,} distinct values are too many; empty or mend "
                        "those cells"
                    )
                raise VisrecError(
                    f"column {name!r} has {len(counts):,} distinct values in {len(present):,} "
                    "rows: not a category (an id, a title or free text); leave it out"
                )
            # most common first, then by name: the same levels however the rows are ordered
            order = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            code.levels = [str(v) for v, _ in order[:max_levels]]
            if len(order) > max_levels:
                code.levels.append(OTHER)
        else:
            x = (_numbers if kind == "number" else _years)(present)
            bad = _failed_rows(cells, x)
            if len(bad):
                raise VisrecError(
                    f"{unreadable_text(frame, name, kind, bad)}; give the column's kind "
                    f"after its name ({name}:category) or mend those cells"
                )
            v = x.to_numpy(float)
            code.mean = float(v.mean())
            code.sd = float(v.std()) or 1.0
            code.cuts = sorted({float(q) for q in np.quantile(v, _DECILES)} - {float(v.min())})
            code.missing_flag = bool(cells.isna().any())
            code.lo, code.hi = float(v.min()), float(v.max())
        block = _block(cells, code)
        mean_sq = float((block.astype(np.float64) ** 2).sum(axis=1).mean())
        code.scale = 1.0 / math.sqrt(mean_sq) if mean_sq > 0 else 1.0
        codes.append(code)
    return codes


def _failed_rows(cells: pd.Series, read: pd.Series) -> np.ndarray:
    """The rows (positions from 0) of ``cells`` holding a value that ``read`` (the
    values read from its non-empty cells, in order) could not read."""
    return np.flatnonzero(cells.notna().to_numpy(dtype=bool))[read.isna().to_numpy()]


def unreadable_cells(frame: pd.DataFrame, name: str, kind: str) -> np.ndarray:
    """The rows (positions from 0) of ``frame``'s column ``name`` whose value a column of
    ``kind`` ("number" or "date") cannot read: what :func:`encode` takes as missing."""
    cells = _cells(frame[name])
    return _failed_rows(cells, (_numbers if kind == "number" else _years)(cells.dropna()))


def unreadable_text(frame: pd.DataFrame, name: str, kind: str, rows: np.ndarray) -> str:
    """``column 'year': 2 values are not a number (e.g. 'tba', item 'i3')``: the rows
    :func:`unreadable_cells` found, the first by its value and its item (its
    ``item_id``, where ``frame`` has one)."""
    j = int(rows[0])
    first = _cells(frame[name]).iloc[j]
    item = f", item {frame['item_id'].iloc[j]!r}" if "item_id" in frame.columns else ""
    what = "a number" if kind == "number" else "a date"
    return (
        f"column {name!r}: {counted(len(rows), 'value')} {agree(len(rows), 'is', 'are')} not "
        f"{what} (e.g. {first!r}{item})"
    )


def _check_present(frame: pd.DataFrame, names: list[Any]) -> None:
    """Every column of ``names`` is in ``frame`` (pandas' ``KeyError`` named no other)."""
    lacking = [n for n in names if n not in frame.columns]
    if lacking:
        raise VisrecError(
            f"no column {lacking[0]!r} in the item table (columns: "
            f"{names_text([str(c) for c in frame.columns])})"
        )


def _split(cells: pd.Series) -> pd.Series:
    return cells.map(lambda s: [p.strip() for p in str(s).split("|") if p.strip()])


def _block(cells: pd.Series, code: ColumnCode) -> np.ndarray:
    """One column's block, before its scale."""
    n = len(cells)
    if code.kind in ("category", "multi"):
        index = {level: j for j, level in enumerate(code.levels)}
        other = index.get(OTHER)
        out = np.zeros((n, len(code.levels)), np.float32)
        # an empty cell (None or NaN, see _cells) has no level, not "(other)"
        lists = (
            cells.map(lambda s: [s] if isinstance(s, str) else None)
            if code.kind == "category"
            else None
        )
        for i, value in enumerate(lists if lists is not None else _split(cells.fillna(""))):
            for level in value or ():
                j = index.get(level, other)
                if j is not None:
                    out[i, j] = 1.0
        return out
    x = (_numbers if code.kind == "number" else _years)(cells).to_numpy(float)
    seen = ~np.isnan(x)
    cols = [np.where(seen, np.clip((x - code.mean) / code.sd, -5, 5), 0.0)]
    cols += [np.where(seen, (x >= c).astype(float), 0.0) for c in code.cuts]
    if code.missing_flag:
        cols.append((~seen).astype(float))
    return np.stack(cols, axis=1).astype(np.float32)


def encode(frame: pd.DataFrame, codes: list[ColumnCode]) -> np.ndarray:
    """``frame``'s rows as the feature vectors ``codes`` describe, ``(n, d)`` float32.
    A value the fit did not see is ``(other)`` (or nothing, without one); a number or date
    that cannot be read, or an empty cell, is missing."""
    _check_present(frame, [c.name for c in codes])
    blocks = [_block(_cells(frame[c.name]), c) * np.float32(c.scale) for c in codes]
    # every column's block has mean squared row norm 1: the whole row, one per column
    whole = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0), np.float32)
    return (whole / np.float32(math.sqrt(max(len(codes), 1)))).astype(np.float32)


def feature_names(codes: list[ColumnCode]) -> list[str]:
    return [n for c in codes for n in c.names]


def codes_to_json(codes: list[ColumnCode]) -> list[dict[str, Any]]:
    return [asdict(c) for c in codes]


def codes_from_json(data: Any, where: str) -> list[ColumnCode]:
    """The encoding saved in a features file's metadata; an error naming ``where`` when
    it is not one."""
    try:
        codes = [ColumnCode(**d) for d in data]
        for c in codes:
            if c.kind not in KINDS or not isinstance(c.name, str):
                raise ValueError(f"column {c.name!r}: kind {c.kind!r}")
            if not isinstance(c.levels, list) or not isinstance(c.cuts, list):  # not "abc"
                raise ValueError(f"column {c.name!r}: levels or cuts not a list")
            c.levels = [str(v) for v in c.levels]
            c.cuts = [float(v) for v in c.cuts]
            c.mean, c.sd, c.scale = float(c.mean), float(c.sd), float(c.scale)
            if not all(math.isfinite(v) for v in (c.mean, c.sd, c.scale, *c.cuts)) or not c.sd:
                raise ValueError(f"column {c.name!r}: a number that is not finite")
    except (TypeError, ValueError, OverflowError) as exc:
        raise VisrecError(f"{where}: its item-features encoding cannot be read ({exc})") from None
    if not codes:
        raise VisrecError(f"{where}: its item-features encoding names no column")
    return codes


class SavedEncoding(NamedTuple):
    """What a features file keeps of how it was made, for ``visrec features --like``."""

    codes: list[ColumnCode]
    #: the attributes' weight next to image vectors; None: made without them
    weight: float | None
    #: the factor the image vectors were scaled by (None without them)
    image_scale: float | None
    backbone: str | None


def saved_encoding(meta: Mapping[str, Any], where: str) -> SavedEncoding:
    """The encoding in a features file's metadata ``meta``; an error naming ``where``
    when there is none, or when it cannot be read."""
    saved = meta.get("item_features")
    if not isinstance(saved, dict):
        raise VisrecError(f"{where}: not a `visrec features` output (no encoding in it)")
    codes = codes_from_json(saved.get("columns"), where)
    weight, image_scale = saved.get("weight"), meta.get("image_scale")
    for key, value in (("weight", weight), ("image_scale", image_scale)):
        if value is not None and not _positive(value):
            raise VisrecError(
                f"{where}: its item-features encoding cannot be read ({key} {value!r})"
            )
    backbone = meta.get("backbone")
    return SavedEncoding(
        codes,
        None if weight is None else float(weight),
        None if image_scale is None else float(image_scale),
        backbone if isinstance(backbone, str) else None,
    )


def _positive(value: Any) -> bool:
    """A finite number above 0 (not a bool, not text): a saved weight or scale."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def encoding_digest(codes: list[ColumnCode], image_weight: float | None) -> str:
    """A short name of the encoding: two feature files that encode alike share it, so a
    model trained on one refuses vectors from a different encoding of the same width."""
    text = json.dumps([codes_to_json(codes), image_weight], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]
