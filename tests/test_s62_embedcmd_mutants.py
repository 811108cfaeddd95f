"""Mutation audit of ``visrec embed`` (src/visrec/commands/embed.py): argument checks,
options reaching embed_images, the printed summary, --json, exit statuses, Ctrl-C lines.

50 mutants. 31 (m01-m31) were run against the existing embed CLI tests (a reduced set
for time; the slow backbone/ONNX files left out): 21 killed, 10 survived. 9 of those
10 are killed by this file; 1 equivalent:
- ``if not result.n_ok`` for ``if result.n and not result.n_ok``: an empty listing
  is refused before embedding, so ``result.n`` is never 0 here.
Of the 19 not run against the old tests for time, this file kills 10 and
test_backbones_lite kills the --list-backbones width one. The other 8 were run later
against the old tests that name their messages: 7 killed (the duplicate-vectors note
twice, "nothing to compute", the fetch-cache manifest refusal, check_dropped's
overwrite, the early skipped note, the Ctrl-C line); m34 (the failure listing not
escaped) survived and is killed by the last test here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import visrec.embed.extract as extract_mod
from test_embed import _images
from visrec.cli import main
from visrec.embed.extract import EmbedResult


def _recorder(
    monkeypatch: pytest.MonkeyPatch, n_failed: int = 0, n_computed: int = 1, seconds: float = 2.0
) -> list[dict[str, Any]]:
    """Stand in for embed_images: record its keyword arguments, return a result with
    ``n_failed`` failures (no model, no file written)."""
    calls: list[dict[str, Any]] = []

    def embed(items: Any, output: Any, **kw: Any) -> EmbedResult:
        calls.append({"items": dict(items), "output": output, **kw})
        ids = [*dict(items)] + [f"bad{i:02d}" for i in range(n_failed)]
        failures = [
            (f"bad{i:02d}", f"/nowhere/sub/bad{i:02d}.jpg", "not an image") for i in range(n_failed)
        ]
        return EmbedResult(
            ids=ids,
            failures=failures,
            n_reused=0,
            n_computed=n_computed,
            seconds=seconds,
            output=None,
            backbone=str(kw["backbone"]),
            engine="torch",
        )

    monkeypatch.setattr(extract_mod, "embed_images", embed)
    return calls


def test_every_option_reaches_embed_images_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 2)
    out = tmp_path / "v.parquet"
    argv = ["embed", str(folder), "-o", str(out), "-q", "--backbone", "efficientnet-lite1"]
    argv += ["--engine", "onnx", "--device", "cpu", "--batch-size", "3", "--workers", "2"]
    argv += ["--chunk-size", "7", "--overwrite"]
    assert main(argv) == 0
    (kw,) = calls
    assert kw["output"] == str(out) and sorted(kw["items"]) == ["000", "001"]
    assert (
        kw["backbone"] == "efficientnet-lite1" and kw["engine"] == "onnx" and kw["device"] == "cpu"
    )
    assert (kw["batch_size"], kw["workers"], kw["chunk_size"]) == (3, 2, 7)
    assert kw["overwrite"] is True and kw["ray_address"] is None
    assert kw["progress"] is False
    calls.clear()
    assert main(["embed", str(folder), "-o", str(out), "-q"]) == 0
    (kw,) = calls
    assert kw["backbone"] == "efficientnet-lite0" and kw["engine"] == "auto"
    assert kw["device"] == "auto" and kw["overwrite"] is False
    assert (kw["batch_size"], kw["workers"], kw["chunk_size"]) == (None, None, None)


@pytest.mark.parametrize(
    "flags",
    [["--batch-size", "0"], ["--workers", "0"], ["--chunk-size", "0"], ["--workers", "-1"]],
)
def test_counts_below_one_are_refused_before_any_work(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
) -> None:
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    assert main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), *flags]) == 2
    assert flags[0] in capsys.readouterr().err and not calls


def test_a_pq_output_gets_no_note_and_one_image_is_singular(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    out = tmp_path / "v.pq"
    assert main(["embed", str(folder), "-o", str(out), "-q"]) == 0
    text, err = capsys.readouterr()
    assert err == ""
    assert text.startswith(f"embedded 1 image from {folder} with efficientnet-lite0 (engine torch)")


@pytest.mark.parametrize("n_failed", [50, 51])
def test_the_failure_listing_stops_after_fifty_and_json_lists_all(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    n_failed: int,
) -> None:
    _recorder(monkeypatch, n_failed=n_failed, n_computed=n_failed + 1, seconds=2.0)
    folder = _images(tmp_path / "imgs", 1)
    summary = tmp_path / "s.json"
    argv = ["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q", "--json", str(summary)]
    assert main(argv) == 0
    text, err = capsys.readouterr()
    assert f"embedded 1 of {n_failed + 1} images" in text
    listed = [line for line in err.splitlines() if line.startswith("  bad")]
    assert len(listed) == 50 and listed[0] == "  bad00.jpg (item bad00): not an image"
    more = [line for line in err.splitlines() if "more (--json JSON lists all)" in line]
    assert more == ([] if n_failed == 50 else ["  ... and 1 more (--json JSON lists all)"])
    data = json.loads(summary.read_text())
    assert len(data["failures"]) == n_failed
    assert data["images_per_second"] == round((n_failed + 1) / 2.0, 2)
    assert data["n"] == n_failed + 1 and data["n_ok"] == 1


def test_a_manifest_failure_is_listed_by_its_whole_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _recorder(monkeypatch, n_failed=1)
    _images(tmp_path / "imgs", 1)
    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\na,imgs/000.jpg\n")
    assert (
        main(["embed", "--manifest", str(manifest), "-o", str(tmp_path / "v.parquet"), "-q"]) == 0
    )
    err = capsys.readouterr().err
    assert "  /nowhere/sub/bad00.jpg (item bad00): not an image" in err.splitlines()


def test_a_folder_of_exactly_half_hashes_is_no_fetch_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    (folder / ("a" * 64 + ".jpg")).write_bytes((folder / "000.jpg").read_bytes())
    (folder / "manifest.csv").write_text("item_id,path\n")
    assert main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q"]) == 0
    assert "fetch cache" not in capsys.readouterr().err


def test_a_txt_file_given_as_images_dir_is_refused_naming_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _recorder(monkeypatch)
    listing = tmp_path / "items.txt"
    listing.write_text("item_id,path\na,a.jpg\n")
    assert main(["embed", str(listing), "-o", str(tmp_path / "v.parquet")]) == 2
    err = capsys.readouterr().err
    assert "a file, not a folder of images" in err and "--manifest" in err and not calls


@pytest.mark.parametrize("bad", ["folder", "summary.csv"])
def test_a_bad_json_path_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    (tmp_path / "folder").mkdir()
    argv = ["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "--json", str(tmp_path / bad)]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error: --json") and not calls


def test_a_failed_write_names_the_file_it_failed_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def embed(items: Any, output: Any, **kw: Any) -> EmbedResult:
        raise PermissionError(13, "Permission denied", "/elsewhere/chunk-0.parquet")

    monkeypatch.setattr(extract_mod, "embed_images", embed)
    folder = _images(tmp_path / "imgs", 1)
    assert main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "/elsewhere/chunk-0.parquet: Permission denied" in err and "Traceback" not in err


def test_images_dir_and_manifest_together_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\na,imgs/000.jpg\n")
    argv = ["embed", str(folder), "--manifest", str(manifest), "-o", str(tmp_path / "v.parquet")]
    assert main(argv) == 2
    assert "give exactly one of IMAGES_DIR or --manifest" in capsys.readouterr().err
    assert not calls


def test_an_empty_manifest_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _recorder(monkeypatch)
    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\n")
    assert main(["embed", "--manifest", str(manifest), "-o", str(tmp_path / "v.parquet")]) == 2
    err = capsys.readouterr().err
    assert f"{manifest}: the manifest lists no images (no rows after its header)" in err


def test_the_skipped_note_names_the_folder_once_in_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    (folder / "notes.bin").write_bytes(b"x")
    assert main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "notes.bin" in line]
    assert len(notes) == 1 and notes[0].startswith(f"note: {folder}: skipped 1 entry: notes.bin")


def test_ctrl_c_leaving_an_earlier_output_as_it_was_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_embed import _tiny_cli_embed

    _tiny_cli_embed(monkeypatch)
    folder = _images(tmp_path / "imgs", 2)
    out = tmp_path / "v.parquet"
    assert main(["embed", str(folder), "-o", str(out), "-q"]) == 0
    capsys.readouterr()

    def pressed(items: Any, output: Any, **kw: Any) -> EmbedResult:
        raise KeyboardInterrupt

    monkeypatch.setattr(extract_mod, "embed_images", pressed)
    assert main(["embed", str(folder), "-o", str(out), "-q"]) == 130
    assert capsys.readouterr().err == (
        f"interrupted: {out} is as it was; no new chunk had finished\n"
    )


def test_ctrl_c_after_the_json_was_written_does_not_ask_for_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import visrec._atomic as atomic_mod

    _recorder(monkeypatch)
    real = atomic_mod.write_text_atomic

    def write_then_press(path: Any, text: str, *a: Any, **kw: Any) -> Any:
        real(path, text, *a, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_mod, "write_text_atomic", write_then_press)
    folder = _images(tmp_path / "imgs", 1)
    out, summary = tmp_path / "v.parquet", tmp_path / "s.json"
    argv = ["embed", str(folder), "-o", str(out), "-q", "--json", str(summary)]
    assert main(argv) == 130
    assert capsys.readouterr().err == f"interrupted: {out} was written\n"
    assert json.loads(summary.read_text())["n"] == 1


def test_a_missing_file_met_while_embedding_is_bad_input_not_a_failed_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def embed(items: Any, output: Any, **kw: Any) -> EmbedResult:
        raise FileNotFoundError(2, "No such file or directory", "/gone/weights.pth")

    monkeypatch.setattr(extract_mod, "embed_images", embed)
    folder = _images(tmp_path / "imgs", 1)
    assert main(["embed", str(folder), "-o", str(tmp_path / "v.parquet"), "-q"]) == 2
    err = capsys.readouterr().err
    # the CLI's own wording of a missing file, not a write error's strerror
    assert err == "error: /gone/weights.pth: no such file or directory\n"


@pytest.mark.parametrize("name", ["photo.jpg", "COVER.JPG"])  # s71 M27: a camera's suffix
def test_an_existing_image_as_output_is_refused_even_with_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    calls = _recorder(monkeypatch)
    folder = _images(tmp_path / "imgs", 1)
    photo = tmp_path / name  # not one of the inputs: only this check stops it
    photo.write_bytes((folder / "000.jpg").read_bytes())
    before = photo.read_bytes()
    assert main(["embed", str(folder), "-o", str(photo), "--overwrite", "-q"]) == 2
    assert f"-o {photo} is an image" in capsys.readouterr().err
    assert not calls and photo.read_bytes() == before


def test_a_run_where_every_image_failed_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_embed import _tiny_cli_embed

    _tiny_cli_embed(monkeypatch)
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "x.jpg").write_bytes(b"%PDF-1.4 not an image")
    out = tmp_path / "v.parquet"
    assert main(["embed", str(folder), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"error: the only image could not be embedded (all failed; see above); {out}" in err
    assert out.exists()


# m34 (the failure listing without ``shown``: a line break in a manifest's path or an
# item id cut the listing, its second half read as a line of its own)
def test_a_line_break_in_a_failed_path_or_id_is_escaped_in_the_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def embed(items: Any, output: Any, **kw: Any) -> EmbedResult:
        return EmbedResult(
            ids=["a\nb"],
            failures=[("a\nb", "/x/line\nbreak.jpg", "not an image")],
            n_reused=0,
            n_computed=1,
            seconds=1.0,
            output=None,
            backbone=str(kw["backbone"]),
            engine="torch",
        )

    monkeypatch.setattr(extract_mod, "embed_images", embed)
    _images(tmp_path / "imgs", 1)
    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\na,imgs/000.jpg\n")
    main(["embed", "--manifest", str(manifest), "-o", str(tmp_path / "v.parquet"), "-q"])
    lines = capsys.readouterr().err.splitlines()
    assert "  '/x/line\\nbreak.jpg' (item 'a\\nb'): not an image" in lines
    assert not any(line.startswith("break.jpg") for line in lines)
