"""A new output named like an input folder's data in another case (``Ratings.csv``,
``U.ITEM``) is refused (session 67, O18): on a file system that ignores case it is the
file the loader opens, so the next run would read it in place of the data."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_s64_outpaths_mutants import _SHADOW, _refused
from visrec.commands._output_paths import check_outputs_distinct


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("Ratings.csv", "ratings.csv"),
        ("U.ITEM", "u.item"),
        ("Interactions.CSV", "interactions.csv"),
    ],
)
def test_a_new_output_named_like_the_folders_data_in_another_case_is_refused(
    tmp_path: Path, name: str, read: str
) -> None:
    """Names are compared without case, and the message says which name the loader
    reads and why the case does not save it."""
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "interactions.csv").write_text("user_id,item_id\nu,A\n")
    out = str(shop / name)
    assert _refused({"-o": out}, {"--interactions": str(shop)}) == (
        f"-o: {out!r} is in the --interactions folder under a name its loader reads as "
        f"{read!r} where case is ignored (macOS, Windows), so the next run on that folder "
        "would read it in place of the data. Name another output file"
    )


def test_the_exact_name_keeps_the_plain_message(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "interactions.csv").write_text("user_id,item_id\nu,A\n")
    out = str(shop / "ratings.csv")
    assert _refused({"-o": out}, {"--interactions": str(shop)}) == f"-o: {out!r} {_SHADOW}"


def test_names_that_only_look_alike_are_allowed(tmp_path: Path) -> None:
    """Only a name equal without case is refused: ``ratings.csv.bak`` or ``my_u.item``
    is no file a loader opens."""
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "interactions.csv").write_text("user_id,item_id\nu,A\n")
    for name in ("ratings.csv.bak", "my_u.item", "Ratings.tsv", "recs.csv"):
        check_outputs_distinct({"-o": str(shop / name)}, {"--interactions": str(shop)})
