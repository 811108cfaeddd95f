"""One BLAS thread for small-matrix loops, restored when the last such loop ends.

``threadpool_limits`` restores the count it found on entry, which is the process's: with
two fits in two threads, the second saw the first's 1 and put it back after the first had
restored the host's count, leaving the host on one BLAS thread for good. Here the first
to enter saves the count and the last to leave restores it (as
``visrec.models._train.single_cpu_thread`` does for torch's threads).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_LOCK = threading.Lock()
_inside = 0  # loops inside one_blas_thread now
_limiter: Any = None  # the first one's threadpool_limits, which holds the host's counts


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS (OpenBLAS, MKL, ...) to one thread inside the block.

    The matrices of the loops that use it are small: hand-offs between BLAS threads cost
    more than they gain (4x slower on a busy 2-core machine).
    """
    global _inside, _limiter
    from threadpoolctl import threadpool_limits

    with _LOCK:
        if _inside == 0:
            _limiter = threadpool_limits(limits=1, user_api="blas")
        _inside += 1
    try:
        yield
    finally:
        with _LOCK:
            _inside -= 1
            if _inside == 0:
                # __exit__, not restore_original_limits: threadpoolctl 2 (which
                # scikit-learn's floor allows) names that method unregister
                _limiter.__exit__(None, None, None)
                _limiter = None
