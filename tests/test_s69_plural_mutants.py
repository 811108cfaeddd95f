"""Session 69: a count of one in notes, progress lines and reports is said in the
singular ("reused 1 vector", "1 of 5 users has", "left out 1 item", "always 1 star"),
where these read "1 vectors", "1 of 5 users have", "1 items", "1 stars".

Each test reaches the text through the code that writes it, on tiny generated inputs.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from test_embed import TinyBackbone
from test_s51_cluster import cluster_page
from tiny_embed import image_folder
from visrec.analysis.rating_eval_inputs import _check_vectors, _clean_ratings
from visrec.analysis.rating_knn import knn_rating
from visrec.cli import main
from visrec.commands.knn_rating import ratings_with_vectors
from visrec.data.images_index import scan_images
from visrec.embed.extract import embed_images
from visrec.embed.store import ItemVectors, write_vectors
from visrec.report.html import ReportData, render_report

FAST = ["--param=epochs=5", "--param=factors=4", "--param=batch_size=16"]


def _ratings(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [f"u{i % 4}" for i in range(n)],
            "item_id": [f"i{i}" for i in range(n)],
            "rating": [1.0 + i % 5 for i in range(n)],
        }
    )


def test_one_rating_without_a_number_is_one_row_left_out() -> None:
    f = _ratings()
    f.loc[0, "rating"] = np.nan
    _, notes = _clean_ratings(f)
    assert notes == ["left out 1 row without a numeric rating"]


def test_one_rating_of_an_item_without_an_image_is_said_in_the_singular() -> None:
    ids = np.array([f"i{i}" for i in range(12)], dtype=object)
    has = np.ones(12, dtype=bool)
    has[3] = False
    vecs = np.ones((12, 2), dtype=np.float32)
    vecs[3] = 0.0
    df, _ = _clean_ratings(_ratings())
    _, notes = _check_vectors(df, ItemVectors(ids, vecs, has), "random", "v")
    assert notes == [
        "1 of 12 ratings is of items without an image: zero vector for the KNN (the "
        "tutorial's behaviour), no visual term for the MF"
    ]


def test_knn_rating_one_row_without_an_image_has_no_image(tmp_path: Path) -> None:
    iv = ItemVectors(
        ids=np.array(["i0", "i1", "i2"]),
        vectors=np.array([[1, 0], [0, 1], [0, 0]], dtype=np.float32),
        has_image=np.array([True, True, False]),
    )
    write_vectors(tmp_path / "v.parquet", iv)
    frame = pd.DataFrame(
        {"user_id": ["u0", "u1", "u2"], "item_id": ["i0", "i1", "i2"], "rating": [1.0, 2, 3]}
    )
    _, _, _, notes = ratings_with_vectors(frame, str(tmp_path / "v.parquet"), "item_id", True)
    assert notes[-1].startswith("1 of 3 rows has no image: kept with an all-zero vector")


def test_one_user_with_a_tie_at_the_latest_time_has_several_items() -> None:
    from visrec.commands.evaluate import _note_latest_ties

    frame = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "c", "c"],
            "item_id": ["x", "y", "z", "x", "y", "x", "z"],
            "timestamp": [1, 2, 2, 1, 2, 1, 2],
        }
    )
    notes: list[str] = []
    said: list[str] = []
    _note_latest_ties(frame, notes, said.append)
    assert notes == [
        "1 of 3 users has several items at their latest time; the later row in the file "
        "is their test item"
    ]


def test_one_item_vector_and_one_row_on_it_are_said_in_the_singular() -> None:
    from visrec.commands.evaluate import _note_vector_coverage

    iv = ItemVectors(np.array(["x"]), np.ones((1, 2), dtype=np.float32), np.array([True]))
    frame = pd.DataFrame({"user_id": ["a", "b"], "item_id": ["x", "y"]})
    args = types.SimpleNamespace(vectors="v.parquet", interactions="t.csv")
    notes: list[str] = []
    said: list[str] = []
    _note_vector_coverage(args, iv, frame, notes, said.append, said.append)
    assert notes == ["v.parquet: 1 item vector; 1 of 2 rows is on an item with an image"]


def test_cluster_keep_that_leaves_out_one_item_says_one_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    n = 21
    ids = np.array([f"i{k}" for k in range(n)])
    x = np.vstack([rng.normal(0, 0.1, (10, 3)), rng.normal(5, 0.1, (11, 3))])
    write_vectors(tmp_path / "v.parquet", ItemVectors(ids, x.astype(np.float32), np.ones(n, bool)))
    labels = ["a"] * 10 + ["b"] * 10 + ["c"]
    pd.DataFrame({"id": ids, "kind": labels}).to_csv(tmp_path / "l.csv", index=False)
    argv = ["cluster", str(tmp_path / "v.parquet"), "--labels", str(tmp_path / "l.csv")]
    argv += ["--id-col", "id", "--label-col", "kind", "--keep", "a,b"]
    assert main([*argv, "--json", str(tmp_path / "r.json")]) == 0
    assert "left out 1 item with other labels" in capsys.readouterr().err


def test_a_cluster_of_one_item_is_headed_one_item(tmp_path: Path) -> None:
    html = cluster_page(tmp_path, pd.DataFrame({"shoe": [6, 0], "bag": [4, 1]}))
    assert "cluster 1 &middot; 1 item &middot; mostly bag (100%)</h3>" in html
    assert "cluster 0 &middot; 10 items &middot;" in html


def test_a_majority_class_of_one_star_is_always_1_star() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (20, 3)), rng.normal(5, 0.1, (20, 3))])
    y = np.array([5.0] * 14 + [1.0] * 6 + [1.0] * 14 + [3.5] * 6)
    data = ReportData(title="t", dataset="d", knn=knn_rating(x, y, k=3), parts=("knn",))
    html = render_report(data)
    assert "majority class (always 1 star)" in html and "always 1 stars" not in html


def _one_image(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    """A folder of one image, the vectors file to embed it to, and embed_images' options."""
    kw: dict[str, Any] = {"backbone": TinyBackbone(), "engine": "torch", "progress": True}
    return image_folder(tmp_path / "imgs", 1), tmp_path / "v.parquet", kw


