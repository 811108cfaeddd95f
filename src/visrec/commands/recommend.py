"""``visrec recommend``: top-n items for every training user of a saved model."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from visrec._atomic import absent
from visrec.commands._common import (
    check_output_file,
    check_outputs_distinct,
    name_ids,
    survives_closed_stdout,
)
from visrec.commands._help import HelpFormatter
from visrec.commands._progress import add_progress_args, fit_lines_in_logs, show_progress
from visrec.errors import VisrecError, os_error

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator

    import numpy as np
    from tqdm import tqdm

    from visrec.embed.store import ItemVectors
    from visrec.models.base import Recommender
    from visrec.models.candidates import CandidateSet

EPILOG = """\
examples:
  visrec recommend models/bpr --n 20 -o recs.csv
  visrec recommend models/vbpr --n 20 -o recs.csv --items candidates.txt
  visrec recommend models/vbpr --n 20 -o recs.csv --items new.txt --vectors new.parquet
  visrec recommend models/visual-cf --n 20 --new-slots 5 -o recs.csv \\
      --items catalogue_and_new.txt --vectors all.parquet
  visrec recommend models/bpr --n 10 -o recs.csv --users some_users.txt

Output: CSV with header user_id,item_id,rank,score (rank 1..n), n rows per training
user (fewer only when fewer candidates are left; none for a user whose every candidate
is a training item, counted in the summary), never one of the user's training items
(nor, for a model trained with --min-rating, one they rated below it). --items (one
item_id per line) restricts the candidates; --users (one user_id per line) the users,
in the file's order (a user not in training is an error: the model knows nothing of
them; --unknown-users skip leaves such users out, popular gives them the most popular
candidates). Candidates unseen in training are scored from their image vectors (--vectors,
else the vectors file recorded by `visrec train` when it still exists) by models that
can (vbpr, visual-cf); a model that cannot, or a candidate with no vector (or one
holding NaN), is reported once on stderr and such candidates are ranked after all
scored ones, with score -inf; among themselves they are in a pseudo-random order
seeded by the model's random_state (the same for any order of the --items file, whose
order would otherwise decide them).

A new item's score is what the model expects from its picture alone, so next to items
people bought it rarely reaches the top n: --new-slots K keeps K places per list for
the best-scored unseen candidates (the list stays in score order).

