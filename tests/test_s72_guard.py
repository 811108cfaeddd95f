"""Session 72 (guard): one function judges an existing output's bytes for every format
(``refuse_foreign_output``: JSON, HTML, recommend's list of recommendations, features'
vectors file), with each command's wording kept; a vectors file's spaced-ids note is
said again for a rewritten file, and still once in a CLI run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from small_vectors import item_vectors
from visrec.cli import main
from visrec.commands import _output_paths
from visrec.commands._output_paths import (
    check_output_file,
    check_outputs_distinct,
    refuse_foreign_output,
)
from visrec.commands._recs_progress import HEADER
from visrec.embed.store import read_vector_ids, read_vectors, write_vectors
from visrec.errors import VisrecError

FAST = ["--param", "epochs=2", "--param", "reg=0.01"]
RECS = "recommendations CSV"
VECS = "vectors Parquet"


def _recs_refusal(path: Path) -> str:
    return (
        f"-o: {path} exists and is not a list of recommendations (its first line names no "
        f"rank or score column, as {HEADER.strip()} does); name another -o, or remove it first"
    )


def _vecs_refusal(path: Path) -> str:
    return (
        f"-o: {path} exists and is not a visrec vectors file; name another -o, or remove it first"
    )


# ------------------------------------------------------------- the output guard
def test_a_foreign_table_as_recommendations_is_refused_in_recommends_words(
    tmp_path: Path,
) -> None:
    p = tmp_path / "ratings.csv"
    p.write_text("user_id,item_id,rating\nu1,i1,5\n")
    with pytest.raises(VisrecError) as exc:
        refuse_foreign_output(p, "-o", RECS)
    assert str(exc.value) == _recs_refusal(p)
    link = tmp_path / "recs.csv"  # through a link: the file it names is judged
    link.symlink_to(p)
    with pytest.raises(VisrecError) as exc:
        refuse_foreign_output(link, "-o", RECS)
    assert str(exc.value) == _recs_refusal(link)
    assert p.read_text().startswith("user_id,item_id,rating")


def test_a_foreign_file_as_vectors_is_refused_in_features_words(tmp_path: Path) -> None:
    p = tmp_path / "u.data"
    p.write_bytes(b"1\t2\t3\t4\n")
    with pytest.raises(VisrecError) as exc:
        refuse_foreign_output(p, "-o", VECS)
    assert str(exc.value) == _vecs_refusal(p)
    table = tmp_path / "interactions.parquet"
    pd.DataFrame({"user_id": ["u1"], "item_id": ["i1"]}).to_parquet(table)
    with pytest.raises(VisrecError, match="is not a visrec vectors file;"):
        refuse_foreign_output(table, "-o", VECS)


@pytest.mark.parametrize("writes", [RECS, VECS])
def test_the_new_kinds_keep_their_exemptions(writes: str, tmp_path: Path) -> None:
    foreign = b"1\t2\t3\t4\n"
    empty = tmp_path / "empty"
    empty.touch()
    refuse_foreign_output(empty, "-o", writes)  # touch, mktemp: replaced
    keep, linked = tmp_path / "kept.data", tmp_path / "linked.data"
    keep.write_bytes(foreign)
    os.link(keep, linked)
    refuse_foreign_output(linked, "-o", writes)  # its data stays under the other name
    ours = tmp_path / "ours"
    if writes == RECS:
        ours.write_text(HEADER + "u1,i1,1,0.5\n")
    else:
        write_vectors(ours, item_vectors(["i1", "i2"], [[1.0, 0.0], [0.0, 1.0]]))
    refuse_foreign_output(ours, "-o", writes)  # an earlier result
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        refuse_foreign_output(fifo, "-o", writes)  # returns: a pipe is not opened


def test_plain_csv_and_parquet_are_still_not_judged(tmp_path: Path) -> None:
    p = tmp_path / "x"
    p.write_bytes(b"words")
    refuse_foreign_output(p, "-o", "CSV")
    refuse_foreign_output(p, "-o", "Parquet")


def test_the_kind_names_do_not_leak_into_suffix_messages(tmp_path: Path) -> None:
    new = tmp_path / "recs.parquet"
    with pytest.raises(VisrecError) as exc:
        check_output_file(new, "-o", RECS)
    assert "visrec writes CSV there" in str(exc.value)
    assert RECS not in str(exc.value)
    old = tmp_path / "vecs.csv"
    old.write_text(HEADER)
    with pytest.raises(VisrecError) as exc:
        check_outputs_distinct({"-o": old}, {}, {"-o": VECS})
    assert "visrec writes Parquet there" in str(exc.value)
    assert VECS not in str(exc.value)


def test_check_outputs_distinct_judges_the_new_kinds(tmp_path: Path) -> None:
    p = tmp_path / "ratings.csv"
    p.write_text("user_id,item_id,rating\nu1,i1,5\n")
    with pytest.raises(VisrecError) as exc:
        check_outputs_distinct({"-o": p}, {}, {"-o": RECS})
    assert str(exc.value) == _recs_refusal(p)
    q = tmp_path / "u.data"
    q.write_bytes(b"1\t2\n")
    with pytest.raises(VisrecError) as exc:
        check_outputs_distinct({"-o": q}, {}, {"-o": VECS})
    assert str(exc.value) == _vecs_refusal(q)


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    rows = [f"u{u},i{(u + k) % 4}" for u in range(6) for k in range(2)]
    (tmp_path / "train.csv").write_text("user_id,item_id\n" + "\n".join(rows) + "\n")
    m = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(tmp_path / "train.csv")]
    assert main([*argv, "-o", str(m), "-q"]) == 0
    return m


def test_recommend_and_features_leave_the_judgement_to_the_one_function(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[tuple[str, str]] = []
    real = _output_paths.refuse_foreign_output

    def spy(path: str | os.PathLike[str], option: str, writes: str) -> None:
        asked.append((option, writes))
        real(path, option, writes)

    monkeypatch.setattr(_output_paths, "refuse_foreign_output", spy)
    out = tmp_path / "ratings.csv"
    out.write_text("user_id,item_id,rating\nu1,i1,5\n")
    assert main(["recommend", str(model), "-o", str(out)]) == 2
    assert _recs_refusal(out) in capsys.readouterr().err
    assert asked == [("-o", RECS)]
    labels = tmp_path / "labels.csv"
    labels.write_text("item_id,cat\ni0,a\ni1,b\n")
    vec_out = tmp_path / "u.data"
    vec_out.write_bytes(b"1\t2\t3\t4\n")
    asked.clear()
    assert main(["features", str(labels), "--columns", "cat", "-o", str(vec_out)]) == 2
    assert _vecs_refusal(vec_out) in capsys.readouterr().err
    assert asked == [("-o", VECS)]
    assert vec_out.read_bytes() == b"1\t2\t3\t4\n"


# ------------------------------------------------------------- the spaced-ids note
def _vectors(path: Path, ids: list[str]) -> Path:
    vec = np.eye(len(ids), 3, dtype=np.float32) + 0.5
    frame = pd.DataFrame({"item_id": ids, "vector": list(vec), "has_image": [True] * len(ids)})
    frame.to_parquet(path)
    return path


def test_a_rewritten_vectors_file_is_noted_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = _vectors(tmp_path / "v.parquet", [" i1", "i2 ", "i3"])
    assert list(read_vectors(v).ids) == ["i1", "i2", "i3"]
    assert list(read_vector_ids(v).ids) == ["i1", "i2", "i3"]
    err = capsys.readouterr().err
    assert err.count("spaces around") == 1  # the same file read twice: said once
    _vectors(v, [" i1", " i2", " i3", "i4"])  # a notebook saves it again, changed
    read_vectors(v)
    err = capsys.readouterr().err
    assert f"note: {v}: 3 item ids had spaces around them, removed" in err
    copy = tmp_path / "copy.parquet"  # saved again unchanged, by a rename over it
    copy.write_bytes(v.read_bytes())
    os.replace(copy, v)
    read_vector_ids(v)
    assert capsys.readouterr().err.count("spaces around") == 1


def test_recommend_says_a_spaced_vectors_file_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"u{u},i{(u + k) % 4}" for u in range(6) for k in range(2)]
    train = tmp_path / "train.csv"
    train.write_text("user_id,item_id\n" + "\n".join(rows) + "\n")
    clean = _vectors(tmp_path / "clean.parquet", ["i0", "i1", "i2", "i3", "new"])
    m, out = tmp_path / "m", tmp_path / "recs.csv"
    argv = ["train", "--model", "vbpr", "--interactions", str(train), "--vectors", str(clean)]
    assert main([*argv, "-o", str(m), "-q", *FAST]) == 0
    # read for its ids, then the new candidate's vector, then every id again
    spaced = _vectors(tmp_path / "spaced.parquet", [" i0", "i1", "i2", "i3", " new"])
    items = tmp_path / "c.txt"
    items.write_text("i0\ni1\nnew\n")
    capsys.readouterr()
    argv = ["recommend", str(m), "-o", str(out), "--vectors", str(spaced), "--items", str(items)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err.count("spaces around") == 1, err
    assert f"note: {spaced}: 2 item ids had spaces around them, removed" in err
    assert "new" in out.read_text()
