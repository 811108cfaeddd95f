"""Session 60: ``visrec features`` reads the cells exported tables use for "no value"
(``NaN``, ``n/a``, ``NA``, ``null``...) as empty: before, a category column got a level
"n/a" and a number column with an ``NA`` cell was refused as text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from visrec.data.item_features import encode, feature_names, fit_encoding, parse_columns


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d", "e", "f"],
            "colour": ["red", "n/a", "blue", "NaN", "red", "None"],
            "price": ["10", "NA", "30", "null", "50", "60"],
        }
    )


def test_missing_words_are_empty_cells_not_levels() -> None:
    codes = fit_encoding(_frame(), parse_columns("colour:category,price"))
    # "None" stays a value (a season or a usage can be called that)
    assert codes[0].levels == ["red", "None", "blue"]
    assert codes[1].kind == "number" and codes[1].missing_flag
    x = encode(_frame(), codes)
    col = {n: x[:, j] for j, n in enumerate(feature_names(codes))}
    colour = np.stack([col[f"colour={v}"] for v in ("red", "None", "blue")], axis=1)
    assert not colour[1].any() and not colour[3].any()  # n/a and NaN: all zeros
    assert (col["price:missing"] > 0).tolist() == [False, True, False, True, False, False]
    # the number is standardised over the four real prices only
    price = np.array([10, 30, 50, 60], float)
    z = (price - price.mean()) / price.std()
    got = col["price"][[0, 2, 4, 5]]
    np.testing.assert_allclose(got / got[0], z / z[0], rtol=1e-5)


def test_a_guessed_number_column_with_na_cells_is_a_number() -> None:
    (code,) = fit_encoding(_frame(), parse_columns("price"))
    assert code.kind == "number"
