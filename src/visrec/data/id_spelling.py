"""Ids that differ only in how a whole number is written (``7``, ``007``, ``7.0``), or
in letter case, Unicode form, characters that print as nothing (zero-width), a dash
that looks like ``-`` or an image file's extension.

visrec compares ids as written: an id is a name (``A-007`` is not ``A-7``), and a file
read back must give the ids it was given. So ``007`` in one file and ``7`` in another
are two items, and a judge's ``7.0`` is not the training item ``7``. These helpers
find such pairs, only to say so in the notes that report unmatched ids; nothing is
renamed (:func:`ids_as_text` only writes a float column's whole numbers as integers:
that ``.0`` is the file format's, not the writer's). They run on every load, so the
string work is pyarrow's (a million zero-padded SKUs: well under a second), not
Python's or pandas' regex.
"""

from __future__ import annotations

import ast
import itertools
import numbers
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from visrec.errors import VisrecError, agree, counted

# a whole number with leading zeros, a sign, a '.0' tail or spaces around it; the
# number without them (at least one digit: '000' is '0'), its '-' kept apart
_WHOLE = r"^\s*(?P<s>[+-]?)0*(?P<n>\d+?)(?:\.0*)?\s*$"
# an image file's extension, as a file name written for an id brings it
_IMAGE_SUFFIX = r"\.(jpe?g|png|webp|gif|bmp|tiff?)$"
# what a plain spelling ('7', '0', 'A-007') never has
_DRESSED = r"^\s|\s$|^\+|^-?0\d|^-0$|^-?\d+\.0*$"
# characters that print as nothing (zero-width space, non-joiner, joiner, BOM, word
# joiner): pasted from a web page or a spreadsheet, they make 'ab' and 'a\u200bb'
# two ids that no reader can tell apart
_ZERO_WIDTH = "[\u200b\u200c\u200d\ufeff\u2060]"
# dashes that look like '-' (hyphen, non-breaking hyphen, figure/en/em dash, horizontal
# bar, minus sign, small and full-width hyphen-minus): a word processor or a web page
# writes them for a typed '-' ('A\u2011007' is not 'A-007' to visrec). NFC keeps them.
_DASH = "[\u2010-\u2015\u2212\ufe63\uff0d]"
# an id as notes and listings show it (Python's repr: "'a\\tb'" for a tab in it)
_QUOTED = r"^'.*'$|^\".*\"$"

#: ids that pandas (its default ``na_values``), R and spreadsheets read as a missing value
MISSING_WORDS = frozenset(
    {"NA", "N/A", "n/a", "NaN", "nan", "NAN", "null", "NULL", "Null", "None", "none", "#N/A"}
    | {"#N/A N/A", "#NA", "<NA>", "-NaN", "-nan", "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN"}
)

#: longest id shown whole in a note
SHOWN_CHARS = 40


def shown(value: str) -> str:
    """``repr`` of an id for a note, cut to :data:`SHOWN_CHARS` characters."""
    return repr(value if len(value) <= SHOWN_CHARS else value[: SHOWN_CHARS - 3] + "...")


def shown_ids(ids: Iterable[object], limit: int = 3) -> str:
    """``"'a', 'b', 'c'"``: the first ``limit`` ids, each cut by :func:`shown` (an id
    5,000 characters long must not make a note of 15,000)."""
    return ", ".join(shown(str(i)) for i in itertools.islice(ids, limit))


def _texts(ids: Iterable[object]) -> pa.Array:
    if isinstance(ids, pd.api.extensions.ExtensionArray | pd.Index):
        ids = pd.Series(ids)  # not list(): iterating an ArrowStringArray is ~1.5 us an id
    values = ids if isinstance(ids, np.ndarray | pd.Series | list) else list(ids)
    return pa.array(pd.Series(values, dtype=object).astype(str), type=pa.string())