A progress bar over the users shows on a terminal (--quiet hides it, --verbose forces it).
"""


#: scores as written: nine significant digits read back as the float32 a model scored
#: exactly, and a popularity count below a billion as itself (six gave 1.23457e+06)
SCORE_FORMAT = "%.9g"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "recommend",
        help="write the top-n items for every training user of a saved model",
        description="Rank candidate items for every user a saved model was trained on.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("model_dir", metavar="MODEL_DIR", help="model folder written by `visrec train`")
    p.add_argument("--n", type=int, default=20, metavar="N", help="items per user (default 20)")
    p.add_argument("-o", "--output", required=True, metavar="RECS.csv", help="output CSV")
    p.add_argument(
        "--items",
        metavar="CANDIDATES.txt",
        help="candidate item ids, one per line (default: all known items)",
    )
    p.add_argument(
        "--vectors",
        metavar="V.parquet",
        help="item vectors parquet for candidates unseen in training",
    )
    p.add_argument(
        "--users",
        metavar="USERS.txt",
        help="user ids to recommend for, one per line (default: every training user)",
    )
    p.add_argument(
        "--unknown-users",
        choices=("error", "skip", "popular"),
        default=None,
        help="with --users, users the model was not trained on (new customers): error "
        "(default) stops naming the first; skip leaves them out with a note; popular gives "
        "them the candidates most taken in training (no history to personalise by), "
        "after the known users' lists",
    )
    p.add_argument(
        "--skip-unknown-users",
        action="store_true",
        help="the same as --unknown-users skip",
    )
    p.add_argument(
        "--new-slots",
        type=int,
        default=0,
        metavar="K",
        help="keep K of the n places of every list for candidates unseen in training "
        "(the best-scored ones), for models that score them from vectors; default 0: one "
        "ranking by score, where new items rarely reach the top next to bought ones",
    )
    p.add_argument(
        "--batch-users",
        type=int,
        default=None,
        metavar="N",
        help="users scored per batch (default: auto)",
    )
    add_progress_args(p, what="a progress bar over the users")
    p.set_defaults(func=run)


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


def read_id_list(
    path: str, what: str, noun: str, is_header: Callable[[str], bool]
) -> list[tuple[str, int]]:
    """``(id, line number)`` for each distinct id of a one-id-per-line file (``what``
    names the file in errors, ``noun`` the id; ``is_header`` tells a first-line header)."""
    import csv

    from visrec.data.text_files import decode_text, text_lines

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
    except FileNotFoundError:
        raise VisrecError(f"{what} file {path!r} {absent(p)}") from None
    except OSError as exc:  # no permission, an I/O error: one line, not a traceback
        raise os_error(f"{path}: cannot read ({exc.strerror or exc})", exc) from exc
    if decoded.warning is not None:  # ids of lines decoded otherwise may not match
        line_no, message = decoded.warning
        print(f"warning: {path}:{line_no}: {message}", file=sys.stderr)
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    dup = 0
    for lineno, line in enumerate(text_lines(decoded.text), 1):
        text = line.strip()
        quoted = text.startswith('"')
        try:  # strict: '"new' read alone is an error, not the id 'new'
            fields = next(csv.reader([text], strict=True)) if quoted else [text]
        except csv.Error as exc:
            why = (
                "text after the closing quote in"  # '"7"x': a quote inside is written ""
                if "expected after" in str(exc)
                else "a quote left open in"
            )
            raise VisrecError(
                f"{what} file {path!r} line {lineno}: {why} {text!r} (one {noun} id per "
                'line; a quote inside a quoted id is written "", and an id cannot run over '
                "several lines)"
            ) from None
        one = fields[0].strip() if len(fields) == 1 else text
        # an unskipped 'asin' header became a candidate ranked in every user's list
        if not one or (lineno == 1 and is_header(one)):
            continue
        if len(fields) != 1 or (not quoted and ("," in one or "\t" in one)):
            raise VisrecError(
                f"{what} file {path!r} line {lineno}: expected one {noun} id per line, got "
                f'{text!r} (an id that holds a comma or a tab is quoted: "a,b")'
            )
        if one in seen:
            dup += 1
            continue
        seen.add(one)
        out.append((one, lineno))
    if dup:
        print(f"note: {path}: {_n(dup, f'duplicate {noun} id')} kept once", file=sys.stderr)
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
                "was not trained on get the candidates most taken in training, after the "
                f"others{name_ids(ids[unknown], None)}{hint}",
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
        raise VisrecError(
            f"users file {path!r} line {line}: user {first!r}{more} is not a user the model "
            f"was trained on{hint}; recommend for training users only (a new user has no "
            "history to rank by"
            + (
                ""
                if unknown_users == "skip"
                else "; --unknown-users skip leaves them out, --unknown-users popular gives "
                "them the most popular candidates"
            )
            + ")"
        )
    return np.asarray(idx, dtype=np.int64), []


def recorded_paths(tj: Path) -> dict[str, str | None]:
    """The ``vectors`` and ``interactions`` paths ``visrec train`` recorded in the model
    folder's ``train.json`` (None: not recorded), with a note when the file is there but
    unusable (the vectors are only a default for ``--vectors``, the interactions only
    an input ``-o`` must not replace, so damage there never stops a run)."""
    out: dict[str, str | None] = {"vectors": None, "interactions": None}
    if not tj.is_file():
        return out
    try:
        provenance = json.loads(tj.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # not UTF-8 or not JSON
        print(f"note: {tj} is unreadable ({exc}); its vectors path is not used", file=sys.stderr)
        return out
    if not isinstance(provenance, dict):
        print(f"note: {tj} is not a JSON object; its vectors path is not used", file=sys.stderr)
        return out
    for key in out:
        path = provenance.get(key)
        if path is None or isinstance(path, str):
            out[key] = path or None
        elif key == "vectors":  # the one a run reads
            print(f"note: {tj}: 'vectors' is not a path ({path!r}); not used", file=sys.stderr)
    return out


def vectors_file_meta(path: str) -> dict[str, Any]:
    """Schema metadata of a vectors file named on the command line.

    Raises ``VisrecError`` when it does not exist or cannot be read: an explicit path is
    never silently skipped (only the path recorded by ``visrec train`` may have gone).
    """
    import pyarrow as pa

    from visrec.embed.store import read_vectors_meta, require_parquet

    p = Path(path)
    if not p.is_file():
        raise VisrecError(f"vectors file {path!r} {_not_a_file(p)}")
    require_parquet(path)  # said as the other commands say it, not in pyarrow's words
    try:
        return read_vectors_meta(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise VisrecError(f"vectors file {path!r} cannot be read as Parquet ({exc})") from exc


def _unknown_users_mode(args: argparse.Namespace) -> str:
    """``--unknown-users`` (``--skip-unknown-users`` is its ``skip``), checked."""
    mode = args.unknown_users
    if args.skip_unknown_users:
        if mode not in (None, "skip"):
            raise VisrecError(
                f"--skip-unknown-users and --unknown-users {mode} contradict each other; give one"
            )
        mode = "skip"
    if mode is not None and not args.users:
        option = "--skip-unknown-users" if args.skip_unknown_users else "--unknown-users"
        raise VisrecError(f"{option} is for a --users file")
    return mode or "error"


def popular_list(
    model: Recommender, raw: np.ndarray, known: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` candidates most taken in training, for a user with no history: their
    positions in ``raw`` and their training pair counts as scores. Candidates unseen in
    training, or taken by nobody, score -inf and come last; ties keep ``raw``'s (seeded)
    order."""
    import numpy as np

    counts = np.asarray(model.seen_.sum(axis=0), dtype=np.float64).ravel()
    score = np.full(len(raw), -np.inf)
    k = known >= 0
    score[k] = counts[known[k]]
    score[score == 0] = -np.inf
    top = np.argsort(-score, kind="stable")[:n]
    return top, score[top]


