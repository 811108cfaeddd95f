"""Where each item's image is: a folder of ``<item_id>.<ext>`` files or a manifest."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from visrec.errors import VisrecError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})

_ID_COLUMNS = ("item_id", "id", "review_id", "asin")
_PATH_COLUMNS = ("path", "file", "filename", "image_path")
_URL_COLUMNS = ("url", "image_url")


def find_images(folder: str | Path) -> dict[str, Path]:
    """Map item ids to image files named ``<item_id>.<ext>`` in ``folder``.

    Parameters
    ----------
    folder : str or Path
        Searched non-recursively. Extensions (case-insensitive): jpg, jpeg, png, webp,
        gif, bmp, tif, tiff. Hidden files and other extensions are ignored. Whether a
        file really is an image is checked later, when it is decoded.

    Returns
    -------
    dict of str to Path
        Sorted by item id, so iteration order is deterministic.

    Raises
    ------
    VisrecError
        When ``folder`` is not a folder, or two files share an id (``12.jpg`` and
        ``12.png``), naming both.
    """
    root = Path(folder)
    if not root.is_dir():
        if root.exists():
            raise VisrecError(f"{root}: expected a folder of <item_id>.<jpg|png|...> images")
        raise FileNotFoundError(2, "No such file or directory", str(root))
    found: dict[str, Path] = {}
    for p in sorted(root.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if not p.is_file():
            continue
        item = p.stem
        if item in found:
            raise VisrecError(
                f"{root}: two images for item {item!r}: {found[item].name} and {p.name}; keep one"
            )
        found[item] = p
    return dict(sorted(found.items()))


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    lower = [h.strip().lower() for h in header]
    for n in names:
        if n in lower:
            return lower.index(n)
    return None


def load_manifest(path: str | Path) -> dict[str, str]:
    """Read a manifest of item id -> image path or URL.

    Parameters
    ----------
    path : str or Path
        CSV or TSV with a header holding ``item_id`` (or ``id``/``review_id``/``asin``) and
        ``path`` (or ``file``/``filename``/``image_path``) or ``url`` (``image_url``).
        When both a path and a URL column exist, a non-empty path wins.

    Returns
    -------
    dict of str to str
        In file order. Relative paths are resolved against the manifest's folder
        (returned absolute); ``http(s)://`` URLs are returned unchanged.

    Raises
    ------
    VisrecError
        Missing columns, a row with the wrong field count, an empty id or location, or
        an id listed twice -- naming the line.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8").removeprefix("\ufeff")
    except IsADirectoryError:
        raise VisrecError(f"{p}: is a folder, expected a manifest CSV") from None
    except UnicodeDecodeError as exc:
        raise VisrecError(f"{p}: not a UTF-8 text manifest ({exc.reason})") from None
    # old-Mac CR line ends: the csv reader would fail on them inside its loop
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = text.split("\n", 1)[0]
    sep = "\t" if "\t" in first or p.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    header = next(reader, None)
    if not header:
        raise VisrecError(f"{p}: empty manifest, expected a header 'item_id,path' or 'item_id,url'")
    id_i = _pick(header, _ID_COLUMNS)
    path_i = _pick(header, _PATH_COLUMNS)
    url_i = _pick(header, _URL_COLUMNS)
    if id_i is None or (path_i is None and url_i is None):
        raise VisrecError(
            f"{p}: manifest header {header} needs an 'item_id' column and a 'path' or 'url' column"
        )
    base = p.resolve().parent
    out: dict[str, str] = {}
    first_line: dict[str, int] = {}
    line = 1
    for row in reader:
        line_start = line + 1
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise VisrecError(
                f"{p} line {line_start}: expected {len(header)} fields, got {len(row)}"
            )
        item = row[id_i].strip()
        loc = row[path_i].strip() if path_i is not None else ""
        if not loc and url_i is not None:
            loc = row[url_i].strip()
        if not item:
            raise VisrecError(f"{p} line {line_start}: empty item id")
        if not loc:
            raise VisrecError(f"{p} line {line_start}: item {item!r} has no path or url")
        if item in out:
            raise VisrecError(
                f"{p} line {line_start}: item {item!r} listed twice "
                f"(first on line {first_line[item]})"
            )
        if not loc.lower().startswith(("http://", "https://")):
            lp = Path(loc).expanduser()
            loc = str(lp if lp.is_absolute() else (base / lp))
        out[item] = loc
        first_line[item] = line_start
    return out