def _number(arr: pa.Array) -> np.ndarray:
    """Each id's whole number (str: '-3' for '-03', '0' for '-0'), None where the id is
    not one."""
    # struct_field, not .field(): a non-match is a null struct over an "" child
    parts = pc.extract_regex(arr, _WHOLE)
    digits = pc.struct_field(parts, "n")
    minus = pc.and_(pc.equal(pc.struct_field(parts, "s"), "-"), pc.not_equal(digits, "0"))
    found = pc.if_else(minus, pc.binary_join_element_wise("-", digits, ""), digits)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=object)


def respelt(
    missing: Iterable[object], reference: Iterable[object], taken: Iterable[object] = ()
) -> list[tuple[str, str]]:
    """``(id, there)`` for each of the ``missing`` ids (not in ``reference``) that is
    in ``reference`` spelt otherwise, in the order of ``missing`` (one spelling of
    ``reference`` per key): as a whole number (``'086'`` / ``'86'``), or in another
    letter case, Unicode form (``'é'`` typed or as macOS writes file names), with a
    zero-width character (``'a\\u200bb'``) or an image file's extension (``'sku-7.JPG'``
    / ``'SKU-7'``), or as a note or listing shows it (in quotes, a tab escaped: see
    :func:`shown_as`). A ``reference`` id that is in ``taken`` (the ids ``missing`` come
    from) is an item of its own there, named only when no other spelling is: for ``'7'``,
    ``'07'`` rather than the training item ``'007'``."""
    miss = _texts(dict.fromkeys(str(i) for i in missing))
    if len(miss) == 0:
        return []
    ref = _texts(reference)
    own = {str(t) for t in taken}
    found = dict(_matches(miss, ref, _number, own))
    rest = [m for m in miss.to_pylist() if m not in found]
    if rest:  # ids that are no number, or whose number is not there
        found.update(_matches(_texts(rest), ref, _folded, own))
    rest = [m for m in rest if m not in found]
    if rest:
        found.update(_pasted(_texts(rest), ref))
    return [(m, found[m]) for m in miss.to_pylist() if m in found]


def _pasted(miss: pa.Array, ref: pa.Array) -> list[tuple[str, str]]:
    """``(id, there)`` for the ``miss`` ids that are a ``ref`` id as notes and listings
    show it, pasted back: its ``repr`` or ``ascii``, quotes included."""
    quoted = miss.filter(pc.match_substring_regex(miss, _QUOTED))
    pairs = []
    for m in quoted.to_pylist():  # the few quoted ones
        there = _unquoted(m)
        if there is not None:
            pairs.append((m, there))
    if not pairs:
        return []
    known = pc.is_in(pa.array([t for _, t in pairs], type=pa.string()), value_set=ref)
    return [p for p, k in zip(pairs, known.to_pylist(), strict=True) if k]


