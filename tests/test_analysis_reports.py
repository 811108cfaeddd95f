"""`visrec cluster --report` and `visrec knn-rating --report`: the demo's report sections
for one command's result, with photos per cluster from --images."""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from test_cluster import _write_fixture
from visrec.cli import main
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError
from visrec.report.html import ReportData, render_report
from visrec.report.rating import rating_verdict


def _sections(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', page)


def _command_row(page: str) -> str:
    """The report's "command" row: how it was made, as the evaluation report says it."""
    found = re.findall(r"<tr><th>command</th><td>([^<]*)</td></tr>", page)
    assert len(found) == 1 and "<th>run</th><td>visrec " in page
    return html.unescape(found[0])


def test_cluster_report_with_photos_of_each_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v, labels = _write_fixture(tmp_path)
    images = tmp_path / "imgs"
    images.mkdir()
    colours = {"p1": (200, 0, 0), "p25": (0, 200, 0), "p45": (0, 0, 200)}
    for item, rgb in colours.items():  # one photo in each blob; the rest have none
        (images / item[:2]).mkdir(exist_ok=True)  # photos by category: subfolders are read
        Image.new("RGB", (30, 20), rgb).save(images / item[:2] / f"{item}.jpg")
    out = tmp_path / "c.html"
    argv = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col",
            "kind", "--report", str(out), "--images", str(images), "--json",
            str(tmp_path / "c.json")]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.endswith(f"wrote {tmp_path / 'c.json'}\nwrote {out}\n")
    page = out.read_text()
    assert _sections(page) == ["summary", "clusters", "cluster-grids", "projection"]
    assert "<script" not in page and "knn" not in _sections(page)
    # The three photos, each under its own cluster (the blobs are the clusters).
    grids = page[page.index('id="cluster-grids"') : page.index('id="projection"')]
    per_cluster = re.split(r"<h3>", grids)[1:]
    assert len(per_cluster) == 3
    shown = [re.findall(r"<figure><img [^>]*><figcaption>([^<]+)", block) for block in per_cluster]
    assert sorted(i for ids in shown for i in ids) == sorted(colours)
    assert all(len(ids) == 1 for ids in shown)
    assert len(re.findall(r"data:image/jpeg;base64", grids)) == 3
    # under each photo, its item's own label: a mixed cluster shows which item is which
    captions = dict(re.findall(r"<figcaption>([^<]+)<br>([^<]+)</figcaption>", grids))
    table = pd.read_csv(labels, on_bad_lines="skip", dtype=str).set_index("id")["kind"]
    assert captions == {i: table[i] for i in colours}
    # The PCA map is a PNG; the summary counts what was left out.
    png = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(png) == 1 and base64.b64decode(png[0]).startswith(b"\x89PNG")
    assert "left out: no image" in page and "items clustered" in page
    assert _command_row(page) == shlex.join(["visrec", *argv])
    # a manifest (a catalogue's item -> photo table) gives the same photos
    manifest = tmp_path / "photos.csv"
    manifest.write_text(
        "sku,image_path,image_url\n"
        + "".join(f"{i},imgs/{i[:2]}/{i}.jpg,\n" for i in colours)
        + "zz,,http://h/zz.jpg\n"  # a URL: no photo to show, left out
    )
    argv[argv.index(str(images))] = str(manifest)
    assert main(argv) == 0
    again = out.read_text()
    grids = again[again.index('id="cluster-grids"') : again.index('id="projection"')]
    assert len(re.findall(r"data:image/jpeg;base64", grids)) == 3


def test_cluster_report_without_images_says_how_to_get_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v, labels = _write_fixture(tmp_path)
    out = tmp_path / "c.html"
    base = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "kind"]
    assert main([*base, "--report", str(out)]) == 0
    assert "give --images DIR" in out.read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "zzz.jpg").write_bytes(b"")
    assert main([*base, "--report", str(out), "--images", str(empty)]) == 0
    assert "no image in" in out.read_text()
    capsys.readouterr()
    # --images alone, or not a folder: errors before any clustering.
    assert main([*base, "--images", str(empty)]) == 2
    assert "give --report HTML too" in capsys.readouterr().err
    assert main([*base, "--report", str(out), "--images", str(tmp_path / "nope")]) == 2
    assert "is not a folder (or a manifest .csv/.tsv)" in capsys.readouterr().err


