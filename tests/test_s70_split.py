"""visrec.embed.store split by what it holds (helper s70 split): the container in
``item_vectors``, the checks of vector values in ``vector_checks``, the file's metadata
in ``vectors_meta``; ``store`` keeps reading and writing a vectors file and every name
it had, so no import elsewhere changes."""

from __future__ import annotations

import importlib

import pytest

from visrec.embed import store

#: every name src, tests, benchmarks and docs import from visrec.embed.store (grepped)
USED_FROM_STORE = [
    "EMBED_RUN_KEYS",
    "ItemVectors",
    "META_KEY",
    "OUTLIER_LENGTH",
    "UNUSABLE_VALUES",
    "backbone_names",
    "check_finite_vectors",
    "check_some_vector",
    "described",
    "distinct_rows",
    "duplicate_groups",
    "duplicate_note",
    "finite_rows",
    "folder_advice",
    "image_flags",
    "is_foreign_file",
    "made_differently",
    "no_reader_threads",
    "nonzero_rows",
    "not_parquet",
    "parquet_read_error",
    "parse_meta",
    "read_vector_ids",
    "read_vectors",
    "read_vectors_meta",
    "require_parquet",
    "spread_notes",
    "table_to_ids",
    "table_to_vectors",
    "usable_rows",
    "usable_values",
    "vector_rows",
    "vector_width",
    "vectors_schema",
    "vectors_to_table",
    "write_vectors",
]

#: where each moved name now lives (a test that patches it must patch it there)
MOVED = {
    "item_vectors": ["ItemVectors", "image_flags", "vector_rows"],
    "vector_checks": [
        "ROW_BLOCK",
        "MAX_ABS_VALUE",
        "OUTLIER_LENGTH",
        "UNUSABLE_VALUES",
        "check_finite_vectors",
        "check_some_vector",
        "distinct_rows",
        "duplicate_groups",
        "duplicate_note",
        "finite_rows",
        "nonzero_rows",
        "spread_notes",
        "usable_rows",
        "usable_values",
    ],
    "vectors_meta": [
        "EMBED_RUN_KEYS",
        "META_KEY",
        "VECTORS_FORMAT",
        "backbone_names",
        "described",
        "made_differently",
        "parse_meta",
        "read_vectors_meta",
        "vectors_schema",
    ],
}


@pytest.mark.parametrize("name", USED_FROM_STORE)
def test_every_name_used_from_store_is_still_there(name: str) -> None:
    assert hasattr(store, name)


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, ns in MOVED.items() for n in ns])
def test_a_moved_name_is_the_very_object_of_its_new_module(module: str, name: str) -> None:
    home = importlib.import_module(f"visrec.embed.{module}")
    assert getattr(store, name) is getattr(home, name)
    if callable(getattr(home, name)):  # defined there, not itself a re-export
        assert getattr(home, name).__module__ == home.__name__
