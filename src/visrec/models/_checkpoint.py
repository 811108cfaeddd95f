"""Training checkpoints: an interrupted ``fit_pairwise`` resumes where it stopped.

A long fit (VBPR on a million pairs runs tens of minutes) saves its whole training state -
parameters, optimizer moments, the random generator, the epoch - every ``every_s``
seconds at an epoch boundary, while a ``checkpointing(folder, key)`` block is active
(``visrec train`` opens one). Run again with the same inputs and hyperparameters (the
same ``key``), the fit continues from the last saved epoch and ends with exactly the
arrays an uninterrupted fit gives. Outside such a block nothing is saved, so library
fits and ``visrec evaluate`` are unchanged.

The files are written with ``torch.save`` and read with ``torch.load(weights_only=True)``,
which restores tensors and plain values only (no code runs on load).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import sys
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visrec._atomic import atomic_path, not_regular
from visrec.embed.store import usable_values
from visrec.errors import VisrecError, counted

if TYPE_CHECKING:
    import torch

_FORMAT = 1
#: default seconds between saves: once a minute (about 60 in an hour-long fit), none
#: for a fit under a minute
SAVE_EVERY_S = 60.0


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


@dataclass(frozen=True)
class Checkpoint:
    """Where fits save their state, under which key, and how often."""

    folder: Path
    key: str
    every_s: float
    log: Callable[[str], None]
    #: what this block saved or resumed from under its key (shared by the copies
    #: ``keyed`` makes): a rerun of the same command resumes only when it is not empty
    kept: list[str] = field(default_factory=list, compare=False)
    #: the fits and validation trials that resumed or reused a saved state (shared like
    #: ``kept``): this run timed only their rest
    resumed: list[str] = field(default_factory=list, compare=False)
    #: the state a rerun would resume from, in words ("bpr, epoch 12 of 80"), once a
    #: fit saved or resumed one (shared like ``kept``)
    last: list[str] = field(default_factory=list, compare=False)
    #: notes given once per block (shared like ``kept``)
    said: set[str] = field(default_factory=set, compare=False)
    #: when the block last saved (its start at first), shared like ``kept``: one clock
    #: for all the fits of a command, so three 50 s stages still save once a minute
    saved_at: list[float] = field(default_factory=lambda: [time.monotonic()], compare=False)

    def path(self, desc: str) -> Path:
        """The file of the fit named ``desc`` (``"bpr"``, ``"vbpr"``)."""
        return self.folder / f"{desc}.pt"


_ACTIVE: contextvars.ContextVar[Checkpoint | None] = contextvars.ContextVar(
    "visrec_checkpoint", default=None
)


@contextlib.contextmanager
def checkpointing(
    folder: str | Path,
    key: str,
    *,
    every_s: float | None = None,
    log: Callable[[str], None] = _stderr,
) -> Iterator[Checkpoint]:
    """Save and resume the training state of every ``fit_pairwise`` run inside the block.

    Parameters
    ----------
    folder : path
        Where the state files go (created when the first one is saved).
    key : str
        Fingerprint of everything that decides the fit (data, hyperparameters, versions);
        a file saved under another key is ignored, never resumed.
    every_s : float, optional
        Seconds between saves, at epoch ends (0 = after every epoch); default
        ``SAVE_EVERY_S`` (60).
    log : callable
        Receives the one-line notes ("resuming bpr at epoch 41 of 80").
    """
    ckpt = Checkpoint(Path(folder), key, SAVE_EVERY_S if every_s is None else every_s, log)
    token = _ACTIVE.set(ckpt)
    try:
        yield ckpt
    finally:
        _ACTIVE.reset(token)


@contextlib.contextmanager
def keyed(extra: str) -> Iterator[None]:
    """Inside the block, fits save and resume under the active key plus ``extra``: what
    the model decided from the data before training (``reg="auto"``'s choice), which the
    caller's key cannot know. An empty ``extra`` or no active block changes nothing."""
    ckpt = _ACTIVE.get()
    if ckpt is None or not extra:
        yield
        return
    token = _ACTIVE.set(dataclasses.replace(ckpt, key=f"{ckpt.key}|{extra}"))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """No checkpointing inside the block (fits that are not the one being resumed)."""
    token = _ACTIVE.set(None)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active() -> Checkpoint | None:
    """The checkpoint of the enclosing ``checkpointing`` block, if any."""
    return _ACTIVE.get()


def save_state(
    ckpt: Checkpoint,
    desc: str,
    epoch: int,
    module: torch.nn.Module,
    opts: list[torch.optim.Optimizer],
    rng: np.random.Generator,
    losses: list[float],
) -> bool:
    """Write the state after ``epoch`` finished epochs, atomically.

    Returns False, after a note, when it cannot be written (a read-only or full disk, a
    file in the way, the folder removed by a concurrent run): the checkpoint is only a
    cache, so the fit goes on without it.
    """
    import torch

    state = {
        "format": _FORMAT,
        "key": ckpt.key,
        "epoch": epoch,
        "module": module.state_dict(),
        "opts": [o.state_dict() for o in opts],
        "rng": json.dumps(rng.bit_generator.state),
        "losses": list(losses),
        "versions": _versions(),  # not checked: only to say why another key is not resumed
    }
    made = not ckpt.folder.exists()
    try:
        ckpt.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(ckpt.path(desc)) as tmp:
            torch.save(state, tmp)
    except (OSError, VisrecError, RuntimeError) as exc:  # torch.save wraps write errors
        if made:  # an empty folder of ours is no state to keep
            with contextlib.suppress(OSError):
                ckpt.folder.rmdir()
        if "cannot save" not in ckpt.said:  # once per command, not once per stage
            ckpt.said.add("cannot save")
            ckpt.log(
                f"note: cannot save the training state in {ckpt.folder} ({_why(exc)}); "
                "the fit goes on, but an interrupted one would resume only from a state "
                "saved earlier, if any"
            )
        return False
    ckpt.kept.append(desc)
    return True


def _versions() -> list[str]:
    """visrec's code revision and the libraries' versions, as a saved state records them."""
    from visrec._revision import code_revision, library_versions

    return [code_revision(), library_versions()]


def _why(exc: BaseException) -> str:
    """A failed save's cause in words: torch.save reports a write cut short by a full
    disk or a file size limit as its own internals ("[enforce fail at
    inline_container.cc:672] . unexpected pos 427392 vs 427284")."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, RuntimeError) and "inline_container" in str(exc):
        return "the write was cut short: a full disk or a file size limit?"
    return str(exc)


def save_values(ckpt: Checkpoint, desc: str, values: list[float]) -> None:
    """Keep the result of a finished step (a validation fold's scores) under the active
    key, so that a resumed run skips it; a failed write is only a note."""
    text = json.dumps({"format": _FORMAT, "key": ckpt.key, "values": values})
    try:
        ckpt.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(ckpt.folder / f"{desc}.json") as tmp:
            tmp.write_text(text, encoding="utf-8")
    except (OSError, VisrecError) as exc:
        if "cannot save" not in ckpt.said:  # once per block, not once per step
            ckpt.said.add("cannot save")
            ckpt.log(f"note: cannot save {desc} in {ckpt.folder} ({exc}); a resumed run redoes it")
        return
    ckpt.kept.append(desc)


def _cleared_odd_file(ckpt: Checkpoint, path: Path, then: str) -> bool:
    """Whether ``path`` is there but no regular file (a pipe would block the read for
    ever), said in a note like a damaged file; it is removed, else every later save
    there would fail too (a folder is left: it may hold someone's files)."""
    kind = not_regular(path)
    if kind is None:
        return False
    ckpt.log(f"note: {path}: not a regular file ({kind}), {then}")
    if kind != "a folder":
        with contextlib.suppress(OSError):
            path.unlink()
    return True


def load_values(ckpt: Checkpoint, desc: str, n: int) -> list[float] | None:
    """The ``n`` values :func:`save_values` kept for ``desc`` under this key, or None
    (nothing saved, another key, a damaged file: the step is simply redone)."""
    path = ckpt.folder / f"{desc}.json"
    if _cleared_odd_file(ckpt, path, f"redoing {desc}"):
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):  # nothing saved (no usable folder)
        return None
    except (OSError, ValueError, RecursionError):  # not UTF-8 or not JSON
        ckpt.log(f"note: {path}: unreadable, redoing {desc}")
        return None
    if not isinstance(state, dict):
        return None
    values = state.get("values")
    if (
        state.get("format") != _FORMAT
        or state.get("key") != ckpt.key
        or not isinstance(values, list)
        or len(values) != n
        # a JSON true is a Python int too: not a value save_values writes
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
            for v in values
        )
    ):
        return None
    ckpt.log(f"reusing {desc} (from {path})")
    ckpt.kept.append(desc)
    ckpt.resumed.append(desc)  # a validation trial's work this run did not time
    return [float(v) for v in values]


def restore_state(
    ckpt: Checkpoint,
    desc: str,
    module: torch.nn.Module,
    opts: list[torch.optim.Optimizer],
    rng: np.random.Generator,
    epochs: int,
) -> tuple[int, list[float]]:
    """Load the saved state of ``desc`` into ``module``, ``opts`` and ``rng``.

    Returns ``(finished epochs, losses)``; ``(0, [])`` when there is nothing usable to
    resume (no file, another key, another shape, a damaged file: each said once).
    """
    import torch

    path = ckpt.path(desc)
    if _cleared_odd_file(ckpt, path, "starting over") or not path.is_file():
        return 0, []
    try:
        # torch.load does not check the zip members' CRCs: a bit flipped on disk would
        # be resumed from, and the model would not be the one an uninterrupted fit gives
        bad = None
        if zipfile.is_zipfile(path):  # else torch's legacy format, or no checkpoint
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
        if bad is not None:
            ckpt.log(f"note: {path}: damaged training checkpoint ({bad}), starting over")
            return 0, []
        with warnings.catch_warnings():  # torch's own advice for a foreign pickle
            warnings.simplefilter("ignore")
            state: dict[str, Any] = torch.load(path, weights_only=True)
    except Exception as exc:  # a torn or foreign file: start over, it is only a cache
        # the kind only: torch's text runs to lines and suggests weights_only=False,
        # which would run the code of a hostile file
        ckpt.log(
            f"note: {path}: unreadable training checkpoint, starting over ({type(exc).__name__})"
        )
        return 0, []
    if not isinstance(state, dict):  # a foreign file that torch can read
        ckpt.log(f"note: {path}: not a training checkpoint, starting over")
        return 0, []
    if state.get("format") != _FORMAT or state.get("key") != ckpt.key:
        # the key folds the code's revision in: an upgrade (or an edit of visrec's own
        # code) was said as "other data or settings", which sent users looking for one
        saved_versions = state.get("versions")
        other = "other data or settings"
        if saved_versions is not None and saved_versions != _versions():
            other = "another visrec or library version (torch, numpy)"
        ckpt.log(f"note: {path}: checkpoint of {other}, starting over")
        return 0, []
    own = module.state_dict()
    try:  # fields of the right kind: a file with the key but odd contents starts over
        epoch = int(state["epoch"])
        saved = state["module"]
        fits = set(saved) == set(own) and all(saved[n].shape == t.shape for n, t in own.items())
        fits = fits and len(state["opts"]) == len(opts) and isinstance(state["rng"], str)
        fits = fits and isinstance(state["losses"], list)
        # a NaN or 1e30 parameter is no state a fit saves (it refuses to end so)
        fits = fits and all(
            usable_values(t)
            for t in saved.values()
            if isinstance(t, torch.Tensor) and t.is_floating_point()
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        fits = False
    if not fits or not 0 < epoch <= epochs:
        ckpt.log(f"note: {path}: checkpoint does not fit this fit, starting over")
        return 0, []
    try:
        module.load_state_dict(saved)
        for opt, opt_state in zip(opts, state["opts"], strict=True):
            opt.load_state_dict(opt_state)
        rng.bit_generator.state = json.loads(state["rng"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        # part of the state may be loaded already: starting over would not be the fit
        # an uninterrupted run gives, so say so instead
        raise VisrecError(
            f"{path}: damaged training checkpoint ({exc}); delete {ckpt.folder} and re-run"
        ) from exc
    if epoch == epochs:  # a finished stage of a fit with more (vbpr's fine-tuning)
        ckpt.log(f"reusing the finished {desc} ({counted(epochs, 'epoch')}, from {path})")
    else:
        ckpt.log(f"resuming {desc} at epoch {epoch + 1} of {epochs} (from {path})")
    ckpt.kept.append(desc)
    ckpt.resumed.append(desc)
    return epoch, [float(x) for x in state["losses"]]