def test_knn_rating_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    n_items = 40
    ids = [f"i{i}" for i in range(n_items)]
    vecs = rng.normal(size=(n_items, 4)).astype(np.float32)
    write_vectors(tmp_path / "v.parquet", ItemVectors(ids, vecs, np.ones(n_items, dtype=bool)))
    rows = ["user_id,item_id,rating"]
    rows += [f"u{u},i{i},{1 + (u + i) % 5}" for u in range(30) for i in range(0, n_items, 3)]
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "k.html"
    argv = ["knn-rating", "--interactions", str(tmp_path / "r.csv"), "--report", str(out),
            "--vectors", str(tmp_path / "v.parquet"), "--random-state", "1234"]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.endswith(f"\nwrote {out}\n")
    page = out.read_text()
    assert _sections(page) == ["summary", "knn", "confusion"]
    assert re.search(
        r"KNN (beats|does not beat) the majority class|No significant difference between KNN", page
    )
    assert '<td class="num">1234</td>' in page  # a seed, not a count: no thousands comma
    assert _command_row(page) == shlex.join(["visrec", *argv])
    assert len(re.findall(r"data:image/png;base64", page)) == 2  # the bars, the matrix


def test_report_parts_must_be_known() -> None:
    with pytest.raises(ValueError, match="unknown report parts"):
        render_report(ReportData(title="t", dataset="d", parts=("summary", "nope")))


def _rating_runs(mf: list[float], visual: list[float]) -> pd.DataFrame:
    rows = []
    for seed, (a, b) in enumerate(zip(mf, visual, strict=True)):
        rows += [
            {"seed": seed, "model": "majority class (4)", "uses": "baseline", "rmse": 1.22},
            {"seed": seed, "model": "item mean", "uses": "baseline", "rmse": 1.03},
            {"seed": seed, "model": "KNN k=3 (image)", "uses": "picture", "rmse": 1.50},
            {"seed": seed, "model": "biased MF", "uses": "ratings", "rmse": a},
            {"seed": seed, "model": "biased MF + visual", "uses": "ratings + picture", "rmse": b},
        ]
    return pd.DataFrame(rows)


