"""``visrec recommend``'s resume: the rows written so far, and how far they reach.

Ranking every candidate for every user is long at shop scale (800,000 users x 250,000
items: about 35 minutes). The rows go to ``OUT.partial`` beside ``-o OUT``; after a
block of users, at most every :data:`SAVE_EVERY_S` seconds, the file is synced and
``OUT.partial.json`` records a fingerprint of the inputs, the users done and the bytes
that hold their rows (with their SHA-256). The same command again (same model,
candidates, vectors, users and options) checks those bytes, cuts the file back to them
and goes on with the next block: blocks end where an uninterrupted run's end, so the
output is the same byte for byte. Once every row is in, the file is renamed to ``OUT``
and the record removed. Resuming needs the output's lock (one writer per output); a run
that cannot have it writes a temporary file of its own (:func:`private`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from visrec._atomic import (
    check_side_file,
    content_stamp,
    keep_mode,
    new_temp_file,
    side_file,
    sweep_temp_files,
    sync_path,
    write_text_atomic,
)
from visrec._revision import code_revision
from visrec.errors import VisrecError, agree, read_error

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from visrec.models.base import Recommender
    from visrec.models.candidates import CandidateSet

#: the most seconds of finished blocks a kill can cost (each save syncs the file)
SAVE_EVERY_S = 5.0

HEADER = "user_id,item_id,rank,score\n"

_ROWS_TAIL = "partial"
_STATE_TAIL = "partial.json"
_FORMAT = 1


def check_side_files(target: Path) -> None:
    """Refuse a pipe, folder, device or symlink where the rows or the record of output
    ``target`` go, before any work (:func:`visrec._atomic.check_side_file`): the rows are
    written in place and renamed, so through a link they would overwrite the file it
    names, and the link itself would become the output."""
    for tail, keeps in ((_ROWS_TAIL, "the rows of an interrupted run"),
                        (_STATE_TAIL, "its resume record")):  # fmt: skip
        path = side_file(target, tail)
        if os.path.islink(path):
            raise VisrecError(
                f"{path} is a symlink: remove it, visrec keeps {keeps} there (and would "
                "write through the link)"
            )
        check_side_file(path, keeps)


def side_files(target: Path) -> tuple[Path, Path]:
    """The partial rows file and the resume record of output ``target``."""
    return side_file(target, _ROWS_TAIL), side_file(target, _STATE_TAIL)


def model_key(model_dir: str) -> str:
    """The saved model in ``model_dir`` as it is now: its ``model.json`` (which a save's
    token makes unique) and its arrays' :func:`~visrec._atomic.content_stamp`. Read
    before and after the load (:func:`load_keyed`), so it is the key of the model that
    was loaded."""
    from visrec.models.model_folder import ARRAYS_NPZ, MODEL_JSON

    folder = Path(model_dir)
    h = hashlib.sha256()
    stamp = content_stamp(folder / ARRAYS_NPZ)
    try:
        h.update((folder / MODEL_JSON).read_bytes())
    except OSError:
        stamp = None
    # gone or swapped: a key that matches no record
    h.update(stamp.encode() if stamp is not None else os.urandom(16))
    return h.hexdigest()[:32]


def load_keyed(model_dir: str) -> tuple[Recommender, str]:
    """``Recommender.load(model_dir)`` and the :func:`model_key` of the model it read. A
    ``visrec train`` that swaps a new model in during the load changes the key: loaded
    again (a resume record keyed by the new model would take the old one's rows)."""
    from visrec.models.base import Recommender  # numpy, torch: not at import time

    for _ in range(3):
        before = model_key(model_dir)
        model = Recommender.load(model_dir)
        if model_key(model_dir) == before:
            return model, before
    return model, os.urandom(16).hex()  # swapped on every try: nothing is resumed


def fingerprint(
    model: str,
    cands: CandidateSet,
    users: np.ndarray | None,
    newcomers: list[str],
    options: dict[str, Any],
) -> dict[str, Any]:
    """What decides the rows: the saved model (its :func:`model_key`, taken around its
    load), the candidates in their ranking order with the vectors of the unseen ones,
    the users and the new users, and ``options`` (``--n``, ``--new-slots``,
    ``--batch-users``: the blocks)."""
    import numpy as np

    h = hashlib.sha256()
    h.update("\0".join(map(str, cands.raw_ids)).encode("utf-8", "surrogatepass"))
    for arr in (cands.known_idx, cands.new_pos, cands.new_vectors):
        h.update(b"-" if arr is None else np.ascontiguousarray(arr).tobytes())
    candidates = h.hexdigest()[:32]
    h = hashlib.sha256()
    h.update(b"all" if users is None else np.ascontiguousarray(users, dtype=np.int64).tobytes())
    h.update("\0".join(newcomers).encode("utf-8", "surrogatepass"))
    return {
        "visrec": code_revision(),
        "model": model,
        "candidates": candidates,
        "users": h.hexdigest()[:32],
        **options,
    }


@dataclass
class Progress:
    """The partial output of one run: its files, fingerprint, and how far it reaches
    (``users_done`` of the users in order, their rows in the first ``offset`` bytes,
    whose SHA-256 is ``digest``; ``counts`` of the closing line)."""

    rows: Path
    state: Path
    fp: dict[str, Any]
    users_done: int = 0
    offset: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    digest: Any = field(default_factory=hashlib.sha256)  # of the rows up to ``offset``
    saved_at: float = field(default_factory=time.monotonic)
    finished: bool = False  # renamed onto the output
    resumable: bool = True  # False: rows in a file of its own, nothing recorded

    def open(self) -> TextIO:
        """The rows file, cut back to the recorded bytes (a fresh one holds the header)."""
        if self.users_done:
            os.truncate(self.rows, self.offset)
        else:
            self.rows.write_text(HEADER, encoding="utf-8")
        return open(self.rows, "a", encoding="utf-8", newline="")

    def block_done(self, fh: TextIO, users_done: int, counts: dict[str, int]) -> None:
        """After a block: record its end when :data:`SAVE_EVERY_S` passed since the last
        record (the rows synced first, so the record never claims more than is on disk)."""
        if not self.resumable or time.monotonic() - self.saved_at < SAVE_EVERY_S:
            return
        fh.flush()
        os.fsync(fh.fileno())
        # the size, not tell(): a text file's tell() is an opaque cookie
        offset = os.fstat(fh.fileno()).st_size
        digest = self.digest.copy()
        _hash_bytes(digest, self.rows, self.offset, offset)  # what was appended since
        state = {
            "format": _FORMAT,
            "fp": self.fp,
            "users_done": users_done,
            "offset": offset,
            "sha256": digest.hexdigest(),
            "counts": dict(counts),
        }
        write_text_atomic(self.state, json.dumps(state))
        # only once it is on disk: a failed write leaves the last record's figures
        self.users_done, self.offset, self.digest = users_done, offset, digest
        self.counts = dict(counts)
        self.saved_at = time.monotonic()

    def finish(self, target: Path) -> None:
        """The rows file becomes ``target``; the record goes. As :func:`atomic_path`
        writes: the rows synced before the rename (those after the last record were
        not), the folder after it, and the permissions of the file replaced kept."""
        sync_path(self.rows)
        keep_mode(target, self.rows)
        os.replace(self.rows, target)
        self.finished = True  # a Ctrl-C from here on finds the output whole
        sync_path(target.parent)
        self.forget()

    def forget(self) -> None:
        """Remove the record (the rows it described are the output now)."""
        if self.resumable:  # else the record there is another run's
            with contextlib.suppress(OSError):
                self.state.unlink()

    def drop_unrecorded(self) -> None:
        """After a failure: remove the rows file when no record describes it (nothing
        there to resume from: no half-written file stays behind)."""
        if not self.finished and (not self.resumable or not self.state.exists()):
            with contextlib.suppress(OSError):
                self.rows.unlink()

    def kept(self, n_users: int, resume: bool = True) -> str:
        """Where an interrupted or failed run left its rows ("" when none were recorded);
        ``resume`` False (this run had ``--no-resume``): the same command would start over."""
        if not self.resumable or self.finished or not self.users_done or not self.state.exists():
            return ""
        again = "the same command" if resume else "the command without --no-resume"
        return (
            f"{self.users_done:,} of {n_users:,} users' lists "
            f"{agree(self.users_done, 'is', 'are')} kept in {self.rows}; run "
            f"{again} again to resume"
        )


def _hash_bytes(digest: Any, path: Path, start: int, stop: int) -> None:
    """Feed bytes ``start:stop`` of ``path`` to ``digest``, a MiB at a time."""
    with open(path, "rb") as fh:
        fh.seek(start)
        left = stop - start
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                raise OSError(f"{path} ended {left} bytes early")
            digest.update(chunk)
            left -= len(chunk)


def private(target: Path, fp: dict[str, Any]) -> Progress:
    """The :class:`Progress` of a run that cannot hold output ``target`` for itself (no
    lock can be had: Windows, a filesystem without locks): its rows go to a temporary
    file of its own, as before resuming existed, and nothing is recorded (a second run
    on the same output would otherwise write into the same partial file)."""
    rows = new_temp_file(target)
    return Progress(rows, side_file(target, _STATE_TAIL), fp, resumable=False)


def start(
    target: Path, fp: dict[str, Any], n_users: int, resume: bool, note: Callable[[str], None]
) -> Progress:
    """The :class:`Progress` of output ``target`` (lists for ``n_users`` users): an
    earlier run's, when ``resume`` and it was made with the same inputs (``fp``) and its
    rows are as recorded, else a fresh one (with a note saying why an earlier run's is
    not used).

    Raises
    ------
    VisrecError
        A pipe, folder, device or symlink is where the rows or the record would go.
    """
    check_side_files(target)  # again: one may have come since run() checked
    sweep_temp_files(target)  # a killed lock-less run's file (see private), once stale
    rows, state = side_files(target)
    # a record's write killed (kill -9) before its rename: only the holder of the
    # output's lock, as this run is, writes records, so none is in use
    sweep_temp_files(state, max_age=0)
    fresh = Progress(rows, state, fp)
    if not state.exists():
        _unrecorded_rows(rows, note)
        return fresh
    if not resume:
        state.unlink()
        return fresh
    digest = hashlib.sha256()
    rec, why = _recorded(rows, state, fp, n_users, digest)
    if why:
        note(f"resume: {why}; starting over")
        state.unlink()
        return fresh
    done = Progress(rows, state, fp, rec["users_done"], rec["offset"], rec["counts"], digest)
    done_said = "1 user's list" if rec["users_done"] == 1 else f"{rec['users_done']:,} users' lists"
    note(f"resuming: {done_said} already written ({rows})")
    return done


def _unrecorded_rows(rows: Path, note: Callable[[str], None]) -> None:
    """A rows file with no record: a run's killed before its first record (said, then
    written over), or a file visrec did not write, refused (evaluate refuses such a side
    file too) rather than silently replaced."""
    try:
        with open(rows, "rb") as fh:
            head = fh.read(len(HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise read_error(f"{rows}: cannot be read ({exc.strerror or exc})", exc) from exc
    if head in (HEADER.encode(), b""):  # b"": killed between creating and writing it
        note(
            f"resume: {rows} has no resume record (its run stopped before the first); starting over"
        )
        return
    raise VisrecError(
        f"{rows}: not the rows of a visrec recommend run (no resume record, and it does not "
        f"start with the header {HEADER.strip()}); name another -o, or delete this file"
    )


def _recorded(
    rows: Path, state: Path, fp: dict[str, Any], n_users: int, digest: Any
) -> tuple[dict[str, Any], str]:
    """The record ``state`` and why it cannot resume into ``rows`` ("" when it can:
    ``digest`` then holds the recorded bytes, which it checked)."""
    try:
        rec = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}, f"{state} cannot be read"
    return rec, _unusable(rec, rows, state, fp, n_users, digest)


def _unusable(
    rec: Any, rows: Path, state: Path, fp: dict[str, Any], n_users: int, digest: Any
) -> str:
    """Why the parsed record ``rec`` cannot resume into ``rows`` ("" when it can)."""
    counts = rec.get("counts") if isinstance(rec, dict) else None
    fields = (rec.get("users_done"), rec.get("offset")) if isinstance(rec, dict) else ()
    if (
        not isinstance(rec, dict)
        or rec.get("format") != _FORMAT
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in fields)
        or not isinstance(rec.get("sha256"), str)
        or not isinstance(counts, dict)
        or set(counts) != {"n_rows", "n_empty", "n_short"}
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values())
    ):
        return f"{state} is damaged"
    if rec.get("fp") != fp:
        old = rec["fp"] if isinstance(rec.get("fp"), dict) else {}
        changed = sorted(n for n in fp if old.get(n) != fp[n])
        return f"{rows} was written with other inputs ({', '.join(changed) or 'settings'} changed)"
    try:
        size = os.stat(rows).st_size
    except OSError:
        return f"{rows}, which {state} describes, is gone"
    if size < rec["offset"]:
        return f"{rows} is shorter than {state} records"
    if rec["users_done"] > n_users:
        return f"{state} records more users than there are ({rec['users_done']:,} of {n_users:,})"
    try:
        _hash_bytes(digest, rows, 0, rec["offset"])
    except OSError as exc:
        return f"{rows} cannot be read ({exc})"
    if digest.hexdigest() != rec["sha256"]:
        return f"{rows} was changed after {state} recorded it"
    return ""
