"""Session 69: small source fixes, each asserted against what the old source did."""

from __future__ import annotations

import pytest

from visrec.errors import VisrecError
from visrec.models._indices import as_indices


def test_a_list_of_ints_beyond_int64_names_the_big_index_not_a_float() -> None:
    # np.asarray([2**63, -1]) is a float64 array: the message said "got 9.22e+18
    # (float64)", as if the caller had passed a float
    with pytest.raises(VisrecError, match=rf"^unknown item index {2**63} \(beyond int64\)$"):
        as_indices([2**63, -1], "item")
    with pytest.raises(VisrecError, match=rf"^unknown user index {2**64} \(beyond int64\)$"):
        as_indices((-5, 2**64), "user")
    # a float among them is still named as one
    with pytest.raises(VisrecError, match=r"got 1\.5 at position 1 \(float64\)"):
        as_indices([2**63, 1.5], "item")
