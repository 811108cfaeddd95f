"""One BLAS thread for small-matrix loops, set and put back by the main thread only.

``threadpool_limits`` restores the count it found on entry, which is the process's: with
two fits in two threads, the second saw the first's 1 and put it back after the first had
restored the host's count, leaving the host on one BLAS thread for good. Counting the
blocks across threads is no cure either: a count set from another thread is not reliably
the process's (OpenBLAS 0.3.31: a worker's setting is seen by the main thread at times,
at others not), so the last block to end cannot reliably put the host's count back. Only
the main thread changes it, then (its nested blocks counted: the outermost restores);
a loop in another thread runs on the host's count.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_inside = 0  # the main thread's nested one_blas_thread blocks now
_limiter: Any = None  # the outermost one's threadpool_limits, which holds the host's counts


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS (OpenBLAS, MKL, ...) to one thread inside the block, when run by the
    main thread (see the module's note: elsewhere the block runs as it is).

    The matrices of the loops that use it are small: hand-offs between BLAS threads cost
    more than they gain (4x slower on a busy 2-core machine).
    """
    global _inside, _limiter
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from threadpoolctl import threadpool_limits

    if _inside == 0:
        _limiter = threadpool_limits(limits=1, user_api="blas")
    _inside += 1
    try:
        yield
    finally:
        _inside -= 1
        if _inside == 0:
            # __exit__, not restore_original_limits: threadpoolctl 2 (which
            # scikit-learn's floor allows) names that method unregister
            _limiter.__exit__(None, None, None)
            _limiter = None
