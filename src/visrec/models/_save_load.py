"""Saving a model to a folder and loading it back: ``SaveLoadMixin``, which
``Recommender`` inherits, holds ``save`` and ``load`` (``model.json`` and
``arrays.npz``, written atomically under the folder's lock, read without pickle and
checked), the check that the loaded arrays score (``_check_loaded``), and the hooks a
model overrides for state besides its arrays (``_extra_state``, ``_set_extra_state``,
``_after_load``). The files themselves and their checks are in ``model_folder``."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

import numpy as np

from visrec import __version__
from visrec._atomic import (
    atomic_path,
    blocking_parent,
    check_input_exists,
    exclusive_lock,
    file_version,
    is_path,
    make_folders,
    not_regular,
    remove_empty,
    write_text_atomic,
)
from visrec._plugins import class_path, outside_visrec
from visrec.embed.store import UNUSABLE_VALUES, usable_values
from visrec.errors import (
    InputNotFoundError,
    MixedSavesError,
    VisrecError,
    WriteError,
    a_or_an,
    failed_write,
    write_error,
)
from visrec.models.model_folder import (
    ARRAYS_NPZ,
    DAMAGE,
    DAMAGE_OR_REFUSED,
    MODEL_FORMAT,
    MODEL_JSON,
    SAVE_TOKEN,
    TRAIN_JSON,
    check_array_forms,
    check_counts,
    check_same_save,
    finite_json,
    id_keys,
    is_model_folder,
    json_default,
    one_line,
    pack_ids,
    read_model_json,
    require_arrays,
    seen_matrix,
    unpack_ids,
)

if TYPE_CHECKING:
    import scipy.sparse as sp

    from visrec.data.interactions import IdMap
    from visrec.models.base import Recommender

__all__ = ["SaveLoadMixin"]


class SaveLoadMixin:
    """``save`` and ``load`` of a ``Recommender`` (see the module docstring)."""

    if TYPE_CHECKING:  # what Recommender gives the methods here
        name: ClassVar[str]
        scores_new_items: ClassVar[bool]
        _array_attrs: ClassVar[tuple[str, ...]]
        _arrays_before_added: ClassVar[tuple[str, ...]]
        user_map_: IdMap
        item_map_: IdMap
        seen_: sp.csr_matrix
        excluded_: sp.csr_matrix | None

        def get_params(self, deep: bool = True) -> dict[str, Any]: ...
        def vector_dim(self) -> int | None: ...
        def _derivable(self, attr: str) -> bool: ...
        def _check_fitted(self) -> None: ...
        def check_params_unchanged(self) -> None: ...
        def check_params(self) -> None: ...
        def _score(
            self, user_idx: np.ndarray, item_idx: np.ndarray | None = None
        ) -> np.ndarray: ...
        def new_item_scorer(self, vectors: np.ndarray) -> Callable[[np.ndarray], np.ndarray]: ...

    def _extra_state(self) -> dict[str, Any]:
        """JSON-serialisable learned state besides the arrays (override when needed)."""
        return {}

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``_extra_state`` returned."""

    def _after_load(self) -> None:
        """Rebuild state derived from the saved arrays and JSON state (no-op by default).

        ``load`` calls this last, once every array and ``_set_extra_state`` are restored,
        so derived attributes need not be saved.
        """

    def _check_loaded(self, npz: Path) -> None:
        """Score the first and the last user over all items, and (for models that score
        new items) one zero vector of ``vector_dim()``: arrays
        whose shapes do not fit the id maps fail here, with one line naming ``npz``,
        instead of deep inside ``recommend``. Cheap: two rows of scores."""
        n_users, n_items = len(self.user_map_), len(self.item_map_)
        if n_users == 0:
            return
        users = np.unique(np.array([0, n_users - 1], dtype=np.int64))
        dim = self.vector_dim()
        checks: list[tuple[str, Callable[[], np.ndarray], tuple[int, ...]]] = [
            ("scoring", lambda: self._score(users), (len(users), n_items))
        ]
        if self.scores_new_items and dim is not None:
            zero = np.zeros((1, dim), dtype=np.float32)
            checks.append(
                ("scoring a new item", lambda: self.new_item_scorer(zero)(users), (len(users), 1))
            )
        for what, call, expected in checks:
            try:
                shape = np.shape(call())
            except AttributeError as exc:
                # learned state the model's code reads that no array or hook restored:
                # the model's own fault, not the folder's
                if exc.obj is not self or not exc.name:
                    raise
                raise VisrecError(
                    f"{npz}: model {self.name!r} scores with {exc.name}, which load does "
                    f"not restore: list it in _array_attrs and _array_dims, or rebuild it "
                    "in _after_load"
                ) from exc
            except DAMAGE_OR_REFUSED as exc:
                detail = one_line(exc)
            else:
                if shape == expected:
                    continue
                detail = f"scores of shape {shape}, expected {expected}"
            raise VisrecError(
                f"{npz}: the saved arrays do not fit together ({what}: {detail}); "
                f"train the model again{_own_code_hint(type(self))}"
            )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the fitted model as plain arrays and JSON.

        Parameters
        ----------
        path : str or path-like
            A folder (made when missing) that receives ``model.json`` (name,
            hyperparameters, learned scalars, visrec version) and ``arrays.npz`` (the
            id maps, the training pairs and the learned arrays), each written atomically.

        Returns
        -------
        Path
            The folder.

        Raises
        ------
        TypeError
            ``path`` is no path (``None``, a number).
        WriteError
            The folder cannot be made or its files written (no permission, a full
            disk): a ``VisrecError`` and an ``OSError``, naming the folder.
        VisrecError
            ``path`` is empty or a file, or a file stands where a folder above it
            should be (named); a folder holding other files but no visrec model (its
            ``model.json`` or ``arrays.npz`` would be overwritten: ``visrec train -o``
            refuses such a folder too); or another save (a thread, another process) is
            writing the same folder: one save at a time, so the two files are one model's.
        """
        self._check_fitted()
        folder = _folder_arg(path, f"{type(self).__name__}.save")
        if type(self).name == "base":  # load finds the class by it: the folder would not load
            raise VisrecError(
                f"{type(self).__name__}.save: the class has no model name of its own; set "
                "a class attribute name = '...' (the registry key, for a registered model)"
            )
        if folder.exists() and not folder.is_dir():
            raise VisrecError(
                f"cannot save the model to {str(folder)!r}: it is a file, not a folder"
            )
        blocked = blocking_parent(folder)
        if blocked is not None:  # said as `visrec train -o` says it, not "Not a directory"
            raise VisrecError(f"cannot save the model to {str(folder)!r}: {blocked}")
        # two saves at once (threads of a host) interleaved the two files: one at a time
        with exclusive_lock(folder, "model save", advice="save to another folder"):
            _refuse_foreign_folder(folder)
            made: list[Path] = []
            try:
                try:
                    make_folders(folder, made)
                except OSError as exc:  # "No such file or directory: '/proc/x'" misled
                    raise write_error(
                        f"cannot save the model to {str(folder)!r}: cannot make the folder "
                        f"({failed_write(exc, folder)}); save to a folder you can write",
                        exc,
                    ) from exc
                try:
                    self._save_files(folder)
                except OSError as exc:  # a full disk, a read-only folder
                    if isinstance(exc, VisrecError) and not isinstance(exc, WriteError):
                        raise  # said already; atomic_path's "cannot write F" is said here
                    raise write_error(
                        f"cannot save the model to {str(folder)!r} ({failed_write(exc, folder)})",
                        exc,
                    ) from exc
            except BaseException:
                remove_empty(made)  # a failed save (a full disk) leaves no empty folder
                raise
        return folder

    def _save_files(self, folder: Path) -> None:
        """Write ``arrays.npz`` and ``model.json`` into ``folder``, with no lock: ``save``
        holds ``folder``'s; ``visrec train`` writes a fresh temporary folder that only it
        knows, under the output's lock."""
        # what load checks (a device="gpu9" set since would not load), and values the
        # arrays were not learned with; save and visrec train both write through here
        self.check_params()
        self.check_params_unchanged()
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            **pack_ids("user_ids", self.user_map_.to_list()),
            **pack_ids("item_ids", self.item_map_.to_list()),
            "seen_indptr": self.seen_.indptr,
            "seen_indices": self.seen_.indices,
        }
        if self.excluded_ is not None:
            arrays["excluded_indptr"] = self.excluded_.indptr
            arrays["excluded_indices"] = self.excluded_.indices
        for attr in self._array_attrs:
            if attr in self._arrays_before_added and self._derivable(attr):
                continue  # load's _after_load rebuilds it, as for an older folder
            arrays[attr] = np.asarray(getattr(self, attr))
        # the two files are replaced one after the other: a crash between them would
        # leave one save's arrays with another's model.json, which load tells by this
        token = secrets.token_hex(8)
        arrays[SAVE_TOKEN] = np.asarray(token)
        meta = {
            "model": self.name,
            "format": MODEL_FORMAT,
            SAVE_TOKEN: token,
            "params": self.get_params(),
            "visrec_version": __version__,
            "n_users": len(self.user_map_),
            "n_items": len(self.item_map_),
            # NaN / Infinity in a vectors file's metadata (Python's json writes them)
            # are no JSON: model.json stays readable by jq or JavaScript
            "vector_meta": finite_json(getattr(self, "vector_meta_", None)),
            "extra": self._extra_state(),
        }
        # written out before any file is touched: a value JSON cannot hold must not
        # leave the folder's earlier model half replaced
        try:
            text = json.dumps(meta, indent=2, default=json_default)
        except (TypeError, ValueError) as e:
            raise VisrecError(
                f"cannot save the model to {folder}: its settings or the vectors' "
                f"metadata hold a value JSON cannot hold ({e}); nothing was written"
            ) from None
        with atomic_path(folder / ARRAYS_NPZ) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        # `visrec train`'s record of an earlier fit would describe another model
        stale = folder / TRAIN_JSON
        if stale.is_file():
            stale.unlink()
        write_text_atomic(folder / MODEL_JSON, text)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Load a model saved by ``save``, of the class named in its ``model.json``.

        Parameters
        ----------
        path : str or path-like
            The folder ``save`` (or ``visrec train -o``) wrote.

        Returns
        -------
        Recommender
            The fitted model; ``Recommender.load`` gives any model, ``VBPR.load`` refuses
            a folder holding another kind.

        Raises
        ------
        TypeError
            ``path`` is no path (``None``, a number).
        VisrecError
            ``path`` is empty, no model folder, or its files are damaged or mismatched.

        Notes
        -----
        Loading runs no code from the file: arrays come from ``np.load`` with
        ``allow_pickle=False``; damaged or mismatched files are a VisrecError naming
        the file. A folder that ``visrec train`` swapped in, or that ``save`` rewrote,
        while it was read (its model.json from one save, its arrays from the next) is
        read again.
        """
        folder = _folder_arg(path, f"{cls.__name__}.load")
        for _ in range(_LOAD_TRIES - 1):
            before = _folder_identity(folder)
            try:
                return cls._load_folder(folder)
            except MixedSavesError:
                # save replaces arrays.npz, then model.json: between the two renames
                # the pair is mixed for a moment (a service reloading while it saves)
                if not _changes_soon(folder, before, _MIXED_WAIT_S):
                    raise
            except VisrecError:
                if before is None or _folder_identity(folder) == before:
                    raise
        return cls._load_folder(folder)  # the newest, whole

    @classmethod
    def _load_folder(cls, folder: Path) -> Self:
        mj = _model_json(folder)
        meta = read_model_json(mj)
        klass = _saved_class(cls, folder, mj, meta)
        model = _unfitted_model(klass, mj, meta)
        npz = folder / ARRAYS_NPZ

        def ids_read(arrays: dict[str, np.ndarray]) -> None:
            # before the training pairs: an id map one entry short is named as such,
            # not as pairs that do not fit it
            check_counts(mj, meta, len(model.user_map_), len(model.item_map_))

        # the save token before anything else of the arrays: another model's arrays
        # (a save of another kind half-way) lack this one's, a mix, not damage
        arrays = _read_arrays_and_pairs(
            klass, model, npz, ids_read, lambda arrays: check_same_save(folder, meta, arrays)
        )
        check_array_forms(npz, model, arrays)
        _set_learned_arrays(klass, model, npz, arrays)
        _set_json_state(model, folder, mj, meta)
        model.fit_params_ = dict(model.get_params())
        _rebuild_derived(model, folder, npz)
        model._check_loaded(npz)
        return cast(Self, model)  # a subclass of cls: checked above


def _folder_arg(path: object, call: str) -> Path:
    """``path`` as a ``Path``, once it names a folder: ``None`` gave os.fspath's
    ``TypeError`` naming no argument, and ``""`` is the current folder to ``Path``."""
    if not is_path(path):
        raise TypeError(f"{call}: path must be a folder's path (str or os.PathLike), got {path!r}")
    if not os.fspath(path):
        raise VisrecError(f"{call}: path is empty; name the model folder")
    return Path(path)


def _model_json(folder: Path) -> Path:
    """The ``model.json`` of ``folder``, once ``folder`` is a folder holding one as a
    regular file."""
    mj = folder / MODEL_JSON
    blocked = blocking_parent(folder)
    if blocked is not None:  # said as save says it: not only "does not exist"
        raise InputNotFoundError(folder, f"cannot load the model from {str(folder)!r}: {blocked}")
    check_input_exists(folder, "model folder")
    if folder.is_file():
        raise VisrecError(
            f"{folder} is a file; give the model folder (the one holding {MODEL_JSON})"
        )
    if not mj.is_file():
        what = not_regular(mj)  # a folder or a pipe of that name is not "no model.json"
        if what is not None:
            raise VisrecError(f"{mj} is {what}, not the model's JSON file; train it again")
        raise VisrecError(f"{folder}: not a visrec model folder (no {MODEL_JSON})")
    return mj


def _saved_class(
    cls: type[SaveLoadMixin], folder: Path, mj: Path, meta: dict[str, Any]
) -> type[Recommender]:
    """The model class ``model.json`` names: ``cls`` or a subclass of it (any model for
    ``Recommender.load``)."""
    from visrec.models.base import Recommender
    from visrec.models.registry import get_model_class, is_model_name

    name = meta["model"]
    if cls is not Recommender and cls.name == name:
        # the class asked, when the registry knows no kind of it: the user's own (a
        # subclass of a registered model keeps its name, and its own code)
        try:
            registered: type[Recommender] | None = get_model_class(name)
        except (ImportError, AttributeError, VisrecError):
            registered = None
        if registered is None or not issubclass(registered, cls):
            return cast("type[Recommender]", cls)
    own: list[type[Recommender]] = []
    if not is_model_name(name):
        # a model class of the user's own, not in the registry (a notebook's): one
        # defined in this process, chosen among classes already there (nothing the
        # file names is imported; a registered or installed one is what the user chose)
        own = _defined_classes(name)
        if len(own) > 1:
            raise VisrecError(
                f"{mj}: several model classes defined here are named {name!r} ("
                + ", ".join(map(class_path, own))
                + "); load it with that class's load"
            )
    try:
        klass = own[0] if own else get_model_class(name)
    except VisrecError as exc:  # a model of a newer visrec, or a class not defined here
        if is_model_name(name):  # a plugin that fails to import: no advice to define it
            raise VisrecError(f"{mj}: {exc}") from exc
        raise VisrecError(
            f"{mj}: {exc}. Saved by a newer visrec (upgrade it), or by a model class of "
            "your own: define or import that class first (or register_model it, or install "
            "the package that provides it), then load"
        ) from exc
    if cls is not Recommender and not issubclass(klass, cls):
        saved = repr(meta["model"])
        raise VisrecError(f"{folder} holds {a_or_an(saved)} {saved} model, not {cls.name!r}")
    return klass


def _defined_classes(name: str) -> list[type[Recommender]]:
    """The subclasses of ``Recommender`` defined in this process whose ``name`` is ``name``
    (a class redefined in a notebook cell counts once: the newest)."""
    from visrec.models.base import Recommender

    found: dict[str, type[Recommender]] = {}
    # breadth first, from the front: __subclasses__ lists a class's subclasses in the
    # order they were made, so a cell run again comes after the first one's class
    # (popped from the back, the first one's, older, class won)
    queue = list(Recommender.__subclasses__())
    while queue:
        klass = queue.pop(0)
        queue.extend(klass.__subclasses__())
        if klass.__dict__.get("name") == name:
            key = class_path(klass)
            # later: newer, among classes under one base; the one its module names now
            # wins over both (a cell run again with another base comes earlier here)
            if key not in found or not _named_by_module(found[key]):
                found[key] = klass
    return list(found.values())


def _named_by_module(klass: type) -> bool:
    """Whether ``klass``'s module names it now (a notebook's ``__main__.Mine`` is the
    newest cell's class)."""
    module = sys.modules.get(klass.__module__)
    return getattr(module, klass.__qualname__, None) is klass


