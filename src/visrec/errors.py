"""Errors that the CLI turns into a one-line message instead of a traceback."""

import errno
import os
import re
from collections.abc import Iterable
from typing import Any, TypeVar


class VisrecError(Exception):
    """A problem with the user's input or environment, stated in words.

    The message names the bad file/line/id and what was expected; the CLI prints it
    as ``error: <message>`` and exits with ``exit_status`` (2).
    """

    exit_status: int = 2


class SystemRefusal(VisrecError):
    """The system refused what a read needs but no file call failed (no threads to read
    with): one line like any ``VisrecError``, exit status 1. A file the system would not
    let visrec read is a :class:`ReadError`, one it would not let it write a
    :class:`WriteError`."""

    exit_status = 1


class BusyError(VisrecError):
    """The output is being written by another visrec run now (its lock is held): exit
    status 75, ``EX_TEMPFAIL`` of sysexits.h (try again later), so that a scheduler
    retries it, where 2 (bad input) says the same command will fail again."""

    exit_status = 75


class InputNotFoundError(VisrecError, FileNotFoundError):
    """An input file or folder that does not exist: a ``VisrecError`` like every other
    bad input (one ``except`` catches them all) and a ``FileNotFoundError`` (errno
    ENOENT, ``filename``) as code that caught that one expects."""

    def __init__(self, path: object, message: str | None = None) -> None:
        super().__init__(errno.ENOENT, "No such file or directory", str(path))
        # the message a caller words itself ("vectors file 'v.parquet' does not exist")
        self.message = message

    def __str__(self) -> str:
        return self.message or f"{self.filename}: no such file or directory"

    def __reduce__(self) -> tuple[type, tuple[object], dict[str, Any] | None]:
        # pickled (a worker process's error) as its path: OSError's own would call
        # __init__ with (errno, text); the instance's attributes (add_note's) kept
        return (type(self), (self.filename,), self.__dict__ or None)


class InvalidParameterError(VisrecError, ValueError):
    """A hyperparameter an estimator does not have (``set_params``) or a value it does
    not take (checked in ``fit``): a ValueError, like scikit-learn's."""


class ArgumentTypeError(VisrecError, TypeError):
    """An argument of the wrong kind (a list where a DataFrame is expected): a
    TypeError, as Python's own would be, naming the argument; the CLI says it in one
    line like any ``VisrecError``."""


class MixedSavesError(VisrecError):
    """A model folder whose ``model.json`` and ``arrays.npz`` come from two saves: an
    interrupted save, a file copied in, or a save still between its two renames, which
    ``Recommender.load`` waits a moment for (a service that saves over and over while
    it loads may still meet it: load again)."""


class NotFittedError(VisrecError, ValueError, AttributeError):
    """An estimator method was called before ``fit`` (a ValueError and an
    AttributeError, like scikit-learn's ``NotFittedError``)."""


class TooLittleDataError(VisrecError):
    """The interactions as a whole lack what a measure needs (too few ratings, one rating
    value, no test user, no time for a time split): no row is at fault, so the message
    names none; the CLI puts the file's path before it, which the library function does
    not know (``commands._common.interactions_named``)."""


#: errnos that mean the system refused (not a wrong path or name): exit status 1
_REFUSALS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EFBIG,
        errno.EIO,
        errno.ENOMEM,
        errno.EMFILE,
        errno.ENFILE,
    }
)


class _FailedCall(VisrecError, OSError):
    """A failed system call, a ``VisrecError`` and an ``OSError``: the base of
    :class:`WriteError` and :class:`ReadError`, which say the rest."""

    def __init__(
        self,
        message: str,
        err: int | None = None,
        strerror: str | None = None,
        filename: object = None,
        filename2: object = None,
    ) -> None:
        if err is None and strerror is None and filename is None and filename2 is None:
            super().__init__(message)  # said in words only: args and repr hold them
        else:  # OSError's five arguments (the fourth is Windows' error code); pyarrow's
            # OSError gives the number in its text only: its words from the number
            if strerror is None and err is not None:
                strerror = os.strerror(err)
            super().__init__(err, strerror, filename, None, filename2)
        self.message = message
        self.exit_status = failed_call_status(err)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type, tuple[object, ...], dict[str, Any]]:
        # OSError's own would call __init__ with (errno, text) only; the instance's
        # attributes (add_note's) kept
        args = (self.message, self.errno, self.strerror, self.filename, self.filename2)
        return (type(self), args, self.__dict__)


