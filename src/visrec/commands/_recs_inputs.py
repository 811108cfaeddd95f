"""``visrec recommend``'s users and candidates: what a run ranks, and for whom.

The ``--users`` and ``--items`` files read (:func:`read_users`, :func:`read_candidates`),
the users file's ids as the model's user indices (:func:`model_users`), and the candidate
set: the candidates in the model's seeded tie order with the vectors of those unseen in
training (``--vectors``, else the file ``train.json`` records), checked against the model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visrec._atomic import absent
from visrec.commands._common import name_ids
from visrec.commands._new_items import (
    check_same_backbone,
    check_vector_dim,
    note_respelt_candidates,
    say_none_scored,
    unseen_vectors,
)
from visrec.data.row_reasons import nul_id_reason, spaced_note
from visrec.errors import InputNotFoundError, VisrecError, agree, counted

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from visrec.models.base import Recommender
    from visrec.models.candidates import CandidateSet


def read_candidates(path: str) -> list[str]:
    """Item ids from a text file, one per line; blank lines skipped, a header line
    skipped (``item_id`` or another name the interactions loader takes for the item
    column, e.g. ``asin``, ``itemId``, ``product_id``), duplicates kept once (first
    occurrence).

    The file is decoded like an interactions file (UTF-8 with or without a BOM, else
    Windows-1252, so ids match those read from such a TRAIN.csv), and a line in double
    quotes is one CSV field: CSV writers quote an id holding a comma (``"a,b"``).
    """
    from visrec.data.tables import is_item_header

    return [i for i, _ in read_id_list(path, "candidates", "item", is_item_header)]


def read_users(path: str) -> list[tuple[str, int]]:
    """``(user_id, line number)`` from a text file of user ids, read as
    :func:`read_candidates` reads item ids (a ``user_id``/``reviewerID``... header
    skipped)."""
    from visrec.data.tables import is_user_header

    return read_id_list(path, "users", "user", is_user_header)


def _all_quoted(lines: list[str]) -> bool:
    """Whether ``lines`` hold an id and every one that is not blank starts quoted."""
    rest = [ln.strip() for ln in lines if ln.strip()]
    return bool(rest) and all(ln.startswith('"') for ln in rest)


def read_id_list(
    path: str, what: str, noun: str, is_header: Callable[[str], bool]
) -> list[tuple[str, int]]:
    """``(id, line number)`` for each distinct id of a one-id-per-line file (``what``
    names the file in errors, ``noun`` the id; ``is_header`` tells a header, which only the
    first line that is not blank can be: quoted, only as ``item_id``/``user_id`` or in a
    file of quoted lines; skipping it is noted)."""
    import csv

    from visrec.data.column_names import column_key
    from visrec.data.id_spelling import shown
    from visrec.data.text_files import csv_reader, decode_text, text_lines

    def header(name: str) -> bool:
        # a bare 'id' heads a one-column list as surely (pd.Series(ids, name="id")); a
        # table's 'id' column is taken for neither role, but here there is one column
        return is_header(name) or column_key(name) == "id"

    p = Path(path)
    # is_file() said "does not exist" of a pipe (--items <(...)), which reads fine, and
    # of a folder; the file is read once: a pipe cannot be read twice
    try:
        is_dir = p.is_dir()
    except OSError:
        is_dir = False
    if is_dir:
        raise VisrecError(f"{what} file {path!r} is a folder; name a file of {noun} ids")
    from visrec._atomic import not_regular

    if not_regular(p) == "a device":  # /dev/zero never ends; a pipe (<(...)) does
        raise VisrecError(f"{what} file {path!r} is a device; name a file of {noun} ids")
    try:
        decoded = decode_text(p)
    # an unreadable one (no permission, an I/O error) is decode_text's ReadError
    except FileNotFoundError:
        raise VisrecError(f"{what} file {path!r} {absent(p)}") from None
    if decoded.warning is not None:  # ids of lines decoded otherwise may not match
        line_no, message = decoded.warning
        print(f"warning: {path}:{line_no}: {message}", file=sys.stderr)
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    spaced: list[str] = []  # ids written with spaces around them
    dup = 0
    first = True  # the first line with an id may be a header, blank lines before it or not
    lines = text_lines(decoded.text)
    for lineno, line in enumerate(lines, 1):
        text = line.strip()
        quoted = text.startswith('"')
        try:  # strict: '"new' read alone is an error, not the id 'new'
            # a field of any length: the csv module's default limit, 131,072
            # characters, was reported as a quote left open
            fields = next(csv_reader([text], strict=True)) if quoted else [text]
        except csv.Error as exc:
            why = (
                "text after the closing quote in"  # '"7"x': a quote inside is written ""
                if "expected after" in str(exc)
                else "a quote left open in"
                if "unexpected end of data" in str(exc)
                else f"not readable as CSV ({exc}):"
            )
            # cut short: the whole line may be 140,000 characters
            raise VisrecError(
                f"{what} file {path!r} line {lineno}: {why} {shown(text)} (one {noun} id per "
                'line; a quote inside a quoted id is written "", and an id cannot run over '
                "several lines)"
            ) from None
        one = fields[0].strip() if len(fields) == 1 else text
        if not one:
            continue
        if first:  # an unskipped 'asin' header became a candidate in every user's list
            first = False
            # quoted, the canonical name, or another name when every line is quoted (a
            # csv writer quoting all: '"asin"'); but '"Product"' over bare ids is how a
            # file says it is an id
            # a header even quoted: the canonical name, or every other line quoted too
            header_quoted = header(one) and (
                one.strip().lower() == f"{noun}_id" or _all_quoted(lines[lineno:])
            )
            if header(one) and (not quoted or header_quoted):
                # said, as an item or user named 'Product' or 'customer' is skipped too;
                # quoting is the way out only where it keeps the id
                hint = "" if quoted or header_quoted else f'; if it is an id, quote it ("{one}")'
                print(
                    f"note: {path}:{lineno}: {one!r} taken for a header and skipped{hint}",
                    file=sys.stderr,
                )
                continue
        if len(fields) != 1 or (not quoted and ("," in one or "\t" in one)):
            raise VisrecError(
                f"{what} file {path!r} line {lineno}: expected one {noun} id per line, got "
                f'{shown(text)} (an id that holds a comma or a tab is quoted: "a,b")'
            )
        if "\x00" in one:  # past decode_text's first 8 KiB, which it refuses as binary
            raise VisrecError(f"{what} file {path!r} line {lineno}: {nul_id_reason(noun, one)}")
        if one in seen:
            dup += 1
            continue
        seen.add(one)
        out.append((one, lineno))
        written = fields[0] if quoted else line
        if written != one:
            spaced.append(written)
    said = spaced_note(noun, spaced)
    if said:  # the rule (docs/data.md), said as the interactions loader says it
        print(f"note: {path}: {said}", file=sys.stderr)
    if dup:
        print(f"note: {path}: {counted(dup, f'duplicate {noun} id')} kept once", file=sys.stderr)
    if not out:
        raise VisrecError(f"{what} file {path!r} holds no {noun} ids")
    return out


def model_users(
    path: str, model: Recommender, unknown_users: str = "error"
) -> tuple[np.ndarray, list[str]]:
    """The model's user indices of the ids in the users file ``path``, in its order, and
    the ids it was not trained on that get popular lists.

    An unknown id is an error naming its line (with the training spelling when it is one
    written otherwise, ``7.0`` for ``7``); with ``unknown_users="skip"`` it is left out
    with a note (an error still when none is left); with ``"popular"`` it is returned,
    in file order, with a note."""
    import numpy as np

    from visrec.data.id_spelling import respelt, respelt_hint

    listed = read_users(path)
    ids = np.asarray([u for u, _ in listed], dtype=object)
    idx = model.user_map_.to_index(ids, missing="minus_one")
    unknown = np.flatnonzero(idx < 0)
    if len(unknown):
        first, line = listed[int(unknown[0])]
        hint = respelt_hint(respelt(ids[unknown], model.user_map_.ids), "the model")
        more = f" (and {len(unknown) - 1:,} more)" if len(unknown) > 1 else ""
        if unknown_users == "popular":
            print(
                f"note: users file {path!r}: {len(unknown):,} of {len(ids):,} users the model "
                f"was not trained on {agree(len(unknown), 'gets', 'get')} the candidates most "
                "taken in training"
                # with no known user there are no others to come after
                + (", after the others" if len(unknown) < len(ids) else "")
                + f"{name_ids(ids[unknown], None)}{hint}",
                file=sys.stderr,
            )
            return np.asarray(idx[idx >= 0], dtype=np.int64), [str(i) for i in ids[unknown]]
        if unknown_users == "skip" and len(unknown) < len(ids):
            print(
                f"note: users file {path!r}: left out {len(unknown):,} of {len(ids):,} users "
                f"the model was not trained on{name_ids(ids[unknown], None)}{hint}",
                file=sys.stderr,
            )
            return np.asarray(idx[idx >= 0], dtype=np.int64), []
        if unknown_users == "skip":  # every one unknown: skipping them leaves no user
            raise VisrecError(
                f"users file {path!r}: "
                + ("its one user is not" if len(ids) == 1 else f"none of its {len(ids):,} users is")
                + f" one the model was trained on{name_ids(ids[unknown], None)}{hint}, so "
                "--unknown-users skip "
                "leaves no user to recommend for (--unknown-users popular gives new users "
                "the most popular candidates)"
            )
        raise VisrecError(
            f"users file {path!r} line {line}: user {first!r}{more} is not a user the model "
            f"was trained on{hint}; recommend for training users only (a new user has no "
            "history to rank by; "
            + (
                "--unknown-users skip leaves them out, "
                if len(unknown) < len(ids)  # all unknown: skipping leaves nobody
                else ""
            )
            + "--unknown-users popular gives them the most popular candidates)"
        )
    return np.asarray(idx, dtype=np.int64), []


def _check_vectors_option(
    args: argparse.Namespace, vmeta: dict[str, Any] | None, model: Recommender
) -> None:
    """A note when the model does not use ``--vectors``, else the file checked against it."""
    if vmeta is not None and not model.scores_new_items:
        print(
            f"note: model {model.name!r} does not score items from vectors; --vectors is not used",
            file=sys.stderr,
        )
    elif vmeta is not None:
        # checked even when no candidate is new: a wrong file is a mistake either way
        dim = vmeta.get("dim")
        if not isinstance(dim, int):  # a vector column of no fixed width (made elsewhere)
            from visrec.embed.store import read_vector_ids, vector_width

            read_vector_ids(args.vectors)  # refused as such when it is no vectors file
            dim = vector_width(args.vectors)
        check_vector_dim(args.vectors, dim, model, vmeta)
        check_same_backbone(args.vectors, vmeta, getattr(model, "vector_meta_", None), model.name)


def _candidate_set(
    args: argparse.Namespace, model: Recommender, recorded: str | None
) -> tuple[CandidateSet, int]:
    """The candidates in seeded order with the new ones' vectors, and how many are unseen."""
    import numpy as np

    if args.items:
        raw = np.asarray(read_candidates(args.items), dtype=object)
    else:
        raw = np.asarray(model.item_map_.to_list(), dtype=object)
    known = model.item_map_.to_index(raw, missing="minus_one")
    unseen_pos = np.flatnonzero(known < 0)
    vpath = args.vectors or recorded
    new_vectors, new_pos = _new_candidate_vectors(args, model, raw, unseen_pos, vpath)
    if len(raw) and len(unseen_pos) == len(raw) and not len(new_pos):
        say_none_scored(model, vpath)
    if args.new_slots and not len(new_pos):
        why = (
            "no candidate is unseen in training"
            if not len(unseen_pos)
            else f"model {model.name!r} cannot score the candidates unseen in training"
            if not model.scores_new_items
            else "none of the candidates unseen in training has a usable vector"
        )
        print(f"note: --new-slots has no effect: {why}", file=sys.stderr)
    return _in_seeded_order(model, raw, known, new_vectors, new_pos), len(unseen_pos)


