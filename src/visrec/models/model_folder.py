"""The files of a saved model folder: ``model.json`` (name, hyperparameters, JSON
state) and ``arrays.npz`` (id maps, the training matrix, learned arrays; read without
pickle), and the checks that refuse a damaged or mismatched folder with one line
naming the file, instead of a failure deep inside scoring."""

from __future__ import annotations

import itertools
import json
import math
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from visrec._atomic import not_regular
from visrec.data.interactions import IdMap
from visrec.errors import MixedSavesError, VisrecError, agree, read_error

if TYPE_CHECKING:
    from visrec.models.base import Recommender

MODEL_JSON = "model.json"
ARRAYS_NPZ = "arrays.npz"
#: in both files of a save (see ``Recommender.save``)
SAVE_TOKEN = "save_token"
#: ``visrec train``'s record of the fit (inputs, seconds), next to the model's files
TRAIN_JSON = "train.json"
#: the layout of a model folder this version writes and reads. Raised for a change an
#: older visrec would misread: a changed meaning, or an added array that changes which
#: items are listed or how they score (an older reader ignores arrays it does not know,
#: so it would list other items without a word). Not for an added hyperparameter or an
#: array whose absence changes nothing, which load fills from ``_params_before_added`` /
#: ``_arrays_before_added``. A folder without it is format 1
MODEL_FORMAT = 1


def read_model_json(mj: Path) -> dict[str, Any]:
    """``model.json`` as a dict with a ``model`` name; a one-line error otherwise."""
    try:
        meta = json.loads(mj.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise VisrecError(f"{mj}: invalid JSON ({exc})") from exc
    except RecursionError as exc:
        raise VisrecError(f"{mj}: invalid JSON (nested too deep)") from exc
    except OSError as exc:  # no permission: the system's refusal, exit 1
        raise read_error(f"{mj}: cannot be read ({exc.strerror or exc})", exc) from exc
    except UnicodeDecodeError as exc:
        raise VisrecError(f"{mj}: cannot be read ({exc})") from exc
    except ValueError as exc:  # Python's limit on the digits of a number read from text
        raise VisrecError(f"{mj}: invalid JSON (a number too long to read)") from exc
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("model"), str)
        or not isinstance(meta.get("params", {}), dict)
    ):
        raise VisrecError(
            f"{mj}: not a visrec {MODEL_JSON} (expected an object with a 'model' name "
            "and a 'params' object)"
        )
    check_format(mj, meta)
    return meta


def read_train_json(tj: Path) -> dict[str, Any]:
    """``visrec train``'s record in a model folder (``train.json``: the ``vectors`` and
    ``interactions`` paths it read...) as a dict; {} when there is no such file. Raises
    ``VisrecError`` naming the file when it is there but unreadable or not a JSON
    object; each caller decides what that costs (a note, or nothing)."""
    if not tj.is_file():
        return {}
    try:
        record = json.loads(tj.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # not UTF-8 or not JSON
        raise VisrecError(f"{tj} is unreadable ({exc})") from exc
    if not isinstance(record, dict):
        raise VisrecError(f"{tj} is not a JSON object")
    return record


def check_format(mj: Path, meta: dict[str, Any]) -> None:
    """Refuse a folder saved in a newer layout than this version reads: its arrays
    could load and score wrongly, without any error."""
    fmt = meta.get("format", 1)
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt < 1:
        raise VisrecError(f"{mj}: 'format' must be a whole number >= 1, not {fmt!r}")
    if fmt > MODEL_FORMAT:
        by = meta.get("visrec_version")
        raise VisrecError(
            f"{mj}: saved in model format {fmt}"
            + (f" (by visrec {by})" if isinstance(by, str) else "")
            + f"; this visrec reads format {MODEL_FORMAT} and older: upgrade visrec, or "
            "train the model again with this one"
        )


def read_arrays(npz: Path) -> dict[str, np.ndarray]:
    """Every array of ``npz`` (no pickles); a one-line error naming the file when it is
    missing, truncated or corrupt (``require_arrays`` checks that the needed ones are there)."""
    if not npz.is_file():
        what = not_regular(npz)
        if what is not None:
            raise VisrecError(f"{npz} is {what}, not the model's arrays; train it again")
        raise VisrecError(f"{npz}: missing; the model folder is incomplete (train it again)")
    try:
        # our own handle: np.load of a damaged zip leaks the one it opens, and the
        # error (kept by a notebook) held the file open
        fh = open(npz, "rb")  # noqa: SIM115 -- closed by the with below
    except OSError as exc:  # no permission: the system's refusal (exit 1), as model.json's
        raise read_error(f"{npz}: cannot be read ({exc.strerror or exc})", exc) from exc
    try:
        with fh:
            z = np.load(fh, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):  # a lone .npy array saved there
                raise VisrecError(
                    f"{npz}: a single .npy array, not the model's .npz archive of arrays; "
                    "train the model again"
                )
            with z:
                arrays = {k: z[k] for k in z.files}
    # NotImplementedError / RuntimeError: zipfile on an unknown compression method or an
    # encrypted member; MemoryError: a damaged header declaring a huge shape
    # SyntaxError / TokenError: a damaged .npy header (numpy parses it as Python text)
    except (
        OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
        RuntimeError, MemoryError, SyntaxError, tokenize.TokenError,
    ) as exc:  # fmt: skip
        raise VisrecError(
            f"{npz}: unreadable or corrupt ({type(exc).__name__}: {exc}); train the model again"
        ) from exc
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):  # np.load gives a non-.npy member as bytes
            raise VisrecError(
                f"{npz}: member {name!r} is not a .npy array; the file is damaged (train the "
                "model again)"
            )
    return arrays