def failed_call_status(err: int | None) -> int:
    """The exit status for a system call that failed with errno ``err``: 1 when the
    system refused (a full disk, no permission), 2 for a wrong path or name (a folder
    given for a file, a name too long)."""
    return 1 if err in _REFUSALS else 2


class WriteError(_FailedCall):
    """An output the system would not let visrec write, make, rename or remove (a folder
    that cannot be made, no permission, a full disk): one line naming the output, like
    any ``VisrecError`` (exit status 1 when the system refused: ``EACCES``, ``EROFS``,
    ``ENOSPC``, ``EIO``...; 2 otherwise, a folder given for a file), and still an
    ``OSError`` with the failed call's ``errno`` and ``filename`` (``filename2``: a
    rename's second path) for code that catches those. Every failed write raises one
    (:func:`write_error`), so one ``except`` serves a model save, a result file and a
    command's output alike."""


class ReadError(_FailedCall):
    """An input the system would not let visrec read (no permission, an I/O error, a
    folder given for a file): one line naming it, exit status 1 when the system refused
    (2 otherwise), and an ``OSError`` with the failed call's ``errno``, as a
    :class:`WriteError` is for outputs (:func:`read_error`). A missing input is an
    :class:`InputNotFoundError`."""


_Write = TypeVar("_Write", bound=WriteError)


def write_error(message: str, exc: OSError, cls: type[_Write] = WriteError) -> _Write:  # type: ignore[assignment]
    """``message`` as the :class:`WriteError` (or the subclass ``cls``) to raise for the
    failed write ``exc`` (a failed read: :func:`read_error`)."""
    return cls(message, errno_of(exc), exc.strerror, exc.filename, exc.filename2)


def failed_write(exc: OSError, output: object) -> str:
    """Why a write of ``output`` failed, for a message that names ``output`` already:
    the system's reason, after the file or folder it is about when that is another (a
    folder above ``output`` that could not be made, a file inside an output folder)."""
    why = exc.strerror or str(exc)
    named = exc.filename
    if named is None or str(named) == str(output):
        return why
    return f"{str(named)!r}: {why}"


def not_utf8_hint() -> str:
    """For a name 'not valid UTF-8': "" when Python reads names as UTF-8, else the
    likelier cause (``LC_ALL=C`` with ``PYTHONUTF8=0`` makes every name with an accent
    look undecodable) and its cure."""
    import sys

    encoding = sys.getfilesystemencoding().lower().replace("-", "")
    if encoding == "utf8":
        return ""
    return (
        f"; or Python reads names as {sys.getfilesystemencoding()}, as under LC_ALL=C "
        "with PYTHONUTF8=0: set PYTHONUTF8=1 or LC_ALL=C.UTF-8"
    )


def is_control(c: str) -> bool:
    """Whether the character ``c`` is a C0 control (a line break, tab, escape...), DEL
    or a C1 control."""
    return ord(c) < 32 or 127 <= ord(c) < 160


def has_control(text: str) -> bool:
    """Whether ``text`` holds a line break, tab, escape or another control character:
    printed as it is, it cuts a one-line-per-entry listing or reaches the terminal as
    a command (``\x1b[31m``)."""
    return any(is_control(c) for c in text)


#: invisible characters that change how the rest of a line reads: bidi overrides and
#: isolates (U+202E turns "acod.png" into "a" + "gnp.doc"), zero-width spaces, line and
#: paragraph separators; not the joiners of emoji sequences
DECEPTIVE = frozenset(
    "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2028\u2029\u2060\u2066\u2067\u2068\u2069\ufeff"
)


