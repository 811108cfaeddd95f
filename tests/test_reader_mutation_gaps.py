"""Reader and writer behaviour that an outside mutation audit found no test pinning down:
an ``--items`` header line, Excel's ``sep=`` line beside a header holding the other
separator, JSON tables with a rating, which spelling of an id a note names, Parquet
part folders, repeated headers, corrupt compressed files named by their suffix, the
count of joined BOMs, and model folders whose previous copy cannot be removed."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from visrec.cli import main
from visrec.commands import train as train_cmd
from visrec.commands._recs_inputs import read_candidates
from visrec.data.id_spelling import respelt
from visrec.data.images_index import load_manifest
from visrec.data.item_tables import load_item_table
from visrec.data.summary import summarize
from visrec.data.tables import load_interactions
from visrec.embed.store import ItemVectors, write_vectors
from visrec.errors import VisrecError
from visrec.models import _checkpoint

FAST = ["--param=epochs=2", "--param=factors=4", "--param=batch_size=16"]


# ------------------------------------------------------------------ --items header
def test_a_quoted_item_id_header_is_skipped_over_bare_ids(tmp_path: Path) -> None:
    # a csv writer quoting its header only: '"item_id"' is the header, not a candidate
    p = tmp_path / "cands.txt"
    p.write_text('"item_id"\nB01\n0012\n')
    assert read_candidates(str(p)) == ["B01", "0012"]


# ------------------------------------------------------------------ Excel sep= line
def test_excels_sep_line_wins_over_a_header_holding_the_other_separator(
    tmp_path: Path,
) -> None:
    # a column name with three ';' in a 'sep=,' file: still read comma-separated
    p = tmp_path / "inter.csv"
    p.write_text("sep=,\nuser_id,item_id,note;x;y;z\n1,2,a;b;c;d\n")
    res = load_interactions(p)
    assert res.frame["user_id"].tolist() == ["1"] and res.frame["item_id"].tolist() == ["2"]
    assert res.bad == []


def test_excels_sep_line_wins_in_an_item_table(tmp_path: Path) -> None:
    # 'sep=;' over a header whose label holds commas: the label stays one column
    p = tmp_path / "things.csv"
    p.write_text("sep=;\nid;name, brand, colour\n1;a, b, c\n")
    res = load_item_table(p, label_col="name, brand, colour")
    assert res.frame["item_id"].tolist() == ["1"]
    assert res.frame["name, brand, colour"].tolist() == ["a, b, c"]


def test_excels_sep_line_wins_in_a_manifest(tmp_path: Path) -> None:
    # 'sep=;' over a header with more commas than semicolons: item_id and path found
    (tmp_path / "a.jpg").write_bytes(b"x")
    p = tmp_path / "m.csv"
    p.write_text("sep=;\nitem_id;path;note, x, y, z\n1;a.jpg;n\n")
    assert load_manifest(p) == {"1": str(tmp_path / "a.jpg")}


def test_data_summary_finds_the_id_column_of_an_excel_items_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `visrec data summary items.csv` finds 'id' by the sep= line, not by sniffing
    p = tmp_path / "items.csv"
    p.write_text("sep=;\nid;name, brand, colour\n1;a, b, c\n2;d, e, f\n")
    (section,) = summarize([p])
    assert section["kind"] == "item table" and section["items"] == 2
    assert main(["data", "summary", str(p)]) == 0
    assert "sep ';'" in capsys.readouterr().out


# ------------------------------------------------------------------ JSON tables
def test_a_json_lines_table_with_a_rating_is_refused_saying_so(tmp_path: Path) -> None:
    # user_id, item_id and a rating: still a table exported as JSON, not Amazon reviews
    p = tmp_path / "inter.jsonl"
    pd.DataFrame({"user_id": [1, 2], "item_id": ["a", "b"], "rating": [4, 5]}).to_json(
        p, orient="records", lines=True
    )
    with pytest.raises(VisrecError, match=r"read as Amazon reviews only.*CSV or Parquet"):
        load_interactions(p)


# ------------------------------------------------------------------ id spellings
def test_respelt_names_a_spelling_that_is_no_item_of_its_own() -> None:
    # '07' is missing: '7' is a real item there, so '007' is the spelling to name
    assert respelt(["07"], ["7", "007"], taken=["07", "7"]) == [("07", "007")]


@pytest.fixture()
def seven(tmp_path: Path) -> dict[str, Path]:
    """Training items '07' (no vector) and '7' (a real item), vectors for '7' and '007'."""
    rows = [(u, it) for u in range(8) for it in ("07", "7", "1", "2", "3")[u % 3 : u % 3 + 3]]
    train = tmp_path / "train.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(train, index=False)
    ids = np.asarray(["7", "007", "1", "2", "3"])
    vec = np.random.default_rng(0).normal(size=(len(ids), 4)).astype(np.float32)
    vectors = tmp_path / "v.parquet"
    write_vectors(vectors, ItemVectors(ids, vec, np.ones(len(ids), bool)))
    return {"train": train, "vectors": vectors, "dir": tmp_path}


def test_train_names_the_spelling_that_is_no_training_item(
    seven: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # '07' has no vector; '7' is a training item of its own, so the warning names '007'
    argv = ["train", "--model", "visual-cf", "--interactions", str(seven["train"])]
    argv += ["--vectors", str(seven["vectors"]), "-o", str(seven["dir"] / "m"), "--quiet"]
    assert main([*argv, *FAST]) == 0
    err = capsys.readouterr().err
    assert "1 of them is in the vectors file spelt otherwise ('07' as '007')" in err


def test_evaluate_names_the_spelling_that_is_no_item_of_the_file(
    seven: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # the same for evaluate's note on items without an image vector
    argv = ["evaluate", "--interactions", str(seven["train"]), "--vectors", str(seven["vectors"])]
    assert main([*argv, "--models", "popularity", "--seeds", "1", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "1 of them is in it spelt otherwise ('07' as '007')" in err


# ------------------------------------------------------------------ Parquet parts
def _part(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user_id": ["1"], "item_id": ["i"]}).to_parquet(path)


def test_a_folder_of_partition_folders_says_how_to_join_them(tmp_path: Path) -> None:
    # to_parquet(partition_cols=["rating"]) writes rating=4/, rating=5/: no one file
    folder = tmp_path / "inter"
    for r in (4, 5):
        _part(folder / f"rating={r}" / "x.parquet")
    with pytest.raises(VisrecError, match=r"Parquet parts \(rating=4, rating=5\).*join"):
        load_interactions(folder)


def test_a_spark_folder_with_success_says_how_to_join_its_parts(tmp_path: Path) -> None:
    # Spark's _SUCCESS marks the folder a dataset whatever its parts are named
    folder = tmp_path / "inter"
    folder.mkdir()
    (folder / "_SUCCESS").write_bytes(b"")
    for k in range(2):
        _part(folder / f"c00{k}.parquet")
    with pytest.raises(VisrecError, match=r"Parquet parts \(c000\.parquet.*join"):
        load_interactions(folder)


# ------------------------------------------------------------------ repeated headers
def test_a_user_named_user_id_beside_a_real_item_is_kept(tmp_path: Path) -> None:
    # the header's own user name beside an item that is no header name: an interaction
    p = tmp_path / "t.csv"
    p.write_text("user_id,item_id\n1,10\nuser_id,20\n")
    for ids_only in (False, True):
        res = load_interactions(p, ids_only=ids_only)
        assert res.frame["user_id"].tolist() == ["1", "user_id"]
        assert res.bad == []


def test_a_long_header_inside_a_headerless_table_is_a_bad_record(tmp_path: Path) -> None:
    # 'customer_id,product_id' (11 characters) is a header, however long the names
    p = tmp_path / "joined.csv"
    p.write_text("1,10\n2,20\ncustomer_id,product_id\n3,30\n")
    res = load_interactions(p, ids_only=True)
    assert res.frame["user_id"].tolist() == ["1", "2", "3"]
    assert [(b.line, b.kind) for b in res.bad] == [(3, "header repeated")]


def test_an_item_named_id_with_its_own_label_is_kept(tmp_path: Path) -> None:
    # an item whose id is literally 'id' is no header unless every field is the header's
    p = tmp_path / "items.csv"
    p.write_text("id,label\n1,a\nid,hat\n")
    res = load_item_table(p)
    assert res.frame["item_id"].tolist() == ["1", "id"]
    assert res.bad == []


# ------------------------------------------------------------------ compressed files
@pytest.mark.parametrize(("ext", "name"), [("gz", "gzip"), ("xz", "xz"), ("bz2", "bzip2")])
def test_a_compressed_name_without_its_magic_bytes_is_no_valid_file(
    tmp_path: Path, ext: str, name: str
) -> None:
    # t.csv.gz holding plain text is a broken download: said so, not read as a table
    p = tmp_path / f"t.csv.{ext}"
    p.write_text("user_id,item_id\n1,10\n")
    with pytest.raises(VisrecError, match=rf"t\.csv\.{ext}: not a valid {name} file"):
        load_interactions(p)


# ------------------------------------------------------------------ joined BOMs
def test_the_warning_counts_every_bom_inside_the_file(tmp_path: Path) -> None:
    # three files joined with cat: two BOMs inside, counted in the one warning
    p = tmp_path / "joined.csv"
    p.write_bytes(b"user_id,item_id\n1,10\n\xef\xbb\xbf2,20\n\xef\xbb\xbf3,30\n")
    res = load_interactions(p)
    assert res.frame["user_id"].tolist() == ["1", "2", "3"]
    (w,) = res.warnings
    assert (w.line, w.kind) == (3, "byte-order mark inside")
    assert w.reason.startswith("2 lines begin with a byte-order mark")


# ------------------------------------------------------------------ failed writes
def _refuse(
    path: Any, ignore_errors: bool = False, *, onexc: Any = None, onerror: Any = None
) -> None:
    """``shutil.rmtree`` on a folder whose files cannot be deleted (nothing removed)."""
    if ignore_errors:
        return
    err = PermissionError(errno.EACCES, "Permission denied")
    if onexc is not None:
        onexc(os.unlink, str(path), err)
    else:
        onerror(os.unlink, str(path), (PermissionError, err, None))


def _fake_exchange(a: Path, b: Path) -> bool:
    """``renameat2(RENAME_EXCHANGE)`` done in three renames (any file system)."""
    mid = a.with_name(a.name + ".swap")
    os.replace(a, mid)
    os.replace(b, a)
    os.replace(mid, b)
    return True


def _two_folders(tmp_path: Path) -> tuple[Path, Path]:
    new, out = tmp_path / "new", tmp_path / "m"
    for folder, text in ((new, "new"), (out, "old")):
        folder.mkdir()
        (folder / "model.json").write_text(text)
    return new, out


def test_a_swap_that_cannot_remove_the_previous_model_says_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the one-step swap: the previous model left in `new` is named, not left unsaid
    new, out = _two_folders(tmp_path)
    monkeypatch.setattr(train_cmd, "_exchange", _fake_exchange)
    monkeypatch.setattr(shutil, "rmtree", _refuse)
    train_cmd._swap_in(new, out)
    assert (out / "model.json").read_text() == "new"
    assert capsys.readouterr().err == (
        f"warning: the previous model could not be removed (Permission denied); it is in "
        f"{new}: remove it yourself\n"
    )


def test_a_two_rename_swap_that_cannot_remove_the_previous_model_says_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # no one-step swap: the previous model parked in .m.old.* is named
    new, out = _two_folders(tmp_path)
    monkeypatch.setattr(train_cmd, "_exchange", lambda a, b: False)
    monkeypatch.setattr(shutil, "rmtree", _refuse)
    train_cmd._swap_in(new, out)
    assert (out / "model.json").read_text() == "new"
    (old,) = [p for p in tmp_path.iterdir() if p.name.startswith(".m.old.")]
    err = capsys.readouterr().err
    assert err.startswith("warning: the previous model could not be removed (Permission denied)")
    assert f"it is in {old}: remove it yourself" in err


def test_a_previous_model_gone_despite_an_error_gets_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # rmtree reported an error (a file removed meanwhile) but the folder is gone: no
    # warning pointing at a folder that is not there
    left = tmp_path / ".m.old.abcdefgh"
    left.mkdir()
    real = shutil.rmtree

    def gone_anyway(path: Any, *, onexc: Any = None, onerror: Any = None) -> None:
        real(path)
        err = FileNotFoundError(errno.ENOENT, "No such file or directory")
        if onexc is not None:
            onexc(os.unlink, str(path), err)
        else:
            onerror(os.unlink, str(path), (FileNotFoundError, err, None))

    monkeypatch.setattr(shutil, "rmtree", gone_anyway)
    train_cmd._remove_previous(left)
    assert not left.exists()
    assert capsys.readouterr().err == ""


def test_a_model_folder_that_cannot_be_entered_is_refused_before_training(
    csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # writable but not searchable (no x bit): its files cannot be removed either
    out = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(csv), "-o", str(out)]
    assert main([*argv, "--quiet"]) == 0
    real = os.access

    def no_search(p: Any, mode: int, **kw: Any) -> bool:
        return not (Path(p) == out and mode & os.X_OK) and real(p, mode)

    monkeypatch.setattr(os, "access", no_search)
    assert main([*argv, "--quiet"]) == 1
    assert f"-o: {out} exists and its files cannot be removed" in capsys.readouterr().err


def test_a_link_to_a_model_folder_is_not_refused_for_its_targets_permissions(
    csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # save_model_folder(model, link) swaps the link itself (its target stays), so the
    # target's permissions are no reason to refuse (`visrec train` resolves -o first)
    target = tmp_path / "m"
    argv = ["train", "--model", "popularity", "--interactions", str(csv), "-o", str(target)]
    assert main([*argv, "--quiet"]) == 0
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    real = os.access
    locked = os.path.realpath(target)
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: os.path.realpath(p) != locked and real(p, mode)
    )
    train_cmd.check_model_folder(link)  # no refusal


def test_a_failed_first_checkpoint_save_leaves_no_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a checkpoint folder made for a save that failed is removed again, with a note
    torch = pytest.importorskip("torch")

    def fail(*args: Any, **kw: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", fail)
    notes: list[str] = []
    folder = tmp_path / "ck"
    ckpt = _checkpoint.Checkpoint(folder, "key", 0.0, notes.append)
    module = torch.nn.Linear(1, 1)
    rng = np.random.default_rng(0)
    assert not _checkpoint.save_state(ckpt, "bpr", 1, module, [], rng, [])
    assert not folder.exists()
    assert len(notes) == 1 and "No space left on device" in notes[0]
