"""Candidates unseen in training, for ``visrec recommend``: their image vectors (read,
checked against the model, notes on those lacking one or holding unusable values) and
the checks of a ``--vectors`` file against the model."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visrec._atomic import absent
from visrec.commands._common import name_ids
from visrec.errors import VisrecError, agree, counted, unreadable_file

if TYPE_CHECKING:
    from collections.abc import Collection

    import numpy as np

    from visrec.embed.store import ItemVectors
    from visrec.models.base import Recommender


def vectors_file_meta(path: str) -> dict[str, Any]:
    """Schema metadata of a vectors file named on the command line.

    Raises ``VisrecError`` when it does not exist or cannot be read: an explicit path is
    never silently skipped (only the path recorded by ``visrec train`` may have gone).
    """
    import pyarrow as pa

    from visrec.embed.store import folder_advice, read_vectors_meta, require_parquet

    p = Path(path)
    if not p.is_file():
        raise VisrecError(f"vectors file {path!r} {not_a_file(p)}{folder_advice(path)}")
    require_parquet(path)  # said as the other commands say it, not in pyarrow's words
    try:
        return read_vectors_meta(p)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        said = f"vectors file {path!r} cannot be read as Parquet ({exc})"
        raise unreadable_file(said, exc, path) from exc  # refused: exit 1, as read_vectors


def say_none_scored(model: Recommender, vpath: str | None) -> None:
    """The warning for lists of candidates that are all unseen and all unscored: every
    score is -inf, so every list is in one arbitrary order."""
    if model.scores_new_items:
        why = f"none has a usable image vector{f' in {vpath}' if vpath else ''}"
    else:
        from visrec.models.registry import models_that, or_list

        able = or_list(models_that("scores_new_items"), none="no model registered here")
        why = (
            f"model {model.name!r} cannot score new items; {able} can, from "
            "their pictures (with --vectors)"
        )
    print(
        f"warning: no candidate can be scored (every one is unseen in training, and {why}): "
        "every list is in the same arbitrary order",
        file=sys.stderr,
    )


def not_a_file(p: Path) -> str:
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
    from visrec.embed.store import backbone_names, made_differently

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
        raise _other_backbone(path, mine, theirs, model_name)
    differ = made_differently(model_meta, meta)
    if differ:  # e.g. embedded by a visrec whose preprocessing changed since training
        raise VisrecError(
            f"{path}: these {theirs} vectors were made with other weights or preprocessing "
            f"than the vectors model {model_name!r} was trained on ({'; '.join(differ)}), "
            "so its scores of new items from them would be off; embed the new items the "
            "way the training items were, or train again on vectors made like these"
        )


def _other_backbone(path: str, mine: str, theirs: str, model_name: str) -> VisrecError:
    """The error for a file of ``theirs`` vectors given to a model fitted on ``mine``:
    it says which backbone to embed the new items with."""
    from visrec.embed.backbones import ENTRY_POINT_GROUP, is_backbone_name

    how = f"`visrec embed --backbone {mine}`"
    # one registered by a script: plain `visrec embed` lacks it (an installed
    # package's is known by its metadata: nothing is imported to say so)
    if not is_backbone_name(mine):
        how = (
            f"the {mine} backbone (register_backbone it in the process that embeds, "
            f"or install the package that lists it in {ENTRY_POINT_GROUP!r}; "
            "docs/embed.md)"
        )
    return VisrecError(
        f"{path}: holds {theirs} vectors, but model {model_name!r} was trained on "
        f"{mine} vectors, so its scores of new items from these would be meaningless; "
        f"embed the new items with {how}, or train on {theirs} vectors"
    )


def check_vector_dim(
    path: str, dim: Any, model: Recommender, meta: dict[str, Any] | None = None
) -> None:
    """A vectors file whose width is not the one ``model`` scores new items from is an
    error naming it (``dim`` not an int: unknown, nothing to check); when the file
    (``meta``) and the model name different backbones, the error says so, as
    :func:`check_same_backbone` would: another backbone's vectors are mostly of another
    width too (a backbone of one's own), and the backbone is what to embed with."""
    want = model.vector_dim()
    if want is not None and isinstance(dim, int) and dim != want:
        from visrec.embed.store import backbone_names

        mine, theirs = backbone_names(getattr(model, "vector_meta_", None), meta)
        if mine is not None and theirs is not None and mine != theirs:
            raise _other_backbone(path, mine, theirs, model.name)
        raise VisrecError(
            f"{path}: vectors have dimension {dim}, the model was trained on {want}-d "
            "vectors; pass the vectors it was trained with (or one embedded with the same "
            "backbone)"
        )


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
            f"{counted(n_unseen, 'such candidate')} {are} ranked last",
            unseen_pos,
        )
        return None, none
    if not vpath or not Path(vpath).is_file():
        where = f" ({vpath} {not_a_file(Path(vpath))})" if vpath else ""
        unseen.note(
            f"no vectors file for the {counted(n_unseen, 'candidate')} unseen in "
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
    scored = vecs[has]
    if len(scored) > 1 and (scored == scored[0]).all():  # one score for all of them
        unseen.note(
            f"the {counted(len(scored), 'candidate')} unseen in training that have a vector "
            f"all have the same one in {vpath}: the {_shows(model)} cannot tell them apart, so "
            "each user gives them one score and their order among themselves is arbitrary",
            unseen_pos[has],
        )
    return scored, unseen_pos[has]


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
        check_vector_dim(vpath, width, model, store.meta)
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
            f"warning: {vpath} holds no items, so the {counted(n_unseen, 'candidate')} unseen in "
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
            f"{counted(n_unseen, 'candidate')} unseen in training (its ids look like {theirs}; "
            f"the candidates' like {ours}), so those candidates are ranked last. Are the "
            "ids spelt the same way in both?",
            file=sys.stderr,
        )
    elif not has.all():
        from visrec.data.id_spelling import respelt, respelt_hint
        from visrec.embed.vector_source import item_vector_word

        lacking = [str(i) for i in raw[unseen_pos[~has]] if str(i) not in named]
        hint = respelt_hint(respelt(lacking, listed.ids[listed.has_image]), "it")
        n_lacking = int((~has).sum())
        unseen.note(
            f"{n_lacking:,} of {counted(n_unseen, 'candidate')} unseen in training "
            f"{_verb(n_lacking)} no {item_vector_word(_backbone(model))} in {vpath}; "
            f"{_they(n_lacking)} ranked last",
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
            f"{n_broken:,} of {counted(len(unseen.pos), 'candidate')} unseen in training "
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
            f"{n_far:,} of {counted(len(unseen.pos), 'candidate')} unseen in training "
            f"{_verb(n_far)} a vector far from the training items' in {vpath} (over "
            f"{OUTLIER_LENGTH:g} times their typical distance from their mean); "
            f"{model.name}'s scores for {agree(n_far, 'it', 'them')} follow the "
            f"vector's size more than {_what_it_shows(model)}",
            unseen.pos[has][far],
        )