def shown(text: str) -> str:
    """``text`` as a listing prints it: as it is, or as Python writes it (quoted, with
    escapes) when it holds a control character (:func:`has_control`) or one of the
    invisible characters that reorder or hide what follows (``DECEPTIVE``)."""
    return repr(text) if has_control(text) or not DECEPTIVE.isdisjoint(text) else text


def counted(count: int, noun: str) -> str:
    """``"1,200 users"``, ``"1 user"``: a count and its noun, plural unless one."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def a_or_an(word: str) -> str:
    """``"an"`` before ``word`` when it is said with a vowel first (``"ItemKNN"``,
    ``"'item-knn'"``, ``"NDCG@20"``), else ``"a"`` (``"UserKNN"``, ``"BPR"``): for names
    put in a sentence, which may start with any letter."""
    w = word.lstrip("'\"`")
    if w[:2].isupper():  # an acronym is spelt letter by letter: "an NDCG", "a BPR"
        return "an" if w[0] in "AEFHILMNORSX" else "a"
    low = w.lower()
    if low.startswith("u"):  # "a user", "a unit", but "an update"
        return "a" if low.startswith(("uni", "use", "usu", "uti")) else "an"
    return "an" if low[:1] in ("a", "e", "i", "o") else "a"


def agree(count: object, one: str, many: str) -> str:
    """``one`` for a count of 1, else ``many``: the word after a count that must agree
    with it (``"has"`` / ``"have"``, ``"is"`` / ``"are"``, ``""`` / ``"s"``)."""
    return one if count == 1 else many


# the verb phrases of none_of for an image vector
HAS_VECTOR = ("has an image vector", "has no image vector")


def none_of(count: int, noun: str, holds: str, lacks: str) -> str:
    """``"none of the 3 items has an image vector"``; for a single one, where "none of
    the 1 items" reads as a slip, ``"the only item has no image vector"``. ``noun`` is
    plural; ``holds`` and ``lacks`` are the verb phrase and its negation."""
    if count == 1:
        return f"the only {noun[:-1] if noun.endswith('s') else noun} {lacks}"
    return f"none of the {count:,} {noun} {holds}"


def names_text(names: Iterable[object]) -> str:
    """Column names for a message, as written (``user_id, item_id``), not as a Python
    list (``['user_id', 'item_id']``). A blank name is shown in quotes (``a, "", b``):
    bare, it would read as a stray comma; a line break in a name as ``\\n``, keeping
    the message on one line."""

    def shown(name: object) -> str:
        text = str(name).replace("\r", "\\r").replace("\n", "\\n")
        return text if text.strip() else f'"{text}"'

    return ", ".join(shown(n) for n in names)


def errno_of(exc: OSError) -> int | None:
    """``exc.errno``, or the number pyarrow puts only in its text (``... Detail: [errno
    27] File too large``: its OSError has no errno)."""
    if exc.errno is not None:
        return int(exc.errno)
    # its last "Detail: [errno N]" (a path in the text may hold anything)
    found = re.findall(r"Detail: \[errno (\d+)\]", str(exc))
    return int(found[-1]) if found else None


def read_error(message: str, exc: OSError, path: object = None) -> ReadError:
    """``message`` as the :class:`ReadError` to raise for the failed read ``exc``: exit
    status 1 when the system refused (no permission, an I/O error), 2 otherwise (a
    folder given for a file); its ``filename`` is ``path`` where ``exc`` names none
    (pyarrow's). A failed write: :func:`write_error`."""
    named = exc.filename if exc.filename is not None else path
    return ReadError(message, errno_of(exc), exc.strerror, named, exc.filename2)


def unreadable_file(message: str, exc: BaseException, path: object) -> VisrecError:
    """``message`` for a file of ``path`` a library could not read: a :class:`ReadError`
    when the system refused (an ``OSError`` with an errno; pyarrow's gives it in its text
    only), else a plain ``VisrecError`` (a damaged or foreign file, exit 2)."""
    if isinstance(exc, OSError) and errno_of(exc) is not None:
        return read_error(message, exc, path)
    return VisrecError(message)
