"""QA fixes for `visrec embed` and `visrec similar`: no silent data loss when -o names
another run's vectors file, no silently skipped folder entries, file-name ids stripped
like every ratings loader strips ids, and `similar` notes on --n and repeated ids."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

import visrec.data.images_index as images_index
from test_embed import TinyBackbone
from visrec.cli import main as cli_main
from visrec.data.images_index import find_images, scan_images
from visrec.data.summary import summarize
from visrec.embed.extract import EmbedResult, embed_folder, embed_images, parts_dir
from visrec.embed.store import ItemVectors, read_vectors, write_vectors
from visrec.errors import VisrecError

AVIF = "avif" in features.modules and bool(features.check_module("avif"))


def _save(path: Path, seed: int, fmt: str = "JPEG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(path, fmt)
    return path


def _folder(folder: Path, ids: list[str]) -> Path:
    for k, i in enumerate(ids):
        _save(folder / f"{i}.jpg", k)
    return folder


@pytest.fixture
def tiny_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """`visrec embed` with an 8-d random conv net: the CLI's code paths in milliseconds."""
    import visrec.embed.extract as extract_mod

    def embed(*args: object, **kw: object) -> EmbedResult:
        kw["backbone"] = TinyBackbone()
        return embed_images(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(extract_mod, "embed_images", embed)


IDS = [f"{i:03d}" for i in range(8)]


# ----------------------------------------------- 1. -o naming another run's file


def test_cli_refuses_to_shrink_another_runs_vectors_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_cli: None
) -> None:
    out = tmp_path / "big.parquet"
    assert cli_main(["embed", str(_folder(tmp_path / "all", IDS)), "-o", str(out)]) == 0
    capsys.readouterr()
    before = out.read_bytes()
    other = _folder(tmp_path / "other", ["x", "y", "000"])  # 7 of the 8 would be dropped
    assert cli_main(["embed", str(other), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {out} holds 8 items, 7 of them not in this run; they would be dropped: "
        "choose another -o, or pass --overwrite to replace it\n"
    )
    assert out.read_bytes() == before  # refused up front: untouched, nothing computed
    assert not parts_dir(out).exists()

    assert cli_main(["embed", str(other), "-o", str(out), "--replace"]) == 0
    assert list(read_vectors(out).ids) == ["000", "x", "y"]
    # what was dropped is still said
    assert "7 of its 8 items are not in this run" in capsys.readouterr().err


def test_cli_says_each_note_once_with_progress_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_cli: None
) -> None:
    # with a bar, notes are said as they come (above it); the summary repeated them
    folder = _folder(tmp_path / "imgs", IDS[:3])
    (folder / "readme.txt").write_text("x")
    out = tmp_path / "v.parquet"
    assert cli_main(["embed", str(folder), "-o", str(out), "--chunk-size", "2", "-v"]) == 0
    (folder / "002.jpg").unlink()  # and a rerun that drops an item: a note of the run
    assert cli_main(["embed", str(folder), "-o", str(out), "--chunk-size", "2", "-v"]) == 0
    err = capsys.readouterr().err
    assert err.count(f"note: {folder}: skipped 1 entry: readme.txt") == 2  # once a run
    assert err.count(f"note: {out}: 1 of its 3 items is not in this run") == 1


def test_cli_notes_a_few_dropped_items_and_keeps_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_cli: None
) -> None:
    folder = _folder(tmp_path / "imgs", IDS)
    out = tmp_path / "v.parquet"
    argv = ["embed", str(folder), "-o", str(out), "--chunk-size", "2"]
    assert cli_main(argv) == 0
    first = read_vectors(out)
    capsys.readouterr()
    (folder / "003.jpg").unlink()  # an image deleted from the folder
    assert cli_main(argv) == 0
    printed = capsys.readouterr().err
    assert (
        f"note: {out}: 1 of its 8 items is not in this run and is dropped from it ('003')"
        in printed
    )
    second = read_vectors(out)
    assert list(second.ids) == [i for i in IDS if i != "003"]
    keep = [i for i, x in enumerate(first.ids) if x != "003"]
    np.testing.assert_array_equal(second.vectors, first.vectors[keep])
    for i in ("004", "005", "006"):
        (folder / f"{i}.jpg").unlink()
    assert cli_main(argv) == 0
    assert "3 of its 7 items are not in this run" in capsys.readouterr().err
    assert list(read_vectors(out).ids) == ["000", "001", "002", "007"]