def _say_none_scored(model: Recommender, vpath: str | None) -> None:
    """The warning for lists of candidates that are all unseen and all unscored: every
    score is -inf, so every list is in one arbitrary order."""
    if model.scores_new_items:
        why = f"none has a usable image vector{f' in {vpath}' if vpath else ''}"
    else:
        from visrec.models.registry import MODELS, get_model_class

        able = [n for n in MODELS if get_model_class(n).scores_new_items]
        why = (
            f"model {model.name!r} cannot score new items; {', '.join(able)} can, from "
            "their pictures (with --vectors)"
        )
    print(
        f"warning: no candidate can be scored (every one is unseen in training, and {why}): "
        "every list is in the same arbitrary order",
        file=sys.stderr,
    )


def _not_a_file(p: Path) -> str:
    """Why ``p`` (no regular file) cannot be read as a vectors file, in words."""
    from visrec._atomic import not_regular

    what = not_regular(p)
    if what == "a folder":
        return "is a directory, not a file"
    if what is not None:
        return f"is {what}, not a regular file; give the .parquet file"
    return absent(p)


def check_same_backbone(
    path: str, meta: dict[str, Any], model_meta: dict[str, Any] | None, model_name: str
) -> None:
    """A vectors file from another backbone than the vectors the model was trained on is
    an error: the model maps one network's features, and another network's (the
    EfficientNet-Lite family are all 1280-d, so :func:`check_vector_dim` cannot tell)
    would give meaningless scores without a sign."""
    from visrec.embed.store import backbone_names

    mine, theirs = backbone_names(model_meta, meta)
    if mine is None:
        return  # trained on vectors that do not say (e.g. made outside visrec embed)
    if theirs is None:
        print(
            f"note: {path} does not say which backbone made it, so it cannot be checked "
            f"against the {mine} vectors model {model_name!r} was trained on",
            file=sys.stderr,
        )
        return
    if mine != theirs:
        raise VisrecError(
            f"{path}: holds {theirs} vectors, but model {model_name!r} was trained on "
            f"{mine} vectors, so its scores of new items from these would be meaningless; "
            f"embed the new items with `visrec embed --backbone {mine}`, or train on "
            f"{theirs} vectors"
        )


