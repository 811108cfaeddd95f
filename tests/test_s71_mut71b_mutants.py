"""Mutation audit mut71b (session 71, part 2 of the audit of this session's code).

Audited: commands/_output_paths.py (refuse_foreign_output, _not_format,
has_other_links), recommend.py _refuse_foreign_recs, features.py's -o check, fetch.py's
reordered output checks; the spaced-id notes (data/row_reasons.py spaced_note and
spaced_ids_note, interaction_rows.py _spaced_note and _merged_by_spaces' mask,
item_tables.py, images_index.py read_manifest_rows, _recs_inputs.py read_id_list,
load_result.py notes, embed/store.py _stripped and _NOTED); _common.py low_ratings_note
and load_interactions_frame's peek_rating, with train.py's use; _interrupt.held and
engines.py's use of it.

46 mutants written; 19 killed by the old tests (test_s71_writeguard, test_s71_idspace,
test_s71_review, test_s71_ctrlc, test_s64_outpaths_mutants, test_s65_introws_mutants,
test_fs_review_fixes and the other loader tests); 42 killed once these tests were added;
4 equivalent:
- has_other_links returning True on OSError: every caller has just found a regular file
  there (isfile / is_file), so the stat only fails in a race.
- features' os.path.isfile -> os.path.exists: a folder is refused before
  (check_output_file), and a pipe or device has size 0, which skips the check anyway.
- peek_rating without ``rating_col is None``: with ids_only and no keep_rating, a
  --rating-col was set to None just above (the "not read here" note).
- train keeping the rating column: the frame is only used as frame[[USER, ITEM]] after.

Which test kills which mutant:
- a named pipe is not opened: _not_format without its isfile check; recommend's without
  is_file.
- a link to a photo / P.JPG: only the link's suffix looked at; suffixes not lower-cased.
- JSON lines with a long first line: the head read cut to 64 bytes.
- a list written otherwise: recommend's header not lower-cased; blank lines above the
  header not skipped.
- fetch names a cache entry before its bytes: the check order of fetch reverted.
- a long spaced id cut short: spaced_ids_note's 40-character cut dropped.
- an item table counts a spaced id once: spaced_note without dict.fromkeys.
- a spaced id only on a dropped row: interaction rows' ``& keep`` dropped; item parquet
  without ``kept``.
- item ids joined when user ids have none: _merged_by_spaces given the user mask.
- MovieLens items: u.item's spaced ids not collected.
- a quoted candidate: read_id_list's written id taken from the whole line.
- a blank vector id named as blank: _stripped also stripping blank ids.
- a row group without a file name: the note said for source "".
- binary vector ids: binary/float ids not stripped.
- low_ratings_note: a 0 rating taken as no star scale; "1 row are rated".
- each signal held once, in order: only the first replayed; every repeat replayed.
- a default-action signal is not held: handlers that are not Python's replaced too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from visrec import _interrupt
from visrec.commands._common import low_ratings_note
from visrec.commands._output_paths import refuse_foreign_output
from visrec.data.item_tables import load_item_table
from visrec.data.row_reasons import spaced_note
from visrec.data.tables import load_interactions
from visrec.embed import store
from visrec.errors import VisrecError

JPEG = b"\xff\xd8\xff\xe0 jpeg"


def _refuse_foreign_recs(output: str) -> None:
    """recommend's -o check, moved into _output_paths in session 72."""
    refuse_foreign_output(output, "-o", "recommendations CSV")


# ------------------------------------------------------------- the output guard
def _returns_without_waiting(check: Callable[[], None], fifo: Path) -> bool:
    """Whether ``check`` ends without opening the named pipe ``fifo`` (opened, it would
    wait for a writer: a writer is then opened to let it go)."""
    t = threading.Thread(target=check, daemon=True)
    t.start()
    t.join(5)
    if t.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # the reader it waits on
        os.close(fd)
        t.join(5)
        return False
    return True


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_as_output_is_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    assert _returns_without_waiting(lambda: refuse_foreign_output(fifo, "--json", "JSON"), fifo)
    assert _returns_without_waiting(lambda: _refuse_foreign_recs(str(fifo)), fifo)


