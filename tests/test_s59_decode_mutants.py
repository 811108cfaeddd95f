"""Session 59 mutation audit of visrec.images.decode and visrec.data.images_index.

82 hand-written mutants (42 in decode.py, 40 in images_index.py): 40 killed by the
existing tests, 35 more by the tests below, 7 equivalent (see the audit report).
One bug was fixed in decode.py: an out-of-memory
error while opening, rotating or converting an image became the permanent failure
"unreadable: MemoryError" (or, in EXIF rotation, an image left unrotated without a word)
instead of the transient "out of memory" that the next run retries.
"""

from __future__ import annotations

import errno
import io
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

from visrec.data import images_index
from visrec.data.images_index import (
    BROKEN_LINK,
    LINKED_FOLDER,
    NO_ID,
    load_manifest,
    manifest_base,
    read_manifest_rows,
    scan_images,
)
from visrec.errors import VisrecError
from visrec.images import decode
from visrec.images.decode import RETRY_PREFIX, BadImageError, load_image, says_truncated


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _reason(src: Path | bytes, **kw: object) -> BadImageError:
    with pytest.raises(BadImageError) as info:
        load_image(src, **kw)  # type: ignore[arg-type]
    return info.value


# ---------------------------------------------------------------- decode: pixels


def test_gray_with_alpha_is_composited_on_white(tmp_path: Path) -> None:
    # kills D03: "LA" left out of the alpha modes (a transparent black pixel came out black)
    a = np.zeros((4, 6, 2), dtype=np.uint8)
    a[:, :3] = (40, 255)  # opaque dark grey left, transparent black right
    p = tmp_path / "la.png"
    Image.fromarray(a, "LA").save(p)
    out = np.asarray(load_image(p))
    assert tuple(out[1, 1]) == (40, 40, 40)
    assert tuple(out[1, 4]) == (255, 255, 255)


def test_16bit_grey_is_divided_by_257(tmp_path: Path) -> None:
    # kills D04: 1/256 instead of 1/257 (65000 -> 254 instead of 253)
    a = np.full((3, 3), 65000, dtype=np.uint16)
    p = tmp_path / "d.png"
    Image.fromarray(a).save(p)
    assert np.asarray(load_image(p))[0, 0].tolist() == [253, 253, 253]


def test_big_endian_16bit_tiff_is_divided_by_257(tmp_path: Path) -> None:
    # kills D28: only "I;16" taken as 16-bit ("I;16B" scaled from its own largest value)
    a = np.full((4, 4), 128 * 257, dtype=">u2")
    a[0, 0] = 64 * 257
    p = tmp_path / "be.tif"
    Image.fromarray(a).save(p)
    with Image.open(p) as stored:
        assert stored.mode == "I;16B"
    out = np.asarray(load_image(p))
    assert out[0, 0].tolist() == [64, 64, 64] and out[2, 2].tolist() == [128, 128, 128]


def test_jpeg_draft_covers_the_larger_side_on_both(tmp_path: Path) -> None:
    # kills D20: the draft sized by the smaller side (an 800 x 400 photo came out 200 x 100)
    arr = np.random.default_rng(0).integers(0, 255, (400, 800, 3), dtype=np.uint8)
    p = tmp_path / "w.jpg"
    Image.fromarray(arr).save(p)
    w, h = load_image(p, draft_size=(300, 100)).size
    assert w >= 300 and h >= 300


def test_jpeg_draft_keeps_colour(tmp_path: Path) -> None:
    # kills D21: the draft decoded as "L" (grey) instead of "RGB"
    p = tmp_path / "red.jpg"
    Image.new("RGB", (800, 800), (220, 20, 20)).save(p, quality=95)
    img = load_image(p, draft_size=(100, 100))
    assert img.size == (100, 100)
    r, g, b = np.asarray(img)[50, 50].astype(int)
    assert r > 190 and g < 60 and b < 60


# ---------------------------------------------------------------- decode: reasons