def _backbone(model: Recommender) -> object:
    """The backbone of the vectors ``model`` was trained on (None without)."""
    meta = getattr(model, "vector_meta_", None)
    return meta.get("backbone") if isinstance(meta, dict) else None


def _shows(model: Recommender) -> str:
    """What the model's vectors describe: "pictures", "attributes", or both."""
    from visrec.embed.vector_source import what_vectors_show

    return what_vectors_show(_backbone(model))


def _what_it_shows(model: Recommender) -> str:
    shows = _shows(model)
    return "the picture" if shows == "pictures" else f"its {shows}"


def _verb(n: int) -> str:
    return "has" if n == 1 else "have"


def _they(n: int) -> str:
    return "it is" if n == 1 else "they are"


def note_respelt_candidates(unseen: np.ndarray, model: Recommender, items: str | None) -> set[str]:
    """A note when candidates unseen in training are training items spelt otherwise
    (``150.0`` for ``150``): compared as written, they are new items, and a user's own
    training item could be recommended to them under its other spelling. Returns the
    candidates named (no other note names them again)."""
    from visrec.data.id_spelling import PASTED_ID, examples, respelt, shown_as

    pairs = respelt(unseen, model.item_map_.ids) if len(unseen) else []
    if pairs:
        pasted = f"; {PASTED_ID}" if any(shown_as(a, b) for a, b in pairs) else ""
        print(
            f"note: {items}: {counted(len(pairs), 'candidate')} unseen in training "
            f"{agree(len(pairs), 'may be a training item', 'may be training items')} "
            f"spelt otherwise ({examples(pairs)}); ids are compared as written, so "
            f"{agree(len(pairs), 'it is a new item', 'they are new items')} here{pasted}",
            file=sys.stderr,
        )
    return {a for a, _ in pairs}
