"""Session 68 mutation audit of ``visrec train`` and ``visrec fetch`` (the commands).

Audited: src/visrec/commands/train.py (27 mutants) and src/visrec/commands/fetch.py
(43 mutants, the command module: earlier fetch audits mostly mutated
visrec.images.fetch). Mutants by exact string replace (a helper's script, then the
lead's rerun of the ones it had no time for); each test below names its mutants.

train: the 8 session 67 left unchecked, re-created from their names (prov_skipped,
ckpt_not_removed, other_states_json, other_states_name, stream_missing, islink_dir,
vec_warn_swap, keep_rating), plus 19 more (interrupt wording, the fit key, streams,
train.json, the other-files list, the clean-up Ctrl-C). All 27 were run against the
old tests (test_s60/s65/s67 train mutants, test_train_checkpoint; test_interop_fixes
for prov_skipped): 22 killed, 5 survived (other_states_json, spread_note, stream_ckpt,
prov_stream_resolved, interrupt_rm_ok), all 5 killed by this file. Equivalent: none.

fetch: 42 run against the old tests (test_fetch, test_s54/s55 fetch mutants,
test_fetch_qa_fixes, test_fetch_interrupt; test_s52_fetch and
test_review_folder_sources for the first 9): 22 killed, 20 survived; this file kills
17 of them (folder_nosort, folder_what_msg, what_reviews_check, distinct_urls,
review_bad_note, meta_bad_note, last_wins, local_wording, maxtime_default_fixed,
cache_exit_status, cache_entry_folder, refused_items_dropped, refused_shown_2,
too_large_any, image_plural, json_written_true, n_urls_keys). Equivalent (4):
all_tried_stopped (``not n_stopped and`` dropped from the every-URL-tried check: a
stopped download is neither kept nor failed, so with one stopped the sum is below the
URL count); not_fetched_default (``"not fetched"`` as ``""``: after a finished fetch
every URL is fetched or failed); first_count_new (``n += 1`` only for ids not seen
before: the loaders already drop an id repeated within a kind, and review ids never
equal asins; likely, not proven); refused_requested (not run; refused URLs handed to
fetch_images too: normalize_url refuses them there before any request, and
_add_refused replaces that error with the one naming the items).

No bug found. Popularity, visual-cf or a 3-epoch tiny bpr; a local HTTP server on
127.0.0.1, or port 9 where nothing listens.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quiet_http import QuietHandler, serving
from test_s50_fetch_mutants import JPEG
from test_s60_train_mutants import _argv, _csv
from visrec.cli import main
from visrec.commands import fetch as fetch_cmd
from visrec.commands import train as train_cmd
from visrec.images import fetch as fetch_mod

CLOSED = "http://127.0.0.1:9"  # nothing listens on port 9


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """``/ok/...``: a JPEG; anything else: 404."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/ok/"):
                self._send(200, JPEG, {"Content-Type": "image/jpeg"})
            else:
                self._send(404, b"?", {"Content-Type": "text/plain"})

    with serving(Handler) as url:
        yield url


def _urls_csv(path: Path, *rows: str) -> Path:
    path.write_text("item_id,url\n" + "".join(f"{r}\n" for r in rows))
    return path


def _fetch(tmp_path: Path, *argv: str) -> int:
    return main(["fetch", *argv, "--cache", str(tmp_path / "c"), "--retries", "0", "-q"])


# ---------------------------------------------------------------- visrec train


