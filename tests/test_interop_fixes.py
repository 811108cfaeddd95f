"""Files visrec writes, read back by other tools and by visrec itself (an interop review)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tiny_embed import embed_tiny, image_folder
from visrec.cli import main as cli_main
from visrec.data.interactions import Interactions
from visrec.embed.store import EMBED_RUN_KEYS, ItemVectors, read_vectors, write_vectors
from visrec.models.bpr import BPR
from visrec.models.visual_cf import VisualCF


@pytest.fixture()
def embedded(tmp_path: Path) -> tuple[Path, Path, ItemVectors]:
    folder = image_folder(tmp_path / "imgs", 10)
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out)
    return folder, out, read_vectors(out)


def test_rows_filtered_out_by_pyarrow_are_computed_again(
    embedded: tuple[Path, Path, ItemVectors],
) -> None:
    # pyarrow keeps the schema's metadata, and with it the embed run's list of chunks
    # one row group per chunk, as the embed run wrote them, each without an item
    folder, out, whole = embedded
    gone = pa.array(["001", "006", "009"])
    with pq.ParquetFile(out) as pf:
        groups = [pf.read_row_group(g) for g in range(pf.num_row_groups)]
    hit = sum(bool(pc.any(pc.is_in(g["item_id"], value_set=gone)).as_py()) for g in groups)
    assert hit >= 2
    with pq.ParquetWriter(out, groups[0].schema) as writer:
        for group in groups:
            writer.write_table(group.filter(pc.invert(pc.is_in(group["item_id"], value_set=gone))))
    assert pq.read_metadata(out).num_rows == 7
    result = embed_tiny(folder, out)
    assert result.n_computed > 0
    assert any(f"{hit} of its row groups do not hold the images" in n for n in result.notes)
    again = read_vectors(out)
    assert list(again.ids) == list(whole.ids)
    np.testing.assert_allclose(again.vectors, whole.vectors, atol=1e-6)


def test_rows_of_another_file_added_by_pyarrow_are_dropped(
    embedded: tuple[Path, Path, ItemVectors],
) -> None:
    folder, out, whole = embedded
    table = pq.read_table(out)
    other = table.set_column(0, "item_id", pc.binary_join_element_wise(table["item_id"], "b", ""))
    pq.write_table(pa.concat_tables([table, other]), out, row_group_size=4)
    embed_tiny(folder, out)
    again = read_vectors(out)
    assert list(again.ids) == list(whole.ids)  # what an uninterrupted run writes
    np.testing.assert_allclose(again.vectors, whole.vectors, atol=1e-6)


def test_a_subset_written_back_keeps_what_the_vectors_are_not_the_run_record(
    embedded: tuple[Path, Path, ItemVectors], tmp_path: Path
) -> None:
    folder, out, whole = embedded
    assert set(EMBED_RUN_KEYS) & set(whole.meta)  # an embed output holds its run record
    keep = np.arange(len(whole)) % 3 != 0
    part = ItemVectors(whole.ids[keep], whole.vectors[keep], whole.has_image[keep], whole.meta)
    write_vectors(out, part)
    read = read_vectors(out)
    assert not set(EMBED_RUN_KEYS) & set(read.meta)
    assert read.meta["backbone"] == whole.meta["backbone"]
    assert read.meta["key"] == whole.meta["key"]
    result = embed_tiny(folder, out)  # nothing of the subset passes for a chunk
    assert list(read_vectors(out).ids) == list(whole.ids)
    assert result.n_computed == len(whole)


def test_model_json_keeps_the_backbone_not_the_embed_runs_failures(
    embedded: tuple[Path, Path, ItemVectors], tmp_path: Path
) -> None:
    _, _, vectors = embedded
    ids = [str(i) for i in vectors.ids]
    frame = pd.DataFrame(
        {"user_id": [f"u{k % 4}" for k in range(20)], "item_id": [ids[k % 10] for k in range(20)]}
    )
    model = VisualCF().fit(Interactions.from_frame(frame), vectors)
    assert model.vector_meta_["backbone"] == vectors.meta["backbone"]
    assert model.vector_meta_["dim"] == vectors.dim
    assert not set(EMBED_RUN_KEYS) & set(model.vector_meta_)


def test_recs_scores_read_back_as_the_models_own(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    pairs = {(f"u{rng.integers(30)}", f"i{rng.integers(40)}") for _ in range(400)}
    train = tmp_path / "train.csv"
    pd.DataFrame(sorted(pairs), columns=["user_id", "item_id"]).to_csv(train, index=False)
    model_dir, recs = tmp_path / "m", tmp_path / "recs.csv"
    args = ["--model", "bpr", "--interactions", str(train), "-o", str(model_dir), "-q"]
    assert cli_main(["train", *args]) == 0
    assert cli_main(["recommend", str(model_dir), "--n", "5", "-o", str(recs), "-q"]) == 0
    got = pd.read_csv(recs, dtype={"user_id": str, "item_id": str})
    model = BPR.load(model_dir)
    users = model.user_map_.to_index(got["user_id"].to_numpy(dtype=object))
    top, scores = model.recommend(np.arange(len(model.user_map_)), n=5)
    assert (model.item_map_.to_raw(top[users, got["rank"] - 1]) == got["item_id"]).all()
    want = scores[users, got["rank"] - 1].astype(np.float32)  # float32 widened
    np.testing.assert_array_equal(got["score"].to_numpy().astype(np.float32), want)


def test_a_candidate_id_over_two_lines_is_refused_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "train.csv"
    train.write_text("user_id,item_id\nu1,a\nu1,b\nu2,b\nu2,c\n")
    model_dir, recs = tmp_path / "m", tmp_path / "recs.csv"
    args = ["--model", "popularity", "--interactions", str(train), "-o", str(model_dir)]
    assert cli_main(["train", *args, "-q"]) == 0
    items = tmp_path / "cands.txt"
    items.write_text('a\n"new\nline"\nc\n')  # csv's reader alone made 'new' and 'line"'
    assert cli_main(["recommend", str(model_dir), "--items", str(items), "-o", str(recs)]) == 2
    err = capsys.readouterr().err
    assert "cands.txt' line 2: a quote left open in '\"new'" in err
    assert not recs.exists()
    items.write_text('a\n"7"x\n')  # was read as '7x' without a word
    assert cli_main(["recommend", str(model_dir), "--items", str(items), "-o", str(recs)]) == 2
    assert "cands.txt' line 2: text after the closing quote in '\"7\"x'" in capsys.readouterr().err
    items.write_text('a\n"x,y"\n"q""t"\n')  # closed quotes still hold any character
    assert cli_main(["recommend", str(model_dir), "--items", str(items), "-o", str(recs)]) == 0
    got = pd.read_csv(recs, dtype=str, keep_default_na=False)
    assert set(got["item_id"]) == {"a", "x,y", 'q"t'}


def test_a_rating_that_is_infinite_is_called_so(tmp_path: Path) -> None:
    from visrec.data.tables import load_interactions

    f = tmp_path / "recs.csv"  # RECS.csv's score read as a rating: -inf ranks last there
    f.write_text("user_id,item_id,rating\nu,a,1.5\nu,b,-inf\nu,c,NaN\nu,d,x\n")
    res = load_interactions(f)
    assert [str(b) for b in res.bad] == [
        f"{f}:3: rating '-inf' is not a finite number",
        f"{f}:4: rating 'NaN' is not a finite number",
        f"{f}:5: rating 'x' is not a number",
    ]


def test_results_record_the_rows_the_loader_skipped(tmp_path: Path) -> None:
    import json

    data = tmp_path / "bad.csv"  # line 4: no user; line 5: a rating that is no number
    data.write_text("user_id,item_id,rating\nu1,a,5\nu1,b,4\n,b,3\nu2,b,x\nu2,c,2\nu3,a,1\n")
    args = ["--model", "popularity", "--interactions", str(data), "-q"]
    assert cli_main(["train", *args, "-o", str(tmp_path / "m")]) == 0
    made = json.loads((tmp_path / "m" / "train.json").read_text())
    assert made["n_rows"] == 5
    assert made["records_skipped"] == {"empty user id": 1}
    assert cli_main(["train", *args, "--min-rating", "2", "-o", str(tmp_path / "m2")]) == 0
    made = json.loads((tmp_path / "m2" / "train.json").read_text())
    assert made["records_skipped"] == {"empty user id": 1, "non-numeric rating": 1}

    out = tmp_path / "ev.json"
    run = ["--interactions", str(data), "--protocol", "warm", "--models", "popularity"]
    assert cli_main(["evaluate", *run, "--seeds", "1", "--json", str(out), "-q"]) == 0
    result = json.loads(out.read_text())
    assert result["records_skipped"] == {"empty user id": 1}
    assert result["inputs"]["records skipped"] == "1 (empty user id 1)"  # for the report


def write_rating_case(tmp_path: Path, damage: dict[int, str]) -> tuple[Path, Path]:
    """30 users x 12 items of random 1-5 ratings, the rows of ``damage`` replaced by its
    text, and 4-d vectors of the 12 items: ``(r.csv, v.parquet)`` in ``tmp_path``."""
    rng = np.random.default_rng(0)
    rows = [f"u{u},i{i},{rng.integers(1, 6)}" for u in range(30) for i in range(12)]
    for at, text in damage.items():
        rows[at] = text
    data = tmp_path / "r.csv"
    data.write_text("user_id,item_id,rating\n" + "\n".join(rows) + "\n")
    ids = np.array([f"i{i}" for i in range(12)], dtype=object)
    vectors = tmp_path / "v.parquet"
    vecs = rng.normal(size=(12, 4)).astype(np.float32)
    write_vectors(vectors, ItemVectors(ids, vecs, np.ones(12, dtype=bool)))
    return data, vectors


def test_rating_results_record_the_rows_the_loader_skipped(tmp_path: Path) -> None:
    import json

    data, vectors = write_rating_case(tmp_path, {5: "u0,i5,"})  # a missing rating
    base = ["--interactions", str(data), "--vectors", str(vectors)]
    out = tmp_path / "re.json"
    assert (
        cli_main(["rating-eval", *base, "--seeds", "1", "--n-epochs", "2", "--json", str(out)]) == 0
    )
    assert json.loads(out.read_text())["records_skipped"] == {"missing rating": 1}
    out = tmp_path / "knn.json"
    assert cli_main(["knn-rating", *base, "--json", str(out)]) == 0
    assert json.loads(out.read_text())["records_skipped"] == {"missing rating": 1}


def test_list_backbones_says_when_torchvision_is_there_but_does_not_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # what a torchvision wheel built for another torch does on import
    fake = tmp_path / "site" / "torchvision"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        'raise RuntimeError("operator torchvision::nms does not exist")\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "torchvision", raising=False)
    monkeypatch.delenv("VISREC_RESNET18_WEIGHTS", raising=False)
    assert cli_main(["embed", "--list-backbones"]) == 0
    out = capsys.readouterr().out
    assert (
        "not usable: torchvision is installed but does not import (RuntimeError: operator "
        "torchvision::nms does not exist)"
    ) in out
    # with local weights torchvision is not needed: nothing to say
    weights = tmp_path / "r18.pth"
    weights.write_bytes(b"")
    monkeypatch.setenv("VISREC_RESNET18_WEIGHTS", str(weights))
    assert cli_main(["embed", "--list-backbones"]) == 0
    assert "resnet18" in (out := capsys.readouterr().out) and "not usable" not in out


def test_ids_rewritten_as_numbers_are_the_same_items_and_reused(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "imgs", 6)
    for f in folder.iterdir():  # 1.jpg ... 6.jpg: ids a number column spells the same
        f.rename(folder / f"{int(f.stem) + 1}.jpg")
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out)
    with pq.ParquetFile(out) as pf:
        groups = [pf.read_row_group(g) for g in range(pf.num_row_groups)]
    as_int = [g.set_column(0, "item_id", pc.cast(g["item_id"], pa.int64())) for g in groups]
    with pq.ParquetWriter(out, as_int[0].schema) as writer:
        for group in as_int:
            writer.write_table(group)
    result = embed_tiny(folder, out)
    assert (result.n_computed, result.n_reused) == (0, 6)
    assert not any("row groups" in n for n in result.notes)


def test_an_output_without_its_id_column_is_computed_again_with_a_note(
    embedded: tuple[Path, Path, ItemVectors],
) -> None:
    folder, out, whole = embedded
    with pq.ParquetFile(out) as pf:  # one group per chunk; the metadata kept through it
        groups = [pf.read_row_group(g) for g in range(pf.num_row_groups)]
    renamed = [g.set_column(0, "asin", g["item_id"]) for g in groups]
    with pq.ParquetWriter(out, renamed[0].schema) as writer:
        for group in renamed:
            writer.write_table(group)
    result = embed_tiny(folder, out)  # was "up to date" with no id to its vectors
    assert result.n_computed == len(whole)
    assert any("no item_id column: nothing of it is reused" in n for n in result.notes)
    assert list(read_vectors(out).ids) == list(whole.ids)


def test_an_output_with_damaged_pages_is_computed_again_with_a_note(
    embedded: tuple[Path, Path, ItemVectors],
) -> None:
    folder, out, whole = embedded
    meta = pq.read_metadata(out)
    first, second = meta.row_group(0), meta.row_group(1).column(0)
    start = second.dictionary_page_offset if second.has_dictionary_page else None
    assert (start or second.data_page_offset) > 200  # zeroed: the first group's pages
    data = bytearray(out.read_bytes())
    data[4:200] = bytes(196)  # the first pages; the footer and its metadata still read
    out.write_bytes(bytes(data))
    result = embed_tiny(folder, out)
    # that row group's images only, the others reused
    assert result.n_computed == first.num_rows < len(whole)
    assert any("cannot be read back intact" in n for n in result.notes)
    again = read_vectors(out)
    assert list(again.ids) == list(whole.ids)
    np.testing.assert_array_equal(again.vectors, whole.vectors)
