"""`visrec data summary` on a folder of Amazon review files with images beside them: the
review photos are URLs inside the records, so an image folder or loose images there are
not read; the summary says so (before, they were passed over without a word)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from visrec.data.summary import format_summary, summarize


def _reviews(path: Path, items: list[str]) -> None:
    recs = [
        {"overall": 5.0, "reviewerID": f"u{i}", "asin": item, "unixReviewTime": 1000 + i}
        for i, item in enumerate(items)
    ]
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n", encoding="utf-8")


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (200, 10, 10)).save(path)


def test_an_image_folder_and_loose_images_beside_reviews_are_said_not_read(
    tmp_path: Path,
) -> None:
    _reviews(tmp_path / "All_Beauty_5.json", ["A", "B"])
    _reviews(tmp_path / "AMAZON_FASHION_5.json", ["C"])
    _image(tmp_path / "images" / "A.jpg")
    _image(tmp_path / "A.png")
    _image(tmp_path / "B.jpg")
    (section,) = summarize([tmp_path])
    assert section["kind"] == "Amazon reviews"
    assert section["rows"] == 3
    assert section["files_not_read"] == ["images/", "2 image files"]
    text = format_summary([section])
    # both review files were read, not only the first one listed
    assert (
        "not read: images/, 2 image files (read: AMAZON_FASHION_5.json, All_Beauty_5.json)" in text
    )
    assert "review photos are the URLs in the records" in text
    assert "give the file or image folder itself to read another" not in text


def test_one_loose_image_is_singular(tmp_path: Path) -> None:
    _reviews(tmp_path / "All_Beauty_5.json", ["A"])
    _image(tmp_path / "A.webp")
    (section,) = summarize([tmp_path])
    assert section["files_not_read"] == ["1 image file"]


def test_reviews_alone_have_no_not_read_line(tmp_path: Path) -> None:
    _reviews(tmp_path / "All_Beauty_5.json", ["A"])
    (tmp_path / "notes.txt").write_text("not an image\n", encoding="utf-8")
    (section,) = summarize([tmp_path])
    assert "files_not_read" not in section
    assert "not read:" not in format_summary([section])


def test_a_table_folder_keeps_its_own_hint(tmp_path: Path) -> None:
    (tmp_path / "interactions.csv").write_text("user_id,item_id\nu,a\n", encoding="utf-8")
    _image(tmp_path / "images" / "a.jpg")
    _image(tmp_path / "posters" / "a.jpg")
    (section,) = summarize([tmp_path])
    text = format_summary([section])
    assert "not read: images/ (read: interactions.csv, posters/)" in text
    assert "give the file or image folder itself to read another" in text
