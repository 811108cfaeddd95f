"""Tests for lines a branch-coverage audit of the suite found never run: each pins a
message or result a user can reach (session 40's coverage audit)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from visrec.cli import main


def _ratings_csv(path: Path, n_users: int = 6, n_items: int = 5) -> Path:
    rows = [
        f"u{u},i{i},{(u + i) % 5 + 1}\n"
        for u in range(1, n_users + 1)
        for i in range(1, n_items + 1)
    ]
    path.write_text("user_id,item_id,rating\n" + "".join(rows))
    return path


# --- option ranges checked in the command, not by argparse -------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--k", "0"], "error: --k must be at least 1, got 0\n"),
        (["--test-size", "1.5"], "error: --test-size must be between 0 and 1, got 1.5\n"),
        (["--test-size", "0"], "error: --test-size must be between 0 and 1, got 0.0\n"),
    ],
)
def test_evaluate_refuses_an_out_of_range_k_or_test_size(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # commands/evaluate.py: `--k 0` would give empty lists and NaN metrics
    csv = _ratings_csv(tmp_path / "r.csv")
    assert main(["evaluate", "--interactions", str(csv), *flags]) == 2
    assert capsys.readouterr().err == message


@pytest.mark.parametrize("command", ["knn-rating", "rating-eval"])
@pytest.mark.parametrize("size", ["0", "1"])
def test_rating_commands_refuse_a_test_size_outside_0_1(
    command: str, size: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _ratings_csv(tmp_path / "r.csv")
    argv = [command, "--interactions", str(csv), "--test-size", size]
    if command == "knn-rating":
        argv += ["--vectors", str(tmp_path / "v.parquet")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"error: --test-size must be between 0 and 1, got {float(size)}\n"


def test_rating_eval_needs_a_rating_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "clicks.csv"
    csv.write_text("user_id,item_id\nu1,i1\nu2,i2\nu3,i1\n")
    assert main(["rating-eval", "--interactions", str(csv)]) == 2
    assert capsys.readouterr().err == (
        f"error: {csv}: no rating column, which rating-eval needs; a rating column of another "
        "name is read with --rating-col NAME\n"
    )


def test_embed_refuses_both_an_images_folder_and_a_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "imgs").mkdir()
    manifest = tmp_path / "m.csv"
    manifest.write_text("item_id,path\na,x.jpg\n")
    argv = ["embed", str(tmp_path / "imgs"), "--manifest", str(manifest)]
    assert main([*argv, "-o", str(tmp_path / "v.parquet")]) == 2
    assert capsys.readouterr().err == "error: give exactly one of IMAGES_DIR or --manifest CSV\n"
    assert not (tmp_path / "v.parquet").exists()


# --- visrec report: a JSON file that is not an evaluate result -------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[1, 2]\n", "(expected a JSON object)"),
        (
            '{"protocol": 3, "k": 10, "runs": [{"model": "popularity"}]}\n',
            "('protocol' is 3, not one of warm, time, cold-items)",
        ),
    ],
)
def test_report_names_why_a_json_file_is_not_an_evaluate_result(
    text: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "res.json"
    src.write_text(text)
    html = tmp_path / "rep.html"
    assert main(["report", str(src), "-o", str(html)]) == 2
    assert capsys.readouterr().err == (
        f"error: {src}: not a result of `visrec evaluate --json` {why}\n"
    )
    assert not html.exists()


# --- visrec fetch --what --------------------------------------------------------------


def test_fetch_product_images_refuses_a_review_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = tmp_path / "reviews_Toys.json.gz"
    line = {"reviewerID": "u1", "asin": "A1", "overall": 5.0, "images": ["http://x/1.jpg"]}
    with gzip.open(reviews, "wt") as fh:
        fh.write(json.dumps(line) + "\n")
    argv = ["fetch", str(reviews), "--what", "product-images", "--cache", str(tmp_path / "c")]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"error: {reviews}: a review file has review photos, not product images "
        "(drop --what or use --what review-photos)\n"
    )


# --- visrec data summary ----------------------------------------------------------------


def _movielens(folder: Path, genre_file: bool) -> Path:
    folder.mkdir()
    (folder / "u.data").write_text("1\t10\t5\t100\n2\t20\t4\t200\n1\t20\t3\t300\n")
    # three genre flags each: the columns u.genre names, not the 19 of ML-100K
    (folder / "u.item").write_text(
        "10|Toy Story (1995)|01-Jan-1995||http://x|0|1|0\n"
        "20|GoldenEye (1995)|01-Jan-1995||http://y|1|0|0\n"
        "30|Four Rooms (1995)|01-Jan-1995||http://z|0|0|1\n"
    )
    if genre_file:
        (folder / "u.genre").write_text("unknown|0\nAction|1\nAdventure|2\n\n")
    return folder


def test_u_genre_beside_u_item_names_its_genre_columns(tmp_path: Path) -> None:
    from visrec.data.item_tables import load_item_table

    res = load_item_table(_movielens(tmp_path / "ml", genre_file=True) / "u.item")
    assert not res.bad
    assert res.frame["item_id"].tolist() == ["10", "20", "30"]
    assert res.frame["genre"].tolist() == ["Action", "unknown", "Adventure"]


def test_u_item_without_u_genre_expects_the_19_ml100k_genres(tmp_path: Path) -> None:
    from visrec.data.item_tables import load_item_table

    res = load_item_table(_movielens(tmp_path / "ml", genre_file=False) / "u.item")
    assert len(res.frame) == 0
    assert [b.reason for b in res.bad] == ["expected 24 '|'-separated fields, got 8"] * 3


def test_summary_of_a_movielens_folder_counts_its_item_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _movielens(tmp_path / "ml", genre_file=True)
    out = tmp_path / "s.json"
    assert main(["data", "summary", str(folder), "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "   items in the item table                  3" in lines
    section = json.loads(out.read_text())["sections"][0]
    assert section["catalogue_items"] == 3
    assert section["items"] == 2


def test_summary_lists_20_categories_and_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"{i},Men,cat{i},Top,T,Shirt {i}\n" for i in range(1, 26)]
    rows += ["26,Men,cat1,Top,T,Shirt 26\n", "27,Men,,Top,T,Shirt 27\n"]
    styles = tmp_path / "styles.csv"
    styles.write_text("id,gender,masterCategory,subCategory,articleType,productDisplayName\n")
    with styles.open("a") as fh:
        fh.writelines(rows)
    out = tmp_path / "s.json"
    assert main(["data", "summary", str(styles), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "     ... and 5 more\n" in text
    assert "cat21" not in text
    section = json.loads(out.read_text())["sections"][0]
    assert len(section["categories"]) == 20
    assert section["categories_not_shown"] == 5
    assert section["items_without_category"] == 1


def test_summary_of_an_amazon_meta_file_given_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # summary.py: a meta_ file named on the command line (not a folder holding it)
    meta = tmp_path / "meta_Toys.json.gz"
    products = [
        {"asin": "A1", "title": "Ball", "imageURL": ["http://x/a1.jpg"]},
        {"asin": "A2", "title": "Kite", "imageURL": []},
    ]
    with gzip.open(meta, "wt") as fh:
        fh.writelines(json.dumps(p) + "\n" for p in products)
    out = tmp_path / "s.json"
    assert main(["data", "summary", str(meta), "--json", str(out)]) == 0
    section = json.loads(out.read_text())["sections"][0]
    assert section["kind"] == "Amazon metadata"
    assert section["items"] == 2
    assert section["items_with_image_urls"] == 1


# --- visrec train --no-resume -------------------------------------------------------------


def test_train_no_resume_removes_a_saved_training_state_and_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_train_checkpoint import _interrupt_at, _write_train_csv, dense_data
    from visrec.commands.train import checkpoint_folder
    from visrec.models import _checkpoint

    train = tmp_path / "train.csv"
    _write_train_csv(dense_data()[0], train)
    out = tmp_path / "model"
    argv = ["train", "--model", "bpr", "--interactions", str(train), "-o", str(out),
            "--param", "epochs=6", "--quiet"]  # fmt: skip
    monkeypatch.setattr(_checkpoint, "SAVE_EVERY_S", 0.0)
    with monkeypatch.context() as mp:
        _interrupt_at(mp, 5)
        assert main(argv) == 130
    assert checkpoint_folder(out).is_dir()
    capsys.readouterr()

    # the state would be resumed by the same command; --no-resume removes it first
    with monkeypatch.context() as mp:
        calls = {"n": 0}
        from visrec.models import _train

        real = _train._epoch

        def counted(*args: object, **kwargs: object) -> None:
            calls["n"] += 1
            real(*args, **kwargs)  # type: ignore[arg-type]

        mp.setattr(_train, "_epoch", counted)
        assert main([*argv, "--no-resume"]) == 0
    captured = capsys.readouterr()
    assert "resuming" not in captured.err
    assert "(the resumed part)" not in captured.out
    assert calls["n"] == 6  # all six epochs, not the last two
    assert json.loads((out / "train.json").read_text())["fit_resumed"] is False
    assert not checkpoint_folder(out).exists()


# --- embed: the failure listing is cut ----------------------------------------------------


def test_embed_lists_the_first_50_failures_and_counts_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_embed import _tiny_cli_embed
    from tiny_embed import image_folder

    _tiny_cli_embed(monkeypatch)
    imgs = image_folder(tmp_path / "imgs", 1)
    for i in range(53):
        (imgs / f"bad{i:02d}.jpg").write_bytes(b"not a picture")
    out = tmp_path / "v.parquet"
    assert main(["embed", str(imgs), "-o", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "failed images (53; zero vector, has_image=false):" in err
    listed = [ln for ln in err if ln.startswith("  bad")]
    assert len(listed) == 50
    assert listed[0].startswith("  bad00.jpg (item bad00): ")
    assert err[err.index(listed[-1]) + 1] == "  ... and 3 more (--json JSON lists all)"
    assert pd.read_parquet(out)["has_image"].sum() == 1


# --- Python API --------------------------------------------------------------------------


def test_exclude_pairs_twice_keeps_the_first_pairs_and_counts_only_new_ones() -> None:
    # models/base.py _blocked_matrix: a second call merges with the pairs already excluded
    from visrec.data.interactions import Interactions
    from visrec.models.registry import make_model

    frame = pd.DataFrame(
        {"user_id": ["a", "a", "b", "b", "c"], "item_id": ["x", "y", "y", "z", "w"]}
    )
    model = make_model("popularity").fit(Interactions.from_frame(frame))
    assert model.recommend([0], n=4)[0].tolist() == [[2, 3, -1, -1]]  # z, w for user a
    assert model.exclude_pairs([0], [2]) == 1
    assert model.exclude_pairs([0, 0], [2, 3]) == 1  # (a, z) is excluded already
    assert model.exclude_pairs([0], [0]) == 0  # a training pair
    assert model.recommend([0], n=4)[0].tolist() == [[-1, -1, -1, -1]]
    assert model.excluded_.nnz == 2


def test_dir_of_the_package_lists_its_lazy_exports() -> None:
    import visrec

    names = dir(visrec)
    assert {"Interactions", "ItemVectors", "make_model", "run_experiment"} <= set(names)
    assert names == sorted(names)


def test_an_unreadable_saved_step_is_redone_with_a_note(tmp_path: Path) -> None:
    from visrec.models._checkpoint import Checkpoint, load_values, save_values

    said: list[str] = []
    ckpt = Checkpoint(folder=tmp_path, key="k1", every_s=0.0, log=said.append)
    save_values(ckpt, "reg-trial-0", [0.5, 0.25])
    assert load_values(ckpt, "reg-trial-0", 2) == [0.5, 0.25]
    assert said == [f"reusing reg-trial-0 (from {tmp_path / 'reg-trial-0.json'})"]
    said.clear()
    (tmp_path / "reg-trial-0.json").write_bytes(b"\xff\xfe{not json")
    assert load_values(ckpt, "reg-trial-0", 2) is None
    assert said == [f"note: {tmp_path / 'reg-trial-0.json'}: unreadable, redoing reg-trial-0"]
    (tmp_path / "reg-trial-0.json").write_text("[0.5, 0.25]")  # JSON, but not ours
    assert load_values(ckpt, "reg-trial-0", 2) is None
    assert len(said) == 1


@pytest.mark.parametrize(
    ("protocol", "users", "items", "why"),
    [
        ("warm", 0, 3, "every test row was dropped: 3 on items with no training row"),
        (
            "warm",
            2,
            3,
            "every test row was dropped: 2 by users with no training row, "
            "3 on items with no training row",
        ),
        ("cold", 0, 0, "no test row left"),
        (
            "time",
            0,
            0,
            "no user has 2 or more interactions to split (a single one stays in training)",
        ),
    ],
)
def test_why_a_seed_has_no_test_row(protocol: str, users: int, items: int, why: str) -> None:
    from visrec.evaluation.runner import _why_no_test

    assert _why_no_test(protocol, {"n_dropped_users": users, "n_dropped_items": items}) == why


def test_a_windows_1252_file_keeps_the_five_bytes_it_leaves_undefined(tmp_path: Path) -> None:
    # text_files._undefined_as_latin1: 0x81 (undefined in Windows-1252) next to 0x80 ('€')
    from visrec.data.tables import load_interactions

    csv = tmp_path / "w.csv"
    csv.write_bytes(b"user_id,item_id\nu1,caf\xe9\x81\nu2,\x80x\n")
    res = load_interactions(csv)
    assert res.frame["item_id"].tolist() == ["caf\xe9\x81", "\u20acx"]
    assert [w.kind for w in res.warnings] == ["not UTF-8"]


def test_amazon_reviews_with_a_nan_or_infinite_rating_are_bad_records(tmp_path: Path) -> None:
    from visrec.data.amazon import load_amazon_reviews

    path = tmp_path / "reviews_Toys.json.gz"
    base = {"unixReviewTime": 1_400_000_000}
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps({**base, "reviewerID": "u1", "asin": "A1", "overall": 5.0}) + "\n")
        fh.write('{"unixReviewTime": 1400000000, "reviewerID": "u2", "asin": "A2", '
                 '"overall": NaN}\n')  # fmt: skip
        fh.write(json.dumps({**base, "reviewerID": "u3", "asin": "A3", "overall": "inf"}) + "\n")
    res = load_amazon_reviews(path)
    assert res.frame["item_id"].tolist() == ["A1"]
    assert [(b.line, b.kind, b.reason) for b in res.bad] == [
        (2, "non-numeric rating", "'overall' is nan, expected a finite number"),
        (3, "non-numeric rating", "'overall' is 'inf', expected a finite number"),
    ]


def test_amazon_meta_with_an_asin_that_is_not_a_string_is_a_bad_record(tmp_path: Path) -> None:
    from visrec.data.amazon import load_amazon_meta

    path = tmp_path / "meta_Toys.json.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps({"asin": "A1", "title": "x", "imageURL": ["http://a/1.jpg"]}) + "\n")
        fh.write(json.dumps({"asin": ["A2"], "title": "y"}) + "\n")
    res = load_amazon_meta(path)
    assert res.frame["item_id"].tolist() == ["A1"]
    assert [(b.line, b.kind, b.reason) for b in res.bad] == [
        (2, "bad asin", "'asin' is [\"A2\"], expected a string id")
    ]


# --- HTTPS downloads (every Amazon image URL): the TLS connection under the watchdog -------


@pytest.fixture
def https_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local HTTPS server (a self-signed certificate made with ``openssl``; the client's
    default context does not verify it): ``/pic.jpg`` answers 5 bytes, ``/stall.jpg``
    sends its headers and 1 byte of 10, then nothing."""
    import shutil
    import ssl
    import subprocess
    import threading
    import time
    from http.server import BaseHTTPRequestHandler

    from quiet_http import QuietServer

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            stall = self.path == "/stall.jpg"
            self.send_response(200)
            self.send_header("Content-Length", "10" if stall else "5")
            self.end_headers()
            self.wfile.write(b"x" if stall else b"hello")
            self.wfile.flush()
            if stall:
                time.sleep(5)

    srv = QuietServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setattr(ssl, "_create_default_https_context", ssl._create_unverified_context)
    try:
        yield f"https://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_an_https_url_is_downloaded(https_base: str) -> None:
    from visrec.images.http_get import download

    assert download(f"{https_base}/pic.jpg", 5.0, 1000, 10.0) == b"hello"


def test_an_https_download_that_stalls_stops_at_max_time(https_base: str) -> None:
    import time

    from visrec.images.http_get import FetchError, download

    t0 = time.monotonic()
    with pytest.raises(FetchError) as exc:
        download(f"{https_base}/stall.jpg", 30.0, 1000, 1.0)
    assert time.monotonic() - t0 < 4.0  # not the 30 s read timeout
    assert str(exc.value).endswith("download not finished within 1s (max_time)")
