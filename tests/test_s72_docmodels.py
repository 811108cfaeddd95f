"""docs/models.md against the program (session 72): `visrec train` says when a second
fit scores new items, and a damaged model.json's validation state says what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_models import checkerboard
from visrec.cli import main
from visrec.embed.store import write_vectors
from visrec.errors import VisrecError
from visrec.models.base import Recommender


@pytest.mark.parametrize(
    ("name", "params", "second"),
    [
        ("vbpr", ["reg=0.1", "reg_visual=0.1"], "reg=0.01, reg_visual=0.001"),
        ("visual-cf", ["reg=0.1", "profile_weight=0"], "reg=0.01"),
    ],
)
def test_train_says_a_second_fit_was_made_for_given_penalties(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, params: list[str], second: str
) -> None:
    # "`visrec train` says when a second fit was made": also when the penalties are
    # given (--param reg=0.03, as the docs advise), where no reg=auto line says it
    inter, vec = checkerboard()
    csv, vpath = tmp_path / "train.csv", tmp_path / "v.parquet"
    inter.to_frame().to_csv(csv, index=False)
    write_vectors(vpath, vec)
    base = ["train", "--model", name, "--interactions", str(csv), "--vectors", str(vpath),
            "-o", str(tmp_path / "m"), "--param", "epochs=2", "--quiet"]  # fmt: skip
    assert main([*base, *(a for p in params for a in ("--param", p))]) == 0
    err = capsys.readouterr().err
    assert Recommender.load(tmp_path / "m").new_item_fit() == second
    assert f"made a second fit, at {second}, to score items known only by an image" in err
    # one fit (the penalties agree with the new items'): no such line
    weak = {"reg=0.1": "reg=0.01", "reg_visual=0.1": "reg_visual=0.001"}
    assert main([*base, *(a for p in params for a in ("--param", weak.get(p, p)))]) == 0
    assert "second fit" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("reg_validation", {"reg=0.01": "x"}),
        ("penalties", {"reg": -1}),
        ("profile_validation", {"profile_weight=1": 0.5}),
    ],
)
def test_damaged_validation_state_says_train_again(tmp_path: Path, key: str, value: object) -> None:
    # docs: a damaged folder is refused with one line ending "train the model again"
    inter, vec = checkerboard()
    from visrec.models.registry import make_model

    m = make_model("visual-cf", epochs=2, reg=0.01, profile_weight=0).fit(inter, vec)
    m.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    doc = json.loads(path.read_text())
    doc["extra"][key] = value
    path.write_text(json.dumps(doc))
    with pytest.raises(VisrecError) as err:
        Recommender.load(tmp_path / "m")
    msg = str(err.value)
    assert "model.json holds no usable" in msg and msg.endswith("train the model again")
