"""Session 69: small source fixes, each asserted against what the old source did."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.errors import VisrecError
from visrec.models._indices import as_indices


def test_a_list_of_ints_beyond_int64_names_the_big_index_not_a_float() -> None:
    # np.asarray([2**63, -1]) is a float64 array: the message said "got 9.22e+18
    # (float64)", as if the caller had passed a float
    with pytest.raises(VisrecError, match=rf"^unknown item index {2**63} \(beyond int64\)$"):
        as_indices([2**63, -1], "item")
    with pytest.raises(VisrecError, match=rf"^unknown user index {2**64} \(beyond int64\)$"):
        as_indices((-5, 2**64), "user")
    # a float among them is still named as one
    with pytest.raises(VisrecError, match=r"got 1\.5 at position 1 \(float64\)"):
        as_indices([2**63, 1.5], "item")


def test_one_of_a_count_is_said_in_the_singular(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # was "1 images could not be used", "1 embedded items have no category" and
    # "majority class (1 stars, train)"
    from test_s49_cluster_mutants import _knn_result
    from test_s66_pipecommon_mutants import _cluster, _fake_embed, _quiet
    from visrec.demo import pipeline

    _fake_embed(monkeypatch, 1, [])
    told: list[str] = []
    pipeline._embed(
        {}, tmp_path / "v.parquet", backbone="b", engine="auto", batch_size=None,
        workers=None, progress=True, say=_quiet, tell=told.append,
    )  # fmt: skip
    assert told[0] == "1 image could not be used (zero vector, has_image=false):"
    labels = {f"i{k}": "AB"[k % 2] for k in range(8)}
    assert _cluster(tmp_path, labels, 9).note == "1 embedded item has no category"
    assert "majority class (1 star, train) " in _knn_result(1.0, [1.0, 2.0]).format()


def test_a_bare_list_of_urls_is_told_it_needs_a_header(tmp_path: Path) -> None:
    # was: "manifest header (http://a/1.jpg) needs an id column ...", as if the first
    # link were a header with a typo
    from visrec.data.images_index import load_manifest

    links = tmp_path / "links.txt"
    links.write_text("http://a/1.jpg\nhttp://a/2.jpg\n")
    with pytest.raises(VisrecError) as info:
        load_manifest(links)
    assert str(info.value).endswith(
        "; the first line is a URL, not a header: a manifest has a header line "
        "'item_id,url' and an item id on each row"
    )
    # a header with a typo gets no such words
    typo = tmp_path / "typo.csv"
    typo.write_text("itme_id,url\n1,http://a/1.jpg\n")
    with pytest.raises(VisrecError) as info:
        load_manifest(typo)
    assert "not a header" not in str(info.value)


def test_labels_the_plot_font_cannot_draw_are_one_warning_naming_them() -> None:
    # was: one "Glyph 36816 (...) missing from font(s) DejaVu Sans." line per character
    # (a dozen Chinese category names: dozens of lines); matplotlib's bundled DejaVu
    # Sans has no CJK glyph
    import warnings

    import numpy as np

    from visrec.report.plots import projection_png

    coords = np.random.default_rng(0).normal(size=(20, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = projection_png(coords, ["连衣裙"] * 10 + ["运动鞋"] * 10)
    assert png.startswith(b"\x89PNG")
    # (an old matplotlib beside a new pyparsing adds DeprecationWarnings: not ours)
    said = [str(w.message) for w in caught if w.category is UserWarning]
    assert len(said) == 1, said
    assert said[0].startswith("the plot's font has no glyph for 6 characters of the labels (")
    assert sorted(said[0].split("(")[1].split(")")[0]) == sorted("连衣裙运动鞋")


@pytest.mark.parametrize(
    ("given", "said"),
    [
        # was "... holding the item id, and the one to show" for either one missing
        (["--label-col", "t"], "--labels needs --id-col: the column of T holding the item id"),
        (["--id-col", "i"], "--labels needs --label-col: the column of T to show beside each id"),
        (
            [],
            "--labels needs --id-col and --label-col: the column of T holding the item id, "
            "and the one to show beside each id",
        ),
    ],
)
def test_similar_says_what_each_missing_labels_option_is_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: list[str], said: str
) -> None:
    from visrec.cli import main

    table = tmp_path / "items.csv"
    table.write_text("sku,title\na,Red shirt\n")
    argv = ["similar", str(tmp_path / "v.parquet"), "a", "--labels", str(table), *given]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"error: {said.replace('T', str(table), 1)}\n"


def test_interactions_given_twice_names_the_file_left_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: the last one read without a word (two category files: one silently lost);
    # and "1 users x 1 items (1 rows)" / "1 distinct pairs"
    from visrec.cli import main

    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("user_id,item_id\nu,i\n")
    second.write_text("user_id,item_id\nu,j\n")
    out = tmp_path / "m"
    argv = ["train", "--model", "popularity", "-o", str(out), "--interactions", str(first)]
    assert main([*argv, "--interactions", str(second)]) == 0
    got = capsys.readouterr()
    assert got.err.startswith(
        f"note: --interactions given twice: {second} is read, {first} is not (one file or "
        "folder is read; for several review files, give the folder holding them)\n"
    )
    assert "training popularity on 1 user x 1 item (1 row) ..." in got.err
    assert got.out.startswith("trained popularity: 1 user, 1 item, 1 row (1 distinct pair);")
    # the same file twice is no loss: nothing said
    assert main([*argv, "--interactions", str(first)]) == 0
    assert "given twice" not in capsys.readouterr().err


def test_a_whole_float_among_ints_is_named_where_it_was_given() -> None:
    # was "got 1.0 at position 0": numpy made [1, 2.0] a float array, and the first
    # element of that was named, not the 2.0 the caller passed
    with pytest.raises(VisrecError, match=r"got 2\.0 at position 1 \(float64\)"):
        as_indices([1, 2.0], "item")
    with pytest.raises(VisrecError, match=r"got 7\.0 at position 2 \(float64\)"):
        as_indices((4, 5, 7.0), "user")
