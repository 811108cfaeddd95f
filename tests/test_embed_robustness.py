"""`visrec embed` robustness: outputs that would replace inputs are refused, read errors
that may pass are retried by the next run, a very thin image resizes in bounded memory,
a file name that is not UTF-8 is skipped with a note, and a run where every image
failed exits 1."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import visrec.embed.compute as compute_mod
import visrec.embed.extract as extract_mod
import visrec.images.decode as decode_mod
from test_embed import TinyBackbone
from tiny_embed import embed_tiny, image_folder, stopped_before_output
from visrec.cli import main as cli_main
from visrec.data.images_index import scan_images
from visrec.embed.backbones import _INTERP, Backbone, get_backbone, list_backbones
from visrec.embed.chunk_files import PARTS_IDLE_S
from visrec.embed.extract import EmbedResult, embed_images, parts_dir
from visrec.embed.store import read_vectors
from visrec.errors import VisrecError
from visrec.images.decode import BadImageError, load_image


@pytest.fixture
def tiny_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """`visrec embed` with an 8-d random conv net: the CLI's code paths in milliseconds."""

    def embed(*args: Any, **kw: Any) -> EmbedResult:
        kw["backbone"] = TinyBackbone()
        return embed_images(*args, **kw)

    monkeypatch.setattr(extract_mod, "embed_images", embed)


# ----------------------------------------------- 1. outputs that name an input


def test_cli_refuses_json_over_vectors_and_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_cli: None
) -> None:
    folder = image_folder(tmp_path / "imgs", 3)
    out = tmp_path / "v.out"  # a name with no format: the clash is what is refused
    argv = ["embed", str(folder), "-o", str(out), "--engine", "torch", "--quiet"]
    assert cli_main([*argv, "--json", str(out)]) == 2
    assert "--json and -o name the same file" in capsys.readouterr().err
    assert not out.exists()

    manifest = tmp_path / "man.csv"
    text = "item_id,path\na,imgs/000.jpg\nb,imgs/001.jpg\n"
    manifest.write_text(text)
    man_argv = ["embed", "--manifest", str(manifest), "-o", str(out), "--quiet"]
    assert cli_main([*man_argv, "--json", str(manifest)]) == 2
    assert "--json: " in capsys.readouterr().err
    assert cli_main(["embed", "--manifest", str(manifest), "-o", str(manifest)]) == 2
    assert "is the --manifest file" in capsys.readouterr().err
    assert manifest.read_text() == text and not out.exists()


def test_cli_refuses_an_output_that_would_replace_an_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_cli: None
) -> None:
    folder = image_folder(tmp_path / "imgs", 3)
    photo = folder / "001.jpg"
    before = photo.read_bytes()
    base = ["embed", str(folder), "--engine", "torch", "--quiet"]
    assert cli_main([*base, "-o", str(photo), "--overwrite"]) == 2
    assert f"-o {photo} is an image; -o names the vectors file" in capsys.readouterr().err
    out = tmp_path / "v.parquet"
    assert cli_main([*base, "-o", str(out), "--json", str(photo)]) == 2
    assert "image 001.jpg" in capsys.readouterr().err
    manifest = tmp_path / "man.csv"
    manifest.write_text("item_id,path\na,imgs/000.jpg\nb,imgs/001.jpg\n")
    assert cli_main(["embed", "--manifest", str(manifest), "-o", str(photo), "--overwrite"]) == 2
    assert photo.read_bytes() == before and not out.exists()
    # an output inside the images folder that is not an image is fine
    inside = folder / "v.parquet"
    assert cli_main([*base, "-o", str(inside), "--json", str(folder / "s.json")]) == 0
    assert read_vectors(inside).vectors.shape == (3, 8)


# ----------------------------------------------- 2. failures that may pass are retried


def test_os_errors_are_classified_where_they_are_made(tmp_path: Path) -> None:
    img = image_folder(tmp_path / "imgs", 1) / "000.jpg"
    assert not decode_mod.is_transient(None) and not decode_mod.is_transient("truncated")
    for code in (errno.EACCES, errno.EMFILE, errno.EIO):
        exc = decode_mod.os_failure(OSError(code, os.strerror(code)), str(img))
        assert exc.transient and exc.reason == decode_mod.RETRY_PREFIX + os.strerror(code)
    assert decode_mod.os_failure(FileNotFoundError(errno.ENOENT, "x")).reason == "file not found"
    assert not decode_mod.os_failure(IsADirectoryError(errno.EISDIR, "x")).transient
    with pytest.raises(BadImageError) as info:
        load_image(tmp_path / "imgs")  # a folder is not a passing failure
    assert not info.value.transient
    data = img.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImageError) as info:
        load_image(tmp_path / "cut.jpg")
    assert info.value.reason == "truncated" and not info.value.transient