def test_empty_bytes_say_empty_file() -> None:
    # kills D10: the bytes' empty check dropped ("not an image" instead)
    assert _reason(b"").reason == "empty file"


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (b"\r\n  \t<!DOCTYPE html><html></html>", "HTML page"),  # D16: no lstrip
        (b"<html><body>Not found</body></html>", "HTML page"),  # D31: "<html" dropped
        (b"<HTML><BODY>gone</BODY></HTML>", "HTML page"),
    ],
)
def test_text_bodies_are_named(tmp_path: Path, payload: bytes, kind: str) -> None:
    # kills D16 and D31
    p = tmp_path / "x.jpg"
    p.write_bytes(payload)
    err = _reason(p)
    assert err.reason == f"not an image ({kind})" and not err.transient
    assert str(err) == f"{p}: not an image ({kind})"


def test_max_pixels_is_inclusive(tmp_path: Path) -> None:
    # kills D19: ">=" (an image of exactly max_pixels refused as a bomb)
    p = tmp_path / "ok.png"
    Image.new("RGB", (10, 10), (1, 2, 3)).save(p)
    assert load_image(p, max_pixels=100).size == (10, 10)
    assert _reason(p, max_pixels=99).reason == "decompression bomb (10 x 10)"


def test_a_header_cut_short_is_truncated(tmp_path: Path) -> None:
    # kills D23 and D35: Pillow's "Truncated File Read" while opening (capital T)
    p = tmp_path / "cut.png"
    p.write_bytes(_png(Image.new("RGB", (30, 30), (9, 9, 9)))[:20])
    err = _reason(p)
    assert err.reason == "truncated" and not err.transient


@pytest.mark.parametrize(
    ("message", "truncated"),
    [
        ("image file is truncated (3 bytes not processed)", True),
        ("Truncated File Read", True),
        ("broken data stream when reading image file", True),  # D22 (older Pillow)
        ("Premature end of JPEG file", True),
        ("cannot identify image file", False),
    ],
)
def test_says_truncated_knows_pillows_words(message: str, truncated: bool) -> None:
    # kills D22 and D23
    assert says_truncated(message) is truncated


def test_a_device_is_not_a_regular_file() -> None:
    # kills D38: no pipe/device check (a FIFO's open waits for a writer; /dev/null "empty")
    err = _reason(Path(os.devnull))
    assert err.reason == "not a regular file (a pipe or device)" and not err.transient


def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    # kills D38 as a user sees it: the whole run hung on a named pipe
    fifo = tmp_path / "p.jpg"
    os.mkfifo(fifo)
    got: list[str] = []

    def read() -> None:
        try:
            load_image(fifo)
        except BadImageError as exc:
            got.append(exc.reason)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(5)
    if t.is_alive():  # free the reader before failing
        with open(fifo, "wb"):
            pass
    assert got == ["not a regular file (a pipe or device)"]


def test_a_path_through_a_file_is_a_permanent_failure(tmp_path: Path) -> None:
    # kills D14: every errno transient (ENOTDIR would be retried on every run)
    (tmp_path / "f.jpg").write_bytes(b"x")
    err = _reason(tmp_path / "f.jpg" / "g.jpg")
    assert not err.transient and not err.reason.startswith(RETRY_PREFIX)
    assert not decode.os_failure(OSError(errno.ENAMETOOLONG, "File name too long")).transient
    assert decode.os_failure(OSError(errno.EIO, "Input/output error")).transient


def test_a_read_error_while_opening_is_transient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills D27: an errno OSError from Image.open reported as "unreadable: ..." (permanent)
    p = tmp_path / "a.png"
    p.write_bytes(_png(Image.new("RGB", (4, 4))))

    def failing_open(fp: object, *a: object, **kw: object) -> Image.Image:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Image, "open", failing_open)
    err = _reason(p)
    assert err.transient and err.reason == RETRY_PREFIX + "Input/output error"


def test_out_of_memory_while_decoding_is_transient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills D26: the load's MemoryError not marked transient
    p = tmp_path / "a.png"
    p.write_bytes(_png(Image.new("RGB", (7, 5))))

    def no_memory(self: object) -> None:
        raise MemoryError

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_memory)
    err = _reason(p)
    assert err.transient
    assert err.reason == RETRY_PREFIX + "out of memory while decoding (7 x 5)"


