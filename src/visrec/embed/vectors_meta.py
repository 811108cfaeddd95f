"""The metadata of a vectors file: the JSON under the ``visrec`` key of its Parquet
schema (backbone, dim, preprocessing, weights, ``vectors_format``, visrec version),
its checks on read and write, and how a model's record of its vectors is compared
with a file's (:func:`backbone_names`, :func:`made_differently`).
"""

from __future__ import annotations

import json
import os
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from visrec.errors import VisrecError

META_KEY = b"visrec"


#: the layout of a vectors file's columns and metadata (``vectors_format``; a chunk
#: file's ``format`` is its own); a reader refuses a later one (files from before it
#: was recorded hold the first)
VECTORS_FORMAT = 1


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def vectors_schema(dim: int, meta: dict[str, Any] | None = None) -> pa.Schema:
    """The Parquet schema of a vectors file: item_id, vector (fixed-size float32), has_image,
    with ``meta`` (plus ``dim``) as JSON under the ``visrec`` metadata key."""
    schema = pa.schema(
        [
            ("item_id", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)),
            ("has_image", pa.bool_()),
        ]
    )
    full = {**(meta or {}), "dim": dim, "vectors_format": VECTORS_FORMAT}

    def numpy_values(o: Any) -> Any:  # np.float32(0.5) in a meta made in memory
        if isinstance(o, np.generic | np.ndarray):
            return o.tolist()
        raise TypeError(f"{type(o).__name__} {o!r} is not a JSON value")

    try:
        text = json.dumps(full, sort_keys=True, default=numpy_values)
    except (TypeError, ValueError) as exc:  # a set, an object, a dict that holds itself
        raise VisrecError(
            f"item vectors: meta must hold JSON values (text, numbers, lists, dicts): {exc}"
        ) from None
    if problem := _meta_problem(json.loads(text)):
        # written, it would be refused on read as damaged
        raise VisrecError(f"item vectors: meta {problem}")
    return schema.with_metadata({META_KEY: text.encode()})


#: meta an embed run writes about the file's own rows: its row groups (one per chunk,
#: reused by the next run when their fingerprint matches), their engines, the images
#: to compute again, the failures and counts. True of that file only: a copy of the
#: vectors written otherwise (a subset, a join) or a model trained on them drops it.
EMBED_RUN_KEYS = (
    "chunk_size",
    "chunks",
    "engines",
    "retry",
    "failures",
    "n",
    "n_ok",
    "image_key",
)


def described(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` without the embed run's record of its file (:data:`EMBED_RUN_KEYS`): what
    the vectors are (backbone, weights, preprocessing, dim), which any copy keeps."""
    return {k: v for k, v in meta.items() if k not in EMBED_RUN_KEYS}


def read_vectors_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Only the schema metadata of a vectors file (cheap). ``dim`` is the width of the
    ``vector`` column where the schema fixes one: the data, not what the metadata says."""
    schema = pq.read_schema(os.fspath(path))
    meta = parse_meta((schema.metadata or {}).get(META_KEY), os.fspath(path))
    if "vector" in schema.names:
        kind = schema.field("vector").type
        if pa.types.is_fixed_size_list(kind):
            meta = {**meta, "dim": kind.list_size}
    return meta


def _meta_problem(meta: Any) -> str | None:
    """What is wrong with a vectors file's parsed metadata, None when nothing: checked
    on read (:func:`parse_meta`) and on write (:func:`vectors_schema`), so a file that
    is written can be read."""
    if not isinstance(meta, dict):
        return f"a JSON {type(meta).__name__}, not an object"
    dim = meta.get("dim")
    if not isinstance(meta.get("backbone", ""), str):
        return f"backbone {meta['backbone']!r} is not a name"
    if not isinstance(meta.get("preprocessing", {}), dict):
        # what a model trained on the file records and checks new vectors against
        return f"preprocessing {meta['preprocessing']!r} is not an object"
    if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or dim < 1):
        return f"dim {dim!r} is not a width"
    if not _is_count(meta.get("vectors_format", 1)):
        return f"vectors_format {meta['vectors_format']!r} is not a positive integer"
    return None


def parse_meta(raw: bytes | None, source: str) -> dict[str, Any]:
    """The visrec metadata of a vectors file's schema (``{}`` when it has none); a
    one-line error naming ``source`` when it is damaged: not JSON, not an object, or a
    ``backbone`` / ``preprocessing`` / ``dim`` / ``vectors_format`` of the wrong type
    (the backbone check would be skipped, or a model trained on it refused on load)."""
    if not raw:
        return {}
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deep
        detail = f"not JSON: {exc}"
    else:
        if problem := _meta_problem(meta):
            detail = problem
        elif meta.get("vectors_format", 1) > VECTORS_FORMAT:
            raise VisrecError(
                f"{source}: written in vectors format {meta['vectors_format']} by a newer visrec "
                f"({meta.get('visrec_version') or 'version not recorded'}); this one reads "
                f"format {VECTORS_FORMAT}: upgrade visrec"
            )
        else:
            return cast(dict[str, Any], meta)
    raise VisrecError(
        f"{source}: the visrec metadata in its Parquet schema is damaged ({detail}); "
        "embed the items again"
    )


def backbone_names(trained: Any, given: Any) -> tuple[str | None, str | None]:
    """The backbone named in a model's ``vector_meta_`` and in a vectors file's meta,
    None where one does not say (a file made outside ``visrec embed``). One reading for
    ``Recommender.score_new_items`` and ``visrec recommend``, which refuse a mismatch."""

    def name(meta: Any) -> str | None:
        value = meta.get("backbone") if isinstance(meta, dict) else None
        return value if isinstance(value, str) and value else None

    return name(trained), name(given)


def made_differently(trained: Any, given: Any) -> list[str]:
    """How a vectors file's meta differs from a model's ``vector_meta_`` in the weights
    or preprocessing that make a vector (``"interpolation 'bilinear' vs 'bicubic'"``);
    empty when they agree or one does not say. A preprocessing field only one side
    records is not compared: a later visrec may describe more of the same steps."""
    if not (isinstance(trained, dict) and isinstance(given, dict)):
        return []

    def plain(x: Any) -> Any:  # JSON-read lists vs in-memory tuples and numpy values
        def default(o: Any) -> Any:
            return o.tolist() if isinstance(o, np.generic | np.ndarray) else str(o)

        return json.loads(json.dumps(x, sort_keys=True, default=default))

    def same(a: Any, b: Any) -> bool:
        a, b = plain(a), plain(b)
        if a == b:
            return True
        try:  # 0.49803922 read back vs a float32 mean in memory
            return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-6))
        except (TypeError, ValueError):
            return False

    out = []
    a, b = trained.get("weights_id"), given.get("weights_id")
    # "<file name>:<digest>": the same weights under another file name are the same
    if a is not None and b is not None and str(a).rpartition(":")[2] != str(b).rpartition(":")[2]:
        out.append(f"weights {a!r} vs {b!r}")
    pa_, pb = trained.get("preprocessing"), given.get("preprocessing")
    if isinstance(pa_, dict) and isinstance(pb, dict):
        out += [f"{k} {pa_[k]!r} vs {pb[k]!r}" for k in sorted(set(pa_) & set(pb), key=str)
                if not same(pa_[k], pb[k])]  # fmt: skip
    return out