def test_library_refuses_too_unless_overwrite(tmp_path: Path) -> None:
    items = {i: _save(tmp_path / f"{i}.png", k, "PNG") for k, i in enumerate(IDS)}
    out = tmp_path / "v.parquet"
    embed_images(items, out, backbone=TinyBackbone(), progress=False)
    before = out.read_bytes()
    few = {i: items[i] for i in IDS[:2]}
    with pytest.raises(VisrecError, match=r"holds 8 items, 6 of them not in this run"):
        embed_images(few, out, backbone=TinyBackbone(), progress=False)
    assert out.read_bytes() == before
    # exactly half is not "more than half": updated, with a note
    half = {i: items[i] for i in IDS[:4]}
    res = embed_images(half, out, backbone=TinyBackbone(), progress=False)
    assert list(read_vectors(out).ids) == IDS[:4]
    assert any("4 of its 8 items are not in this run" in n for n in res.notes)
    embed_images(items, out, backbone=TinyBackbone(), progress=False)
    res = embed_images(few, out, backbone=TinyBackbone(), progress=False, overwrite=True)
    assert list(read_vectors(out).ids) == IDS[:2]
    assert any("6 of its 8 items are not in this run" in n for n in res.notes)


def test_ids_that_only_lost_their_spaces_are_not_dropped(tmp_path: Path) -> None:
    # a vectors file from before ids were stripped: 'a ' and 'b ' are 'a', 'b' now
    items = {
        i: _save(tmp_path / f"{i.strip()}.png", k, "PNG") for k, i in enumerate(["a ", "b ", "c"])
    }
    out = tmp_path / "v.parquet"
    embed_images(items, out, backbone=TinyBackbone(), progress=False)
    # read as the interactions' ids are: without the spaces (said in a note)
    assert sorted(read_vectors(out).ids) == ["a", "b", "c"]
    assert sorted(read_vectors(out, only=["a"]).ids) == ["a"]
    renamed = {i.strip(): p for i, p in items.items()}
    res = embed_images(renamed, out, backbone=TinyBackbone(), progress=False)
    assert sorted(read_vectors(out).ids) == ["a", "b", "c"]
    assert not any("not in this run" in n for n in res.notes)


# ----------------------------------------------- 2. entries that are not read


def test_scan_lists_skipped_entries_and_reads_jfif(tmp_path: Path) -> None:
    d = tmp_path / "imgs"
    _save(d / "1.jpg", 0)
    _save(d / "3.jfif", 1)  # JPEG under another name
    _save(d / "more" / "5.jpg", 2)
    (d / "notes.txt").write_text("x")
    (d / "raw.heic").write_bytes(b"x")
    (d / ".DS_Store").write_bytes(b"x")  # hidden: quiet
    os.symlink(d / "gone.jpg", d / "6.jpg")  # a broken link
    scan = scan_images(d)
    assert list(scan.images) == ["1", "3"]
    assert scan.skipped == [
        ("6.jpg", "a broken link"),
        ("more/", "a subfolder: only the top folder is read; embed --recursive reads them"),
        ("notes.txt", "not an image extension visrec reads"),
        ("raw.heic", "not an image extension visrec reads"),
    ]
    assert scan.skipped_note(examples=1) == (
        "skipped 4 entries: 6.jpg (a broken link); more/ (a subfolder: only the top "
        "folder is read; embed --recursive reads them); notes.txt and 1 more (not an image "
        "extension visrec reads)"
    )
    assert scan_images(d / "more").skipped_note() is None
    res = embed_folder(d, None, backbone=TinyBackbone(), progress=False)
    assert res.ids == ["1", "3"] and res.failures == []
    assert res.notes[0] == f"{d}: {scan.skipped_note()}"
    # --recursive: the subfolder's photos too, by file name; a link to a folder is not
    # entered (it may loop), a hidden folder not read
    os.symlink(d, d / "loop")
    _save(d / ".cache" / "9.jpg", 3)
    deep = scan_images(d, recursive=True)
    assert list(deep.images) == ["1", "3", "5"] and deep.images["5"] == d / "more" / "5.jpg"
    assert ("loop/", "a link to a folder: not followed") in deep.skipped
    assert all(not name.startswith("more") for name, _ in deep.skipped)
    _save(d / "more" / "1.png", 4)
    with pytest.raises(VisrecError, match=r"two images for item '1': '1\.jpg' and 'more/1\.png'"):
        scan_images(d, recursive=True)


