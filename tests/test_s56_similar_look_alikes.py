"""Session 56: ``visrec similar`` tells apart ids that print alike (café in its NFC and
NFD forms), on the terminal and on the HTML page (carried since session 48)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from small_vectors import item_vectors as _iv
from visrec.cli import main
from visrec.data.id_spelling import look_alikes
from visrec.embed.store import write_vectors

NFC = "caf\u00e9"
NFD = "cafe\u0301"


def test_look_alikes_finds_ids_that_print_like_another() -> None:
    # two Unicode forms, and a non-breaking hyphen that reads as '-'; 'tea' stands alone
    ids = [NFC, "tea", NFD, "a-b", "a\u2011b", NFC]
    assert look_alikes(ids) == {NFC, NFD, "a-b", "a\u2011b"}
    assert look_alikes(["a", "b", "a"]) == set()


def test_similar_heads_two_forms_of_one_name_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vec = tmp_path / "v.parquet"
    write_vectors(vec, _iv([NFC, NFD, "tea"], [[1, 0], [1, 0.1], [0, 1]]))
    report = tmp_path / "similar.html"
    assert main(["similar", str(vec), NFC, NFD, "tea", "--n", "2", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    # before: "items most like café:" twice, and rows that read alike
    assert "\nitems most like 'caf\\xe9':\n" in out
    assert "\nitems most like 'cafe\\u0301':\n" in out
    assert "\nitems most like tea:\n" in out  # an id that reads alike to none stays bare
    assert "    1  'cafe\\u0301'" in out
    page = report.read_text(encoding="utf-8")
    assert f"<h3>items most like {html.escape(ascii(NFC))}</h3>" in page
    assert f"<h3>items most like {html.escape(ascii(NFD))}</h3>" in page
    assert "<h3>items most like tea</h3>" in page
    assert f"<figcaption>{html.escape(ascii(NFD))}<br>" in page