#: what arrays of the wrong shape or kind raise inside numpy and the models
DAMAGE: tuple[type[Exception], ...] = (IndexError, ValueError, TypeError, RuntimeError)
DAMAGE_OR_REFUSED: tuple[type[Exception], ...] = (*DAMAGE, VisrecError)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, VisrecError) else text


def check_same_save(folder: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """``model.json`` and ``arrays.npz`` must come from one ``save`` (folders saved
    before the token existed have it in neither file)."""
    ours = meta.get(SAVE_TOKEN)
    theirs = str(arrays[SAVE_TOKEN]) if SAVE_TOKEN in arrays else None
    if ours != theirs:
        raise MixedSavesError(
            f"{folder}: {MODEL_JSON} and {ARRAYS_NPZ} come from two different saves (an "
            "interrupted save or a file copied in); train the model again"
        )


def check_counts(mj: Path, meta: dict[str, Any], n_users: int, n_items: int) -> None:
    """``model.json``'s ``n_users``/``n_items`` must be the id maps' sizes: a folder
    with arrays from one fit and a model.json from another is refused."""
    for key, n in (("n_users", n_users), ("n_items", n_items)):
        value = meta.get(key)
        if key in meta and (not isinstance(value, int) or isinstance(value, bool)):
            raise VisrecError(
                f"{mj}: {key} is {value!r}, not a whole number; train the model again"
            )
        if key in meta and meta[key] != n:
            raise VisrecError(
                f"{mj}: {key} is {meta[key]!r}, but {ARRAYS_NPZ} holds {n:,} "
                f"{key[2:-1]} ids (files of two different fits?); train the model again"
            )


def check_array_forms(
    npz: Path | str,
    model: Recommender,
    arrays: dict[str, np.ndarray],
    advice: str = "train the model again",
) -> None:
    """Kind and shape of every saved array against ``_array_dims``: a mask saved as
    integers, a vector where a matrix belongs or a factor width that is not the one in
    ``model.json`` would otherwise load and score wrongly, or fail deep in scoring.
    ``npz`` starts each message and ``advice`` ends it (``fit`` checks its own arrays
    so, saying what to fix in the model)."""
    sizes: dict[str, int] = {
        "users": len(model.user_map_),
        "items": len(model.item_map_),
        **model._expected_dims(),
    }
    source = {"users": "the user ids", "items": "the item ids"}
    source.update({d: f"{MODEL_JSON}'s {d}" for d in sizes if d not in source})
    masks = set(model._mask_arrays)
    for attr, dims in model._array_dims.items():
        if attr not in arrays:
            continue
        value = arrays[attr]
        kind = "b" if attr in masks else "f"
        if value.dtype.kind != kind:
            want = "true/false values" if kind == "b" else "floating-point numbers"
            raise VisrecError(
                f"{npz}: {attr} holds {value.dtype} values, expected {want}; {advice}"
            )
        named = ", ".join(str(d) for d in dims)
        if value.ndim != len(dims):
            raise VisrecError(
                f"{npz}: {attr} has shape {value.shape}, expected ({named}); {advice}"
            )
        for axis, (size, dim) in enumerate(zip(value.shape, dims, strict=True)):
            if dim == "*":
                continue
            if isinstance(dim, str) and dim not in sizes:
                sizes[dim], source[dim] = size, attr
            want_size = dim if isinstance(dim, int) else sizes[dim]
            if size != want_size:
                given = "" if isinstance(dim, int) else f" from {source[dim]}"
                raise VisrecError(
                    f"{npz}: {attr} has shape {value.shape}, expected ({named}) with "
                    f"{dim} = {want_size:,}{given} (axis {axis}); {advice}"
                )


def require_arrays(npz: Path, arrays: dict[str, np.ndarray], needed: tuple[str, ...]) -> None:
    missing = [k for k in needed if k not in arrays]
    if missing:
        raise VisrecError(
            f"{npz}: missing {agree(len(missing), 'array', 'arrays')} {', '.join(missing)}; "
            "train the model again"
        )


def pack_ids(name: str, ids: list[str]) -> dict[str, np.ndarray]:
    """Ids as ``NAME_utf8`` (their UTF-8 bytes, concatenated) and ``NAME_offsets``
    (int64, ``n + 1``: id ``k`` is bytes ``offsets[k]:offsets[k + 1]``).

    A fixed-width string array would take ``n x longest id x 4`` bytes: one 100,000
    character id made a 3,000-item model 364 MB. ``surrogatepass`` lets any ``str``
    round-trip, even one holding a lone surrogate."""
    encoded = [i.encode("utf-8", "surrogatepass") for i in ids]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    return {
        f"{name}_utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        f"{name}_offsets": offsets,
    }


def id_keys(arrays: dict[str, np.ndarray], name: str) -> tuple[str, ...]:
    """The arrays that hold the ids ``name``: a folder saved before ``pack_ids`` has
    one fixed-width string array under ``name`` itself."""
    if name in arrays and f"{name}_utf8" not in arrays:
        return (name,)
    return (f"{name}_utf8", f"{name}_offsets")


def unpack_ids(npz: Path, arrays: dict[str, np.ndarray], name: str) -> IdMap:
    """The id map ``pack_ids`` wrote (or an older folder's string array); a one-line
    error naming ``npz`` when the arrays are inconsistent or hold duplicate ids."""

    def bad(why: str) -> VisrecError:
        return VisrecError(f"{npz}: {name} {why}; train the model again")

    keys = id_keys(arrays, name)
    if len(keys) == 1:
        old = arrays[name]
        if old.ndim != 1:
            raise bad(f"must be one-dimensional, got shape {old.shape}")
        if old.dtype.kind != "U":  # what older visrec wrote; str() of bytes is "b'7'"
            raise bad(f"must be an array of strings, got {old.dtype}")
        ids: list[str] = [str(x) for x in old]
    else:
        data, offsets = arrays[keys[0]], arrays[keys[1]]
        if data.dtype != np.uint8 or data.ndim != 1:
            raise bad(f"bytes must be a 1-d uint8 array, got {data.dtype} {data.shape}")
        if offsets.dtype.kind not in "iu" or offsets.ndim != 1 or len(offsets) == 0:
            raise bad(
                "offsets must be a non-empty 1-d integer array, "
                f"got {offsets.dtype} {offsets.shape}"
            )
        ends = offsets.astype(np.int64)
        if ends[0] != 0 or ends[-1] != len(data) or (np.diff(ends) < 0).any():
            raise bad(f"offsets must rise from 0 to {len(data):,} (the byte count)")
        buf = data.tobytes()
        try:
            ids = [
                buf[a:b].decode("utf-8", "surrogatepass")
                for a, b in itertools.pairwise(ends.tolist())
            ]
        except UnicodeDecodeError as exc:
            raise bad(f"holds invalid UTF-8 ({exc.reason})") from exc
    try:
        return IdMap(np.asarray(ids, dtype=object))
    except VisrecError as exc:  # a duplicate id
        raise VisrecError(f"{npz}: {exc}; train the model again") from exc


def seen_matrix(
    npz: Path, arrays: dict[str, np.ndarray], n_users: int, n_items: int, name: str = "seen"
) -> sp.csr_matrix:
    """The training matrix from ``seen_indptr``/``seen_indices`` (or another ``name``'s
    pair, such as ``excluded``), checked in full: ``indptr`` rises from 0 to
    ``len(indices)`` over ``n_users + 1`` entries and every index lies in
    ``[0, n_items)``."""
    require_arrays(npz, arrays, (f"{name}_indptr", f"{name}_indices"))
    indptr, indices = arrays[f"{name}_indptr"], arrays[f"{name}_indices"]
    why = None
    if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu":
        why = f"must be integers, got {indptr.dtype} and {indices.dtype}"
    elif indptr.ndim != 1 or indices.ndim != 1:
        why = f"must be one-dimensional, got shapes {indptr.shape} and {indices.shape}"
    elif len(indptr) != n_users + 1:
        why = f"{name}_indptr has {len(indptr):,} entries for {n_users:,} users (expected n + 1)"
    # in int64: np.diff of an unsigned indptr wraps a fall round to a huge rise
    elif (
        indptr[0] != 0 or indptr[-1] != len(indices) or (np.diff(indptr.astype(np.int64)) < 0).any()
    ):
        why = f"{name}_indptr must rise from 0 to {len(indices):,} (the number of entries)"
    elif len(indices) and (indices.min() < 0 or indices.max() >= n_items):
        bad = indices[(indices < 0) | (indices >= n_items)][0]
        why = f"{name}_indices holds item index {int(bad)}; the model has {n_items:,} items"
    else:
        why = _pair_twice(name, indptr, indices, n_items)
    if why is not None:
        raise VisrecError(
            f"{npz}: the {name}_ arrays do not fit the id maps ({why}); train the model again"
        )
    return sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(n_users, n_items)
    )