def _unquoted(text: str) -> str | None:
    """The id whose ``repr`` (or ``ascii``) ``text`` is, None when it is none."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) and value != text else None


def shown_as(given: str, there: str) -> bool:
    """True when ``given`` is the id ``there`` as notes and listings show it (in quotes,
    a tab or line break escaped: ``"'a\\tb'"``), pasted back as an id."""
    return given[:1] in ("'", '"') and _unquoted(given) == there


#: what a note on an id pasted as it was shown adds
PASTED_ID = (
    "notes and listings show an id as Python writes it (in quotes, a tab or line break "
    "in it escaped): pass the id itself"
)


def _matches(
    miss: pa.Array, ref: pa.Array, key: Callable[[pa.Array], np.ndarray], own: set[str]
) -> list[tuple[str, str]]:
    """``(id, there)`` for the ``miss`` ids whose ``key`` a ``ref`` id shares."""
    miss_key = key(miss)
    has_key = pd.notna(miss_key)
    if not has_key.any():  # the usual case: nothing to look up
        return []
    ref_key = key(ref)
    # only the reference ids whose key a missing id has: a dict of those few
    wanted = set(miss_key[has_key].tolist())
    hit = pd.Series(ref_key, dtype=object).isin(wanted).to_numpy() & pd.notna(ref_key)
    there: dict[str, str] = {}
    rank: dict[str, tuple[bool, bool]] = {}
    for k, spelling in zip(ref_key[hit], ref.filter(pa.array(hit)).to_pylist(), strict=True):
        # not an item of its own, then the plain spelling ('7', not '007'), then the first
        r = (spelling not in own, spelling == k)
        if k not in there or r > rank[k]:
            there[k], rank[k] = spelling, r
    return [
        (m, there[k])
        for m, k in zip(miss.to_pylist(), miss_key, strict=True)
        if isinstance(k, str) and k in there and there[k] != m
    ]


def _folded(arr: pa.Array) -> np.ndarray:
    """Each id in lower case, Unicode NFC, trimmed, without an image extension or
    zero-width characters, each dash that looks like '-' as '-'."""
    plain = _plain_dashes(_visible(arr))
    text = pc.utf8_trim_whitespace(pc.utf8_lower(pc.utf8_normalize(plain, form="NFC")))
    bare = pc.replace_substring_regex(text, _IMAGE_SUFFIX, "")
    return np.asarray(bare.to_numpy(zero_copy_only=False), dtype=object)


def examples(pairs: Sequence[tuple[str, str]], limit: int = 3) -> str:
    """``"'086' as '86', '087' as '87', ..."``: the first ``limit`` pairs, for a note."""
    listed = ", ".join("{} as {}".format(*shown_pair(a, b)) for a, b in pairs[:limit])
    return listed + (", ..." if len(pairs) > limit else "")


def shown_pair(given: str, there: str, show: Callable[[str], str] = shown) -> tuple[str, str]:
    """Two spellings of an id for a message: by ``show``, or as escapes (``ascii``) when
    they would print alike (two Unicode forms, a dash that looks like '-'): their code
    points are what tells them apart."""
    if _print_form(given) == _print_form(there):
        return ascii(given), ascii(there)
    return show(given), show(there)


def look_alikes(ids: Iterable[str]) -> set[str]:
    """The ids among ``ids`` that print like another, different one (café in two Unicode
    forms, a dash that looks like '-'): a listing shows these as escapes (``ascii``), so
    two headings or rows that read the same are told apart."""
    forms: dict[str, set[str]] = {}
    for i in ids:
        forms.setdefault(_print_form(i), set()).add(i)
    return {i for same in forms.values() if len(same) > 1 for i in same}


def _print_form(text: str) -> str:
    """``text`` as a reader sees it: Unicode NFC, each dash that looks like '-' as '-'."""
    return re.sub(_DASH, "-", unicodedata.normalize("NFC", text))


def _visible(arr: pa.Array) -> pa.Array:
    """``arr`` without its zero-width characters."""
    return pc.replace_substring_regex(arr, _ZERO_WIDTH, "")


def _plain_dashes(arr: pa.Array) -> pa.Array:
    """``arr`` with each dash that looks like '-' written '-'."""
    return pc.replace_substring_regex(arr, _DASH, "-")


def respelt_hint(pairs: Sequence[tuple[str, str]], where: str) -> str:
    """``"; 3 of them are in WHERE spelt otherwise ('086' as '86', ...): ids are
    compared as written"`` ("" without pairs), to end a note on unmatched ids."""
    if not pairs:
        return ""
    n = len(pairs)
    pasted = f"; {PASTED_ID}" if any(shown_as(a, b) for a, b in pairs) else ""
    return (
        f"; {n:,} of them {agree(n, 'is', 'are')} in {where} spelt otherwise "
        f"({examples(pairs)}): ids are compared as written{pasted}"
    )