def test_other_saved_states_are_named_and_removed_after_the_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutants other_states_json (only .pt files named as another fit's state, not the
    .json of its validation values) and ckpt_not_removed (the state folder left after a
    successful fit)."""
    out = tmp_path / "m"
    ckpt = train_cmd.checkpoint_folder(out)
    ckpt.mkdir()
    (ckpt / "bpr.pt").write_bytes(b"x")
    (ckpt / "reg-trials.json").write_text("[]")
    (ckpt / "notes.txt").write_text("not a state")
    assert main(_argv(_csv(tmp_path), out, "-q")) == 0
    err = capsys.readouterr().err
    assert f"({ckpt}: bpr.pt, reg-trials.json); its command will start over" in err
    assert not ckpt.exists()


def test_a_fit_read_from_a_stream_keeps_no_state_and_names_it_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutants stream_ckpt (the training state of a fit read from a pipe saved, which
    no rerun can match) and prov_stream_resolved (a pipe's name resolved in train.json
    to a /proc path)."""
    from test_train_checkpoint import _interrupt_at
    from visrec.models import _checkpoint

    csv = _csv(tmp_path)
    monkeypatch.chdir(tmp_path)
    stream = "t.csv"  # taken for a pipe below: named as typed, not resolved
    real = train_cmd._is_stream
    monkeypatch.setattr(train_cmd, "_is_stream", lambda p: p == stream or real(p))
    monkeypatch.setattr(_checkpoint, "SAVE_EVERY_S", 0.0)
    out = tmp_path / "m"
    argv = ["train", "--model", "bpr", "--interactions", stream, "-o", str(out), "-q",
            "--param", "epochs=3", "--param", "factors=2", "--param", "reg=0.01",
            "--param", "device=cpu"]  # fmt: skip
    with monkeypatch.context() as mp:
        _interrupt_at(mp, 2)
        assert main(argv) == 130
    assert "interrupted: the interactions came from a pipe" in capsys.readouterr().err
    assert not train_cmd.checkpoint_folder(out).exists()
    assert main(argv) == 0
    data = json.loads((out / "train.json").read_text())
    assert data["interactions"] == stream and csv.exists()


def test_ctrl_c_during_the_clean_up_still_says_the_model_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant interrupt_rm_ok: a Ctrl-C after the model was saved, during the state's
    clean-up, exited 0 as if the run had finished."""

    def pressed(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(train_cmd, "_say_other_states", pressed)
    out = tmp_path / "m"
    assert main(_argv(_csv(tmp_path), out, "-q")) == 130
    assert f"interrupted: the model was written to {out}" in capsys.readouterr().err
    assert (out / "train.json").is_file()


# ---------------------------------------------------------------- visrec fetch


def test_a_folders_amazon_files_are_read_in_name_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutant folder_nosort: a folder's files kept in the order the file system lists
    them (which decides which file's URL an id shared by two files gets)."""
    for name in ("meta_B.json", "meta_A.json", "meta_C.json"):
        (tmp_path / name).write_text("{}\n")
    real = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: iter(sorted(real(self), reverse=True)))
    assert fetch_cmd.source_files([str(tmp_path)], "product-images") == [
        tmp_path / "meta_A.json",
        tmp_path / "meta_B.json",
        tmp_path / "meta_C.json",
    ]