def test_a_link_to_a_photo_is_left_to_the_input_check(tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(JPEG)
    link = tmp_path / "out.json"
    link.symlink_to(photo)
    refuse_foreign_output(link, "--json", "JSON")  # the photo's own check names it
    upper = tmp_path / "P.JPG"  # a camera's name
    upper.write_bytes(JPEG)
    refuse_foreign_output(upper, "--json", "JSON")
    other = tmp_path / "photo.data"  # not named as a photo: its bytes tell
    other.write_bytes(JPEG)
    with pytest.raises(VisrecError, match="it is an image"):
        refuse_foreign_output(other, "--json", "JSON")


def test_json_lines_with_a_long_first_line_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "reviews.json"
    first = '{"review": "' + "good " * 200 + '"}'
    p.write_text(first + "\n" + '{"review": "bad"}\n')
    with pytest.raises(VisrecError, match="several JSON documents"):
        refuse_foreign_output(p, "--json", "JSON")


@pytest.mark.parametrize(
    "content",
    [
        b"USER_ID,ITEM_ID,RANK,SCORE\nu1,i1,1,0.5\n",  # upper-cased by a spreadsheet
        b"\n\nuser_id,item_id,rank,score\nu1,i1,1,0.5\n",  # blank lines above the header
    ],
)
def test_a_list_of_recommendations_written_otherwise_is_replaced(
    content: bytes, tmp_path: Path
) -> None:
    p = tmp_path / "recs.csv"
    p.write_bytes(content)
    _refuse_foreign_recs(str(p))
    p.write_bytes(content.replace(b"rank,score", b"rating,t").replace(b"RANK,SCORE", b"R,T"))
    with pytest.raises(VisrecError, match="is not a list of recommendations"):
        _refuse_foreign_recs(str(p))


def test_fetch_names_a_cache_entry_before_judging_its_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.cli import main

    cache = tmp_path / "cache"
    cache.mkdir()
    entry = cache / f"{'0b' * 32}.json"  # named by a URL's hash: the cache's
    entry.write_bytes(JPEG)
    urls = tmp_path / "urls.csv"
    urls.write_text("item_id,url\nx,http://127.0.0.1:9/x.jpg\n")
    assert main(["fetch", str(urls), "--cache", str(cache), "--json", str(entry)]) == 2
    err = capsys.readouterr().err
    assert "is an image of the --cache" in err and "it is an image)" not in err
    assert entry.read_bytes() == JPEG


# ------------------------------------------------------------- spaced ids
def test_item_ids_joined_by_their_spaces_are_said_when_user_ids_have_none(
    tmp_path: Path,
) -> None:
    p = tmp_path / "data.csv"
    p.write_text("user_id,item_id\nu1, i1\nu2,i1\n")
    res = load_interactions(p)
    assert list(res.frame.item_id) == ["i1", "i1"]
    joined = [w for w in res.warnings if w.kind == "item ids joined"]
    assert len(joined) == 1 and "' i1', 'i1'" in joined[0].reason
    assert not [w for w in res.warnings if w.kind == "user ids joined"]


def test_a_long_spaced_id_is_shown_cut_short() -> None:
    long_id = "x" * 60
    note = spaced_note("item", [" " + long_id])
    assert note is not None
    raw, bare = " " + long_id, long_id
    assert f"({raw[:37] + '...'!r} is read as {bare[:37] + '...'!r})" in note
    assert long_id not in note


def test_an_item_table_counts_a_spaced_id_once_however_often_written(tmp_path: Path) -> None:
    p = tmp_path / "items.csv"
    p.write_text("item_id,genre\n i1,a\n i1,b\ni2,c\n")
    res = load_item_table(p, id_col="item_id", label_col="genre")
    assert res.notes == ["1 item id had spaces around it, removed (' i1' is read as 'i1')"]


def test_a_spaced_id_only_on_a_dropped_row_is_not_said(tmp_path: Path) -> None:
    p = tmp_path / "data.csv"
    p.write_text("user_id,item_id\n u9,\nu1,i1\nu2,i2\n")
    res = load_interactions(p)
    assert list(res.frame.user_id) == ["u1", "u2"]
    assert res.notes == []
    assert not [ln for ln in res.report_lines(p) if "spaces around" in ln]
    q = tmp_path / "items.parquet"
    pd.DataFrame({"item_id": ["   ", "i1", "i2 "], "genre": ["a", "b", "c"]}).to_parquet(q)
    res = load_item_table(q, id_col="item_id", label_col="genre")
    assert list(res.frame.item_id) == ["i1", "i2"]
    assert res.notes == ["1 item id had spaces around it, removed ('i2 ' is read as 'i2')"]


def test_movielens_items_say_spaced_ids(tmp_path: Path) -> None:
    p = tmp_path / "u.item"
    flags = "|".join(["0"] * 19)
    p.write_text(
        f" 1|Toy Story (1995)|01-Jan-1995||http://x|{flags}\n"
        f"2|GoldenEye (1995)|01-Jan-1995||http://y|{flags}\n"
    )
    res = load_item_table(p)
    assert list(res.frame.item_id) == ["1", "2"]
    assert res.notes == ["1 item id had spaces around it, removed (' 1' is read as '1')"]


def test_a_quoted_candidate_with_spaces_inside_the_quotes_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.commands._recs_inputs import read_candidates

    c = tmp_path / "cands.txt"
    c.write_text('" i1"\n"i2"\n')
    assert read_candidates(str(c)) == ["i1", "i2"]
    err = capsys.readouterr().err
    assert f"note: {c}: 1 item id had spaces around it, removed (' i1' is read as 'i1')" in err


def test_vector_ids_stored_as_binary_lose_their_spaces_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v = tmp_path / "v.parquet"
    ids = pa.array([b" i1", b"i2"], type=pa.binary())
    vec = pa.array([[1.0, 0.0], [0.0, 1.0]], type=pa.list_(pa.float32()))
    pq.write_table(pa.table({"item_id": ids, "vector": vec}), v)
    assert list(store.read_vectors(v).ids) == ["i1", "i2"]
    assert "1 item id had spaces around it, removed" in capsys.readouterr().err


def test_a_row_group_without_a_file_name_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert store._stripped([" a", "b"], "") == ["a", "b"]
    assert capsys.readouterr().err == ""


def test_a_blank_vector_id_is_named_as_blank(tmp_path: Path) -> None:
    v = tmp_path / "v.parquet"
    vec = pa.array([[1.0, 0.0], [0.0, 1.0]], type=pa.list_(pa.float32()))
    pq.write_table(pa.table({"item_id": ["i1", "   "], "vector": vec}), v)
    with pytest.raises(VisrecError) as exc:
        store.read_vectors(v)
    assert "row 2 has a blank item_id ('   ')" in str(exc.value)  # as written


# ------------------------------------------------------------- train's low-ratings note
def test_low_ratings_note_counts_zero_stars_and_one_row_in_the_singular() -> None:
    zero = low_ratings_note(pd.Series([0.0, 5.0, 4.0, 0.5]))
    assert zero is not None and zero.startswith("note: 2 rows are rated 2 or lower;")
    one = low_ratings_note(pd.Series([1.0, 5.0, 4.0]))
    assert one is not None and one.startswith("note: 1 row is rated 2 or lower;")
    assert low_ratings_note(pd.Series([-1.0, 5.0])) is None  # not a star scale


# ------------------------------------------------------------- _interrupt.held
@pytest.fixture()
def _own_handlers() -> Iterator[list[int]]:
    calls: list[int] = []
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in old:
        signal.signal(s, lambda signum, frame: calls.append(signum))
    yield calls
    for s, h in old.items():
        signal.signal(s, h)


def test_each_signal_held_runs_its_handler_once_in_order(_own_handlers: list[int]) -> None:
    with _interrupt.held():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert _own_handlers == []  # noted only
    assert _own_handlers == [signal.SIGINT, signal.SIGTERM]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_signal_left_to_its_default_action_is_not_held(tmp_path: Path) -> None:
    code = (
        "import os, signal\n"
        "from visrec import _interrupt\n"
        "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
        "with _interrupt.held():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    print('went on', flush=True)\n"
    )
    src = os.path.dirname(os.path.dirname(_interrupt.__file__))  # this visrec's
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == -signal.SIGTERM
    assert done.stdout == ""
