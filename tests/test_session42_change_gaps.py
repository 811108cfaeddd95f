"""What a mutation audit of the forty-second session's own change found unpinned: the
chunk files' and the assembled output's page CRCs, visual-cf's "trained" condition, the
fit-end check for huge values, the order and length of similar's unknown-id message,
the resume digest by value, the format fields' "positive integer", unreadable Parquet
names, model.json counts of the wrong type, damaged .npy headers, Amazon ids of either
sign or kind, the user's own telemetry setting, quoting in any column."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import flip_vector_page
from test_session42_fixes import _json_lines, _review, _shop
from visrec.data.amazon import _as_id, load_amazon_reviews
from visrec.data.interactions import Interactions
from visrec.embed.store import META_KEY, ItemVectors, read_vectors, write_vectors
from visrec.errors import VisrecError
from visrec.evaluation.run_record import append_record, read_record
from visrec.evaluation.runner import run_experiment
from visrec.models.base import Recommender
from visrec.models.registry import make_model
from visrec.models.visual_cf import VisualCF
from visrec.report.evaluation import read_result
from visrec.search.knn import SimilarItems


def test_a_chunk_file_with_a_flipped_bit_is_computed_again(tmp_path: Path) -> None:
    from visrec.embed.chunk_files import finished_parts, write_chunk

    parts = tmp_path / "parts"
    parts.mkdir()
    rng = np.random.default_rng(0)
    ids = [f"i{k}" for k in range(200)]
    vectors = rng.normal(size=(200, 16)).astype(np.float32)
    made = write_chunk(
        parts, "K", "fp0", 0, "torch", ids, vectors, np.ones(200, bool), [None] * 200
    )
    flip_vector_page(made)
    notes: list[str] = []
    found, _ = finished_parts(parts, "K", ["fp0"], [[(i, "x") for i in ids]], notes.append)
    assert found == {} and any("damaged chunk file" in n for n in notes)


def test_the_assembled_embed_output_carries_page_crcs(tmp_path: Path) -> None:
    from test_embed import TinyBackbone, _images, _run

    folder = _images(tmp_path / "imgs", 12)
    out = tmp_path / "v.parquet"
    _run(folder, out, bb=TinyBackbone())
    col = pq.read_metadata(out).row_group(0).column(2)  # has_image: any flip decodes
    assert col.path_in_schema == "has_image"
    data = bytearray(out.read_bytes())
    data[col.data_page_offset + col.total_compressed_size - 1] ^= 0x01
    out.write_bytes(bytes(data))
    with pytest.raises(VisrecError, match="CRC"):
        read_vectors(out)


def test_without_crcs_a_flipped_bit_reads_as_another_vector(tmp_path: Path) -> None:
    # why the CRC: flip_vector_page's change decodes silently in a file without them
    from visrec.embed.store import vectors_to_table

    ids = np.array([f"i{k}" for k in range(200)])
    iv = ItemVectors(ids, np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32),
                     np.ones(200, bool))  # fmt: skip
    path = tmp_path / "plain.parquet"
    pq.write_table(vectors_to_table(iv), path)
    flip_vector_page(path)
    changed = ~np.isclose(read_vectors(path).vectors, iv.vectors)
    assert int(changed.any(axis=1).sum()) == 1


def test_pictures_of_items_without_interactions_do_not_count_for_visual_cf() -> None:
    rng = np.random.default_rng(3)
    pairs = {(f"u{u}", f"i{int(i)}") for u in range(40) for i in rng.integers(0, 15, size=6)}
    frame = pd.DataFrame(sorted(pairs), columns=["user_id", "item_id"])
    data = Interactions.from_frame(frame, extra_items=["new1", "new2"])
    ids = np.array([f"i{k}" for k in range(15)] + ["new1", "new2"])
    has = np.zeros(17, bool)
    has[[4, 15, 16]] = True  # one trained item's picture, two of items in the map only
    vectors = ItemVectors(ids, rng.normal(size=(17, 8)).astype(np.float32), has)
    with pytest.raises(VisrecError, match="at least 2 items with both interactions and an image"):
        VisualCF(epochs=1, reg=0.01, profile_weight=0.0, random_state=0).fit(data, vectors)


def test_a_fit_ending_with_a_huge_learned_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"user_id": ["u", "v"], "item_id": ["a", "b"]})
    model = make_model("popularity")
    attr = model._array_attrs[0]
    real = type(model)._fit

    def fit(self: Any, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        value = getattr(self, attr).astype(float)
        value[0] = 1e30
        setattr(self, attr, value)

    monkeypatch.setattr(type(model), "_fit", fit)
    with pytest.raises(VisrecError, match="the fit diverged"):
        model.fit(Interactions.from_frame(frame))


def test_similar_names_an_unknown_query_before_one_without_a_picture() -> None:
    ids = np.array(["a", "b", "c"])
    has = np.array([True, True, False])
    index = SimilarItems(ItemVectors(ids, np.eye(3, dtype=np.float32), has))
    with pytest.raises(VisrecError, match="unknown item id 'zz'"):
        index.query(["c", "zz"], n=1)
    index = SimilarItems(ItemVectors(ids[:2], np.eye(2, dtype=np.float32), has[:2]))
    with pytest.raises(VisrecError) as err:
        index.query([f"x{k}" for k in range(7)], n=1)
    assert "(and 6 more: 'x1', 'x2', 'x3', 'x4', 'x5', ...)" in str(err.value)


def _record(params: dict[str, Any]) -> dict[str, Any]:
    return {"fp": {"data": "abc"}, "seed": 0, "model": "popularity", "params": params,
            "split": {"n_test": 10}, "row": {"auc": 0.8}}  # fmt: skip


def test_a_record_line_rewritten_by_a_json_tool_is_still_reused(tmp_path: Path) -> None:
    path = tmp_path / "ev.partial.jsonl"
    append_record(path, _record({"n": 943.0}))
    line = json.loads(path.read_text())
    line["params"]["n"] = 943  # jq writes 943.0 so, and sorts keys
    path.write_text(json.dumps(line, sort_keys=True) + "\n")
    notes: list[str] = []
    assert [r["seed"] for r in read_record(path, notes.append)] == [0] and notes == []


def test_a_record_with_numpy_values_reads_back_intact(tmp_path: Path) -> None:
    path = tmp_path / "ev.partial.jsonl"
    append_record(path, _record({"k": np.int64(5)}))
    notes: list[str] = []
    assert [r["seed"] for r in read_record(path, notes.append)] == [0] and notes == []


def _result() -> tuple[dict[str, Any], ItemVectors]:
    data, vectors = _shop()
    result = run_experiment(
        data.to_frame(), None, "warm", [("popularity", {})], seeds=1, progress=False
    )
    return result.to_dict(), vectors


@pytest.mark.parametrize("form", [0, True, -1])
def test_a_result_format_that_is_no_positive_integer_is_refused(form: Any, tmp_path: Path) -> None:
    result, _ = _result()
    path = tmp_path / "ev.json"
    path.write_text(json.dumps({**result, "format": form}))
    with pytest.raises(VisrecError, match="not a positive integer"):
        read_result(path)


def test_a_metric_just_over_one_from_float_sums_is_accepted(tmp_path: Path) -> None:
    result, _ = _result()
    path = tmp_path / "ev.json"
    result["runs"][0]["recall"] = 1.0000000000000002
    path.write_text(json.dumps(result))
    read_result(path)
    result["runs"][0]["recall"] = 1.01
    path.write_text(json.dumps(result))
    with pytest.raises(VisrecError, match="between 0 and 1"):
        read_result(path)


@pytest.mark.parametrize("form", [0, True])
def test_a_vectors_format_that_is_no_positive_integer_is_refused(form: Any, tmp_path: Path) -> None:
    _, vectors = _result()
    path = tmp_path / "v.parquet"
    write_vectors(path, vectors)
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[META_KEY])
    edited = {META_KEY: json.dumps({**meta, "vectors_format": form}).encode()}
    pq.write_table(table.replace_schema_metadata(edited), path)
    with pytest.raises(VisrecError, match="not a positive integer"):
        read_vectors(path)


def test_a_column_name_that_is_no_utf8_is_one_line(tmp_path: Path) -> None:
    from visrec.commands._new_items import vectors_file_meta

    path = tmp_path / "u.parquet"
    write_vectors(path, ItemVectors(np.array(["a", "b"]), np.eye(2, dtype=np.float32),
                                    np.ones(2, bool)))  # fmt: skip
    path.write_bytes(path.read_bytes().replace(b"has_image", b"has_imag\xff"))
    for read in (read_vectors, vectors_file_meta):
        with pytest.raises(VisrecError, match=r"read as Parquet .*utf-8"):
            read(str(path))


def test_n_users_true_is_no_count(tmp_path: Path) -> None:
    frame = pd.DataFrame({"user_id": ["u", "u"], "item_id": ["a", "b"]})
    folder = make_model("popularity").fit(Interactions.from_frame(frame)).save(tmp_path / "m")
    mj = folder / "model.json"
    meta = json.loads(mj.read_text())
    assert meta["n_users"] == 1  # True == 1 in Python: it loaded
    mj.write_text(json.dumps({**meta, "n_users": True}))
    with pytest.raises(VisrecError, match="n_users is True, not a whole number"):
        Recommender.load(folder)


@pytest.mark.parametrize(
    "bad",
    [
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,) +}",
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,",  # TokenError
    ],
)
def test_a_damaged_npy_header_is_one_line(bad: bytes, tmp_path: Path) -> None:
    from visrec.models.model_folder import read_arrays

    buf = io.BytesIO()
    np.save(buf, np.arange(3.0))
    raw = buf.getvalue()
    size = int.from_bytes(raw[8:10], "little")
    header = bad.ljust(size - 1) + b"\n"
    npz = tmp_path / "arrays.npz"
    with zipfile.ZipFile(npz, "w") as zf:
        zf.writestr("a.npy", raw[:10] + header + raw[10 + size :])
    with pytest.raises(VisrecError, match="unreadable or corrupt"):
        read_arrays(npz)


def test_amazon_ids_spelt_alike_are_checked_per_field_and_for_negatives(tmp_path: Path) -> None:
    path = _json_lines(tmp_path / "r.json", [_review(-7, "A"), _review("-7", "C")])
    with pytest.raises(VisrecError, match="both the id '-7' as text"):
        load_amazon_reviews(path)
    # a user 7 and an item "7" are no clash: other fields
    fine = _json_lines(tmp_path / "f.json", [_review(7, "7"), _review(8, "B")])
    assert load_amazon_reviews(fine).frame["user_id"].tolist() == ["7", "8"]
    assert _as_id(1e3) == "1000" and _as_id(1e300) == "1e+300"  # not 301 digits


def test_a_repeated_vectors_id_lists_five_rows_then_an_ellipsis() -> None:
    ids = np.array(["a"] * 6 + ["b"])
    with pytest.raises(VisrecError, match=r"'a' has 6 rows \(1, 2, 3, 4, 5, \.\.\., counting"):
        ItemVectors(ids, np.ones((7, 2), np.float32), np.ones(7, bool))


def test_a_users_own_telemetry_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from visrec.embed.onnx_engine import _import_ort

    monkeypatch.setenv("ORT_DISABLE_TELEMETRY", "0")
    _import_ort()
    assert os.environ["ORT_DISABLE_TELEMETRY"] == "0"


def test_a_carriage_return_in_any_column_quotes_all() -> None:
    from visrec.commands._csv_quoting import csv_quoting

    frame = pd.DataFrame({"user_id": ["u"], "item_id": ["a\rb"]})
    assert csv_quoting(*(frame[c] for c in frame)) == csv.QUOTE_ALL