def _new_candidate_vectors(
    args: argparse.Namespace,
    model: Recommender,
    raw: np.ndarray,
    unseen_pos: np.ndarray,
    vpath: str | None,
) -> tuple[np.ndarray | None, np.ndarray]:
    """Notes respelt candidates, then :func:`unseen_vectors`; a recorded file's error says so."""
    from visrec.models.model_folder import TRAIN_JSON

    named = note_respelt_candidates(raw[unseen_pos], model, args.items)
    try:
        return unseen_vectors(
            model, raw, unseen_pos, vpath, args.items, checked=bool(args.vectors), named=named
        )
    except VisrecError as exc:
        if args.vectors:
            raise
        # a file nobody named on this command line: say where its path came from
        tj = Path(args.model_dir) / TRAIN_JSON
        text = (
            f"{exc} ({vpath} is the vectors file {tj} recorded when the model was trained; "
            "pass --vectors V.parquet to use another)"
        )
        # an InputNotFoundError takes its path first, its words second
        if isinstance(exc, InputNotFoundError):
            raise InputNotFoundError(exc.filename, text) from exc
        raise type(exc)(text) from exc


def _in_seeded_order(
    model: Recommender,
    raw: np.ndarray,
    known: np.ndarray,
    new_vectors: np.ndarray | None,
    new_pos: np.ndarray,
) -> CandidateSet:
    """The :class:`CandidateSet` of ``raw`` in the model's seeded tie order."""
    import numpy as np

    from visrec.models.candidates import CandidateSet, tie_key, tie_seed

    # ranking breaks ties (equal scores, the unscorable) by candidate position: put the
    # candidates in a seeded order so the file's order cannot decide them
    order = np.argsort(tie_key(raw, tie_seed(model)), kind="stable")
    place = np.empty_like(order)
    place[order] = np.arange(len(order))
    raw, known, new_pos = raw[order], known[order], place[new_pos]
    return CandidateSet(
        raw_ids=raw,
        known_idx=known,
        new_vectors=new_vectors,
        new_pos=new_pos,
    )
