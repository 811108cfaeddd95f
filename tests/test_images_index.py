"""Image folder index and manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from visrec.data.images_index import SUBFOLDER, find_images, load_manifest, scan_images
from visrec.errors import VisrecError


def touch(p: Path) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")
    return p


def test_find_images_extensions_case_and_order(tmp_path: Path) -> None:
    for name in (
        "10.jpg",
        "2.JPEG",
        "b.png",
        "a.WebP",
        "c.gif",
        "d.bmp",
        "e.tif",
        "f.TIFF",
        "notes.txt",
        ".hidden.jpg",
        "readme",
    ):
        touch(tmp_path / name)
    (tmp_path / "sub.jpg").mkdir()  # a folder with an image-like name is not an image
    touch(tmp_path / "nested" / "99.jpg")  # not recursive
    found = find_images(tmp_path)
    assert list(found) == ["10", "2", "a", "b", "c", "d", "e", "f"]
    assert found["2"] == tmp_path / "2.JPEG"


def test_find_images_duplicate_id_names_both(tmp_path: Path) -> None:
    touch(tmp_path / "12.jpg")
    touch(tmp_path / "12.png")
    with pytest.raises(VisrecError, match=r"two images for item '12': '12\.jpg' and '12\.png'"):
        find_images(tmp_path)


def test_find_images_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(VisrecError, match="expected a folder"):
        find_images(touch(tmp_path / "x.jpg"))
    with pytest.raises(FileNotFoundError):
        find_images(tmp_path / "missing")


def test_manifest_resolves_relative_paths_and_keeps_urls(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    m = d / "manifest.csv"
    m.write_text(
        "item_id,path,url\n"
        "a,img/a.jpg,\n"
        "b,/abs/b.png,http://ignored\n"
        "c,,https://example.org/c.jpg\n"
        "\n"
        "d,../up/d.jpg,\n"
        "e,file:///abs/my%20e.jpg,\n",  # a local file written as a URL
        encoding="utf-8",
    )
    got = load_manifest(m)
    assert got == {
        "a": str(d.resolve() / "img" / "a.jpg"),
        "b": "/abs/b.png",
        "c": "https://example.org/c.jpg",
        "d": str(d.resolve() / ".." / "up" / "d.jpg"),
        "e": "/abs/my e.jpg",
    }
    assert list(got) == ["a", "b", "c", "d", "e"]


def test_manifest_takes_a_catalogue_with_sku_and_image_path(tmp_path: Path) -> None:
    m = tmp_path / "catalogue.csv"
    m.write_text(
        "sku,category,image_path,image_url\n"
        "SKU-001,Shoes,shoes/SKU-001.jpg,\n"
        "SKU-002,Bags,,http://h/2.jpg\n",
        encoding="utf-8",
    )
    assert load_manifest(m) == {
        "SKU-001": str(tmp_path.resolve() / "shoes" / "SKU-001.jpg"),
        "SKU-002": "http://h/2.jpg",
    }


def test_manifest_tsv_url_only(tmp_path: Path) -> None:
    m = tmp_path / "urls.tsv"
    m.write_text("id\turl\nx\thttp://h/x.jpg\n", encoding="utf-8")
    assert load_manifest(m) == {"x": "http://h/x.jpg"}


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_manifest_old_mac_and_windows_line_ends(tmp_path: Path, newline: str) -> None:
    m = tmp_path / "m.csv"
    rows = ["item_id,url", "x,http://h/x.jpg", "y,http://h/y.jpg", ""]
    m.write_bytes(newline.join(rows).encode())
    assert load_manifest(m) == {"x": "http://h/x.jpg", "y": "http://h/y.jpg"}
    m.write_bytes(newline.join(["item_id,url", "x,http://h/x.jpg", "x,http://h/z.jpg"]).encode())
    with pytest.raises(VisrecError, match="line 3: item 'x' listed twice"):
        load_manifest(m)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("item,where\na,b\n", "needs an id column .item_id / id / review_id / asin / sku"),
        ("item_id,path\na,x.jpg\na,y.jpg\n", "line 3: item 'a' listed twice .first on line 2"),
        ("item_id,path\na,x.jpg,extra\n", "line 2: expected 2 fields, got 3"),
        ("item_id,path\n,x.jpg\n", "line 2: empty item id"),
        ("item_id,path\na,\n", "line 2: item 'a' has no path or url"),
        ("", "empty manifest"),
    ],
)
def test_manifest_errors(tmp_path: Path, text: str, message: str) -> None:
    m = tmp_path / "bad.csv"
    m.write_text(text, encoding="utf-8")
    with pytest.raises(VisrecError, match=message):
        load_manifest(m)


@pytest.mark.realdata
def test_real_posters(shared_data: Path) -> None:
    found = find_images(shared_data / "movielens-100k-posters" / "posters")
    assert len(found) == 1663
    assert found["1"].name == "1.jpg"
    assert list(found) == sorted(found)


def test_every_clash_is_named_at_once(tmp_path: Path) -> None:
    for name in ("1.jpg", "1.png", "1.webp", "2.gif", "2.webp", "3.jpg"):
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(VisrecError) as err:
        scan_images(tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: 2 items with more than one image: '1': '1.jpg', '1.png' and '1.webp'; "
        "'2': '2.gif' and '2.webp'; keep one of each"
    )
    (tmp_path / "2.gif").unlink()
    with pytest.raises(VisrecError) as err:
        scan_images(tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: 3 images for item '1': '1.jpg', '1.png' and '1.webp'; keep one"
    )


def test_a_name_with_a_control_character_is_skipped_and_shown_escaped(tmp_path: Path) -> None:
    for name in ("a.jpg", "bad\nname.jpg", "esc\x1b[31m.png", "tab\t.jpg"):
        (tmp_path / name).write_bytes(b"x")
    found = scan_images(tmp_path)
    assert list(found.images) == ["a"]
    note = found.skipped_note()
    assert note is not None and "\n" not in note and "\x1b" not in note
    assert "'bad\\nname.jpg'" in note and "'esc\\x1b[31m.png'" in note
    assert "control character in its name" in note


@pytest.mark.parametrize(("name", "listed"), [("shut", "shut/"), ("shut\nin", "'shut\\nin'/")])
def test_a_subfolder_that_cannot_be_listed_is_said_not_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, listed: str
) -> None:
    import os

    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / name).mkdir()
    (tmp_path / name / "b.jpg").write_bytes(b"x")
    real = os.scandir

    def scandir(path: Any) -> Any:  # as chmod 000 does (root reads anyway: no chmod)
        if os.fspath(path).endswith(name):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = scan_images(tmp_path, recursive=True)
    assert list(found.images) == ["a"]
    # a line break in the name is escaped: it would cut the note
    assert found.skipped == [(listed, "a folder that cannot be read: Permission denied")]

    def shut(path: Any) -> Any:
        raise PermissionError(13, "Permission denied", os.fspath(path))

    monkeypatch.setattr(os, "scandir", shut)
    with pytest.raises(PermissionError):  # the folder asked for: an error, as before
        scan_images(tmp_path, recursive=True)


def test_a_subfolder_named_with_a_control_character_is_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "bad\nsub").mkdir()
    (tmp_path / "bad\nsub" / "b.jpg").write_bytes(b"x")
    flat = scan_images(tmp_path)  # skipped as a subfolder, its name escaped
    assert flat.skipped == [("'bad\\nsub'/", SUBFOLDER)]
    assert list(scan_images(tmp_path, recursive=True).images) == ["a", "b"]  # ids are fine


def test_a_subfolder_named_in_bytes_that_are_no_utf8_is_a_subfolder(tmp_path: Path) -> None:
    import os

    (tmp_path / "a.jpg").write_bytes(b"x")
    sub = os.path.join(os.fsencode(tmp_path), b"caf\xe9")
    os.mkdir(sub)
    with open(os.path.join(sub, b"b.jpg"), "wb") as fh:
        fh.write(b"x")
    flat = scan_images(tmp_path)  # the subfolder advice, not "rename it"
    assert flat.skipped == [("'caf\\udce9'/", SUBFOLDER)]
    assert list(scan_images(tmp_path, recursive=True).images) == ["a", "b"]
