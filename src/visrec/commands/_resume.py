"""Resumable commands (``visrec evaluate``, ``visrec rating-eval``): where their record of
finished runs lives, one run per output at a time, ``--no-resume``, what Ctrl-C says.

The record itself (its lines, fingerprint and reuse) is :mod:`visrec.evaluation.run_record`;
this module is the command-line part the commands share: the record's path (beside
``--json OUT``, else in a cache folder of the command), the exclusive lock, starting
over, the "finished runs are kept in ...; run the same command again to resume" line,
exit status 130 on Ctrl-C, and dropping the record once the results are out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from visrec.errors import VisrecError


def record_path(
    json_out: str | None,
    interactions: str,
    key: Sequence[Any],
    folder: Path,
) -> Path | None:
    """Where finished runs are recorded: ``OUT.partial.jsonl`` next to ``--json OUT``,
    else a file in the cache ``folder`` named after the ``interactions`` file and a
    digest of ``key`` (the paths and settings; the runner checks the contents of the
    inputs too). None, with a note, when the cache folder cannot be made: the run goes
    on without a record (the table still reaches stdout). The folder of ``--json`` is
    made by the lock :func:`run_resumable` takes (``check_output_file`` tried it before),
    and a pipe, folder or device in the record's place is refused: an error now, before
    any work."""
    from visrec._atomic import check_side_file, cut_name, side_file

    if json_out:
        # its folder is made by the lock on the output (run_resumable), which removes
        # it again if the run keeps nothing there; check_output_file tried it already
        path = side_file(Path(json_out), "partial.jsonl")
        check_side_file(path, "its resume record")
        return path
    digest = hashlib.sha256(json.dumps(list(key)).encode()).hexdigest()[:16]
    # the name only helps a reader: the digest tells records apart (and a name
    # near the 255-byte limit would leave no room for it)
    path = folder / f"{cut_name(Path(interactions).name, 100)}-{digest}.jsonl"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(
            f"note: cannot make {path.parent} ({exc.strerror or exc}): finished runs are "
            "not recorded, an interrupted run would start over",
            file=sys.stderr,
        )
        return None
    check_side_file(path, "its resume record")  # a pipe there: reading it waits for ever
    return path


def start_over(record: Path) -> Path | None:
    """``--no-resume``: delete the record, unless the file there is no record (another
    file, named by mistake): that one is left as it is and nothing is recorded."""
    from visrec.evaluation.run_record import read_record

    try:
        read_record(record)
    except VisrecError:  # not a record, or unreadable: not ours to delete
        print(
            f"note: --no-resume: {record} is not a resume record, so it is left as it is; "
            "finished runs are not recorded, an interrupted run would start over",
            file=sys.stderr,
        )
        return None
    record.unlink(missing_ok=True)  # start over; this run's runs are recorded afresh
    return record


def kept_runs(record: Path | Sequence[Path] | None, resume: bool = True, unit: str = "runs") -> str:
    """How to resume after a failure, when ``record`` (or any of several, as the demo's
    one per protocol) holds finished runs ("" when none does: empty, not a record at
    all, which the runner refused before any fit, or no regular file, which reading
    could wait on for ever); ``resume`` False (this run had ``--no-resume``): the same
    command would start over. ``unit`` names what a record's line holds ("runs";
    rating-eval's are "seeds")."""
    from visrec._atomic import not_regular
    from visrec.evaluation.run_record import read_record

    records = [] if record is None else [record] if isinstance(record, Path) else record
    kept = []
    for path in records:
        if not_regular(path) is not None:  # a pipe: reading it waits for ever
            continue
        try:
            if read_record(path):
                kept.append(str(path))
        except VisrecError:
            continue
    if not kept:
        return ""
    again = "the same command" if resume else "the command without --no-resume"
    return f"finished {unit} are kept in {' and '.join(kept)}; run {again} again to resume"


def run_resumable(
    what: str,
    json_out: str | None,
    record: Path | None,
    resume: bool,
    body: Callable[[Path | None], None],
    unit: str = "runs",
    report: str | None = None,
) -> int:
    """Run ``body(record)`` holding the output (``--json OUT``, else the record) for
    one writer (``what`` names the command in the other writer's error), after
    ``--no-resume`` (``resume`` False) started over. Ctrl-C prints where the finished
    runs are kept, or that ``json_out`` was written (and ``report`` not yet), and
    returns 130; any other failure says so too, and is raised. ``unit`` names the runs
    in those lines (as :func:`kept_runs`)."""
    from visrec._atomic import exclusive_lock

    # one run per result (or, without --json, per resume record): two would append
    # to one record and drop it under each other
    held = Path(json_out) if json_out else record
    with contextlib.ExitStack() as stack:
        if held is not None:
            # the record of a run without --json is no output its user chose
            advice = "give another output" if json_out else "give --json OUT (its own record)"
            stack.enter_context(exclusive_lock(held, what, advice))
        if record is not None and not resume:
            record = start_over(record)
        before = file_state(json_out)
        report_before = file_state(report)
        try:
            body(record)
        except KeyboardInterrupt:
            kept = kept_runs(record, resume, unit)
            none = f"no {unit[:-1]} had finished"
            after = file_state(json_out)
            if json_out and after is not None and after != before:
                # stopped after the results were written: nothing is lost, but a
                # --report written after them may not be there
                pending = report is not None and file_state(report) in (None, report_before)
                # --no-resume would fit every run again
                again = "the same command" if resume else "the command without --no-resume"
                print(
                    f"interrupted: the results were written to {json_out}"
                    + (
                        f", not yet the report {report}; run {again} again to write it "
                        "(the finished runs are reused)"
                        if pending
                        else ""
                    ),
                    file=sys.stderr,
                )
            elif json_out and after is not None:
                # an earlier run's results, which this one may have been reusing
                tail = kept or f"no new {unit[:-1]} had finished"
                print(f"interrupted: {json_out} is as it was; {tail}", file=sys.stderr)
            else:
                print(f"interrupted: {kept or none}", file=sys.stderr)
            return 130
        except Exception:  # a fit, or writing the files, failed
            kept = kept_runs(record, resume, unit)
            if kept:
                print(kept, file=sys.stderr)
            raise
    return 0


def file_state(path: str | None) -> tuple[int, int, int, int] | None:
    """:func:`visrec._atomic.file_version` of an optional output (None for no path)."""
    from visrec._atomic import file_version

    return file_version(path) if path else None


def drop_when_read(
    record: Path | None,
    keys: Collection[tuple[int, str]],
    resume: bool = True,
    unit: str = "runs",
) -> None:
    """Without ``--json``, after the table (the only copy of the results) was printed:
    drop this run's ``keys`` from the record once stdout was read; a closed stdout
    (``... | head``) keeps them for a rerun, and says so (``resume``, ``unit``: as in
    :func:`kept_runs`)."""
    from visrec.commands._common import stdout_closed
    from visrec.evaluation import run_record

    if record is None:
        return
    if stdout_closed():  # the table was not all read
        kept = kept_runs(record, resume, unit)
        if kept:
            print(kept, file=sys.stderr)
    else:
        run_record.forget(record, keys)
