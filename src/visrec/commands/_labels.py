"""An item table's labels by item id, for ``visrec cluster`` (the categories it compares
clusters with) and ``visrec similar`` (a title or category beside each id).

The leading underscore keeps this module out of ``visrec.cli.COMMAND_MODULES``.
"""

from __future__ import annotations

from typing import Any

from visrec._atomic import check_input_exists
from visrec.errors import VisrecError, counted


def read_label_table(path: str, id_col: str, label_col: str) -> tuple[Any, Any, list[str]]:
    """Item ids and labels of an item table (``visrec.data.item_tables.load_item_table``).

    Returns ``(ids, labels, notes)``: two aligned string Series (ids unique, labels
    non-empty) and lines saying which records were dropped or repaired and why.
    """
    import numpy as np

    from visrec.data.interactions import ITEM
    from visrec.data.item_tables import label_spelling_notes, load_item_table

    check_input_exists(path, "label table")
    loaded = load_item_table(path, id_col=id_col, label_col=label_col)
    notes = loaded.report_lines(path)
    frame = loaded.frame
    cells = frame[label_col]
    # a parquet list column would become numpy's text of each array, one label per item
    nested = cells.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray)))
    if nested.any():
        first = frame[ITEM].astype(str)[nested].iloc[0]
        raise VisrecError(
            f"{path}: column {label_col!r} holds lists or arrays (item {first!r}), not "
            "category labels; give a column of text labels"
        )
    ids, labels = frame[ITEM].astype(str), cells.astype(str).str.strip()
    # the loader checks the column it was asked for; u.item's "genres" (all flags) can
    # still be empty where its "genre" says "unknown"
    empty = (labels == "") | cells.isna()
    if empty.any():
        n = int(empty.sum())
        notes.append(
            f"{path}: {counted(n, 'item')} with an empty {label_col!r} left out (e.g. "
            f"{ids[empty].iloc[0]!r})"
        )
        ids, labels = ids[~empty], labels[~empty]
    notes += label_spelling_notes(path, cells[~empty].astype(str), labels)
    return ids, labels, notes
