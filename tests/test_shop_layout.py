"""A shop's own interactions file: its column names, separator and extra columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.data.tables import load_interactions
from visrec.errors import VisrecError
from visrec.models.base import Recommender

ORDERS = (
    "\ufeffcustomer_id;sku;qty;ordered_at\n"
    "C001;SKU-000001;1;2025-09-01T10:00:00+02:00\n"
    "C001;SKU-000002;0;2025-09-02T10:00:00+02:00\n"
    "C002;SKU-000001;3;2025-09-03T10:00:00Z\n"
    "C002;SKU-000003;1;2025-09-04T10:00:00-05:00\n"
    "C003;SKU-000002;2;2025-09-05T10:00:00+00:00\n"
    "C003;SKU-000003;1;2025-09-06T10:00:00+00:00\n"
)


def test_shop_names_are_aliases_and_other_columns_are_named(tmp_path: Path) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(ORDERS, encoding="utf-8")
    res = load_interactions(f)
    assert list(res.frame.columns) == ["user_id", "item_id"]
    assert res.frame["item_id"].tolist()[:2] == ["SKU-000001", "SKU-000002"]  # zeros kept
    assert res.unread_columns == ["qty", "ordered_at"]
    # a shop's time column is taken where the time is needed (a split by time)
    timed = load_interactions(f, ids_only=True, keep_time=True)
    assert timed.frame["timestamp"].iloc[0] == 1756713600  # 10:00 at +02:00 is 08:00 UTC
    assert timed.unread_columns == ["qty"]


def test_a_shop_time_column_that_is_not_needed_costs_no_row(tmp_path: Path) -> None:
    f = tmp_path / "events.csv"
    f.write_text(
        "user_id,item_id,rating,created_at\nu1,i1,5,2024-01-02\nu2,i1,4,\nu2,i2,3,pending\n"
    )
    res = load_interactions(f)
    assert res.n_rows == 3 and res.n_bad == 0 and res.unread_columns == ["created_at"]


def test_layout_options_name_the_columns_and_separator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "orders.txt"
    rows = ["who|what|n|when"] + [
        "|".join(line.split(";")) for line in ORDERS.lstrip("\ufeff").splitlines()[1:]
    ]
    f.write_text("\n".join(rows) + "\n")
    with pytest.raises(VisrecError, match="--user-col / --item-col on the command line"):
        load_interactions(f, sep="|")
    layout = ["--sep", "|", "--user-col", "who", "--item-col", "what"]
    out = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(f), "-o", str(out), "-q"]
    assert main([*argv, *layout, "--time-col", "when"]) == 0
    err = capsys.readouterr().err
    assert "note: --time-col when is not read here (this command does not use the time)" in err
    # 'n' is unknown and said; 'when' was named, so it is not listed as lost
    assert "column 'n' not read: every row is one interaction" in err
    model = Recommender.load(out)
    assert model.user_map_.to_list() == ["C001", "C002", "C003"]
    assert model.item_map_.to_list() == ["SKU-000001", "SKU-000002", "SKU-000003"]
    ev = ["evaluate", "--interactions", str(f), "--protocol", "time", "--seeds", "1", "-q"]
    assert main([*ev, *layout]) == 2  # no time column found
    err = capsys.readouterr().err
    assert f"error: {f}: protocol 'time' needs a timestamp" in err
    assert "--time-col NAME on the command line" in err
    assert main([*ev, *layout, "--time-col", "when", "--json", str(tmp_path / "r.json")]) == 0
    assert (tmp_path / "r.json").is_file()


def test_tab_can_be_typed_as_backslash_t(tmp_path: Path) -> None:
    f = tmp_path / "orders.txt"
    f.write_text("a\tb\nu1\ti1\nu2\ti1\nu2\ti2\n")
    out = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(f), "-o", str(out), "-q"]
    assert main([*argv, "--sep", "\\t", "--user-col", "a", "--item-col", "b"]) == 0
    assert main([*argv, "--sep", "tab", "--user-col", "a", "--item-col", "b"]) == 0


def _small_shop(path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = ["customer_id,sku,ordered_at"]
    for u in range(60):
        for j in rng.choice(40, size=6, replace=False):
            rows.append(f"C{u:03d},SKU-{j:03d},{1_750_000_000 + int(rng.integers(10**6))}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_small_catalogue_and_repeated_time_seeds_are_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = _small_shop(tmp_path / "orders.csv")
    base = ["evaluate", "--interactions", str(f), "--models", "popularity", "-q"]
    out = tmp_path / "r.json"
    assert main([*base, "--protocol", "time", "--seeds", "2", "--json", str(out)]) == 0
    err = capsys.readouterr().err
    half = "the top 20 is half of them or more, so even a random ranking has a high Recall@20"
    same = "every seed holds out the same rows (each user's last)"
    assert half in err and same in err
    notes = json.loads(out.read_text())["notes"]
    assert any(half in n for n in notes) and any(same in n for n in notes)
    # a list a tenth of the candidates, and seeds that change the split: no such notes
    assert main([*base, "--protocol", "warm", "--seeds", "2", "--k", "4"]) == 0
    err = capsys.readouterr().err
    assert half.replace("20", "4") not in err and same not in err


def test_a_decimal_comma_is_named_in_the_bad_record(tmp_path: Path) -> None:
    f = tmp_path / "excel.csv"
    f.write_text('"user_id";"item_id";"rating"\n"C1";"S1";"4,5"\n"C2";"S1";"4.5"\n')
    res = load_interactions(f)
    assert res.frame["user_id"].tolist() == ["C2"]
    assert [b.reason for b in res.bad] == [
        "rating '4,5' is not a number (a decimal comma? write it with a dot: 4.5)"
    ]


def test_data_summary_takes_the_layout_and_names_unread_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(ORDERS, encoding="utf-8")
    assert main(["data", "summary", str(f), "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "columns not read (every row is one interaction): qty, ordered_at" in out
    sections = json.loads((tmp_path / "s.json").read_text())["sections"]
    assert sections[0]["columns_not_read"] == ["qty", "ordered_at"]
    g = tmp_path / "who.csv"
    g.write_text("who,what\nann,lamp\nbob,desk\n")
    assert main(["data", "summary", str(g)]) == 2
    assert main(["data", "summary", str(g), "--user-col", "who", "--item-col", "what"]) == 0
    assert "users                                    2" in capsys.readouterr().out


def test_data_summary_reads_an_item_table_keyed_by_sku(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "items.csv").write_text("sku,category\nSKU-1,shoes\nSKU-2,bags\n")
    assert main(["data", "summary", str(shop / "items.csv")]) == 0
    assert "items                                    2" in capsys.readouterr().out
    (shop / "items.csv").write_text("code,category\nSKU-1,shoes\n")
    assert main(["data", "summary", str(shop / "items.csv")]) == 2
    err = capsys.readouterr().err
    assert "needs an id column named item_id, id, asin, sku or product_id" in err


def test_layout_options_that_cannot_apply_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(ORDERS, encoding="utf-8")
    with pytest.raises(VisrecError, match="an empty separator"):
        load_interactions(f, sep="")
    reviews = tmp_path / "X_5.json"
    reviews.write_text('{"reviewerID": "u", "asin": "a", "overall": 5, "unixReviewTime": 1}\n')
    with pytest.raises(VisrecError, match="Amazon files have fixed fields; user_col="):
        load_interactions(reviews, user_col="who")
    table = tmp_path / "t.parquet"
    pd.DataFrame({"user_id": ["u"], "item_id": ["i"]}).to_parquet(table)
    with pytest.raises(VisrecError, match="Parquet has no separator"):
        load_interactions(table, sep="|")
    assert load_interactions(table, user_col="user_id").n_rows == 1
