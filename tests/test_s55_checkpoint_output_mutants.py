"""Tests from the session 55 mutation audit of ``models/_checkpoint.py`` (resuming an
interrupted fit: what a saved state must match, what is refused and how it is said,
what is written and kept) and ``embed/output.py`` (what an embed run reuses from its old
vectors file, what it drops, what it writes). Each test names the mutants it kills: C*
in ``_checkpoint``, O* in ``output`` (the clean-up mutants of ``commands/train.py``, T*,
were all killed by tests that were there before)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tiny_embed import embed_tiny, image_folder
from visrec.embed import output
from visrec.embed.chunk_files import IMAGE_KEY
from visrec.embed.output import OldOutput
from visrec.embed.store import META_KEY, vectors_schema
from visrec.errors import VisrecError

# ------------------------------------------------------------------ embed/output.py


def _vectors_file(path: Path, groups: list[list[str]], meta: dict[str, Any]) -> Path:
    """A 2-d vectors file with one row group per entry of ``groups`` and ``meta`` as
    its visrec metadata (what an embed run writes, down to its record of chunks)."""
    schema = vectors_schema(2, meta)
    with pq.ParquetWriter(path, schema) as writer:
        for ids in groups:
            rows = {
                "item_id": ids,
                "vector": [[1.0, 0.0]] * len(ids),
                "has_image": [True] * len(ids),
            }
            writer.write_table(pa.table(rows).cast(schema))
    return path


def _meta(**changes: Any) -> dict[str, Any]:
    """The metadata of a two-chunk output under key ``k``, with ``changes``."""
    base: dict[str, Any] = {"key": "k", "chunks": ["f0", "f1"], "image_key": IMAGE_KEY}
    return {**base, **changes}


def _old(
    tmp_path: Path, groups: list[list[str]] | None = None, **changes: Any
) -> tuple[OldOutput, list[str]]:
    path = _vectors_file(tmp_path / "v.parquet", groups or [["a", "b"], ["c"]], _meta(**changes))
    notes: list[str] = []
    return output.old_output(path, "k", notes.append), notes


def test_a_parquet_file_of_another_tool_is_no_vectors_file_to_drop_items_from(
    tmp_path: Path,
) -> None:
    """O2 (``is_foreign_file`` dropped from ``dropped_items``: a table of someone's with an
    item_id column counted as a vectors file whose items this run drops, and refused)."""
    path = tmp_path / "theirs.parquet"
    pq.write_table(pa.table({"item_id": ["a", "b", "c"]}), path)
    assert output.dropped_items(path, ["x"]) == (0, [])
    assert output.check_dropped(path, ["x"], replace=False) is None


@pytest.mark.parametrize(
    ("size", "expected"), [(4, 4), (1, 1), (0, None), (True, None), ("4", None)]
)
def test_chunk_size_of_takes_only_a_whole_number_from_one(
    tmp_path: Path, size: object, expected: int | None
) -> None:
    """O8 (``size >= 0``: a chunk size 0 taken) and O9 (no bool check: ``true`` taken
    as a chunk size of 1)."""
    path = _vectors_file(tmp_path / "v.parquet", [["a"]], _meta(chunk_size=size))
    assert output.chunk_size_of(path) == expected


def test_old_output_reuses_the_groups_of_its_own_key(tmp_path: Path) -> None:
    """The baseline of the old_output tests below: the row groups of a file under the
    same key are offered, with nothing said."""
    old, notes = _old(tmp_path, engines=["torch", "onnx"], retry={"f1": ["c"]})
    assert notes == []
    assert old.groups == {"f0": 0, "f1": 1} and old.chunks == ["f0", "f1"]
    assert old.engines == {"f0": "torch", "f1": "onnx"} and old.retry == {"f1": {"c"}}
    assert old.n_rows == 3


def test_old_output_of_another_backbone_is_not_reused(tmp_path: Path) -> None:
    """O10 (the key check dropped: vectors of another backbone reused as this one's)."""
    old, notes = _old(tmp_path, key="other", backbone="resnet50", weights_id="w0")
    assert old == OldOutput()
    assert notes == [
        f"{tmp_path / 'v.parquet'}: existing vectors were computed with a different backbone, "
        "weights or preprocessing (resnet50, w0); recomputing"
    ]


def test_old_output_whose_chunks_are_not_its_row_groups_is_not_reused(tmp_path: Path) -> None:
    """O11 (the count check dropped: a file listing one chunk for two row groups, e.g.
    rows appended by another tool, reused on its list)."""
    old, notes = _old(tmp_path, chunks=["f0"])
    assert old == OldOutput() and notes == []


def test_an_output_without_chunks_says_nothing_of_an_older_image_key(tmp_path: Path) -> None:
    """O12 (``chunks and`` dropped: a file that lists no chunk, with no image key, said to
    be made by an older visrec whose vectors are computed again)."""
    path = _vectors_file(tmp_path / "v.parquet", [], {"key": "k", "chunks": []})
    notes: list[str] = []
    assert output.old_output(path, "k", notes.append) == OldOutput()
    assert notes == []


def test_a_retry_list_that_is_not_lists_is_said_and_nothing_reused(tmp_path: Path) -> None:
    """O13 (only the dict checked: ``{"f0": "ab"}`` read as the images 'a' and 'b')."""
    old, notes = _old(tmp_path, retry={"f0": "ab"})
    assert old == OldOutput()
    assert notes == [
        f"{tmp_path / 'v.parquet'}: its list of images to compute again is damaged; recomputing"
    ]


@pytest.mark.parametrize(
    ("engines", "expected"),
    [
        (["torch"], {"f0": None, "f1": None}),  # O15: one entry for two chunks
        ([5, "onnx"], {"f0": None, "f1": "onnx"}),  # O16: an entry that is no name
        ("torch", {"f0": None, "f1": None}),  # no list at all
    ],
)
def test_engines_that_do_not_fit_the_chunks_are_unknown(
    tmp_path: Path, engines: object, expected: dict[str, str | None]
) -> None:
    """O15 (the length check dropped: a ValueError from the strict zip) and O16 (an entry
    that is no string kept as the chunk's engine)."""
    old, notes = _old(tmp_path, engines=engines)
    assert old.engines == expected and old.groups == {"f0": 0, "f1": 1} and notes == []


def test_an_empty_retry_entry_retries_nothing(tmp_path: Path) -> None:
    """O17 (``and ids`` dropped: a chunk with an empty list kept in ``retry``, as if some
    of its images were to be computed again)."""
    old, _ = _old(tmp_path, retry={"f0": [], "f1": ["c"], "gone": ["z"]})
    assert old.retry == {"f1": {"c"}}


def test_a_file_whose_item_id_column_was_renamed_is_not_reused(tmp_path: Path) -> None:
    """O18 (the column check dropped: a KeyError instead of the note)."""
    path = tmp_path / "v.parquet"
    schema = pa.schema([("id", pa.string())], metadata={META_KEY: json.dumps(_meta()).encode()})
    pq.write_table(pa.table({"id": ["a", "b"]}, schema=schema), path)
    notes: list[str] = []
    old = output.holding_their_chunks(
        path, OldOutput(groups={"f0": 0}), ["f0"], [[("a", "x"), ("b", "y")]], notes.append
    )
    assert old == OldOutput()
    assert notes == [f"{path}: no item_id column: nothing of it is reused; recomputing"]


def test_a_row_group_that_cannot_be_read_is_not_retried_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """O19 (the damaged group's ``retry`` entry kept: its images would be read back from
    a row group no longer reused)."""
    path = _vectors_file(tmp_path / "v.parquet", [["a", "b"], ["c"]], _meta())
    real = output._group_ids

    def group_ids(pf: pq.ParquetFile, group: int) -> list[str]:
        if group == 0:
            raise pa.ArrowInvalid("Corrupt page\nmore detail")
        return real(pf, group)

    monkeypatch.setattr(output, "_group_ids", group_ids)
    old = OldOutput(groups={"f0": 0, "f1": 1}, retry={"f0": {"a"}, "f1": {"c"}})
    notes: list[str] = []
    chunks = [[("a", "x"), ("b", "y")], [("c", "z")]]
    old = output.holding_their_chunks(path, old, ["f0", "f1"], chunks, notes.append)
    assert old.groups == {"f1": 1} and old.retry == {"f1": {"c"}}
    assert notes == [
        f"{path}: 1 of its row groups cannot be read back intact (Corrupt page); those "
        "images are computed again"
    ]


def test_two_damaged_row_groups_are_named_by_the_first_ones_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """O49 of session 63 (``why = why or ...`` made ``why = ...``: the note named the
    last damaged group's error, not the first's)."""
    path = _vectors_file(tmp_path / "v.parquet", [["a"], ["b"], ["c"]], _meta())
    real = output._group_ids

    def group_ids(pf: pq.ParquetFile, group: int) -> list[str]:
        if group < 2:
            raise pa.ArrowInvalid(["Corrupt page", "Bad encoding"][group])
        return real(pf, group)

    monkeypatch.setattr(output, "_group_ids", group_ids)
    old = OldOutput(groups={"f0": 0, "f1": 1, "f2": 2})
    notes: list[str] = []
    chunks = [[("a", "x")], [("b", "y")], [("c", "z")]]
    old = output.holding_their_chunks(path, old, ["f0", "f1", "f2"], chunks, notes.append)
    assert old.groups == {"f2": 2}
    assert notes == [
        f"{path}: 2 of its row groups cannot be read back intact (Corrupt page); those "
        "images are computed again"
    ]


def test_a_row_group_holding_other_images_is_not_retried_either(tmp_path: Path) -> None:
    """O30 (the ``retry`` entry of a group that holds other images kept)."""
    path = _vectors_file(tmp_path / "v.parquet", [["a", "b"], ["c"]], _meta())
    old = OldOutput(groups={"f0": 0, "f1": 1}, retry={"f0": {"a"}, "f1": {"c"}})
    chunks = [[("a", "x"), ("q", "y")], [("c", "z")]]
    old = output.holding_their_chunks(path, old, ["f0", "f1"], chunks, lambda _n: None)
    assert old.groups == {"f1": 1} and old.retry == {"f1": {"c"}}


def test_kept_rows_of_other_images_are_refused(tmp_path: Path) -> None:
    """O24 (the id check dropped: a row group of 'a', 'b' kept as the chunk 'a', 'x', so
    'x' would get the vector of 'b')."""
    path = _vectors_file(tmp_path / "v.parquet", [["a", "b"]], _meta(chunks=["f0"]))
    with pytest.raises(VisrecError) as err:
        output.with_kept_rows(
            0, path, OldOutput(), "f0", ["a", "x"], [], np.zeros((0, 2), np.float32),
            np.zeros(0, bool), [],
        )  # fmt: skip
    assert str(err.value) == f"{path}: a chunk does not hold the images listed for it; re-run"


def test_the_output_counts_the_images_that_failed(tmp_path: Path) -> None:
    """O26 (``n_ok`` written as the number of images, failures included)."""
    img = image_folder(tmp_path / "img", 5)
    (img / "005.jpg").write_bytes(b"not a jpeg at all")
    out = tmp_path / "v.parquet"
    embed_tiny(img, out)
    meta = json.loads(pq.read_schema(out).metadata[META_KEY])
    assert (meta["n"], meta["n_ok"], len(meta["failures"])) == (6, 5, 1)


# ------------------------------------------------------------- models/_checkpoint.py


def _parts(seed: int = 0, n_opts: int = 1) -> tuple[Any, list[Any], np.random.Generator]:
    """A 3x2 linear layer with its Adam optimizers (one Adam step taken, so there are
    moments to save) and a generator: what ``fit_pairwise`` hands to save/restore."""
    import torch

    torch.manual_seed(seed)
    module = torch.nn.Linear(3, 2)
    opts = [torch.optim.Adam(module.parameters(), lr=0.1) for _ in range(n_opts)]
    module(torch.ones(1, 3)).sum().backward()
    for opt in opts:
        opt.step()
    return module, opts, np.random.default_rng(seed)


def _ckpt(folder: Path, notes: list[str], key: str = "k") -> Any:
    from visrec.models import _checkpoint

    return _checkpoint.Checkpoint(folder, key, 0.0, notes.append)


def _saved(tmp_path: Path, epoch: int = 2, **changes: Any) -> tuple[Path, list[str]]:
    """``bpr.pt`` saved after ``epoch`` epochs under key ``k``, with ``changes`` made to
    its fields (None: the field removed)."""
    import torch

    from visrec.models import _checkpoint

    notes: list[str] = []
    module, opts, rng = _parts()
    assert _checkpoint.save_state(
        _ckpt(tmp_path, notes), "bpr", epoch, module, opts, rng, [0.5, 0.25]
    )
    path = tmp_path / "bpr.pt"
    if changes:
        state = torch.load(path, weights_only=True)
        for name, value in changes.items():
            if value is None:
                del state[name]
            else:
                state[name] = value
        torch.save(state, path)
    return path, notes


def _restore(
    tmp_path: Path, epochs: int = 4, n_opts: int = 1
) -> tuple[tuple[int, list[float]], list[str], Any]:
    from visrec.models import _checkpoint

    notes: list[str] = []
    ckpt = _ckpt(tmp_path, notes)
    module, opts, rng = _parts(seed=1, n_opts=n_opts)
    got = _checkpoint.restore_state(ckpt, "bpr", module, opts, rng, epochs)
    return got, notes, ckpt


def test_the_default_save_interval_is_a_minute(tmp_path: Path) -> None:
    """C2 (``SAVE_EVERY_S`` changed: the CLI says 'state saved every minute')."""
    from visrec.models import _checkpoint

    with _checkpoint.checkpointing(tmp_path, "k") as ckpt:
        assert ckpt.every_s == 60.0
    with _checkpoint.checkpointing(tmp_path, "k", every_s=0) as ckpt:
        assert ckpt.every_s == 0


def test_keyed_adds_its_extra_after_a_bar_and_nothing_for_an_empty_one(tmp_path: Path) -> None:
    """C3 (an empty ``extra`` appended: ``'k|'``, so a state saved before is not resumed)
    and C4 (no separator: ``k`` + ``1|x`` and ``k1`` + ``|x`` would be one key)."""
    from visrec.models import _checkpoint

    def key() -> str | None:
        ckpt = _checkpoint.active()
        return None if ckpt is None else ckpt.key

    with _checkpoint.checkpointing(tmp_path, "k", log=lambda _m: None):
        with _checkpoint.keyed(""):
            assert key() == "k"
        with _checkpoint.keyed("reg=0.01"):
            assert key() == "k|reg=0.01"
        assert key() == "k"
    assert key() is None


def _failing_save(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    import torch

    def save(*args: Any, **kwargs: Any) -> None:
        raise exc

    monkeypatch.setattr(torch, "save", save)


def test_a_failed_save_leaves_a_folder_it_did_not_make_and_says_why_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C6 (the folder removed although it was there before: someone's empty folder),
    C7 (the note said at every failed save, not once) and C9 (the cause as
    ``[Errno 28] ...`` rather than in words)."""
    import errno

    from visrec.models import _checkpoint

    folder = tmp_path / "state"
    folder.mkdir()
    _failing_save(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    notes: list[str] = []
    ckpt = _ckpt(folder, notes)
    module, opts, rng = _parts()
    for epoch in (1, 2):
        assert not _checkpoint.save_state(ckpt, "bpr", epoch, module, opts, rng, [])
    assert folder.is_dir() and ckpt.kept == []
    assert notes == [
        f"note: cannot save the training state in {folder} (No space left on device); the "
        "fit goes on, but an interrupted one would resume only from a state saved earlier, "
        "if any"
    ]


def test_a_save_cut_short_removes_the_folder_it_made_and_says_so_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C10 (torch's 'inline_container' text shown as it is) and the other side of C6:
    the folder the failed save made is removed."""
    from visrec.models import _checkpoint

    folder = tmp_path / "state"
    _failing_save(
        monkeypatch, RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 9")
    )
    notes: list[str] = []
    module, opts, rng = _parts()
    assert not _checkpoint.save_state(_ckpt(folder, notes), "bpr", 1, module, opts, rng, [])
    assert not folder.exists()
    assert len(notes) == 1
    assert "(the write was cut short: a full disk or a file size limit?)" in notes[0]


def test_a_saved_state_is_kept_in_the_block(tmp_path: Path) -> None:
    """C8 (a saved state not listed in ``kept``: an interrupted train says no state was
    saved, and removes it as another fit's)."""
    from visrec.models import _checkpoint

    notes: list[str] = []
    ckpt = _ckpt(tmp_path, notes)
    module, opts, rng = _parts()
    assert _checkpoint.save_state(ckpt, "bpr", 1, module, opts, rng, [0.5])
    assert ckpt.kept == ["bpr"] and notes == [] and (tmp_path / "bpr.pt").is_file()


def test_saved_values_are_kept_and_a_failed_save_is_said_once(tmp_path: Path) -> None:
    """C11 (the note of a failed save of values said at every step) and C12 (saved
    values not listed in ``kept``)."""
    from visrec.models import _checkpoint

    notes: list[str] = []
    ckpt = _ckpt(tmp_path / "state", notes)
    _checkpoint.save_values(ckpt, "fold-1", [0.5])
    assert ckpt.kept == ["fold-1"] and notes == []

    blocked = tmp_path / "file"
    blocked.write_text("in the way")
    ckpt = _ckpt(blocked, notes)
    _checkpoint.save_values(ckpt, "fold-1", [0.5])
    _checkpoint.save_values(ckpt, "fold-2", [0.5])
    assert ckpt.kept == [] and len(notes) == 1
    assert notes[0].startswith(f"note: cannot save fold-1 in {blocked} (")
    assert notes[0].endswith("); a resumed run redoes it")


@pytest.mark.parametrize(
    ("saved", "n"),
    [
        ({"format": 1, "key": "k", "values": [0.5, 0.25]}, 3),  # C14: another count
        ({"format": 1, "key": "k", "values": [0.5, float("nan")]}, 2),  # C15: NaN
        ({"format": 1, "key": "k", "values": [0.5, float("inf")]}, 2),  # C15: infinity
        ({"format": 1, "key": "other", "values": [0.5, 0.25]}, 2),  # C17: another key
        ({"format": 2, "key": "k", "values": [0.5, 0.25]}, 2),  # another format
        ({"format": 1, "key": "k", "values": [0.5, "x"]}, 2),  # not a number
    ],
)
def test_saved_values_that_do_not_fit_are_redone_silently(
    tmp_path: Path, saved: dict[str, Any], n: int
) -> None:
    """C14 (the count check dropped), C15 (the finiteness check dropped) and C17 (the key
    check dropped): values saved for another step reused."""
    from visrec.models import _checkpoint

    (tmp_path / "fold-1.json").write_text(json.dumps(saved), encoding="utf-8")
    notes: list[str] = []
    ckpt = _ckpt(tmp_path, notes)
    assert _checkpoint.load_values(ckpt, "fold-1", n) is None
    assert notes == [] and ckpt.kept == [] and ckpt.resumed == []


def test_reused_values_are_said_and_counted_as_resumed(tmp_path: Path) -> None:
    """C16 (a reused step not listed in ``resumed``: train would say its fit time is a
    whole fit's)."""
    from visrec.models import _checkpoint

    notes: list[str] = []
    ckpt = _ckpt(tmp_path, notes)
    _checkpoint.save_values(ckpt, "fold-1", [1, 0.25])
    ckpt.kept.clear()
    assert _checkpoint.load_values(ckpt, "fold-1", 2) == [1.0, 0.25]
    assert notes == [f"reusing fold-1 (from {tmp_path / 'fold-1.json'})"]
    assert ckpt.kept == ["fold-1"] and ckpt.resumed == ["fold-1"]


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe{}"])
def test_unreadable_saved_values_are_said_and_redone(tmp_path: Path, raw: bytes) -> None:
    """C18 (the note of an unreadable file dropped)."""
    from visrec.models import _checkpoint

    (tmp_path / "fold-1.json").write_bytes(raw)
    notes: list[str] = []
    assert _checkpoint.load_values(_ckpt(tmp_path, notes), "fold-1", 1) is None
    assert notes == [f"note: {tmp_path / 'fold-1.json'}: unreadable, redoing fold-1"]


def test_a_state_is_restored_whole(tmp_path: Path) -> None:
    """The baseline of the restore tests below: parameters, optimizer moments and the
    generator come back, with the epoch and losses; C27 (a resumed fit not listed in
    ``resumed``)."""
    import torch

    _saved(tmp_path)
    (epoch, losses), notes, ckpt = _restore(tmp_path)
    assert (epoch, losses) == (2, [0.5, 0.25])
    assert notes == [f"resuming bpr at epoch 3 of 4 (from {tmp_path / 'bpr.pt'})"]
    assert ckpt.kept == ["bpr"] and ckpt.resumed == ["bpr"]
    module, opts, rng = _parts()
    again, again_opts, again_rng = _parts(seed=1)
    from visrec.models import _checkpoint

    _checkpoint.restore_state(_ckpt(tmp_path, []), "bpr", again, again_opts, again_rng, 4)
    for name, tensor in module.state_dict().items():
        torch.testing.assert_close(again.state_dict()[name], tensor, rtol=0, atol=0)
    moments = [s["exp_avg"] for s in opts[0].state_dict()["state"].values()]
    again_moments = [s["exp_avg"] for s in again_opts[0].state_dict()["state"].values()]
    for got, want in zip(again_moments, moments, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert again_rng.random() == rng.random()


def test_a_finished_stage_is_reused(tmp_path: Path) -> None:
    """C19 (``epoch < epochs``: the finished main stage of vbpr refused, its epochs
    redone) and C25 (it said as resumed at an epoch past the end)."""
    _saved(tmp_path, epoch=4)
    (epoch, _), notes, ckpt = _restore(tmp_path, epochs=4)
    assert epoch == 4 and ckpt.resumed == ["bpr"]
    assert notes == [f"reusing the finished bpr (4 epochs, from {tmp_path / 'bpr.pt'})"]


@pytest.mark.parametrize(
    ("epoch", "epochs", "n_opts", "changes"),
    [
        (0, 4, 1, {}),  # C20: epoch 0 is no state a fit saves
        (5, 4, 1, {}),  # more epochs than this fit runs
        (2, 4, 2, {}),  # C24: another number of optimizers
        (2, 4, 1, {"losses": (0.5, 0.25)}),  # C32: losses that are not a list
        (2, 4, 1, {"rng": {"state": 1}}),  # a generator state that is not JSON text
    ],
)
def test_a_state_that_does_not_fit_this_fit_starts_over(
    tmp_path: Path, epoch: int, epochs: int, n_opts: int, changes: dict[str, Any]
) -> None:
    """C20 (``0 <= epoch``), C24 (the optimizer count check dropped: a VisrecError from
    the strict zip) and C32 (the losses check dropped)."""
    path, _ = _saved(tmp_path, epoch=epoch, **changes)
    got, notes, ckpt = _restore(tmp_path, epochs=epochs, n_opts=n_opts)
    assert got == (0, []) and ckpt.kept == [] and ckpt.resumed == []
    assert notes == [f"note: {path}: checkpoint does not fit this fit, starting over"]


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"format": 2}, "other data or settings"),  # C29: another format, same key
        ({"key": "other", "versions": None}, "other data or settings"),  # C22: no versions
        (
            {"key": "other", "versions": ["0+old", "torch 0"]},
            "another visrec or library version (torch, numpy)",
        ),
    ],
)
def test_a_state_of_another_format_or_key_starts_over_saying_which(
    tmp_path: Path, changes: dict[str, Any], said: str
) -> None:
    """C29 (the format check dropped: a state of another layout read as this one's) and
    C22 (a state that records no versions said to be of another version)."""
    path, _ = _saved(tmp_path, **changes)
    got, notes, _ = _restore(tmp_path)
    assert got == (0, [])
    assert notes == [f"note: {path}: checkpoint of {said}, starting over"]
