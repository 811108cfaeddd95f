"""Tests from a mutation audit of session 38's changes: each one fails on a mutant of
the code that the existing tests let through (a block of rows left unconverted, a
reused run left out of the results' "resume" section, a label's control character
shown as it is, ...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from visrec.images import decode
from visrec.images.decode import load_image


# ------------------------------------------------------------- wide grey images
def test_a_wide_grey_image_converts_every_block_of_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 5 rows of 3 pixels, 2 rows a block: blocks start at rows 0, 2 and 4 (the last alone)
    monkeypatch.setattr(decode, "_GRAY_BLOCK", 6)
    g = (np.arange(15, dtype=np.uint16).reshape(5, 3) * 10 + 100).astype(np.uint8)
    Image.fromarray(g.astype(np.int32) * 257, "I").save(tmp_path / "a.tif")
    got = np.asarray(load_image(tmp_path / "a.tif"))
    np.testing.assert_array_equal(got, np.repeat(g[:, :, None], 3, axis=2))


def test_a_big_endian_16_bit_tiff_is_rescaled_not_clipped(tmp_path: Path) -> None:
    g = np.random.default_rng(1).integers(0, 256, (6, 8)).astype(np.uint8)
    img = Image.fromarray((g.astype(np.uint16) * 257).astype(">u2"))
    img.save(tmp_path / "b.tif")
    with Image.open(tmp_path / "b.tif") as stored:
        assert stored.mode == "I;16B"  # 16 bits, as the "I;16" of a PNG
    got = np.asarray(load_image(tmp_path / "b.tif"))
    np.testing.assert_array_equal(got, np.repeat(g[:, :, None], 3, axis=2))


# ------------------------------------------------------------- folder clashes
def test_a_folder_clash_message_names_twenty_items_then_counts_the_rest(tmp_path: Path) -> None:
    from visrec.data.images_index import scan_images
    from visrec.errors import VisrecError

    for i in range(21):
        (tmp_path / f"{i:02d}.jpg").write_bytes(b"x")
        (tmp_path / f"{i:02d}.png").write_bytes(b"x")
    with pytest.raises(VisrecError) as err:
        scan_images(tmp_path)
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path}: 21 items with more than one image: '00': ")
    assert "'19': '19.jpg' and '19.png'; and 1 more; keep one of each" in msg
    assert "'20'" not in msg
    (tmp_path / "20.png").unlink()  # twenty: every one named, no "more"
    with pytest.raises(VisrecError) as err:
        scan_images(tmp_path)
    assert str(err.value).endswith("'19': '19.jpg' and '19.png'; keep one of each")


# ------------------------------------------------- earlier results (--json resume)
@pytest.fixture
def oracle_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """test_runner's test-only models (popularity, oracle) in the registry."""
    from test_runner import TEST_MODELS, GroupOracle
    from visrec.models import registry

    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "visrec-cache"))
    original = registry.get_model_class
    monkeypatch.setattr(
        registry, "get_model_class", lambda n: TEST_MODELS[n] if n in TEST_MODELS else original(n)
    )
    GroupOracle.seeds_seen.clear()
    monkeypatch.setattr(GroupOracle, "fail_after", None)
    return GroupOracle


def _results(tmp_path: Path, seeds: tuple[int, ...] = (0,)) -> tuple[Any, Any, Path]:
    from test_runner import checkerboard
    from visrec.evaluation import runner as R

    frame, iv = checkerboard()
    out = tmp_path / "out.json"
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=seeds, k=3,
                     progress=False).to_json(out)  # fmt: skip
    return frame, iv, out


def test_an_earlier_file_past_the_size_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, oracle_registry: Any
) -> None:
    from visrec.evaluation import run_record

    _, _, out = _results(tmp_path)
    assert len(run_record.earlier_runs(out)) == 2
    monkeypatch.setattr(run_record, "_EARLIER_MAX_BYTES", out.stat().st_size - 1)
    assert run_record.earlier_runs(out) == []  # a 1.8 GB parse of a 64 MB file, before


