"""Session 72, a nightly batch job's view of the CLI (no terminal, logs parsed by a
script): the findings fixed here."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from visrec.cli import main


def test_recommend_short_lists_count_in_thousands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`recommend --n 1000` over 1,001 items: every user, having bought some, has a
    shorter list; the closing line says `fewer than 1,000 candidates`, with the
    thousands separator every other count in that line has (it said `1000`)."""
    rows = [(f"u{u}", f"i{(u * 7 + k) % 1001}") for u in range(5) for k in range(3)]
    rows += [("u0", f"i{i}") for i in range(1001)]  # every item has a buyer
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    model = tmp_path / "model"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(train), "-o", str(model)])
        == 0
    )
    capsys.readouterr()
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(model), "--n", "1000", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "with fewer than 1,000 candidates left" in said, said
    assert "1000" not in said, said


def _saved_model(tmp_path: Path) -> Path:
    train = tmp_path / "train.csv"
    rows = [(f"u{u}", f"i{(u + k) % 6}") for u in range(4) for k in range(2)]
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    model = tmp_path / "model"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(train), "-o", str(model)])
        == 0
    )
    return model


@pytest.mark.parametrize("name", ["model.json", "train.json"])
@pytest.mark.parametrize("via_link", [False, True])
def test_json_output_refuses_a_saved_models_own_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, via_link: bool
) -> None:
    """A --json naming a model folder's model.json or train.json (a wrong variable in a
    batch script) replaced it: both are JSON, which --json may replace, and the model
    no longer loaded (`not a visrec model.json`). It is refused before any work,
    exit 2, naming the file and its folder, and the model still recommends."""
    model = _saved_model(tmp_path)
    target = model / name
    before = target.read_bytes()
    given = target
    if via_link:
        given = tmp_path / "result.json"
        given.symlink_to(target)
    capsys.readouterr()
    status = main(
        ["rating-eval", "--interactions", str(tmp_path / "train.csv"), "--json", str(given)]
    )
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith(
        f"error: --json: {str(given)!r} is the {name} file of the visrec model folder "
    )
    assert str(model) in err and err.count("\n") == 1, err
    assert target.read_bytes() == before
    assert main(["recommend", str(model), "-o", str(tmp_path / "recs.csv")]) == 0


def test_json_output_beside_a_model_still_replaces_a_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the model's own files are refused: an earlier result in the folder, or a
    file named model.json outside any model folder, is replaced as before."""
    model = _saved_model(tmp_path)
    train = str(tmp_path / "train.csv")
    for out in (model / "ev.json", tmp_path / "model.json"):
        out.write_text('{"old": 1}\n')
        args = ["evaluate", "--interactions", train, "--models", "popularity", "--seeds", "1"]
        assert main([*args, "--json", str(out)]) == 0, capsys.readouterr().err
        assert "old" not in out.read_text()
