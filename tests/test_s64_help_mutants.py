"""Session 64 mutation audit of ``commands/_help.py`` (HelpFormatter._fill_text, Parser:
error, _words, take_trailing, unrecognized, hint, the SAME_MEANING tables) and the small
modules ``_blas_threads``, ``_revision``, ``commands/_csv_quoting``,
``embed/vector_source``, ``images/pillow_warnings`` and ``__main__``.

Mutants: 63 in all (40 in _help, 23 in the small modules); 31 killed by the tests
before, 57 after these; 6 equivalent:

* ``"=" not in token`` dropped in Parser._words: no option string holds "=", so the
  lookup of "--n=3" finds nothing either way and the token is no word either way.
* ``name.startswith("--")`` dropped before the --param hint: only a single-dash word
  like "-Xepochs" could reach a hyperparameter name through ``name[2:]``.
* ``sys.argv[1:]`` -> ``[]`` when parse_known_args gets no args: only the top-level
  parser is called so, and it has no required argument for error() to name; every
  subcommand's parser is handed its words by argparse.
* ``str(backbone)`` for a non-string backbone in what_vectors_show: metadata gives a
  string or None, and str(None) means pictures too.
* ``image_backbone is None`` -> ``not image_backbone`` in attributes_backbone: its one
  caller passes ``meta.get("backbone") or "image"``, never "".
* ``category=UserWarning`` dropped from the EXIF filter: Pillow says those messages
  only as UserWarning.
"""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest

from test_cli_parsing import error_of
from visrec.commands._help import HelpFormatter


def fill(text: str, width: int, indent: str = "") -> list[str]:
    return HelpFormatter("prog")._fill_text(text, width, indent).split("\n")


def test_a_line_that_fits_only_without_its_indent_is_wrapped() -> None:
    # 39 characters fit 40 columns, but not after a 2-space indent (a group description)
    assert fill("x" * 19 + " " + "y" * 19, 40, "  ") == ["  " + "x" * 19, "  " + "y" * 19]


def test_a_paragraph_whose_lines_fit_exactly_is_left_as_written() -> None:
    # a line as long as the width fits: the short lines above it are not joined
    assert fill("aa\nbb\n" + "c" * 20, 20) == ["aa", "bb", "c" * 20]
    assert fill("aa\nbb\n" + "c" * 18, 20, "  ") == ["  aa", "  bb", "  " + "c" * 18]


def test_wrapped_prose_fits_the_width_and_keeps_its_indent() -> None:
    words = " ".join(f"w{k:02d}" for k in range(40))  # 159 characters, one line
    for indent in ("", "  "):
        lines = fill(words, 30, indent)
        assert len(lines) >= 5
        assert all(len(line) <= 30 and line.startswith(indent) for line in lines), lines
        assert " ".join(line.strip() for line in lines) == words
        # each line as full as it can be: the next word would not have fitted
        for line, after in itertools.pairwise(lines):
            assert len(line) + 1 + len(after.split()[0]) > 30


def test_options_and_long_words_are_not_cut() -> None:
    text = "see --no-progress-bar-at-all and https://example.org/a/very/long/path too"
    lines = fill(text, 20)
    assert "--no-progress-bar-at-all" in lines
    assert "https://example.org/a/very/long/path" in lines
    assert " ".join(lines) == text