def spelt_two_ways(
    ids: np.ndarray | Sequence[object], limit: int = 3
) -> tuple[int, list[list[str]]]:
    """How many whole numbers the distinct ``ids`` (one file's) spell in more than one
    way (``'7', '007', '7.0'``: different ids to visrec), and the first ``limit`` such
    groups. Zero-padded ids used consistently (``'00012345'`` alone) are no group."""
    arr = _texts(ids)
    dressed = np.asarray(pc.match_substring_regex(arr, _DRESSED).to_numpy(zero_copy_only=False))
    if not dressed.any():
        return 0, []
    num = pd.Series(_number(arr.filter(pa.array(dressed))), dtype=object)
    num = num[num.notna()]
    if num.empty:
        return 0, []
    # a number is spelt two ways when two dressed ids share it, or a plain id is it
    plain = pd.Series(np.asarray(arr.filter(pa.array(~dressed)).to_pylist(), dtype=object))
    two = num.duplicated(keep=False).to_numpy() | num.isin(plain).to_numpy()
    numbers = pd.unique(num[two])
    if not len(numbers):
        return 0, []
    first = set(numbers[:limit].tolist())
    groups: dict[str, list[str]] = {n: [] for n in numbers[:limit]}
    all_num = pd.Series(_number(arr), dtype=object)
    for spelling, n in zip(arr.filter(pa.array(all_num.isin(first).to_numpy())).to_pylist(),
                           all_num[all_num.isin(first)], strict=True):  # fmt: skip
        groups[n].append(spelling)
    return len(numbers), list(groups.values())


def look_alike(ids: np.ndarray | Sequence[object], limit: int = 3) -> tuple[int, list[list[str]]]:
    """How many ids of the distinct ``ids`` (one file's) print alike but differ in
    Unicode form (``'Café'`` typed and as macOS writes file names): two ids to visrec
    that no reader can tell apart; and the first ``limit`` such groups."""
    arr = _texts(ids)
    if len(arr) == 0 or pc.all(pc.string_is_ascii(arr)).as_py():
        return 0, []  # the usual case: ASCII has one Unicode form
    return _alike(arr, pc.utf8_normalize(arr, form="NFC"), limit)


def zero_width_alike(
    ids: np.ndarray | Sequence[object], limit: int = 3
) -> tuple[int, list[list[str]]]:
    """How many ids of the distinct ``ids`` (one file's) differ only by characters that
    print as nothing (U+200B, U+200C, U+200D, U+FEFF, U+2060: ``'ab'`` and
    ``'a\\u200bb'``): two ids to visrec that no reader can tell apart; and the first
    ``limit`` such groups."""
    arr = _texts(ids)
    if len(arr) == 0 or pc.all(pc.string_is_ascii(arr)).as_py():
        return 0, []  # the usual case: no ASCII character is zero-width
    return _alike(arr, _visible(arr), limit)


def dash_alike(ids: np.ndarray | Sequence[object], limit: int = 3) -> tuple[int, list[list[str]]]:
    """How many ids of the distinct ``ids`` (one file's) differ only by a dash that looks
    like ``-`` (a non-breaking hyphen, an en dash, a minus sign: ``'A-7'`` and
    ``'A\\u20117'``): two ids to visrec that a reader takes for one; and the first
    ``limit`` such groups."""
    arr = _texts(ids)
    if len(arr) == 0 or pc.all(pc.string_is_ascii(arr)).as_py():
        return 0, []  # the usual case: ASCII has one dash
    return _alike(arr, _plain_dashes(arr), limit)


def _alike(arr: pa.Array, normal: pa.Array, limit: int) -> tuple[int, list[list[str]]]:
    """Groups of ``arr`` ids that share their ``normal`` form (the ids as a reader sees
    them), at least one of them changed by it: how many, and the first ``limit``."""
    changed = pc.fill_null(pc.not_equal(normal, arr), False)
    if not pc.any(changed).as_py():
        return 0, []  # every id already in that form: distinct ids stay distinct
    # a group holds at least one id the form changes: only those keys are looked at
    near = pc.fill_null(pc.is_in(normal, value_set=pc.unique(normal.filter(changed))), False)
    arr, normal = arr.filter(near), normal.filter(near)
    key = pd.Series(normal.to_pylist(), dtype=object)
    twice = key.duplicated(keep=False).to_numpy()
    if not twice.any():
        return 0, []
    groups: dict[str, list[str]] = {}
    for spelling, k in zip(arr.filter(pa.array(twice)).to_pylist(), key[twice], strict=True):
        groups.setdefault(k, []).append(spelling)
    return len(groups), list(groups.values())[:limit]