def test_rating_verdict() -> None:
    lines = rating_verdict(_rating_runs([0.92, 0.93, 0.91], [0.91, 0.92, 0.90]), "cold-items")
    # both picked on these splits: the call could have gone either way, said as weak
    assert lines[0] == (
        "Lowest RMSE: biased MF + visual, 0.910 stars (below biased MF, 0.920, on 3 of 3 "
        "splits; sign test p = 0.125). Weak evidence (0.250 two-sided, above 0.05, as "
        "either way could have been called): more seeds would firm it up."
    )
    assert lines[1] == (
        "The tutorial's KNN on the picture alone: RMSE 1.500, 0.470 worse than the best "
        "baseline (item mean, 1.030), on 3 of 3 splits."
    )
    # split by rows, the KNN's neighbours are other ratings of the same items
    by_rows = rating_verdict(_rating_runs([0.92, 0.93, 0.91], [0.91, 0.92, 0.90]))
    assert by_rows[1].startswith(
        "The tutorial's KNN on image vectors (its neighbours are mostly other ratings of "
        "the same items; --protocol cold-items asks the picture alone): RMSE 1.500"
    )
    assert lines[2].startswith("The picture helps the MF: -0.0100 RMSE on average")
    assert "better on 3 of 3 seeds; sign test p = 0.125 (biased MF itself moves 0.0100" in lines[2]
    assert lines[2].endswith(
        ". Weak evidence (0.250 two-sided, above 0.05, "
        "as either way could have been called): more seeds would firm it up."
    )
    # new items: why the plain MF sits at the user mean and the item mean at the global
    assert lines[3].startswith("Every test item is new here: the item mean has no rating")
    assert len(by_rows) == 3  # not said for a split by rows
    # 5 of 5: p = 0.031 one-sided, 0.063 two-sided: still weak; 6 of 6 (0.031) not
    five = rating_verdict(_rating_runs([0.92] * 5, [0.91] * 5))
    assert "p = 0.031" in five[2] and "Weak evidence (0.063 two-sided" in five[2]
    six = rating_verdict(_rating_runs([0.92] * 6, [0.91] * 6))
    assert "p = 0.016" in six[2] and "Weak evidence" not in six[2]
    mixed = rating_verdict(_rating_runs([0.92, 0.93, 0.91], [0.91, 0.94, 0.92]))
    assert mixed[2].startswith("No clear difference from the picture in the MF")
    worse = rating_verdict(_rating_runs([0.92, 0.93, 0.91], [0.94, 0.95, 0.93]))
    assert worse[2].startswith("The picture does not help the MF: +0.0200")
    two = rating_verdict(_rating_runs([0.92, 0.93], [0.91, 0.92]))
    assert two[2].endswith("run --seeds 3 or more to call it.")
    # Every seed a little better, by less than the MF moves between splits (ML-100K).
    small = rating_verdict(_rating_runs([0.920, 0.930, 0.910], [0.919, 0.929, 0.909]))
    assert small[2].startswith("The picture helps the MF, by little: -0.0010")
    # better on every split, by the same gap: a winner, however much each split's
    # difficulty moves both (judged pair by pair, as the line about the picture is)
    assert small[0].startswith(
        "Lowest RMSE: biased MF + visual, 0.919 stars (below biased MF, 0.920, on 3 of 3 "
        "splits; sign test p = 0.125). Weak evidence (0.250 two-sided"
    )
    # the lowest RMSE is not named a winner when it is lower on 2 of 3 splits only:
    # the sign test of the picture's sentence, so the two sentences agree
    noisy = rating_verdict(_rating_runs([0.920, 0.930, 0.910], [0.917, 0.932, 0.908]))
    assert noisy[0] == (
        "Lowest RMSE: biased MF + visual, 0.919 stars, level with biased MF (0.920: lower "
        "than it on 2 of 3 splits, too few to call a gap of 0.0010)."
    )
    assert noisy[2].startswith("No clear difference from the picture in the MF")
    same = rating_verdict(_rating_runs([0.92, 0.93, 0.91], [0.92, 0.93, 0.91]))
    assert same[2].endswith("no difference, the same RMSE on every seed.")
    plain = _rating_runs([0.92, 0.93, 0.91], [0.92, 0.93, 0.91])
    plain = plain[~plain["model"].isin(["KNN k=3 (image)", "biased MF + visual"])]
    lines = rating_verdict(plain)
    assert lines[0].startswith("No item vectors were given (--vectors), so the picture was not")
    assert len(lines) == 2 and lines[1].startswith(
        "Lowest RMSE: biased MF, 0.920 stars (below item mean, 1.030, on 3 of 3 splits;"
    )


def test_rating_runs_without_uses_are_refused_in_one_line() -> None:
    runs = _rating_runs([0.92], [0.91]).drop(columns="uses")
    with pytest.raises(VisrecError, match=r"no 'uses' field .*run visrec rating-eval again"):
        rating_verdict(runs)


def test_rating_verdict_goes_by_what_models_use_not_their_names() -> None:
    runs = _rating_runs([0.92, 0.93, 0.91], [0.94, 0.95, 0.93])
    runs["model"] = runs["model"].map({
        "majority class (4)": "mode", "item mean": "per-item average",
        "KNN k=3 (image)": "look-alikes", "biased MF": "MF", "biased MF + visual": "VMF",
    })  # fmt: skip
    lines = rating_verdict(runs, "cold-items")
    assert lines[1] == (
        "The tutorial's KNN on the picture alone: RMSE 1.500, 0.470 worse than the best "
        "baseline (per-item average, 1.030), on 3 of 3 splits."
    )
    assert lines[2].startswith("The picture does not help the MF: +0.0200")
    assert "(MF itself moves 0.0100 between the splits)" in lines[2]