@pytest.mark.parametrize("where", ["_to_rgb", "exif", "open"])
def test_out_of_memory_anywhere_is_transient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # the bug fixed in session 59 (and D41, the handler it reaches): a MemoryError in the
    # conversion or the opening was "unreadable: MemoryError" for good; in the EXIF
    # rotation it was swallowed, and the image embedded unrotated
    p = tmp_path / "a.png"
    p.write_bytes(_png(Image.new("L", (6, 6), 50)))

    def no_memory(*a: object, **kw: object) -> Image.Image:
        raise MemoryError

    if where == "_to_rgb":
        monkeypatch.setattr(decode, "_to_rgb", no_memory)
    elif where == "exif":
        monkeypatch.setattr(ImageOps, "exif_transpose", no_memory)
    else:
        monkeypatch.setattr(Image, "open", no_memory)
    err = _reason(p)
    assert err.transient and err.reason == RETRY_PREFIX + "out of memory while decoding"
    assert str(err).startswith(f"{p}: ")


# ---------------------------------------------------------------- folder index


def test_ids_are_stripped_and_a_blank_stem_is_skipped(tmp_path: Path) -> None:
    # kills I05 (no strip: item "trail ") and I06 (the id "" read from " .jpg")
    for name in ("trail .jpg", " .jpg", "a.png"):
        (tmp_path / name).write_bytes(b"x")
    found = scan_images(tmp_path)
    assert found.images == {"a": tmp_path / "a.png", "trail": tmp_path / "trail .jpg"}
    assert found.skipped == [(" .jpg", NO_ID)]
    (tmp_path / "trail.jpg").write_bytes(b"x")
    with pytest.raises(VisrecError, match=r"two images for item 'trail'"):
        scan_images(tmp_path)


def test_recursive_ids_are_sorted_and_hidden_folders_not_read(tmp_path: Path) -> None:
    # kills I08 (ids in walk order: "z" before "a") and I09 (.thumbs read: a clash)
    for rel in ("top.jpg", "a/z.jpg", "b/a.jpg", ".thumbs/a.jpg", ".thumbs/q.jpg"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    found = scan_images(tmp_path, recursive=True)
    assert list(found.images) == ["a", "top", "z"]
    assert found.images["a"] == tmp_path / "b" / "a.jpg"
    assert found.skipped == []


def test_links_to_folders_and_broken_links_are_said(tmp_path: Path) -> None:
    # kills I03 and I10 (a linked folder dropped without a word) and I18 (broken link
    # called "not a regular file")
    real = tmp_path.parent / f"{tmp_path.name}_elsewhere"
    real.mkdir()
    (real / "9.jpg").write_bytes(b"x")
    (tmp_path / "1.jpg").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "2.jpg").write_bytes(b"x")
    (tmp_path / "sub" / "more").symlink_to(real, target_is_directory=True)
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nothing.jpg")
    found = scan_images(tmp_path, recursive=True)
    assert list(found.images) == ["1", "2"]
    assert found.skipped == [("gone.jpg", BROKEN_LINK), ("sub/more/", LINKED_FOLDER)]


def test_skipped_note_counts_and_examples(tmp_path: Path) -> None:
    # kills I12 ("1 entries"), I13 ("and 0 more" at exactly 3) and I14 (4 examples)
    (tmp_path / "a.txt").write_bytes(b"x")
    assert scan_images(tmp_path).skipped_note() == (
        "skipped 1 entry: a.txt (not an image extension visrec reads)"
    )
    for n in "bc":
        (tmp_path / f"{n}.txt").write_bytes(b"x")
    assert scan_images(tmp_path).skipped_note() == (
        "skipped 3 entries: a.txt, b.txt, c.txt (not an image extension visrec reads)"
    )
    (tmp_path / "d.txt").write_bytes(b"x")
    assert scan_images(tmp_path).skipped_note() == (
        "skipped 4 entries: a.txt, b.txt, c.txt and 1 more (not an image extension visrec reads)"
    )


@pytest.mark.parametrize(("n", "rest"), [(20, ""), (21, "; and 1 more")])
def test_many_clashes_list_twenty(tmp_path: Path, n: int, rest: str) -> None:
    # kills I16 (10 listed) and I17 ("and 0 more" at exactly 20)
    for i in range(n):
        (tmp_path / f"{i:02d}.jpg").write_bytes(b"x")
        (tmp_path / f"{i:02d}.png").write_bytes(b"x")
    with pytest.raises(VisrecError) as info:
        scan_images(tmp_path)
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path}: {n} items with more than one image: ")
    assert msg.count(" and '") == 20 and "'19': '19.jpg' and '19.png'" in msg
    assert msg.endswith(f"'19.png'{rest}; keep one of each")


