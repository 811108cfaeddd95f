"""Mutation audit (session 73) of session 72's code its own audit (mut72) did not run:
``commands/_output_paths.py`` (the "recommendations CSV" kind's header read,
``_saved_model_file``), ``_interrupt.imports_held`` and ``models/_save_load.py``
(``_saved_class``, ``_defined_classes``, ``_named_by_module``).

40 hand-written mutants (O: output kinds 15, S: _saved_model_file 7, I: imports_held 7,
L: save/load 11; script /tmp/s73/audit/mutants.py), run against the test_s72_* files
nearest each module and the older files that grep finds for the functions' names.
Killed by old tests: 26. Killed after these tests: 36. Equivalent: 2 (O15: open()
follows the link written_file resolves; L11: own[-1] where own holds one class). Left
surviving: S02 (a dangling link to an absent train.json of a model folder refused as
that file; neither way loses data) and L10 (cls.name compared for Recommender.load
too: differs only for a model.json edited to name "base", which save refuses).

Which test kills which survivor:
- O01 (no BOM stripped before the header): test_a_recommendations_header_written_otherwise_is_ours
- O04 (spaces around a header field kept): the same test
- S04 (the folder named by its resolved path, not as given):
  test_the_model_folder_is_named_as_the_user_gave_it
- I01 (a relative import of a held name held), I03 (``import pkg.part`` not held):
  test_a_held_name_is_the_top_level_package_however_it_is_imported
- I02 (an import of a module already there held again, the nested ones too):
  test_the_held_import_is_held_once_and_not_its_nested_imports
- I04 (the wrapper put back over a later one's): test_a_wrapper_set_after_ours_stays
- L02 (an ImportError from the registry not caught):
  test_a_subclass_loads_itself_when_the_registered_class_cannot_be_imported
- (L03, killed by old tests, also by)
  test_a_registered_name_is_the_registrys_even_when_a_subclass_repeats_it
- L04 (two classes of one name not said to be ambiguous), L08 (classes of two modules
  taken for one): test_two_classes_of_one_name_in_two_modules_are_ambiguous
- (L06, L09, the first of a cell's classes winning, killed by test_s72_extend, also by)
  test_a_cell_run_again_under_the_same_base_loads_as_the_newest
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import signal
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_s72_own_model_load import ShiftedPopularity, _train
from visrec import Recommender, _interrupt
from visrec.commands._output_paths import refuse_foreign_output
from visrec.errors import VisrecError
from visrec.models import registry
from visrec.models.popularity import Popularity

RECS = "recommendations CSV"


# ------------------------------------------------------------- _not_recommendations
@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfscore,user_id,item_id\n0.5,u1,i1\n",  # BOM before the score column
        b"\xef\xbb\xbfrank\tuser\titem\r\n1\tu1\ti1\r\n",  # BOM, tabs, CRLF
        b"user_id, item_id, rank, score\nu1, i1, 1, 0.5\n",  # spaces after the commas
        b'"user_id";"item_id";"score"\r\n"u1";"i1";0.5\r\n',  # quoted, semicolons
    ],
)
def test_a_recommendations_header_written_otherwise_is_ours(content: bytes, tmp_path: Path) -> None:
    # a list saved again by a spreadsheet or another tool is replaced, not refused
    out = tmp_path / "recs.csv"
    out.write_bytes(content)
    refuse_foreign_output(out, "-o", RECS)


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfuser_id\titem_id\trating\r\nu1\ti1\t5\r\n",
        b'"user_id","item_id","ranking"\nu1,i1,5\n',  # a column named like one is not one
    ],
)
def test_a_foreign_table_written_otherwise_is_still_refused(content: bytes, tmp_path: Path) -> None:
    out = tmp_path / "recs.csv"
    out.write_bytes(content)
    with pytest.raises(VisrecError, match="is not a list of recommendations"):
        refuse_foreign_output(out, "-o", RECS)
    assert out.read_bytes() == content
    refuse_foreign_output(tmp_path / "new.csv", "-o", RECS)  # not there: nothing to judge


# ------------------------------------------------------------- _saved_model_file
def _saved(tmp_path: Path) -> Path:
    m = tmp_path / "m"
    Popularity().fit(_train()).save(m)
    return m


def test_the_model_folder_is_named_as_the_user_gave_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # through a symlinked parent folder, or a relative path with "..", the message names
    # the folder the user typed (the one they will look for), not its resolved path
    m = _saved(tmp_path)
    (tmp_path / "linked").symlink_to(m, target_is_directory=True)
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path)
    for given, folder in [
        ("linked/model.json", "linked"),
        ("other/../m/train.json", "other/../m"),
        ("linked/../m/model.json", "linked/../m"),
    ]:
        name = Path(given).name
        if name == "train.json":
            (m / name).write_text("{}\n")
        with pytest.raises(VisrecError) as exc:
            refuse_foreign_output(given, "--json", "JSON")
        assert str(exc.value) == (
            f"--json: {given!r} is the {name} file of the visrec model folder {folder!r}; "
            "writing it would replace that model's file. Name another --json"
        )


def test_a_hard_link_to_a_models_file_is_replaced_under_its_own_name(tmp_path: Path) -> None:
    # the write replaces the name given, and model.json keeps its data: no refusal
    m = _saved(tmp_path)
    out = tmp_path / "result.json"
    out.hardlink_to(m / "model.json")
    refuse_foreign_output(out, "--json", "JSON")
    with pytest.raises(VisrecError, match=r"is the model\.json file of the visrec model folder"):
        refuse_foreign_output(m / "model.json", "--json", "JSON")  # still, by its own name


# ------------------------------------------------------------- _interrupt.imports_held
@pytest.fixture(autouse=True)
def _default_handler() -> Iterator[None]:
    # as in a terminal, also when pytest runs as a background job that ignores SIGINT
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def _package(root: Path, monkeypatch: pytest.MonkeyPatch, name: str, files: dict[str, str]) -> None:
    pkg = root / name
    pkg.mkdir()
    for file, code in files.items():
        (pkg / file).write_text(textwrap.dedent(code))
    monkeypatch.syspath_prepend(str(root))
    for mod in [name, *(f"{name}.{Path(f).stem}" for f in files)]:
        monkeypatch.delitem(sys.modules, mod, raising=False)


CTRL_C = "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n"


def test_a_held_name_is_the_top_level_package_however_it_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `import torch.nn` first holds torch's import as `import torch` does
    _package(tmp_path, monkeypatch, "s73_held", {"__init__.py": CTRL_C + "DONE = True\n",
                                                 "part.py": "VALUE = 3\n"})  # fmt: skip
    with pytest.raises(KeyboardInterrupt), _interrupt.imports_held(("s73_held",)):
        import s73_held.part  # noqa: F401
    assert sys.modules["s73_held"].DONE is True and sys.modules["s73_held.part"].VALUE == 3
    # a package's own submodule that happens to bear a held name (`from .torch import`)
    # is not that package: its Ctrl-C is raised inside, as without the hold
    _package(tmp_path, monkeypatch, "s73_outer", {"__init__.py": "from .s73_inner import V\n",
                                                  "s73_inner.py": CTRL_C + "V = 1\n"})  # fmt: skip
    monkeypatch.delitem(sys.modules, "s73_inner", raising=False)
    with pytest.raises(KeyboardInterrupt), _interrupt.imports_held(("s73_inner",)):
        import s73_outer  # noqa: F401
    assert "s73_outer.s73_inner" not in sys.modules  # cut short where the Ctrl-C came


def test_the_held_import_is_held_once_and_not_its_nested_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # torch imports its own submodules (and is imported again at twenty sites): held
    # once, as one import, not once per statement (signal handlers swapped each time)
    _package(tmp_path, monkeypatch, "s73_nest", {"__init__.py": "import s73_nest.part\n"
                                                 "from s73_nest import part as again\n",
                                                 "part.py": "VALUE = 3\n"})  # fmt: skip
    entered: list[int] = []
    real_held = _interrupt.held

    @contextlib.contextmanager
    def counting() -> Iterator[None]:
        entered.append(1)
        with real_held():
            yield

    monkeypatch.setattr(_interrupt, "held", counting)
    with _interrupt.imports_held(("s73_nest",)):
        import s73_nest
        import s73_nest as again  # noqa: F401
        import s73_nest.part  # noqa: F401
    assert len(entered) == 1
    assert sys.modules["s73_nest"].again.VALUE == 3


def test_a_wrapper_set_after_ours_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    # another tool wrapping __import__ inside the block keeps its wrapper after it
    real = builtins.__import__

    def theirs(*args: Any, **kw: Any) -> types.ModuleType:
        return real(*args, **kw)

    try:
        with _interrupt.imports_held(("s73_never_imported",)):
            assert builtins.__import__ is not real
            builtins.__import__ = theirs
        assert builtins.__import__ is theirs
    finally:
        builtins.__import__ = real


# ------------------------------------------------------------- _saved_class
def test_a_subclass_loads_itself_when_the_registered_class_cannot_be_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the registered model's module failing to import (torch missing for bpr) is no
    # reason to refuse the user's own subclass of it, which is here already
    model = ShiftedPopularity().fit(_train())
    model.save(tmp_path / "m")

    def broken(name: str) -> type[Recommender]:
        raise ImportError(f"no module for {name}")

    monkeypatch.setattr(registry, "get_model_class", broken)
    back = ShiftedPopularity.load(tmp_path / "m")
    assert type(back) is ShiftedPopularity
    np.testing.assert_array_equal(
        back.recommend(np.arange(5), n=5)[0], model.recommend(np.arange(5), n=5)[0]
    )


def test_a_registered_name_is_the_registrys_even_when_a_subclass_repeats_it(
    tmp_path: Path,
) -> None:
    # a subclass setting the registered name again is no second candidate for
    # Recommender.load: the registry says which class a registered name is
    Popularity().fit(_train()).save(tmp_path / "m")

    class Again(Popularity):
        name = "popularity"

    try:
        assert type(Recommender.load(tmp_path / "m")) is Popularity
        assert type(Again.load(tmp_path / "m")) is Again
    finally:
        del Again
        gc.collect()


def _module(monkeypatch: pytest.MonkeyPatch, name: str, code: str) -> types.ModuleType:
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    module.__dict__.update(Popularity=Popularity, Recommender=Recommender)
    exec(code, module.__dict__)
    return module


def test_two_classes_of_one_name_in_two_modules_are_ambiguous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = "class Dup(Popularity):\n    name = 's73-dup'\n"
    a = _module(monkeypatch, "s73_mod_a", code)
    b = _module(monkeypatch, "s73_mod_b", code)
    a.Dup().fit(_train()).save(tmp_path / "m")
    with pytest.raises(VisrecError) as exc:
        Recommender.load(tmp_path / "m")
    assert str(exc.value) == (
        f"{tmp_path / 'm' / 'model.json'}: several model classes defined here are named "
        "'s73-dup' (s73_mod_a.Dup, s73_mod_b.Dup); load it with that class's load"
    )
    assert type(b.Dup.load(tmp_path / "m")) is b.Dup  # as the message says


def test_a_cell_run_again_under_the_same_base_loads_as_the_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = "class Mine(Popularity):\n    name = 's73-mine'\n    version = {v}\n"
    nb = _module(monkeypatch, "s73_notebook", code.format(v=1))
    old = nb.Mine
    exec(code.format(v=2), nb.__dict__)  # the cell run again
    old().fit(_train()).save(tmp_path / "m")
    back = Recommender.load(tmp_path / "m")
    assert type(back) is nb.Mine and back.version == 2
    assert old.version == 1
