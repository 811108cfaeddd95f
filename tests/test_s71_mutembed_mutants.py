"""Session 71: mutation audit of ``visrec embed`` and ``visrec cluster``, the later parts.

Audited: commands/embed.py (the summary lines, notes said once, the failure listing,
--json's fields and run block, the exit-1 line, Ctrl-C in and after the run, the
wrapping of a failed write, -o/--json against the images listed, the last option
checks) and commands/cluster.py (--json, the "wrote" lines, the report's summary, note
and photos, the tiny-label note's advice and its --keep quoting, --keep/--top-labels
counts, outputs against --labels and the --images photos, --k, the seed).
Runner: /tmp/s71/mutembed/mutants.py (exact replace, asserted once; restored byte for
byte). Session 68's unrun E22-E32/C22-C32 were not rebuilt; these are new mutants.

Mutants written: 40 (M01-M29 embed, 23 of them; K01-K25 cluster, 17). Run first against
test_s68_embedclu/test_s62_embedcmd/test_embed_qa_fixes (embed) or test_s68, s64, s49
cluster mutants, test_cluster, test_s51_cluster, test_s49_cluster_html (cluster): 23
killed. The 17 survivors were run against wider files (test_embed, *_embed_resume,
test_cli_interrupt, test_embed_robustness/_retry_rows/_lock, test_fs_awkward_embed,
test_embed_mutation_gaps; test_outputs_not_inputs, test_output_checks,
test_analysis_reports, test_cli_option_ranges): 5 more killed (M03, M07 by test_embed;
M24 by test_embed_robustness; K22 by test_outputs_not_inputs; K24 by
test_cli_option_ranges). Killed by old tests: 28; survived: 12 (M10, M11, M13, M17,
M20, M25, M27, K01, K13, K14, K15, K23). Killed after: 39, the 11 gaps by this file
(which also kills M03, M07, M24 and K22), each checked to pass on the real source and
fail on its mutant.

Equivalent: 1.
- M25 the web URLs of a manifest kept among the paths compared with the outputs: a URL
  as a Path resolves under ./https:/..., where no -o or --json is unless the user
  made a folder named "https:"; no output ever matches one.

Which test kills which: nothing_to_compute (M03: the rate line chosen by n_ok);
json_keeps_whole_paths (M07 the failure path cut to its name, M10 the rate to one
place, M11 the engine asked for, M13 no run block); ctrl_c_without_json (M17 "not yet
--json None"); kept_chunks_of_an_unreadable_parts_folder (M20 the OSError let
through); json_naming_one_of_the_images (M24 --json left out of the check against
the images); M27 ("-o COVER.JPG" replaced with --overwrite) by the COVER.JPG case of
test_s62_embedcmd_mutants' existing-image test;
cluster_json_ends_its_last_line (K01 no final line break); keep_fields_read_back (K14
inner quotes not doubled, K15 a label with a quote and no comma not quoted);
tiny_label_note_offers_no_keep (K13 a tab pasted into --keep advice);
labels_table_is_refused (K22); json_naming_one_of_the_report_photos (K23 --json left
out of scan_photos' outputs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import visrec.commands.embed as embed_cmd
from test_embed import _images
from test_s49_cluster_mutants import _captured_report, _cluster_files
from test_s62_embedcmd_mutants import _recorder
from test_s68_embedclu_mutants import _fixed
from visrec.cli import main

# --- embed: the summary lines -----------------------------------------------------------


def test_nothing_to_compute_is_said_when_nothing_was_computed_not_when_none_was_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # M03: the rate line chosen by the images embedded instead of the images computed
    folder = _images(tmp_path / "imgs", 2)
    argv = ["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q"]
    _fixed(monkeypatch, n_reused=2, n_computed=0, seconds=1.0)
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[2] == "  1.0 s, nothing to compute"
    failures = [(i, str(folder / f"{i}.jpg"), "not an image") for i in ("000", "001")]
    _fixed(monkeypatch, failures=failures, n_computed=2, n_computed_failed=2, seconds=4.0)
    assert main(argv) == 1
    line = capsys.readouterr().out.splitlines()[2]
    assert line == "  4.0 s, 0.0 img/s (images embedded this run / wall time)"


# --- embed: --json ----------------------------------------------------------------------


def test_the_json_keeps_whole_paths_the_engine_run_and_the_rate_to_two_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # M07 (a failure's path cut to its name, as in the listing), M10 (the rate to one
    # place), M11 (the engine asked for, "auto", instead of the one that ran), M13 (no
    # run block)
    _recorder(monkeypatch, n_failed=1, n_computed=1, seconds=3.0)
    folder = _images(tmp_path / "imgs", 1)
    summary = tmp_path / "s.json"
    argv = ["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q", "--json", str(summary)]
    assert main(argv) == 0
    assert "  bad00.jpg (item bad00): not an image" in capsys.readouterr().err
    data = json.loads(summary.read_text())
    assert data["failures"] == [
        {"item_id": "bad00", "path": "/nowhere/sub/bad00.jpg", "reason": "not an image"}
    ]
    assert data["engine"] == "torch"
    assert data["images_per_second"] == round(1 / 3, 2)
    assert data["run"]["command"].startswith(f"visrec embed {folder} -o ")


# --- embed: Ctrl-C ----------------------------------------------------------------------


def test_ctrl_c_in_the_summary_without_json_names_no_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # M17: "not yet --json None" said of a run without --json
    _recorder(monkeypatch)

    def pressed(result: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(embed_cmd, "_duplicate_note", pressed)
    folder = _images(tmp_path / "imgs", 1)
    out = tmp_path / "v.parquet"
    assert main(["embed", str(folder), "-o", str(out), "-q"]) == 130
    assert capsys.readouterr().err == f"interrupted: {out} was written\n"


def test_kept_chunks_of_an_unreadable_parts_folder_is_a_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # M20: the OSError of listing the chunks (a folder it may not read) let through, so
    # the Ctrl-C line became a traceback
    import visrec.embed.chunk_files as chunk_mod
    from visrec.commands.embed import _kept_chunks

    def unreadable(parts: Path) -> list[Path]:
        raise PermissionError(13, "Permission denied", str(parts))

    monkeypatch.setattr(chunk_mod, "chunk_files_in", unreadable)
    out = tmp_path / "v.parquet"
    assert _kept_chunks(str(out)) == "no chunk had finished, so nothing was kept"
    out.write_bytes(b"old")
    from visrec.commands._resume import file_state

    assert _kept_chunks(str(out), file_state(str(out))) == (
        f"{out} is as it was; no new chunk had finished"
    )


# --- embed: outputs against the images ---------------------------------------------------


def test_a_json_naming_one_of_the_images_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # M24: only -o checked against the images listed, so --json replaced a photo
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 2)
    photo = folder / "001.jpg"
    before = photo.read_bytes()
    argv = ["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q", "--json", str(photo)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --json: '{photo}' is the image 001.jpg") and not calls
    assert photo.read_bytes() == before


# --- cluster: --json and --report -------------------------------------------------------


def test_cluster_json_ends_its_last_line_and_both_outputs_are_said_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # K01 (the JSON without its final line break), K02 (no "wrote" line for --report)
    _, _, base = _cluster_files(tmp_path)
    _captured_report(monkeypatch)
    out, report = tmp_path / "c.json", tmp_path / "r.html"
    assert main([*base, "-q", "--json", str(out), "--report", str(report)]) == 0
    text = out.read_text()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert json.loads(text)["n"] == 50
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3:] == ["", f"wrote {out}", f"wrote {report}"]


# --- cluster: the tiny-label note's advice ----------------------------------------------


def test_keep_fields_read_back_as_the_labels_they_quote() -> None:
    # K14 (a double quote inside a quoted field not doubled), K15 (a label with a double
    # quote but no comma left unquoted: read back as a quoted field)
    from visrec.commands.cluster import _keep_field, keep_labels

    labels = ["Clothing, Shoes", '"Best" sellers', 'say "hi", twice', "plain"]
    assert keep_labels(",".join(map(_keep_field, labels)), set()) == labels
    assert _keep_field("plain") == "plain"


def test_the_tiny_label_note_offers_no_keep_for_a_label_with_a_control_character(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # K13: a label with a tab pasted into the suggested --keep
    from visrec.commands.cluster import _note_small_labels

    note = _note_small_labels(["a\tb"] * 60 + ["c"] * 40 + ["tiny"])
    assert note is not None
    assert note.endswith(
        "to compare the main categories, --top-labels 2 (not --keep: a label holds a "
        "control or invisible character)"
    )
    assert capsys.readouterr().err == f"note: {note}\n"
    plain = _note_small_labels(["ab"] * 60 + ["c"] * 40 + ["tiny"])
    assert plain is not None and plain.endswith("--keep ab,c (or --top-labels 2)")


# --- cluster: outputs against the inputs ------------------------------------------------


def test_a_cluster_output_naming_the_labels_table_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # K22: the --labels table left out of the inputs the outputs are checked against
    _, _, base = _cluster_files(tmp_path)
    table = tmp_path / "t.csv"
    before = table.read_bytes()
    assert main([*base, "--json", str(table)]) == 2
    err = capsys.readouterr().err
    assert f"error: --json: '{table}' is the --labels file; writing it would replace it" in err
    assert table.read_bytes() == before


def test_a_cluster_json_naming_one_of_the_report_photos_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # K23: only --report checked against the --images photos, so --json replaced one
    from PIL import Image

    ids, _, base = _cluster_files(tmp_path)
    images = tmp_path / "img"
    images.mkdir()
    for i in ids[:3]:
        Image.new("RGB", (8, 8), (200, 0, 0)).save(images / f"{i}.jpg")
    photo = images / f"{ids[1]}.jpg"
    before = photo.read_bytes()
    seen = _captured_report(monkeypatch)
    argv = [*base, "--report", str(tmp_path / "r.html"), "--images", str(images)]
    assert main([*argv, "--json", str(photo)]) == 2
    err = capsys.readouterr().err
    assert f"error: --json: '{photo}' is the --images photo {photo.name} file" in err
    assert photo.read_bytes() == before and not seen
