"""Session 70: small fixes made by the lead (each test fails on the old source)."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec._cache import cache_dir
from visrec.cli import build_parser


@pytest.mark.parametrize("command", ["evaluate", "rating-eval"])
def test_help_names_every_place_the_resume_record_may_go(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the help said "$VISREC_CACHE/..., default ~/.cache/visrec/..." where an absolute
    # $XDG_CACHE_HOME comes between the two
    sub = build_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    words = " ".join(sub.format_help().split())
    monkeypatch.delenv("VISREC_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir(command) == tmp_path / "visrec" / command
    assert (
        f"$VISREC_CACHE/{command}/, else $XDG_CACHE_HOME/visrec/{command}/, else "
        f"~/.cache/visrec/{command}/)" in words
    )


def _rated(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    rows = ["u1,a,5", "u1,b,4", "u2,a,1", "u2,c,2", "u3,b,5", "u3,c,4", "u4,a,2", "u4,c,4"]
    path.write_text("user_id,item_id,rating\n" + "\n".join(rows) + "\n")
    return path


def test_min_rating_says_which_users_it_leaves_without_a_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was "kept 6 of 8 rows (2 below the threshold dropped)": u2 then had no list from
    # recommend, without a word
    from visrec.cli import main

    data = _rated(tmp_path)
    assert main(["train", "--model", "popularity", "--interactions", str(data),
                 "-o", str(tmp_path / "m"), "--min-rating", "4"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert (
        "--min-rating 4: kept 5 of 8 rows (3 below the threshold dropped; 1 user has no row "
        "left and is left out ('u2'))\n" in err
    )
    assert main(["train", "--model", "popularity", "--interactions", str(data),
                 "-o", str(tmp_path / "m5"), "--min-rating", "5"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "; 2 users have no row left and are left out (e.g. 'u2', 'u4'))\n" in err
    assert main(["train", "--model", "popularity", "--interactions", str(data),
                 "-o", str(tmp_path / "m1"), "--min-rating", "1"]) == 0  # fmt: skip
    assert "(0 below the threshold dropped)\n" in capsys.readouterr().err