def test_blank_and_indented_lines_end_a_paragraph() -> None:
    long = "word " * 10 + "end"
    text = f"{long}\n\n{long}\n  indented   example   kept\n{long}"
    lines = fill(text, 30)
    assert "" in lines and "  indented   example   kept" in lines
    # three paragraphs, each wrapped on its own: no line holds the end of one and the
    # start of the next
    assert sum(line.endswith("end") for line in lines) == 3
    assert lines[-1].endswith("end") and lines[0].startswith("word")
    assert textwrap.dedent("\n".join(lines)).count("word word") >= 3


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # --vectors=V names the vectors file as --vectors V does
        (["similar", "--vectors=v.parquet"], "required: ITEM_ID"),
        # -q takes no value: the word after it is VECTORS
        (["cluster", "-q", "v.parquet"], "required: --labels, --id-col, --label-col"),
        (["cluster", "--labels", "t", "-", "--id-col", "a"], "required: --label-col"),
    ],
)
def test_vectors_is_named_missing_only_when_no_word_was_given(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert error_of(argv, capsys).endswith(f"the following arguments are {expected}")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # "-" is a word (stdin), not an id that looks like an option
        (["similar", "v.parquet", "a", "--n", "2", "-"], "unrecognized arguments: -"),
        # one hint said once, however many options it answers
        (
            ["knn-rating", "--interactions", "x", "--vectors", "v", "--n", "3",
             "--neighbors", "4"],
            "unrecognized arguments: --n 3 --neighbors 4; --k K is the number of neighbours "
            "here",
        ),
        # --help is never the option meant
        (["recommend", "m", "-o", "r.csv", "--hel"], "unrecognized arguments: --hel"),
        # a prefix of two options is neither (--unknown-users, --users)
        (["recommend", "m", "-o", "r.csv", "--u", "x"], "unrecognized arguments: --u x"),
        # a nested command's hints are its own (visrec data summary)
        (
            ["data", "summary", "x", "-o", "o.json"],
            "unrecognized arguments: -o o.json; --json OUT is the output here (the summary "
            "itself goes to stdout)",
        ),
        (
            ["report", "r", "-o", "x", "--out", "y"],
            "unrecognized arguments: --out y; -o is the output here",
        ),
        # a single-dash option gets its hint too
        (
            ["similar", "v.parquet", "a", "-o", "x"],
            "unrecognized arguments: -o x; --json OUT and --report HTML are the "
            "outputs here",
        ),
    ],
)  # fmt: skip
def test_unknown_option_hints(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert error_of(argv, capsys) == f"visrec {argv[0]}: error: {expected}".replace(
        "visrec data:", "visrec data summary:"
    )


def test_quiet_pillow_warnings_ignores_the_bomb_and_exif_warnings_only() -> None:
    import io
    import struct
    import warnings
    import zlib

    from PIL import Image

    from visrec.images.pillow_warnings import quiet_pillow_warnings

    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    png = bytearray(buf.getvalue())
    png[16:24] = struct.pack(">II", 12_000, 10_000)  # 1.2e8 pixels: 1x-2x the limit
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])) & 0xFFFFFFFF)
    with warnings.catch_warnings(record=True) as seen:  # puts the filters back
        warnings.simplefilter("always")
        Image.open(io.BytesIO(bytes(png)))  # without the filter: the bomb warning
        assert [w.category for w in seen] == [Image.DecompressionBombWarning]
        seen.clear()
        quiet_pillow_warnings()
        Image.open(io.BytesIO(bytes(png)))
        # Pillow's wordings (TiffImagePlugin, Image.Exif.get_ifd)
        for message in (
            "Corrupt EXIF data.  Expecting to read 12 bytes but only got 2. ",
            "Possibly corrupt EXIF data.  Expecting to read 8 bytes but only got 4.",
            "Possibly corrupt EXIF MakerNote data.  Expecting to read 8 bytes",
            "Truncated File Read",  # others are still shown
        ):
            warnings.warn(message, UserWarning, stacklevel=1)
        assert [str(w.message) for w in seen] == ["Truncated File Read"]


def test_package_version_of_a_missing_package_is_none() -> None:
    from visrec._revision import package_version

    assert package_version("visrec-no-such-package-s64") == "none"
    assert package_version("numpy") not in ("", "none")


def test_code_revision_hashes_paths_and_bytes_in_a_fixed_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec import _revision

    def revision_of(files: dict[str, str], reverse: bool = False) -> str:
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        monkeypatch.setattr(_revision, "__file__", str(root / "_revision.py"))
        if reverse:  # another file system lists the files in another order
            listed = sorted(root.rglob("*.py"), reverse=True)
            monkeypatch.setattr(Path, "rglob", lambda self, pattern: iter(listed))
        _revision.code_revision.cache_clear()
        try:
            return _revision.code_revision()
        finally:
            monkeypatch.undo()
            _revision.code_revision.cache_clear()

    base = {"_revision.py": "x = 1\n", "a.py": "a = 1\n", "sub/b.py": "b = 2\n"}
    rev = revision_of(base)
    assert revision_of(base, reverse=True) == rev
    # the same bytes under another name: other code (a module moved or renamed)
    moved = {"_revision.py": "x = 1\n", "c.py": "a = 1\n", "sub/b.py": "b = 2\n"}
    assert revision_of(moved) != rev
    assert revision_of({**base, "sub/b.py": "b = 3\n"}) != rev


def test_csv_quoting_looks_at_every_column() -> None:
    import csv

    from visrec.commands._csv_quoting import csv_quoting

    assert csv_quoting(["u1", "u2"], ["i1", "i\r2"]) == csv.QUOTE_ALL
    assert csv_quoting(["u1"], iter(["i1", "i\n2"]), [1.5]) == csv.QUOTE_MINIMAL


def test_only_the_exact_feature_backbone_names_mean_attributes() -> None:
    from visrec.embed.vector_source import attributes_backbone, what_vectors_show

    assert attributes_backbone(None) == "item-features"
    assert attributes_backbone("resnet18") == "resnet18+item-features"
    # an image backbone whose name merely starts or ends with those letters
    assert what_vectors_show("item-features-v2") == "pictures"
    assert what_vectors_show("dinov2-item-features") == "pictures"
