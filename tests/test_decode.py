"""visrec.images.decode: every odd or broken image kind found in real catalogues."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from visrec.images.decode import BadImageError, load_image


def _save(img: Image.Image, path: Path, **kw: object) -> Path:
    img.save(path, **kw)
    return path


def _png_with_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR then claims ``width x height`` (CRC fixed)."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    # IHDR chunk: 8-byte signature, 4-byte length, b"IHDR", then width/height.
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF
    data[29:33] = struct.pack(">I", crc)
    return bytes(data)


def test_rgb_jpeg_roundtrip(tmp_path: Path) -> None:
    p = _save(Image.new("RGB", (40, 30), (200, 100, 50)), tmp_path / "a.jpg", quality=95)
    img = load_image(p)
    assert img.mode == "RGB" and img.size == (40, 30)
    px = np.asarray(img)[15, 20].astype(int)
    assert np.all(np.abs(px - [200, 100, 50]) <= 3)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    p = _save(Image.new("CMYK", (32, 24), (0, 255, 255, 0)), tmp_path / "cmyk.jpg")
    img = load_image(p)
    assert img.mode == "RGB" and img.size == (32, 24)
    r, g, b = np.asarray(img)[12, 16].astype(int)
    assert r > 200 and g < 60 and b < 60  # C=0, M=Y=full -> red


def test_rgba_png_composited_on_white(tmp_path: Path) -> None:
    arr = np.zeros((10, 10, 4), dtype=np.uint8)
    arr[:, :5] = (0, 0, 255, 255)  # opaque blue left half, transparent right half
    p = _save(Image.fromarray(arr, "RGBA"), tmp_path / "rgba.png")
    out = np.asarray(load_image(p))
    assert tuple(out[5, 1]) == (0, 0, 255)
    assert tuple(out[5, 8]) == (255, 255, 255)


def test_palette_gif_with_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (12, 12), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * (254 * 3))
    img.paste(1, (6, 0, 12, 12))
    p = _save(img, tmp_path / "pal.gif", transparency=0)
    out = np.asarray(load_image(p))
    assert tuple(out[6, 2]) == (255, 255, 255)  # transparent index -> white
    assert tuple(out[6, 9]) == (0, 255, 0)


def test_palette_gif_opaque(tmp_path: Path) -> None:
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 10, 20, 30] + [0] * (254 * 3))
    out = np.asarray(load_image(_save(img, tmp_path / "p.gif")))
    assert tuple(out[0, 0]) == (10, 20, 30)


def test_16bit_png_is_rescaled_not_clipped(tmp_path: Path) -> None:
    arr = np.full((6, 6), 32768, dtype=np.uint16)
    arr[:, 3:] = 65535
    img = Image.fromarray(arr)
    assert img.mode.startswith("I;16")
    p = _save(img, tmp_path / "deep.png")
    with Image.open(p) as reopened:
        assert reopened.mode in ("I;16", "I")
    out = np.asarray(load_image(p))
    assert out.shape == (6, 6, 3)
    assert tuple(out[0, 0]) == (128, 128, 128)  # 32768 / 257 = 127.5 -> 128
    assert tuple(out[0, 5]) == (255, 255, 255)


def _gray8() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (30, 40)).astype(np.uint8)


@pytest.mark.parametrize(
    ("mode", "values"),
    [
        ("I", lambda g: g.astype(np.int32) * 2**23),  # 32-bit: scaled from its largest
        ("I", lambda g: g.astype(np.int32) * 257),  # 16-bit data held as 32-bit
        ("I", lambda g: g.astype(np.int32)),  # 8-bit data held as 32-bit
        ("F", lambda g: g.astype(np.float32) / 255),  # 0..1
        ("F", lambda g: g.astype(np.float32)),  # 0..255
        ("F", lambda g: g.astype(np.float32) * 16),  # 0..4080: scaled, not clipped white
    ],
)
def test_wide_grayscale_is_scaled_from_its_range(tmp_path: Path, mode: str, values) -> None:  # type: ignore[no-untyped-def]
    g = _gray8()
    Image.fromarray(values(g), mode).save(tmp_path / "a.tif")
    got = np.asarray(load_image(tmp_path / "a.tif"))
    np.testing.assert_array_equal(got, np.repeat(g[:, :, None], 3, axis=2))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_float_image_with_nan_or_inf_pixels_is_refused(tmp_path: Path, bad: float) -> None:
    a = _gray8().astype(np.float32) / 255
    a[:5, :5] = bad  # came out near black (no range to scale from), embedded as fine
    Image.fromarray(a, "F").save(tmp_path / "a.tif")
    with pytest.raises(BadImageError, match=r"a\.tif: a float image holding NaN or infinite"):
        load_image(tmp_path / "a.tif")


def test_grayscale(tmp_path: Path) -> None:
    p = _save(Image.new("L", (9, 7), 77), tmp_path / "g.png")
    out = np.asarray(load_image(p))
    assert out.shape == (7, 9, 3) and np.all(out == 77)


def test_exif_rotation_swaps_size(tmp_path: Path) -> None:
    arr = np.zeros((20, 40, 3), dtype=np.uint8)
    arr[:, :20] = (255, 0, 0)  # left half red in the stored pixels
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    p = _save(img, tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    with Image.open(p) as stored:
        assert stored.size == (40, 20)
    out = load_image(p)
    assert out.size == (20, 40)
    a = np.asarray(out).astype(int)
    # Rotating 90 CW moves the stored left half to the top.
    assert a[5, 10, 0] > 200 and a[35, 10, 0] < 60


def test_jpeg_draft_downscales_but_covers_size(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (900, 1200, 3), dtype=np.uint8)
    p = _save(Image.fromarray(arr), tmp_path / "big.jpg")
    full = load_image(p)
    small = load_image(p, draft_size=(224, 224))
    assert full.size == (1200, 900)
    assert small.size == (300, 225)  # DCT scale 1/4: smallest scale keeping both >= 224


@pytest.mark.parametrize(
    ("name", "payload", "reason"),
    [
        ("empty.jpg", b"", "empty file"),
        ("doc.jpg", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "not an image (PDF"),
        ("page.jpg", b"<!DOCTYPE html><html><body>404</body></html>", "not an image (HTML"),
        # Starts with text: Pillow 10.0 reads bare bytes(range(256)) as a (truncated) TGA.
        ("noise.jpg", b"noise:" + bytes(range(256)) * 4, "not an image"),
    ],
)
def test_non_images(tmp_path: Path, name: str, payload: bytes, reason: str) -> None:
    p = tmp_path / name
    p.write_bytes(payload)
    with pytest.raises(BadImageError) as info:
        load_image(p)
    assert info.value.reason.startswith(reason)
    assert name in str(info.value)
    with pytest.raises(BadImageError):
        load_image(payload)


def test_truncated_jpeg(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(buf, "JPEG")
    data = buf.getvalue()
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImageError) as info:
        load_image(p)
    assert info.value.reason == "truncated"


def test_decompression_bomb_above_pillows_hard_limit(tmp_path: Path) -> None:
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_with_size(30_000, 30_000))
    assert p.stat().st_size < 200
    with pytest.raises(BadImageError) as info:
        load_image(p)
    assert info.value.reason == "decompression bomb (900000000 pixels)"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_our_limit(tmp_path: Path) -> None:
    p = tmp_path / "bomb2.png"
    p.write_bytes(_png_with_size(12_000, 10_000))  # between Pillow's warn and error limits
    with pytest.raises(BadImageError) as info:
        load_image(p)
    assert info.value.reason == "decompression bomb (12000 x 10000)"
    ok = _save(Image.new("RGB", (100, 100)), tmp_path / "ok.png")
    with pytest.raises(BadImageError, match=r"decompression bomb \(100 x 100\)"):
        load_image(ok, max_pixels=9_999)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadImageError) as info:
        load_image(tmp_path / "nope.jpg")
    assert info.value.reason == "file not found"


def test_bytes_input_and_detached_result(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (5, 5), (1, 2, 3)).save(buf, "PNG")
    img = load_image(buf.getvalue())
    assert tuple(np.asarray(img)[0, 0]) == (1, 2, 3)
    p = _save(Image.new("RGB", (5, 5), (4, 5, 6)), tmp_path / "x.png")
    img2 = load_image(p)
    p.unlink()  # the returned image must not depend on the file any more
    assert tuple(np.asarray(img2)[4, 4]) == (4, 5, 6)


def _valid_files() -> list[bytes]:
    out = []
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    for fmt, mode in (
        ("JPEG", "RGB"),
        ("PNG", "RGBA"),
        ("GIF", "P"),
        ("BMP", "RGB"),
        ("TIFF", "CMYK"),
        ("WEBP", "RGB"),
    ):
        buf = io.BytesIO()
        Image.fromarray(arr).convert(mode).save(buf, format=fmt)
        out.append(buf.getvalue())
    return out


_VALID = _valid_files()


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
@settings(max_examples=150, deadline=None)
@given(
    which=st.integers(0, len(_VALID) - 1),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=6),
)
def test_corrupted_files_never_crash(
    which: int, cut: float, flips: list[tuple[float, int]]
) -> None:
    """Any truncation / byte damage of a real image: an RGB image or BadImageError."""
    data = bytearray(_VALID[which])
    for pos, value in flips:
        data[int(pos * (len(data) - 1))] = value
    data = data[: int(cut * len(data))] if cut < 0.98 else data
    try:
        img = load_image(bytes(data), draft_size=(16, 16))
    except BadImageError as exc:
        assert exc.reason
    else:
        assert img.mode == "RGB" and img.size[0] > 0 and img.size[1] > 0
        img.tobytes()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_never_crash(data: bytes) -> None:
    try:
        img = load_image(data)
    except BadImageError:
        return
    assert img.mode == "RGB"


def test_a_corrupt_exif_block_costs_no_warning_and_no_image(tmp_path: Path) -> None:
    import subprocess
    import sys

    buf = io.BytesIO()
    Image.fromarray(np.full((20, 30, 3), 120, np.uint8)).save(buf, "JPEG")
    # an APP1 Exif block whose IFD claims 5 entries and holds 1 (seen in phone photos)
    exif = (
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00" + b"\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00"
    )
    seg = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    path = tmp_path / "phone.jpg"
    path.write_bytes(buf.getvalue()[:2] + seg + buf.getvalue()[2:])
    # Pillow's "Corrupt EXIF data" named no file and showed once per run; pytest's own
    # warning filters come before visrec's, so the check runs as the CLI would
    load = f"from visrec.images.decode import load_image; print(load_image({str(path)!r}).size)"
    code = f"from visrec.images.pillow_warnings import quiet_pillow_warnings as q; q(); {load}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "(30, 20)\n"
    # a program using the library keeps its own filters: Pillow's warning is its to see
    done = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True)
    assert done.stdout == "(30, 20)\n" and "Corrupt EXIF" in done.stderr


def test_the_library_leaves_a_hosts_bomb_filter_alone(tmp_path: Path) -> None:
    import subprocess
    import sys

    # a service that refuses bombs by turning Pillow's warning into an error: importing
    # visrec's image code switched it off for the whole process
    path = tmp_path / "big.png"
    path.write_bytes(_png_with_size(12_000, 10_000))
    code = (
        "import warnings; from PIL import Image; "
        "warnings.simplefilter('error', Image.DecompressionBombWarning); "
        "import visrec.images.decode, visrec.embed.extract; "
        f"Image.open({str(path)!r})"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1 and "DecompressionBombWarning" in done.stderr


def _tiff_with_a_tag_past_its_end(path: Path) -> None:
    """A good 30x20 TIFF whose ImageDescription (tag 270) claims 1 MB of data: Pillow
    skips the tag with a warning that names no file, and decodes the pixels."""
    from PIL import TiffImagePlugin

    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[270] = "a picture description long enough to sit outside the entry"
    buf = io.BytesIO()
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(buf, format="TIFF", tiffinfo=info)
    data = bytearray(buf.getvalue())
    assert data[:2] == b"II"
    ifd = struct.unpack_from("<I", data, 4)[0]
    for k in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * k
        if struct.unpack_from("<H", data, entry)[0] == 270:
            struct.pack_into("<I", data, entry + 4, 10**6)
    path.write_bytes(bytes(data))


def test_a_pillow_warning_names_the_file_it_is_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys
    import warnings

    from visrec.cli import PILLOW_LINES, main
    from visrec.images.decode import image_being_read

    folder = tmp_path / "imgs"
    folder.mkdir()
    bad = [folder / f"d{k:02d}.tif" for k in range(PILLOW_LINES + 2)]
    for path in bad:
        _tiff_with_a_tag_past_its_end(path)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            assert load_image(bad[0]).size == (30, 20)  # the pixels are fine
        except BadImageError as exc:  # an older Pillow reads the whole tag and fails
            import PIL

            pytest.skip(f"Pillow {PIL.__version__} refuses the file ({exc}), no warning")
    assert "Skipping tag 270" in str(seen[0].message)
    assert image_being_read() is None  # only while decoding

    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        # as Python shows a warning outside pytest, which records them instead
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.resetwarnings()  # Python's default: each message once per code line
        warnings.simplefilter("default")
        warnings.showwarning = show
        out = tmp_path / "v.parquet"
        assert main(["embed", str(folder), "-o", str(out), "--quiet", "--workers", "1"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("warning:")]
    # each damaged file once (Pillow warns three times per file), up to PILLOW_LINES
    assert lines[:PILLOW_LINES] == [
        f"warning: Tag data larger than file. Skipping tag 270 (reading {p})" for p in bad[:-2]
    ]
    assert lines[PILLOW_LINES:] == [
        "warning: more of Pillow's warnings about damaged files are not shown"
    ]