def test_rating_eval_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    n_items, n_users = 30, 40
    ids = [f"i{i}" for i in range(n_items)]
    vecs = rng.normal(size=(n_items, 4)).astype(np.float32)
    write_vectors(tmp_path / "v.parquet", ItemVectors(ids, vecs, np.ones(n_items, dtype=bool)))
    rows = ["user_id,item_id,rating"]
    for u in range(n_users):
        for i in rng.choice(n_items, size=12, replace=False):
            rows.append(f"u{u},i{i},{int(np.clip(round(3 + vecs[i, 0] + rng.normal()), 1, 5))}")
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    argv = ["rating-eval", "--interactions", str(tmp_path / "r.csv"), "--vectors",
            str(tmp_path / "v.parquet"), "--n-epochs", "3", "--quiet", "--report", str(out),
            "--json", str(js)]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.endswith(f"\nwrote {js}\nwrote {out}\n")
    page = out.read_text()
    assert _sections(page) == ["verdict", "results", "seeds"]
    assert "Lowest RMSE:" in page and "run --seeds 3 or more to call it" in page
    assert "<td>ratings + picture</td>" in page and "<td>baseline</td>" in page
    assert len(re.findall(r"data:image/png;base64", page)) == 1 and "<script" not in page
    # the command row, as the JSON (one run block for both files) and the evaluation report
    assert _command_row(page) == shlex.join(["visrec", *argv])
    assert json.loads(js.read_text())["run"]["command"] == _command_row(page)


def test_cluster_report_survives_dollar_labels_and_guards_the_photos(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v, _ = _write_fixture(tmp_path)
    labels = tmp_path / "dollars.csv"
    kinds = ["$\\foo$ shoes", "$10-$20", "$5 # $10"]
    labels.write_text("id,kind\n" + "".join(f'p{i},"{kinds[i // 20]}"\n' for i in range(60)))
    images = tmp_path / "imgs"
    images.mkdir()
    Image.new("RGB", (30, 20), (200, 0, 0)).save(images / "p1.jpg")
    (images / "p25.jpg").write_bytes(b"not a jpeg")  # sampled, cannot be read
    out = tmp_path / "c.html"
    base = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col", "kind",
            "--top-labels", "2"]  # fmt: skip
    assert main([*base, "--report", str(out), "--images", str(images)]) == 0
    text = capsys.readouterr().err
    assert (
        "note: 1 of the sampled photos cannot be read and show as '?' in the report: 'p25'" in text
    )
    page = out.read_text()
    assert "$10-$20" in page and "labels kept" in page and "left out: other labels" in page
    # An output that would replace a photo; two photos of one id: before any clustering.
    err = _refused_cluster([*base, "--report", str(images / "p1.jpg"), "--images", str(images)],
                           capsys)  # fmt: skip
    assert "is the --images photo p1.jpg file" in err
    Image.new("RGB", (30, 20)).save(images / "p1.png")
    json_out = tmp_path / "c.json"
    err = _refused_cluster(
        [*base, "--report", str(out), "--images", str(images), "--json", str(json_out)], capsys
    )
    assert "p1.jpg" in err and "p1.png" in err and not json_out.exists()