def _flaky_open(monkeypatch: pytest.MonkeyPatch, name: str, code: int) -> list[int]:
    """``open`` in the image decoder fails with ``code`` for the file ``name`` while the
    returned list is empty (append to it to heal the file)."""
    healed: list[int] = []

    def fake_open(path: Any, *args: Any, **kw: Any) -> Any:
        if Path(path).name == name and not healed:
            raise OSError(code, os.strerror(code), str(path))
        return open(path, *args, **kw)

    monkeypatch.setattr(decode_mod, "open", fake_open, raising=False)
    return healed


@pytest.mark.parametrize("code", [errno.EACCES, errno.EMFILE, errno.EIO])
def test_read_error_is_retried_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    folder = image_folder(tmp_path / "imgs", 10)
    clean = embed_tiny(folder, tmp_path / "clean.parquet")
    assert not clean.failures
    out = tmp_path / "v.parquet"
    healed = _flaky_open(monkeypatch, "004.jpg", code)
    first = embed_tiny(folder, out)
    assert [(i, r) for i, _, r in first.failures] == [
        ("004", decode_mod.RETRY_PREFIX + os.strerror(code))
    ]
    assert not read_vectors(out).has_image[4]

    healed.append(1)  # chmod, ulimit or the disk fixed: mtime unchanged
    second = embed_tiny(folder, out)
    assert second.n_computed > 0 and not second.failures
    assert second.n_reused == 10 - second.n_computed  # only the chunk of 004
    assert any("read error" in n for n in second.notes)
    assert np.array_equal(read_vectors(out).vectors, clean.vectors.vectors)
    assert read_vectors(out).has_image.all()
    third = embed_tiny(folder, out)
    assert third.n_computed == 0 and third.engine == "reused"


def test_read_error_in_an_interrupted_runs_chunk_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = image_folder(tmp_path / "imgs", 10)
    clean = embed_tiny(folder, None).vectors.vectors
    out = tmp_path / "v.parquet"
    healed = _flaky_open(monkeypatch, "002.jpg", errno.EIO)

    stopped_before_output(monkeypatch, lambda: embed_tiny(folder, out))
    assert len(list(parts_dir(out).glob("chunk-*.parquet"))) >= 2
    healed.append(1)
    again = embed_tiny(folder, out)
    assert 0 < again.n_computed < 10 and not again.failures
    assert np.array_equal(read_vectors(out).vectors, clean)


def test_memory_error_is_retried_and_permanent_failures_are_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = image_folder(tmp_path / "imgs", 8)
    (folder / "doc.jpg").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (folder / "empty.jpg").write_bytes(b"")
    out = tmp_path / "v.parquet"
    real = compute_mod.load_image
    short_of_memory = [True]

    def loader(path: Any, **kw: Any) -> Any:
        if Path(path).name == "006.jpg" and short_of_memory[0]:
            raise MemoryError
        return real(path, **kw)

    monkeypatch.setattr(compute_mod, "load_image", loader)
    first = embed_tiny(folder, out, chunk_size=2)
    reasons = {i: r for i, _, r in first.failures}
    assert decode_mod.is_transient(reasons.pop("006"))
    assert reasons == {"doc": "not an image (PDF document)", "empty": "empty file"}
    short_of_memory[0] = False
    second = embed_tiny(folder, out, chunk_size=2)
    assert 0 < second.n_computed < 10
    assert sorted(i for i, _, _ in second.failures) == ["doc", "empty"]
    third = embed_tiny(folder, out, chunk_size=2)  # permanent failures are reused as before
    assert third.n_computed == 0 and len(third.failures) == 2


# ----------------------------------------------- 3. a very thin image


def _old_resized(bb: Backbone, img: Image.Image) -> Image.Image:
    """``Backbone.resized`` before the thin-image fix: full resize, then centre crop."""
    th, tw = bb.input_size
    interp = _INTERP[bb.interpolation]
    w, h = img.size
    s = bb.resize_size
    nw, nh = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), interp)
    top, left = round((nh - th) / 2.0), round((nw - tw) / 2.0)
    if (nw, nh) != (tw, th):
        img = img.crop((left, top, left + tw, top + th))
    return img


