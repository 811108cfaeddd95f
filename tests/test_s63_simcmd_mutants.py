"""Session 63: mutation audit of the ``visrec similar`` command
(visrec.commands.similar); these tests kill its real survivors.

57 mutants, run against every test that runs ``visrec similar`` (test_similar,
test_s49_similar_mutants, test_s56_similar_look_alikes, test_s63_similar_mutants and the
tests elsewhere that call it): 49 killed before, 56 killed after these tests, 1 equivalent:

- dropping ``check_outputs_distinct`` in ``_read_labels``: ``run`` makes the same call,
  with the same arguments, just before it (so the second call was then removed).

Also changed after the audit: the --json file ends with a line break, as every other
command's does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors


def _write(path: Path, meta: dict[str, str] | None = None) -> Path:
    # a and b nearly one direction, c at 90 degrees, d opposite a
    iv = ItemVectors(
        ids=np.array(["a", "b", "c", "d"], dtype=object),
        vectors=np.array([[1, 0], [1, 0.1], [0, 1], [-1, 0]], dtype=np.float32),
        has_image=np.array([True, True, True, True]),
        meta=meta if meta is not None else {"backbone": "tiny-net"},
    )
    write_vectors(path, iv)
    return path


def test_an_id_given_twice_is_noted_with_its_count_and_a_single_one_is_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vec = _write(tmp_path / "v.parquet")
    assert main(["similar", str(vec), "a", "c", "a", "--n", "1"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "note: given more than once: 'a' (2 times); each is answered once\n"
    assert cap.out.count("items most like a:") == 1


def test_the_heading_names_the_backbone_of_the_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vec = _write(tmp_path / "v.parquet")
    assert main(["similar", str(vec), "a", "--n", "1"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "4 of 4 items have an image (tiny-net); cosine similarity, 1 = same direction"


def test_a_file_without_a_backbone_says_unknown_backbone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vec = _write(tmp_path / "v.parquet", meta={})
    html = tmp_path / "s.html"
    assert main(["similar", str(vec), "a", "--n", "1", "--report", str(html)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("4 of 4 items have an image (unknown backbone);")
    assert "unknown backbone" in html.read_text(encoding="utf-8")


def test_the_label_tables_lost_records_are_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vec = _write(tmp_path / "v.parquet")
    table = tmp_path / "items.csv"
    table.write_text("item_id,title\na,Alpha\nb,\nc,Gamma\nd,Delta\n", encoding="utf-8")
    argv = ["similar", str(vec), "a", "--n", "1", "--labels", str(table)]
    assert main([*argv, "--id-col", "item_id", "--label-col", "title"]) == 0
    cap = capsys.readouterr()
    assert cap.err.startswith(f"{table}: skipped 1 record; bad records: 1 (empty")
    assert "items most like a (Alpha):" in cap.out


def test_the_json_is_indented_for_reading_and_ends_its_line(tmp_path: Path) -> None:
    vec = _write(tmp_path / "v.parquet")
    out = tmp_path / "s.json"
    assert main(["similar", str(vec), "a", "--n", "2", "--json", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    data = json.loads(text)
    assert [n["item_id"] for n in data[0]["neighbours"]] == ["b", "c"]
    # as every other command writes its --json (the newline added in session 63)
    assert text == json.dumps(data, indent=2) + "\n"


def test_n_zero_is_refused_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vec = _write(tmp_path / "v.parquet")
    assert main(["similar", str(vec), "a", "--n", "0"]) == 2
    assert capsys.readouterr().err == "error: --n must be at least 1, got 0\n"


def test_a_very_long_vector_gets_no_length_warning_since_cosine_ignores_length(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iv = ItemVectors(
        ids=np.array(["a", "b", "c", "d"], dtype=object),
        vectors=np.array([[1, 0], [0, 1], [1, 1], [1000, 1]], dtype=np.float32),
        has_image=np.array([True, True, True, True]),
        meta={"backbone": "tiny-net"},
    )
    vec = tmp_path / "v.parquet"
    write_vectors(vec, iv)
    assert main(["similar", str(vec), "a", "--n", "1"]) == 0
    cap = capsys.readouterr()
    assert cap.err == ""
    assert "  1  d" in cap.out  # the long one is a's nearest all the same
