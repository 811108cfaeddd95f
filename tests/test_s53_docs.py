"""What `--help` and docs/analysis.md say `knn-rating --json` and `rating-eval --json`
write, checked against the keys a run on tiny data writes.

Both lists left keys out (rating-eval's help: "resume" and "run"; knn-rating's help:
same_vector_share, against_majority, notes, run; docs/analysis.md: "run" in both), so a
reader of the help or the docs could not know the file holds them. Each test fails when
a key the command writes is missing from either list (the mutant: drop one name from a
list).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors

REPO = Path(__file__).resolve().parents[1]


def _data(tmp_path: Path) -> tuple[Path, Path]:
    """24 items in 3 blobs (rating = blob + 2), each rated by 4 users; vectors for all."""
    rng = np.random.default_rng(0)
    ids = [f"i{j}" for j in range(24)]
    blob = np.arange(24) % 3
    vecs = (np.eye(3, 4)[blob] * 10 + rng.normal(scale=0.1, size=(24, 4))).astype(np.float32)
    write_vectors(
        tmp_path / "v.parquet", ItemVectors(ids=ids, vectors=vecs, has_image=np.ones(24, bool))
    )
    rows = [(f"u{u}", ids[j], float(blob[j] + 2)) for j in range(24) for u in range(4)]
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(
        tmp_path / "r.csv", index=False
    )
    return tmp_path / "r.csv", tmp_path / "v.parquet"


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def _paragraph(text: str, start: str, end: str) -> str:
    """The text from ``start`` up to the first ``end`` after it."""
    i = text.index(start)
    j = text.find(end, i + len(start))
    return text[i : j if j >= 0 else len(text)]


def _missing(keys: list[str], text: str) -> list[str]:
    return [k for k in keys if not re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", text)]


def test_rating_eval_help_and_docs_name_every_json_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r, v = _data(tmp_path)
    out = tmp_path / "re.json"
    args = ["rating-eval", "--interactions", str(r), "--vectors", str(v), "-q"]
    assert main([*args, "--json", str(out), "--n-epochs", "5"]) == 0
    keys = list(json.loads(out.read_text(encoding="utf-8")))
    assert {"run", "resume", "models"} <= set(keys)
    capsys.readouterr()
    said = _paragraph(_help("rating-eval", capsys), "--json writes", "\n\n")
    assert _missing([f'"{k}"' for k in keys], said) == []
    doc = (REPO / "docs/analysis.md").read_text(encoding="utf-8")
    bullet = _paragraph(doc, '* `--json`: `{"n_train"', "\n* ")
    assert _missing([f'"{k}"' for k in keys], bullet) == []


def test_knn_rating_help_and_docs_name_every_json_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r, v = _data(tmp_path)
    out = tmp_path / "knn.json"
    assert (
        main(["knn-rating", "--interactions", str(r), "--vectors", str(v), "--json", str(out)]) == 0
    )
    keys = list(json.loads(out.read_text(encoding="utf-8")))
    assert {"run", "against_majority", "notes", "same_vector_share"} <= set(keys)
    capsys.readouterr()
    said = _paragraph(_help("knn-rating", capsys), "--json writes", "\n\n")
    assert _missing(keys, said) == []
    doc = (REPO / "docs/analysis.md").read_text(encoding="utf-8")
    bullet = _paragraph(doc, "* `--json` writes `accuracy", "\n* ")
    assert _missing(keys, bullet) == []
