"""Session 70: rough edges noticed last session.

1. Aligned tables padded by terminal columns: a wide character (CJK) takes two, which
   pandas' default ``to_string`` and ``str.ljust`` count as one (``visrec evaluate``'s
   table with a ``bpr@LABEL`` model, ``visrec cluster``'s table of labels, ``visrec
   similar``'s listing of ids).
2. An Amazon review whose ``image`` holds ``[null]`` or a blank entry: one warning with
   the count and the first review's line, not silence.
3. The models' index arguments typed to admit the generators and ``dict.keys()`` they
   take at run time (mypy of a caller is clean).
4. ``train.json`` records the input paths relative to the model folder as well:
   ``recommend`` uses the vectors at that place when the absolute path is gone (the
   project folder moved), with a note.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import visrec
from test_amazon_paths import _shop
from test_s63_output_mutants import _runs
from visrec.cli import main
from visrec.data.amazon import load_amazon_reviews
from visrec.embed.store import ItemVectors, write_vectors
from visrec.evaluation import experiment_result as E


def _cols(text: str) -> int:
    """Terminal columns of ``text`` (wide and full-width characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# ------------------------------------------------------------------ 1. wide characters
def test_evaluate_table_with_a_cjk_model_label_stays_aligned() -> None:
    runs = pd.concat([_runs([0], model="bpr@強い"), _runs([0])], ignore_index=True)
    lines = E.ExperimentResult(runs=runs, protocol="warm", k=3).table().splitlines()
    assert any("強い" in line for line in lines)
    # every column right-aligned: each line ends at the same terminal column
    assert len({_cols(line) for line in lines}) == 1, lines


def test_cluster_table_with_cjk_labels_stays_aligned() -> None:
    from visrec.analysis.cluster import cluster_vs_labels

    rng = np.random.default_rng(0)
    vectors = np.vstack([rng.normal(0, 0.1, (6, 3)), rng.normal(5, 0.1, (6, 3))])
    labels = ["猫"] * 6 + ["dog"] * 6
    text = cluster_vs_labels(vectors, labels, k=2).format()
    table = text.split("\n\n")[1].splitlines()
    assert "猫" in table[0]
    assert len({_cols(line) for line in table}) == 1, table


def test_similar_listing_with_cjk_ids_keeps_scores_in_one_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = ["q", "東京タワー", "ab"]
    vec = np.array([[1.0, 0.0], [0.9, 0.1], [0.8, 0.3]], dtype=np.float32)
    path = tmp_path / "v.parquet"
    write_vectors(path, ItemVectors(np.asarray(ids), vec, np.ones(3, bool)))
    assert main(["similar", str(path), "q", "-q"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("    ")]
    assert len(rows) == 2 and any("東京タワー" in r for r in rows)
    # the score starts at the same terminal column on every row
    starts = {_cols(r[: r.rindex(" ") + 1]) for r in rows}
    assert len(starts) == 1, rows


# ------------------------------------------------------------ 2. Amazon null image URLs
def _reviews(tmp_path: Path, images: list[object]) -> Path:
    recs = [
        {"reviewerID": f"U{k}", "asin": "B1", "overall": 5.0, "unixReviewTime": 1000 + k}
        | ({} if im is ... else {"image": im})
        for k, im in enumerate(images)
    ]
    path = tmp_path / "Shop_5.json.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in recs).encode()))
    return path


def test_null_and_blank_image_entries_are_counted_in_one_warning(tmp_path: Path) -> None:
    path = _reviews(tmp_path, [..., ["http://x/a.jpg"], [None], ["", "http://x/b.jpg"], [" "]])
    for res in (load_amazon_reviews(path), load_amazon_reviews(path, for_photos=True)):
        assert res.frame["image"].tolist() == [[], ["http://x/a.jpg"], [], ["http://x/b.jpg"], []]
        odd = [w for w in res.warnings if w.kind == "image entry without a URL"]
        assert len(odd) == 1
        assert odd[0].line == 3  # the first such review: line 3
        assert odd[0].reason.startswith("3 reviews have an 'image' entry that is null or blank")
        assert "read as no photo" in odd[0].reason


def test_one_null_image_review_is_said_in_the_singular(tmp_path: Path) -> None:
    res = load_amazon_reviews(_reviews(tmp_path, [None, [], [None]]))
    odd = [w for w in res.warnings if w.kind == "image entry without a URL"]
    assert len(odd) == 1 and odd[0].line == 3
    assert odd[0].reason.startswith("1 review has an 'image' entry")


def test_reviews_with_no_image_or_good_urls_get_no_image_warning(tmp_path: Path) -> None:
    res = load_amazon_reviews(_reviews(tmp_path, [..., None, [], ["http://x/a.jpg"]]))
    assert res.warnings == []


# ----------------------------------------------------------------- 3. index type hints
def test_generators_and_dict_keys_type_check_as_model_indices(tmp_path: Path) -> None:
    snippet = tmp_path / "caller.py"
    snippet.write_text(
        "from visrec.models.base import Recommender\n"
        "from visrec.models.rating_mf import RatingMF\n"
        "\n"
        "def use(model: Recommender, mf: RatingMF, d: dict[int, str]) -> None:\n"
        "    model.recommend((u for u in range(3)), n=5, items=d.keys())\n"
        "    model.score(iter([0, 1]), d.keys())\n"
        "    model.similar_items(d.values() if d else d.keys())\n"
        "    model.exclude_pairs((u for u in [0]), [1])\n"
        "    mf.predict((u for u in [0]), d.keys())\n"
        "    model.recommend([0], n='5')  # the one error: shows the file was checked\n"
    )
    # only the two modules that define the signatures (and numpy) are analysed: fast
    config = tmp_path / "mypy.ini"
    config.write_text(
        "[mypy]\nfollow_imports = silent\nignore_missing_imports = True\n"
        "[mypy-visrec.*]\nfollow_imports = skip\n"
        "[mypy-visrec.models.base,visrec.models._indices,visrec.models.rating_mf]\n"
        "follow_imports = silent\n"
        "[mypy-pandas.*,scipy.*,sklearn.*,torch.*]\nfollow_imports = skip\n"
    )
    src = str(Path(visrec.__file__).resolve().parents[1])  # this checkout's source
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config),
         "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", "caller.py"],
        capture_output=True, text=True, cwd=tmp_path, env={"MYPYPATH": src, "PATH": ""},
        timeout=240,
    )  # fmt: skip
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, proc.stdout + proc.stderr
    assert errors[0].startswith("caller.py:10:") and '"n"' in errors[0]


