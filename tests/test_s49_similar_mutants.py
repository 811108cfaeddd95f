"""Session 49: tests that kill mutation-audit survivors in similar-items search
(visrec.search.knn), ``visrec similar`` and its HTML page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from small_vectors import item_vectors as _iv
from visrec.cli import main
from visrec.embed.store import write_vectors
from visrec.errors import VisrecError
from visrec.search.knn import SimilarItems


def test_an_infinite_vector_marked_with_an_image_is_left_out_and_named() -> None:
    # an inf value makes the norm inf (a NaN one makes it NaN, which norms > 0 leaves out)
    index = SimilarItems(_iv(["a", "x", "b"], [[1, 0], [np.inf, 1], [0, 1]]))
    assert index.ids_.tolist() == ["a", "b"]
    assert index.not_finite_.tolist() == ["x"]
    assert np.isfinite(index.unit_).all()
    with pytest.raises(VisrecError, match=r"^item 'x' has no usable image"):
        index.query("x")


def test_float32_rounding_never_gives_a_cosine_above_one() -> None:
    # two copies of [17, 16]: their float32 unit vectors' dot product is 1.0000001
    (res,) = SimilarItems(_iv(["a", "b"], [[17, 16], [17, 16]])).query("a")
    assert res.ids == ["b"]
    assert res.scores.tolist() == [1.0]


def test_more_queries_than_one_batch_are_all_answered() -> None:
    # 600 queries span three batches of 256: none is skipped at a batch's edge
    angles = np.radians(np.arange(600) * 0.5)
    ids = [f"i{k}" for k in range(600)]
    index = SimilarItems(_iv(ids, np.c_[np.cos(angles), np.sin(angles)].tolist()))
    res = index.query(ids, n=1)
    assert [r.query for r in res] == ids
    # each one's nearest is half a degree away: the one before or after it
    for k, r in enumerate(res):
        assert r.ids[0] in {f"i{k - 1}", f"i{k + 1}"}


def test_unknown_ids_are_listed_with_dots_only_when_some_are_left_out() -> None:
    index = SimilarItems(_iv(["a", "b"], [[1, 0], [0, 1]]))
    six = [f"u{k}" for k in range(6)]
    with pytest.raises(VisrecError) as err:
        index.query(["a", *six])
    assert str(err.value) == (
        "unknown item id 'u0': not in the vectors file (and 5 more: 'u1', 'u2', 'u3', 'u4', 'u5')"
    )
    with pytest.raises(VisrecError) as err:
        index.query([*six, "u6"])
    assert str(err.value) == (
        "unknown item id 'u0': not in the vectors file "
        "(and 6 more: 'u1', 'u2', 'u3', 'u4', 'u5', ...)"
    )


def test_a_bad_n_is_refused_even_with_no_query() -> None:
    index = SimilarItems(_iv(["a", "b"], [[1, 0], [0, 1]]))
    with pytest.raises(VisrecError, match=r"^n must be positive, got 0$"):
        index.query([], n=0)


def test_a_path_in_place_of_the_vectors_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(VisrecError) as err:
        SimilarItems(str(tmp_path / "v.parquet"))  # type: ignore[arg-type]
    assert str(err.value) == (
        "similar items: vectors must be an ItemVectors (visrec.read_vectors(path) reads one), "
        "got str"
    )


def test_a_catalogue_over_one_normalisation_block_is_normalised_throughout() -> None:
    # 5,000 rows: normalised in blocks of 4,096; the last one is the first, scaled
    rows = np.random.default_rng(0).uniform(0.1, 1, size=(5000, 4))
    rows[-1] = 3 * rows[0]
    ids = [f"i{k}" for k in range(5000)]
    index = SimilarItems(_iv(ids, rows.tolist()))
    assert np.allclose(np.linalg.norm(index.unit_, axis=1), 1.0, atol=1e-6)
    (res,) = index.query("i4999", n=1)
    assert res.ids == ["i0"]
    assert res.scores[0] == pytest.approx(1.0, abs=1e-6)


def test_cli_no_short_list_note_when_no_other_item_has_an_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the listing already says "(none: ...)": no "only 0 other items" note besides
    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, _iv(["a", "b"], [[1, 0], [0, 0]], [True, False]))
    assert main(["similar", str(vpath), "a"]) == 0
    assert capsys.readouterr().err == ""


def test_cli_writes_ids_with_control_characters_as_python_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an escape character would reach the terminal raw; a tab would garble the columns
    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, _iv(["a\x1bb", "c\td", "e"], [[1, 0], [1, 0.1], [0, 1]]))
    assert main(["similar", str(vpath), "a\x1bb", "--n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index("items most like 'a\\x1bb':")
    assert lines[at + 1].split() == ["1", "'c\\td'", f"{1 / np.sqrt(1.01):.3f}"]
    assert lines[at + 2].split() == ["2", "e", "0.000"]


def test_cli_report_lists_only_the_inputs_given(tmp_path: Path) -> None:
    # no --images, no --labels: no empty "images" / "labels" rows in the page's table
    vpath, page = tmp_path / "v.parquet", tmp_path / "sim.html"
    write_vectors(vpath, _iv(["a", "b"], [[1, 0], [1, 1]]))
    assert main(["similar", str(vpath), "a", "--report", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "<tr><th>backbone</th><td>test</td></tr>" in text
    assert "<th>images</th>" not in text
    assert "<th>labels</th>" not in text


def test_cli_report_lists_five_items_without_a_photo_then_dots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    # only the query has a photo; n1..n6 lie 10, 20, ... 60 degrees from it, in rank order
    angles = np.radians([0, 10, 20, 30, 40, 50, 60])
    ids = ["q", "n1", "n2", "n3", "n4", "n5", "n6"]
    vpath, page, imgs = tmp_path / "v.parquet", tmp_path / "s.html", tmp_path / "imgs"
    write_vectors(vpath, _iv(ids, np.c_[np.cos(angles), np.sin(angles)].tolist()))
    imgs.mkdir()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(imgs / "q.jpg")
    argv = ["similar", str(vpath), "q", "--report", str(page), "--images", str(imgs)]
    assert main([*argv, "--n", "5"]) == 0
    assert capsys.readouterr().err == (
        f"note: 5 of the 6 items shown have no image in {imgs} and show as grey tiles: "
        "'n1', 'n2', 'n3', 'n4', 'n5'\n"
    )
    assert main([*argv, "--n", "6"]) == 0
    assert capsys.readouterr().err == (
        f"note: 6 of the 7 items shown have no image in {imgs} and show as grey tiles: "
        "'n1', 'n2', 'n3', 'n4', 'n5', ...\n"
    )


def _two_shared_photos(tmp_path: Path) -> tuple[str, dict[str, Path]]:
    """The page of a and b, each the other's neighbour and each with its own photo (red,
    blue): both are shown twice, so both photos are shared CSS classes; a is labelled
    ``<b>Red</b>``."""
    import numpy as np
    from PIL import Image

    from visrec.report.similar import render_similar_report
    from visrec.search.knn import Neighbours

    photos = {"a": tmp_path / "a.jpg", "b": tmp_path / "b.jpg"}
    Image.new("RGB", (8, 8), (200, 0, 0)).save(photos["a"])
    Image.new("RGB", (8, 8), (0, 0, 200)).save(photos["b"])
    res = [Neighbours("a", ["b"], np.array([0.5])), Neighbours("b", ["a"], np.array([0.5]))]
    page = render_similar_report(res, photos, {"vectors": "v.parquet"}, labels={"a": "<b>Red</b>"})
    return page, photos


def test_similar_page_gives_each_shared_photo_its_own_class(tmp_path: Path) -> None:
    import base64
    import re

    from visrec.report.plots import thumbnail_jpeg

    page, photos = _two_shared_photos(tmp_path)
    rules = dict(
        re.findall(r"\.(p\d+)\{background-image:url\(data:image/jpeg;base64,([^)]*)\)", page)
    )
    tiles = re.findall(r'<span class="thumb shared (p\d+)"[^>]*></span><figcaption>(\w+)<', page)
    assert len(tiles) == 4
    for cls, item in tiles:  # every tile of an item shows that item's photo
        assert rules[cls] == base64.b64encode(thumbnail_jpeg(photos[item]) or b"").decode()
    assert rules["p0"] != rules["p1"]


def test_similar_page_escapes_a_label_under_a_shared_photo(tmp_path: Path) -> None:
    page, _ = _two_shared_photos(tmp_path)
    assert "<b>Red</b>" not in page
    assert "<figcaption>a<br>&lt;b&gt;Red&lt;/b&gt; · query</figcaption>" in page


def test_similar_page_title_names_the_vectors_file_but_not_a_pipe() -> None:
    from visrec.report.similar import render_similar_report

    page = render_similar_report([], None, {"vectors": "/data/posters.parquet"})
    assert "<title>visrec similar: items that look alike in posters.parquet</title>" in page
    page = render_similar_report([], None, {"vectors": "/dev/fd/63"})
    assert "<title>visrec similar: items that look alike</title>" in page


def test_the_first_query_without_a_picture_is_the_one_named() -> None:
    index = SimilarItems(_iv(["a", "e1", "e2"], [[1, 0], [0, 0], [0, 0]], [True, False, False]))
    with pytest.raises(VisrecError) as err:
        index.query(["a", "e1", "e2"])
    assert str(err.value) == (
        "item 'e1' has no usable image (has_image is false or its vector is all zeros or not "
        "finite), so it has no picture to compare"
    )