def missing_words(ids: np.ndarray | Sequence[object]) -> list[str]:
    """The ``ids`` that other tools read back as a missing value (``NA``, ``null``)."""
    s = pd.Series(np.asarray(ids, dtype=object), dtype=object)
    return [str(i) for i in s[s.isin(list(MISSING_WORDS))]]


_Finder = tuple[Callable[..., tuple[int, list[list[str]]]], str, str, Callable[[str], str]]

#: ids (or labels) that print alike but are two to visrec: how each finder's groups are
#: written, what makes them two, and how a note shows them (as escapes: the code points
#: are what tells them apart)
PRINT_ALIKE: tuple[_Finder, ...] = (
    (look_alike, "written in two Unicode forms that print alike", "form", ascii),
    (
        zero_width_alike,
        "written with and without a character that prints as nothing",
        "spelling",
        ascii,
    ),
    (dash_alike, "written with '-' and with a dash that looks like it", "spelling", ascii),
)
# for ids, a whole number spelt two ways too ('7', '007'), shown as written
_TWO_WAYS = ((spelt_two_ways, "spelt in more than one way", "spelling", shown), *PRINT_ALIKE)


def written_two_ways(
    ids: np.ndarray | Sequence[object],
    finders: Sequence[_Finder] = PRINT_ALIKE,
) -> list[tuple[int, str, str, str]]:
    """``(n_groups, how, each, listed)`` for each of ``finders`` (:data:`PRINT_ALIKE`
    unless told) that finds groups in the distinct ``ids``: how many, the finder's words
    for them, and the first groups listed (``"'a', 'a\\u200b'; ...; and 2 more"``). Shared
    by the notes on ids and on labels, so they find and say the same."""
    found = []
    for find, how, each, show in finders:
        n_groups, groups = find(ids)
        if n_groups:
            listed = "; ".join(", ".join(show(i) for i in g) for g in groups)
            more = f"; and {n_groups - len(groups):,} more" if n_groups > len(groups) else ""
            found.append((n_groups, how, each, listed + more))
    return found


def id_notes(frame: pd.DataFrame) -> list[str]:
    """What to say about how an interactions frame writes its ids: one whole number
    spelt two ways (``7`` and ``007``: two items, as written), an id written two ways
    that print alike (:data:`PRINT_ALIKE`: Unicode forms, a zero-width character, a dash
    that looks like ``-``), ids other tools read as missing (``NA``: kept as an id, but
    ``pandas.read_csv`` of the recommendations makes it NaN). The loaders' commands say
    these on stderr; ``data summary`` under the file's counts."""
    notes = []
    for noun, col in (("user", "user_id"), ("item", "item_id")):
        if col not in frame.columns:
            continue
        ids = frame[col].unique()
        for n_groups, how, each, listed in written_two_ways(ids, _TWO_WAYS):
            notes.append(
                f"{counted(n_groups, noun + ' id')} {how} ({listed}); each {each} is a "
                f"different {noun}, as written"
            )
        words = missing_words(ids)
        if words:
            more = f" and {len(words) - 5:,} more" if len(words) > 5 else ""
            notes.append(
                f"{noun} {agree(len(words), 'id', 'ids')} that other tools read as a missing "
                f"value {agree(len(words), 'is kept as an id', 'are kept as ids')} "
                f"({shown_ids(words, 5)}{more})"
            )
    return notes