@pytest.mark.parametrize(
    "size", [(92, 138), (138, 92), (224, 224), (40, 30), (300, 900), (1000, 250), (256, 256)]
)
def test_resized_is_unchanged_for_ordinary_aspect_ratios(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(size[0] * 7 + size[1])
    img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    for bb in [get_backbone(n) for n in list_backbones()] + [TinyBackbone()]:
        assert np.array_equal(np.asarray(bb.resized(img)), np.asarray(_old_resized(bb, img)))


@pytest.mark.parametrize("size", [(1, 20000), (20000, 1), (3, 8000), (7, 1000)])
def test_resized_thin_image_stays_small(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    bb = get_backbone("efficientnet-lite0")
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    made: list[tuple[int, int]] = []
    resize = Image.Image.resize

    def spy(self: Image.Image, new: tuple[int, int], *args: Any, **kw: Any) -> Image.Image:
        made.append(tuple(new))  # type: ignore[arg-type]
        return resize(self, new, *args, **kw)

    monkeypatch.setattr(Image.Image, "resize", spy)
    got = bb.resized(img)
    assert got.size == (224, 224)
    assert made and max(w * h for w, h in made) <= 224 * 224
    if max(size) <= 1000:  # the old way is affordable here: the same pixels, +-1
        monkeypatch.setattr(Image.Image, "resize", resize)
        old = np.asarray(_old_resized(bb, img)).astype(int)
        assert np.abs(np.asarray(got).astype(int) - old).max() <= 1


def test_embed_a_one_pixel_wide_image(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "imgs", 2)
    Image.new("RGB", (1, 20000), (200, 10, 10)).save(folder / "thin.png")
    result = embed_tiny(folder, tmp_path / "v.parquet")
    assert not result.failures and read_vectors(tmp_path / "v.parquet").has_image.all()


# ----------------------------------------------- 4. a file name that is not UTF-8


def _bad_name(folder: Path) -> str:
    raw = os.fsencode(folder) + b"/caf\xe9.png"
    Image.new("RGB", (20, 20), (1, 2, 3)).save(os.fsdecode(raw))
    return os.fsdecode(b"caf\xe9.png")


def test_non_utf8_file_name_is_skipped_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_cli: None
) -> None:
    folder = image_folder(tmp_path / "imgs", 2)
    try:
        name = _bad_name(folder)
    except OSError:  # a file system that only stores UTF-8 names
        pytest.skip("file system refuses non-UTF-8 names")
    scan = scan_images(folder)
    assert list(scan.images) == ["000", "001"]
    note = scan.skipped_note()
    assert note is not None and repr(name) in note and "UTF-8" in note
    out = tmp_path / "v.parquet"
    assert cli_main(["embed", str(folder), "-o", str(out), "--engine", "torch"]) == 0
    captured = capsys.readouterr()
    assert repr(name) in captured.err and "ok 2, failed 0" in captured.out
    assert list(read_vectors(out).ids) == ["000", "001"]


def test_library_refuses_an_id_that_is_not_utf8(tmp_path: Path) -> None:
    img = image_folder(tmp_path / "imgs", 1) / "000.jpg"
    with pytest.raises(VisrecError, match="not valid UTF-8"):
        embed_images({"caf\udce9": img}, tmp_path / "v.parquet", backbone=TinyBackbone())


# ----------------------------------------------- 5. every image failed


def test_cli_exits_1_when_every_image_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_cli: None
) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.jpg").write_bytes(b"%PDF-1.4\n%%EOF\n")
    out, summary = tmp_path / "v.parquet", tmp_path / "s.json"
    argv = ["embed", str(folder), "-o", str(out), "--engine", "torch", "--json", str(summary)]
    assert cli_main(argv) == 1
    captured = capsys.readouterr()
    assert "ok 0, failed 3" in captured.out and summary.exists()
    errors = [line for line in captured.err.splitlines() if "none of the 3 images" in line]
    assert len(errors) == 1 and str(out) in errors[0]
    assert not read_vectors(out).has_image.any()
    assert cli_main(argv) == 1  # a reuse of the same failures too
    image_folder(folder, 1)
    assert cli_main(argv) == 0  # one image embedded is a success


def test_an_idle_parts_folder_goes_once_the_output_is_up_to_date(tmp_path: Path) -> None:
    # a run killed after another one finished the same output left its chunk files
    # for good: each later run said "up to date" and kept them
    folder = image_folder(tmp_path / "img", 6)
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out)
    parts = parts_dir(out)
    parts.mkdir()
    stray = parts / "chunk-0123.parquet"
    stray.write_bytes(b"partial")
    res = embed_tiny(folder, out)  # a run may still be writing it: kept
    assert res.n_reused == 6 and stray.exists()
    old = stray.stat().st_mtime - PARTS_IDLE_S - 1
    os.utime(stray, (old, old))
    res = embed_tiny(folder, out)
    assert res.n_reused == 6 and not parts.exists()
    assert any("chunk files of an interrupted run removed" in n for n in res.notes)