def check_vector_dim(path: str, dim: Any, model: Recommender) -> None:
    """A vectors file whose width is not the one ``model`` scores new items from is an
    error naming it (``dim`` not an int: unknown, nothing to check)."""
    want = model.vector_dim()
    if want is not None and isinstance(dim, int) and dim != want:
        raise VisrecError(
            f"{path}: vectors have dimension {dim}, the model was trained on {want}-d "
            "vectors; pass the vectors it was trained with (or one embedded with the same "
            "backbone)"
        )


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def unseen_vectors(
    model: Recommender,
    raw: np.ndarray,
    unseen_pos: np.ndarray,
    vpath: str | None,
    items_path: str | None,
    checked: bool = False,
    named: Collection[str] = (),
) -> tuple[np.ndarray | None, np.ndarray]:
    """Vectors of the candidates at ``unseen_pos`` (unseen in training) that ``model`` can
    score, and their positions; one note on stderr naming those it cannot.

    ``vpath`` is ``--vectors`` (already checked) or the path recorded at training time,
    which may have gone: then the note says so and the candidates are ranked last.
    ``checked``: ``vpath`` is ``--vectors``, whose backbone ``run`` checked already.
    ``named``: candidates a note already named as training items spelt otherwise.
    """
    import numpy as np

    none = np.zeros(0, dtype=np.int64)
    n_unseen = len(unseen_pos)
    if not n_unseen:
        return None, none
    unseen = _Unseen(raw, unseen_pos, items_path)
    if not model.scores_new_items:
        are = "is" if n_unseen == 1 else "are"
        unseen.note(
            f"model {model.name!r} cannot score items unseen in training; "
            f"{_n(n_unseen, 'such candidate')} {are} ranked last",
            unseen_pos,
        )
        return None, none
    if not vpath or not Path(vpath).is_file():
        where = f" ({vpath} {_not_a_file(Path(vpath))})" if vpath else ""
        unseen.note(
            f"no vectors file for the {_n(n_unseen, 'candidate')} unseen in "
            f"training{where}; pass --vectors. They are ranked last",
            unseen_pos,
        )
        return None, none
    vecs, has, listed = _read_unseen_vectors(model, unseen, vpath, checked)
    _note_lacking_vectors(model, unseen, vpath, listed, has, named)
    _drop_unusable(unseen, vpath, vecs, has)
    if not has.any():  # nothing to score from vectors (and no width to trust)
        return None, none
    _note_far_vectors(model, unseen, vpath, vecs, has)
    return vecs[has], unseen_pos[has]


@dataclass
class _Unseen:
    """The candidates unseen in training whose vectors :func:`unseen_vectors` reads."""

    raw: np.ndarray  # every candidate
    pos: np.ndarray  # the unseen ones' positions in raw
    items_path: str | None  # the --items file, which the notes name

    def note(self, text: str, pos: np.ndarray, tail: str = "") -> None:
        """Prints the note ``text`` naming the candidates at ``pos``, then ``tail``."""
        print(f"note: {text}" + name_ids(self.raw[pos], self.items_path) + tail, file=sys.stderr)


def _read_unseen_vectors(
    model: Recommender, unseen: _Unseen, vpath: str, checked: bool
) -> tuple[np.ndarray, np.ndarray, ItemVectors]:
    """The unseen candidates' vectors and flags, and the file's ids; a wrong file refused."""
    from visrec.embed.store import read_vector_ids, read_vectors, vector_width

    raw, unseen_pos = unseen.raw, unseen.pos
    # only the unseen candidates' vectors: a catalogue's whole file peaked at 3-4x its size
    store = read_vectors(vpath, only=[str(i) for i in raw[unseen_pos]])
    listed = read_vector_ids(vpath)  # every id, for the checks below (no vectors)
    # the file's width, also when none of the candidates is in it (a wrong file is
    # refused as such, not read as "no image vector")
    width = store.dim if len(store) else vector_width(vpath)
    if width is not None:
        check_vector_dim(vpath, width, model)
    if not checked:
        check_same_backbone(vpath, store.meta, getattr(model, "vector_meta_", None), model.name)
    vecs, has = store.align(raw[unseen_pos])
    return vecs, has, listed


