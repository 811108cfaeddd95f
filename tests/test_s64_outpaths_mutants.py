"""Mutation audit (session 64) of ``visrec.commands._output_paths``,
``visrec.commands._labels`` and ``visrec.data.variants``: each test here passes on the
code as it is and fails on a mutant that every earlier test let through.

78 mutants (34 of ``_output_paths``, 11 of ``_labels``, 33 of ``variants``), run
against the tests that cover each module: 56 killed before, 71 after; 7 equivalent:

- a whitespace-only output name skipped by the suffix check: it holds no dot, so
  ``check_output_suffix`` passes it anyway;
- ``folder_inputs`` testing an image suffix case-sensitively: ``P.JPG`` then goes
  through ``folder_data``, which lowercases, and is counted as an input all the same
  (only slower; at most stricter for a hard link to it, which is let through by design);
- ``read_label_table`` without ``cells.isna()``: ``load_item_table`` has already
  dropped null labels;
- ``merge_variants`` grouping reviews with ``dropna=True``: the loader's keys are never
  null (the digest is int64, the user required);
- counting textless reviews listed again over every kept row: a kept review with text
  is kept once, so it adds no repeat;
- linking a review's items to its last row instead of its first, and dropping the
  ``np.unique`` of the edges: same connected components (boolean duplicates stay True).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from visrec.errors import VisrecError


def _reviews(rows: list[tuple[str, str, str, bool]]) -> pd.DataFrame:
    """(user, item, digest, has text) rows as ``load_amazon_reviews(...,
    review_digest=True).frame`` gives them; rating and time are the row's number."""
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "rating": [float(1 + i % 5) for i in range(len(rows))],
            "timestamp": list(range(len(rows))),
            "review_digest": [r[2] for r in rows],
            "review_has_text": [r[3] for r in rows],
        }
    )


# --- visrec.data.variants ---------------------------------------------------------------


def test_a_review_repeated_under_its_own_item_is_no_copy_of_another_items() -> None:
    from visrec.data.variants import count_variant_copies, variant_copy_note

    frame = _reviews([("u1", "A", "d1", True), ("u1", "A", "d1", True), ("u2", "B", "d2", True)])
    assert count_variant_copies(frame) == 0
    assert variant_copy_note(frame, "Shop_5.json.gz") is None
    # the same line under another item as well: one copy, however often it repeats
    frame = _reviews([("u1", "A", "d1", True), ("u1", "A", "d1", True), ("u1", "B", "d1", True)])
    assert count_variant_copies(frame) == 1


# --- visrec.commands._labels -----------------------------------------------------------


def test_a_missing_label_table_is_named_as_one(tmp_path: Path) -> None:
    from visrec.commands._labels import read_label_table

    missing = tmp_path / "items.csv"
    with pytest.raises(VisrecError) as err:
        read_label_table(str(missing), "item_id", "category")
    assert str(err.value) == f"label table {str(missing)!r} does not exist"
    assert isinstance(err.value, FileNotFoundError)


# --- visrec.commands._output_paths -----------------------------------------------------


def _refused(outputs: dict[str, str], inputs: dict[str, str]) -> str:
    from visrec.commands._output_paths import check_outputs_distinct

    with pytest.raises(VisrecError) as err:
        check_outputs_distinct(outputs, inputs)
    return str(err.value)


def test_an_input_given_under_the_home_tilde_is_still_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "data.csv").write_text("user_id,item_id\nu,A\n")
    said = _refused({"-o": str(tmp_path / "data.csv")}, {"--interactions": "~/data.csv"})
    assert said == (
        f"-o: {str(tmp_path / 'data.csv')!r} is the --interactions file; writing it would "
        "replace it. Name another output file"
    )


_SHADOW = (
    "is in the --interactions folder under a name its loader reads, so the next run on "
    "that folder would read it in place of the data. Name another output file"
)


def test_a_new_output_shadowing_the_folders_data_is_refused_however_spelt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "interactions.csv").write_text("user_id,item_id\nu,A\n")
    (tmp_path / "alias").symlink_to(shop)
    for out in (str(tmp_path / "alias" / "ratings.csv"), "~/shop/ratings.csv", "~/shop/u.item"):
        assert _refused({"-o": out}, {"--interactions": str(shop)}) == f"-o: {out!r} {_SHADOW}"
    monkeypatch.chdir(shop)
    assert _refused({"-o": "ratings.csv"}, {"--interactions": str(shop)}) == (
        f"-o: 'ratings.csv' {_SHADOW}"
    )


def test_a_link_to_nothing_named_like_the_folders_data_is_refused_as_an_input(
    tmp_path: Path,
) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "interactions.csv").write_text("user_id,item_id\nu,A\n")
    (shop / "u.item").symlink_to(tmp_path / "nowhere")
    out = str(shop / "u.item")
    assert _refused({"-o": out}, {"--interactions": str(shop)}) == (
        f"-o: {out!r} is the --interactions file; writing it would replace it. "
        "Name another output file"
    )


