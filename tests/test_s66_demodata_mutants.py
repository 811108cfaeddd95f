"""Session 66 mutation audit: the demo's datasets and its generated catalogue.

Audited: src/visrec/demo/datasets.py (layout recognition, the errors for a missing or
unrecognised folder, the loaded parts and notes) and src/visrec/demo/synth.py (seeds,
sizes, id formats, the planted signal in ratings and pictures, the files' writes).

Mutants: 45 in total (datasets.py 16, synth.py 29); 29 killed by the existing tests
(targeted selections of test_demo, test_demo_datasets, test_s52_demo, test_s52b_demo,
test_s62_demo_mutants, test_s49_id_notes), 44 killed with this file, 1 equivalent.
Survivors this file kills: orange's and stripes' appeal made negative, every product
painted red, patterns never drawn, a colour or favourite category never drawn, item ids
fixed at four digits, 3 items accepted, images written in place (not atomically), the
missing-folder error without the folder's name, "found: nothing" and the "/" of folders
dropped from the listing, images/ as a file or items.csv as a folder taken for a layout,
the layouts checked in another order.

Equivalent:
- ``_Layout.load`` leaving ``self.interactions`` out of the files it does not report
  as another layout's: that file is its own marker (u.data) or interactions.csv, which
  is no layout's marker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.demo.datasets import load_demo_dataset
from visrec.demo.synth import CATEGORIES, COLOURS, PATTERNS, make_catalogue, render_product
from visrec.errors import VisrecError

# --- the planted signal ----------------------------------------------------------------


@pytest.fixture(scope="module")
def rated(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Every rating of a 160-item, 120-user catalogue, with its item's and user's draws."""
    root = tmp_path_factory.mktemp("cat")
    cat = make_catalogue(root, n_items=160, n_users=120, image_size=32, random_state=1)
    frame = pd.read_csv(cat.interactions_csv).merge(pd.read_csv(cat.items_csv), on="item_id")
    return frame.merge(pd.read_csv(cat.users_csv), on="user_id")


def test_bright_patterned_items_are_liked_and_grey_brown_plain_ones_are_not(
    rated: pd.DataFrame,
) -> None:
    # kills: orange's appeal turned negative, stripes' appeal turned negative (the module
    # docstring: "bright red or orange patterned items are liked, grey and brown plain
    # ones are not"); checked against the docstring, not against COLOURS/PATTERNS
    by_colour = rated.groupby("colour").rating.mean().sort_values()
    assert set(by_colour.index[-2:]) == {"red", "orange"}, by_colour
    assert set(by_colour.index[:2]) == {"grey", "brown"}, by_colour
    by_pattern = rated.groupby("pattern").rating.mean()
    assert by_pattern["stripes"] > by_pattern["plain"] + 0.3
    assert by_pattern["dots"] > by_pattern["plain"] + 0.2


def test_every_colour_category_and_dislike_is_drawn(rated: pd.DataFrame) -> None:
    # kills: a colour never drawn for items, favourites drawn from two categories only
    items = rated.drop_duplicates("item_id")
    users = rated.drop_duplicates("user_id")
    assert set(items.colour) == set(COLOURS) and set(items.pattern) == set(PATTERNS)
    assert set(users.favourite_category) == set(CATEGORIES)
    assert set(users.disliked_colour) == set(COLOURS)


def _redness(img: Any) -> float:
    arr = np.asarray(img, dtype=float)
    return float((arr[..., 0] - arr[..., 2]).mean())


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_products_picture_shows_its_colour(category: str) -> None:
    # kills: every product painted red whatever its colour (the picture then carries
    # nothing of the colour the ratings depend on)
    red = render_product(category, "red", "plain", np.random.default_rng(0), size=64)
    blue = render_product(category, "blue", "plain", np.random.default_rng(0), size=64)
    assert _redness(red) > 5 and _redness(blue) < -5


def test_a_patterned_product_looks_patterned() -> None:
    # kills: the pattern layer left plain (stripes and dots never drawn)
    def busy(pattern: str, seed: int) -> float:
        img = render_product("t-shirt", "blue", pattern, np.random.default_rng(seed), size=128)
        return float(np.abs(np.diff(np.asarray(img, dtype=float), axis=0)).mean())

    for seed in range(4):
        assert busy("stripes", seed) > busy("plain", seed) * 1.5
        assert busy("dots", seed) > busy("plain", seed) * 1.2


# --- ids, sizes and where the catalogue goes ------------------------------------------


@pytest.mark.parametrize(("n", "first", "last"), [(9999, "item0001", "item9999"),
                                                  (10000, "item00001", "item10000")])  # fmt: skip
def test_item_ids_are_padded_to_sort_as_numbers(n: int, first: str, last: str) -> None:
    # kills: item ids always four digits (item10000 sorted before item9999)
    from visrec.demo.synth import _draw_items

    ids = _draw_items(n, np.random.default_rng(0)).ids
    assert (ids[0], ids[-1]) == (first, last)
    assert len({len(i) for i in ids}) == 1 and sorted(ids) == ids


def test_a_catalogue_folder_is_made_with_its_parents(tmp_path: Path) -> None:
    # kills: images/ made without parents (a new --out two levels down failed)
    cat = make_catalogue(tmp_path / "a" / "b", n_items=4, n_users=1, image_size=32)
    assert sorted(p.name for p in cat.images_dir.iterdir()) == [
        f"item000{i}.jpg" for i in range(1, 5)
    ]
    assert load_demo_dataset(tmp_path / "a" / "b").layout == "generic"