def _pair_twice(name: str, indptr: np.ndarray, indices: np.ndarray, n_items: int) -> str | None:
    """Words for a (user, item) pair listed twice in a row of the CSR arrays, or None:
    one would load as a training pair of weight 2 (``save`` writes each pair once)."""
    if len(indices) < 2:
        return None
    # no int64 copy of a large int32 array for the common case; unsigned would wrap
    ind = indices if indices.dtype.kind == "i" else indices.astype(np.int64)
    same_row = np.ones(len(ind) - 1, dtype=bool)
    starts = indptr[1:-1].astype(np.int64)
    same_row[starts[(starts > 0) & (starts < len(ind))] - 1] = False
    if not (np.diff(ind)[same_row] <= 0).any():
        return None  # rising within every row, as save writes them: no pair twice
    # not sorted: find a repeat by sorting the pairs (a folder saved otherwise)
    rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    pairs = np.sort(rows * max(n_items, 1) + ind.astype(np.int64))
    twice = np.flatnonzero(pairs[1:] == pairs[:-1])
    if not len(twice):
        return None
    user, item = divmod(int(pairs[twice[0]]), max(n_items, 1))
    return f"{name}_indices lists item index {item} twice for user index {user}"


def finite_json(obj: Any, _within: frozenset[int] = frozenset()) -> Any:
    """``obj`` with every float that is NaN or infinite (in dicts and lists) as None. A
    container inside itself is left as it is, for ``json.dumps`` to refuse in words."""
    if isinstance(obj, np.ndarray) and obj.ndim == 0:  # tolist() gives no list of it
        return finite_json(obj.item(), _within)
    if isinstance(obj, dict | list | tuple | np.ndarray):
        if id(obj) in _within:
            return obj
        inner = _within | {id(obj)}
        if isinstance(obj, dict):
            return {k: finite_json(v, inner) for k, v in obj.items()}
        items = obj.tolist() if isinstance(obj, np.ndarray) else obj
        return [finite_json(v, inner) for v in items]
    if isinstance(obj, float | np.floating) and not math.isfinite(obj):
        return None
    return obj


def json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):  # e.g. a preprocessing mean in the vectors' meta
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def is_model_folder(folder: Path) -> bool:
    """True when ``folder`` holds a ``model.json`` as ``Recommender.save`` writes it
    (a regular file: reading a pipe there would wait for ever); ``visrec train`` replaces
    only such a folder."""
    from visrec._atomic import not_regular

    if not_regular(folder / MODEL_JSON) is not None:
        return False
    try:
        meta = json.loads((folder / MODEL_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # UnicodeDecodeError, JSON errors too
        return False
    return isinstance(meta, dict) and "model" in meta and "visrec_version" in meta