def _note_lacking_vectors(
    model: Recommender,
    unseen: _Unseen,
    vpath: str,
    listed: ItemVectors,
    has: np.ndarray,
    named: Collection[str],
) -> None:
    """The warning or note on unseen candidates with no vector in ``vpath``."""
    raw, unseen_pos = unseen.raw, unseen.pos
    n_unseen = len(unseen_pos)
    # a set, not np.isin on fixed-width text: one 5 MB id made that 30 GB
    store_ids = {str(i) for i in listed.ids}
    shared = any(str(i) in store_ids for i in raw[unseen_pos]) or any(
        str(i) in store_ids for i in model.item_map_.ids
    )
    if not len(listed.ids):
        print(
            f"warning: {vpath} holds no items, so the {_n(n_unseen, 'candidate')} unseen in "
            "training are ranked last",
            file=sys.stderr,
        )
    elif not shared:
        # the file knows none of the model's items nor of the new candidates: most
        # likely ids spelt differently, which would give chance-level lists with a note
        from visrec.data.id_spelling import shown_ids

        theirs = shown_ids(listed.ids)
        ours = shown_ids(raw[unseen_pos])
        print(
            f"warning: {vpath} holds none of the model's items nor any of the "
            f"{_n(n_unseen, 'candidate')} unseen in training (its ids look like {theirs}; "
            f"the candidates' like {ours}), so those candidates are ranked last. Are the "
            "ids spelt the same way in both?",
            file=sys.stderr,
        )
    elif not has.all():
        from visrec.data.id_spelling import respelt, respelt_hint

        lacking = [str(i) for i in raw[unseen_pos[~has]] if str(i) not in named]
        hint = respelt_hint(respelt(lacking, listed.ids[listed.has_image]), "it")
        n_lacking = int((~has).sum())
        unseen.note(
            f"{n_lacking:,} of {_n(n_unseen, 'candidate')} unseen in training "
            f"{_verb(n_lacking)} no image vector in {vpath}; {_they(n_lacking)} ranked last",
            unseen_pos[~has],
            hint,
        )


def _drop_unusable(unseen: _Unseen, vpath: str, vecs: np.ndarray, has: np.ndarray) -> None:
    """Clears (in place) ``has`` of rows holding NaN or out-of-range values, with a note."""
    from visrec.embed.store import UNUSABLE_VALUES, usable_rows

    broken = has & ~usable_rows(vecs)
    if broken.any():
        # NaN in a vector makes every user's score NaN: unscorable, never a silent drop
        n_broken = int(broken.sum())
        unseen.note(
            f"{n_broken:,} of {_n(len(unseen.pos), 'candidate')} unseen in training "
            f"{_verb(n_broken)} {UNUSABLE_VALUES} in the vector in {vpath}; "
            f"{_they(n_broken)} ranked last",
            unseen.pos[broken],
        )
        has &= ~broken


def _note_far_vectors(
    model: Recommender, unseen: _Unseen, vpath: str, vecs: np.ndarray, has: np.ndarray
) -> None:
    """A note naming the candidates whose vectors lie far from the training items'."""
    from visrec.embed.store import OUTLIER_LENGTH

    far = model.far_vectors(vecs[has])
    if far.any():
        n_far = int(far.sum())
        unseen.note(
            f"{n_far:,} of {_n(len(unseen.pos), 'candidate')} unseen in training "
            f"{_verb(n_far)} a vector far from the training items' in {vpath} (over "
            f"{OUTLIER_LENGTH:g} times their typical distance from their mean); "
            f"{model.name}'s scores for {'it' if n_far == 1 else 'them'} follow the "
            "vector's size more than the picture",
            unseen.pos[has][far],
        )


def _verb(n: int) -> str:
    return "has" if n == 1 else "have"


def _they(n: int) -> str:
    return "it is" if n == 1 else "they are"