def test_an_up_to_date_output_of_one_image_reused_1_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, out, kw = _one_image(tmp_path)
    embed_images(scan_images(folder).images, out, **kw)
    capsys.readouterr()
    embed_images(scan_images(folder).images, out, **kw)
    assert f"{out}: up to date, reused 1 vector\n" in capsys.readouterr().err


def test_resuming_with_one_chunk_done_reused_1_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, out, kw = _one_image(tmp_path)
    embed_images(scan_images(folder).images, out, chunk_size=1, **kw)
    image_folder(tmp_path / "more", 1)
    (tmp_path / "more" / "000.jpg").rename(folder / "new.jpg")
    capsys.readouterr()
    res = embed_images(scan_images(folder).images, out, chunk_size=1, **kw)
    assert res.n_reused == 1
    assert "resuming: reused 1 vector, 1 to compute" in capsys.readouterr().err


def test_one_unknown_user_gets_the_popular_list_and_one_row_is_one_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(3)
    rows = {(f"u{u}", f"i{int(i)}") for u in range(40) for i in rng.integers(0, 30, size=6)}
    train = tmp_path / "train.csv"
    pd.DataFrame(sorted(rows), columns=["user_id", "item_id"]).to_csv(train, index=False)
    model = tmp_path / "m"
    argv = ["train", "--model", "bpr", "--interactions", str(train), "-o", str(model), *FAST]
    assert main([*argv, "--quiet"]) == 0
    users = tmp_path / "users.txt"
    users.write_text("u1\nghost\n")
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(model), "-o", str(out), "--users", str(users), "--n", "3"]
    assert main([*argv, "--unknown-users", "popular", "--quiet"]) == 0
    assert (
        "1 of 2 users the model was not trained on gets the candidates most taken in "
        "training, after the others"
    ) in capsys.readouterr().err
    users.write_text("u1\n")
    argv = ["recommend", str(model), "-o", str(out), "--users", str(users), "--n", "1"]
    assert main(argv) == 0
    assert ": 1 row in " in capsys.readouterr().out


def test_similar_on_a_file_with_one_pictured_item_says_it_has_an_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iv = ItemVectors(
        ids=np.array(["a", "c"], dtype=object),
        vectors=np.array([[1, 0], [0, 0]], dtype=np.float32),
        has_image=np.array([True, False]),
        meta={"backbone": "tiny-net"},
    )
    write_vectors(tmp_path / "v.parquet", iv)
    assert main(["similar", str(tmp_path / "v.parquet"), "a", "--n", "1"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "1 of 2 items has an image (tiny-net); cosine similarity, 1 = same direction"


def test_knn_rating_one_repeated_pair_repeats_an_earlier_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_rating_knn import _cli_fixture

    r, v = _cli_fixture(tmp_path)
    frame = pd.read_csv(r)
    pd.concat([frame, frame.iloc[[4]]], ignore_index=True).to_csv(r, index=False)
    assert main(["knn-rating", "--interactions", str(r), "--vectors", str(v)]) == 0
    assert "1 of 88 rows repeats an earlier row's (user, item)" in capsys.readouterr().err


def test_a_split_line_with_one_duplicate_says_one_duplicate() -> None:
    from test_s60_runner_mutants import _dropping_frame, _run

    frame = _dropping_frame()
    notes: list[str] = []
    _run(pd.concat([frame, frame.iloc[[3]]], ignore_index=True), note=notes.append)
    assert notes == [
        "seed 0: 13 train / 3 test rows, 5 candidates; dropped 0 test rows of unknown "
        "users, 1 of unknown items, collapsed 1 duplicate"
    ]


def test_a_finished_stage_of_one_epoch_is_reused_as_1_epoch(tmp_path: Path) -> None:
    from test_s55_checkpoint_output_mutants import _restore, _saved

    _saved(tmp_path, epoch=1)
    _, notes, _ = _restore(tmp_path, epochs=1)
    assert notes == [f"reusing the finished bpr (1 epoch, from {tmp_path / 'bpr.pt'})"]


def test_one_users_list_is_kept_and_resumed_in_the_singular(tmp_path: Path) -> None:
    import hashlib
    import json

    from test_s55_text_progress_mutants import COUNTS, FP
    from visrec.commands import _recs_progress

    target = tmp_path / "recs.csv"
    rows, state = _recs_progress.side_files(target)
    assert _recs_progress.Progress(rows, state, FP, users_done=1).kept(40) == ""  # no state
    data = (_recs_progress.HEADER + "u1,i1,1,0.5\n").encode()
    rows.write_bytes(data)
    rec = {"format": 1, "fp": FP, "users_done": 1, "offset": len(data),
           "sha256": hashlib.sha256(data).hexdigest(), "counts": COUNTS}  # fmt: skip
    state.write_text(json.dumps(rec), encoding="utf-8")
    assert _recs_progress.Progress(rows, state, FP, users_done=1).kept(40) == (
        f"1 of 40 users' lists is kept in {rows}; run the same command again to resume"
    )
    said: list[str] = []
    prog = _recs_progress.start(target, FP, 40, True, said.append)
    assert said == [f"resuming: 1 user's list already written ({rows})"]
    assert prog.users_done == 1
