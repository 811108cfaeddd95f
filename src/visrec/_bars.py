"""Progress bars that cost nothing when hidden.

``tqdm(..., disable=True)`` still builds a ``multiprocessing`` lock (which fixes the
process's start method: a host's later ``set_start_method("spawn")`` fails) and starts
tqdm's monitor thread, which a disabled bar's ``close`` never stops. A library call with
``progress=False`` should leave the process as it found it, so a hidden bar is a plain
counter instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


class QuietBar:
    """The part of tqdm's interface visrec uses, showing nothing; as tqdm, ``total``
    defaults to the iterable's length and ``n`` counts what was passed to ``update``."""

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        total: float | None = None,
        initial: float = 0,
    ) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except (TypeError, AttributeError):  # a generator: no length
                total = None
        self.iterable = iterable
        self.total = total
        self.n = initial

    def __iter__(self) -> Iterator[Any]:
        # "is not None", not truthiness: a numpy array has none
        for x in self.iterable if self.iterable is not None else ():
            yield x
            self.n += 1

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("a QuietBar over an iterable of unknown length has no len()")
        return int(self.total)

    def __enter__(self) -> QuietBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: float = 1) -> None:
        self.n += n

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        return None

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        return None

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        return None

    def refresh(self, *args: Any, **kwargs: Any) -> None:
        return None

    def close(self) -> None:
        return None


def progress_bar(
    iterable: Iterable[Any] | None = None, *, show: bool, auto: bool = True, **kwargs: Any
) -> Any:
    """A tqdm bar (``tqdm.auto``'s, a notebook widget in Jupyter, unless ``auto`` is
    False) when ``show``, else a :class:`QuietBar` with the same ``total``/``initial``."""
    if not show:
        return QuietBar(iterable, kwargs.get("total"), kwargs.get("initial", 0))
    if auto:
        from tqdm.auto import tqdm as auto_tqdm

        return auto_tqdm(iterable, **kwargs)
    from tqdm import tqdm

    return tqdm(iterable, **kwargs)