# ---------------------------------------------------------------- manifests


def _manifest(tmp_path: Path, text: str) -> Path:
    m = tmp_path / "m.csv"
    m.write_text(text, encoding="utf-8")
    return m


def test_the_id_column_is_chosen_by_name_priority(tmp_path: Path) -> None:
    # kills I22: the first id-like column of the header ("id") taken over "item_id"
    m = _manifest(tmp_path, "id,item_id,path\n1,shoe,x.jpg\n")
    assert load_manifest(m) == {"shoe": str(tmp_path.resolve() / "x.jpg")}


def test_manifest_locations_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # kills I25 (no expanduser), I32 (no strip of the path), I34 and I35 (scheme case)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    m = _manifest(
        tmp_path,
        "item_id,path\n"
        "a,~/pics/a.jpg\n"
        "b, b.jpg \n"
        "c,HTTPS://h.example/c.jpg\n"
        "d,FILE:///abs/d%20x.jpg\n",
    )
    assert load_manifest(m) == {
        "a": str(tmp_path / "home" / "pics" / "a.jpg"),
        "b": str(tmp_path.resolve() / "b.jpg"),
        "c": "HTTPS://h.example/c.jpg",
        "d": "/abs/d x.jpg",
    }


def test_prefer_url_takes_the_url(tmp_path: Path) -> None:
    # kills I26: prefer_url ignored
    m = _manifest(tmp_path, "item_id,path,url\na,a.jpg,http://h/a.jpg\nb,b.jpg,\n")
    assert read_manifest_rows(m, prefer_url=True) == [("a", "http://h/a.jpg", 2), ("b", "b.jpg", 3)]
    assert read_manifest_rows(m) == [("a", "a.jpg", 2), ("b", "b.jpg", 3)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # I28: the header again became the item 'item_id'
        ("item_id,path\na,a.jpg\nitem_id,path\nb,b.jpg\n", "line 3: the header again"),
        # I29: a column named twice: the second's values dropped unsaid
        ("item_id,path,Path\na,a.jpg,b.jpg\n", "names column 'path' more than once"),
        # I38: a NUL in the path (past the 8 KiB binary check) reached open() as a bare
        # ValueError
        (
            "item_id,path\n" + "".join(f"i{n},i{n}.jpg\n" for n in range(2000)) + "a,a\x00.jpg\n",
            "line 2002: item 'a': its path or url .* holds a NUL",
        ),
    ],
)
def test_manifest_refusals(tmp_path: Path, text: str, message: str) -> None:
    # kills I28, I29, I38
    with pytest.raises(VisrecError, match=message):
        load_manifest(_manifest(tmp_path, text))


def test_a_folder_is_no_manifest(tmp_path: Path) -> None:
    # kills I40: a folder passed as the manifest (an OS error instead of the advice)
    with pytest.raises(VisrecError, match=r"is a folder, expected a manifest CSV"):
        read_manifest_rows(tmp_path)


def test_a_double_colon_header_is_not_a_manifest(tmp_path: Path) -> None:
    # kills I39: a "::" separator (MovieLens ratings) used for a manifest
    m = _manifest(tmp_path, "item_id::path\na::a.jpg\n")
    with pytest.raises(VisrecError, match=r"manifest header \(item_id::path\) needs an id"):
        load_manifest(m)


def test_a_manifest_from_a_pipe_is_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills I30: a pipe's "folder" (/proc/PID/fd) taken as the base of relative paths
    fifo = tmp_path / "pipe" / "m.csv"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    monkeypatch.chdir(tmp_path)
    assert manifest_base(fifo) == tmp_path
    regular = tmp_path / "pipe" / "real.csv"
    regular.write_text("item_id,path\n", encoding="utf-8")
    assert manifest_base(regular) == (tmp_path / "pipe").resolve()
    assert images_index.manifest_base(str(fifo)) == Path.cwd()
