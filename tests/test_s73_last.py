"""Session 73, last walk items: a manifest id with a line break, hidden image files in
an images folder, and a backbone whose ``dim`` is not its model's width."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from test_embed import TinyBackbone
from test_s63_engines_mutants import _collect, _pngs, _todo
from visrec.cli import main
from visrec.data.images_index import load_manifest, scan_images
from visrec.embed.compute import compute_chunks
from visrec.embed.engines import TorchEngine
from visrec.errors import VisrecError

HIDDEN = "hidden: a name starting with '.'; rename it to embed it"


def _jpg(path: Path, shade: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 40), (shade, 0, 0)).save(path)


def test_a_manifest_id_with_a_line_break_is_refused_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(2):
        _jpg(tmp_path / f"i{i}.jpg", 50 * i)
    m = tmp_path / "M.csv"
    m.write_text('item_id,path\ni1,i1.jpg\n"i\n0",i0.jpg\n')
    with pytest.raises(VisrecError, match=r"M\.csv line 3: item id 'i\\n0' holds a line break"):
        load_manifest(m)
    # a tab is kept: a quoted ratings field holds one, and its loader keeps it
    m.write_text('item_id,path\n"i\t1",i1.jpg\n')
    assert list(load_manifest(m)) == ["i\t1"]
    m.write_text('item_id,path\ni1,i1.jpg\n"i\n0",i0.jpg\n')
    out = tmp_path / "v.parquet"
    assert main(["embed", "--manifest", str(m), "-o", str(out)]) != 0
    err = capsys.readouterr().err
    assert "error: " in err and "M.csv line 3: item id 'i\\n0' holds a line break" in err
    assert not out.exists()


def test_a_hidden_file_named_as_an_image_is_in_the_skipped_note(tmp_path: Path) -> None:
    d = tmp_path / "imgs"
    _jpg(d / "i1.jpg")
    _jpg(d / ".i9.jpg")  # a photo hidden by mistake: said
    _jpg(d / "._i1.jpg")  # macOS AppleDouble junk: quiet
    (d / ".DS_Store").write_bytes(b"x")  # junk: quiet
    _jpg(d / ".cache.png" / "7.jpg")  # a hidden folder, even one named as an image: quiet
    scan = scan_images(d)
    assert list(scan.images) == ["i1"]
    assert scan.skipped == [(".i9.jpg", HIDDEN)]
    assert scan.skipped_note() == f"skipped 1 entry: .i9.jpg ({HIDDEN})"
    _jpg(d / "more" / ".i8.PNG")
    deep = scan_images(d, recursive=True)
    assert deep.skipped == [(".i9.jpg", HIDDEN), ("more/.i8.PNG", HIDDEN)]


class WrongDim(TinyBackbone):
    """A backbone of one's own whose model gives 8-d vectors while ``dim`` says 16."""

    name = "mynet"
    dim = 16

    def build_model(self) -> torch.nn.Module:
        return torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 5, stride=2),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
        ).eval()


def test_a_wrong_dim_is_named_as_the_backbones(tmp_path: Path) -> None:
    paths = _pngs(tmp_path, 3)
    bb = WrongDim()
    got, on_chunk = _collect()
    with pytest.raises(
        VisrecError,
        match=r"^backbone 'mynet' returned 8-d vectors \(engine 'torch'\), its dim says 16; "
        r"set dim = 8 in its class$",
    ):
        compute_chunks(_todo([paths]), bb, TorchEngine(bb, "cpu", 2), 1, on_chunk, print)
    assert got == []