def test_cli_notes_skipped_entries_and_explains_an_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_cli: None
) -> None:
    d = tmp_path / "imgs"
    _save(d / "more" / "5.jpg", 0)
    out = tmp_path / "v.parquet"
    assert cli_main(["embed", str(d), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {d}: no images named <item_id>.<jpg|")
    assert err.endswith(
        "(skipped 1 entry: more/ (a subfolder: only the top folder is read; embed --recursive "
        "reads them))\n"
    )
    assert not out.exists()

    _save(d / "1.jpg", 1)
    _save(d / "3.jfif", 2)
    (d / "x.txt").write_text("x")
    assert cli_main(["embed", str(d), "-o", str(out), "--json", str(tmp_path / "s.json")]) == 0
    cap = capsys.readouterr()
    printed = cap.out
    note = (
        f"{d}: skipped 2 entries: more/ (a subfolder: only the top folder is read; "
        "embed --recursive reads them); x.txt (not an image extension visrec reads)"
    )
    # a note on the input: on stderr, the summary on stdout
    assert f"note: {note}\n" in cap.err and "ok 2, failed 0" in printed
    assert note not in printed
    assert list(read_vectors(out).ids) == ["1", "3"]
    assert note in json.loads((tmp_path / "s.json").read_text())["notes"]


def test_data_summary_and_embed_read_the_same_extensions(tmp_path: Path) -> None:
    d = tmp_path / "ds"
    (d / "interactions.csv").parent.mkdir(parents=True)
    (d / "interactions.csv").write_text("user_id,item_id,rating\nu1,a,5\nu1,b,4\nu2,c,3\n")
    _save(d / "images" / "a.jfif", 0)
    _save(d / "images" / "b.JPG", 1)
    (d / "images" / "c.xcf").write_bytes(b"x")
    (section,) = summarize([d])
    assert section["images_found"] == 2 and section["items_with_image"] == 2
    assert set(find_images(d / "images")) == {"a", "b"}


def test_avif_only_when_pillow_decodes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (".avif" in images_index.IMAGE_SUFFIXES) is AVIF
    monkeypatch.setattr(features, "modules", {})  # a Pillow without the AVIF plugin
    assert ".avif" not in images_index._image_suffixes()
    assert {".jpg", ".jfif", ".png"} <= images_index._image_suffixes()


@pytest.mark.skipif(not AVIF, reason="this Pillow has no AVIF plugin")
def test_avif_image_is_found_and_embedded(tmp_path: Path) -> None:
    d = tmp_path / "imgs"
    _save(d / "2.avif", 0, "AVIF")
    _save(d / "1.jpg", 1)
    found = find_images(d)
    assert list(found) == ["1", "2"]
    res = embed_images(found, None, backbone=TinyBackbone(), progress=False)
    assert res.failures == [] and res.vectors.has_image.tolist() == [True, True]


# ----------------------------------------------- 3. ids from file names are stripped


def test_file_name_id_loses_spaces_around_it(tmp_path: Path) -> None:
    d = tmp_path / "imgs"
    _save(d / "trail .jpg", 0)
    _save(d / " lead.png", 1, "PNG")
    _save(d / "blue shirt.jpg", 2)  # inner spaces stay
    _save(d / " .jpg", 3)  # nothing left of the id
    scan = scan_images(d)
    assert list(scan.images) == ["blue shirt", "lead", "trail"]
    assert scan.images["trail"].name == "trail .jpg"
    assert scan.skipped == [(" .jpg", "no item id before the extension")]
    _save(d / "trail.png", 4, "PNG")
    with pytest.raises(VisrecError, match=r"two images for item 'trail': 'trail \.jpg' and"):
        find_images(d)


def test_stripped_id_matches_ratings_and_similar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_cli: None
) -> None:
    d = tmp_path / "ds"
    _folder(d / "images", ["a", "b"])
    _save(d / "images" / "trail .jpg", 9)
    (d / "interactions.csv").write_text("user_id,item_id,rating\nu1,trail,5\nu2, a ,4\n")
    (section,) = summarize([d])
    assert section["items_with_image"] == 2  # trail and a
    out = tmp_path / "v.parquet"
    assert cli_main(["embed", str(d / "images"), "-o", str(out)]) == 0
    assert "trail" in read_vectors(out).ids.tolist()
    capsys.readouterr()
    assert cli_main(["similar", str(out), "trail", "--n", "1"]) == 0
    assert "items most like trail:" in capsys.readouterr().out


# ----------------------------------------------- 4. similar: --n and repeated ids


@pytest.fixture
def four(tmp_path: Path) -> Path:
    iv = ItemVectors(
        ids=np.array(["a", "b", "c", "d", "e"], dtype=object),
        vectors=np.array([[1, 0], [1, 0.1], [0, 1], [-1, 0], [0, 0]], dtype=np.float32),
        has_image=np.array([True, True, True, True, False]),
    )
    path = tmp_path / "v.parquet"
    write_vectors(path, iv)
    return path


def test_similar_notes_when_n_exceeds_the_catalogue(
    four: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["similar", str(four), "a", "c", "--n", "10"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "note: only 3 other items have an image; showing 3 per item, not 10\n"
    assert cap.out.count("items most like") == 2
    assert cli_main(["similar", str(four), "a", "--n", "3"]) == 0
    assert capsys.readouterr().err == ""


def test_similar_answers_a_repeated_id_once(
    four: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    js = tmp_path / "s.json"
    argv = ["similar", str(four), "b", "a", "b", "b", "--n", "1", "--json", str(js)]
    assert cli_main(argv) == 0
    cap = capsys.readouterr()
    assert cap.out.count("items most like b:") == 1 and cap.out.count("items most like a:") == 1
    assert cap.out.index("like b:") < cap.out.index("like a:")  # given order kept
    assert cap.err == "note: given more than once: 'b' (3 times); each is answered once\n"
    data = json.loads(js.read_text())
    assert [d["item_id"] for d in data] == ["b", "a"]
    assert [d["neighbours"][0]["item_id"] for d in data] == ["a", "b"]


def test_a_fetch_cache_given_as_a_folder_points_to_its_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # its files are named by URL hash: every item id came out a 64-hex hash
    import hashlib

    cache = tmp_path / "cache"
    names = [hashlib.sha256(f"http://x/{k}.jpg".encode()).hexdigest() for k in range(3)]
    _folder(cache, names)
    (cache / "manifest.csv").write_text("item_id,path,url\n")
    out = tmp_path / "v.parquet"
    assert cli_main(["embed", str(cache), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"error: {cache} is a visrec fetch cache: its files are named by the hash of their "
        f"URL (3 of 3), not by item id; embed its manifest instead: visrec embed --manifest "
        f"{shlex.quote(str(cache / 'manifest.csv'))} -o {shlex.quote(str(out))}\n"
    )
    # a folder of images named by item id that keeps a manifest.csv is embedded as is
    named = _folder(tmp_path / "named", ["a", "b"])
    (named / "manifest.csv").write_text("item_id,path\n")
    from visrec.commands.embed import _check_fetch_cache

    _check_fetch_cache(str(named), ["a", "b"], str(out))
    assert capsys.readouterr().err == ""
    # fetch -o wrote the manifest elsewhere: embedded as asked, the hash ids said
    (cache / "manifest.csv").unlink()
    _check_fetch_cache(str(cache), names, str(out))
    err = capsys.readouterr().err
    assert err.startswith(f"note: {cache} looks like a visrec fetch cache: 3 of 3 files")
    assert "embed the manifest that visrec fetch -o wrote instead" in err


def test_a_manifest_without_rows_says_so(tmp_path, capsys) -> None:
    from visrec.cli import main

    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\n")
    assert main(["embed", "--manifest", str(manifest), "-o", str(tmp_path / "v.parquet")]) == 2
    assert capsys.readouterr().err == (
        f"error: {manifest}: the manifest lists no images (no rows after its header)\n"
    )


def test_replacing_another_datasets_vectors_reads_as_a_replacement(tmp_path: Path) -> None:
    """Every item of the old file gone (the demo run on another dataset into the same
    folder): said as a replacement, not as items lost from this run."""
    import numpy as np

    from visrec.embed.output import check_dropped
    from visrec.embed.store import ItemVectors, write_vectors

    out = tmp_path / "v.parquet"
    ids = np.asarray(["a", "b", "c"], dtype=object)
    write_vectors(out, ItemVectors(ids, np.ones((3, 2), np.float32), np.ones(3, bool)))
    assert check_dropped(out, ["x", "y"], replace=True) == (
        f"{out} held another run's 3 items, none of them in this one ('a', 'b', 'c'); "
        "it is replaced"
    )
    assert check_dropped(out, ["a", "b", "x"], replace=True) == (
        f"{out}: 1 of its 3 items is not in this run and is dropped from it ('c')"
    )