def test_a_folder_without_the_asked_kind_names_the_what(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant folder_what_msg: the error for a folder without the files --what asks for
    no longer says it was --what that ruled the others out."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "AMAZON_FASHION_5.json").write_text('{"reviewerID": "U1", "asin": "B1"}\n')
    assert _fetch(tmp_path, str(tmp_path / "d"), "--what", "product-images") == 2
    err = capsys.readouterr().err
    assert "folder holds no Amazon meta files" in err
    assert err.rstrip().endswith("for --what product-images")


def _review(user: str, when: int, *images: str) -> str:
    photos = f', "image": {json.dumps(list(images))}' if images else ""
    return (
        f'{{"reviewerID": "{user}", "asin": "B1", "unixReviewTime": {when}, "overall": 5'
        f"{photos}}}\n"
    )


def test_a_review_file_that_reaches_nothing_says_what_it_held_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutants distinct_urls (every photo's URL counted as distinct), review_bad_note
    (the bad records of review files unsaid), n_urls_keys (the URLs counted by item),
    kept_swap (a header-only manifest said to be left as it was), image_plural ("0
    image"), json_named_swap (a --json never given named in the note)."""
    reviews = tmp_path / "R_5.json"
    one = f"{CLOSED}/a.jpg"
    reviews.write_text(
        _review("U1", 100, one, f"{CLOSED}/b.jpg")
        + _review("U2", 101, one)
        + _review("U3", 102)
        + "not json\n"
    )
    assert _fetch(tmp_path, str(reviews)) == 1
    cap = capsys.readouterr()
    manifest = tmp_path / "c" / "manifest.csv"
    assert f"wrote {manifest} (0 images)\n" in cap.out
    err = cap.err
    assert "3 reviews, 2 with photos (first photo each; 1 distinct URL)" in err
    assert "bad records: 1 (invalid JSON 1)" in err and f"{reviews.name}:4" in err
    assert "their URL failed ('B1_U1_100', 'B1_U2_101'; --json lists them)" in err
    assert "the only URL could not be fetched (for 2 images;" in err
    assert f"{manifest} holds only its header; if this machine cannot reach them" in err
    assert manifest.read_text().splitlines() == ["item_id,path,url"]


def test_meta_files_that_reach_nothing_leave_the_manifest_and_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutants meta_bad_note (the bad records of meta files unsaid), kept_swap,
    json_written_true (--json said the manifest was written when it was left alone),
    json_named_swap (the --json file not named)."""
    manifest = tmp_path / "c" / "manifest.csv"
    manifest.parent.mkdir()
    manifest.write_text("item_id,path,url\nB9,x.jpg,http://h/x.jpg\n")
    before = manifest.read_text()
    meta = tmp_path / "meta_X.json"
    meta.write_text(f'{{"asin": "B1", "imageURLHighRes": ["{CLOSED}/m.jpg"]}}\nnot json\n')
    report = tmp_path / "j.json"
    assert _fetch(tmp_path, str(meta), "--json", str(report)) == 1
    err = capsys.readouterr().err
    assert "1 meta file: 1 product, 1 with images" in err
    assert "bad records: 1 (invalid JSON 1)" in err and f"{meta.name}:2" in err
    assert f"('B1'; --json {report} lists them all)" in err
    assert f"{manifest} is left as it was" in err
    assert manifest.read_text() == before
    data = json.loads(report.read_text())
    assert data["manifest_written"] is False and data["manifest_rows"] == 0


def test_a_review_file_under_what_product_images_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant what_reviews_check: a review file fetched as review photos though --what
    product-images asked for product images only."""
    reviews = tmp_path / "R_5.json"
    reviews.write_text(_review("U1", 100, f"{CLOSED}/a.jpg"))
    assert _fetch(tmp_path, str(reviews), "--what", "product-images") == 2
    err = capsys.readouterr().err
    assert f"{reviews}: a review file has review photos, not product images" in err
    assert not (tmp_path / "c").exists()


def test_an_item_in_two_manifests_with_one_url_keeps_its_first_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant last_wins: an id listed again with the same URL took the later manifest's
    place, so a failure named the wrong file and line."""
    first = _urls_csv(tmp_path / "one.csv", "x,ftp://h/x.jpg")
    second = _urls_csv(tmp_path / "two.csv", "y,ftp://h/y.jpg", "x,ftp://h/x.jpg")
    assert _fetch(tmp_path, str(first), str(second)) == 1
    out = capsys.readouterr().out
    assert f"item 'x' ({first} line 2)" in out
    assert str(second) + " line 3" not in out


def test_local_paths_in_a_manifest_are_counted_in_the_plural(
    tmp_path: Path, base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant local_wording: "skipped 2 entry that is a local path"."""
    urls = _urls_csv(tmp_path / "u.csv", "a,pics/a.jpg", "b,pics/b.jpg", f"c,{base}/ok/c.jpg")
    assert _fetch(tmp_path, str(urls)) == 0
    err = capsys.readouterr().err
    assert f"{urls}: skipped 2 entries that are local paths (for `visrec embed`" in err


def test_max_time_follows_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant maxtime_default_fixed: --max-time's default taken from the default
    --timeout, not the one given."""
    seen: dict[str, Any] = {}

    def fetch_images(urls: list[str], cache: Path, **kw: Any) -> Any:
        seen.update(kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(fetch_mod, "fetch_images", fetch_images)
    urls = _urls_csv(tmp_path / "u.csv", f"a,{CLOSED}/a.jpg")
    assert _fetch(tmp_path, str(urls), "--timeout", "2") == 130
    assert seen["timeout"] == 2.0
    assert seen["max_time"] == fetch_mod.default_max_time(2.0) != fetch_mod.default_max_time(10)


def test_an_output_named_like_a_cache_image_elsewhere_is_fine(
    tmp_path: Path, base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant cache_entry_folder: any output named by a URL hash refused, wherever it is
    (only a file directly in --cache would replace an image)."""
    urls = _urls_csv(tmp_path / "u.csv", f"a,{base}/ok/a.jpg")
    name = fetch_mod.cache_key(f"{base}/ok/a.jpg") + ".csv"
    out = tmp_path / "elsewhere" / name
    out.parent.mkdir()
    assert _fetch(tmp_path, str(urls), "-o", str(out)) == 0
    assert out.read_text().startswith("item_id,path,url\na,")
    capsys.readouterr()
    inside = tmp_path / "c" / name
    assert _fetch(tmp_path, str(urls), "-o", str(inside)) == 2
    assert "is an image of the --cache" in capsys.readouterr().err


def test_a_refused_url_names_all_its_items_up_to_three(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutants refused_items_dropped (only the first item of a refused URL named),
    refused_shown_2 (two named, "and 2 more"), refused_requested (refused URLs handed to
    the fetcher, whose own failure then hid the items)."""
    bad = "ftp://h/x.jpg"
    urls = _urls_csv(tmp_path / "u.csv", *(f"{k},{bad}" for k in "abcd"))
    assert _fetch(tmp_path, str(urls)) == 1
    out = capsys.readouterr().out
    assert (
        f"invalid url: item 'a' ({urls} line 2), 'b' ({urls} line 3), 'c' ({urls} line 4) "
        "and 1 more:"
    ) in out


def test_a_cache_the_system_refuses_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant cache_exit_status: the --cache error lost the failed call's status (a full
    disk is the system's refusal, exit 1, not a wrong option, exit 2)."""
    import errno

    from visrec.images import fetch as images_fetch

    def full(path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(images_fetch, "probe_writable", full)
    urls = _urls_csv(tmp_path / "u.csv", f"a,{CLOSED}/a.jpg")
    assert _fetch(tmp_path, str(urls), "-o", str(tmp_path / "m.csv")) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --cache: cannot write to ") and "No space left" in err


def test_an_image_over_max_bytes_is_not_blamed_on_ulimit(
    tmp_path: Path, base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant too_large_any: any "too large" failure said to be the file size limit."""
    urls = _urls_csv(tmp_path / "u.csv", f"a,{base}/ok/a.jpg")
    assert _fetch(tmp_path, str(urls), "--max-bytes", "100") == 1
    cap = capsys.readouterr()
    assert "too large" in cap.out
    assert "ulimit" not in cap.err


def test_vectors_that_are_all_one_are_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutant spread_note: the vectors that cannot tell the items apart said only as a
    note."""
    import numpy as np

    from visrec.embed.store import ItemVectors, write_vectors

    vec = tmp_path / "v.parquet"
    ids = np.asarray(["i1", "i2", "i3"])
    write_vectors(vec, ItemVectors(ids, np.ones((3, 4), np.float32), np.ones(3, bool)))
    argv = ["train", "--model", "visual-cf", "--interactions", str(_csv(tmp_path)), "-o",
            str(tmp_path / "m"), "--vectors", str(vec), "-q"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"warning: {vec}: the 3 training items' vectors are all the same" in err