def test_an_earlier_run_that_is_no_object_is_passed_over_not_a_traceback(
    tmp_path: Path, oracle_registry: Any
) -> None:
    from visrec.evaluation import run_record
    from visrec.evaluation import runner as R

    frame, iv, out = _results(tmp_path)
    data = json.loads(out.read_text())
    data["resume"]["runs"][1:1] = [3, "run", None, [1]]  # a hand edit gone wrong
    out.write_text(json.dumps(data))
    assert len(run_record.earlier_runs(out)) == 2
    oracle_registry.seeds_seen.clear()
    notes: list[str] = []
    R.run_experiment(frame, iv, "warm", ["oracle"], seeds=(0,), k=3, progress=False,
                     earlier=out, note=notes.append)  # fmt: skip
    assert oracle_registry.seeds_seen == []
    assert notes == [
        f"resume: 4 entries of the earlier results in {out} name no seed and model; "
        "they are dropped from it",
        f"resuming: 2 of 2 runs already done ({out})",
    ]


def test_a_linked_folder_named_with_a_control_character_is_shown_escaped(tmp_path: Path) -> None:
    import os

    from visrec.data.images_index import LINKED_FOLDER, scan_images

    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "b.jpg").write_bytes(b"x")
    os.symlink(tmp_path / "real", tmp_path / "esc\x1b[31m")
    found = scan_images(tmp_path, recursive=True)
    assert list(found.images) == ["a", "b"]
    assert found.skipped == [("'esc\\x1b[31m'/", LINKED_FOLDER)]


def test_under_cold_items_a_popularity_run_depends_on_the_vectors(
    tmp_path: Path, oracle_registry: Any
) -> None:
    # cold-items holds out only items with an image: other vectors, another split
    from test_runner import checkerboard
    from visrec.embed.store import ItemVectors
    from visrec.evaluation import runner as R

    frame, iv = checkerboard()
    out = tmp_path / "out.json"
    R.run_experiment(frame, iv, "cold-items", ["popularity"], seeds=(0,), k=2,
                     progress=False).to_json(out)  # fmt: skip
    has = np.zeros(len(iv), dtype=bool)
    has[:10] = True  # only i0..i9 have an image
    fewer = ItemVectors(iv.ids, iv.vectors * has[:, None], has, iv.meta)
    notes: list[str] = []
    res = R.run_experiment(frame, fewer, "cold-items", ["popularity"], seeds=(0,), k=2,
                           progress=False, earlier=out, note=notes.append)  # fmt: skip
    assert set(res.runs["n_candidates"]) == {2.0}  # floor(0.2 * 10), not the 4 of before
    assert notes == [
        f"resume: not reusing 1 run of the earlier results in {out} (vectors changed); "
        "it is fitted again"
    ]


# ------------------------------------------------------------- control characters
@pytest.mark.parametrize("text", ["a\x85b", "\x9b31m", "del\x7f", "\x9f"])
def test_c1_controls_and_delete_are_control_characters(text: str) -> None:
    from visrec.errors import has_control, shown

    assert has_control(text) and shown(text) == repr(text)
    assert not has_control("caf\u00e9 \u00a0 \u00a0") and shown("\u00a0") == "\u00a0"


# ------------------------------------------------------------- similar --labels
def _similar_case(tmp_path: Path, table_text: str) -> tuple[Path, Path]:
    """test_similar's vectors (a, b, c on the unit circle at 0, 10 and 90 degrees; d
    opposite a; e without an image; f a scaled a) and an items.csv of ``table_text``."""
    import math

    from visrec.embed.store import ItemVectors, write_vectors

    deg = np.radians
    rows = [[1.0, 0.0], [math.cos(deg(10)), math.sin(deg(10))], [0.0, 1.0], [-1.0, 0.0],
            [0.0, 0.0], [5.0, 0.0]]  # fmt: skip
    iv = ItemVectors(
        ids=np.array(["a", "b", "c", "d", "e", "f"], dtype=object),
        vectors=np.array(rows, dtype=np.float32),
        has_image=np.array([True, True, True, True, False, True]),
    )
    vpath, table = tmp_path / "v.parquet", tmp_path / "items.csv"
    write_vectors(vpath, iv)
    table.write_text(table_text)
    return vpath, table


