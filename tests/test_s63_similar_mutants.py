"""Session 63: mutation audit of similar-items search (visrec.search.knn) and the page of
``visrec similar`` (visrec.report.similar); these tests kill its real survivors.

77 mutants (39 in knn.py, 38 in similar.py), run against the similar tests (test_similar,
test_s49_similar_mutants, test_s56_similar_look_alikes, test_s56_knn_http_mutants,
test_report_accessibility, test_s58_html_spaces): 53 killed before, 71 killed after these
tests, 6 equivalent:

- ``_NORM_BLOCK = 1``: block size bounds memory only; the norms and unit rows are the same.
- ``_BATCH = 1``: batch size bounds memory only; each query row is scored alike.
- unit rows divided without the float64 copy: float32 rows / float64 norms promote anyway.
- ``sims`` kept float32: ``top_candidates`` writes the values into a float64 array.
- ``ok = np.isfinite(r_val)`` for ``r_idx >= 0``: top_n marks a dropped entry -1 / -inf both.
- ``to_dict`` score as np.float64, not float: a float subclass, so JSON and ``==`` agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from small_vectors import item_vectors as _iv
from visrec.errors import VisrecError
from visrec.search.knn import Neighbours, SimilarItems


def test_an_id_pasted_as_a_listing_shows_it_gets_the_pasted_id_hint() -> None:
    # the id a<TAB>b, shown by notes as 'a\tb' (quotes, backslash, t) and pasted back
    index = SimilarItems(_iv(["a\tb", "c"], [[1, 0], [0, 1]]))
    with pytest.raises(VisrecError) as err:
        index.query(["'a\\tb'"])
    assert str(err.value) == (
        "unknown item id \"'a\\\\tb'\": not in the vectors file (did you mean the id shown "
        "as 'a\\tb'? notes and listings show an id as Python writes it (in quotes, a tab or "
        "line break in it escaped): pass the id itself)"
    )


def test_an_unknown_id_is_named_before_an_id_without_a_picture() -> None:
    # an id not in the file at all is the graver mistake (a typo, the wrong file)
    index = SimilarItems(_iv(["a", "e"], [[1, 0], [0, 0]], [True, False]))
    with pytest.raises(VisrecError, match=r"^unknown item id 'zz': not in the vectors file$"):
        index.query(["e", "zz"])


def test_scores_are_float64_as_documented() -> None:
    (res,) = SimilarItems(_iv(["a", "b", "c"], [[1, 0], [1, 1], [0, 1]])).query("a", n=2)
    assert res.scores.dtype == np.float64
    assert res.ids == ["b", "c"]
    np.testing.assert_allclose(res.scores, [np.sqrt(0.5), 0.0], atol=1e-6)


def _photo(path: Path, rgb: tuple[int, int, int]) -> Path:
    from PIL import Image

    Image.new("RGB", (8, 8), rgb).save(path)
    return path


def test_a_photo_of_a_neighbour_only_counts_as_a_photo_shown(tmp_path: Path) -> None:
    from visrec.report.similar import any_photo_shown, render_similar_report

    res = [Neighbours("a", ["b"], np.array([0.5]))]
    photos = {"b": _photo(tmp_path / "b.jpg", (0, 0, 200))}
    assert any_photo_shown(res, photos)
    assert not any_photo_shown(res, {"zz": photos["b"]})
    page = render_similar_report(res, photos, {"images": "imgs"})
    assert "no photos" not in page
    assert page.count('<img class="thumb"') == 1


def test_a_label_with_a_line_break_is_shown_escaped_under_a_photo_tile() -> None:
    from visrec.report.similar import render_similar_report

    res = [Neighbours("a", ["b"], np.array([0.5]))]
    page = render_similar_report(res, None, {}, labels={"b": "Red\nShoe", "a": "x\u202ey"})
    # as the terminal shows it: a browser would fold the line break, obey the override
    assert "<br>&#x27;Red\\nShoe&#x27; · 1. cosine 0.500</figcaption>" in page
    assert "<br>&#x27;x\\u202ey&#x27; · query</figcaption>" in page
    assert "\u202e" not in page and "Red\nShoe" not in page
    # the query's tile is outlined (class "query"), its neighbour's is not
    assert page.count('<figure class="query">') == 1
    assert (
        '<figure><span class="thumb missing" role="img" aria-label="no photo">?</span>'
        "<figcaption>b<br>" in page
    )


def test_a_query_whose_photo_is_shared_is_still_outlined_as_the_query(tmp_path: Path) -> None:
    from visrec.report.similar import render_similar_report

    photos = {
        "a": _photo(tmp_path / "a.jpg", (200, 0, 0)),
        "b": _photo(tmp_path / "b.jpg", (0, 0, 200)),
    }
    res = [Neighbours("a", ["b"], np.array([0.5])), Neighbours("b", ["a"], np.array([0.5]))]
    page = render_similar_report(res, photos, {})
    # a and b each show twice: once as the query (outlined), once as a neighbour
    assert page.count('<figure class="query"><span class="thumb shared') == 2
    assert page.count('<figure><span class="thumb shared') == 2


def test_ids_that_read_alike_are_escaped_under_a_shared_photo_too(tmp_path: Path) -> None:
    import html

    from visrec.report.similar import render_similar_report

    nfc, nfd = "caf\u00e9", "cafe\u0301"
    photos = {
        nfc: _photo(tmp_path / "1.jpg", (200, 0, 0)),
        nfd: _photo(tmp_path / "2.jpg", (0, 0, 200)),
    }
    res = [Neighbours(nfc, [nfd], np.array([0.5])), Neighbours(nfd, [nfc], np.array([0.5]))]
    page = render_similar_report(res, photos, {})
    for item in (nfc, nfd):  # twice each: as the query and as the other's neighbour
        tile = f'aria-label="photo"></span><figcaption>{html.escape(ascii(item))}<br>'
        assert page.count(tile) == 2
    assert f"<figcaption>{nfc}" not in page and f"<figcaption>{nfd}" not in page


def test_write_similar_report_makes_its_folder_and_keeps_the_labels(tmp_path: Path) -> None:
    from visrec.report.similar import write_similar_report

    target = tmp_path / "out" / "similar.html"
    res = [Neighbours("a", ["b"], np.array([0.5]))]
    assert write_similar_report(target, res, None, {}, labels={"b": "Blue shoe"}) == target
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "<br>Blue shoe · 1. cosine 0.500</figcaption>" in page
    assert [p.name for p in target.parent.iterdir()] == ["similar.html"]  # no temp file


def test_an_unreadable_shared_photo_leaves_the_next_photo_shared(tmp_path: Path) -> None:
    from visrec.report.similar import render_similar_report

    bad = tmp_path / "a.jpg"
    bad.write_bytes(b"not a jpeg")
    photos = {"a": bad, "b": _photo(tmp_path / "b.jpg", (0, 0, 200))}
    res = [Neighbours("a", ["b"], np.array([0.5])), Neighbours("b", ["a"], np.array([0.5]))]
    page = render_similar_report(res, photos, {})
    # a is a "?" tile both times; b's photo is one CSS class, used by both of its tiles
    assert page.count('aria-label="no photo">?</span><figcaption>a<br>') == 2
    assert page.count('<span class="thumb shared p0" role="img"') == 2
    assert page.count("data:image/jpeg;base64,") == 1


def test_a_query_without_neighbours_says_why_on_the_page() -> None:
    from visrec.report.similar import render_similar_report

    res = [Neighbours("a", [], np.array([])), Neighbours("b", ["a"], np.array([0.5]))]
    page = render_similar_report(res, None, {})
    # once: under a's empty row, not under b's
    assert page.count('<p class="skipped">no other item has a usable image</p>') == 1
    assert '<figcaption>a<br>query</figcaption></figure></div><p class="skipped">no other' in page


def test_the_page_shows_the_notes_and_which_photos_note_fits() -> None:
    from visrec.report.similar import render_similar_report

    res = [Neighbours("a", ["b"], np.array([0.5]))]
    page = render_similar_report(res, None, {"images": ""}, notes=["only 1 <of> 2"])
    assert '<p class="note">only 1 &lt;of&gt; 2</p>' in page
    # an empty images entry is no folder given
    assert '<p class="skipped">no photos: give --images DIR to see them</p>' in page
    assert "holds no" not in page
    page = render_similar_report(res, None, {"images": "imgs"})
    assert "no photos: imgs holds no &lt;item_id&gt;.&lt;ext&gt; image of these items" in page
    assert "give --images" not in page


def test_neighbours_that_read_alike_are_escaped_though_no_query_is() -> None:
    import html

    from visrec.report.similar import render_similar_report

    nfc, nfd = "caf\u00e9", "cafe\u0301"
    page = render_similar_report([Neighbours("tea", [nfc, nfd], np.array([0.5, 0.4]))], None, {})
    assert f"<figcaption>{html.escape(ascii(nfc))}<br>1. cosine 0.500" in page
    assert f"<figcaption>{html.escape(ascii(nfd))}<br>2. cosine 0.400" in page
    assert "<figcaption>tea<br>query" in page