def test_an_input_folder_that_cannot_be_listed_is_left_to_its_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.commands._output_paths import check_outputs_distinct

    shop = tmp_path / "shop"
    shop.mkdir()
    real_iterdir = Path.iterdir

    def iterdir(self: Path):  # type: ignore[no-untyped-def]
        if self == shop:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    check_outputs_distinct({"-o": str(tmp_path / "recs.csv")}, {"--interactions": str(shop)})


def test_empty_labels_left_out_are_counted_with_thousands_separators(tmp_path: Path) -> None:
    from visrec.commands._labels import read_label_table

    flags = "|".join(["0"] * 19)
    animation = "|".join(["0"] * 3 + ["1"] + ["0"] * 15)
    lines = [f"{i}|Film {i} (1995)|01-Jan-1995||http://x|{flags}" for i in range(1, 1202)]
    lines.append(f"1202|Toon (1995)|01-Jan-1995||http://x|{animation}")
    f = tmp_path / "u.item"
    f.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    ids, labels, notes = read_label_table(str(f), "item_id", "genres")
    assert list(ids) == ["1202"] and list(labels) == ["Animation"]
    assert notes == [f"{f}: 1,201 items with an empty 'genres' left out (e.g. '1')"]


def test_labels_of_a_parquet_table_are_stripped(tmp_path: Path) -> None:
    from visrec.commands._labels import read_label_table

    f = tmp_path / "items.parquet"
    pd.DataFrame({"item_id": ["a", "b"], "cat": ["  Toys ", "Toys"]}).to_parquet(f, index=False)
    ids, labels, notes = read_label_table(str(f), "item_id", "cat")
    assert list(ids) == ["a", "b"] and list(labels) == ["Toys", "Toys"]
    assert notes == [
        f"{f}: 1 label written with and without spaces around it ('  Toys ', 'Toys') "
        "is taken as one"
    ]


def test_an_existing_output_is_held_to_its_format_and_a_new_one_left_to_check_output_file(
    tmp_path: Path,
) -> None:
    from visrec.commands._output_paths import check_outputs_distinct

    old = tmp_path / "old.json"
    old.write_text("{}\n")
    assert _refused({"--report": str(old)}, {}) == (
        f"--report: {str(old)!r} ends in .json (JSON), but visrec writes HTML there; "
        "name it 'old.html'"
    )
    # not there yet: check_output_file, called first, says so for a new name
    check_outputs_distinct({"--report": str(tmp_path / "new.json")}, {})


def test_an_existing_output_is_held_to_the_format_the_command_says_it_writes(
    tmp_path: Path,
) -> None:
    from visrec.commands._output_paths import check_outputs_distinct

    old = tmp_path / "old.json"
    old.write_text("{}\n")
    with pytest.raises(VisrecError) as err:
        check_outputs_distinct({"-o": str(old)}, {}, {"-o": "CSV"})
    assert str(err.value) == (
        f"-o: {str(old)!r} ends in .json (JSON), but visrec writes CSV there; name it 'old.csv'"
    )
    check_outputs_distinct({"-o": str(old)}, {}, {"-o": "JSON"})


def test_an_image_is_folder_data_whatever_the_case_of_its_suffix(tmp_path: Path) -> None:
    from visrec.commands._output_paths import folder_data

    assert folder_data(tmp_path / "posters" / "P1.JPG")
    assert folder_data(tmp_path / "posters" / "p2.Png")
    assert not folder_data(tmp_path / "posters" / "notes.txt")


def test_an_earlier_json_result_in_an_input_folder_may_be_replaced(tmp_path: Path) -> None:
    from visrec.commands._output_paths import check_outputs_distinct, folder_data

    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "interactions.csv").write_text("user_id,item_id\nu,A\n")
    (shop / "result.json").write_text("{}\n")  # an earlier `evaluate --json` there
    assert not folder_data(shop / "result.json")
    check_outputs_distinct({"--json": str(shop / "result.json")}, {"--interactions": str(shop)})
    (shop / "meta_Shop.json").write_text("{}\n")  # Amazon metadata is data
    assert folder_data(shop / "meta_Shop.json")


def test_an_output_named_like_data_outside_the_input_folder_is_fine(tmp_path: Path) -> None:
    from visrec.commands._output_paths import check_outputs_distinct

    shop, out = tmp_path / "shop", tmp_path / "out"
    shop.mkdir()
    out.mkdir()
    (shop / "interactions.csv").write_text("user_id,item_id\nu,A\n")
    check_outputs_distinct({"-o": str(out / "ratings.csv")}, {"--interactions": str(shop)})


def test_the_copy_note_counts_with_thousands_separators() -> None:
    from visrec.data.variants import variant_copy_note

    rows = [(f"u{i}", "A", f"d{i}", True) for i in range(1500)]
    rows += [(f"u{i}", "B", f"d{i}", True) for i in range(1200)]
    said = variant_copy_note(_reviews(rows), "Shop_5.json.gz")
    assert said is not None
    assert said.startswith("1,200 of 2,700 rows (44.4%) copy a review under another item")
