"""An item table's labels by item id, for ``visrec cluster`` (the categories it compares
clusters with) and ``visrec similar`` (a title or category beside each id).

The leading underscore keeps this module out of ``visrec.cli.COMMAND_MODULES``.
"""

from __future__ import annotations

from typing import Any

from visrec._atomic import check_input_exists
from visrec.errors import VisrecError


def read_label_table(path: str, id_col: str, label_col: str) -> tuple[Any, Any, list[str]]:
    """Item ids and labels of an item table (``visrec.data.item_tables.load_item_table``).

    Returns ``(ids, labels, notes)``: two aligned string Series (ids unique, labels
    non-empty) and lines saying which records were dropped or repaired and why.
    """
    import numpy as np

    from visrec.data.interactions import ITEM
    from visrec.data.item_tables import load_item_table

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
            f"{path}: {n:,} item(s) with an empty {label_col!r} left out (e.g. "
            f"{ids[empty].iloc[0]!r})"
        )
        ids, labels = ids[~empty], labels[~empty]
    notes += _label_spelling_notes(path, cells[~empty].astype(str), labels)
    return ids, labels, notes


def _label_spelling_notes(path: str, raw: Any, labels: Any) -> list[str]:
    """What the label column writes two ways: with and without spaces around (taken as
    one label, as ids are), or in two Unicode forms that print alike (two labels, as
    written: two columns the table shows with one name)."""
    from visrec.data.id_spelling import look_alike

    notes = []
    distinct = raw.drop_duplicates()
    stripped = distinct.str.strip()
    joined = stripped[stripped.duplicated(keep=False)].drop_duplicates()
    if len(joined):
        spellings = distinct[stripped.isin(joined.iloc[:2])].tolist()[:4]
        notes.append(
            f"{path}: {len(joined):,} label(s) written with and without spaces around them "
            f"({', '.join(ascii(v) for v in spellings)}) are taken as one each"
        )
    n, groups = look_alike(labels.drop_duplicates().to_numpy(dtype=object))
    if n:
        shown = "; ".join(", ".join(ascii(g) for g in group) for group in groups)
        notes.append(
            f"{path}: {n:,} label(s) written in two Unicode forms that print alike ({shown}): "
            "two labels, as written; write each one way"
        )
    return notes
