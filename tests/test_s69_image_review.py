"""Session 69, image side as a new user meets it: report thumbnails of 16-bit photos,
photos from a phone saved as HEIC under a .jpg name."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from visrec.report.plots import thumbnail_jpeg


def test_a_16_bit_photo_thumbnail_is_the_photo_not_a_white_tile(tmp_path: Path) -> None:
    # a 16-bit grey ramp: a plain convert("RGB") clips every value over 255 to white
    ramp = np.tile(np.linspace(0, 65535, 64, dtype=np.uint16), (48, 1))
    path = tmp_path / "scan.png"
    Image.fromarray(ramp).save(path)
    jpg = thumbnail_jpeg(path, size=72)
    assert jpg is not None
    thumb = np.asarray(Image.open(io.BytesIO(jpg)).convert("L"), dtype=float)
    assert thumb.shape == (48, 64)  # never enlarged
    # dark on the left, light on the right, as embed sees it (divided by 257)
    assert thumb[:, :8].mean() < 40 and thumb[:, -8:].mean() > 215


def _heic_bytes() -> bytes:
    """The start of an iPhone photo: an ISO base media 'ftyp' box of brand 'heic'."""
    box = b"ftypheic" + b"\0\0\0\0" + b"mif1heic"
    return len(box + b"\0\0\0\0").to_bytes(4, "big") + box + b"\0" * 400


def test_a_heic_photo_named_jpg_is_named_as_heic_not_as_no_image(tmp_path: Path) -> None:
    import pytest

    from visrec.images.decode import BadImageError, load_image

    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(_heic_bytes())
    with pytest.raises(BadImageError) as info:
        load_image(path)
    assert "HEIC/HEIF photo" in info.value.reason
    assert "convert it to JPEG" in info.value.reason
    assert not info.value.reason.startswith("not an image")


def test_report_photos_of_a_fetch_cache_folder_come_through_its_manifest(tmp_path: Path) -> None:
    import hashlib

    from visrec.commands._common import scan_photos

    cache = tmp_path / "cache"
    cache.mkdir()
    rows = ["item_id,path,url"]
    for item in ("shoe", "bag"):
        url = f"http://shop.example/{item}.jpg"
        name = hashlib.sha256(url.encode()).hexdigest() + ".jpg"
        Image.new("RGB", (8, 8), (200, 10, 10)).save(cache / name)
        rows.append(f"{item},{name},{url}")
    (cache / "manifest.csv").write_text("\n".join(rows) + "\n")
    photos = scan_photos(str(cache), str(tmp_path / "r.html"), {})
    assert photos is not None
    assert sorted(photos) == ["bag", "shoe"]  # item ids, not 64-hex hashes
    assert all(p.is_file() for p in photos.values())


def test_an_avif_of_brand_mif1_is_not_called_heic() -> None:
    from visrec.images.decode import sniffed_kind

    box = b"ftypmif1" + b"\0\0\0\0" + b"mif1avif"
    assert sniffed_kind(len(box + b"\0\0\0\0").to_bytes(4, "big") + box + b"\0" * 64) is None
