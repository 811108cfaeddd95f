"""Fixes found by fuzzing the command line with malformed inputs (session 73)."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec.cli import main


def test_evaluate_time_without_a_time_column_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inter = tmp_path / "no_time.csv"
    inter.write_text("user_id,item_id,rating\nu1,a,5\nu1,b,4\nu2,a,3\nu2,c,1\n")
    argv = ["evaluate", "--interactions", str(inter), "--protocol", "time"]
    assert main([*argv, "--models", "popularity", "--seeds", "1", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"error: {inter}: protocol 'time' needs a timestamp" in err
    assert "--time-col NAME" in err and "Traceback" not in err


def test_features_next_to_a_nan_vector_keeps_the_other_items_finite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    from small_vectors import item_vectors
    from visrec.embed.store import read_vectors, write_vectors

    table = tmp_path / "items.csv"
    table.write_text("item_id,category\na,x\nb,y\nc,x\n")
    vec = tmp_path / "v.parquet"
    write_vectors(vec, item_vectors(["a", "b", "c"], [[3, 4], [float("nan"), 1], [0, 2]]))
    out = tmp_path / "f.parquet"
    argv = ["features", str(table), "--columns", "category", "--vectors", str(vec)]
    assert main([*argv, "-o", str(out)]) == 0
    got = read_vectors(out)
    rows = dict(zip(got.ids, got.vectors, strict=True))
    assert np.isfinite(got.vectors).all()  # one NaN row made every image part NaN
    assert rows["b"][:2].tolist() == [0.0, 0.0]  # 'b' is taken as having no image
    # the scale comes from a and c only: mean squared norm (25 + 4) / 2
    assert rows["a"][:2] == pytest.approx(np.array([3, 4]) / np.sqrt(14.5))
    err = capsys.readouterr().err
    assert f"note: {vec}: 1 item whose vector holds NaN" in err and "'b'" in err


def test_recommend_vectors_of_text_is_an_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from small_vectors import item_vectors
    from visrec.embed.store import vector_width, write_vectors

    inter = tmp_path / "train.csv"
    inter.write_text("user_id,item_id\nu1,a\nu1,b\nu2,a\nu2,c\nu3,b\n")
    good = tmp_path / "good.parquet"
    write_vectors(good, item_vectors(["a", "b", "c", "d"], [[1, 0], [0, 1], [1, 1], [2, 1]]))
    model = tmp_path / "m"
    train = ["train", "--model", "visual-cf", "--interactions", str(inter), "--vectors"]
    assert main([*train, str(good), "--param", "epochs=2", "-o", str(model), "-q"]) == 0
    vec = tmp_path / "text.parquet"  # no fixed width in its metadata: the width is read
    pq.write_table(pa.table({"item_id": ["a", "d"], "vector": ["1,2", "3,4"]}), vec)
    with pytest.raises(Exception, match="column 'vector' must hold lists of numbers, not string"):
        vector_width(vec)
    capsys.readouterr()
    out = tmp_path / "recs.csv"
    code = main(["recommend", str(model), "--vectors", str(vec), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"error: {vec}: column 'vector' must hold lists of numbers, not string" in err
    assert "Traceback" not in err and not out.exists()
