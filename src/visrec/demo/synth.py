"""A small product catalogue the project generates itself, offline, with known answers.

``make_catalogue`` renders flat product shots with Pillow (t-shirts, sneakers, handbags,
mugs on a white background, each with a random colour, pattern, size, position and
rotation) and invents users whose star ratings depend on what the items look like:

``rating = round(3 + colour_appeal[colour] + pattern_appeal[pattern]
                 + 0.5 * [category == user's favourite] - 0.7 * [colour == user's disliked]
                 + N(0, 0.4))`` clipped to 1..5 (appeal from +1.5 for red to -1.5 for grey).

So the right answers are known: K-means clusters of good image vectors should match the
categories, and an item's picture carries information about its ratings (bright red or
orange patterned items are liked, grey and brown plain ones are not), so a rating KNN
on image vectors should beat the majority-class baseline.

Files written under ``out_dir``::

    images/<item_id>.jpg   one product photo per item (``image_size`` px square)
    items.csv              item_id, category, colour, pattern, image
    users.csv              user_id, favourite_category, disliked_colour
    interactions.csv       user_id, item_id, rating, timestamp

Everything is deterministic for a given ``random_state``.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFilter

from visrec._atomic import atomic_path, remove_output, write_text_atomic
from visrec.errors import VisrecError

CATEGORIES: tuple[str, ...] = ("t-shirt", "sneaker", "handbag", "mug")

# name -> (RGB, appeal): appeal is the colour's contribution to every user's rating.
COLOURS: dict[str, tuple[tuple[int, int, int], float]] = {
    "red": ((200, 32, 40), 1.5),
    "orange": ((235, 120, 20), 1.0),
    "yellow": ((232, 200, 40), 0.4),
    "green": ((40, 140, 60), -0.1),
    "blue": ((35, 80, 190), 0.4),
    "purple": ((110, 50, 150), -0.6),
    "grey": ((128, 128, 128), -1.5),
    "brown": ((115, 75, 40), -1.2),
}

PATTERNS: dict[str, float] = {"plain": -0.3, "stripes": 0.4, "dots": 0.2}

# Generated image sizes accepted, in pixels: below 32 the products are unrecognisable;
# above 1024 the catalogue only costs time and disk (the backbone reads 224 px anyway).
MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 1024

FAVOURITE_BONUS = 0.5
DISLIKED_PENALTY = 0.7
NOISE_SD = 0.4


@dataclass(frozen=True)
class Catalogue:
    """Paths and counts of a generated catalogue (see the module docstring)."""

    root: Path
    images_dir: Path
    items_csv: Path
    users_csv: Path
    interactions_csv: Path
    n_items: int
    n_users: int
    n_interactions: int
    categories: tuple[str, ...]


# --- drawing ---------------------------------------------------------------------------
# Each product is a list of parts in a unit box ([-1, 1]^2, y pointing down). A part is
# (kind, points, role, width): kind "poly" (filled polygon) or "line" (thick polyline);
# role picks the paint: "body" (main colour + pattern), "accent" (darker main colour),
# "trim" (a neutral colour), "dark" (near black).

Part = tuple[str, list[tuple[float, float]], str, float]
RGB = tuple[int, int, int]


def _arc(
    cx: float, cy: float, rx: float, ry: float, a0: float = 0.0, a1: float = 360.0, n: int = 40
) -> list[tuple[float, float]]:
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(a0, a1, n)
    ]


def _tshirt(rng: np.random.Generator) -> list[Part]:
    w = rng.uniform(0.45, 0.55)  # body half-width
    sleeve = rng.uniform(0.85, 0.98)
    body = [
        (-0.22, -0.80),
        (-0.55, -0.72),
        (-sleeve, -0.36),
        (-sleeve + 0.2, -0.12),
        (-w, -0.32),
        (-w, 0.86),
        (w, 0.86),
        (w, -0.32),
        (sleeve - 0.2, -0.12),
        (sleeve, -0.36),
        (0.55, -0.72),
        (0.22, -0.80),
        *_arc(0.0, -0.80, 0.22, 0.14, 0, 180, 12)[1:-1],
    ]
    collar = _arc(0.0, -0.80, 0.22, 0.14, 0, 180, 16)
    parts: list[Part] = [
        ("poly", body, "body", 0.0),
        ("line", collar, "accent", 0.05),
        ("line", [(-sleeve + 0.03, -0.33), (-sleeve + 0.21, -0.16)], "accent", 0.04),
        ("line", [(sleeve - 0.03, -0.33), (sleeve - 0.21, -0.16)], "accent", 0.04),
    ]
    if rng.random() < 0.5:  # a chest print
        parts.append(("poly", _arc(0.0, -0.2, 0.18, 0.18, n=24), "trim", 0.0))
    return parts


def _sneaker(rng: np.random.Generator) -> list[Part]:
    h = rng.uniform(-0.05, 0.08)  # shaft height variation
    upper = [
        (-0.92, 0.28),
        (-0.90, -0.18 - h),
        (-0.62, -0.30 - h),
        (-0.40, -0.18 - h),
        (-0.18, -0.48 - h),
        (0.02, -0.44 - h),
        (0.30, -0.14),
        (0.62, -0.02),
        (0.88, 0.10),
        (0.96, 0.28),
    ]
    sole = [(-0.94, 0.26), (0.98, 0.26), (0.96, 0.44), (0.80, 0.50), (-0.90, 0.50), (-0.96, 0.40)]
    stripe = [(-0.55, 0.18), (-0.15, -0.16), (0.20, 0.05), (-0.05, 0.18)]
    laces: list[Part] = [
        (
            "line",
            [(-0.16 + 0.1 * i, -0.36 + 0.08 * i), (-0.05 + 0.1 * i, -0.40 + 0.08 * i)],
            "trim",
            0.035,
        )
        for i in range(4)
    ]
    return [
        ("poly", upper, "body", 0.0),
        ("poly", stripe, "trim", 0.0),
        ("poly", sole, "trim", 0.0),
        ("line", [(-0.94, 0.36), (0.96, 0.36)], "accent", 0.03),
        *laces,
    ]


def _handbag(rng: np.random.Generator) -> list[Part]:
    top = rng.uniform(0.55, 0.7)
    body = [(-top, -0.15), (top, -0.15), (0.88, 0.80), (-0.88, 0.80)]
    flap = [(-top, -0.15), (top, -0.15), (top * 0.9, 0.25), (0.0, 0.38), (-top * 0.9, 0.25)]
    handle = _arc(0.0, -0.15, top * 0.7, 0.62, 180, 360, 30)
    return [
        ("line", handle, "accent", 0.07),
        ("poly", body, "body", 0.0),
        ("poly", flap, "accent", 0.0),
        ("poly", _arc(0.0, 0.30, 0.07, 0.07, n=16), "trim", 0.0),
    ]


def _mug(rng: np.random.Generator) -> list[Part]:
    w = rng.uniform(0.45, 0.55)
    body = [(-w, -0.62), (w, -0.62), *_arc(0.0, 0.70, w, 0.14, 0, 180, 20)]
    rim = _arc(0.0, -0.62, w, 0.12, n=30)
    inner = _arc(0.0, -0.62, w - 0.06, 0.08, n=30)
    handle = _arc(w, 0.05, 0.33, 0.36, -80, 80, 24)
    return [
        ("line", handle, "body", 0.12),
        ("poly", body, "body", 0.0),
        ("poly", rim, "accent", 0.0),
        ("poly", inner, "dark", 0.0),
    ]


_DRAWERS = {"t-shirt": _tshirt, "sneaker": _sneaker, "handbag": _handbag, "mug": _mug}


def _rgb(values: Sequence[float]) -> RGB:
    r, g, b = (int(np.clip(v, 0, 255)) for v in values)
    return (r, g, b)


def _shade(rgb: RGB, f: float) -> RGB:
    return _rgb([c * f for c in rgb])


def _pattern_layer(size: int, rgb: RGB, pattern: str, rng: np.random.Generator) -> Image.Image:
    layer = Image.new("RGB", (size, size), rgb)
    if pattern == "plain":
        return layer
    draw = ImageDraw.Draw(layer)
    second = (245, 245, 240) if sum(rgb) < 500 else (40, 40, 40)
    step = int(size * rng.uniform(0.06, 0.1))
    if pattern == "stripes":
        for y in range(0, size, step):
            draw.rectangle([0, y, size, y + step // 2], fill=second)
    else:  # dots
        r = max(2, step // 4)
        for y in range(step // 2, size, step):
            off = step // 2 if (y // step) % 2 else 0
            for x in range(off, size, step):
                draw.ellipse([x - r, y - r, x + r, y + r], fill=second)
    return layer


def render_product(
    category: str,
    colour: str,
    pattern: str,
    rng: np.random.Generator,
    size: int = 224,
) -> Image.Image:
    """Render one product photo: ``size`` x ``size`` RGB, white background.

    Drawn at twice the size and downsampled, so edges are anti-aliased like a photo.
    Scale, rotation (up to 20 degrees), position, colour jitter and lighting are drawn
    from ``rng``.
    """
    if category not in _DRAWERS:
        raise VisrecError(f"unknown category {category!r}; expected one of {list(_DRAWERS)}")
    big = size * 2
    base_rgb = COLOURS[colour][0]
    rgb = _rgb([c + rng.normal(0, 12) for c in base_rgb])
    parts = _DRAWERS[category](rng)
    scale = big * rng.uniform(0.30, 0.40)
    angle = math.radians(rng.uniform(-20, 20))
    if rng.random() < 0.5 and category in ("sneaker", "mug"):  # face left or right
        parts = [(k, [(-x, y) for x, y in pts], role, w) for k, pts, role, w in parts]
    cx = big / 2 + rng.uniform(-0.08, 0.08) * big
    cy = big / 2 + rng.uniform(-0.06, 0.06) * big
    ca, sa = math.cos(angle), math.sin(angle)

    def tf(pts: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(cx + scale * (x * ca - y * sa), cy + scale * (x * sa + y * ca)) for x, y in pts]

    # a warm or cool off-white studio background with a soft shadow under the product
    bg = _rgb(rng.integers(246, 256, size=3).tolist())
    img = Image.new("RGB", (big, big), bg)
    shadow = Image.new("L", (big, big), 0)
    sd = ImageDraw.Draw(shadow)
    sy = cy + scale * 0.95
    sd.ellipse([cx - scale * 0.9, sy - scale * 0.12, cx + scale * 0.9, sy + scale * 0.12], fill=70)
    shadow = shadow.filter(ImageFilter.GaussianBlur(big / 40))
    img.paste(Image.new("RGB", (big, big), (90, 90, 90)), (0, 0), shadow)

    body = _pattern_layer(big, rgb, pattern, rng)
    # soft top-down light: darken towards the bottom of the canvas
    grad = Image.linear_gradient("L").resize((big, big))
    body = Image.composite(
        Image.new("RGB", (big, big), _shade(rgb, 0.75)), body, grad.point(lambda v: v * 0.35)
    )
    trim_rgb: RGB = (240, 240, 235) if rng.random() < 0.6 else (30, 30, 30)
    paints = {
        "accent": _shade(rgb, 0.7),
        "trim": trim_rgb,
        "dark": (45, 40, 38),
    }
    for kind, pts, role, width in parts:
        mask = Image.new("L", (big, big), 0)
        md = ImageDraw.Draw(mask)
        xy = tf(pts)
        if kind == "poly":
            md.polygon(xy, fill=255)
        else:
            md.line(xy, fill=255, width=max(1, int(width * scale)), joint="curve")
        if role == "body":
            img.paste(body, (0, 0), mask)
        else:
            img.paste(Image.new("RGB", (big, big), paints[role]), (0, 0), mask)
        if kind == "poly":  # a thin darker outline, as on a product shot's edge
            ImageDraw.Draw(img).line([*xy, xy[0]], fill=_shade(rgb, 0.55), width=2)
    return img.resize((size, size), Image.Resampling.LANCZOS)


# --- catalogue -------------------------------------------------------------------------


def make_catalogue(
    out_dir: str | os.PathLike[str],
    n_items: int = 320,
    n_users: int = 150,
    ratings_per_user: int = 12,
    image_size: int = 224,
    random_state: int = 0,
) -> Catalogue:
    """Generate the demo catalogue under ``out_dir`` (see the module docstring).

    Parameters
    ----------
    out_dir : path
        Created if missing; existing files of the same names are replaced, and item
        images (``images/item*.jpg``) of an earlier catalogue there are removed. An
        earlier catalogue's CSVs are removed first and ``items.csv`` is written last,
        so an interrupted or failed run leaves no ``items.csv`` (no dataset folder to
        :func:`visrec.demo.datasets.load_demo_dataset`), never a mix of two catalogues.
    n_items : int, default 320
        Items, spread evenly over the four categories (at least 4).
    n_users : int, default 150
    ratings_per_user : int, default 12
        Each user rates this many distinct items (capped at ``n_items``), with half of
        them drawn from the user's favourite category, as real users browse.
    image_size : int, default 224
        Width and height of each JPEG in pixels, 32 to 1024.
    random_state : int, default 0
        Seed; the same seed gives byte-identical CSVs and images.

    Returns
    -------
    Catalogue
    """
    _check_catalogue_args(n_items, n_users, ratings_per_user, image_size)
    rng = np.random.default_rng(random_state)
    root = Path(out_dir)
    images_dir = root / "images"
    csvs = {name: root / name for name in ("items.csv", "users.csv", "interactions.csv")}
    # an interrupted run must not leave an earlier catalogue's tables beside this one's
    # images or tables: they go first, and items.csv (what a reader of the folder looks
    # for) is written last, so the folder holds the whole new set or no items.csv
    for path in csvs.values():
        remove_output(path)
    images_dir.mkdir(parents=True, exist_ok=True)

    items = _draw_items(n_items, rng)
    image_rel = _write_images(items, images_dir, rng, image_size)
    items_frame = pd.DataFrame(
        {
            "item_id": items.ids,
            "category": items.categories,
            "colour": items.colours,
            "pattern": items.patterns,
            "image": image_rel,
        }
    )
    users = _draw_users(n_users, rng)
    users_frame = pd.DataFrame(
        {"user_id": users.ids, "favourite_category": users.fav, "disliked_colour": users.disliked}
    )
    interactions = _interactions_frame(items, users, ratings_per_user, rng)

    for name, frame in (
        ("users.csv", users_frame),
        ("interactions.csv", interactions),
        ("items.csv", items_frame),
    ):
        write_text_atomic(csvs[name], frame.to_csv(index=False, lineterminator="\n"))
    return Catalogue(
        root=root,
        images_dir=images_dir,
        items_csv=csvs["items.csv"],
        users_csv=csvs["users.csv"],
        interactions_csv=csvs["interactions.csv"],
        n_items=n_items,
        n_users=n_users,
        n_interactions=len(interactions),
        categories=CATEGORIES,
    )


@dataclass(frozen=True)
class _Items:
    """The catalogue's item ids and each item's drawn category, colour and pattern."""

    ids: list[str]
    categories: np.ndarray
    colours: np.ndarray
    patterns: np.ndarray


@dataclass(frozen=True)
class _Users:
    """The catalogue's user ids and each user's drawn favourite category and disliked colour."""

    ids: list[str]
    fav: np.ndarray
    disliked: np.ndarray


def _check_catalogue_args(
    n_items: int, n_users: int, ratings_per_user: int, image_size: int
) -> None:
    """Raise a VisrecError for a size :func:`make_catalogue` cannot generate."""
    if n_items < len(CATEGORIES):
        raise VisrecError(f"n_items={n_items}: need at least {len(CATEGORIES)} (one per category)")
    if n_users < 1 or ratings_per_user < 1:
        raise VisrecError(
            f"n_users={n_users}, ratings_per_user={ratings_per_user}: both must be >= 1"
        )
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise VisrecError(
            f"image_size={image_size}: expected {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} pixels"
        )


def _draw_items(n_items: int, rng: np.random.Generator) -> _Items:
    """``n_items`` items, categories spread evenly, colours and patterns drawn from ``rng``."""
    colour_names = list(COLOURS)
    pattern_names = list(PATTERNS)
    categories = np.array([CATEGORIES[i % len(CATEGORIES)] for i in range(n_items)])
    rng.shuffle(categories)  # ids carry no hint of the category
    colours = rng.choice(colour_names, size=n_items)
    patterns = rng.choice(pattern_names, size=n_items, p=[0.5, 0.25, 0.25])
    width = max(4, len(str(n_items)))
    item_ids = [f"item{i:0{width}d}" for i in range(1, n_items + 1)]
    return _Items(item_ids, categories, colours, patterns)


def _write_images(
    items: _Items, images_dir: Path, rng: np.random.Generator, image_size: int
) -> list[str]:
    """Render and save each item's photo; its path relative to the catalogue, per item."""
    image_rel = []
    for iid, cat, col, pat in zip(
        items.ids, items.categories, items.colours, items.patterns, strict=True
    ):
        img = render_product(str(cat), str(col), str(pat), rng, size=image_size)
        path = images_dir / f"{iid}.jpg"
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=90)
        if not _holds(path, buf.getvalue()):
            with atomic_path(path) as tmp:
                tmp.write_bytes(buf.getvalue())
        image_rel.append(f"images/{iid}.jpg")
    # a previous, larger catalogue in the same folder must not leave extra images behind
    keep = {f"{iid}.jpg" for iid in items.ids}
    for old in images_dir.glob("item*.jpg"):
        if old.name not in keep:
            old.unlink()
    return image_rel


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` holds ``data`` already: the same catalogue drawn again keeps its
    files (and their times), so the embedding of an earlier demo in the folder is reused
    rather than computed again."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _draw_users(n_users: int, rng: np.random.Generator) -> _Users:
    """``n_users`` users with a favourite category and a disliked colour drawn from ``rng``."""
    u_width = max(3, len(str(n_users)))
    user_ids = [f"user{u:0{u_width}d}" for u in range(1, n_users + 1)]
    fav = rng.choice(list(CATEGORIES), size=n_users)
    disliked = rng.choice(list(COLOURS), size=n_users)
    return _Users(user_ids, fav, disliked)


def _rated_items(
    items: _Items, users: _Users, per_user: int, rng: np.random.Generator
) -> tuple[list[str], np.ndarray]:
    """``(user id, item position)`` of each rating: ``per_user`` items per user, in user order."""
    n_items = len(items.ids)
    rows_u: list[str] = []
    rows_i: list[int] = []
    for u in range(len(users.ids)):
        # half from the favourite category (or fewer if it is small), the rest anywhere
        in_fav = np.flatnonzero(items.categories == users.fav[u])
        n_fav = min(per_user // 2, len(in_fav))
        chosen = list(rng.choice(in_fav, size=n_fav, replace=False))
        rest = np.setdiff1d(np.arange(n_items), chosen)
        chosen += list(rng.choice(rest, size=per_user - n_fav, replace=False))
        rows_u += [users.ids[u]] * per_user
        rows_i += [int(i) for i in chosen]
    return rows_u, np.asarray(rows_i)


def _interactions_frame(
    items: _Items, users: _Users, ratings_per_user: int, rng: np.random.Generator
) -> pd.DataFrame:
    """The ratings (the module docstring's formula), timestamped, users interleaved in time."""
    appeal = np.array([COLOURS[c][1] for c in items.colours]) + np.array(
        [PATTERNS[p] for p in items.patterns]
    )
    per_user = min(ratings_per_user, len(items.ids))
    rows_u, idx = _rated_items(items, users, per_user, rng)
    uidx = np.repeat(np.arange(len(users.ids)), per_user)
    score = (
        3.0
        + appeal[idx]
        + FAVOURITE_BONUS * (items.categories[idx] == users.fav[uidx])
        - DISLIKED_PENALTY * (items.colours[idx] == users.disliked[uidx])
        + rng.normal(0.0, NOISE_SD, size=len(idx))
    )
    ratings = np.clip(np.rint(score), 1, 5).astype(int)
    t0 = 1_600_000_000
    timestamps = t0 + np.sort(rng.integers(0, 365 * 86400, size=len(idx)))
    order = rng.permutation(len(idx))  # interleave users in time
    return pd.DataFrame(
        {
            "user_id": np.asarray(rows_u)[order],
            "item_id": np.asarray(items.ids)[idx[order]],
            "rating": ratings[order],
            "timestamp": timestamps,
        }
    )
