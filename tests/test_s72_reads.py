"""Session 72: files read once where once does.

``visrec train``'s note on low ratings reads the rating with the ids (``peek_rating``);
a row whose rating is unusable used to make the whole file read and parsed again
without it. Now one parse keeps the rows the load without the rating keeps, and the
frame, the notes and the skipped counts are those of that load.
"""

from __future__ import annotations

import pandas as pd
import pytest

import visrec.data.tables as tables
from visrec.commands._common import SKIPPED, load_interactions_frame


def _counted_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths ``load_interactions`` is called with, from now on."""
    calls: list[str] = []
    real = tables.load_interactions

    def counting(path, **kw):  # type: ignore[no-untyped-def]
        calls.append(str(path))
        return real(path, **kw)

    monkeypatch.setattr(tables, "load_interactions", counting)
    return calls


def _both(path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """(frame, log, loads) of the peeking load, and (frame, log) of the plain ids load."""
    plain_log: list[str] = []
    plain = load_interactions_frame(path, ids_only=True, log=plain_log.append)
    calls = _counted_loads(monkeypatch)
    log: list[str] = []
    frame = load_interactions_frame(path, ids_only=True, peek_rating=True, log=log.append)
    return frame, log, calls, plain, plain_log


# a bad rating, an empty id, a short row, spaced ids, and a bad rating on a row whose
# time is bad too: rows, reports and counts must be those of the load without rating
TEXT_ROWS = (
    "user_id,item_id,rating,timestamp\n"
    "u1,i1,5,100\n"
    "u2,i2,x,101\n"
    ",i3,4,102\n"
    "u4,i4\n"
    " u5 ,i1,,103\n"
    "u6,i2,1,later\n"
    "u7,i3,nan,104\n"
)


def test_bad_rating_one_parse_same_rows_and_notes(tmp_path, monkeypatch):
    path = tmp_path / "inter.csv"
    path.write_text(TEXT_ROWS)
    frame, log, calls, plain, plain_log = _both(path, monkeypatch)
    assert calls == [str(path)]  # read once (was twice: a bad rating made a second read)
    assert "rating" not in frame.columns
    pd.testing.assert_frame_equal(frame, plain)
    assert log == plain_log
    assert frame.attrs[SKIPPED] == plain.attrs[SKIPPED]


def test_quoted_file_line_break_in_rating_keeps_the_row(tmp_path, monkeypatch):
    # a quoted file takes the row-by-row parse: a line break in the rating, a field only
    # the note looks at, dropped the row (as "line break in a value"), and no second read
    # brought it back: 2 rows where the ids alone keep 3
    path = tmp_path / "inter.csv"
    path.write_text('user_id,item_id,rating\n"u1",i1,5\nu2,i2,"4\n5"\nu3,i1,1\n')
    frame, log, calls, plain, plain_log = _both(path, monkeypatch)
    assert len(plain) == 3
    pd.testing.assert_frame_equal(frame, plain)
    assert log == plain_log
    assert calls == [str(path)]


def test_parquet_null_rating_one_read(tmp_path, monkeypatch):
    path = tmp_path / "inter.parquet"
    pd.DataFrame(
        {
            "user_id": ["u1", "u2", "", "u4"],
            "item_id": ["i1", "i2", "i3", "i1"],
            "rating": [5.0, None, 3.0, 1.0],
        }
    ).to_parquet(path)
    frame, log, calls, plain, plain_log = _both(path, monkeypatch)
    assert calls == [str(path)]
    pd.testing.assert_frame_equal(frame, plain)
    assert log == plain_log


def test_clean_ratings_still_peeked(tmp_path, monkeypatch):
    path = tmp_path / "inter.csv"
    path.write_text("user_id,item_id,rating\nu1,i1,5\nu2,i2,1\n")
    frame, log, calls, plain, plain_log = _both(path, monkeypatch)
    assert calls == [str(path)]
    assert frame["rating"].tolist() == [5.0, 1.0]
    pd.testing.assert_frame_equal(frame.drop(columns="rating"), plain)
    assert log == plain_log


def test_train_bad_rating_same_model_and_messages(tmp_path, monkeypatch, capsys):
    """The command end to end: the model and train.json of a file with a bad rating
    are those of the same file with the rating column gone, and no note is said."""
    from visrec.cli import main

    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,rating\nu1,i1,5\nu2,i2,x\nu3,i1,1\nu2,i1,2\n")
    ids = tmp_path / "ids.csv"
    ids.write_text("user_id,item_id\nu1,i1\nu2,i2\nu3,i1\nu2,i1\n")
    calls = _counted_loads(monkeypatch)
    assert (
        main(
            [
                "train",
                "--interactions",
                str(bad),
                "--model",
                "popularity",
                "-o",
                str(tmp_path / "m_bad"),
                "--quiet",
            ]
        )
        == 0
    )
    err_bad = capsys.readouterr().err
    assert len(calls) == 1
    assert (
        main(
            [
                "train",
                "--interactions",
                str(ids),
                "--model",
                "popularity",
                "-o",
                str(tmp_path / "m_ids"),
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert "rated" not in err_bad  # no low-ratings note over an unusable rating
    import json

    import numpy as np

    a = np.load(tmp_path / "m_bad" / "arrays.npz")
    b = np.load(tmp_path / "m_ids" / "arrays.npz")
    for k in a.files:
        if k != "save_token":
            assert np.array_equal(a[k], b[k]), k
    ja = json.loads((tmp_path / "m_bad" / "train.json").read_text())
    jb = json.loads((tmp_path / "m_ids" / "train.json").read_text())
    for k in ("n_users", "n_items", "n_rows", "records_skipped", "n_pairs"):
        assert ja[k] == jb[k], k
