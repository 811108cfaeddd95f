"""Mends after the session-53 review: a NUL byte in a manifest's path, missing values
the report writes as n/a (numpy's NaT too) aligned as numbers, paths on the similar
page as the terminal shows them, and report titles naming a file the same way."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from visrec.cli import main
from visrec.data.images_index import read_manifest_rows
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError
from visrec.report.html import ReportData, data_name, render_report


def test_a_nul_byte_in_a_manifest_path_is_refused_with_its_line(tmp_path: Path) -> None:
    # before: kept, and embed failed with a traceback ("embedded null byte") from stat
    rows = "".join(f"i{n},img/i{n}.jpg\n" for n in range(800))  # past the binary sniff
    m = tmp_path / "m.csv"
    m.write_text("item_id,path\n" + rows + "i900,img/a\x00b.jpg\n")
    with pytest.raises(VisrecError) as info:
        read_manifest_rows(m)
    assert str(info.value) == (
        f"{m} line 802: item 'i900': its path or url 'img/a\\x00b.jpg' holds a NUL byte, "
        "which no file name can (a damaged file?)"
    )


def test_numpy_nat_and_none_read_n_a_aligned_as_numbers() -> None:
    # numpy's NaT read "NaT"; None's n/a was left-aligned beside a NaN's right-aligned one
    summary = {"t": np.datetime64("NaT"), "none": None, "nan": float("nan"), "x": "abc"}
    page = render_report(ReportData(title="t", dataset="d", parts=("summary",), summary=summary))
    cells = re.findall(r"<tr><th>(\w+)</th><td([^>]*)>([^<]*)</td>", page)
    num = ' class="num"'
    assert cells == [("t", num, "n/a"), ("none", num, "n/a"), ("nan", num, "n/a"), ("x", "", "abc")]


def test_a_title_names_its_file_as_the_terminal_does() -> None:
    # every report's title goes through data_name: a bidi override was obeyed there
    assert data_name("/d/r\u202e.csv") == "'r\\u202e.csv'"
    assert data_name("/d/u.data") == "u.data" and data_name("/dev/fd/63") == ""


def test_the_similar_page_shows_paths_as_the_terminal_does(tmp_path: Path) -> None:
    odd = tmp_path / "v\u202e"
    odd.mkdir()
    v = odd / "w\u202e.parquet"
    vecs = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    write_vectors(v, ItemVectors(["a", "b", "c"], vecs, np.ones(3, dtype=bool)))
    images = odd / "imgs"
    images.mkdir()
    out = tmp_path / "s.html"
    assert main(["similar", str(v), "a", "--report", str(out), "--images", str(images)]) == 0
    page = out.read_text()
    assert "\u202e" not in page
    assert f"<td>{str(v)!r}</td>".replace("'", "&#x27;") in page
    assert f"<td>{str(images)!r}</td>".replace("'", "&#x27;") in page


def test_the_cluster_page_says_an_images_folder_as_the_terminal_does(tmp_path: Path) -> None:
    # its "no image in ... is named after a clustered item id" note showed the raw path
    rng = np.random.default_rng(0)
    ids = [f"i{n}" for n in range(12)]
    vecs = np.vstack([rng.normal(0, 0.1, (6, 3)), rng.normal(3, 0.1, (6, 3))]).astype(np.float32)
    v = tmp_path / "v.parquet"
    write_vectors(v, ItemVectors(ids, vecs, np.ones(12, dtype=bool)))
    labels = tmp_path / "labels.csv"
    labels.write_text("id,cat\n" + "".join(f"i{n},{'ab'[n // 6]}\n" for n in range(12)))
    images = tmp_path / "im\u202eg"
    images.mkdir()
    out = tmp_path / "c.html"
    argv = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "cat"]
    assert main([*argv, "--k", "2", "--report", str(out), "--images", str(images)]) == 0
    page = out.read_text()
    assert "\u202e" not in page
    assert f"no image in {str(images)!r} is named".replace("'", "&#x27;") in page


def test_embed_says_no_parquet_name_note_for_an_output_it_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the "written as a Parquet file" note came before the refusal of the same output
    from PIL import Image

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for i, colour in enumerate(["red", "blue"]):
        Image.new("RGB", (8, 8), colour).save(imgs / f"p{i}.png")
    link = tmp_path / "v.vec"
    link.symlink_to(imgs / "p1.png")
    assert main(["embed", str(imgs), "-o", str(link), "--overwrite", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "writing it would replace it" in err
