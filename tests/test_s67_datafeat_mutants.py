"""Session 67 mutation audit of ``visrec.commands.data`` and ``visrec.commands.features``.

86 hand-made mutants (45 of data.py, 41 of features.py): 70 killed by the existing
tests (the data/merge-variants/features test files, test_cli_basics, test_closed_stdout),
80 with this file (10 more: a missing --vectors/--like file named by the reader, -o and
--map checked without their format, --weight below the --like file's accepted, --like on
a table lacking an encoded column, the written line counting the table's items, the
--max-levels default, PATH made optional, data summary without its closed-pipe guard).
6 equivalent:

- ``if m.n_merged`` -> ``if m.variant_copies``: a merge drops the linking review's
  copy, and a copy is only dropped under a merged product, so both are 0 together.
- the "--columns or --like" message keyed on ``args.like is None``: the branch runs only
  when both are None or both given, so the two tests agree.
- ids without ``.astype(str)``: every item-table loader hands the ids as text already.
- image meta keeps ``weights_id`` only (not ``dim_image``): nothing in visrec writes a
  ``dim_image`` key (session 68 dropped the name from the source).
- merge-variants / features without ``survives_closed_stdout``: their stdout is a few
  short lines (below the stream buffer), so ``cli.main``'s final flush gives the same
  status and one error line, and their files are written before it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from test_features import _csv, _images, _table
from test_session40_mutation_gaps import _review, _write
from visrec.cli import main
from visrec.embed.store import read_vectors


def test_a_missing_vectors_file_is_named_as_the_vectors_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches dropping the up-front existence check of --vectors / --like (the
    error then came from the reader, without the option's name)."""
    items = _csv(tmp_path, _table())
    out = tmp_path / "f.parquet"
    for option in ("--vectors", "--like"):
        gone = tmp_path / f"gone{option.strip('-')}.parquet"
        extra = [] if option == "--like" else ["--columns", "colour"]
        assert main(["features", str(items), option, str(gone), "-o", str(out), *extra]) == 2
        err = capsys.readouterr().err
        assert f"{option} file {str(gone)!r} does not exist" in err, err
        assert not out.exists()


def test_an_output_named_like_csv_is_refused_before_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches checking -o without its format: a Parquet file named out.csv was
    written, which visrec's own readers would then read as CSV."""
    items = _csv(tmp_path, _table())
    out = tmp_path / "out.csv"
    assert main(["features", str(items), "--columns", "colour", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "-o: " in err and "but visrec writes Parquet there" in err, err
    assert not out.exists()


def test_like_refuses_a_smaller_weight_than_it_was_made_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches ``args.weight != weight`` turned into ``>``: a --weight below the
    --like file's was silently ignored (its saved weight used)."""
    items = _csv(tmp_path, _table())
    img = _images(tmp_path)
    first = tmp_path / "both.parquet"
    base = ["features", str(items), "--vectors", str(img)]
    assert main([*base, "--columns", "colour", "--weight", "2", "-o", str(first)]) == 0
    capsys.readouterr()
    out = tmp_path / "again.parquet"
    for given, ok in (("1", False), ("3", False), ("2", True)):
        rc = main([*base, "--like", str(first), "--weight", given, "-o", str(out)])
        err = capsys.readouterr().err
        if ok:
            assert rc == 0, err
        else:
            assert rc == 2 and f"--weight {given} differs from {first}'s 2; leave it out" in err


def test_like_on_a_table_without_an_encoded_column_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches dropping the check that the new table holds every column the --like file
    encodes (a traceback or a wrong encoding instead of one line)."""
    items = _csv(tmp_path, _table())
    first = tmp_path / "f.parquet"
    assert main(["features", str(items), "--columns", "colour,price", "-o", str(first)]) == 0
    capsys.readouterr()
    new = _csv(tmp_path, _table().drop(columns=["price"]), "new.csv")
    out = tmp_path / "new.parquet"
    assert main(["features", str(new), "--like", str(first), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{new}: no column 'price', which {first} encodes" in err, err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_the_written_line_counts_the_items_only_in_the_image_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches the summary line counting the table's items instead of the rows written
    (the image file's items missing from the table are written too)."""
    items = _csv(tmp_path, _table())  # a..f
    img = _images(tmp_path)  # a, b, c, g, h: g and h are not in the table
    out = tmp_path / "both.parquet"
    argv = ["features", str(items), "--columns", "colour", "--vectors", str(img)]
    assert main([*argv, "-o", str(out)]) == 0
    said = capsys.readouterr().out
    # 6 + 2 items; 4 image numbers + 3 colour levels (red, blue, green)
    assert said.startswith(f"wrote {out}: 8 items x 7 numbers (3 from the table: "), said
    assert len(read_vectors(out).ids) == 8


def test_a_category_keeps_fifty_levels_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches a wrong --max-levels default (documented as 50): 60 items of 30 values,
    each value twice (so not "nearly unique"), keep all 30 levels."""
    n = 60
    frame = pd.DataFrame({"item_id": [f"i{k}" for k in range(n)],
                          "shade": [f"s{k % 30}" for k in range(n)]})  # fmt: skip
    out = tmp_path / "f.parquet"
    assert main(["features", str(_csv(tmp_path, frame)), "--columns", "shade:category",
                 "-o", str(out)]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert "shade: category, 30 levels" in said, said
    names = read_vectors(out).meta["feature_names"]
    assert not any("(other)" in x for x in names) and len(names) == 30, names


def test_data_summary_without_a_path_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Catches PATH made optional (nargs "*"): `visrec data summary` alone must be
    refused by the parser, naming PATH, not run on nothing."""
    rc: object
    try:
        rc = main(["data", "summary"])
    except SystemExit as exc:  # however main passes a usage error on
        rc = exc.code
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert "the following arguments are required: PATH" in err, err


def test_summary_json_is_written_when_a_long_summary_meets_a_closed_pipe(
    tmp_path: Path,
) -> None:
    """Catches `data summary` without ``survives_closed_stdout``: a summary longer than
    stdout's buffer met the closed pipe at once (`| head` gone) and --json was never
    written (cli.main's safety net only saves the exit status)."""
    paths = []
    for k in range(40):  # 40 tables: a section each, well over 8 KiB of text
        p = tmp_path / f"ratings_{k:02d}.csv"
        p.write_text("user_id,item_id,rating\n" + "".join(f"u{r},i{r},{r % 5 + 1}\n"
                                                          for r in range(k + 2)))  # fmt: skip
        paths.append(str(p))
    js = tmp_path / "s.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "visrec", "data", "summary", *paths, "--json", str(js)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the summary is printed
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err, err
    assert len(json.loads(js.read_text())["sections"]) == 40


def test_a_map_named_like_parquet_is_refused_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches --map left out of the up-front output checks: a CSV written under a
    .parquet name (that visrec's readers would then read as Parquet)."""
    src = _write(tmp_path / "Shop_5.json.gz", [_review("u1", "A", 1, 5)])
    out, bad = tmp_path / "m.csv", tmp_path / "map.parquet"
    rc = main(["data", "merge-variants", str(src), "-o", str(out), "--map", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2 and "--map: " in err and "but visrec writes CSV there" in err, err
    assert not out.exists() and not bad.exists()
