"""Fields longer than the csv module's default limit (131,072 characters) in a manifest
and in ``recommend --items``: read, not a ``_csv.Error`` traceback nor "a quote left
open"; a csv error names the file and line; a repeated id or image column is refused
naming it."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import visrec.data.text_files as text_files
from visrec.cli import main
from visrec.data.images_index import load_manifest
from visrec.errors import VisrecError

LONG = "x" * 140_000  # over the csv module's default field limit


@pytest.fixture(autouse=True)
def default_field_limit() -> Iterator[None]:
    """The csv module's limit as a fresh process has it: another test may have raised it."""
    before = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(before)


def _manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.csv"
    path.write_text(text)
    return path


def test_a_manifest_field_over_the_csv_limit_is_read_whole(tmp_path: Path) -> None:
    url = f"https://example.invalid/{LONG}.jpg"
    m = _manifest(tmp_path, f'item_id,url\nA,"{url}"\nB,https://example.invalid/b.jpg\n')
    assert load_manifest(m) == {"A": url, "B": "https://example.invalid/b.jpg"}


@pytest.mark.parametrize("command", ["fetch", "embed"])
def test_fetch_and_embed_read_past_a_long_field_to_the_line_at_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # a description column 140,000 characters long on line 2; line 3 repeats item A
    m = _manifest(
        tmp_path,
        f'item_id,url,title\nA,https://example.invalid/a.jpg,"{LONG}"\n'
        "A,https://example.invalid/b.jpg,short\n",
    )
    if command == "fetch":
        argv = ["fetch", str(m), "--cache", str(tmp_path / "c"), "--no-progress"]
    else:
        argv = ["embed", "--manifest", str(m), "-o", str(tmp_path / "v.parquet")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{m} line 3: item 'A' listed twice (first on line 2)" in err
    assert "Traceback" not in err and "field limit" not in err


def test_a_csv_error_in_a_manifest_names_the_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the limit is 2**31 - 1 characters; a lower one stands in for any csv error
    monkeypatch.setattr(text_files, "FIELD_LIMIT", 1_000, raising=False)
    m = _manifest(tmp_path, f'item_id,url\n\nA,https://example.invalid/a.jpg\nB,"{LONG}"\n')
    with pytest.raises(VisrecError) as info:
        load_manifest(m)
    assert str(info.value) == (
        f"{m} line 4: not readable as a table (field larger than field limit (131072))"
    )


@pytest.mark.parametrize(
    ("header", "column"),
    [("item_id,url,url", "url"), ("item_id,path,Path", "path"), ("id,path,ID", "id")],
)
def test_a_manifest_naming_its_id_or_image_column_twice_is_refused(
    tmp_path: Path, header: str, column: str
) -> None:
    m = _manifest(tmp_path, f"{header}\na,https://example.invalid/1.jpg,b.jpg\n")
    with pytest.raises(VisrecError) as info:
        load_manifest(m)
    shown = ", ".join(header.split(","))
    assert str(info.value) == (
        f"{m}: the manifest header ({shown}) names column {column!r} more than once; "
        "rename or drop the extra ones"
    )


def test_fetch_refuses_a_manifest_with_two_url_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the second column's images were never fetched, without a word
    m = _manifest(
        tmp_path, "item_id,url,url\na,http://127.0.0.1:9/a.jpg,http://127.0.0.1:9/b.jpg\n"
    )
    argv = ["fetch", str(m), "--cache", str(tmp_path / "c"), "--no-progress", "--retries", "0"]
    assert main(argv) == 2
    assert "names column 'url' more than once" in capsys.readouterr().err
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("model")
    rng = np.random.default_rng(3)
    rows = {(f"u{u}", f"i{int(i)}") for u in range(20) for i in rng.integers(0, 15, size=5)}
    train = tmp / "train.csv"
    pd.DataFrame(sorted(rows), columns=["user_id", "item_id"]).to_csv(train, index=False)
    out = tmp / "m"
    argv = ["train", "--model", "bpr", "--interactions", str(train), "-o", str(out), "--quiet"]
    assert main([*argv, "--param=epochs=2", "--param=factors=4"]) == 0
    return out


def test_recommend_items_reads_a_quoted_id_over_the_csv_limit(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = tmp_path / "items.txt"
    items.write_text(f'i1\n"{LONG}"\n')
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(model_dir), "-o", str(out), "--items", str(items)]) == 0
    err = capsys.readouterr().err
    # the long id is a candidate unseen in training, not "a quote left open"
    assert "1 such candidate is ranked last" in err and "quote" not in err
    assert repr(LONG[:37] + "...") in err and len(err) < 1_000
    got = pd.read_csv(out, dtype={"item_id": str})
    assert set(got["item_id"]) == {"i1", LONG}


def test_recommend_items_quote_left_open_on_a_long_line_is_cut_short(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = tmp_path / "items.txt"
    items.write_text(f'i1\n"{LONG}\n')
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(model_dir), "-o", str(out), "--items", str(items)]) == 2
    err = capsys.readouterr().err
    line = repr('"' + LONG[:36] + "...")
    assert f"candidates file {str(items)!r} line 2: a quote left open in {line} (one item" in err
    assert len(err) < 1_000
    assert not out.exists()
