"""Mutation audit mut71c (session 71) of commit 0da01d1: the fetch-cache note of
``_common._fetch_cache_photos``; ``recommend``'s ``n_new`` tally, its note naming
--new-slots and ``_write_popular``'s note; ``demo.datasets._item_id_col``;
``search.knn._prefixed_hint``.

36 mutants written (one, M36, on a fix below); 18 killed by the old tests
(test_s71_journey, test_s69_s69new_mutants, test_recommend_resume, test_similar); 14
killed after these tests; 4 equivalent:

- ``taken = (score > 0).sum()`` for ``np.isfinite(score).sum()``: a popular score is a
  training pair count, so finite means > 0 (0 is made -inf).
- ``len(i) >= n`` in ``_prefixed_hint``: an id of the asked length ending in it is the
  asked id, which is unknown, so never in the set.
- ``unseen[pos].sum()`` (padding -1 counted too): a list padded short holds every
  candidate left, so a new one is in it and the tally is > 0 either way.
- no ``tally.n_rows`` check in the note's condition: a scored new candidate is in every
  list's reach, so no list is empty, and a --users file that leaves nobody is refused.

Two bugs fixed in ``recommend.py`` (each test fails on the old source):

- the --new-slots note came when the new candidates had no vector (ranked last, not
  scored from a picture; --new-slots does nothing for them, as recommend says when it
  is given): now only when some new candidate was scored (``cands.new_pos``);
  test_no_new_slots_note_when_the_new_candidate_has_no_vector.
- "is in no list" when the new users' popular lists held the new candidate (ranked
  last, -inf): ``_write_popular`` now counts those rows in ``n_new``;
  test_no_new_slots_note_when_a_new_users_list_holds_the_new_candidate (kills M36,
  the count dropped).

Which test kills which mutant:

- ``{len} of {len}`` in the fetch-cache note: test_the_fetch_cache_note_counts_...
- ``not tally.n_new`` (a resumed run's None taken for 0), and no None on a resume:
  test_a_resumed_run_says_nothing_of_new_candidates_it_did_not_count
- no ``len(cands.new_pos)`` check: test_no_new_slots_note_when_the_new_candidate_has_no_vector
- ``n_unseen <= 2`` for the one-candidate wording: test_the_note_counts_several_new_candidates
- ``known_idx <= 0``: test_the_models_first_item_is_not_counted_new
- ``n_new =`` for ``+=``: test_every_batch_counts_its_new_rows
- ``want in names`` for ``spelt_as``: test_demo_finds_item_id_spelt_otherwise_before_sku
- no empty-file check: test_demo_an_empty_items_table_is_the_loaders_error
- a comma for the sniffed separator: test_demo_reads_a_tab_separated_items_table_by_sku
- ``...`` after exactly three: test_three_prefixed_ids_are_named_with_no_ellipsis
- ``unknown[-1]``: test_the_hint_is_of_the_first_unknown_id
- no ``not asked`` check: test_an_empty_id_gets_no_prefixed_hint
- the prefixed hint over the respelt one (killed by test_similar too):
  test_a_respelt_id_keeps_its_hint
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_recommend_resume import _stop_after
from test_s69_s69new_mutants import _cache
from test_s71_journey import _shop_folder
from test_train_recommend_cli import _train
from test_train_recommend_cli import files as files
from visrec.cli import main
from visrec.embed.store import ItemVectors, read_vectors, write_vectors

NOTE = "unseen in training is in no list"
NOTE_MANY = "candidates unseen in training is in any list"


def test_the_fetch_cache_note_counts_the_hashed_files_of_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.commands._common import scan_photos

    cache = _cache(tmp_path, ["shoe", "bag", "hat"], ["cap"], manifest=False)
    scan_photos(str(cache), str(tmp_path / "r.html"), {})
    assert "3 of 4 files are named by a 64-hex hash" in capsys.readouterr().err


def _vectors(files: dict[str, Path], tmp_path: Path, low: dict[str, float]) -> Path:
    """The fixture's vectors with the items of ``low`` set to that value throughout
    (added when not there), and a candidates file m0..m11 plus those items."""
    iv = read_vectors(files["vectors"])
    ids, arr = list(iv.ids), np.array(iv.vectors)
    for item, value in low.items():
        if item not in ids:
            ids.append(item)
            arr = np.vstack([arr, arr[-1:]])
        arr[ids.index(item)] = value
    out = tmp_path / "low.parquet"
    write_vectors(out, ItemVectors(np.asarray(ids), arr, np.ones(len(ids), bool)))
    (tmp_path / "cands.txt").write_text("\n".join([*(f"m{i}" for i in range(12)), *low]) + "\n")
    return out


def _recommend(
    folder: Path, tmp_path: Path, vectors: Path, n: int, *extra: str
) -> tuple[pd.DataFrame, int]:
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(folder), "--n", str(n), "--items", str(tmp_path / "cands.txt")]
    code = main([*argv, "-o", str(out), "--vectors", str(vectors), "--quiet", *extra])
    frame = pd.read_csv(out, dtype=str) if out.is_file() else pd.DataFrame()
    return frame, code


def _err_of(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


def test_no_new_slots_note_when_the_new_candidate_has_no_vector(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ranked last for want of a vector: not scored from a picture, and --new-slots
    # would do nothing for it (recommend says so when it is given)
    folder = _train(files, tmp_path, "visual-cf")
    iv = read_vectors(files["vectors"])
    keep = np.asarray([i != "new" for i in iv.ids])
    vectors = tmp_path / "no_new.parquet"
    write_vectors(
        vectors, ItemVectors(iv.ids[keep], np.array(iv.vectors)[keep], iv.has_image[keep])
    )
    (tmp_path / "cands.txt").write_text("\n".join([*(f"m{i}" for i in range(12)), "new"]) + "\n")
    capsys.readouterr()
    recs, code = _recommend(folder, tmp_path, vectors, 1)
    err = _err_of(capsys)
    assert code == 0 and "new" not in set(recs["item_id"])
    assert "has no image vector" in err  # what is said of it instead
    assert NOTE not in err and "--new-slots K" not in err
    # given --new-slots, recommend says it does nothing: the note must not advise it
    _, code = _recommend(folder, tmp_path, vectors, 1, "--new-slots", "1")
    assert code == 0 and "--new-slots has no effect" in _err_of(capsys)


def test_no_new_slots_note_when_a_new_users_list_holds_the_new_candidate(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _train(files, tmp_path, "visual-cf")
    vectors = _vectors(files, tmp_path, {"new": 0.05})
    (tmp_path / "users.txt").write_text("newbie\n")
    capsys.readouterr()
    users = ["--users", str(tmp_path / "users.txt"), "--unknown-users", "popular"]
    recs, code = _recommend(folder, tmp_path, vectors, 13, *users)
    err = _err_of(capsys)
    assert code == 0 and list(recs["item_id"])[-1] == "new"  # ranked last, but listed
    assert NOTE not in err


def test_the_note_counts_several_new_candidates(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _train(files, tmp_path, "visual-cf")
    vectors = _vectors(files, tmp_path, {"new": 0.05, "new2": 0.05})
    capsys.readouterr()
    recs, code = _recommend(folder, tmp_path, vectors, 1)
    err = _err_of(capsys)
    assert code == 0 and not {"new", "new2"} & set(recs["item_id"])
    assert f"note: none of the 2 {NOTE_MANY}: a new item's score" in err
    assert NOTE not in err


def test_the_models_first_item_is_not_counted_new(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visrec.models.base import Recommender

    folder = _train(files, tmp_path, "visual-cf")
    first = str(Recommender.load(str(folder)).item_map_.ids[0])  # model index 0
    vectors = _vectors(files, tmp_path, {"new": 0.05})
    listed = {}
    for u in (f"u{i}" for i in range(16)):  # a user whose 2 hold index 0, not 'new'
        (tmp_path / "users.txt").write_text(f"{u}\n")
        capsys.readouterr()
        recs, code = _recommend(
            folder, tmp_path, vectors, 2, "--users", str(tmp_path / "users.txt")
        )
        assert code == 0
        listed[u] = set(recs["item_id"])
        if first in listed[u] and "new" not in listed[u]:
            assert NOTE in _err_of(capsys)
            return
    pytest.fail(f"no user lists {first!r} without 'new': {listed}")


def _two_groups(files: dict[str, Path], tmp_path: Path) -> tuple[Path, list[str]]:
    """The model, and recommend's argv for u0 (whose top 1 is 'new', like group A) then
    u8, u9 (whose top 1 is not), a user per batch."""
    folder = _train(files, tmp_path, "visual-cf")
    (tmp_path / "users.txt").write_text("u0\nu8\nu9\n")
    (tmp_path / "cands.txt").write_text("\n".join([*(f"m{i}" for i in range(12)), "new"]) + "\n")
    argv = ["recommend", str(folder), "--n", "1", "--items", str(tmp_path / "cands.txt")]
    argv += ["--vectors", str(files["vectors"]), "--users", str(tmp_path / "users.txt")]
    return folder, [*argv, "--batch-users", "1", "-o", str(tmp_path / "recs.csv"), "--quiet"]


def test_every_batch_counts_its_new_rows(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, argv = _two_groups(files, tmp_path)
    capsys.readouterr()
    assert main(argv) == 0
    recs = pd.read_csv(tmp_path / "recs.csv", dtype=str)
    assert list(recs["item_id"] == "new") == [True, False, False]  # only u0's, the first
    assert NOTE not in capsys.readouterr().err


def test_a_resumed_run_says_nothing_of_new_candidates_it_did_not_count(
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from visrec.commands import _recs_progress

    monkeypatch.setattr(_recs_progress, "SAVE_EVERY_S", 0.0)
    _, argv = _two_groups(files, tmp_path)
    with monkeypatch.context() as m:
        _stop_after(m, 1)  # u0's list, the one holding 'new', written before Ctrl-C
        assert main(argv) == 130
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    recs = pd.read_csv(tmp_path / "recs.csv", dtype=str)
    assert list(recs["item_id"] == "new") == [True, False, False]
    assert NOTE not in err


def test_demo_finds_item_id_spelt_otherwise_before_sku(tmp_path: Path) -> None:
    from visrec.demo.datasets import load_demo_dataset

    folder = _shop_folder(tmp_path, "sku,category,Item ID")
    assert load_demo_dataset(folder).labels == {"x": "Shoes", "y": "Bags"}


def test_demo_an_empty_items_table_is_the_loaders_error(tmp_path: Path) -> None:
    from visrec.demo.datasets import load_demo_dataset
    from visrec.errors import VisrecError

    folder = _shop_folder(tmp_path, "sku,category,name")
    (folder / "items.csv").write_text("")
    with pytest.raises(VisrecError, match="file is empty, expected an item table"):
        load_demo_dataset(folder)


def test_demo_reads_a_tab_separated_items_table_by_sku(tmp_path: Path) -> None:
    from visrec.demo.datasets import load_demo_dataset

    folder = _shop_folder(tmp_path, "sku,category,name")
    (folder / "items.csv").write_text("sku\tcategory\nSKU-1\tShoes\nSKU-2\tBags\n")
    assert load_demo_dataset(folder).labels == {"SKU-1": "Shoes", "SKU-2": "Bags"}


def _unknown(ids: list[str], asked: str | list[str]) -> str:
    from small_vectors import item_vectors
    from visrec.errors import VisrecError
    from visrec.search.knn import SimilarItems

    index = SimilarItems(item_vectors(ids, [[1.0, float(i)] for i in range(len(ids))]))
    with pytest.raises(VisrecError) as err:
        index.query(asked)
    return str(err.value)


def test_three_prefixed_ids_are_named_with_no_ellipsis() -> None:
    got = _unknown(["A-7", "B-7", "C/7", "E7"], "7")
    assert got.endswith("(it has 'A-7', 'B-7', 'C/7': ids are compared whole)")


def test_a_respelt_id_keeps_its_hint() -> None:
    # '007' asked, '7' there (and 'SKU-007' too): the respelt one is named
    got = _unknown(["7", "SKU-007"], "007")
    hint = "(it has '7'; ids are compared as written)"
    assert got == f"unknown item id '007': not in the vectors file {hint}"


def test_the_hint_is_of_the_first_unknown_id() -> None:
    got = _unknown(["SKU-17570", "SKU-2"], ["17570", "zzz"])
    assert "(it has 'SKU-17570': ids are compared whole)" in got
    assert got.startswith("unknown item id '17570'")


def test_an_empty_id_gets_no_prefixed_hint() -> None:
    got = _unknown(["a-", "b"], "")
    assert got == "unknown item id '': not in the vectors file"