def _unfitted_model(klass: type[Recommender], mj: Path, meta: dict[str, Any]) -> Recommender:
    """A ``klass`` with the saved hyperparameters, checked."""
    # a model.json older than a hyperparameter: the value it was trained with, not
    # today's default
    params = {**klass._params_before_added, **meta.get("params", {})}
    try:
        model = klass(**params)
    except TypeError as exc:  # a parameter this version's model does not take
        raise VisrecError(f"{mj}: parameters do not fit model {meta['model']!r} ({exc})") from exc
    try:  # an edited value ("factors": "x") would fail later, deep in scoring
        model.check_params()
    except VisrecError as exc:
        raise VisrecError(f"{mj}: {exc}") from exc
    return model


def _read_arrays_and_pairs(
    klass: type[Recommender],
    model: Recommender,
    npz: Path,
    ids_read: Callable[[dict[str, np.ndarray]], None],
    same_save: Callable[[dict[str, np.ndarray]], None],
) -> dict[str, np.ndarray]:
    """Every array of ``npz``, once those ``klass`` needs are there; sets ``model``'s id
    maps and training pairs (and excluded pairs) from them, calling ``same_save`` on the
    arrays as read and ``ids_read`` between the two."""
    # from base, at call time: read_arrays is looked up where callers (and tests)
    # patch it, as when load stood in base
    from visrec.models.base import read_arrays

    arrays = read_arrays(npz)
    same_save(arrays)
    own = [a for a in klass._array_attrs if a not in klass._arrays_before_added]
    ids = (*id_keys(arrays, "user_ids"), *id_keys(arrays, "item_ids"))
    require_arrays(npz, arrays, (*ids, "seen_indptr", "seen_indices", *own))
    model.user_map_ = unpack_ids(npz, arrays, "user_ids")
    model.item_map_ = unpack_ids(npz, arrays, "item_ids")
    ids_read(arrays)
    # checked in full before scipy sees them: an index out of range makes tocsc()
    # write outside its buffer (a segmentation fault, not an exception)
    model.seen_ = seen_matrix(npz, arrays, len(model.user_map_), len(model.item_map_))
    if "excluded_indptr" in arrays or "excluded_indices" in arrays:
        n_u, n_i = len(model.user_map_), len(model.item_map_)
        model.excluded_ = seen_matrix(npz, arrays, n_u, n_i, "excluded")
    return arrays


