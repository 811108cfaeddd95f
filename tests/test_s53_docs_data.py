"""docs/data.md, docs/embed.md and docs/demo.md read as a new user reads them (session 53).

Each test checks one thing those pages say, where the code did otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from small_vectors import item_vectors
from visrec.cli import main
from visrec.data.amazon import load_amazon_meta
from visrec.data.item_tables import load_item_table
from visrec.embed.store import write_vectors
from visrec.errors import VisrecError


def _meta_file(tmp_path: Path) -> Path:
    p = tmp_path / "meta_Shop.json"
    rows = [
        {"asin": "A1", "title": "red shirt", "main_cat": "Fashion", "imageURL": ["http://x/1.jpg"]},
        {"asin": "A2", "title": "mug", "main_cat": "Home", "category": ["Home", "Kitchen"]},
    ]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return p


def test_meta_item_table_has_the_columns_of_load_amazon_meta(tmp_path: Path) -> None:
    # data.md: an Amazon meta file read by load_item_table has "those of load_amazon_meta",
    # categories joined by " > ". It also carried fetch's internal "_where" ("file line
    # N"), a column the file does not have. Fails before the fix (the drop of "_where"
    # in item_tables._load_meta_items).
    p = _meta_file(tmp_path)
    frame = load_item_table(p, id_col="asin").frame
    meta_cols = list(load_amazon_meta(p).frame.columns)
    assert "_where" not in frame.columns
    assert [c for c in frame.columns if c != "main_category"] == meta_cols
    assert frame.set_index("item_id").loc["A2", "categories"] == "Home > Kitchen"


def test_meta_item_table_lists_only_the_files_columns(tmp_path: Path) -> None:
    # The error for a label column the table lacks lists the file's columns; "_where"
    # was among them, and --label-col _where was taken as a label. Fails before the fix.
    p = _meta_file(tmp_path)
    with pytest.raises(VisrecError) as err:
        load_item_table(p, id_col="asin", label_col="nope")
    assert "_where" not in str(err.value)
    assert "main_cat" in str(err.value)
    with pytest.raises(VisrecError):
        load_item_table(p, id_col="asin", label_col="_where")


def test_similar_labels_from_a_meta_file_never_show_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CLI path docs/data.md names (--labels meta_X.json --id-col asin): a wrong
    # --label-col is refused listing the file's columns only. Fails before the fix.
    p = _meta_file(tmp_path)
    vec = tmp_path / "v.parquet"
    write_vectors(vec, item_vectors(["A1", "A2"], [[1.0, 0.0], [0.0, 1.0]]))
    rc = main(["similar", str(vec), "A1", "--labels", str(p), "--id-col", "asin",
               "--label-col", "_where"])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert "no label column '_where'" in err
    assert "_where," not in err


def _photos(folder: Path) -> dict[str, bytes]:
    from PIL import Image

    folder.mkdir()
    for i, colour in enumerate(["red", "blue"]):
        Image.new("RGB", (8, 8), colour).save(folder / f"p{i}.png")
    return {f.name: f.read_bytes() for f in folder.iterdir()}


@pytest.mark.parametrize("option", ["-o", "--json"])
def test_embed_refuses_an_output_linking_to_one_of_its_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    # embed.md: -o and --json naming one of the images "(through a symlink or a hard
    # link too) are refused before any work (exit 2)". A symlink under another name
    # (v.vec -> imgs/p1.png) was not: with --overwrite the photo became Parquet (the
    # atomic write goes through the link). Fails before _output_names in
    # commands/_output_paths.py counted a link's target name.
    imgs = tmp_path / "imgs"
    before = _photos(imgs)
    link = tmp_path / ("v.vec" if option == "-o" else "s.json")
    link.symlink_to(imgs / "p1.png")
    out = ["-o", str(link)] if option == "-o" else ["-o", str(tmp_path / "v.parquet"),
                                                    "--json", str(link)]  # fmt: skip
    rc = main(["embed", str(imgs), *out, "--overwrite", "-q"])
    assert rc == 2
    assert "writing it would replace it" in capsys.readouterr().err
    assert {f.name: f.read_bytes() for f in imgs.iterdir()} == before
    assert not (tmp_path / "v.parquet").exists()


def test_named_like_outputs_counts_a_links_target(tmp_path: Path) -> None:
    # The helper every folder-reading command uses (embed, demo, data): an output that
    # is a symlink stands for its target's name too; a plain output only for its own.
    from visrec.commands._output_paths import named_like_outputs

    imgs = tmp_path / "imgs"
    _photos(imgs)
    link = tmp_path / "r.html"
    link.symlink_to(imgs / "p0.png")
    files = sorted(imgs.iterdir())
    assert named_like_outputs({"--report": str(link)}, files) == [imgs / "p0.png"]
    assert named_like_outputs({"--report": str(tmp_path / "p1.png")}, files) == [imgs / "p1.png"]
    assert named_like_outputs({"--report": str(tmp_path / "x.html")}, files) == []


def test_output_linking_to_a_photo_of_an_input_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # check_outputs_distinct with a folder input (folder_inputs): a "~/..." output that
    # links to one of the folder's photos under another name is that photo. Kills the
    # mutants "folder_inputs matches the outputs' own names only" and "no expanduser
    # in _output_names".
    from visrec.commands._output_paths import check_outputs_distinct

    imgs = tmp_path / "imgs"
    _photos(imgs)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "r.json").symlink_to(imgs / "p1.png")
    with pytest.raises(VisrecError, match="writing it would replace it"):
        check_outputs_distinct({"--json": "~/r.json"}, {"IMAGES": str(imgs)})
    check_outputs_distinct({"--json": "~/new.json"}, {"IMAGES": str(imgs)})  # no link: fine
