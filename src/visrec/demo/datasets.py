"""Dataset folders the demo recognises, read into one common shape.

Layouts (checked in this order)::

    movielens-100k-posters/   u.data + posters/<item_id>.jpg (+ u.item: category =
                              the movie's first listed genre)
    fashion-products/         styles.csv + images/<id>.jpg (category = masterCategory;
                              + interactions.csv, a shop's own: the catalogue has none,
                              so without it the rating sections are skipped)
    generic                   items.csv (item_id, category) + images/<item_id>.<ext>
                              (+ interactions.csv: user_id,item_id[,rating,timestamp])

The generated demo catalogue is written in the generic layout and read back through it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from visrec.data.id_spelling import respelt, respelt_hint, shown_ids
from visrec.errors import VisrecError, agree, counted

# one line: the CLI prints an error on one line (a newline would show as "\n")
EXPECTED_LAYOUTS = (
    "expected one of these layouts: MovieLens posters (u.data and "
    "posters/<item_id>.jpg; u.item optional, gives genres); fashion products "
    "(styles.csv with id, masterCategory, and images/<id>.jpg; optionally "
    "interactions.csv); generic (items.csv with "
    "item_id, category, and images/<item_id>.<jpg|png|...>; optionally interactions.csv "
    "with user_id,item_id[,rating,timestamp])"
)


@dataclass
class DemoDataset:
    """A dataset in the demo's common shape.

    Attributes
    ----------
    name : str
        Short name shown in the output (e.g. ``movielens-100k-posters``).
    layout : str
        ``movielens``, ``fashion`` or ``generic``.
    root : Path
    images : dict of str to Path
        item_id -> image file.
    labels : dict of str to str
        item_id -> category, for items that have one.
    label_name : str
        What the category is (``category``, ``first genre``, ``masterCategory``).
    interactions : DataFrame or None
        Columns user_id, item_id and, when present, rating and timestamp.
    notes : list of str
        Rows or items that were dropped while loading, counted.
    """

    name: str
    layout: str
    root: Path
    images: dict[str, Path]
    labels: dict[str, str]
    label_name: str
    interactions: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def has_ratings(self) -> bool:
        return (
            self.interactions is not None
            and "rating" in self.interactions.columns
            and bool(self.interactions["rating"].notna().any())
        )


def _labels(path: Path, id_col: str, label_col: str, notes: list[str]) -> dict[str, str]:
    from visrec.data.item_tables import label_spelling_notes, load_item_table

    res = load_item_table(path, id_col=id_col, label_col=label_col)
    notes += res.report_lines(path.name)
    col = "genre" if path.name == "u.item" else label_col
    frame = res.frame
    raw = frame[col].astype(str)
    labels = raw.str.strip()  # as visrec cluster reads them, and says the same of them
    notes += label_spelling_notes(path.name, raw, labels)
    return dict(zip(frame["item_id"].astype(str), labels, strict=True))


def _item_id_col(path: Path, want: str) -> str:
    """``want`` when the table ``path`` has that column, else the column the
    interactions loader takes for the item (``sku``, ``product_id``, ...), else ``want``
    (for the loader's error)."""
    from visrec.data.column_names import item_column
    from visrec.data.item_tables import spelt_as
    from visrec.data.text_files import (
        decode_text,
        first_text_line,
        header_row,
        sniff_sep,
        split_rows,
    )

    decoded = decode_text(path)
    first = first_text_line(decoded.text)
    if not first:
        return want
    sep = decoded.sep or sniff_sep(first, path.suffix.lower())
    names = header_row(iter(split_rows(decoded.text, sep, str(path))), str(path))
    if spelt_as(want, names) in names:
        return want
    return item_column(names) or want


def _interactions(path: Path, notes: list[str]) -> pd.DataFrame:
    from visrec.data.id_spelling import id_notes
    from visrec.data.tables import load_interactions

    res = load_interactions(path)
    notes += res.report_lines(path.name)
    frame = res.frame.copy()
    frame["user_id"] = frame["user_id"].astype(str)
    frame["item_id"] = frame["item_id"].astype(str)
    # what the standalone commands say of the same file ("7" and "007": two items)
    notes += [f"{path.name}: {line}" for line in id_notes(frame)]
    return frame


@dataclass(frozen=True)
class _Layout:
    """One recognised layout: the files that mark it and where its parts are."""

    name: str
    #: a folder is this layout when it holds the file ``marker`` and the folder ``images``
    marker: str
    images: str
    #: item table with the labels, read when present (``id_col`` -> ``label_col``)
    items: str
    id_col: str
    label_col: str
    label_name: str
    #: interactions file, read when present; ``None`` for a layout that has none
    interactions: str | None

    def matches(self, root: Path) -> bool:
        return (root / self.marker).is_file() and (root / self.images).is_dir()

    def load(self, root: Path) -> DemoDataset:
        from visrec.data.images_index import find_images

        notes: list[str] = []
        images = find_images(root / self.images)
        items = root / self.items
        id_col = self.id_col
        if self.name == "generic" and items.is_file():  # a shop's 'sku', as in its orders
            id_col = _item_id_col(items, id_col)
        labels = _labels(items, id_col, self.label_col, notes) if items.is_file() else {}
        no_image = [i for i in labels if i not in images]
        if no_image:  # left out of every step: counted and named, not silently
            shown = shown_ids(no_image, 5)
            more = f" and {len(no_image) - 5:,} more" if len(no_image) > 5 else ""
            notes.append(
                f"{counted(len(no_image), 'item')} of {self.items} "
                f"{agree(len(no_image), 'has', 'have')} no image in {self.images}/, so "
                f"{agree(len(no_image), 'it is', 'they are')} not embedded, clustered or used "
                f"by the rating KNN ({shown}{more})"
                + respelt_hint(respelt(no_image, list(images)), f"{self.images}/")
            )
        earlier = True
        for other in _LAYOUTS:  # another layout's file here: the one read said, and why
            if other is self:
                earlier = False
            elif other.marker not in (self.marker, self.items, self.interactions) and (
                (root / other.marker).is_file()
            ):
                # a layout checked before this one did not match: its folder is missing
                why = (
                    f"the {other.name} layout also needs a {other.images}/ folder"
                    if earlier
                    else f"{self.marker} is looked for first"
                )
                notes.append(
                    f"{other.marker} is not read: the folder is read in the {self.name} "
                    f"layout ({why})"
                )
        inter = None if self.interactions is None else root / self.interactions
        interactions = _interactions(inter, notes) if inter and inter.is_file() else None
        return DemoDataset(
            # "." and ".." named too; a link keeps the name it was given by
            name=Path(os.path.abspath(root)).name or os.path.abspath(root),
            layout=self.name,
            root=root,
            images=images,
            labels=labels,
            label_name=self.label_name,
            interactions=interactions,
            notes=notes,
        )


# In the order they are checked (the module docstring describes them).
_LAYOUTS = (
    _Layout(
        "movielens",
        marker="u.data",
        images="posters",
        items="u.item",
        id_col="item_id",
        label_col="genre",
        label_name="first genre",
        interactions="u.data",
    ),
    _Layout(
        "fashion",
        marker="styles.csv",
        images="images",
        items="styles.csv",
        id_col="id",
        label_col="masterCategory",
        label_name="masterCategory",
        interactions="interactions.csv",
    ),
    _Layout(
        "generic",
        marker="items.csv",
        images="images",
        items="items.csv",
        id_col="item_id",
        label_col="category",
        label_name="category",
        interactions="interactions.csv",
    ),
)


def load_demo_dataset(data_dir: str | os.PathLike[str]) -> DemoDataset:
    """Recognise the layout of ``data_dir`` and load it (see the module docstring).

    Raises
    ------
    VisrecError
        When the folder matches none of the layouts; the message lists them.
    """
    root = Path(data_dir)
    return dataset_layout(root).load(root)


def dataset_layout(root: Path) -> _Layout:
    """The layout ``root`` matches (checked by ``visrec demo`` before anything else).

    Raises
    ------
    VisrecError
        When it is no folder or matches none of the layouts; the message lists them.
    PermissionError
        When it matches none and cannot be listed (``visrec demo`` says so in one line).
    """
    if not root.is_dir():
        raise VisrecError(f"dataset folder {str(root)!r} does not exist or is not a folder")
    for layout in _LAYOUTS:
        if layout.matches(root):
            return layout
    present = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    shown = ", ".join(present[:12]) + (
        f" and {len(present) - 12} more" if len(present) > 12 else ""
    )
    raise VisrecError(
        f"{root}: not a dataset folder visrec demo recognises "
        f"(found: {shown or 'nothing'}); {EXPECTED_LAYOUTS}"
    )
