"""What one command did and another did not, made the same (a review of all thirteen
commands side by side)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    """12 users x 10 items, ratings 1-5, and a vector for every item."""
    rng = np.random.default_rng(0)
    rows = [
        f"u{u},i{i},{1 + (u * 3 + i) % 5},{1000 + u * 10 + i}"
        for u in range(12)
        for i in range(10)
        if (u + i) % 3
    ]
    inter = tmp_path / "r.csv"
    inter.write_text("user_id,item_id,rating,timestamp\n" + "\n".join(rows) + "\n")
    vectors = tmp_path / "v.parquet"
    ids = np.array([f"i{i}" for i in range(10)])
    write_vectors(
        vectors, ItemVectors(ids, rng.normal(size=(10, 4)).astype(np.float32), np.ones(10, bool))
    )
    return inter, vectors


def _data_folder(inter: Path, folder: Path, name: str) -> Path:
    """``folder`` holding a copy of ``inter`` as ``name``: a dataset folder."""
    folder.mkdir()
    (folder / name).write_bytes(inter.read_bytes())
    return folder


def _with_nan(vectors: Path, tmp_path: Path) -> Path:
    from visrec.embed.store import read_vectors

    iv = read_vectors(vectors)
    vecs = iv.vectors.copy()
    vecs[3] = np.nan
    out = tmp_path / "nan.parquet"
    write_vectors(out, ItemVectors(iv.ids, vecs, iv.has_image))
    return out


def test_train_refuses_dash_as_its_model_folder(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inter, _ = data
    assert main(["train", "--model", "popularity", "--interactions", str(inter), "-o", "-"]) == 2
    assert "a model is a folder, not a stream" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()


def test_train_checks_the_seeds_range_as_the_other_commands(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter, _ = data
    argv = ["train", "--model", "bpr", "--interactions", str(inter), "-o", str(tmp_path / "m")]
    assert main([*argv, "--seed", str(2**32)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --seed must be between 0 and {2**32 - 1}, got {2**32}\n"
    assert not (tmp_path / "m").exists()


def test_evaluate_refuses_a_nan_vector_without_a_false_warning_first(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter, vectors = data
    nan = _with_nan(vectors, tmp_path)
    base = ["evaluate", "--interactions", str(inter), "--vectors", str(nan), "--seeds", "1", "-q"]
    assert main([*base, "--models", "popularity,vbpr"]) == 2
    err = capsys.readouterr().err
    # the NaN spread through min/max: 'all the same' was said before the refusal
    assert "all the same" not in err
    assert err.startswith(f"error: {nan}: 1 item vector holds NaN") and "'i3'" in err
    # a cold-items split reads has_image: the NaN item is refused there too
    assert main([*base, "--models", "popularity", "--protocol", "cold-items"]) == 2
    assert "'i3'" in capsys.readouterr().err
    # a warm split of popularity reads no vector
    assert main([*base, "--models", "popularity"]) == 0


def test_rating_eval_notes_go_to_stderr_and_wide_values_stay_apart(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter, _ = data
    lines = inter.read_text().splitlines()
    big = tmp_path / "big.csv"  # ratings on a scale of millions
    rows = [r.split(",") for r in lines[1:]]
    scaled = [",".join([u, i, str(int(r) * 1_000_000), t]) for u, i, r, t in rows]
    big.write_text("\n".join([lines[0], *scaled]) + "\n")
    argv = ["rating-eval", "--interactions", str(big), "--n-epochs", "2", "-q"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "no item vectors" in err and "no item vectors" not in out
    table = [line for line in out.splitlines() if line.startswith(("majority", "global mean"))]
    assert table
    for line in table:  # every figure its own word: none ran into the next
        words = line.split()
        figures = [w for w in words if w.replace(".", "").isdigit()]
        assert len(figures) == 4, line  # accuracy, MAE, RMSE, fit s


def test_recommend_will_not_write_over_the_training_interactions(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter, _ = data
    copy = tmp_path / "train_copy.csv"
    copy.write_bytes(inter.read_bytes())
    model = tmp_path / "m"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(copy), "-o", str(model)]) == 0
    )
    capsys.readouterr()
    assert main(["recommend", str(model), "-o", str(copy)]) == 2
    assert "is the training interactions (recorded in train.json)" in capsys.readouterr().err
    assert copy.read_bytes() == inter.read_bytes()


def test_data_summary_says_what_the_loaders_say_about_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pad = tmp_path / "pad.csv"
    pad.write_text("user_id,item_id\nu1,7\nu2,007\nu3,8\n")
    out_json = tmp_path / "s.json"
    assert main(["data", "summary", str(pad), "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    said = "1 item id spelt in more than one way ('7', '007')"
    assert f"note: {said}" in out
    (section,) = json.loads(out_json.read_text())["sections"]
    assert any(said in n for n in section["id_notes"])


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["evaluate", "--interactions", "x", "-o", "y"], "--json OUT and --report HTML"),
        (["knn-rating", "--interactions", "x", "--vectors", "v", "--knn-k", "5"], "--k K"),
        (["data", "summary", "x", "--output", "y"], "--json OUT is the output here"),
    ],
)
def test_one_idea_named_otherwise_gets_a_hint(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert hint in capsys.readouterr().err


def test_cluster_finds_its_columns_as_the_interactions_loader_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = np.array([str(i) for i in range(12)])
    vecs = np.repeat(np.eye(3, dtype=np.float32), 4, axis=0)
    vectors = tmp_path / "v.parquet"
    write_vectors(vectors, ItemVectors(ids, vecs, np.ones(12, bool)))
    labels = tmp_path / "styles.csv"
    labels.write_text("id,masterCategory\n" + "".join(f"{i},{'abc'[i // 4]}\n" for i in range(12)))
    argv = ["cluster", str(vectors), "--labels", str(labels), "--k", "3", "--no-progress"]
    assert main([*argv, "--id-col", "ID", "--label-col", "MasterCategory"]) == 0
    assert "ARI     1.000" in capsys.readouterr().out
    assert main([*argv, "--id-col", "key", "--label-col", "masterCategory"]) == 2
    # the columns as every other message lists them, not as a Python list
    assert "no id column 'key' (columns: id, masterCategory)" in capsys.readouterr().err


def test_rating_eval_notes_read_as_notes(
    data: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    inter, _ = data
    assert main(["rating-eval", "--interactions", str(inter), "--n-epochs", "2", "-q"]) == 0
    err = capsys.readouterr().err
    assert "note: no item vectors: the KNN and the visual MF were skipped" in err


def test_a_rerun_may_replace_its_own_output_inside_the_training_folder(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter, _ = data
    folder = _data_folder(inter, tmp_path / "shop", "interactions.csv")
    model = tmp_path / "m"
    assert (
        main(["train", "--model", "popularity", "--interactions", str(folder), "-o", str(model)])
        == 0
    )
    recs = folder / "recs.csv"  # not a file the loader reads from the folder
    for _ in range(2):
        assert main(["recommend", str(model), "-o", str(recs), "--n", "2"]) == 0
    capsys.readouterr()
    assert main(["recommend", str(model), "-o", str(folder / "interactions.csv")]) == 2
    assert "is the training interactions (recorded in train.json)" in capsys.readouterr().err
    assert (folder / "interactions.csv").read_bytes() == inter.read_bytes()


def test_cluster_label_col_line_is_not_the_loaders_own_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = np.array([str(i) for i in range(6)])
    vectors = tmp_path / "v.parquet"
    write_vectors(vectors, ItemVectors(ids, np.repeat(np.eye(2, dtype=np.float32), 3, axis=0),
                                       np.ones(6, bool)))  # fmt: skip
    labels = tmp_path / "styles.csv"
    labels.write_text("id,cat\n" + "".join(f"{i},{'ab'[i // 3]}\n" for i in range(6)))
    argv = ["cluster", str(vectors), "--labels", str(labels), "--id-col", "id", "--k", "2", "-q"]
    for name in ("line", "_line"):
        assert main([*argv, "--label-col", name]) == 2
        assert f"no label column {name!r} (columns: id, cat)" in capsys.readouterr().err
    # a real column of that name is found as any other
    labels.write_text("id,Line\n" + "".join(f"{i},{'ab'[i // 3]}\n" for i in range(6)))
    assert main([*argv, "--label-col", "line"]) == 0
    assert "ARI     1.000" in capsys.readouterr().out


def test_outputs_in_a_training_folder_never_replace_or_shadow_its_data(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter, _ = data
    folder = _data_folder(inter, tmp_path / "H", "ratings.csv")
    base = ["evaluate", "--interactions", str(folder), "--models", "popularity", "--seeds", "1"]
    # a link in the folder under an output's name leads to the data: refused by its target
    (folder / "recs.csv").symlink_to("ratings.csv")
    assert main([*base, "-q", "--json", str(folder / "recs.csv")]) == 2
    assert "is the --interactions file" in capsys.readouterr().err
    # so is a link from outside the folder
    outside = tmp_path / "outside.json"
    outside.symlink_to(folder / "ratings.csv")
    assert main([*base, "-q", "--json", str(outside)]) == 2
    capsys.readouterr()
    # a new file under a name the loader looks for would be read next time instead
    # (u.data: the first the loader looks for; interactions.csv is refused for its
    # .csv anyway, as --json writes JSON)
    assert main([*base, "-q", "--json", str(folder / "u.data")]) == 2
    assert "would read it in place of the data" in capsys.readouterr().err
    assert (folder / "ratings.csv").read_bytes() == inter.read_bytes()
    assert not (folder / "u.data").exists()
    # an earlier result in the folder may be replaced by a rerun
    for _ in range(2):
        assert main([*base, "-q", "--json", str(folder / "ev.json")]) == 0


def test_data_summary_may_replace_its_own_json_in_the_folder(
    data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter, _ = data
    folder = _data_folder(inter, tmp_path / "G", "ratings.csv")
    for _ in range(2):
        assert main(["data", "summary", str(folder), "--json", str(folder / "summary.json")]) == 0
    assert main(["data", "summary", str(folder), "--json", str(folder / "ratings.csv")]) == 2
    assert "is the PATH file" in capsys.readouterr().err