def note_respelt_candidates(unseen: np.ndarray, model: Recommender, items: str | None) -> set[str]:
    """A note when candidates unseen in training are training items spelt otherwise
    (``150.0`` for ``150``): compared as written, they are new items, and a user's own
    training item could be recommended to them under its other spelling. Returns the
    candidates named (no other note names them again)."""
    from visrec.data.id_spelling import examples, respelt

    pairs = respelt(unseen, model.item_map_.ids) if len(unseen) else []
    if pairs:
        print(
            f"note: {items}: {_n(len(pairs), 'candidate')} unseen in training "
            f"{'is a training item' if len(pairs) == 1 else 'are training items'} spelt "
            f"otherwise ({examples(pairs)}); ids are compared as written, so "
            f"{'it is a new item' if len(pairs) == 1 else 'they are new items'} here",
            file=sys.stderr,
        )
    return {a for a, _ in pairs}


@survives_closed_stdout
def run(args: argparse.Namespace) -> int:
    from visrec.models.base import Recommender

    unknown_users = _checked_options(args)
    # checked before any work: the final rename onto a directory fails only at the end
    check_output_file(args.output, "-o")
    recorded = _check_output_replaces_no_input(args)
    vmeta = vectors_file_meta(args.vectors) if args.vectors else None
    t0 = time.perf_counter()
    model = Recommender.load(args.model_dir)
    _check_vectors_option(args, vmeta, model)
    users, newcomers = model_users(args.users, model, unknown_users) if args.users else (None, [])
    cands, n_unseen = _candidate_set(args, model, recorded)
    tally = _write_recommendations(args, model, cands, users, newcomers)
    _say_done(tally, newcomers, len(cands.raw_ids), n_unseen, t0, args.output)
    return 0


def _checked_options(args: argparse.Namespace) -> str:
    """The ``--unknown-users`` mode, once ``--n``, ``--batch-users``, ``--new-slots`` pass."""
    if args.n < 1:
        raise VisrecError(f"--n must be >= 1, got {args.n}")
    unknown_users = _unknown_users_mode(args)
    if args.batch_users is not None and args.batch_users < 1:
        raise VisrecError(f"--batch-users must be >= 1, got {args.batch_users}")
    if not 0 <= args.new_slots <= args.n:
        raise VisrecError(f"--new-slots must be between 0 and --n ({args.n}), got {args.new_slots}")
    return unknown_users


def _check_output_replaces_no_input(args: argparse.Namespace) -> str | None:
    """The vectors path train.json records, once ``-o`` is checked against every input."""
    from visrec.models.model_folder import TRAIN_JSON

    folder = Path(args.model_dir)
    model_files = {  # the model's own files: model.json, arrays.npz, train.json
        f"model folder's {p.name}": p for p in (folder.iterdir() if folder.is_dir() else ())
    }
    # the vectors train.json names: read for unseen candidates, and hours of embedding;
    # the training interactions it names: `-o` must not replace the data behind the model
    paths = recorded_paths(folder / TRAIN_JSON)
    recorded = paths["vectors"]
    check_outputs_distinct(
        {"-o": args.output},
        {
            "--items": args.items,
            "--users": args.users,
            "--vectors": args.vectors,
            **model_files,
            f"vectors (recorded in {TRAIN_JSON})": recorded,
            f"training interactions (recorded in {TRAIN_JSON})": paths["interactions"],
        },
    )
    return recorded


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
        check_vector_dim(args.vectors, vmeta.get("dim"), model)
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
        _say_none_scored(model, vpath)
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
        wrapped = type(exc)(
            f"{exc} ({vpath} is the vectors file {tj} recorded when the model was trained; "
            "pass --vectors V.parquet to use another)"
        )
        raise wrapped from exc


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


@dataclass
class _Tally:
    """What the closing line counts: users asked for, rows written, lists empty or short."""

    n_asked: int
    full: int  # the length a list falls short of (0: none is counted short)
    n_rows: int = 0
    n_empty: int = 0
    n_short: int = 0


