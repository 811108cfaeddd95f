"""The ```python blocks of README.md and docs/*.md, executed.

Each block is read from its document at test time (by file and block index) and run
with ``exec`` in a namespace prepared for it, in a temporary folder holding the files
its relative paths name (a small subset of the real MovieLens-100K posters and ratings,
the two Amazon review files). The placeholders the docs leave to the reader
(``item_vectors``, ``frame``) are provided; no
line of a block is rewritten. A renamed function, a changed signature or a comment that
lies about a return shape makes a test fail; a new block fails
``test_every_block_is_covered`` until it gets a test here.

Not executed in full, on purpose:

* docs/embed.md, the ``backbone="resnet18"`` line: without torchvision (the ``resnet``
  extra, not installed here) it must raise visrec's error naming the extra; with it,
  the line runs.
* docs/scale.md: the block starts Ray (on a cluster, ``ray_address="auto"``, CUDA).
  Its imports run, and every call in it is checked against the called function's
  signature (``inspect.Signature.bind``) without calling it.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import inspect
import json
import re
import shutil
import textwrap
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main as cli_main
from visrec.data.interactions import Interactions
from visrec.data.tables import load_interactions
from visrec.embed.backbones import get_backbone
from visrec.embed.extract import embed_images
from visrec.embed.store import ItemVectors, read_vectors, write_vectors
from visrec.errors import VisrecError
from visrec.models.base import Recommender

REPO = Path(__file__).resolve().parents[1]
DOCS = ["README.md", *sorted(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md"))]

#: every ```python block, by (document, index), and the test that runs it
COVERED = {
    ("README.md", 0): "test_readme_quick_python",
    ("docs/analysis.md", 0): "test_analysis_review_categories_table",
    ("docs/data.md", 0): "test_data_amazon_reviews",
    ("docs/demo.md", 0): "test_demo_imports_and_return_types",
    ("docs/embed.md", 0): "test_embed_folder_and_resnet18",
    ("docs/embed.md", 1): "test_embed_own_backbone_script",
    ("docs/evaluation.md", 0): "test_evaluation_run_experiment",
    ("docs/evaluation.md", 1): "test_evaluation_split_as_files",
    ("docs/evaluation.md", 2): "test_evaluation_split_as_files",
    ("docs/models.md", 0): "test_models_visual_cf_new_items_save_load",
    ("docs/models.md", 1): "test_models_adding_a_model_example",
    ("docs/scale.md", 0): "test_scale_ray_imports_and_signatures",
}

N_KNOWN = 80  # posters (and their u.data rows) in the subset; about 9,000 ratings
USERS = ("196", "186")  # the users docs/models.md asks for


def python_blocks(doc: str) -> list[str]:
    text = (REPO / doc).read_text(encoding="utf-8")
    # a block inside a list item is indented: found too, and dedented
    found = re.findall(r"^([ \t]*)```python[ \t]*\n(.*?)^\1```", text, flags=re.S | re.M)
    return [textwrap.dedent(code) for _, code in found]


def block(doc: str, index: int) -> str:
    blocks = python_blocks(doc)
    assert index < len(blocks), f"{doc}: no ```python block #{index} (it has {len(blocks)})"
    return blocks[index]


def run(code: str, name: str, ns: dict[str, Any]) -> dict[str, Any]:
    """``exec`` ``code`` in ``ns``; tracebacks name the block (``<docs/x.md#0>``)."""
    exec(compile(code, f"<{name}>", "exec"), ns)
    return ns


def split_at(code: str, line: str) -> tuple[str, str]:
    """``code`` before and from ``line`` (a whole statement); fails loudly when the doc no
    longer has it, so the test follows the doc."""
    assert code.count(line) == 1, f"the doc block no longer contains {line!r}:\n{code}"
    head, _, tail = code.partition(line)
    return head, line + tail


#: functions whose ``**kwargs`` go on to another: a keyword they take that way must be
#: one of that function's (``embed_with_ray(..., **extract_options)`` -> ``embed_images``)
FORWARDS = {"embed_with_ray": "embed_images"}


def check_calls(code: str, ns: dict[str, Any]) -> list[str]:
    """Bind every call of a name in ``code`` to that function's signature, without calling
    it. Returns the names checked; a missing name or a rejected argument fails."""
    checked = []
    for node in ast.walk(ast.parse(code)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        name = node.func.id
        assert name in ns, f"{name} is called but neither imported nor defined"
        sig = inspect.signature(ns[name])
        try:
            bound = sig.bind(
                *[None] * len(node.args), **{kw.arg: None for kw in node.keywords if kw.arg}
            )
        except TypeError as exc:
            pytest.fail(f"line {node.lineno}: {name}{sig} rejects the doc's arguments: {exc}")
        var_kw = [p.name for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD]
        extra = set(bound.arguments.get(var_kw[0], {})) if var_kw else set()
        if extra:
            assert name in FORWARDS, f"line {node.lineno}: {name}(**{var_kw[0]}) takes {extra}"
            target = inspect.signature(ns[FORWARDS[name]]).parameters
            assert extra <= set(target), (
                f"line {node.lineno}: {name} passes {extra - set(target)} on to "
                f"{FORWARDS[name]}, which has no such parameter"
            )
        checked.append(name)
    return checked


def make_png(src: Path, dst: Path) -> None:
    from PIL import Image

    with Image.open(src) as im:
        im.convert("RGB").save(dst)


@dataclass
class Subset:
    root: Path  # posters/ (the known items), u.data (their rows), new/ (two more posters)
    frame: pd.DataFrame
    vectors: ItemVectors  # known items + "new1", "new2" (posters of two unrated movies)
    known: list[str]


@pytest.fixture(scope="module")
def movielens(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Subset:
    src = shared_data / "movielens-100k-posters"
    posters = sorted(src.glob("posters/*.jpg"), key=lambda p: int(p.stem))[: N_KNOWN + 2]
    known = [p.stem for p in posters[:N_KNOWN]]
    root = tmp_path_factory.mktemp("ml-subset")
    (root / "posters").mkdir()
    (root / "new").mkdir()
    for p in posters[:N_KNOWN]:
        shutil.copyfile(p, root / "posters" / p.name)
    for name, p in zip(("new1", "new2"), posters[N_KNOWN:], strict=True):
        shutil.copyfile(p, root / "new" / f"{name}.jpg")
    keep = set(known)
    lines = (src / "u.data").read_text(encoding="latin-1").splitlines()
    rows = [line for line in lines if line.split("\t")[1] in keep]
    (root / "u.data").write_text("\n".join(rows) + "\n", encoding="utf-8")
    frame = load_interactions(root / "u.data").frame
    assert set(USERS) <= set(frame["user_id"]), "docs/models.md's users are not in the subset"
    images = {p.stem: str(p) for p in sorted((root / "posters").iterdir())}
    images |= {p.stem: str(p) for p in sorted((root / "new").iterdir())}
    vectors = embed_images(images, None, progress=False).vectors
    return Subset(root, frame, vectors, known)


def test_every_block_is_covered() -> None:
    found = {(doc, i) for doc in DOCS for i in range(len(python_blocks(doc)))}
    assert found - COVERED.keys() == set(), "a ```python block has no test here: add one"
    assert COVERED.keys() - found == set(), "a tested ```python block is gone: update COVERED"


@pytest.mark.realdata
def test_readme_quick_python(
    movielens: Subset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # run from a repository root beside shared/data, as the README's commands are
    data = tmp_path / "shared" / "data" / "movielens-100k-posters"
    shutil.copytree(movielens.root / "posters", data / "posters")
    shutil.copyfile(movielens.root / "u.data", data / "u.data")
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    ns = run(block("README.md", 0), "README.md#0", {})

    frame = ns["frame"]
    assert list(frame.columns[:4]) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(frame) == len(movielens.frame)
    written = read_vectors("ml100k.parquet")
    assert sorted(written.ids) == sorted(movielens.known)
    assert ns["vectors"].vectors.shape == (N_KNOWN, written.dim)
    assert ns["vectors"].vectors.dtype == np.float32
    assert ns["vectors"].has_image.all()
    model, items, scores = ns["model"], ns["items"], ns["scores"]
    assert items.shape == scores.shape == (3, 10)
    assert ((items >= 0) & (items < len(model.item_map_))).all()  # indices into item_map_
    assert (np.diff(scores, axis=1) <= 0).all()
    loaded = Recommender.load("models/vbpr")
    items2, scores2 = loaded.recommend([0, 1, 2], n=10)
    np.testing.assert_array_equal(items2, items)
    np.testing.assert_allclose(scores2, scores)


@pytest.mark.realdata
def test_data_amazon_reviews(
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("AMAZON_FASHION_5.json.gz", "All_Beauty_5.json.gz"):
        (tmp_path / name).symlink_to(shared_data / "amazon" / name)
    monkeypatch.chdir(tmp_path)
    ns = run(block("docs/data.md", 0), "docs/data.md#0", {})

    res = ns["res"]
    assert isinstance(res.frame, pd.DataFrame)
    assert {"user_id", "item_id", "rating"} <= set(res.frame.columns)
    assert res.n_rows == len(res.frame) == 3176 + 5269  # the two files' reviews
    assert isinstance(res.bad, list) and isinstance(res.warnings, list)
    assert res.n_read == res.n_rows + res.n_bad
    assert res.bad_by_kind() == {}
    assert set(res.formats) == set(res.files) and len(res.files) == 2
    assert capsys.readouterr().out.startswith("bad records: 0")
    assert isinstance(ns["inter"], Interactions)


def test_analysis_review_categories_table(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AMAZON_FASHION_5.json.gz", "All_Beauty_5.json.gz"):
        (tmp_path / name).symlink_to(shared_data / "amazon" / name)
    monkeypatch.chdir(tmp_path)
    run(block("docs/analysis.md", 0), "docs/analysis.md#0", {})
    # the table `visrec cluster --labels review_categories.csv --id-col review_id` reads
    table = pd.read_csv(tmp_path / "review_categories.csv", dtype=str)
    assert list(table.columns) == ["review_id", "category"]
    assert len(table) == 3176 + 5269  # one row per review of the two files
    assert set(table["category"]) == {"AMAZON_FASHION", "All_Beauty"}
    assert table["review_id"].notna().all()


def test_demo_imports_and_return_types() -> None:
    code = block("docs/demo.md", 0)
    ns = run(code, "docs/demo.md#0", {})
    # the comments name what the functions return: "# -> Catalogue(root, images_dir, ...)"
    comments: dict[str, str] = {}
    current = None
    for line in code.splitlines():
        src, _, comment = line.partition("#")
        if src.strip():
            m = re.search(r"import (\w+)\s*$", src)
            current = m.group(1) if m else None
        if current and comment:
            comments[current] = comments.get(current, "") + " " + comment.strip()
    claims = {
        name: m for name, text in comments.items() if (m := re.search(r"-> (\w+)(\(.*?\))?", text))
    }
    assert set(claims) == {"make_catalogue", "load_demo_dataset", "run_demo"}
    for name, m in claims.items():
        returned = typing.get_type_hints(ns[name])["return"]
        assert returned.__name__ == m.group(1), f"{name} returns {returned.__name__}"
        fields = {f.name for f in dataclasses.fields(returned)}
        named = re.findall(r"\w+", m.group(2) or "")
        assert set(named) <= fields, f"{name}: {returned.__name__} has no {set(named) - fields}"
    for name in ("ReportData", "write_report", "SimilarItems", "similar_items"):
        assert callable(ns[name])


@pytest.mark.realdata
def test_embed_folder_and_resnet18(
    movielens: Subset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    posters = sorted((movielens.root / "posters").iterdir())[:4]
    for p in posters:
        shutil.copyfile(p, images / p.name)
    (images / "broken.jpg").write_bytes(b"not an image")
    shutil.copyfile(posters[0], tmp_path / "x.jpg")
    make_png(posters[1], tmp_path / "y.png")
    monkeypatch.chdir(tmp_path)
    resnet_line = 'embed_images({"a": "x.jpg", "b": "y.png"}, backbone="resnet18", engine="torch")'
    head, tail = split_at(block("docs/embed.md", 0), resnet_line)
    ns = run(head, "docs/embed.md#0", {})

    res = ns["res"]
    ids = sorted([p.stem for p in posters] + ["broken"])
    assert isinstance(res.vectors, ItemVectors)
    assert sorted(res.vectors.ids) == ids
    assert res.vectors.vectors.shape == (5, res.vectors.dim)
    assert res.vectors.vectors.dtype == np.float32
    assert [(f[0], Path(f[1]).name) for f in res.failures] == [("broken", "broken.jpg")]
    assert isinstance(res.failures[0][2], str) and res.failures[0][2]
    assert res.n_reused == 0
    assert sorted(read_vectors("vectors.parquet").ids) == ids

    missing = get_backbone("resnet18").missing()
    if missing is not None:  # no torchvision (the `resnet` extra) and no local weights
        with pytest.raises(
            VisrecError, match=r"resnet18 needs .*VISREC_RESNET18_WEIGHTS.*resnet extra"
        ):
            run(tail, "docs/embed.md#0 (resnet18)", ns)
    else:
        run("out = " + tail, "docs/embed.md#0 (resnet18)", ns)
        assert ns["out"].vectors.vectors.shape == (2, 512)
        assert ns["out"].vectors.has_image.all()


def test_embed_own_backbone_script(tmp_path: Path) -> None:
    # the block is a script: run as its first line says, in a process of its own
    import os
    import subprocess
    import sys

    from PIL import Image

    code = block("docs/embed.md", 1)
    first = code.splitlines()[0]
    assert first.startswith("# my_embed.py -- python my_embed.py ")
    (tmp_path / "my_embed.py").write_text(code)
    (tmp_path / "images").mkdir()
    for i, colour in enumerate([(200, 30, 30), (30, 30, 200)]):
        Image.new("RGB", (48, 40), colour).save(tmp_path / "images" / f"p{i}.png")
    argv = first.split(" -- ")[1].split()[1:]  # my_embed.py embed images/ ...
    env = {**os.environ, "VISREC_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, *argv], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    vec = read_vectors(tmp_path / "vectors.parquet")
    assert sorted(vec.ids) == ["p0", "p1"] and vec.vectors.shape == (2, 8)
    assert vec.meta["backbone"] == "tiny" and vec.meta["weights_id"] == "tiny-v1"


@pytest.mark.realdata
def test_evaluation_run_experiment(
    movielens: Subset,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    # the files the block reads: the subset's ratings and vectors
    shutil.copyfile(movielens.root / "u.data", "u.data")
    write_vectors("ml100k.parquet", movielens.vectors)
    ns = run(block("docs/evaluation.md", 0), "docs/evaluation.md#0", {})
    assert len(ns["frame"]) == len(movielens.frame) and ns["item_vectors"].dim > 0

    res, models = ns["res"], ["popularity", "bpr", "vbpr"]
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in table[1:]] == models
    assert "AUC" in table[0] and "Recall@20" in table[0]
    summary = res.summary()
    assert list(summary.index) == models
    assert set(summary.columns.get_level_values(1)) == {"mean", "std"}
    assert len(res.runs) == 9  # one row per (seed, model)
    assert sorted(zip(res.runs["seed"], res.runs["model"], strict=True)) == sorted(
        (s, m) for s in (0, 1, 2) for m in models
    )
    assert (summary[("auc", "mean")] > 0.5).all()
    saved = json.loads(Path("out.json").read_text(encoding="utf-8"))
    assert isinstance(saved, dict) and saved


@pytest.mark.realdata
def test_evaluation_split_as_files(
    movielens: Subset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ns: dict[str, Any] = {"frame": movielens.frame, "item_vectors": movielens.vectors}
    run(block("docs/evaluation.md", 1), "docs/evaluation.md#1", ns)

    train = pd.read_csv("TRAIN.csv", dtype={"user_id": str, "item_id": str})
    test = pd.read_csv("TEST.csv", dtype={"user_id": str, "item_id": str})
    with open("CANDIDATES.txt", newline="", encoding="utf-8") as fh:
        candidates = [row[0] for row in csv.reader(fh)]
    assert list(train.columns) == ["user_id", "item_id", "rating", "timestamp"]
    # the candidates are exactly the held-out items: none in training, each with a picture
    assert sorted(candidates) == sorted(set(test["item_id"]))
    assert not set(candidates) & set(train["item_id"])
    with_picture = set(movielens.vectors.ids[movielens.vectors.has_image])
    assert set(candidates) <= with_picture
    assert len(candidates) == int(0.2 * movielens.frame["item_id"].nunique())
    # every rating is in one file, but for test rows of users with no training row
    split = ns["split"]
    n_pairs = len(movielens.frame.drop_duplicates(["user_id", "item_id"]))
    assert len(train) + len(test) + split.n_dropped_users == n_pairs

    # the interface on those files, then the docs' scoring of RECS.csv
    write_vectors("v.parquet", movielens.vectors)
    fit = ["--interactions", "TRAIN.csv", "--vectors", "v.parquet", "-o", "model", "-q"]
    assert cli_main(["train", "--model", "visual-cf", "--param", "profile_weight=0", *fit]) == 0
    lists = ["--n", "20", "--items", "CANDIDATES.txt", "--vectors", "v.parquet", "-q"]
    assert cli_main(["recommend", "model", "-o", "RECS.csv", *lists]) == 0
    # 16 candidates here: every list holds them all at k=20, so the check asks for k=5
    scoring = block("docs/evaluation.md", 2)
    assert scoring.count("k = 20\n") == 1
    run(scoring.replace("k = 20\n", "k = 5\n"), "docs/evaluation.md#2", ns)
    # the same figure, counted here by hand
    wanted: dict[str, set[str]] = {}
    for u, i in zip(test["user_id"], test["item_id"], strict=True):
        wanted.setdefault(u, set()).add(i)
    top: dict[str, set[str]] = {}
    with open("RECS.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if int(row["rank"]) <= 5:
                top.setdefault(row["user_id"], set()).add(row["item_id"])
    by_hand = [len(top.get(u, set()) & w) / min(5, len(w)) for u, w in wanted.items()]
    assert 0 < ns["recall"] < 1
    assert ns["recall"] == pytest.approx(sum(by_hand) / len(by_hand))


@pytest.mark.realdata
def test_models_visual_cf_new_items_save_load(
    movielens: Subset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    movielens.frame.to_csv("TRAIN.csv", index=False)
    # the subset's vectors file also holds the items "new1" and "new2"
    write_vectors("V.parquet", movielens.vectors)
    ns: dict[str, Any] = {}
    run(block("docs/models.md", 0), "docs/models.md#0", ns)

    m, users, ids, scores = ns["m"], ns["users"], ns["ids"], ns["scores"]
    assert list(m.user_map_.to_raw(users)) == list(USERS)
    assert ids.shape == scores.shape == (2, 20)  # "(2, 20) item indices"
    assert set(ns["raw"]) <= set(movielens.known)
    assert len(ns["raw"]) == (ids[0] >= 0).sum()
    seen = set(movielens.frame.loc[movielens.frame["user_id"] == USERS[0], "item_id"])
    assert not seen & set(ns["raw"])  # filter_seen=True
    assert ns["vectors"].shape == (2, movielens.vectors.dim)
    assert ns["has_image"].tolist() == [True, True]
    new = ns["new"]
    assert new.shape == (2, 2) and np.isfinite(new).all()
    # "an id without an image: -inf"
    no_image = m.score_new_items(users, *movielens.vectors.align(["new1", "nowhere"]))
    np.testing.assert_array_equal(no_image[:, 0], new[:, 0])
    assert np.isneginf(no_image[:, 1]).all()
    m2 = ns["m2"]
    assert type(m2) is type(m)
    ids2, scores2 = m2.recommend(users, n=20, filter_seen=True)
    np.testing.assert_array_equal(ids2, ids)
    np.testing.assert_allclose(scores2, scores)
    np.testing.assert_allclose(m2.score_new_items(users, ns["vectors"], ns["has_image"]), new)


def test_scale_ray_imports_and_signatures() -> None:
    code = block("docs/scale.md", 0)
    tree = ast.parse(code)
    imports: list[ast.stmt] = [s for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)]
    assert len(imports) == 4, "the block's imports changed: check what this test runs"
    ns = run(ast.unparse(ast.Module(body=imports, type_ignores=[])), "docs/scale.md#0", {})
    # embed_with_ray / RayPipeline would start Ray (slow here) or reach a cluster
    checked = check_calls(code, ns)
    assert sorted(set(checked)) == [
        "Path",
        "RayPipeline",
        "embed_images",
        "embed_with_ray",
        "get_backbone",
    ]


def test_models_adding_a_model_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the example model, registered, fits, ranks each checkerboard group's own items
    # first, and loads back with the same scores
    import sys
    import types

    from test_models import checkerboard
    from visrec.models import registry

    names = {"ClassVar": typing.ClassVar, "np": np, "Recommender": Recommender}
    names["Interactions"] = Interactions
    ns = run(block("docs/models.md", 1), "docs/models.md#1", names)
    module = types.ModuleType("docs_item_knn")
    module.ItemKNN = ns["ItemKNN"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "docs_item_knn", module)
    monkeypatch.setitem(registry.MODELS, "item-knn", "docs_item_knn:ItemKNN")
    inter, _ = checkerboard()
    model = registry.make_model("item-knn", k=5).fit(inter)
    ids, _ = model.recommend(np.arange(24), n=3)
    assert (ids[:12] < 10).all() and (ids[12:] >= 10).all(), ids
    back = Recommender.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(back.score([0, 13]), model.score([0, 13]))
