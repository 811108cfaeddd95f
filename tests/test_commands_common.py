"""The plumbing shared by the commands: --interactions loading and KEY=VALUE overrides."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from visrec.commands._common import (
    add_interactions_args,
    add_min_rating_arg,
    load_interactions_frame,
    parse_model_params,
    parse_param,
    parse_params,
    split_min_rating,
)
from visrec.errors import VisrecError


# ------------------------------------------------------------------ KEY=VALUE
@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("factors=32", ("factors", 32)),
        ("lr=0.05", ("lr", 0.05)),
        ("verbose=true", ("verbose", True)),
        ("sizes=[1, 2]", ("sizes", [1, 2])),
        ('device="cpu"', ("device", "cpu")),
        ("device=cpu", ("device", "cpu")),  # not JSON: taken as a string
        ("name=", ("name", "")),
        ("expr=a=b", ("expr", "a=b")),  # only the first '=' splits
        ("x=null", ("x", None)),
        # numbers JSON cannot spell are numbers, not the text '.01'
        ("lr=.01", ("lr", 0.01)),
        ("factors=8.", ("factors", 8.0)),
        ("factors=+8", ("factors", 8)),
        ("lr=1.E-3", ("lr", 0.001)),
        ("tag=1.2.3", ("tag", "1.2.3")),
        # ASCII digits only (check_params then names the text), and no 5,000-digit int
        ("epochs=\u0663", ("epochs", "\u0663")),
        ("factors=+" + "9" * 5000, ("factors", "+" + "9" * 5000)),
    ],
)
def test_parse_param_json_or_string(item: str, expected: tuple[str, object]) -> None:
    assert parse_param(item) == expected


@pytest.mark.parametrize("item", ["factors", "=3", ""])
def test_parse_param_rejects_missing_key_or_equals(item: str) -> None:
    with pytest.raises(VisrecError, match=r"--param .*expected KEY=VALUE"):
        parse_param(item)


def test_parse_params_last_value_wins() -> None:
    assert parse_params(["factors=8", "epochs=3", "factors=16"]) == {"factors": 16, "epochs": 3}
    assert parse_params([]) == {}


def test_parse_model_params_groups_by_model() -> None:
    got = parse_model_params(
        ["vbpr.epochs=30", "bpr.lr=0.1", "vbpr.device=cpu"], ["popularity", "bpr", "vbpr"]
    )
    assert got == {"vbpr": {"epochs": 30, "device": "cpu"}, "bpr": {"lr": 0.1}}
    # a variant's label may hold a dot: the key's last dot separates the name
    assert parse_model_params(["bpr@0.1.reg=0.1"], ["bpr", "bpr@0.1"]) == {"bpr@0.1": {"reg": 0.1}}


@pytest.mark.parametrize("item", ["epochs=3", ".epochs=3", "bpr.=3", "bpr.epochs", "bpr"])
def test_parse_model_params_rejects_bad_form(item: str) -> None:
    with pytest.raises(VisrecError, match=r"expected MODEL\.NAME=VALUE"):
        parse_model_params([item], ["bpr"])


def test_parse_model_params_rejects_unlisted_model() -> None:
    with pytest.raises(VisrecError, match=r"model 'vbpr' is not in --models \(popularity, bpr\)"):
        parse_model_params(["vbpr.epochs=3"], ["popularity", "bpr"])


# ------------------------------------------------------------------ arguments
def test_add_interactions_args() -> None:
    p = argparse.ArgumentParser()
    add_interactions_args(p, "my help")
    add_min_rating_arg(p)
    args = p.parse_args(["--interactions", "x.csv", "--min-rating", "4"])
    assert args.interactions == "x.csv" and args.min_rating == 4.0
    assert p.parse_args(["--interactions", "x.csv"]).min_rating is None
    assert "my help" in p.format_help() and "--interactions F" in p.format_help()
    with pytest.raises(SystemExit):
        p.parse_args([])  # --interactions is required


# ------------------------------------------------------------------ loading
def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_reports_bad_line_by_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "user_id,item_id,rating\nu1,i1,4\nbad\nu2,i2,5\n")
    lines: list[str] = []
    frame = load_interactions_frame(path, log=lines.append)
    assert frame[["user_id", "item_id"]].values.tolist() == [["u1", "i1"], ["u2", "i2"]]
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: skipped 1 record;")
    assert f"{path}:3:" in lines[0]  # the header is line 1


def test_load_clean_file_logs_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "user_id,item_id\nu1,i1\n")
    lines: list[str] = []
    assert len(load_interactions_frame(path, log=lines.append)) == 1
    assert lines == []


def test_load_default_log_is_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a line about the input, never mixed into the results on stdout
    path = _write(tmp_path / "r.csv", "user_id,item_id\nu1,i1\nbad\n")
    load_interactions_frame(str(path))
    cap = capsys.readouterr()
    assert "skipped 1 record" in cap.err and cap.out == ""


def test_load_no_usable_rows_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "user_id,item_id\nbad\nworse\n")
    lines: list[str] = []
    with pytest.raises(VisrecError, match=r"r\.csv: no usable interactions \(all 2 record"):
        load_interactions_frame(path, log=lines.append)
    assert "skipped 2 records" in lines[0]  # the report comes before the error


def test_load_header_only_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "user_id,item_id\n")
    with pytest.raises(VisrecError, match="no usable interactions"):
        load_interactions_frame(path, log=lambda m: None)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VisrecError, match=r"interactions file '.*nope\.csv' does not exist"):
        load_interactions_frame(tmp_path / "nope.csv")


def test_load_min_rating(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "user_id,item_id,rating\nu1,i1,5\nu1,i2,2\nu2,i1,4\n")
    lines: list[str] = []
    loaded = load_interactions_frame(path, log=lines.append)
    frame, below = split_min_rating(loaded, 4, path, lines.append)
    assert frame["rating"].tolist() == [5.0, 4.0] and below["rating"].tolist() == [2.0]
    assert list(frame.index) == [0, 1]
    assert lines == ["--min-rating 4: kept 2 of 3 rows (1 below the threshold dropped)"]
    with pytest.raises(VisrecError, match="no interactions with rating >= 6"):
        split_min_rating(loaded, 6, path, lines.append)


def test_load_min_rating_needs_a_rating_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "user_id,item_id\nu1,i1\n")
    with pytest.raises(
        VisrecError, match=r": no rating column, which --min-rating needs; .* --rating-col NAME"
    ):
        split_min_rating(load_interactions_frame(path), 4, path, print)


def test_load_ids_only_keeps_rows_with_blank_rating_or_time(tmp_path: Path) -> None:
    text = "user_id,item_id,rating,timestamp\nu1,i1,5,1\nu1,i2,,2\nu2,i1,3,\nu2,i3,x,4\n"
    path = _write(tmp_path / "r.csv", text)
    lines: list[str] = []
    full = load_interactions_frame(path, log=lines.append)
    assert len(full) == 1 and "skipped 3 records" in lines[0]  # rating/time are parsed
    lines.clear()
    ids = load_interactions_frame(path, ids_only=True, log=lines.append)
    assert ids[["user_id", "item_id"]].values.tolist() == [
        ["u1", "i1"],
        ["u1", "i2"],
        ["u2", "i1"],
        ["u2", "i3"],
    ]
    assert lines == []
    with pytest.raises(
        VisrecError, match=r": no rating column, which --min-rating needs; .* --rating-col NAME"
    ):
        split_min_rating(ids, 4, path, print)  # ids only: the rating was not read


def test_load_min_rating_on_ids_and_ratings_keeps_rows_with_a_bad_time(tmp_path: Path) -> None:
    text = "user_id,item_id,rating,timestamp\nu1,i1,5,1\nu1,i2,4,\nu2,i1,5,45x\nu2,i3,x,4\n"
    path = _write(tmp_path / "r.csv", text)
    lines: list[str] = []
    frame = load_interactions_frame(path, ids_only=True, keep_rating=True, log=lines.append)
    frame, _ = split_min_rating(frame, 4, path, lines.append)
    assert frame.values.tolist() == [["u1", "i1", 5.0], ["u1", "i2", 4.0], ["u2", "i1", 5.0]]
    assert lines == [
        f"{path}: skipped 1 record; bad records: 1 (non-numeric rating 1)\n"
        f"  {path}:5: rating 'x' is not a number",
        "--min-rating 4: kept 3 of 3 rows (0 below the threshold dropped)",
    ]
    lines.clear()
    timed = load_interactions_frame(
        path, ids_only=True, keep_rating=True, keep_time=True, log=lines.append
    )
    timed, _ = split_min_rating(timed, 4, path, lines.append)
    assert timed.values.tolist() == [["u1", "i1", 5.0, 1]]
    assert "skipped 3 records" in lines[0] and "bad timestamp 2" in lines[0]