def _set_learned_arrays(
    klass: type[Recommender], model: Recommender, npz: Path, arrays: dict[str, np.ndarray]
) -> None:
    """Set ``model``'s learned arrays (``_array_attrs``) that ``arrays`` holds, once
    each is finite (and positive where it must be)."""
    for attr in klass._array_attrs:
        if attr in arrays:
            value = arrays[attr]
            # a NaN here reaches every score silently: those items rank last for all;
            # a 1e30 puts one item first for all
            if value.dtype.kind == "f" and not usable_values(value):
                raise VisrecError(f"{npz}: {attr} holds {UNUSABLE_VALUES}; train the model again")
            # a scale divides: 0 makes every new item's score NaN, < 0 flips them
            if attr in klass._positive_arrays and not (value > 0).all():
                raise VisrecError(
                    f"{npz}: {attr} must be positive, holds {float(value.min())}; train the "
                    "model again"
                )
            setattr(model, attr, value)


def _set_json_state(model: Recommender, folder: Path, mj: Path, meta: dict[str, Any]) -> None:
    """Set ``model``'s state saved in ``model.json``: the vectors' description and what
    ``_extra_state`` returned."""
    # what the backbone check of new items reads: a damaged one would skip it silently
    vm = meta.get("vector_meta")
    wrong = None
    if vm is None and "vector_meta" in meta and model.uses_vectors:
        wrong = "null, but the model was trained on image vectors (visrec saves their description)"
    elif vm is not None and not isinstance(vm, dict):
        wrong = f"{vm!r}, not an object (the vectors' backbone and dim)"
    elif isinstance(vm, dict) and not isinstance(vm.get("backbone", ""), str):
        wrong = f"an object whose backbone {vm['backbone']!r} is not a name"
    elif isinstance(vm, dict) and not isinstance(vm.get("preprocessing", {}), dict):
        wrong = f"an object whose preprocessing {vm['preprocessing']!r} is not an object"
    if wrong is not None:
        raise VisrecError(f"{mj}: vector_meta is {wrong}; train the model again")
    if vm is not None:
        model.vector_meta_ = vm
    extra = meta.get("extra", {})
    if not isinstance(extra, dict):
        raise VisrecError(f"{mj}: extra is {extra!r}, not an object; train the model again")
    try:
        model._set_extra_state(extra)
    except VisrecError as exc:  # say which folder
        raise VisrecError(f"{folder}: {exc}") from exc
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise VisrecError(
            f"{mj}: unusable saved state ({one_line(exc)}); train the model "
            f"again{_own_code_hint(type(model))}"
        ) from exc


