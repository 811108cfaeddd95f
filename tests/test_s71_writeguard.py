"""Outputs that would replace a file that is not theirs (session 71): an existing output
whose bytes are not what the command writes there (``features -o interactions.parquet``,
``recommend -o ratings.csv``, ``--json u.data``, ``--report notes.txt``) is refused and
left byte for byte; the command's own earlier output and an empty file (``touch``,
``mktemp``) are replaced as before."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from small_vectors import item_vectors
from visrec.cli import main
from visrec.embed.store import write_vectors
from visrec.errors import VisrecError

ITEMS = [f"i{k}" for k in range(12)]


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    """Ratings of 20 users, vectors of the 12 items, a label table, a popularity model."""
    rng = np.random.default_rng(0)
    rows = ["user_id,item_id,rating"]
    for u in range(20):
        rows += [f"u{u},{i},{rng.integers(1, 6)}" for i in rng.choice(ITEMS, 6, replace=False)]
    (tmp_path / "inter.csv").write_text("\n".join(rows) + "\n")
    write_vectors(tmp_path / "vec.parquet", item_vectors(ITEMS, rng.normal(size=(12, 4)).tolist()))
    labels = "\n".join(f"{i},{'ab'[k % 2]}" for k, i in enumerate(ITEMS))
    (tmp_path / "labels.csv").write_text("item_id,cat\n" + labels + "\n")
    train = ["train", "--model", "popularity", "--interactions", str(tmp_path / "inter.csv")]
    assert main([*train, "-o", str(tmp_path / "model")]) == 0
    return tmp_path


def _features(d: Path, out: Path) -> list[str]:
    return ["features", str(d / "labels.csv"), "--columns", "cat", "-o", str(out)]


def _recommend(d: Path, out: Path) -> list[str]:
    return ["recommend", str(d / "model"), "-o", str(out)]


def _evaluate(option: str) -> Callable[[Path, Path], list[str]]:
    def argv(d: Path, out: Path) -> list[str]:
        run = ["evaluate", "--interactions", str(d / "inter.csv"), "--models", "popularity"]
        return [*run, option, str(out)]

    return argv


def _cluster(option: str) -> Callable[[Path, Path], list[str]]:
    def argv(d: Path, out: Path) -> list[str]:
        run = ["cluster", str(d / "vec.parquet"), "--labels", str(d / "labels.csv")]
        return [*run, "--id-col", "item_id", "--label-col", "cat", "--k", "2", option, str(out)]

    return argv


def _similar(d: Path, out: Path) -> list[str]:
    return ["similar", str(d / "vec.parquet"), "i1", "--json", str(out)]


def _rating(command: str) -> Callable[[Path, Path], list[str]]:
    def argv(d: Path, out: Path) -> list[str]:
        run = [command, "--interactions", str(d / "inter.csv"), "--vectors", str(d / "vec.parquet")]
        return [*run, "--json", str(out)]

    return argv


def _report(d: Path, out: Path) -> list[str]:
    result = d / "result.json"
    if not result.exists():
        assert main(_evaluate("--json")(d, result)) == 0
    return ["report", str(result), "-o", str(out)]


def _parquet_table(path: Path) -> None:
    pq.write_table(pa.table({"user_id": ["u1"], "item_id": ["i1"], "rating": [5]}), path)


# (argv, the output's name, what is there already, words of the refusal)
FOREIGN = {
    "features over an interactions parquet": (
        _features,
        "interactions.parquet",
        None,
        "is not a visrec vectors file",
    ),
    "features over u.data": (_features, "u.data", b"1\t2\t3\t4\n", "not a visrec vectors file"),
    "recommend over another ratings.csv": (
        _recommend,
        "ratings.csv",
        b"user_id,item_id,rating\nu1,i1,5\n",
        "is not a list of recommendations",
    ),
    "recommend over u.data": (
        _recommend,
        "u.data",
        b"1\t2\t3\t4\n",
        "is not a list of recommendations",
    ),
    "evaluate --json over u.data": (
        _evaluate("--json"),
        "u.data",
        b"1\t2\t3\t4\n",
        "is not JSON (it looks like a table)",
    ),
    "evaluate --json over JSON lines": (
        _evaluate("--json"),
        "reviews.json",
        b'{"a": 1}\n{"a": 2}\n',
        "several JSON documents",
    ),
    "evaluate --report over text": (
        _evaluate("--report"),
        "notes.txt",
        b"my notes\n",
        "is not HTML (it looks like text)",
    ),
    "cluster --json over text": (_cluster("--json"), "notes", b"notes\n", "is not JSON"),
    "cluster --report over u.data": (_cluster("--report"), "u.data", b"1\t2\n", "is not HTML"),
    "similar --json over u.data": (_similar, "u.data", b"1\t2\t3\t4\n", "is not JSON"),
    "knn-rating --json over u.data": (_rating("knn-rating"), "u.data", b"1\t2\n", "is not JSON"),
    "rating-eval --json over u.data": (_rating("rating-eval"), "u.data", b"1\t2\n", "is not JSON"),
    "report -o over text": (_report, "page.txt", b"keep me\n", "is not HTML"),
}


@pytest.mark.parametrize("case", list(FOREIGN))
def test_an_output_over_a_foreign_file_is_refused_and_left_alone(
    case: str, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, name, content, words = FOREIGN[case]
    out = data / name
    if content is None:
        _parquet_table(out)
    else:
        out.write_bytes(content)
    before = out.read_bytes()
    args = argv(data, out)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err and str(out) in err, err
    assert "remove it first" in err and err.count("\n") == 1
    assert out.read_bytes() == before


OWN = {
    "features": (_features, "f.parquet"),
    "recommend": (_recommend, "recs.csv"),
    "evaluate --json": (_evaluate("--json"), "ev.json"),
    "evaluate --report": (_evaluate("--report"), "ev.html"),
    "cluster --json": (_cluster("--json"), "cl.json"),
    "similar --json": (_similar, "sim.json"),
    "rating-eval --json": (_rating("rating-eval"), "re.json"),
    "report -o": (_report, "r.html"),
}


@pytest.mark.parametrize("case", list(OWN))
@pytest.mark.parametrize("first", ["own output", "empty file"])
def test_an_own_output_or_an_empty_file_is_replaced(case: str, first: str, data: Path) -> None:
    argv, name = OWN[case]
    out = data / name
    if first == "empty file":
        out.touch()
    else:
        assert main(argv(data, out)) == 0
    assert main(argv(data, out)) == 0
    assert out.stat().st_size > 0  # written: the empty file replaced too


def test_the_format_check_tells_json_and_html_apart(tmp_path: Path) -> None:
    from visrec.commands._output_paths import refuse_foreign_output

    p = tmp_path / "x"
    for content in (b"", b"\n\n", b'\xef\xbb\xbf{"a": 1}\n', b"[1, 2]"):
        p.write_bytes(content)
        refuse_foreign_output(p, "--json", "JSON")
    p.write_bytes(b'{"long": "' + b"x" * 70_000 + b'"}')  # past the part read: maybe ours
    refuse_foreign_output(p, "--json", "JSON")
    p.write_bytes(b"<html></html>")
    refuse_foreign_output(p, "--report", "HTML")
    for content, option, writes, kind in (
        (b"\xff\xd8\xff\xe0 jpeg", "--json", "JSON", "it is an image"),
        (b"PAR1\x00\x00", "--report", "HTML", "it is binary"),
        (b'{"a": 1}\n{"a": 2}\n', "--json", "JSON", "several JSON documents"),
        (b"plain words\n", "--json", "JSON", "it looks like text"),
        (b"{}", "--report", "HTML", "it looks like text"),
    ):
        p.write_bytes(content)
        with pytest.raises(VisrecError, match=kind):
            refuse_foreign_output(p, option, writes)
    # a photo named as an output is left to the command's own check: it names the input
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    refuse_foreign_output(photo, "--json", "JSON")
    # plain CSV and Parquet are not judged (recommend and features name their own kinds)
    p.write_bytes(b"words")
    refuse_foreign_output(p, "-o", "CSV")


@pytest.mark.parametrize(
    "content",
    [
        b"user_id,item_id,rank,score\r\nu1,i1,1,0.5\r\n",  # ours, saved again by a spreadsheet
        b"\xef\xbb\xbfuser,item,score\nu1,i1,0.5\n",  # another tool's list
        b'"user"\t"item"\t"rank"\n',
    ],
)
def test_recommend_replaces_another_list_of_recommendations(content: bytes, data: Path) -> None:
    out = data / "recs.csv"
    out.write_bytes(content)
    assert main(_recommend(data, out)) == 0
    assert out.read_bytes().startswith(b"user_id,item_id,rank,score\n")


@pytest.mark.parametrize("case", ["features over u.data", "recommend over u.data",
                                  "evaluate --json over u.data"])  # fmt: skip
def test_a_file_with_other_hard_links_is_replaced_as_its_data_stays(
    case: str, data: Path, tmp_path: Path
) -> None:
    # the atomic write replaces the name only: the data stays under its other name
    argv, name, content, _ = FOREIGN[case]
    keep = tmp_path / "kept.data"
    keep.write_bytes(content)
    out = data / name
    os.link(keep, out)
    assert main(argv(data, out)) == 0
    assert keep.read_bytes() == content
    assert out.read_bytes() != content
