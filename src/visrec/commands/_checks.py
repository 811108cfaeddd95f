"""Range checks for numeric command-line options, run before any file is read.

A value that scikit-learn or numpy would reject deep inside a fit (``KMeans(random_state=-1)``,
``NearestNeighbors(n_neighbors=0)``) must end as a one-line ``error:`` naming the option,
not as a traceback, and an out-of-range value that would be accepted silently (a negative
L2 penalty) must not run at all.

The leading underscore keeps this module out of ``visrec.cli.COMMAND_MODULES``.
"""

from __future__ import annotations

from visrec.errors import VisrecError

#: the largest seed scikit-learn accepts (``random_state`` must fit in 32 bits)
SEED_MAX = 2**32 - 1

#: the most seeds (whole experiments) one run takes: a typo's 10**11 filled memory
#: with the list of seeds before the first fit
SEEDS_MAX = 1000


def check_seeds(value: int) -> None:
    """Refuse a ``--seeds`` count outside ``1 .. SEEDS_MAX``."""
    if not 1 <= value <= SEEDS_MAX:
        raise VisrecError(
            f"--seeds must be between 1 and {SEEDS_MAX} (each seed is a whole "
            f"experiment), got {value}"
        )


def check_seed(value: int, option: str, *, count: int = 1) -> None:
    """Refuse a seed outside ``0 .. 2**32 - 1``.

    Parameters
    ----------
    value : int
        The first seed.
    option : str
        The option's name as typed, e.g. ``"--random-state"``.
    count : int, default 1
        Seeds ``value .. value + count - 1`` are used (``rating-eval --seeds``); the
        last one must be in range too.

    Raises
    ------
    VisrecError
        Naming the option, the value and the accepted range.
    """
    top = SEED_MAX - (count - 1)
    if not 0 <= value <= top:
        extra = (
            f" (with {count} seeds, the last one is {option} + {count - 1})" if count > 1 else ""
        )
        raise VisrecError(f"{option} must be between 0 and {top}{extra}, got {value}")


def check_at_least(value: float | None, minimum: float, option: str) -> None:
    """Refuse ``value < minimum`` and NaN (``None``, an option left at its default, passes).

    Raises
    ------
    VisrecError
        ``"--k must be at least 1, got 0"``.
    """
    if value is not None and not value >= minimum:  # `not >=` also catches NaN
        raise VisrecError(f"{option} must be at least {minimum:g}, got {value:g}")
