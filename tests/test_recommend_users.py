"""`visrec recommend --users`: lists for the named training users only, in the file's
order, the same lists as for every user; an id the model does not know is an error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main

FAST = ["--param=epochs=5", "--param=factors=4", "--param=batch_size=16"]


@pytest.fixture()
def model_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    rows = {(f"u{u}", f"i{int(i)}") for u in range(40) for i in rng.integers(0, 30, size=6)}
    train = tmp_path / "train.csv"
    pd.DataFrame(sorted(rows), columns=["user_id", "item_id"]).to_csv(train, index=False)
    out = tmp_path / "m"
    argv = ["train", "--model", "bpr", "--interactions", str(train), "-o", str(out), *FAST]
    assert main([*argv, "--quiet"]) == 0
    return out


def _recs(model_dir: Path, out: Path, *extra: str) -> pd.DataFrame:
    argv = ["recommend", str(model_dir), "--n", "5", "-o", str(out), "--quiet", *extra]
    assert main(argv) == 0
    return pd.read_csv(out, dtype={"user_id": str, "item_id": str})


def test_users_file_gives_those_users_lists_in_its_order(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone = _recs(model_dir, tmp_path / "all.csv")
    users = tmp_path / "users.txt"
    # a header, a blank line, a duplicate and CRLF line ends are all taken
    users.write_bytes(b"user_id\r\nu7\r\nu31\r\n\r\nu2\r\nu7\r\n")
    some = _recs(model_dir, tmp_path / "some.csv", "--users", str(users), "--batch-users", "2")
    assert list(dict.fromkeys(some["user_id"])) == ["u7", "u31", "u2"]
    want = everyone[everyone["user_id"].isin(["u7", "u31", "u2"])]
    key = ["user_id", "rank"]
    pd.testing.assert_frame_equal(
        some.sort_values(key).reset_index(drop=True), want.sort_values(key).reset_index(drop=True)
    )
    out = capsys.readouterr()
    assert "1 duplicate user id kept once" in out.err
    assert "recommended for 3 users" in out.out


def _known_and_new(tmp_path: Path) -> tuple[Path, Path]:
    """A users file of two training users and two the model never saw, and an output."""
    users = tmp_path / "users.txt"
    users.write_text("u1\nnobody\nu2\nghost\n")
    return users, tmp_path / "recs.csv"


def test_unknown_user_is_an_error_naming_its_line(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users, out = _known_and_new(tmp_path)
    argv = ["recommend", str(model_dir), "-o", str(out), "--users", str(users)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"users file {str(users)!r} line 2: user 'nobody' (and 1 more) is not a user" in err
    assert "--unknown-users skip leaves them out, --unknown-users popular gives them" in err
    assert not out.exists()
    # new customers left out with a note; the others get their lists
    assert main([*argv, "--skip-unknown-users", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "left out 2 of 4 users the model was not trained on ('nobody', 'ghost')" in err
    got = pd.read_csv(out, dtype={"user_id": str})
    assert list(dict.fromkeys(got["user_id"])) == ["u1", "u2"]
    # nobody known: still an error; without --users the option has no meaning
    users.write_text("nobody\n")
    assert main([*argv, "--skip-unknown-users"]) == 2
    err = capsys.readouterr().err
    assert "its one user is not one the model was trained on ('nobody')" in err
    assert "so --unknown-users skip leaves no user to recommend for" in err
    assert main(argv) == 2  # and without it, skip is not offered: it would leave nobody
    err = capsys.readouterr().err
    assert "skip leaves them out" not in err and "--unknown-users popular gives them" in err
    assert main(["recommend", str(model_dir), "-o", str(out), "--skip-unknown-users"]) == 2
    assert "--skip-unknown-users is for a --users file" in capsys.readouterr().err


def test_unknown_users_popular_get_the_most_taken_candidates(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.models.base import Recommender

    users, out = _known_and_new(tmp_path)
    argv = ["recommend", str(model_dir), "-o", str(out), "--users", str(users), "--n", "3"]
    assert main([*argv, "--unknown-users", "popular", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert (
        "2 of 4 users the model was not trained on get the candidates most taken in "
        "training, after the others ('nobody', 'ghost')"
    ) in captured.err
    assert "recommended for 2 users and popular lists for 2 new users" in captured.out
    got = pd.read_csv(out, dtype={"user_id": str, "item_id": str})
    # the known users first, in file order, then the new ones, in file order
    assert list(dict.fromkeys(got["user_id"])) == ["u1", "u2", "nobody", "ghost"]
    model = Recommender.load(model_dir)
    counts = dict(
        zip(model.item_map_.ids, np.asarray(model.seen_.sum(axis=0)).ravel(), strict=True)
    )
    for who in ("nobody", "ghost"):
        rows = got[got["user_id"] == who]
        assert rows["rank"].tolist() == [1, 2, 3]
        assert rows["score"].tolist() == [counts[i] for i in rows["item_id"]]
        # the three most taken items (ties in some order among equals)
        assert sorted(rows["score"], reverse=True) == sorted(counts.values(), reverse=True)[:3]
    # the known users' lists are the model's, as without the option
    alone = tmp_path / "alone.csv"
    users.write_text("u1\nu2\n")
    assert main(["recommend", str(model_dir), "-o", str(alone), "--users", str(users),
                 "--n", "3", "--quiet"]) == 0  # fmt: skip
    pd.testing.assert_frame_equal(
        got[got["user_id"].isin(["u1", "u2"])].reset_index(drop=True),
        pd.read_csv(alone, dtype={"user_id": str, "item_id": str}),
    )
    # every user new: popular lists only; contradicting options are refused
    users.write_text("nobody\n")
    assert main([*argv, "--unknown-users", "popular", "--quiet"]) == 0
    assert set(pd.read_csv(out, dtype=str)["user_id"]) == {"nobody"}
    capsys.readouterr()
    assert main([*argv, "--unknown-users", "popular", "--skip-unknown-users"]) == 2
    assert "contradict each other" in capsys.readouterr().err


def test_unknown_user_spelt_otherwise_gets_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "train.csv"
    rows = [(u, i) for u in range(1, 9) for i in range(u % 4, u % 4 + 3)]
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    m = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(train), "-o", str(m)]
    assert main(argv) == 0
    users = tmp_path / "users.txt"
    users.write_text("3\n007\n")
    assert main(["recommend", str(m), "-o", str(tmp_path / "r.csv"), "--users", str(users)]) == 2
    err = capsys.readouterr().err
    assert "line 2: user '007' is not a user the model was trained on" in err
    assert "'007' as '7'" in err


def test_popular_lists_count_positives_not_pairs_rated_below_min_rating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A: one 5-star and five 1-star ratings by users who also rated others; B three
    # 5-star, C two: new users get B, C, A, as the popularity model ranks them
    rows = [("u0", "A", 5), ("u1", "B", 5), ("u2", "B", 5), ("u3", "B", 5)]
    rows += [("u4", "C", 5), ("u5", "C", 5)]
    rows += [(f"u{k}", "A", 1) for k in range(1, 6)]
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(train, index=False)
    m = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(train), "-o", str(m)]
    assert main([*argv, "--min-rating", "4", "--quiet"]) == 0
    assert "the 5 (user, item) pairs rated below it are never recommended" in (
        capsys.readouterr().err
    )
    users = tmp_path / "users.txt"
    users.write_text("u1\nnewbie\n")
    got = _recs(m, tmp_path / "recs.csv", "--users", str(users), "--unknown-users", "popular")
    new = got[got["user_id"] == "newbie"]
    assert new["item_id"].tolist() == ["B", "C", "A"]
    assert new["score"].tolist() == [3.0, 2.0, 1.0]
    # u1 rated A 1 star: never recommended, though not a training item
    assert got.loc[got["user_id"] == "u1", "item_id"].tolist() == ["C"]


def test_popular_lists_keep_the_first_training_user(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # u0 is the model's user 0: a `> 0` for `>= 0` dropped it without a word
    users = tmp_path / "users.txt"
    users.write_text("u0\nnewbie\nu1\n")
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(model_dir), "-o", str(out), "--users", str(users), "--n", "3"]
    assert main([*argv, "--unknown-users", "popular", "--quiet"]) == 0
    got = pd.read_csv(out, dtype={"user_id": str, "item_id": str})
    assert list(dict.fromkeys(got["user_id"])) == ["u0", "u1", "newbie"]
    assert "recommended for 2 users and popular lists for 1 new user" in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--users", "--items"])
def test_an_id_list_with_no_ids_is_refused(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    empty = tmp_path / "list.txt"
    empty.write_text("item_id\n\n" if option == "--items" else "\n")
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(model_dir), "-o", str(out), option, str(empty)]) == 2
    what = "item" if option == "--items" else "user"
    assert f"holds no {what} ids" in capsys.readouterr().err
    assert not out.exists()