def _own_code_hint(klass: type) -> str:
    """For a model class that is not visrec's (a plugin's, a notebook's): its code may be
    what does not fit, as ``train`` saves what ``fit`` made without scoring it, and
    training again would save the same."""
    if not outside_visrec(klass):
        return ""
    return (
        f", or check the code of {class_path(klass)} (not visrec's), which training again "
        "would not change"
    )


def _rebuild_derived(model: Recommender, folder: Path, npz: Path) -> None:
    """``model._after_load()``, its failures one line naming the folder or the arrays."""
    try:
        model._after_load()
    except VisrecError as exc:
        raise VisrecError(f"{folder}: {exc}") from exc
    except DAMAGE as exc:  # arrays of the wrong shape or kind
        raise VisrecError(
            f"{npz}: the saved arrays do not fit together ({one_line(exc)}); train the model "
            f"again{_own_code_hint(type(model))}"
        ) from exc


#: reads of a folder that keeps changing under ``load`` before the last one is final
_LOAD_TRIES = 5
#: how long ``load`` waits for a save's second file when it found the two mixed
_MIXED_WAIT_S = 0.5


def _folder_identity(folder: Path) -> tuple[int, ...] | None:
    """Which folder ``folder`` names now, and which files are in it (device, inodes,
    sizes, times): ``visrec train`` swaps a new folder in, ``save`` new files."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    key: tuple[int, ...] = (st.st_dev, st.st_ino)
    for name in (MODEL_JSON, ARRAYS_NPZ):
        key += file_version(folder / name) or (-1, -1, -1, -1)
    return key


def _changes_soon(folder: Path, before: tuple[int, ...] | None, wait: float) -> bool:
    """Whether ``folder``'s :func:`_folder_identity` differs from ``before`` within
    ``wait`` seconds (a save's second rename landing); False after that."""
    deadline = time.monotonic() + wait
    while _folder_identity(folder) == before:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def _refuse_foreign_folder(folder: Path) -> None:
    """Refuse a folder that holds files but no visrec model: saving there would overwrite
    a ``model.json`` or ``arrays.npz`` of the user's own without a word. A new or empty
    folder, or an earlier model's (whose two files a save replaces), is fine."""
    try:
        # hidden files (.DS_Store, .ipynb_checkpoints) are never overwritten
        held = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    except FileNotFoundError:
        return
    except OSError as exc:  # a folder it may not list: refused, as every failed save is
        raise write_error(
            f"cannot save the model to {str(folder)!r}: {exc.strerror or exc}", exc
        ) from None
    # what a save stopped between its two files leaves: visrec's own, saved over
    leftover = (
        ARRAYS_NPZ in held
        and set(held) <= {ARRAYS_NPZ, TRAIN_JSON}
        and _saved_arrays(folder / ARRAYS_NPZ)
    )
    if held and not leftover and not is_model_folder(folder):
        shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        raise VisrecError(
            f"cannot save the model to {str(folder)!r}: it holds {shown} but no visrec "
            "model.json; save to a new or empty folder, or an earlier model's folder"
        )


def _saved_arrays(path: Path) -> bool:
    """Whether ``path`` is an ``arrays.npz`` a save wrote (it holds the save token)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return f"{SAVE_TOKEN}.npy" in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