def _write_recommendations(
    args: argparse.Namespace,
    model: Recommender,
    cands: CandidateSet,
    users: np.ndarray | None,
    newcomers: list[str],
) -> _Tally:
    """Writes ``-o``: the users' lists, then the newcomers' popular ones; returns counts."""
    import numpy as np
    from tqdm import tqdm

    from visrec._atomic import atomic_path
    from visrec.models.candidates import iter_recommendations

    raw = cands.raw_ids
    user_ids = model.user_map_.ids
    tally = _Tally(
        n_asked=len(user_ids) if users is None else len(users),
        # lists cut short by the user's own training items; with fewer candidates than
        # --n every list is short, which the candidate count already says
        full=args.n if len(raw) >= args.n else 0,
    )
    bar = tqdm(
        total=tally.n_asked,
        unit="user",
        desc="recommend",
        disable=not show_progress(args),
        file=sys.stderr,
        leave=False,
    )
    with (
        bar,
        fit_lines_in_logs(args),  # into a log file, a line a minute: users done of all
        atomic_path(args.output, sweep=True) as tmp,
        open(tmp, "w", encoding="utf-8", newline="") as fh,
    ):
        fh.write("user_id,item_id,rank,score\n")
        # a list never holds more than the candidates: --n beyond that sized the
        # blocks (users x n) for nothing, up to a failed allocation
        n_list = min(args.n, len(raw))
        batches = iter_recommendations(
            model, cands, n_list, args.batch_users, min(args.new_slots, n_list), users
        )
        _write_batches(fh, batches, user_ids, raw, bar, tally)
        if newcomers:
            top, score = popular_list(model, raw, cands.known_idx, n_list)
            tally.n_rows += _write_rows(
                fh,
                {
                    "user_id": np.repeat(np.asarray(newcomers, dtype=object), len(top)),
                    "item_id": np.tile(raw[top], len(newcomers)),
                    "rank": np.tile(np.arange(1, len(top) + 1), len(newcomers)),
                    "score": np.tile(score, len(newcomers)),
                },
            )
    return tally


def _write_batches(
    fh: TextIO,
    batches: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]],
    user_ids: np.ndarray,
    raw: np.ndarray,
    bar: tqdm[Any],
    tally: _Tally,
) -> None:
    """Writes each batch's rows to ``fh``, counting rows and empty or short lists."""
    import numpy as np

    from visrec.models import _fit_lines

    _fit_lines.fit_started()
    begun, done = time.monotonic(), 0
    for u, pos, val in batches:
        bar.update(len(u))
        done += len(u)
        _fit_lines.step_done("recommend", done, tally.n_asked, "users", begun)
        ok = pos >= 0
        tally.n_empty += int((~ok.any(axis=1)).sum())  # every candidate is a training item
        n_ok = ok.sum(axis=1)
        tally.n_short += int(((n_ok > 0) & (n_ok < tally.full)).sum())
        rows, cols = np.nonzero(ok)
        tally.n_rows += _write_rows(
            fh,
            {
                "user_id": user_ids[u[rows]],
                "item_id": raw[pos[rows, cols]],
                "rank": cols + 1,
                "score": val[rows, cols],
            },
        )


def _write_rows(fh: TextIO, columns: dict[str, np.ndarray]) -> int:
    """Writes ``columns`` to ``fh`` as CSV rows without a header; returns how many."""
    import pandas as pd

    frame = pd.DataFrame(columns)
    frame.to_csv(fh, header=False, index=False, float_format=SCORE_FORMAT, lineterminator="\n")
    return len(frame)


def _say_done(
    tally: _Tally,
    newcomers: list[str],
    n_candidates: int,
    n_unseen: int,
    t0: float,
    output: str,
) -> None:
    """Prints the closing line: users, rows, candidates and the time since ``t0``."""
    n_users = tally.n_asked - tally.n_empty
    parts = []
    if tally.n_empty:
        parts.append(
            f"{_n(tally.n_empty, 'user')} with no candidate left, every one a training item: "
            "no rows"
        )
    if tally.n_short:
        parts.append(
            f"{_n(tally.n_short, 'user')} with fewer than {tally.full} candidates left once "
            "their training items are out: shorter lists"
        )
    empty = f" ({'; '.join(parts)})" if parts else ""
    if newcomers:
        empty += f" and popular lists for {_n(len(newcomers), 'new user')}"
    print(
        f"recommended for {_n(n_users, 'user')}{empty} from {_n(n_candidates, 'candidate')} "
        f"({n_unseen:,} unseen in training): {tally.n_rows:,} rows in "
        f"{time.perf_counter() - t0:.1f} s -> {output}"
    )