def test_fewer_items_than_categories_are_refused(tmp_path: Path) -> None:
    # kills: 3 items accepted (a catalogue with a category of no item, which the
    # docstring's "at least 4" and the even spread rule out)
    with pytest.raises(VisrecError, match=r"^n_items=3: need at least 4 \(one per category\)$"):
        make_catalogue(tmp_path, n_items=3, n_users=1, image_size=32)
    assert not (tmp_path / "images").exists()


# --- atomic writes ---------------------------------------------------------------------


def _cut_write(monkeypatch: pytest.MonkeyPatch, method: str, name: str) -> None:
    """Make ``Path.<method>`` write half its data to a file named ``name`` (or a temporary
    file for it) and then fail, as a full disk does."""
    real = getattr(Path, method)

    def write(self: Path, data: Any, *args: Any, **kw: Any) -> Any:
        if name in self.name:
            real(self, data[: len(data) // 2], *args, **kw)
            raise OSError(28, "No space left on device", str(self))
        return real(self, data, *args, **kw)

    monkeypatch.setattr(Path, method, write)


def test_a_failed_image_write_leaves_no_cut_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: the image written in place (a full disk left a cut JPEG under its own name,
    # which the next run's embedding reads as the product's photo)
    _cut_write(monkeypatch, "write_bytes", "item0002.jpg")
    with pytest.raises(OSError, match="No space left"):
        make_catalogue(tmp_path, n_items=4, n_users=1, image_size=32)
    assert sorted(os.listdir(tmp_path / "images")) == ["item0001.jpg"]


@pytest.mark.parametrize("failing", ["users.csv", "interactions.csv", "items.csv"])
def test_a_failed_table_write_leaves_no_cut_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    # kills: the CSVs written in place (a full disk left half a table under its name;
    # a cut items.csv made the folder look like a whole catalogue)
    _cut_write(monkeypatch, "write_text", failing)
    with pytest.raises(OSError, match="No space left"):
        make_catalogue(tmp_path, n_items=4, n_users=2, image_size=32)
    written = ["users.csv", "interactions.csv", "items.csv"]
    left = sorted(p for p in os.listdir(tmp_path) if p != "images")
    assert left == sorted(written[: written.index(failing)])
    assert not (tmp_path / "items.csv").exists()


# --- dataset folders: the errors -------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_missing_dataset_folder_is_named(tmp_path: Path, kind: str) -> None:
    # kills: no folder check (a FileNotFoundError from listing it, or "not a dataset
    # folder" for a file), and the message without the folder's name
    root = tmp_path / "no-such-data"
    if kind == "file":
        root.write_text("x")
    with pytest.raises(VisrecError) as got:
        load_demo_dataset(root)
    assert str(got.value) == f"dataset folder {str(root)!r} does not exist or is not a folder"


def test_an_empty_folder_is_said_to_hold_nothing(tmp_path: Path) -> None:
    # kills: "(found: )" for an empty folder
    with pytest.raises(VisrecError, match=r": not a dataset folder .* \(found: nothing\); "):
        load_demo_dataset(tmp_path)


def test_the_listing_marks_folders(tmp_path: Path) -> None:
    # kills: folders listed like files (a posters/ folder looked like a file named posters)
    (tmp_path / "posters").mkdir()
    (tmp_path / "u.item").write_text("1|Toy\n")
    with pytest.raises(VisrecError, match=r"\(found: posters/, u\.item\);"):
        load_demo_dataset(tmp_path)


@pytest.mark.parametrize("which", ["images", "items.csv"])
def test_a_layout_needs_its_marker_a_file_and_its_images_a_folder(
    tmp_path: Path, which: str
) -> None:
    # kills: images/ that is a file, or items.csv that is a folder, taken for the layout
    # (a load that then failed with a raw error instead of listing the layouts)
    if which == "items.csv":
        (tmp_path / "items.csv").mkdir()
        (tmp_path / "images").mkdir()
    else:
        (tmp_path / "items.csv").write_text("item_id,category\n1,a\n")
        (tmp_path / "images").write_text("x")
    with pytest.raises(VisrecError, match="not a dataset folder visrec demo recognises"):
        load_demo_dataset(tmp_path)


def test_the_layouts_are_checked_in_the_documented_order(tmp_path: Path) -> None:
    # kills: the layouts checked in another order (a fashion folder that also holds a
    # generic items.csv read as generic, a MovieLens folder with one read as generic)
    fashion = tmp_path / "f"
    (fashion / "images").mkdir(parents=True)
    (fashion / "images" / "1.jpg").write_bytes(b"not decoded here")
    (fashion / "styles.csv").write_text("id,masterCategory\n1,Apparel\n")
    (fashion / "items.csv").write_text("item_id,category\n1,a\n")
    ds = load_demo_dataset(fashion)
    assert (ds.layout, ds.labels) == ("fashion", {"1": "Apparel"})
    assert ds.notes == [
        "items.csv is not read: the folder is read in the fashion layout (styles.csv is "
        "looked for first)"
    ]
    ml = tmp_path / "m"
    (ml / "posters").mkdir(parents=True)
    (ml / "images").mkdir()
    (ml / "u.data").write_text("5\t1\t4\t9\n")
    (ml / "items.csv").write_text("item_id,category\n1,a\n")
    assert load_demo_dataset(ml).layout == "movielens"
