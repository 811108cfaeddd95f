"""Mutation audit mut72 (session 72) of the code added or changed this session:
``_interrupt.imports_held`` and its use in ``cli._ctrl_c_seen``;
``models/_save_load.py`` (``_saved_class``, ``_defined_classes``, the save refusal of a
class named "base"); ``models/params.py`` (the *args/**kw refusal);
``evaluation/model_specs.py`` (the unregistered-class message);
``commands/_output_paths.py`` (the "recommendations CSV"/"vectors Parquet" kinds,
``_format``, ``_not_recommendations``, ``_saved_model_file``); ``embed/store._file_key``;
``embed/extract.py`` (``empty_file``, ``_unread_then``); ``chunk_files.fingerprint(unread=)``;
``data/interaction_rows.py``/``data/tables.py``/``commands/_common.py``
(``soft_rating``/``peek_rating``); ``commands/train.py`` (vectors read with ``only=()``);
``errors.BusyError`` (exit 75, raised by ``_atomic._acquire``); ``data/summary.py``
(id_notes from the loader's notes).

45 mutants (script /tmp/s72/mut72/mutants.py: I imports_held 4, S save/load 9, P params
2, M model_specs 2, O output paths 10, F _file_key 2, E extract 5, C chunk_files 1,
R reads 6, T train 1, B BusyError 2, D summary 3), run against the test_s72_* files
nearest each module plus test_s71_ctrlc, test_s66_saveload_mutants,
test_s62_params_mutants, test_s71_writeguard, test_s52_embed_chunks, test_s49_id_notes
and test_s61_summary_mutants. Killed by old tests: 42. Killed after these tests: 45 of
45. Equivalent: none.

Which test kills which survivor:
- I01 (imports_held wraps builtins.__import__ from a non-main thread too):
  test_a_hold_in_another_thread_leaves_the_process_import_alone
- S08 (_defined_classes counts a class that inherits the name, so a subclass without a
  name of its own made Recommender.load say "several model classes"):
  test_a_subclass_inheriting_the_name_does_not_make_the_load_ambiguous
- R02 (a peeked rating of inf or 1e40 kept as that value, not NaN: the note's frame kept
  a rating column of infinities): test_a_peeked_infinite_or_huge_rating_reads_as_missing
"""

from __future__ import annotations

import builtins
import threading
from pathlib import Path

import numpy as np

from test_s72_own_model_load import ItemKNN, _train
from visrec import Recommender, _interrupt
from visrec.commands._common import load_interactions_frame
from visrec.data.tables import load_interactions


# ------------------------------------------------------------- _interrupt.imports_held
def test_a_hold_in_another_thread_leaves_the_process_import_alone() -> None:
    # builtins.__import__ is the whole process's: a worker thread's block must not wrap
    # it (no signal handler runs there, and the main thread's imports would be wrapped)
    real = builtins.__import__
    seen: list[object] = []

    def work() -> None:
        with _interrupt.imports_held(("visrec_s72_mut72_never_imported",)):
            seen.append(builtins.__import__)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [real]
    assert builtins.__import__ is real


# ------------------------------------------------------------- _defined_classes
class OwnBase(ItemKNN):
    name = "s72-mut72-own"


class OwnTweak(OwnBase):
    """A subclass that keeps its parent's name without setting one of its own."""


def test_a_subclass_inheriting_the_name_does_not_make_the_load_ambiguous(
    tmp_path: Path,
) -> None:
    # only a class that sets ``name`` itself is the class of that name: OwnTweak has it
    # by inheritance, and is no second candidate for Recommender.load
    model = OwnBase(k=4).fit(_train())
    model.save(tmp_path / "m")
    back = Recommender.load(tmp_path / "m")
    assert type(back) is OwnBase and back.k == 4
    np.testing.assert_array_equal(back.recommend([0, 1], n=3)[0], model.recommend([0, 1], n=3)[0])


# ------------------------------------------------------------- peek_rating / soft_rating
def test_a_peeked_infinite_or_huge_rating_reads_as_missing(tmp_path: Path) -> None:
    # "inf" parses as a number and 1e40 overflows float32: neither is a usable rating,
    # so the peek keeps the row with NaN (not the value), and the note's frame has no
    # rating column at all
    p = tmp_path / "r.csv"
    p.write_text("user_id,item_id,rating\nu1,i1,5\nu2,i2,inf\nu3,i3,1e40\nu4,i4,-inf\n")
    res = load_interactions(p, ids_only=True, keep_rating=True, peek_rating=True)
    assert list(res.frame["user_id"]) == ["u1", "u2", "u3", "u4"]
    assert res.frame["rating"].iloc[0] == 5.0
    assert res.frame["rating"].iloc[1:].isna().all()
    assert not res.bad
    frame = load_interactions_frame(p, ids_only=True, peek_rating=True)
    assert "rating" not in frame.columns and len(frame) == 4