def _utf8_id(v: bytes, column: object, where: str) -> str:
    try:
        return v.decode("utf-8")
    except UnicodeDecodeError:
        place = f"{where}: " if where else ""
        if column is not None:  # ids looked up from a list have no column
            place += f"column {str(column)!r}: "
        raise VisrecError(f"{place}id {v!r} is bytes that are not UTF-8 text") from None


def ids_as_text(col: pd.Series, where: str = "") -> pd.Series:
    """An id column as text, ``None`` where null (object dtype; a text column without a
    gap is returned as it is).

    Integer ids stored as float (a null forces float64) are written as integers, ``"1"``
    not ``"1.0"``, when every value is a whole number; one beyond int64 (``1e+20``) is
    kept as the float is written; bytes (a Parquet binary column) as their UTF-8 text, an
    error naming ``where`` (the file) and the column when they are not. Shared by the
    interactions and item-table loaders,
    ``Interactions.from_frame`` and the vectors reader, so ids match.
    """
    if (isinstance(col.dtype, pd.StringDtype) and not col.isna().any()) or (
        col.dtype == object and pd.api.types.infer_dtype(col, skipna=False) == "string"
    ):
        return col  # text already, no gap: what every text loader gives (no copy)
    null = col.isna().to_numpy()
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) == "bytes":
        # a Parquet binary column (pandas writes bytes so): the text, not "b'i1'"
        return pd.Series(
            [None if n else _utf8_id(v, col.name, where) for v, n in zip(col, null, strict=True)],
            index=col.index,
            dtype=object,
        )
    if pd.api.types.is_float_dtype(col) and bool((col.dropna() % 1 == 0).all()):
        values = col.to_numpy(dtype=np.float64)
        fits = ~null & (np.abs(values) < 2.0**63)
        text = np.empty(len(col), dtype=object)
        text[fits] = values[fits].astype(np.int64).astype(str)
        rest = ~fits & ~null  # beyond int64 (1e+20): as the float is written
        text[rest] = col[rest].astype(str).to_numpy(dtype=object)
    elif col.dtype == object:
        # value by value: pandas 3 writes bytes b"a" as "a" and fails on bytes that are
        # not UTF-8, pandas 2 writes "b'a'"; here both as the bytes-only branch above
        text = np.array(
            [_utf8_id(v, col.name, where) if isinstance(v, bytes) else str(v) for v in col],
            dtype=object,
        )
        _refuse_merged_ids(col, text, null, where)
    else:
        text = col.astype(str).to_numpy(dtype=object)
    text[null] = None
    return pd.Series(text, index=col.index, dtype=object)


def _refuse_merged_ids(col: pd.Series, text: np.ndarray, null: np.ndarray, where: str) -> None:
    """An error for two different values of a mixed column that are one id as text
    (the number 7 and the text "7", bytes b"a" and "a"): merged, one item's rows would
    silently become the other's."""
    if pd.api.types.infer_dtype(col, skipna=True) in ("string", "integer", "bytes", "empty"):
        return  # one kind of value: equal text, equal value
    # each value's kind (text, bytes, number: 7 and np.int64(7) are one), then per text
    # the smallest and largest kind: a text with two kinds is a clash (hashing, in C)
    values = col.to_numpy(dtype=object)[~null]
    types = pd.Series(values, dtype=object).map(type)
    kind_of = {t: _type_kind(t) for t in types.unique()}
    kinds = pd.factorize(types.map(kind_of))[0]
    if not len(kinds) or kinds.max() == 0:
        return
    texts = pd.factorize(text[~null])[0]
    lo = np.full(texts.max() + 1, kinds.max(), dtype=np.int64)
    hi = np.zeros(texts.max() + 1, dtype=np.int64)
    np.minimum.at(lo, texts, kinds)
    np.maximum.at(hi, texts, kinds)
    clash = np.flatnonzero(lo[texts] != hi[texts])
    first: dict[str, object] = {}
    for t, raw in zip(text[~null][clash], values[clash], strict=True):
        seen = first.setdefault(t, raw)
        if _kind(seen) != _kind(raw):
            place = f"{where}: " if where else ""
            if col.name is not None:  # a list of ids to look up has no column to name
                place += f"column {str(col.name)!r}: "
            raise VisrecError(
                f"{place}ids {seen!r} and {raw!r} "
                f"({type(seen).__name__} and {type(raw).__name__}) are both the id {t!r} as "
                f"text; give {'the ids' if col.name is None else 'the column'} one kind of "
                "value (all text, or all numbers)"
            )


