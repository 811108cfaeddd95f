"""The Python API's input checks added in the forty-seventh session: what the CLI
already refused, or what failed deep inside a library, now refused with a one-line
VisrecError naming the argument (an audit of the public functions against their
docstrings)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from test_embed import TinyBackbone
from tiny_embed import image_folder
from visrec.analysis.cluster import cluster_vs_labels, purity_score
from visrec.analysis.rating_knn import knn_rating
from visrec.embed.backbones import get_backbone, register_backbone
from visrec.embed.extract import embed_folder, embed_images
from visrec.embed.store import ItemVectors, read_vectors, write_vectors
from visrec.errors import VisrecError
from visrec.report import plots
from visrec.report.html import ReportData, render_report
from visrec.report.rating import render_rating_report
from visrec.report.verdict import as_result, verdict


def test_written_vectors_metadata_is_checked_as_a_read_checks_it(tmp_path: Path) -> None:
    def vectors(meta: dict[str, object]) -> ItemVectors:
        return ItemVectors(ids=["a"], vectors=[[1.0, 2.0]], has_image=[True], meta=meta)

    path = tmp_path / "m.parquet"
    for meta, said in [
        ({"backbone": None}, "backbone None is not a name"),
        ({"preprocessing": "abc"}, "preprocessing 'abc' is not an object"),
    ]:
        # written, the file was refused on every read as "damaged; embed the items again"
        with pytest.raises(VisrecError, match=re.escape(f"item vectors: meta {said}")):
            write_vectors(path, vectors(meta))
        assert not path.exists()
    write_vectors(path, vectors({"backbone": "x", "preprocessing": {"size": 3}}))
    assert read_vectors(path).meta["preprocessing"] == {"size": 3}


def test_embed_images_checks_its_counts_backbone_and_paths(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "six", 3)
    items = {p.stem: p for p in sorted(folder.iterdir())}
    tiny = TinyBackbone()
    for kw, said in [
        ({"chunk_size": 2.5}, "chunk size must be an integer, got 2.5"),
        ({"chunk_size": 0}, "chunk size must be >= 1, got 0"),
        ({"workers": "2"}, "workers must be an integer, got '2'"),
        ({"batch_size": True}, "batch size must be an integer, got True"),
        ({"batch_size": 2.5}, "batch size must be an integer, got 2.5"),
        ({"backbone": None}, "backbone must be a name or a Backbone instance, got None"),
        ({"backbone": TinyBackbone}, "TinyBackbone is a Backbone class; pass an instance"),
    ]:
        with pytest.raises(VisrecError, match=re.escape(said)):
            embed_images(items, **{"backbone": tiny, "progress": False, **kw})  # type: ignore[arg-type]
    with pytest.raises(VisrecError, match=r"items\[0\]: the location of item 'a' is None"):
        embed_images({"a": None}, backbone=tiny, progress=False)  # type: ignore[dict-item]
    # the CLI's rule: a Parquet file named .csv would be refused by visrec's readers
    with pytest.raises(VisrecError, match=r"ends in \.csv \(CSV\), but visrec writes Parquet"):
        embed_images(items, tmp_path / "v.csv", backbone=tiny, progress=False)
    assert not (tmp_path / "v.csv").exists()
    ok = embed_images(items, backbone=tiny, progress=False, chunk_size=2, batch_size=2)
    assert ok.n == ok.n_ok == 3


def test_register_backbone_wants_a_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    from visrec.embed import backbones

    monkeypatch.setattr(backbones, "_REGISTRY", dict(backbones._REGISTRY))
    with pytest.raises(VisrecError, match=r"register_backbone: 't' needs a factory"):
        register_backbone("t", TinyBackbone())  # type: ignore[arg-type]
    register_backbone("t", TinyBackbone)
    assert isinstance(get_backbone("t"), TinyBackbone)


def test_embed_folder_reads_subfolders_when_asked(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    image_folder(root, 2)
    (root / "sub").mkdir()
    Image.new("RGB", (20, 20), (9, 9, 9)).save(root / "sub" / "x.png")
    flat = embed_folder(root, backbone=TinyBackbone(), progress=False)
    assert sorted(flat.vectors.ids) == ["000", "001"]
    assert any("sub/" in n and "--recursive" in n for n in flat.notes)
    deep = embed_folder(root, recursive=True, backbone=TinyBackbone(), progress=False)
    assert sorted(deep.vectors.ids) == ["000", "001", "x"]


def test_read_vectors_only_finds_ids_as_the_other_lookups_do(tmp_path: Path) -> None:
    kind = pa.list_(pa.float32(), 2)
    vecs = pa.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], type=kind)
    pq.write_table(pa.table({"item_id": pa.array([1, 2, 3]), "vector": vecs}), tmp_path / "f.pq")
    p = tmp_path / "f.pq"
    # 3.0 was looked for as "3.0" and left out silently; 5 alone was "not iterable"
    assert read_vectors(p, only=["1", 3.0]).ids.tolist() == ["1", "3"]  # type: ignore[list-item]
    assert read_vectors(p, only=2).ids.tolist() == ["2"]  # type: ignore[arg-type]
    assert read_vectors(p, only=np.array([3, 9])).ids.tolist() == ["3"]  # type: ignore[arg-type]
    assert read_vectors(p, only="2").ids.tolist() == ["2"]


def test_the_projection_checks_its_shape_and_labels() -> None:
    xy = np.random.default_rng(0).random((20, 2))
    labels = ["a", "b"] * 10
    with pytest.raises(VisrecError, match=r"projection: 10 labels for 20 points"):
        plots.projection_png(xy, labels[:10])
    with pytest.raises(VisrecError, match=r"coordinates of shape \(20, 3\); expected \(n, 2\)"):
        plots.projection_png(np.hstack([xy, xy[:, :1]]), labels)
    assert plots.projection_png(xy.tolist(), labels).startswith(b"\x89PNG")  # a list too
    data = ReportData(title="t", dataset="d", projection=xy, projection_labels=labels[:10])
    with pytest.raises(VisrecError, match="projection: 10 labels for 20 points"):
        render_report(data)


def test_report_parts_as_one_name_and_samples_keyed_by_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (6, 3)), rng.normal(5, 0.1, (6, 3))])
    res = cluster_vs_labels(x, ["a"] * 6 + ["b"] * 6, k=2)
    img = tmp_path / "t.png"
    Image.new("RGB", (20, 20), (200, 0, 0)).save(img)
    samples = {str(c): [(f"item{c}", img)] for c in res.table.index}
    data = ReportData(
        title="t",
        dataset="d",
        cluster=res,
        cluster_samples=samples,  # type: ignore[arg-type]
        parts="clusters",  # type: ignore[arg-type]
    )
    html = render_report(data)
    # one section, not one per letter ("unknown report parts ['c', 'l', ...]")
    assert '<section id="clusters">' in html and '<section id="summary">' not in html
    # "0" found cluster 0's photos: every grid said "(no images)" before
    assert "(no images)" not in html and html.count("<figure>") == 2


def test_the_result_renderers_take_the_result_objects() -> None:
    from test_evaluation_report import _result

    res = _result("warm", {"bpr": [0.40, 0.42, 0.41], "vbpr": [0.42, 0.43, 0.44]})

    class Result:  # an ExperimentResult as `run_experiment` returns it
        def to_dict(self) -> dict[str, object]:
            return res

    assert as_result(Result()) is res and as_result(res) is res
    assert verdict(Result()) == verdict(res)  # type: ignore[arg-type]
    with pytest.raises(
        VisrecError, match=r"result: not a result of `visrec evaluate --json` \(no 'k', 'runs'\)"
    ):
        verdict({"protocol": "warm"})  # was a KeyError from inside
    with pytest.raises(VisrecError, match=r"not a result of `visrec rating-eval --json`"):
        render_rating_report({"protocol": "random"})


def test_rating_report_inputs_are_optional_and_the_object_is_taken() -> None:
    from test_session47_fixes import star_ratings
    from visrec.analysis.rating_eval import rating_eval

    res = rating_eval(star_ratings(), None, mf_params={"n_epochs": 2})
    page = render_rating_report(res)  # type: ignore[arg-type]
    # The footer's time is to the minute: two renders may straddle one (CI failed so once).
    stamp = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    other = render_rating_report(res.to_dict(), {})
    assert stamp.search(page) and stamp.search(other)
    assert stamp.sub("", page) == stamp.sub("", other)
    assert "<!DOCTYPE html>" in page


def test_analysis_inputs_of_no_width_or_wrong_type() -> None:
    labels = ["a", "b"] * 20
    with pytest.raises(VisrecError, match="cluster: the vectors have width 0"):
        cluster_vs_labels(np.empty((40, 0)), labels)
    with pytest.raises(VisrecError, match="rating KNN: the vectors have width 0"):
        knn_rating(np.empty((50, 0)), np.arange(50) % 5 + 1)
    with pytest.raises(VisrecError, match=r"rating KNN: test size must be a number, got '0\.2'"):
        knn_rating(np.eye(10), np.arange(10) % 2 + 1, test_size="0.2")  # type: ignore[arg-type]
    for table, said in [
        (
            [[-1, 5], [3, 0]],
            "the count table holds a negative, missing or infinite count",
        ),  # was 1.14
        ([[np.nan, 1], [2, 0]], "the count table holds a negative, missing or infinite count"),
        ([1, 2, 3], r"a count table of shape \(3,\); expected 2-D"),
    ]:
        with pytest.raises(VisrecError, match=f"purity: {said}"):
            purity_score(np.asarray(table))
    assert purity_score(np.array([[3, 1], [0, 4]])) == 7 / 8
