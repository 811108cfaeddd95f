"""Column names of user-item tables: the header aliases each canonical column
(``user_id``, ``item_id``, ``rating``, ``timestamp``) is recognised by, and the
matching of a table's header to those columns.

Used by the interactions loader (:mod:`visrec.data.tables`, which re-exports the
public names), the item-table loader (:mod:`visrec.data.item_tables`) and
``visrec data summary`` (:mod:`visrec.data.summary`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from visrec.data.interactions import ITEM, RATING, TIMESTAMP, USER
from visrec.errors import VisrecError, names_text


class NoIdColumnError(VisrecError):
    """A table's header names no column the loader takes for ``column`` (``user_id`` or
    ``item_id``): ``visrec data summary`` tells a table of no users from a bad header."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


# --------------------------------------------------------------------- column aliases
#: what column_key drops: white space (Python's \s, Unicode spaces too), '_', '-', '.'
_SEPARATORS = r"[\s_\-.]"
#: the same in RE2 (pyarrow), whose \s is ASCII only
_SEPARATORS_RE2 = r"[\s\p{Z}\x{85}\x{1c}-\x{1f}_\-.]"


#: a header field that is a number (signed: a +1/-1 rating): data, not a column name
NUMBER = re.compile(r"\s*[-+]?\d+(\.\d+)?\s*")


def _norm(name: str) -> str:
    return re.sub(_SEPARATORS, "", name.strip().lower())


def column_keys(names: Any) -> Any:
    """:func:`column_key` of every string of a pyarrow array, in C (a table's million
    ids looked at for a header repeated inside)."""
    import pyarrow.compute as pc

    return pc.replace_substring_regex(pc.utf8_lower(names), _SEPARATORS_RE2, "")


def column_key(name: str) -> str:
    """A column name as a name given for it is matched: case, spaces, '_', '-' and '.'
    aside (``--user-col USER_ID`` finds ``user_id``; ``cluster --label-col``, its
    column the same way)."""
    return _norm(name)


# Normalised (lowercase, no separators) header names mapped to canonical columns.
ALIASES: dict[str, tuple[str, ...]] = {
    USER: (
        "userid",
        "user",
        "reviewerid",
        "customerid",
        "uid",
        "visitorid",
        "memberid",
        "customer",
        "clientid",
        "buyerid",
        "shopperid",
    ),
    ITEM: (
        "itemid",
        "item",
        "movieid",
        "parentasin",  # Amazon Reviews 2023: the product; its 'asin' is one variant
        "asin",
        "productid",
        "iid",
        "articleid",
        "bookid",
        "isbn",
        "product",
        "movie",
        "sku",  # a shop's stock-keeping unit: what a photo file is usually named after
        "skuid",
        "productcode",
        "articlenumber",
    ),
    RATING: ("rating", "overall", "score", "stars", "starrating", "ratingvalue"),
    # reviewTime: Amazon's "09 1, 2016" date, the time of a table made from the JSON
    TIMESTAMP: (
        "timestamp",
        "unixreviewtime",
        "reviewtime",
        "time",
        "ts",
        "datetime",
        "date",
        "unixtime",
    ),
}

#: a shop's order and event tables name their time so; taken only where the time is
#: needed (a split by time): elsewhere a blank 'created_at' would now cost its row
SHOP_TIME_ALIASES = (
    "orderedat",
    "orderdate",
    "ordertime",
    "createdat",
    "purchasedat",
    "purchasedate",
    "eventtime",
    "timestamputc",
)


def is_item_header(name: str) -> bool:
    """True when ``name`` is a header the loader takes for the item column (``item_id``,
    ``asin``, ``itemId``, ...): a one-column id list may start with one."""
    return name.strip().lower() == ITEM or _norm(name) in ALIASES[ITEM]


def item_column(names: Sequence[str]) -> str | None:
    """The column of ``names`` the interactions loader takes for the item when none is
    named (the first of ``ALIASES[ITEM]``, in that order, as :func:`_match_columns`
    picks), or None."""
    normed = [_norm(n) for n in names]
    return next((names[normed.index(a)] for a in ALIASES[ITEM] if a in normed), None)


def is_user_header(name: str) -> bool:
    """True when ``name`` is a header the loader takes for the user column (``user_id``,
    ``reviewerID``, ``userId``, ...), as :func:`is_item_header` for items."""
    return name.strip().lower() == USER or _norm(name) in ALIASES[USER]


#: the canonical columns a full (not ``ids_only``) load reads
ALL_COLUMNS: tuple[str, ...] = (USER, ITEM, RATING, TIMESTAMP)


