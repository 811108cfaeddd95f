"""Session 68: mutation audit of ``visrec embed`` and ``visrec cluster``.

Audited: commands/embed.py (option checks, -o/--manifest/--json checks, what an
interrupted run kept, the summary lines, --json, the has_image mask of the duplicate
note) and commands/cluster.py (items left out, --keep/--top-labels counts, refusals
naming files and columns, --k and the tiny-label note, the seed, -q, --json, --report).
Runner: /tmp/s68/embedclu/mutants.py (exact replace, restored byte for byte).

Mutants written: 64 (E1-E32 embed, C1-C32 cluster). For time, 42 (E1-E21, C1-C21) were
run against the old tests (test_s62_embedcmd_mutants, test_embed_qa_fixes,
test_cli_interrupt; test_s49/test_s64_cluster_mutants, test_cluster): 17 killed (E6,
E14, E16, E20, C2, C4-C10, C13, C16-C18, C21), 25 survived. Killed after, by this
file: all 25 (E1-E5, E7-E13, E15, E17-E19, E21, C1, C3, C11, C12, C14, C15, C19, C20),
each checked to pass on the real source and fail on its mutant. Equivalents: none
found. Not run against the old tests: E22-E32, C22-C32; of those this file was checked
to kill E23-E25, E27-E29 and C25; E30 has a test below (not checked against it).

Aimed at (C4, C5: old kills, not rechecked here; a test of C7, C9, C10, old kills
too, was dropped): recursive (E1); bad_engine_options (E2-E5); foreign_output (E7, E8);
manifest_without_output (E9); non_utf8 (E10); output_naming_the_manifest (E11);
upper_case_parquet (E12); kept_chunks (E13-E15); ctrl_c_in_the_summary (E17);
fetch_cache counts (E18); zero_vector (E19, the has_image mask); summary_lines (E20,
E21, E23-E25, E27, E28); read_error (E29); linking (E30); items_left_out (C3, C4, C20);
respelt (C5, and the note's "1 of the items ... is", said "are" before session 68);
no_item_to_cluster (C1, C11); one_label_left (C12); given_k (C13); tiny_label (C14);
json_follows_the_seed (C15, C17, C18, C19); quiet (C16); top_labels_zero (C25).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import visrec.embed.extract as extract_mod
from test_embed import _images, _tiny_cli_embed
from test_s49_cluster_mutants import _captured_report, _cluster_files
from test_s62_embedcmd_mutants import _recorder
from visrec.cli import main
from visrec.embed.extract import EmbedResult
from visrec.embed.store import ItemVectors, write_vectors

# --- embed: option checks -----------------------------------------------------------------


def test_recursive_reads_subfolders_and_is_refused_with_a_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E1: --recursive refused with IMAGES_DIR instead of with --manifest
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs" / "shoes", 2).parent
    out = str(tmp_path / "v.parquet")
    assert main(["embed", str(folder), "-o", out, "-q", "--recursive"]) == 0
    assert sorted(calls[0]["items"]) == ["000", "001"]
    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\na,imgs/shoes/000.jpg\n")
    assert main(["embed", "--manifest", str(manifest), "-o", out, "--recursive"]) == 2
    assert "--recursive reads subfolders of IMAGES_DIR" in capsys.readouterr().err
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        # E2: a blank address passed the emptiness check
        (["--engine", "ray", "--ray-address", "  "], "--ray-address is empty"),
        # E3: an address with --engine onnx ran locally without a word
        (["--engine", "onnx", "--ray-address", "auto"], "--ray-address needs --engine ray"),
        # E4: a typo'd device reached the engine
        (["--device", "gpu7"], "gpu7"),
        # E5: a typo'd backbone reached the engine
        (["--backbone", "resnet-nineteen"], "resnet-nineteen"),
    ],
)
def test_bad_engine_options_are_refused_before_any_work(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    said: str,
) -> None:
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    assert main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), *flags]) == 2
    assert said in capsys.readouterr().err and not calls


def test_a_foreign_output_is_named_and_replaced_only_with_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E7 (--overwrite ignored by the early check), E8 (the message not naming the file)
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    out = tmp_path / "v.parquet"
    out.write_text("not parquet at all\n")
    assert main(["embed", str(folder), "-o", str(out), "-q"]) == 2
    assert f"{out} exists and is not a visrec vectors file" in capsys.readouterr().err
    assert not calls
    assert main(["embed", str(folder), "-o", str(out), "-q", "--overwrite"]) == 0
    assert len(calls) == 1


def test_a_manifest_without_output_asks_for_the_output_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # E9: "give the images and the output" when the manifest was given
    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\na,a.jpg\n")
    assert main(["embed", "--manifest", str(manifest)]) == 2
    assert "give the output file: visrec embed" in capsys.readouterr().err
    assert main(["embed"]) == 2
    assert "give the images and the output: visrec embed" in capsys.readouterr().err


def test_an_output_naming_the_manifest_is_refused_even_with_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E11: -o was not compared with --manifest (--overwrite then replaced the manifest)
    calls = _recorder(monkeypatch)
    _images(tmp_path / "imgs", 1)
    manifest = tmp_path / "items"
    manifest.write_text("item_id,path\na,imgs/000.jpg\n")
    before = manifest.read_bytes()
    argv = ["embed", "--manifest", str(manifest), "-o", str(manifest), "--overwrite", "-q"]
    assert main(argv) == 2
    assert "--manifest" in capsys.readouterr().err
    assert not calls and manifest.read_bytes() == before


def test_an_upper_case_parquet_name_gets_no_format_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E12: the suffix compared case-sensitively
    _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    assert main(["embed", str(folder), "-o", str(tmp_path / "V.PARQUET"), "-q"]) == 0
    assert "is written as a Parquet file" not in capsys.readouterr().err
    assert main(["embed", str(folder), "-o", str(tmp_path / "vectors"), "-q"]) == 0
    assert f"note: {tmp_path / 'vectors'} is written as a Parquet file" in capsys.readouterr().err


# --- embed: what an interruption kept ---------------------------------------------------


def test_kept_chunks_counts_the_finished_chunks_and_names_their_folder(tmp_path: Path) -> None:
    # E13 (no chunk counted), E14 (an existing output said unchanged wrongly), E15 (the
    # folder of the chunks not named)
    from visrec.commands._resume import file_state
    from visrec.commands.embed import _kept_chunks

    out = tmp_path / "v.parquet"
    assert _kept_chunks(str(out)) == "no chunk had finished, so nothing was kept"
    parts = tmp_path / "v.parquet.parts"
    parts.mkdir()
    for name in ("chunk-aa.parquet", "chunk-bb.parquet", "other.txt"):
        (parts / name).write_bytes(b"x")
    assert _kept_chunks(str(out)) == (
        f"2 finished chunks are kept in {parts}; run the same command again to resume"
    )
    out.write_bytes(b"old")
    before = file_state(str(out))
    assert _kept_chunks(str(out), before).startswith("2 finished chunks are kept in ")
    for name in ("chunk-aa.parquet", "chunk-bb.parquet"):
        (parts / name).unlink()
    assert _kept_chunks(str(out), before) == f"{out} is as it was; no new chunk had finished"
    assert _kept_chunks(None) == "nothing was written"


def test_ctrl_c_in_the_summary_asks_again_for_an_older_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E17: a --json left from an earlier run counted as written by this one
    import visrec.commands.embed as embed_cmd

    _recorder(monkeypatch)

    def pressed(result: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(embed_cmd, "_duplicate_note", pressed)
    folder = _images(tmp_path / "imgs", 1)
    out, summary = tmp_path / "v.parquet", tmp_path / "s.json"
    summary.write_text("{}")
    argv = ["embed", str(folder), "-o", str(out), "-q", "--json", str(summary)]
    assert main(argv) == 130
    assert capsys.readouterr().err == (
        f"interrupted: {out} was written, not yet --json {summary}; run the same command "
        "again to write it (every vector is reused)\n"
    )
    assert summary.read_text() == "{}"


def test_a_read_error_while_embedding_is_not_called_a_failed_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E29: a ReadError (also an OSError) rewrapped as a write error of the output
    from visrec.errors import read_error

    def embed(items: Any, output: Any, **kw: Any) -> EmbedResult:
        exc = PermissionError(13, "Permission denied", "/weights/w.pth")
        raise read_error("/weights/w.pth: cannot read the weights", exc)

    monkeypatch.setattr(extract_mod, "embed_images", embed)
    folder = _images(tmp_path / "imgs", 1)
    assert main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q"]) == 1
    assert capsys.readouterr().err == "error: /weights/w.pth: cannot read the weights\n"


# --- embed: the summary and --json --------------------------------------------------------


def _fixed(monkeypatch: pytest.MonkeyPatch, **fields: Any) -> None:
    """embed_images returning an EmbedResult of the given fields, writing nothing."""

    def embed(items: Any, output: Any, **kw: Any) -> EmbedResult:
        base: dict[str, Any] = {
            "ids": list(items),
            "failures": [],
            "n_reused": 0,
            "n_computed": len(items),
            "seconds": 1.0,
            "output": None,
            "backbone": str(kw["backbone"]),
            "engine": "torch",
        }
        return EmbedResult(**{**base, **fields})

    monkeypatch.setattr(extract_mod, "embed_images", embed)


def test_the_summary_lines_and_json_carry_each_count_in_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E20 ("image" for one embedded of two), E21/E23 (reused and computed swapped),
    # E24 (seconds rounded to whole), E25 (the skipped note missing from the JSON),
    # E27 (the output's name from the result), E28 (no "wrote JSON" line)
    folder = _images(tmp_path / "imgs", 2)
    (folder / "readme.txt").write_text("x")
    _fixed(
        monkeypatch,
        failures=[("001", str(folder / "001.jpg"), "not an image")],
        n_reused=1,
        n_computed=1,
        seconds=1.2345,
    )
    out, summary = tmp_path / "v.parquet", tmp_path / "s.json"
    argv = ["embed", str(folder), "-o", str(out), "-q", "--json", str(summary)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"embedded 1 of 2 images from {folder} with ")
    assert lines[1] == "  ok 1, failed 1, reused 1, computed 1"
    assert lines[-1] == f"wrote {summary}"
    data = json.loads(summary.read_text())
    assert (data["n"], data["n_ok"], data["n_reused"], data["n_computed"]) == (2, 1, 1, 1)
    assert data["seconds"] == 1.234 and data["output"] == str(out)
    assert any(n.startswith(f"{folder}: skipped 1 entry: readme.txt") for n in data["notes"])
    _fixed(monkeypatch, n_reused=0, n_computed=2)
    assert main(argv) == 0
    out_lines = capsys.readouterr().out.splitlines()
    assert out_lines[1] == "  ok 2, failed 0, reused 0, computed 2"
    assert json.loads(summary.read_text())["n_reused"] == 0


def test_failed_images_sharing_a_zero_vector_are_no_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E19: the has_image mask dropped, the failures' zero vectors made a "shared" group
    _tiny_cli_embed(monkeypatch)
    folder = _images(tmp_path / "imgs", 2)
    (folder / "bad1.jpg").write_bytes(b"%PDF-1.4 not an image")
    (folder / "bad2.jpg").write_bytes(b"")
    out = tmp_path / "v.parquet"
    assert main(["embed", str(folder), "-o", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert "share their vector" not in err and "failed images (2;" in err
    (folder / "dup.jpg").write_bytes((folder / "000.jpg").read_bytes())
    assert main(["embed", str(folder), "-o", str(out), "-q"]) == 0
    assert "note: 2 items share their vector with another item" in capsys.readouterr().err


# --- cluster --------------------------------------------------------------------------------


def _base(tmp_path: Path) -> list[str]:
    return [
        "cluster", str(tmp_path / "v.parquet"), "--labels", str(tmp_path / "t.csv"),
        "--id-col", "id", "--label-col", "kind",
    ]  # fmt: skip


def _more_left_out(tmp_path: Path) -> list[str]:
    """_cluster_files' 30 shoes and 20 bags, with 3 items without an image (one of them
    without a label too: counted once, as without an image) and 2 without a label."""
    rng = np.random.default_rng(1)
    ids = [f"shoe{j:02d}" for j in range(30)] + [f"bag{j:02d}" for j in range(20)]
    rows = [20.0 + rng.normal(size=4) for _ in range(30)] + [
        -20.0 + rng.normal(size=4) for _ in range(20)
    ]
    extra = ["x0", "x1", "xnolab", "nolab0", "nolab1"]
    vecs = np.asarray([*rows, *np.zeros((3, 4)), np.ones(4), -np.ones(4)], dtype=np.float32)
    has = [True] * 50 + [False, False, False, True, True]
    write_vectors(
        tmp_path / "v.parquet",
        ItemVectors(ids=np.asarray([*ids, *extra]), vectors=vecs, has_image=np.asarray(has)),
    )
    table = "id,kind\n" + "".join(f"{i},{i.rstrip('0123456789')}\n" for i in ids)
    (tmp_path / "t.csv").write_text(table + "x0,shoe\nx1,bag\n")
    return _base(tmp_path)


def test_items_left_out_are_counted_each_once_in_note_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # C3 (an item without image and label counted as both), C4 (the counts swapped),
    # C20 (the report's "no image" line showing the no-label count)
    base = _more_left_out(tmp_path)
    seen = _captured_report(monkeypatch)
    assert main([*base, "--report", str(tmp_path / "r.html")]) == 0
    err = capsys.readouterr().err
    assert (
        f"{tmp_path / 'v.parquet'}: 55 items; left out 3 without an image (has_image false, "
        f"or an all-zero vector) and 2 without a label in {tmp_path / 't.csv'}"
    ) in err
    summary = seen[0].summary
    assert summary["items clustered"] == 50
    assert (summary["left out: no image"], summary["left out: no label"]) == (3, 2)


def test_respelt_ids_are_noted_only_when_there_are_some(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # C5: the respelt-ids note said when no id is respelt (or not when one is); its "1 ...
    # are in" (session 68)
    base = _more_left_out(tmp_path)
    assert main(base) == 0
    assert "spelt otherwise" not in capsys.readouterr().err
    (tmp_path / "t.csv").write_text((tmp_path / "t.csv").read_text() + "NOLAB0,shoe\n")
    assert main(base) == 0
    assert (
        "note: 1 of the items without a label is in" in capsys.readouterr().err
    )  # "are" before s68


def test_no_item_to_cluster_names_the_id_column_and_empty_vectors_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # C11 (the label column named as the id column), C1 (empty vectors: "no image")
    _cluster_files(tmp_path)
    (tmp_path / "t.csv").write_text("id,kind\nzz,shoe\n")
    assert main(_base(tmp_path)) == 2
    assert "(are the ids in column 'id' the same as the vector ids?)" in capsys.readouterr().err
    write_vectors(
        tmp_path / "v.parquet",
        ItemVectors(
            ids=np.asarray([], dtype=str),
            vectors=np.zeros((0, 4), dtype=np.float32),
            has_image=np.zeros(0, dtype=bool),
        ),
    )
    assert main(_base(tmp_path)) == 2
    assert f"error: {tmp_path / 'v.parquet'} holds no items" in capsys.readouterr().err


def test_one_label_left_counts_the_items_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # C12: all vectors counted, not the items left to cluster
    base = _more_left_out(tmp_path)
    assert main([*base, "--keep", "shoe"]) == 2
    assert "all 30 items left to cluster have the label 'shoe' (--keep shoe)" in (
        capsys.readouterr().err
    )


def _many_labels(tmp_path: Path, n_labels: int) -> list[str]:
    rng = np.random.default_rng(3)
    ids = [f"i{j}" for j in range(n_labels * 2)]
    write_vectors(
        tmp_path / "v.parquet",
        ItemVectors(
            ids=np.asarray(ids),
            vectors=rng.normal(size=(len(ids), 3)).astype(np.float32),
            has_image=np.ones(len(ids), dtype=bool),
        ),
    )
    (tmp_path / "t.csv").write_text(
        "id,kind\n" + "".join(f"{i},L{j // 2}\n" for j, i in enumerate(ids))
    )
    return _base(tmp_path)


def test_a_given_k_lifts_the_fifty_label_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # C13: --k given, yet refused for the number of labels
    base = _many_labels(tmp_path, 51)
    assert main(base) == 2
    assert "holds 51 distinct labels over 102 items" in capsys.readouterr().err
    assert main([*base, "--k", "3", "-q"]) == 0
    assert capsys.readouterr().out.startswith("K-means with k=3 on 102 items")


def test_the_tiny_label_note_is_left_out_when_k_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # C14: the note says k counts the tiny labels, which a given --k does not
    _, _, base = _cluster_files(tmp_path, with_tiny=True)
    assert main(base) == 0
    assert "holds under 2%" in capsys.readouterr().err
    assert main([*base, "--k", "3"]) == 0
    assert "under 2% of the items" not in capsys.readouterr().err


def test_json_follows_the_seed_carries_the_run_and_is_written_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # C15 (the seed not passed to the analysis), C17 (no "run"), C18 (a plain write),
    # C19 (the report not in the "wrote" lines)
    import visrec._atomic as atomic_mod
    from visrec.analysis.cluster import cluster_vs_labels

    ids, labs, base = _cluster_files(tmp_path)
    written: list[str] = []
    real = atomic_mod.write_text_atomic

    def record(path: Any, text: str, *a: Any, **kw: Any) -> Any:
        written.append(str(path))
        return real(path, text, *a, **kw)

    monkeypatch.setattr(atomic_mod, "write_text_atomic", record)
    out, report = tmp_path / "c.json", tmp_path / "r.html"
    argv = [*base, "--json", str(out), "--report", str(report), "--random-state", "7"]
    assert main(argv) == 0
    assert str(out) in written
    assert capsys.readouterr().out.endswith(f"\nwrote {out}\nwrote {report}\n")
    data = json.loads(out.read_text())
    assert "run" in data
    from visrec.embed.store import read_vectors

    iv = read_vectors(tmp_path / "v.parquet")
    keep = [i in set(ids) for i in iv.ids]
    want = cluster_vs_labels(iv.vectors[keep], np.asarray(labs), random_state=7).to_dict()
    other = cluster_vs_labels(iv.vectors[keep], np.asarray(labs), random_state=0).to_dict()
    assert want["chance"] != other["chance"]  # the seed shows in the label shuffles
    assert data["chance"] == want["chance"]


def test_quiet_silences_the_analysis_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # C16: -q passed the analysis its progress lines all the same
    import visrec.analysis.cluster as analysis

    seen: list[Any] = []
    real = analysis.cluster_vs_labels

    def spy(*a: Any, **kw: Any) -> Any:
        seen.append(kw.get("say"))
        return real(*a, **kw)

    monkeypatch.setattr(analysis, "cluster_vs_labels", spy)
    _, _, base = _cluster_files(tmp_path)
    assert main([*base, "-q"]) == 0
    assert main(base) == 0
    assert seen[0] is None and callable(seen[1])


def test_top_labels_zero_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # C25: --top-labels 0 let through
    _, _, base = _cluster_files(tmp_path)
    assert main([*base, "--top-labels", "0"]) == 2
    assert "--top-labels" in capsys.readouterr().err


def test_a_non_utf8_output_name_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E10: the name reached pyarrow, which refused it only at the first chunk's write
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    assert main(["embed", str(folder), "-o", str(tmp_path / "v\udcff.parquet"), "-q"]) == 2
    assert "the name is not valid UTF-8" in capsys.readouterr().err and not calls


def test_the_fetch_cache_refusal_counts_hashed_names_of_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E18: the two counts swapped ("4 of 3")
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    for c in "abc":
        (folder / (c * 64 + ".jpg")).write_bytes((folder / "000.jpg").read_bytes())
    (folder / "manifest.csv").write_text("item_id,path\n")
    assert main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "its files are named by the hash of their URL (3 of 4), not by item id" in err
    assert not calls


def test_an_output_linking_to_one_of_the_images_is_refused_with_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # E30: the local images left out of the comparison with the outputs (the web ones
    # compared instead): the photo would be written through the link
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    before = (folder / "000.jpg").read_bytes()
    link = tmp_path / "v.vec"
    link.symlink_to(folder / "000.jpg")
    assert main(["embed", str(folder), "-o", str(link), "--overwrite", "-q"]) == 2
    assert "000.jpg" in capsys.readouterr().err
    assert not calls and (folder / "000.jpg").read_bytes() == before