def _type_kind(t: type) -> str:
    """:func:`_kind` of a value of type ``t``."""
    if issubclass(t, str):
        return "text"
    if issubclass(t, bytes):
        return "bytes"
    return "number" if issubclass(t, numbers.Number) else t.__name__


def _kind(value: object) -> str:
    return _type_kind(type(value))


def is_one_id(value: object) -> bool:
    """True for a value that is one id (a string, bytes or a number), not a sequence."""
    return isinstance(value, str | bytes | numbers.Number) or not isinstance(value, Iterable)


def spell_ids(values: Iterable[object] | object) -> list[str]:
    """Raw ids as the text an id map holds, by the rule of :func:`ids_as_text`: a
    string (or bytes, or a number) is one id, anything else iterable a sequence of
    them; a float sequence whose values are all whole numbers is written as integers
    (``7.0`` -> ``"7"``: pandas makes an integer column float when it has a gap), one
    with a fraction anywhere as Python writes floats (``7.0``, ``8.5``)."""
    if is_one_id(values):
        return [_spell_one(values)]
    seq = cast(Iterable[object], values)
    if _is_text(seq):
        return [str(v) for v in seq]  # text already (what the loaders give)
    if isinstance(seq, list) and all(type(v) is str for v in seq):
        return cast(list[str], seq)
    col = pd.Series(seq if isinstance(seq, np.ndarray | pd.Series) else list(seq))
    if col.dtype == object and not col.map(lambda v: isinstance(v, float | np.floating)).any():
        return [_spell_one(v) for v in col]  # text, ints, bytes: each as it is written
    text = ids_as_text(col.reset_index(drop=True))
    return [str(orig) if t is None else str(t) for t, orig in zip(text, col, strict=True)]


def find_ids(index: Mapping[str, int], values: Iterable[object] | object) -> list[int | None]:
    """Positions of ``values`` in ``index`` (an id map's id -> position), None where
    absent. Each value is looked up as :func:`spell_ids` spells it, then as a whole float
    written alone (``7.0`` -> ``"7"``) and as Python writes it (``"7.0"``), so a map
    built from either spelling of a float column finds it."""
    vals = [values] if is_one_id(values) else cast(Iterable[object], values)
    if _is_text(vals):
        return [index.get(str(v)) for v in vals]  # the usual case: no per-id work
    vals = list(vals)
    if all(type(v) is str for v in vals):
        return [index.get(v) for v in vals]  # type: ignore[call-overload]
    out: list[int | None] = []
    for v, spelt in zip(vals, spell_ids(vals), strict=True):
        i = index.get(spelt)
        if i is None and not isinstance(v, str):
            i = index.get(_spell_one(v))
            if i is None:
                i = index.get(str(v))
        out.append(i)
    return out


def _is_text(values: object) -> bool:
    return isinstance(values, np.ndarray | pd.Series) and (
        values.dtype.kind == "U" or pd.api.types.infer_dtype(values, skipna=False) == "string"
    )


def _spell_one(v: object) -> str:
    if type(v) is str:  # the usual case first
        return v
    if isinstance(v, bytes):  # as ids_as_text: not UTF-8 is refused, not respelt
        return _utf8_id(v, None, "")
    if isinstance(v, float | np.floating):
        f = float(v)
        if f.is_integer() and abs(f) < 2.0**63:
            return str(int(f))
    return str(v)
