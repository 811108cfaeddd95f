"""A backbone of one's own from an installed package: an entry point in the group
``visrec.backbones`` (``tiny = "mynetpkg.nets:Tiny"``), which ``visrec embed --backbone``
reads as the model plugins of ``visrec.models`` (test_s73_plugins.py). Before, plain
``visrec embed --backbone tiny`` answered "unknown backbone" whatever was installed:
only a script calling ``register_backbone`` could embed with one's own network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from test_s73_plugins import _package, _visrec
from visrec.embed.store import read_vectors

# docs/embed.md's example backbone, as a package would hold it
NETS = """\
import torch

from visrec.embed.backbones import Backbone


class Tiny(Backbone):
    name = "tiny"
    dim = 8
    input_size = (32, 32)
    resize = "squash"
    resize_size = 32

    @property
    def weights_id(self) -> str:
        return "tiny-v1"

    def build_model(self) -> torch.nn.Module:
        torch.manual_seed(0)
        conv = torch.nn.Conv2d(3, 8, 3)
        return torch.nn.Sequential(conv, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
"""
ORIGIN = "entry point 'tiny = mynetpkg.nets:Tiny' of package mynetpkg 0.1"


def _site(root: Path, entry_points: str, module: str = NETS, package: str = "mynetpkg") -> Path:
    return _package(
        root, entry_points, module, package=package, group="visrec.backbones", file="nets"
    )


def _images(folder: Path) -> Path:
    folder.mkdir()
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        img = Image.new("RGB", (40, 40), colour)
        img.paste((250, 250, 250), (0, 0, 10 + 10 * i, 20))  # not flat: a pattern each
        img.save(folder / f"p{i}.png")
    return folder


def test_an_installed_backbone_embeds_and_is_listed(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", "tiny = mynetpkg.nets:Tiny\n")
    out = tmp_path / "v.parquet"
    done = _visrec(site, "embed", str(_images(tmp_path / "img")), "-o", str(out),
                   "--backbone", "tiny", "--engine", "torch", "-q", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    vec = read_vectors(out)
    assert vec.meta["backbone"] == "tiny" and vec.meta["weights_id"] == "tiny-v1"
    rows = np.asarray(vec.vectors)
    assert rows.shape == (3, 8) and np.asarray(vec.has_image).all()
    assert np.abs(rows - rows[0]).max() > 1e-3  # three images, three vectors
    for command in ("embed", "demo"):
        done = _visrec(site, command, "--help", cwd=tmp_path)
        shown = "".join(done.stdout.split())  # argparse may wrap after "efficientnet-"
        assert "imagenetwork:efficientnet-lite0,efficientnet-lite1,efficientnet-lite2," \
            "resnet18,tiny(default" in shown, done.stdout  # fmt: skip
    done = _visrec(site, "embed", "--list-backbones", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tiny = [row for row in done.stdout.splitlines() if row.startswith("tiny ")]
    assert len(tiny) == 1 and "    8-d  resize to 32x32, bilinear" in tiny[0], done.stdout


def test_built_in_backbones_and_names_in_files_import_no_plugin(tmp_path: Path) -> None:
    # a plugin that would fail on import: a built-in backbone, the parser and the
    # recommend check of a file's backbone name must not import it
    site = _site(tmp_path / "site", "tiny = mynetpkg.nets:Tiny\n", module="1/0\n")
    code = (
        "import sys; from visrec.cli import build_parser; from visrec.embed import backbones;"
        "from visrec.commands._new_items import check_same_backbone;"
        "build_parser(); backbones.get_backbone('efficientnet-lite0');"
        "assert backbones._plugins is None, 'entry points read';"
        "check_same_backbone('v.parquet', {'backbone': 'tiny'}, {'backbone': 'tiny'}, 'vbpr')\n"
        "try: check_same_backbone('v.parquet', {'backbone': 'resnet18'}, {'backbone': 'tiny'}, "
        "'vbpr')\nexcept Exception as exc: print(exc)\n"
        "assert 'mynetpkg' not in sys.modules; print('ok')"
    )
    done = _visrec(site, cwd=tmp_path, code=code)
    assert done.stdout.endswith("ok\n"), done.stderr
    # an installed package's backbone is advised as the plain command, which now works
    assert "embed the new items with `visrec embed --backbone tiny`" in done.stdout


def test_a_broken_backbone_plugin_is_one_error_line(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", "tiny = mynetpkg.nets:Tiny\n", module="1/0\n")
    done = _visrec(site, "embed", str(_images(tmp_path / "img")), "-o",
                   str(tmp_path / "v.parquet"), "--backbone", "tiny", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        f"error: backbone 'tiny' (given by {ORIGIN}) cannot be imported: "
        "ZeroDivisionError: division by zero\n"
    )
    # the listing shows the built-in ones all the same, and says why tiny is not usable
    done = _visrec(site, "embed", "--list-backbones", cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout.splitlines()[0].startswith("efficientnet-lite0 ")
    assert f"not usable: backbone 'tiny' (given by {ORIGIN}) cannot be imported" in done.stdout


def test_a_backbone_plugin_shadowing_a_built_in_is_ignored_with_a_note(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", "RESNET18 = mynetpkg.nets:Tiny\ntiny = mynetpkg.nets:Tiny\n")
    code = (
        "from visrec.embed.backbones import get_backbone, list_backbones;"
        "print(type(get_backbone('resnet18')).__module__, list_backbones())"
    )
    done = _visrec(site, cwd=tmp_path, code=code)
    assert done.stdout == (
        "visrec.embed.backbones ['efficientnet-lite0', 'efficientnet-lite1', "
        "'efficientnet-lite2', 'resnet18', 'tiny']\n"
    ), done.stderr
    assert done.stderr == (
        "note: entry point 'RESNET18 = mynetpkg.nets:Tiny' of package mynetpkg 0.1 is "
        "ignored: 'resnet18' is a built-in backbone, which wins; the package should give "
        "its backbone another name\n"
    )


def test_what_an_installed_backbone_must_get_right(tmp_path: Path) -> None:
    # two packages giving one name; an entry point whose backbone has another name (its
    # vectors would record a name that `visrec embed --backbone` does not know); a value
    # that is no factory, a factory that fails, one that makes no Backbone
    extra = (
        "SIZE = 3\n\ndef crash():\n    raise RuntimeError('no GPU')\n\ndef five():\n    return 5\n"
    )
    site = _site(tmp_path / "site", "tiny = mynetpkg.nets:Tiny\nmynet = mynetpkg.nets:Tiny\n"
                 "size = mynetpkg.nets:SIZE\ncrash = mynetpkg.nets:crash\n"
                 "five = mynetpkg.nets:five\n", module=NETS + extra)  # fmt: skip
    _site(site, "tiny = othernet.nets:Tiny\n", package="othernet")
    code = (
        "from visrec.embed.backbones import get_backbone\n"
        "for name in ('tiny', 'MyNet', 'size', 'crash', 'five'):\n"
        "    try: get_backbone(name)\n"
        "    except Exception as exc: print(exc)\n"
    )
    done = _visrec(site, cwd=tmp_path, code=code)
    two, other, size, crash, five = done.stdout.splitlines()  # packages in the order found
    assert two.startswith("backbone 'tiny' is given by two installed packages (entry point ")
    assert two.endswith("); uninstall one of them"), done.stderr
    assert ORIGIN in two and "'tiny = othernet.nets:Tiny' of package othernet 0.1" in two
    assert other == (
        "backbone 'mynet' is given by entry point 'mynet = mynetpkg.nets:Tiny' of package "
        "mynetpkg 0.1, whose name is 'tiny'; set name = 'mynet' in the class"
    )
    given = "(given by entry point '{} = mynetpkg.nets:{}' of package mynetpkg 0.1)"
    assert size == (
        f"backbone 'size' {given.format('size', 'SIZE')} is not a factory (a Backbone class "
        "or a function returning a Backbone): 3"
    )
    assert crash == (
        f"backbone 'crash' {given.format('crash', 'crash')} cannot be made: RuntimeError: no GPU"
    )
    assert five == f"backbone 'five' {given.format('five', 'five')} made 5, not a Backbone"