# ------------------------------------------------------- 4. a moved project folder
def test_recommend_after_moving_the_project_uses_the_relative_vectors_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    reviews, vectors = _shop(proj)  # vectors hold B9, unseen in training
    model = proj / "m"
    train = ["train", "--model", "visual-cf", "--interactions", str(reviews)]
    args = ["--param=epochs=3", "--param=factors=4", "-q"]
    assert main([*train, "--vectors", str(vectors), "-o", str(model), *args]) == 0
    recorded = json.loads((model / "train.json").read_text())
    assert recorded["vectors_relative"] == str(Path("..") / "v.parquet")
    assert recorded["interactions_relative"] == str(Path("..") / "Shop_5.json.gz")
    moved = tmp_path / "elsewhere"
    shutil.move(str(proj), str(moved))
    cands = moved / "c.txt"
    cands.write_text("B0\nB1\nB9\n")
    capsys.readouterr()
    recs = moved / "recs.csv"
    argv = ["recommend", str(moved / "m"), "--items", str(cands), "--n", "3", "-q"]
    assert main([*argv, "-o", str(recs)]) == 0
    err = capsys.readouterr().err
    assert "pass --vectors" not in err
    found = moved / "m" / ".." / "v.parquet"
    assert f"note: {proj / 'v.parquet'} (the vectors file " in err
    assert f"is gone; using {found}, at the same place relative to the model folder" in err
    # the lists are those of the moved vectors named on the command line
    named = moved / "named.csv"
    assert main([*argv, "--vectors", str(moved / "v.parquet"), "-o", str(named)]) == 0
    assert recs.read_text() == named.read_text()
    assert "is gone; using" not in capsys.readouterr().err  # --vectors: not the recorded one


def test_the_recorded_absolute_path_wins_while_it_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.commands.recommend import recorded_paths

    (tmp_path / "m").mkdir()
    (tmp_path / "v.parquet").write_bytes(b"x")
    (tmp_path / "other.parquet").write_bytes(b"x")
    tj = tmp_path / "m" / "train.json"
    tj.write_text(
        json.dumps({"vectors": str(tmp_path / "v.parquet"), "vectors_relative": "../other.parquet"})
    )
    assert recorded_paths(tj)["vectors"] == str(tmp_path / "v.parquet")
    # gone, with nothing at the relative place either: the recorded path, as before
    (tmp_path / "v.parquet").unlink()
    (tmp_path / "other.parquet").unlink()
    assert recorded_paths(tj)["vectors"] == str(tmp_path / "v.parquet")
    assert capsys.readouterr().err == ""
