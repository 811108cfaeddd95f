"""What the forty-second session's outside audits found, pinned: the training resume key
covers the column options, visual-cf refuses too few pictures before forgetting a fit,
a seed fixed in an evaluation's params is recorded, Amazon ids a JSON number and a
string spell alike are refused, ids holding a carriage return survive a written CSV,
repeated vectors rows and unknown similar-item queries are all named."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import flip_vector_page
from visrec.cli import main
from visrec.commands._csv_quoting import csv_quoting
from visrec.commands.train import _fit_key
from visrec.data.amazon import load_amazon_meta, load_amazon_reviews
from visrec.data.interactions import Interactions
from visrec.data.tables import load_interactions
from visrec.embed.store import ItemVectors
from visrec.errors import VisrecError
from visrec.evaluation.runner import run_experiment
from visrec.models.registry import make_model
from visrec.models.visual_cf import VisualCF
from visrec.report.verdict import seeds_for_call
from visrec.search.knn import SimilarItems


def _args(path: Path, **layout: object) -> argparse.Namespace:
    base = {
        "model": "bpr",
        "interactions": str(path),
        "vectors": None,
        "min_rating": None,
        "sep": None,
        "user_col": None,
        "item_col": None,
        "rating_col": None,
        "time_col": None,
    }
    return argparse.Namespace(**{**base, **layout})


def test_the_resume_key_changes_with_the_columns_and_separator_read(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("user_id,item_a,other_item,stars\nu1,a,b,5\nu2,b,a,4\n")
    base = _fit_key(_args(path), {"factors": 4})
    assert _fit_key(_args(path), {"factors": 4}) == base
    keys = {
        _fit_key(_args(path, **{opt: value}), {"factors": 4})
        for opt, value in [
            ("item_col", "item_a"),
            ("user_col", "other_item"),
            ("rating_col", "stars"),
            ("sep", ";"),
        ]
    }
    assert base not in keys and len(keys) == 4
    other = _fit_key(_args(path, item_col="other_item"), {"factors": 4})
    assert other != _fit_key(_args(path, item_col="item_a"), {"factors": 4})


def _shop() -> tuple[Interactions, ItemVectors]:
    rng = np.random.default_rng(3)
    pairs = {(f"u{u}", f"i{int(i)}") for u in range(40) for i in rng.integers(0, 15, size=6)}
    frame = pd.DataFrame(sorted(pairs), columns=["user_id", "item_id"])
    ids = np.array([f"i{k}" for k in range(15)])
    vectors = ItemVectors(ids, rng.normal(size=(15, 8)).astype(np.float32), np.ones(15, bool))
    return Interactions.from_frame(frame), vectors


def test_visual_cf_with_too_few_pictures_leaves_an_earlier_fit_as_it_was() -> None:
    data, vectors = _shop()
    model = VisualCF(epochs=2, reg=0.01, profile_weight=0.0, random_state=0).fit(data, vectors)
    before = model.score(np.arange(3)).copy()
    one = np.zeros(15, bool)
    one[4] = True  # a single picture: no map can be learned from it
    with pytest.raises(VisrecError, match="at least 2 items with both interactions and an image"):
        model.fit(data, ItemVectors(vectors.ids, vectors.vectors, one))
    np.testing.assert_array_equal(model.score(np.arange(3)), before)


def test_a_seed_fixed_in_a_models_params_is_recorded_with_the_result() -> None:
    data, _ = _shop()
    frame = data.to_frame()
    fixed = run_experiment(
        frame,
        None,
        "warm",
        [("bpr", {"epochs": 1, "reg": 0.01, "random_state": 7})],
        seeds=1,
        progress=False,
    )
    assert fixed.params["bpr"]["random_state"] == 7
    assert fixed.to_dict()["params"]["bpr"]["random_state"] == 7
    free = run_experiment(
        frame, None, "warm", [("bpr", {"epochs": 1, "reg": 0.01})], seeds=1, progress=False
    )
    assert "random_state" not in free.params["bpr"]  # each split's seed


def _json_lines(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _review(user: object, item: object, t: int = 1) -> dict[str, object]:
    return {"reviewerID": user, "asin": item, "overall": 4.0, "unixReviewTime": t}


def test_amazon_ids_a_number_and_a_string_spell_alike_are_refused_naming_both(
    tmp_path: Path,
) -> None:
    path = _json_lines(tmp_path / "r.json", [_review(7, "A"), _review("x", "B"), _review("7", "C")])
    with pytest.raises(VisrecError) as err:
        load_amazon_reviews(path)
    text = str(err.value)
    assert "r.json:3: reviewerID '7' (str)" in text and "r.json:1: reviewerID 7 (int)" in text
    items = _json_lines(tmp_path / "i.json", [_review("u", 12), _review("v", "12")])
    with pytest.raises(VisrecError, match=r"asin '12' \(str\) and .*i.json:1: asin 12 \(int\)"):
        load_amazon_reviews(items)
    meta = _json_lines(tmp_path / "meta_X.json", [{"asin": 5, "title": "a"}, {"asin": "5"}])
    with pytest.raises(VisrecError, match="both the id '5' as text"):
        load_amazon_meta(meta)
    # one kind of value throughout is fine, and a whole-number float is its integer
    fine = _json_lines(tmp_path / "f.json", [_review(7, 1e3), _review(8, 1000.0), _review(9, "B")])
    frame = load_amazon_reviews(fine).frame
    assert frame["user_id"].tolist() == ["7", "8", "9"]
    assert frame["item_id"].tolist() == ["1000", "1000", "B"]


def test_amazon_ids_holding_a_line_break_or_nul_are_bad_records(tmp_path: Path) -> None:
    path = _json_lines(
        tmp_path / "r.json", [_review("e\rf", "A"), _review("g", "B\x00"), _review("u", "C")]
    )
    loaded = load_amazon_reviews(path)
    assert loaded.frame["user_id"].tolist() == ["u"]
    assert [(b.line, b.kind) for b in loaded.bad] == [(1, "bad reviewerID"), (2, "bad asin")]
    assert "line break or NUL" in loaded.bad[0].reason


def test_ids_holding_a_carriage_return_read_back_from_recommend(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"user_id": ["e\rf", "e\rf", "g", "g"], "item_id": ["A", "B", "B", "C\rD"]}
    )
    model = make_model("popularity").fit(Interactions.from_frame(frame))
    model.save(tmp_path / "m")
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(tmp_path / "m"), "--n", "3", "-o", str(out), "-q"]) == 0
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert sorted(zip(back["user_id"], back["item_id"], strict=True)) == [
        ("e\rf", "C\rD"),
        ("g", "A"),
    ]


def test_csv_quoting_quotes_only_when_a_field_holds_a_carriage_return() -> None:
    plain = pd.DataFrame({"a": ["x", "y\nz"], "b": [1, 2]})
    assert csv_quoting(*(plain[c] for c in plain)) == csv.QUOTE_MINIMAL  # "\n" is quoted anyway
    cr = pd.DataFrame({"a": ["x", "y\rz"], "b": [1, 2]})
    assert csv_quoting(*(cr[c] for c in cr)) == csv.QUOTE_ALL
    text = cr.to_csv(index=False, lineterminator="\n", quoting=csv_quoting(*(cr[c] for c in cr)))
    back = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert back["a"].tolist() == ["x", "y\rz"]


def test_a_line_break_in_a_parquet_id_is_not_blamed_on_a_quote(tmp_path: Path) -> None:
    path = tmp_path / "i.parquet"
    pd.DataFrame({"user_id": ["u1", "u2", "u3"], "item_id": ["a", "new\nline", "b"]}).to_parquet(
        path
    )
    loaded = load_interactions(path)
    assert len(loaded.frame) == 2
    (bad,) = loaded.bad
    assert "holds a line break" in bad.reason and "quote" not in bad.reason
    csv_path = tmp_path / "i.csv"
    csv_path.write_text('user_id,item_id\nu1,a\nu2,"new\nline"\nu3,b\n')
    (bad,) = load_interactions(csv_path).bad
    assert "or a quote was left open" in bad.reason


def test_a_repeated_vectors_id_names_its_rows() -> None:
    ids = np.array(["a", "7", "b", "c", "7"])
    with pytest.raises(VisrecError, match=r"item id '7' has 2 rows \(2, 5, counting from 1;"):
        ItemVectors(ids, np.ones((5, 3), np.float32), np.ones(5, bool))


def test_similar_names_every_unknown_query_at_once() -> None:
    ids = np.array(["7", "a", "b"])
    index = SimilarItems(ItemVectors(ids, np.eye(3, dtype=np.float32), np.ones(3, bool)))
    with pytest.raises(VisrecError) as err:
        index.query(["a", "007", "08", "zz"], n=1)
    text = str(err.value)
    assert text.startswith("unknown item id '007': not in the vectors file (it has '7'")
    assert "(and 2 more: '08', 'zz')" in text


@pytest.mark.parametrize(("wins", "losses", "ties", "seeds"), [(1, 1, 1, 7), (4, 2, 0, 9)])
def test_seeds_for_call_matches_its_docstring(
    wins: int, losses: int, ties: int, seeds: int
) -> None:
    assert seeds_for_call(wins, losses, ties) == seeds
    assert f"{seeds}" in (seeds_for_call.__doc__ or "")


def test_a_flipped_byte_in_a_vectors_file_is_an_error_not_a_vector(tmp_path: Path) -> None:
    from visrec.embed.store import read_vectors, write_vectors

    rng = np.random.default_rng(0)
    ids = np.array([f"i{k}" for k in range(200)])
    path = tmp_path / "v.parquet"
    write_vectors(
        path, ItemVectors(ids, rng.normal(size=(200, 16)).astype(np.float32), np.ones(200, bool))
    )
    flip_vector_page(path)
    with pytest.raises(
        VisrecError,
        match=r"v\.parquet: damaged on disk \(a page's checksum does not match: .*CRC.*\); "
        r"if `visrec embed` wrote it",
    ):
        read_vectors(path)


def test_embed_computes_again_a_row_group_damaged_on_disk(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from test_embed import TinyBackbone, _images, _run
    from visrec.embed.store import read_vectors

    folder = _images(tmp_path / "imgs", 12)
    out = tmp_path / "v.parquet"
    ref = _run(folder, out, bb=TinyBackbone()).vectors
    meta = pq.read_metadata(out)
    assert meta.num_row_groups >= 2
    rows = meta.row_group(1).num_rows
    flip_vector_page(out, group=1)
    res = _run(folder, out, bb=TinyBackbone())
    # found by the pages' CRC, which nothing else would notice
    assert any(
        "cannot be read back intact (could not verify page integrity" in n for n in res.notes
    )
    assert res.n_computed == rows and res.n_reused == 12 - rows  # that group only
    again = read_vectors(out)
    assert list(again.ids) == list(ref.ids)
    np.testing.assert_array_equal(again.vectors, ref.vectors)


def test_onnxruntime_is_imported_without_writing_telemetry_under_home(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    pytest.importorskip("onnxruntime")
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    code = "from visrec.embed.onnx_engine import _import_ort; _import_ort()"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / ".cache" / "Microsoft").exists()
    assert "telemetry" not in run.stderr


def _pipe_with(text: str) -> str:
    """A path reading ``text`` from a pipe, as ``<(cat f)`` gives."""
    import os

    read, write = os.pipe()
    os.write(write, text.encode())  # small: fits the pipe's buffer
    os.close(write)
    return f"/dev/fd/{read}"


def test_a_manifest_from_a_pipe_resolves_paths_against_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visrec.data.images_index import load_manifest

    monkeypatch.chdir(tmp_path)
    got = load_manifest(_pipe_with("item_id,path\n1,p/1.jpg\n"))
    assert got == {"1": str(tmp_path / "p" / "1.jpg")}


def test_train_records_a_piped_interactions_path_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _pipe_with("user_id,item_id\nu1,a\nu1,b\nu2,a\n")
    argv = ["train", "--model", "popularity", "--interactions", path, "-o", "m", "-q"]
    assert main(argv) == 0
    assert json.loads((tmp_path / "m" / "train.json").read_text())["interactions"] == path


def test_a_dash_for_an_input_says_stdin_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "m")
    assert main(["train", "--model", "popularity", "--interactions", "-", "-o", out]) == 2
    assert "visrec reads no standard input as '-'" in capsys.readouterr().err
    assert main(["data", "summary", "-"]) == 2
    assert "-: no such file (visrec reads no standard input as '-'" in capsys.readouterr().err


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    from visrec._cache import cache_dir

    monkeypatch.delenv("VISREC_CACHE", raising=False)
    monkeypatch.setenv("HOME", "/h")
    monkeypatch.setenv("XDG_CACHE_HOME", "relcache")
    assert cache_dir("onnx") == Path("/h/.cache/visrec/onnx")
    monkeypatch.setenv("XDG_CACHE_HOME", "/x")
    assert cache_dir("evaluate") == Path("/x/visrec/evaluate")


def test_every_help_fits_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from visrec.cli import build_parser

    monkeypatch.setenv("COLUMNS", "80")

    def parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        found = [parser]
        for sub in subs:
            for child in dict(sub.choices).values():
                found += parsers(child)
        return found

    every = parsers(build_parser())
    assert len(every) >= 14  # the top level, 12 commands, data's two
    wide = [
        (p.prog, line) for p in every for line in p.format_help().splitlines() if len(line) > 80
    ]
    assert wide == []


def test_a_resume_record_line_changed_after_writing_is_not_reused(tmp_path: Path) -> None:
    from visrec.evaluation.run_record import append_record, read_record

    path = tmp_path / "ev.partial.jsonl"
    rec = {
        "fp": {"data": "abc"},
        "seed": 0,
        "model": "popularity",
        "params": {},
        "split": {"n_test": 10},
        "row": {"auc": 0.8012, "recall": float("nan")},
    }
    append_record(path, rec)
    append_record(path, {**rec, "seed": 1})
    notes: list[str] = []
    got = read_record(path, notes.append)
    assert [r["seed"] for r in got] == [0, 1] and notes == []
    assert got[0]["row"]["auc"] == 0.8012 and np.isnan(got[0]["row"]["recall"])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0].replace("0.8012", "0.9012"), lines[1]]) + "\n")
    got = read_record(path, notes.append)
    assert [r["seed"] for r in got] == [1]
    assert notes == [
        f"{path}: 1 line does not match its digest (changed after it was written): "
        "its runs are fitted again"
    ]
    # a line whose digest was deleted with the edit: not reused either
    edited = json.loads(lines[0].replace("0.8012", "0.9012"))
    del edited["digest"]
    path.write_text(json.dumps(edited) + "\n" + lines[1] + "\n")
    assert [r["seed"] for r in read_record(path)] == [1]


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("auc", 5.0, "between 0 and 1"),
        ("recall", -0.1, "between 0 and 1"),
        ("fit_s", -1, "at least 0"),
    ],
)
def test_report_refuses_a_metric_outside_its_range(
    key: str, value: float, said: str, tmp_path: Path
) -> None:
    from visrec.report.evaluation import read_result

    data, _ = _shop()
    result = run_experiment(
        data.to_frame(), None, "warm", [("popularity", {})], seeds=1, progress=False
    ).to_dict()
    path = tmp_path / "ev.json"
    path.write_text(json.dumps(result))
    read_result(path)  # as written: fine
    result["runs"][0][key] = value
    path.write_text(json.dumps(result))
    with pytest.raises(
        VisrecError, match=rf"runs\[0\] \(popularity\): {key} {value!r} is not {said}"
    ):
        read_result(path)


def test_files_of_a_later_format_are_refused_naming_it(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from visrec.embed.store import META_KEY, read_vectors, write_vectors
    from visrec.report.evaluation import read_result

    data, vectors = _shop()
    result = run_experiment(
        data.to_frame(), None, "warm", [("popularity", {})], seeds=1, progress=False
    ).to_dict()
    assert result["format"] == 1
    path = tmp_path / "ev.json"
    path.write_text(json.dumps({**result, "format": 2, "run": {"visrec": "9.0"}}))
    with pytest.raises(VisrecError, match=r"result format 2 by a newer visrec \(9\.0\); this one"):
        read_result(path)
    old = {k: v for k, v in result.items() if k != "format"}  # before it was recorded
    path.write_text(json.dumps(old))
    assert read_result(path)["k"] == result["k"]

    vpath = tmp_path / "v.parquet"
    write_vectors(vpath, vectors)
    table = pq.read_table(vpath)
    meta = json.loads(table.schema.metadata[META_KEY])
    assert meta["vectors_format"] == 1
    for key, value, said in [
        ("vectors_format", 2, "vectors format 2 by a newer visrec"),
        ("vectors_format", "x", "format 'x' is not"),
        # a model trained on it would be refused on load: refused here instead
        ("preprocessing", None, "preprocessing None is not an object"),
    ]:
        edited = {**meta, key: value}
        pq.write_table(
            table.replace_schema_metadata({META_KEY: json.dumps(edited).encode()}), vpath
        )
        with pytest.raises(VisrecError, match=said):
            read_vectors(vpath)


def test_recall_rows_reads_a_sparse_relevance_matrix_as_its_dense_copy() -> None:
    # reg="auto" validation passes CSR rows: no dense users x items block per block
    import scipy.sparse as sp

    from visrec._ranking import recall_rows

    rng = np.random.default_rng(5)
    relevant = sp.random(60, 500, density=0.02, format="csr", random_state=5)
    relevant.data[:] = 1.0
    top = rng.integers(0, 500, size=(60, 10))
    for r in range(0, 60, 2):  # some hits, and padding
        if relevant[r].nnz:
            top[r, 3] = relevant[r].indices[0]
    top[1, -2:] = -1
    dense = recall_rows(top, relevant.toarray() > 0)
    np.testing.assert_array_equal(recall_rows(top, relevant), dense)
    assert np.nanmax(dense) > 0 and np.isnan(dense).any() == (np.diff(relevant.indptr) == 0).any()


def test_fetch_reads_a_piped_manifests_local_paths_against_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a host-like path that is a file here is a local entry, not a URL: from a pipe it
    # was looked up under /proc/PID/fd and taken for one
    from visrec.commands.fetch import read_sources

    monkeypatch.chdir(tmp_path)
    (tmp_path / "www.shop.com").mkdir()
    (tmp_path / "www.shop.com" / "x.jpg").write_bytes(b"jpeg")
    pipe = _pipe_with("item_id,url\n1,www.shop.com/x.jpg\n2,http://shop.example/y.jpg\n")
    got = read_sources([Path(pipe)])
    assert list(got.urls) == ["2"]