def _refused_cluster(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "K-means" not in captured.out  # refused before the clustering
    return captured.err


def test_rating_eval_cold_items_gives_every_seeds_split_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(2)
    rows = ["user_id,item_id,rating"]
    for u in range(40):
        for i in rng.choice(30, size=int(rng.integers(5, 15)), replace=False):
            rows.append(f"u{u},i{i},{int(rng.integers(1, 6))}")
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "r.html"
    argv = ["rating-eval", "--interactions", str(tmp_path / "r.csv"), "--protocol",
            "cold-items", "--seeds", "3", "--n-epochs", "2", "--quiet",
            "--report", str(out)]  # fmt: skip
    assert main(argv) == 0
    head = capsys.readouterr().out.splitlines()[0]
    sizes = re.search(r"same split: ([\d,]+)-([\d,]+) train / ([\d,]+)-([\d,]+) test", head)
    assert sizes is not None, head  # cold-items splits differ from seed to seed
    assert f"{sizes.group(1)}-{sizes.group(2)} train" in out.read_text()


def test_similar_report_shows_each_query_next_to_its_neighbours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Four items on a line of angles: b is nearest a, then c, then d.
    angles = {"a": 0.0, "b": 0.1, "c": 0.3, "<d>": 0.6}
    vecs = np.array([[np.cos(t), np.sin(t)] for t in angles.values()], dtype=np.float32)
    v = tmp_path / "v.parquet"
    write_vectors(v, ItemVectors(list(angles), vecs, np.ones(4, dtype=bool)))
    images = tmp_path / "imgs"
    images.mkdir()
    for item in ("a", "b", "c"):  # '<d>' has no photo
        Image.new("RGB", (20, 20), (40 * len(item), 0, 0)).save(images / f"{item}.png")
    out = tmp_path / "s.html"
    argv = ["similar", str(v), "a", "--n", "3", "--report", str(out), "--images", str(images)]
    assert main(argv) == 0
    assert capsys.readouterr().out.endswith(f"\nwrote {out}\n")
    page = out.read_text()
    assert "<script" not in page and "&lt;d&gt;" in page and "<d>" not in page
    captions = re.findall(r"<figcaption>([^<]*)<br>([^<]*)</figcaption>", page)
    assert [c[0] for c in captions] == ["a", "b", "c", "&lt;d&gt;"]
    assert captions[0][1] == "query" and captions[1][1].startswith("1. cosine 0.995")
    assert len(re.findall(r"data:image/jpeg;base64", page)) == 3  # '<d>' is a grey tile
    assert _command_row(page) == shlex.join(["visrec", *argv])

    assert main(["similar", str(v), "a", "--report", str(out)]) == 0
    assert "give --images DIR to see them" in out.read_text()
    # a list shorter than --n, said on the page as on stderr
    assert main(["similar", str(v), "a", "--n", "5", "--report", str(out)]) == 0
    assert "only 3 other items have an image; showing 3 per item, not 5" in out.read_text()
    capsys.readouterr()
    assert main(["similar", str(v), "a", "--images", str(images)]) == 2
    assert "give --report HTML too" in capsys.readouterr().err
    photo = images / "a.png"
    before = photo.read_bytes()
    assert main(["similar", str(v), "a", "--report", str(photo), "--images", str(images)]) == 2
    assert "is the --images photo a.png file" in capsys.readouterr().err
    assert photo.read_bytes() == before


class _ClosedPipe:
    """A stdout whose reader went away (`visrec cluster ... | head -1`)."""

    def __init__(self, keep: int) -> None:
        self.left = keep  # writes that go through before the reader leaves

    def write(self, s: str) -> int:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.left -= 1
        return len(s)

    def flush(self) -> None:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        import io

        raise io.UnsupportedOperation("no fileno")


@pytest.mark.parametrize("keep", [0, 3])
def test_a_closed_stdout_still_writes_the_json_and_the_report(
    keep: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `visrec cluster ... --json --report | head -1` wrote neither file (exit 141)
    import json
    import sys

    v, labels = _write_fixture(tmp_path)
    out, js = tmp_path / "c.html", tmp_path / "c.json"
    argv = ["cluster", str(v), "--labels", str(labels), "--id-col", "id", "--label-col",
            "kind", "--report", str(out), "--json", str(js)]  # fmt: skip
    monkeypatch.setattr(sys, "stdout", _ClosedPipe(keep))
    assert main(argv) == 141
    assert json.loads(js.read_text())["k"] == 3 and "<html" in out.read_text()
    assert isinstance(sys.stdout, _ClosedPipe)  # put back
    # the same for similar
    js.unlink()
    argv = ["similar", str(v), "p1", "--n", "3", "--json", str(js)]
    assert main(argv) == 141
    assert js.is_file()


def test_rating_verdict_when_the_other_models_have_no_rmse() -> None:
    nan = float("nan")
    runs = pd.DataFrame({"model": ["b", "b", "a", "a"], "uses": ["baseline"] * 4,
                         "seed": [0, 1, 0, 1], "rmse": [nan, nan, 0.9, 0.92]})  # fmt: skip
    assert rating_verdict(runs)[-1] == "Lowest RMSE: a, 0.910 stars."
    one = rating_verdict(_rating_runs([0.92], [0.91]))
    assert "sign test" not in one[2] and one[2].endswith("run --seeds 3 or more to call it.")


def test_level_with_uses_the_larger_spread_of_the_two() -> None:
    # best 0.900 (moves 0.001), runner-up 0.905 (moves 0.010): the best is lower on 2
    # of 3 splits only, so the two are level
    from visrec.report.rating import rating_verdict

    best, second = [0.899, 0.900, 0.901], [0.895, 0.905, 0.915]
    rows = []
    for seed, (a, b) in enumerate(zip(second, best, strict=True)):
        rows += [
            {"seed": seed, "model": "item mean", "uses": "baseline", "rmse": 1.03},
            {"seed": seed, "model": "biased MF", "uses": "ratings", "rmse": a},
            {"seed": seed, "model": "biased MF + visual", "uses": "ratings + picture", "rmse": b},
        ]
    lines = rating_verdict(pd.DataFrame(rows))
    assert lines[0].startswith("Lowest RMSE: biased MF + visual, 0.900 stars, level with biased MF")


def test_the_knn_against_the_best_baseline_says_how_steady_the_gap_is() -> None:
    from visrec.report.rating import rating_verdict

    def runs(knn: list[float], item_mean: list[float]) -> pd.DataFrame:
        rows = []
        for seed, (a, b) in enumerate(zip(knn, item_mean, strict=True)):
            rows += [
                {"seed": seed, "model": "item mean", "uses": "baseline", "rmse": b},
                {"seed": seed, "model": "KNN k=3 (image)", "uses": "picture", "rmse": a},
            ]
        return pd.DataFrame(rows)

    # better on average, worse on one split: not said as a plain "better"
    mixed = rating_verdict(runs([1.000, 1.020, 0.990], [1.010, 1.000, 1.005]), "cold-items")
    assert mixed[1] == (
        "The tutorial's KNN on the picture alone: RMSE 1.003, 0.002 better than the best "
        "baseline (item mean, 1.005) on average (better on 2 of 3 splits)."
    )
    one = rating_verdict(runs([1.000], [1.010]), "cold-items")
    assert one[1].endswith("(item mean, 1.010) (one split: no spread to judge the gap by).")
    tied = rating_verdict(runs([1.0, 1.0, 0.9], [0.9, 0.9, 0.9]), "cold-items")
    assert tied[1].endswith("0.067 worse than the best baseline (item mean, 0.900) on average "
                            "(better on 0 of 3 splits, equal on 1).")  # fmt: skip
    # a split the baseline has no RMSE on: the gap is that of the splits both ran
    gap = runs([1.0, 1.0, 0.5], [0.9, 0.9, float("nan")])
    lines = rating_verdict(gap, "cold-items")
    assert lines[1].endswith(
        "0.100 worse than the best baseline (item mean, 0.900), on 2 of 2 splits."
    )
    assert lines[0] == (
        "Lowest RMSE: KNN k=3 (image), 0.833 stars (item mean, 0.900, is lower on the 2 "
        "splits both ran)."
    )
