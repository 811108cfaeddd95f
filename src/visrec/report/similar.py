"""An HTML page of ``visrec similar``: each query's photo next to its neighbours' photos.

The question is visual (do the nearest vectors look alike?), so the page shows the
pictures, each with its rank and cosine; without a photo an item is a grey tile with
its id. Self-contained (photos as small embedded JPEGs, no scripts, no links out),
every id escaped, written atomically.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from visrec._atomic import write_text_atomic
from visrec.data.id_spelling import look_alikes
from visrec.errors import shown
from visrec.report.html import (
    _e,
    _kv_table,
    _note,
    _section,
    data_name,
    id_html,
    page_foot,
    page_head,
    photo_tile,
)
from visrec.report.plots import thumbnail_jpeg

__all__ = ["any_photo_shown", "render_similar_report", "write_similar_report"]


def any_photo_shown(results: Sequence[Any], photos: Mapping[str, Path] | None) -> bool:
    """Whether ``photos`` holds the photo of any query or neighbour in ``results``."""
    on_page = {str(r.query) for r in results} | {str(i) for r in results for i in r.ids}
    return bool(on_page & set(photos or {}))


def render_similar_report(
    results: Sequence[Any],
    photos: Mapping[str, Path] | None,
    info: Mapping[str, Any],
    notes: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> str:
    """The page: one row per query (``Neighbours``: ``query``, ``ids``, ``scores``), under
    ``notes`` (what the command also said on stderr: short lists, unreadable photos);
    ``labels`` (item id -> a title or category) are shown under the ids."""
    photos = photos or {}
    labels = labels or {}
    shared, style = _shared_photos(results, photos)
    # café in two Unicode forms: two ids that would read alike on the page
    alike = look_alikes(str(i) for r in results for i in (r.query, *r.ids))

    def tile(item: str, caption: str, cls: str | None = None) -> str:
        named = f"{shown(str(labels[item]))} · {caption}" if item in labels else caption
        if item in shared:
            marked = f' class="{cls}"' if cls else ""
            under = f"<br>{_e(named)}"
            return (
                f'<figure{marked}><span class="thumb shared {shared[item]}" role="img" '
                f'aria-label="photo"></span><figcaption>{id_html(item, item in alike)}{under}'
                "</figcaption></figure>"
            )
        return photo_tile(item, photos.get(item), named, cls, as_escapes=item in alike)

    rows = []
    for res in results:
        query = str(res.query)
        tiles = [tile(query, "query", "query")]
        tiles += [
            tile(str(i), f"{rank}. cosine {score:.3f}")
            for rank, (i, score) in enumerate(zip(res.ids, res.scores, strict=True), 1)
        ]
        empty = "" if len(res.ids) else _note("no other item has a usable image", "skipped")
        named = f" ({id_html(labels[query])})" if query in labels else ""
        rows.append(
            f"<h3>items most like {id_html(query, query in alike)}{named}</h3>"
            f'<div class="tiles">{"".join(tiles)}</div>{empty}'
        )
    how = (
        "Nearest neighbours by cosine similarity of the image vectors (1 = same "
        "direction), best first; the query itself is never listed. If the vectors capture "
        "what a product looks like, each row shows look-alikes. A grey tile marked ? is a "
        "photo that is missing or cannot be read."
    )
    said = "".join(_note(n) for n in notes)
    if any_photo_shown(results, photos):
        missing = ""
    elif info.get("images"):
        missing = _note(
            f"no photos: {info['images']} holds no <item_id>.<ext> image of these items",
            "skipped",
        )
    else:
        missing = _note("no photos: give --images DIR to see them", "skipped")
    return "\n".join(
        [
            *page_head(
                "visrec similar: items that look alike"
                + (f" in {name}" if (name := data_name(info.get("vectors"))) else ""),
                style,
            ),
            _kv_table(dict(info)),
            _section(
                "neighbours",
                "Neighbours",
                _note(how, "explain") + said + missing + "".join(rows),
            ),
            *page_foot(),
        ]
    )


def _shared_photos(
    results: Sequence[Any], photos: Mapping[str, Path]
) -> tuple[dict[str, str], str]:
    """For each item shown more than once with a readable photo: a CSS class holding
    its thumbnail once (``{item: "p3"}``), and the CSS rules that define them. A page
    of 300 queries showed ~3,300 tiles of ~1,300 photos, each embedded again: 8 MB."""
    counts = Counter(str(i) for r in results for i in [r.query, *r.ids])
    shared: dict[str, str] = {}
    rules = []
    for item, n in counts.items():
        if n < 2 or item not in photos:
            continue
        jpg = thumbnail_jpeg(photos[item])
        if jpg is None:
            continue  # photo_tile draws its "?" tile
        name = f"p{len(shared)}"
        shared[item] = name
        data = base64.b64encode(jpg).decode("ascii")
        rules.append(f".{name}{{background-image:url(data:image/jpeg;base64,{data})}}")
    return shared, "".join(rules)


def write_similar_report(
    path: str | os.PathLike[str],
    results: Sequence[Any],
    photos: Mapping[str, Path] | None,
    info: Mapping[str, Any],
    notes: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> Path:
    """Render the page and write it to ``path`` atomically."""
    target = Path(path)
    write_text_atomic(target, render_similar_report(results, photos, info, notes, labels))
    return target