def test_a_neighbours_label_with_a_control_character_is_shown_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main

    vpath, table = _similar_case(
        tmp_path, 'sku,title\na,Red shirt\nf,"esc\x1b[31mred"\nb,"two\nlines"\n'
    )
    argv = ["similar", str(vpath), "a", "--n", "2", "--labels", str(table), "--id-col", "sku",
            "--label-col", "title"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "two\nlines" not in out
    rows = [ln.split(maxsplit=3) for ln in out.splitlines() if ln.startswith("    ")]
    assert rows == [["1", "f", "1.000", "'esc\\x1b[31mred'"], ["2", "b", "0.985", "'two\\nlines'"]]


# ------------------------------------------------------------- rating-eval's record
def test_rating_eval_refuses_a_pipe_as_its_resume_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from test_side_files_fifo import unjammed
    from visrec.analysis.rating_eval import rating_eval
    from visrec.errors import VisrecError

    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "cache"))
    record = tmp_path / "r.jsonl"
    os.mkfifo(record)
    rng = np.random.default_rng(3)
    rows = [(f"u{u}", f"i{i}", float(rng.integers(1, 6)))
            for u in range(20) for i in rng.choice(12, size=6, replace=False)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    with unjammed(record) as jammed, pytest.raises(VisrecError) as err:
        rating_eval(frame, None, n_seeds=1, mf_params={"n_epochs": 1, "n_factors": 2},
                    resume=record)  # fmt: skip
    assert not jammed  # refused before it is opened, not read until a writer comes
    assert str(err.value) == (
        f"{record} is not a regular file (a pipe): remove it, visrec keeps its resume record there"
    )


def test_similar_refuses_an_output_that_is_the_labels_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main

    text = "sku,title\na,Red shirt\nf,Big red\n"
    vpath, table = _similar_case(tmp_path, text)
    labels = ["--labels", str(table), "--id-col", "sku", "--label-col", "title"]
    assert main(["similar", str(vpath), "a", *labels, "--json", str(table)]) == 2
    err = capsys.readouterr().err
    assert "--labels" in err and "--json" in err
    assert table.read_text() == text  # the table is not written over


def test_the_similar_report_names_the_labels_table_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import html

    from visrec.cli import main

    vpath, table = _similar_case(tmp_path, "sku,title\na,Red shirt\nf,Big red\n")
    page = tmp_path / "s.html"
    argv = ["similar", str(vpath), "a", "--n", "2", "--labels", str(table), "--id-col", "sku",
            "--label-col", "title", "--report", str(page)]  # fmt: skip
    assert main(argv) == 0
    assert html.escape(f"{table} (title)") in page.read_text()


def test_a_query_label_is_html_escaped_in_the_similar_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main

    vpath, table = _similar_case(tmp_path, 'sku,title\na,"<b>Tom & Jerry</b>"\nf,Big red\n')
    page = tmp_path / "s.html"
    argv = ["similar", str(vpath), "a", "--n", "2", "--labels", str(table), "--id-col", "sku",
            "--label-col", "title", "--report", str(page)]  # fmt: skip
    assert main(argv) == 0
    text = page.read_text()
    assert "items most like a (&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;)" in text
    assert "<b>Tom" not in text


# ------------------------------------------------------------- embed's failure list
def test_embeds_failure_list_escapes_a_manifest_paths_line_break(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import test_embed as gaps
    from visrec.cli import main

    gaps._tiny_cli_embed(monkeypatch)
    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "cache"))  # its ONNX export
    gaps._images(tmp_path / "imgs", 1)
    (tmp_path / "imgs" / "bad\nname.jpg").write_bytes(b"%PDF-1.4 not an image")
    manifest = tmp_path / "m.csv"
    manifest.write_text('item_id,path\na,imgs/000.jpg\nb,"imgs/bad\nname.jpg"\n')
    out = tmp_path / "v.parquet"
    assert main(["embed", "--manifest", str(manifest), "-o", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert "failed images (1; zero vector, has_image=false):" in err
    listed = err.split("failed images (1; zero vector, has_image=false):\n")[1].splitlines()
    bad = str(tmp_path / "imgs" / "bad\nname.jpg")
    assert listed[0] == f"  {bad!r} (item b): not an image (PDF document)"
    assert "bad\nname" not in err


# ------------------------------------------------------------- item tables, results
def test_a_json_table_that_is_neither_meta_nor_reviews_is_not_called_a_review_file(
    tmp_path: Path,
) -> None:
    from visrec.data.item_tables import load_item_table
    from visrec.errors import VisrecError

    table = tmp_path / "items.json"
    table.write_text('[{"sku": "a", "title": "Red shirt"}, {"sku": "b", "title": "Blue"}]\n')
    with pytest.raises(VisrecError) as err:
        load_item_table(str(table), id_col="sku", label_col="title")
    assert str(err.value) == (
        f"{table}: not an item table (a JSON file is read only as Amazon metadata); give the "
        "category's meta_<Category>.json[.gz] or a CSV such as 'asin,category'"
    )


def test_rating_eval_to_dict_gives_a_resume_section_the_caller_may_edit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from visrec.analysis.rating_eval import rating_eval

    monkeypatch.setenv("VISREC_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(3)
    rows = [(f"u{u}", f"i{i}", float(rng.integers(1, 6)))
            for u in range(20) for i in rng.choice(12, size=6, replace=False)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    res = rating_eval(frame, None, n_seeds=1, mf_params={"n_epochs": 1, "n_factors": 2})
    d = res.to_dict()
    before = json.dumps(d["resume"], sort_keys=True)
    d["resume"]["runs"][0]["seed"] = -1
    d["resume"]["fingerprint"]["k"] = -1
    assert json.dumps(res.to_dict()["resume"], sort_keys=True) == before


def test_the_empty_label_note_counts_every_item_and_names_the_first(tmp_path: Path) -> None:
    from visrec.commands._labels import read_label_table

    flags = ["0"] * 19
    f1 = flags.copy()
    f1[3] = "1"
    text = (
        "1|No genre (1995)|01-Jan-1995||http://x|" + "|".join(flags) + "\n"
        "2|Toy Story (1995)|01-Jan-1995||http://y|" + "|".join(f1) + "\n"
        "3|Nor this (1996)|01-Jan-1996||http://z|" + "|".join(flags) + "\n"
    )
    f = tmp_path / "u.item"
    f.write_bytes(text.encode("latin-1"))
    ids, labels, notes = read_label_table(str(f), "item_id", "genres")  # "" for 1 and 3
    assert list(ids) == ["2"] and list(labels) == ["Animation"]
    assert notes == [f"{f}: 2 items with an empty 'genres' left out (e.g. '1')"]


def test_items_shown_for_two_queries_are_counted_once_in_the_unlabelled_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main

    # a's neighbours are f and b, f's are a and b: a, f and b are shown, a has a label
    vpath, table = _similar_case(tmp_path, "sku,title\na,Red shirt\n")
    argv = ["similar", str(vpath), "a", "f", "--n", "2", "--labels", str(table), "--id-col",
            "sku", "--label-col", "title"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"note: 2 of the 3 items shown have no 'title' in {table} " in err