def role_option(canon: str) -> str:
    """The keyword that names the column of a canonical role: ``user_id`` -> ``user_col``,
    ``timestamp`` -> ``timestamp_col``."""
    return f"{canon.split('_')[0]}_col"


def shared_column_error(where: object, column: str, first: str, second: str) -> VisrecError:
    """One column named for two roles (``first`` and ``second``, as the user named them):
    every user would be an item of the same id."""
    return VisrecError(
        f"{where}: column {column!r} is named for both {first} and {second} "
        "(--user-col, --item-col, ...); each needs a column of its own"
    )


def _match_columns(
    header: Sequence[str],
    explicit: dict[str, str | None],
    where: str,
    used: Sequence[str] = ALL_COLUMNS,
    time_needed: bool = False,
) -> dict[str, int]:
    """Map canonical names to column positions in ``header``.

    Explicit names must exist and are placed first; every other role then takes the
    first of its aliases (in ``ALIASES`` order; exact canonical names come first) that
    names a column no other role holds. A column that will be read (``used``) must be
    named once in the header, whether it is named explicitly or found by alias.
    """
    normed = [_norm(h) for h in header]
    found: dict[str, int] = {}
    for canon, want in explicit.items():
        if want is None:
            continue
        if want in header:
            found[canon] = list(header).index(want)
            continue
        if _norm(want) in normed:
            found[canon] = normed.index(_norm(want))
            continue
        # a headerless file: its first row was taken for the header
        hint = (
            "; the first line looks like data, not a header: a file without a header "
            "is read as user item [rating [timestamp]] when no column is named"
            if all(NUMBER.fullmatch(h) for h in header)
            else ""
        )
        raise VisrecError(f"{where}: no column {want!r} (columns: {names_text(header)}){hint}")
    # two names that differ only in spelling ('a' and 'A') find one column
    seen: dict[int, str] = {}
    for canon, pos in found.items():
        other = seen.setdefault(pos, canon)
        if other != canon:
            raise shared_column_error(
                where,
                header[pos],
                f"{role_option(other)} ({explicit[other]!r})",
                f"{role_option(canon)} ({explicit[canon]!r})",
            )
    # explicit names first, so that an alias never takes a column named for another
    # role (item_col="userId" must not also leave userId to the user role)
    for canon, aliases in ALIASES.items():
        if canon in found:
            continue
        more = SHOP_TIME_ALIASES if canon == TIMESTAMP and time_needed else ()
        for alias in (*aliases, *more):
            if alias in normed and normed.index(alias) not in found.values():
                found[canon] = normed.index(alias)
                break
    # a headerless file of text ids ('u12,i10,3') is read with its first row for a
    # header: advice to rename a column in it sends the user after a header it lacks
    headless = not found and any(NUMBER.fullmatch(h) for h in header)
    for canon in (USER, ITEM):
        if canon not in found:
            kind = canon.split("_")[0]
            taken = "".join(
                f"; {header[pos]!r} is named for {role_option(other)}"
                for other, pos in found.items()
                if explicit.get(other) is not None and normed[pos] in ALIASES[canon]
            )
            raise NoIdColumnError(
                canon,
                f"{where}: cannot tell which column holds the {kind} ids "
                f"(columns: {names_text(header)}{taken})"
                + (
                    "; its first line looks like data, not a header (a number among the "
                    "names): a file is read without a header only when every field of its "
                    "first line is a number, so add a header line, e.g. "
                    "'user_id,item_id,rating,timestamp'"
                    if headless
                    else f"; rename that column in the header to {canon} "
                    f"(or one of {', '.join(ALIASES[canon])}; case, spaces, '_', '-', '.' "
                    "ignored), e.g. 'user_id,item_id,rating,timestamp', or drop the header "
                    "for numeric ids (user item [rating [timestamp]], like MovieLens u.data); "
                    "or name the columns: --user-col / --item-col on the command line, "
                    "load_interactions(..., user_col=, item_col=) from Python"
                ),
            )
    for canon, pos in found.items():
        if canon not in used:
            continue
        # a name given exactly picks among columns that differ in case or spelling;
        # any other twin makes which one is meant a silent guess
        if explicit.get(canon) in header:
            twins_at = [j for j, h in enumerate(header) if h == header[pos]]
        else:
            twins_at = [j for j, n in enumerate(normed) if n == normed[pos]]
        if len(twins_at) > 1:
            twins = ", ".join(repr(header[j]) for j in twins_at)
            raise VisrecError(
                f"{where}: the header names the {canon} column more than once ({twins}); "
                "rename or drop the extra ones"
            )
    return found
