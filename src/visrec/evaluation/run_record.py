"""The resume record of ``run_experiment``: one JSON line per finished (seed, model) run.

An interrupted ``visrec evaluate`` (Ctrl-C, a kill, a crash in the eleventh fit) keeps
what it finished: each run is appended, synced, as soon as it ends, with a fingerprint of
everything that decides its figures (content hashes of the interactions and vectors,
protocol, k, test ratio, the model's hyperparameters, the seed, the visrec code). A
re-run reuses the runs whose fingerprint matches and fits only the rest; records made
under other inputs are never reused (a note says so), and damaged ones are dropped.

The results JSON of a complete run holds its runs the same way (:func:`results_section`,
under ``"resume"``): asked again for more seeds or models with the same ``--json``, a
command fits only the runs that file does not hold (:func:`earlier_runs`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visrec._atomic import make_folders, remove_empty, write_text_atomic
from visrec._revision import code_revision, library_versions
from visrec.data.interactions import ITEM, RATING, TIMESTAMP, USER
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError, agree, counted, read_error, write_error


def _digest(*parts: bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))  # no two part lists hash alike
        h.update(part)
    return h.hexdigest()


def _frame_digest(frame: pd.DataFrame) -> str:
    # Only the columns the protocols read: an Amazon review frame also holds lists of
    # photo URLs, which cannot be hashed and decide nothing. hash_pandas_object is
    # vectorised: about a second per 10M rows, nothing next to the fits a resume saves.
    frame = frame[[c for c in (USER, ITEM, RATING, TIMESTAMP) if c in frame.columns]]
    cols = json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode()
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return _digest(cols, rows.tobytes())


def _vectors_digest(iv: ItemVectors) -> str:
    ids = pd.util.hash_pandas_object(pd.Series(iv.ids, dtype=str), index=False).to_numpy()
    vecs = np.ascontiguousarray(iv.vectors)
    return _digest(
        ids.tobytes(), str(vecs.dtype).encode(), str(vecs.shape).encode(), vecs.tobytes(),
        np.asarray(iv.has_image, dtype=bool).tobytes(),
    )  # fmt: skip


def fingerprint(
    frame: pd.DataFrame,
    item_vectors: ItemVectors | None,
    protocol: str,
    k: int,
    test_ratio: float,
    exclude: pd.DataFrame | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """What every run of one experiment shares; a record made under another one is
    not reused (:func:`open_record`'s ``ignored`` names what some runs do not depend
    on). ``batch_size`` is left out: the figures do not depend on it, nor does a
    ``time`` split on ``test_ratio`` (each user's last interaction is held out).
    ``device``: where a model left on its default device fits (a GPU's figures differ
    from a CPU's in the last digits); None, when no model is, leaves it out."""
    fp = {
        "visrec": code_revision(),  # the same code, not only the same version number
        # a seed fitted under another torch or numpy draws and rounds otherwise: a run
        # resumed after an upgrade would mix the two in one table
        "libraries": library_versions(),
        **({} if device is None else {"device": device}),
        "interactions": _frame_digest(frame),
        "vectors": None if item_vectors is None else _vectors_digest(item_vectors),
        "protocol": protocol,
        "k": int(k),
        "test_ratio": None if protocol == "time" else float(test_ratio),
    }
    if exclude is not None and len(exclude):  # absent otherwise: older records still match
        fp["excluded"] = _frame_digest(exclude)
    return fp


def _as_compared(fp: dict[str, Any]) -> dict[str, Any]:
    """A recorded fingerprint as :func:`fingerprint` makes it today: a time record made
    before its ``test_ratio`` was left out (None) holds the ratio it was run with."""
    return {**fp, "test_ratio": None} if fp.get("protocol") == "time" else fp


def json_params(params: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters as they read back from JSON (tuples become lists), so that a
    recorded set compares equal to the same set made again."""
    out: dict[str, Any] = json.loads(json.dumps(params, default=repr, sort_keys=True))
    return out


_RECORD_KEYS = frozenset({"fp", "seed", "model", "params", "split", "row"})


def _is_record(rec: Any) -> bool:
    return (
        isinstance(rec, dict)
        and set(rec) >= _RECORD_KEYS
        and isinstance(rec["seed"], int)
        and not isinstance(rec["seed"], bool)  # true is no seed, though it equals 1
        and isinstance(rec["model"], str)
        and all(isinstance(rec[n], dict) for n in ("fp", "params", "split", "row"))
    )


def has_numbers(fields: Any, names: Iterable[str], *, whole: bool = False) -> bool:
    """Whether the dict ``fields`` holds a number (``whole``: an integer) under each of
    ``names``; for the ``usable`` checks of :func:`open_record` (JSON true is no number)."""
    kinds = (int,) if whole else (int, float)
    return isinstance(fields, dict) and all(
        isinstance(fields.get(n), kinds) and not isinstance(fields.get(n), bool) for n in names
    )


def read_record(path: Path, note: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """The complete records in ``path``; a torn last line (a kill during the append)
    and unreadable lines are skipped, a missing file is empty. A line whose ``digest``
    does not match it, or that has none (a digit changed on disk or by hand, the digest
    deleted with it), is skipped too, said through ``note``: its run is fitted again
    rather than its figures reused as they read.

    Raises
    ------
    VisrecError
        ``path`` cannot be read, or it has complete lines and none is a record (another
        file, e.g. the JSON report, named by mistake: it is left alone, not rewritten).
    """
    out, altered = _read_lines(path)
    if altered and note is not None:
        note(
            f"{path}: {counted(len(altered), 'line')} "
            f"{agree(len(altered), 'does not match its', 'do not match their')} digest "
            f"(changed after {agree(len(altered), 'it was', 'they were')} written): "
            f"{agree(len(altered), 'its', 'their')} runs are fitted again"
        )
    return out


def _read_lines(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """:func:`read_record`'s records, and the records whose digest does not match
    (``open_record`` tells which of their runs this call fits again)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise read_error(
            f"cannot read the resume record {path}: {exc.strerror or exc}", exc
        ) from exc
    out = []
    altered = []
    lines = [line for line in data.split(b"\n")[:-1] if line.strip()]  # after the last \n: torn
    for line in lines:
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested past Python's limit
            continue
        if not _is_record(rec):
            continue
        # none: also changed (a record of an older visrec is set aside by its
        # fingerprint's code revision before its figures would be read)
        if rec.pop("digest", None) != _line_digest(rec):
            altered.append(rec)
            continue
        out.append(_from_json_safe(rec))
    if lines and not out and not altered:
        raise VisrecError(
            f"{path}: not a resume record of visrec (no line of it is one); "
            "name another file, or delete this one to start over"
        )
    return out, altered


def append_record(path: Path, rec: dict[str, Any]) -> None:
    """One finished run, as one line: written and synced before the next fit starts,
    so a kill loses at most the run in progress (and leaves at worst a torn line).

    Raises
    ------
    OSError
        The line cannot be written (a full or read-only disk); a record file that the
        failure left empty is removed first, so no 0-byte file stays behind.
    """
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(_line(rec))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        with contextlib.suppress(OSError):
            if path.stat().st_size == 0:  # created by this open: it held nothing before
                path.unlink()
        raise


class Recorder:
    """Appends finished runs made under ``fp`` to the record ``path`` until an append
    fails (a full or read-only disk): then one note, and the rest of the run goes
    unrecorded. The record is a safety net; the results are what was asked for, so the
    fits go on without it. ``what`` names the runs in the note ("runs", "seeds")."""

    def __init__(
        self, path: Path, fp: dict[str, Any], note: Callable[[str], None], what: str = "runs"
    ) -> None:
        self.path, self.fp, self.note, self.what = path, fp, note, what
        self.recording = True

    def add(
        self, seed: int, model: str, params: dict[str, Any], split: dict[str, Any], row: Any
    ) -> None:
        if not self.recording:
            return
        rec = {"fp": self.fp, "seed": seed, "model": model, "params": params,
               "split": split, "row": row}  # fmt: skip
        try:
            append_record(self.path, rec)
        except OSError as exc:
            self.recording = False
            self.note(
                f"note: cannot record finished {self.what} in {self.path} "
                f"({exc.strerror or exc}): the rest of this run is not recorded, an "
                "interrupted run would fit it again"
            )


@dataclass(frozen=True)
class Resumed:
    """A resume record opened for one call: the runs it and the earlier results hold
    (``done``), every run's key and parameters (``plan``), the recorder of the runs to
    come (None without a record), the folders opening it made for it (``made``: the
    caller removes them again when they stay empty, :func:`visrec._atomic.remove_empty`),
    and the runs of this call, reused or fitted, as :meth:`keep` gathers them for
    :func:`results_section` (under the fingerprint ``fp``)."""

    record: Path | None = None
    done: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    plan: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    recorder: Recorder | None = None
    made: list[Path] = field(default_factory=list)
    fp: dict[str, Any] = field(default_factory=dict)
    kept: list[dict[str, Any]] = field(default_factory=list)
    #: runs of the earlier results this call does not make (other seeds or models)
    #: under the very same fingerprint: they stay in the results, for a later call
    carried: list[dict[str, Any]] = field(default_factory=list)

    def keep(self, seed: int, model: str, split: dict[str, Any], row: Any) -> None:
        """A run of this call: recorded (when fitted now; one in ``done`` is as it was)
        and kept for the results' ``"resume"`` section."""
        if (seed, model) in self.done:
            rec = self.done[(seed, model)]
        else:
            rec = {"seed": seed, "model": model, "params": self.plan[(seed, model)],
                   "split": split, "row": row}  # fmt: skip
            if self.recorder is not None:
                self.recorder.add(seed, model, rec["params"], split, row)
        self.kept.append({n: rec[n] for n in ("seed", "model", "params", "split", "row")})


def open_record(
    path: Path | None,
    fp: dict[str, Any],
    plan: dict[tuple[int, str], dict[str, Any]],
    note: Callable[[str], None],
    metrics: Sequence[str] = (),
    what: str = "runs",
    usable: Callable[[dict[str, Any]], bool] | None = None,
    earlier: Path | None = None,
    ignored: Mapping[tuple[int, str], Collection[str]] | None = None,
) -> Resumed:
    """The recorded runs of ``plan`` (``(seed, model) -> params``) made under ``fp``,
    each with every one of ``metrics`` (a run recorded before a metric was added would
    leave it out of some seeds' means), with the "resuming: N of M runs already done"
    note and the :class:`Recorder` of the runs still to come. ``what`` names a record's
    lines in the notes ("runs"; rating-eval's are "seeds"). ``usable`` checks the fields
    the caller reads from a record (a line edited by hand or damaged on disk may lack
    one, or hold text where a number belongs): a run it refuses is fitted again, with a
    note, and dropped from the file.

    Records of other inputs or settings are not used, with a one-line note naming what
    changed; they stay in the file (the command that made them may be rerun: a mistyped
    option and a Ctrl-C must not lose its finished runs) until :func:`forget` drops the
    runs of the same seeds and models once this experiment completes. The file is
    rewritten (atomically), which drops a torn last line so that the next append starts
    on a line of its own.

    ``path`` None: no record (nothing is recorded). ``earlier``: the results JSON of an
    earlier complete run (:func:`earlier_runs`); its runs of ``plan`` made under ``fp``
    are reused too, and a note says when some of them cannot be. ``ignored``: the
    entries of ``fp`` a run of ``plan`` does not depend on (the vectors, for a model
    that reads none; the device, for one that does not fit on torch's default), so that
    adding a picture model does not refit BPR.
    """
    check = _Check(fp, plan, metrics, usable, ignored or {})
    before, broken = _read_earlier(earlier, note, what)
    carried = _carried(before, broken, plan, fp, earlier, note, what)
    if path is None:
        early = _earlier_sorted(before, broken, check, set())
        _say_refits(note, what, plan, None, early, earlier, early.done)
        if early.done:
            note(f"resuming: {len(early.done)} of {len(plan)} {what} already done ({earlier})")
        return Resumed(done=early.done, plan=plan, fp=fp, carried=carried)
    records, altered = _read_lines(path)
    made: list[Path] = []
    try:  # now, not at the first append after a fit
        make_folders(path.parent, made)
    except OSError as exc:
        remove_empty(made)  # the parents made before the one that failed
        raise write_error(
            f"cannot make the folder of the resume record {path}: {exc.strerror or exc}", exc
        ) from exc
    got = _sorted(records, check)
    if records or path.exists():  # a damaged or altered run is of no use to any rerun: dropped
        dropped = {id(r) for r in got.damaged}
        _rewrite(path, [r for r in records if id(r) not in dropped])
    # the record's runs came later than the results': theirs are not looked at
    early = _earlier_sorted(before, broken, check, set(got.done))
    done = {**early.done, **got.done}
    # each run fitted again is counted once, in the first note that names it; a line or
    # entry whose run another one gives is reused, so not counted
    _say_refits(note, what, plan, (path, got, altered), early, earlier, done)
    if done:
        where = {path: len(got.done), earlier: len(early.done)}
        at = [f"{n} in {w}" for w, n in where.items() if n]
        # one source: its name alone
        at = [str(path if got.done else earlier)] if len(at) == 1 else at
        note(f"resuming: {len(done)} of {len(plan)} {what} already done ({', '.join(at)})")
    recorder = Recorder(path, fp, note, what)
    return Resumed(path, done, plan, recorder, made, fp, carried=carried)


def _say_refits(
    note: Callable[[str], None],
    what: str,
    plan: Collection[tuple[int, str]],
    record: tuple[Path, _Sorted, list[dict[str, Any]]] | None,
    early: _Sorted,
    earlier: Path | None,
    done: Collection[tuple[int, str]],
) -> None:
    """The notes on the lines of the record (its path, its lines sorted, those whose
    digest does not match) and the runs of the earlier results that are not reused,
    each counting the runs this call fits again that no note before it counted (none
    that ``done`` holds: another line or entry gives it; a line of a run not in ``plan``
    is another experiment's)."""
    told: set[tuple[int, str] | None] = {None, *done}

    def refits(keys: Iterable[tuple[int, str] | None]) -> set[tuple[int, str] | None]:
        new = set(keys) - told
        told.update(new)
        return new

    def changed(stale: dict[tuple[int, str], set[str]], keys: Collection[Any]) -> str:
        return ", ".join(sorted(set().union(*(stale[k] for k in keys)))) or "settings"

    one = what[:-1]
    if record is not None:
        path, got, altered = record
        if altered:
            n = len(refits(k for k in map(_key_of, altered) if k in plan))
            tail = agree(len(altered), "its", "their") + " runs are fitted again"
            if n < len(altered):  # some are another line's runs, or another experiment's
                tail = agree(len(altered), "it is dropped", "they are dropped") + (
                    f"; {n:,} of their {what} {agree(n, 'is', 'are')} fitted again" if n else ""
                )
            note(
                f"{path}: {counted(len(altered), 'line')} "
                f"{agree(len(altered), 'does not match its', 'do not match their')} digest "
                f"(changed after {agree(len(altered), 'it was', 'they were')} written): {tail}"
            )
        new = refits(got.stale)
        if new:
            note(
                f"resume: ignoring {counted(len(new), one)} recorded in {path} with other "
                f"inputs ({changed(got.stale, new)} changed); "
                f"{agree(len(new), 'it is', 'they are')} fitted again (and kept in the record "
                "until this run completes)"
            )
        new = refits(map(_key_of, got.damaged))
        if new:
            note(
                f"resume: {counted(len(new), one)} recorded in {path} "
                f"{agree(len(new), 'lacks a field or holds', 'lack a field or hold')} a wrong "
                "value (written by an older visrec, edited or damaged); "
                f"{agree(len(new), 'it is', 'they are')} fitted again"
            )
    new = refits(early.stale)
    if new:
        note(
            f"resume: not reusing {counted(len(new), one)} of the earlier results in "
            f"{earlier} ({changed(early.stale, new)} changed); "
            f"{agree(len(new), 'it is', 'they are')} fitted again"
        )
    new = refits(map(_key_of, early.damaged))
    if new:
        note(
            f"resume: {counted(len(new), one)} of the earlier results in {earlier} "
            f"{agree(len(new), 'lacks a field, holds', 'lack a field, hold')} a wrong value or "
            f"{agree(len(new), 'was', 'were')} edited; {agree(len(new), 'it is', 'they are')} "
            "fitted again"
        )


def _key_of(rec: Any) -> tuple[int, str] | None:
    """The ``(seed, model)`` of a record or results entry, None when it holds none."""
    if not isinstance(rec, dict):
        return None
    seed, model = rec.get("seed"), rec.get("model")
    if isinstance(seed, int) and not isinstance(seed, bool) and isinstance(model, str):
        return (seed, model)
    return None


#: fingerprint entries that only some runs depend on (``open_record``'s ``ignored``):
#: a run kept for a later call is carried whatever they hold, with its own fingerprint
_PER_RUN = ("device", "vectors")


def _shared(fp: Any) -> dict[str, Any]:
    return {n: v for n, v in fp.items() if n not in _PER_RUN} if isinstance(fp, dict) else {}


def _carried(
    before: list[dict[str, Any]],
    broken: list[Any],
    plan: dict[tuple[int, str], dict[str, Any]],
    fp: dict[str, Any],
    earlier: Path | None,
    note: Callable[[str], None],
    what: str,
) -> list[dict[str, Any]]:
    """The runs of the earlier results that this call does not make (other seeds or
    models), made under the same data and settings: they stay in the results, for a
    later call. Those made under other ones are dropped, with a note, and so are the
    ``broken`` entries (no record) of no run of ``plan``."""
    keys = [_key_of(e) for e in broken]
    lost = sum(k is not None and k not in plan for k in keys)
    if lost:
        note(
            f"resume: {lost:,} {agree(lost, 'entry', 'entries')} of the earlier results in "
            f"{earlier} {agree(lost, 'lacks a field or holds', 'lack a field or hold')} a "
            f"wrong value; {agree(lost, 'it is', 'they are')} dropped from it "
            f"({agree(lost, 'it is not', 'none is')} a {what[:-1]} this command makes)"
        )
    # no seed and model to tell: this call's own run, if it was one, is made again
    if unnamed := keys.count(None):
        note(
            f"resume: {unnamed:,} {agree(unnamed, 'entry', 'entries')} of the earlier results "
            f"in {earlier} {agree(unnamed, 'names', 'name')} no seed and model; "
            f"{agree(unnamed, 'it is', 'they are')} dropped from it"
        )
    other = [r for r in before if (r["seed"], r["model"]) not in plan]
    kept = [r for r in other if r["intact"] and _shared(r["fp"]) == _shared(fp)]
    if len(kept) < len(other):
        old = [_shared(r["fp"]) for r in other if r["intact"]]
        now = _shared(fp)
        names = sorted({n for o in old for n in {*o, *now} if o.get(n) != now.get(n)})
        why = f"{', '.join(names)} changed" if names else "damaged or edited"
        n = len(other) - len(kept)
        note(
            f"resume: {counted(n, 'other ' + what[:-1])} of the earlier results in {earlier} "
            f"{agree(n, 'is', 'are')} dropped from it ({why}): this command does not make "
            f"{agree(n, 'it', 'them')}"
        )
    return kept


def _earlier_sorted(
    before: list[dict[str, Any]],
    broken: list[Any],
    check: _Check,
    recorded: set[tuple[int, str]],
) -> _Sorted:
    """The runs of ``check.plan`` in the earlier results (their runs ``before``, and the
    ``broken`` entries that are no record) sorted by use, those of ``recorded`` (the
    resume record has them) aside: an entry edited since it was written (its digest),
    or one that is no record, is damaged. A run without a digest (results of a visrec
    before it) is stale by its code anyway."""
    open_keys = set(check.plan) - recorded
    wanted = [r for r in before if (r["seed"], r["model"]) in open_keys]
    usable = check.usable

    def intact(rec: dict[str, Any]) -> bool:
        return bool(rec["intact"]) and (usable is None or usable(rec))

    got = _sorted(wanted, dataclasses.replace(check, usable=intact))
    got.damaged += [e for e in broken if _key_of(e) in open_keys]
    return got


#: the largest results file :func:`earlier_runs` reads: ten thousand runs are ~15 MB
_EARLIER_MAX_BYTES = 64 * 2**20

#: a results JSON of visrec holds one of these keys near its start (``ExperimentResult``:
#: "protocol" first, ``RatingEvalResult``: "n_train"; a copy with sorted keys, as
#: ``jq -S`` writes it, a little later): another file is not parsed at all
_RESULTS_KEY = re.compile(rb'"(protocol|n_train)"\s*:')
_HEAD_BYTES = 16384
_BOM = b"\xef\xbb\xbf"


def results_section(resumed: Resumed) -> dict[str, Any]:
    """The ``"resume"`` section of a results JSON: the fingerprint and every run of
    ``resumed.kept`` as a record holds it, for :func:`earlier_runs` to read back. A
    NaN (an AUC no user defines) is written as the string "NaN": the file is strict
    JSON, which has no NaN. Each run carries a digest of itself and the fingerprint:
    one edited by hand (a figure changed) is fitted again, not reused as it reads."""
    fields = ("seed", "model", "params", "split", "row")
    carried = [
        # a fingerprint of its own where the run's differs (other vectors, device)
        {**{n: r[n] for n in fields}, **({} if r["fp"] == resumed.fp else {"fp": r["fp"]})}
        for r in resumed.carried
    ]
    runs = _json_safe([*resumed.kept, *carried])
    for run in runs:
        run["digest"] = _run_digest(resumed.fp, run)
    return {"fingerprint": resumed.fp, "runs": runs}


def _run_digest(fp: Any, run: dict[str, Any]) -> str:
    """A digest of ``run`` (its digest aside) and ``fp``, by value: a copy that a JSON
    tool rewrote (keys sorted, ``943.0`` written ``943``) has the same one."""
    body = {n: v for n, v in run.items() if n != "digest"}
    return _digest(json.dumps(_canon([fp, body]), sort_keys=True, default=repr).encode())


def _canon(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, dict):
        return {n: _canon(x) for n, x in v.items()}
    if isinstance(v, list):
        return [_canon(x) for x in v]
    return v


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else "Infinity" if v > 0 else "-Infinity"
    if isinstance(v, dict):
        return {n: _json_safe(x) for n, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_safe(x) for x in v]
    return v


def _from_json_safe(v: Any) -> Any:
    if isinstance(v, str) and v in _NON_FINITE:
        return _NON_FINITE[v]
    if isinstance(v, dict):
        return {n: _from_json_safe(x) for n, x in v.items()}
    if isinstance(v, list):
        return [_from_json_safe(x) for x in v]
    return v


def earlier_runs(path: Path | None) -> list[dict[str, Any]]:
    """The runs in the ``"resume"`` section of the results JSON at ``path``, as records
    (each with the section's fingerprint, and ``intact``: whether its digest still
    matches); empty when there is none: no file, another file (it is about to be
    replaced, so it is not refused: one without visrec's keys near its start is not
    even parsed), or results written by a visrec that did not keep the section."""
    return _read_earlier(path, None)[0]


#: the command whose results a JSON holds, by what its records are called (``what``)
#: and the key only that command's results have at the top
_COMMANDS = {"runs": ("evaluate", "summary"), "seeds": ("rating-eval", "n_train")}


def _read_earlier(
    path: Path | None, note: Callable[[str], None] | None, what: str = "runs"
) -> tuple[list[dict[str, Any]], list[Any]]:
    """:func:`earlier_runs`, and the entries that are no record (for ``open_record`` to
    tell whether their runs are fitted again); ``note`` hears of visrec results that hold
    no runs to reuse (written before visrec kept them) or cannot be read past their head
    (JSON broken by an edit, an I/O error), which are fitted again without a word
    otherwise."""
    if path is None:
        return [], []
    results = False  # whether the file is visrec's results (its head tells)
    try:
        if not path.is_file():
            return [], []
        if path.stat().st_size > _EARLIER_MAX_BYTES:
            if note is not None:
                note(
                    f"resume: {path} is over {_EARLIER_MAX_BYTES // 2**20} MB, so it is not "
                    "read: every run is fitted (and its runs kept for other calls are lost)"
                )
            return [], []
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES).removeprefix(_BOM)
            if not (head.lstrip().startswith(b"{") and _RESULTS_KEY.search(head)):
                return [], []
            results = True
            fh.seek(0)
            data = json.loads(fh.read().removeprefix(_BOM))
        # the results of the other command (evaluate's and rating-eval's JSON both keep
        # runs): none is a run of this one, and comparing its fingerprint with this
        # one's named inputs as changed that were not
        keys = data if isinstance(data, dict) else {}
        other = [cmd for w, (cmd, key) in _COMMANDS.items() if w != what and key in keys]
        if what in _COMMANDS and other:
            if note is not None:
                note(
                    f"resume: {path} holds a result of `visrec {other[0]} --json`, not of "
                    f"`visrec {_COMMANDS[what][0]}`: none of it is reused, and it is replaced"
                )
            return [], []
        section = data.get("resume") if isinstance(data, dict) else None
        if not isinstance(section, dict) or not isinstance(section.get("runs"), list):
            if note is not None and isinstance(data, dict) and "runs" in data:
                note(
                    f"resume: {path} holds results without the runs to reuse (written by "
                    "a visrec before it kept them): every run is fitted"
                )
            return [], []
        fp = section.get("fingerprint")
        raw = section["runs"]
        recs = [
            # a run carried from another call may hold its own fingerprint
            {**_from_json_safe(r), "fp": r.get("fp", fp),
             "intact": r.get("digest") == _run_digest(fp, r)}
            for r in raw
            if isinstance(r, dict)
        ]  # fmt: skip
    except (OSError, ValueError, RecursionError) as exc:  # nested past Python's limit too
        # results of visrec (its head says so) edited into bad JSON, or cut off by a failed
        # read: replaced at the end, so the runs of other seeds or models it holds would
        # go without a word
        if note is not None and results:
            why = exc.strerror or exc if isinstance(exc, OSError) else exc
            if isinstance(exc, RecursionError):
                why = "nested too deeply"
            note(
                f"resume: cannot read the earlier results in {path} ({why}): none of its runs "
                "is reused, and the runs it holds of other seeds or models are lost when it is "
                "replaced (stop now and repair it to keep them)"
            )
        return [], []
    good = [r for r in recs if _is_record(r)]
    broken = [r for r in recs if not _is_record(r)] + [r for r in raw if not isinstance(r, dict)]
    return good, broken


@dataclass
class _Sorted:
    """A record's lines of the plan by use: ``done`` (reusable, by key), ``damaged``,
    and the keys of the ``stale`` ones with the names of what changed (a key another
    line gives is reused: :func:`_say_refits` does not count it)."""

    done: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    damaged: list[dict[str, Any]] = field(default_factory=list)
    stale: dict[tuple[int, str], set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Check:
    """What a recorded run must match to be reused (the arguments of :func:`open_record`)."""

    fp: dict[str, Any]
    plan: dict[tuple[int, str], dict[str, Any]]
    metrics: Sequence[str]
    usable: Callable[[dict[str, Any]], bool] | None
    ignored: Mapping[tuple[int, str], Collection[str]]


def _sorted(records: list[dict[str, Any]], check: _Check) -> _Sorted:
    """``records`` sorted as :func:`open_record` uses them."""
    got = _Sorted()
    plan, metrics, usable = check.plan, check.metrics, check.usable
    for rec in records:
        key = (rec["seed"], rec["model"])
        if key not in plan:  # another experiment's run: neither used nor fitted, kept
            continue
        old = _as_compared(rec["fp"]) if isinstance(rec["fp"], dict) else {}
        skip = check.ignored.get(key, ())
        fp = {n: v for n, v in check.fp.items() if n not in skip}
        old = {n: v for n, v in old.items() if n not in skip}
        if old != fp:
            # between time and another protocol, the ratio is not what changed
            timed = "time" in (old.get("protocol"), fp.get("protocol"))
            names = {n for n in fp if old.get(n) != fp[n] and not (timed and n == "test_ratio")}
            got.stale.setdefault(key, set()).update(names)
        elif rec["params"] != plan[key]:
            got.stale.setdefault(key, set()).add(f"{rec['model']} parameters")
        elif any(m not in rec["row"] for m in metrics):
            got.stale.setdefault(key, set()).add("metrics")
        elif usable is not None and not usable(rec):
            got.damaged.append(rec)
        else:
            got.done[key] = rec
    return got


def forget(path: str | os.PathLike[str], plan: Collection[tuple[int, str]]) -> None:
    """Drop the runs of ``plan`` (the ``(seed, model)`` keys of a completed experiment)
    from the record; the runs of other models or seeds stay for their own resume, and a
    record left empty is removed. A record that cannot be rewritten (a full or
    read-only disk) is left as it is: its runs are finished ones, and a rerun with the
    same inputs reuses them, so failing the experiment over it would lose more; so is
    one the system no longer lets it read (a ``ReadError``)."""
    # the docs' call from a notebook passes the str given as run_experiment's resume
    record = Path(path)
    with contextlib.suppress(OSError):
        kept = [r for r in read_record(record) if (r["seed"], r["model"]) not in plan]
        _rewrite(record, kept)


def _line(rec: dict[str, Any]) -> str:
    # strict JSON, as the results file (NaN as "NaN"): the record may outlive the run;
    # the digest of the line as it reads back, so that a changed figure is found
    body = json.loads(json.dumps(_json_safe(rec), default=repr))
    body.pop("digest", None)
    return json.dumps({**body, "digest": _line_digest(body)}) + "\n"


def _line_digest(body: dict[str, Any]) -> str:
    """A digest of a record line's fields (its digest aside), by value, as ``_run_digest``."""
    return _digest(json.dumps(_canon(body), sort_keys=True, default=repr).encode())


def _rewrite(path: Path, records: list[dict[str, Any]]) -> None:
    """``path`` holding exactly ``records`` (atomically), or gone when there are none."""
    if records:
        write_text_atomic(path, "".join(_line(r) for r in records))
    else:
        path.unlink(missing_ok=True)
