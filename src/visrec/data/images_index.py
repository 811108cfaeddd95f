"""Where each item's image is: a folder of ``<item_id>.<ext>`` files or a manifest."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from visrec.data.column_names import column_key
from visrec.data.row_reasons import field_count_hint, nul_id_reason, spaced_note
from visrec.data.text_files import decode_text, first_text_line, sniff_sep, split_rows
from visrec.errors import (
    InputNotFoundError,
    VisrecError,
    agree,
    has_control,
    names_text,
    not_utf8_hint,
    shown,
)


def _image_suffixes() -> frozenset[str]:
    # .jfif is JPEG under another name; AVIF only where this Pillow can decode it
    # (a plugin since Pillow 11.2): listing a file we cannot decode would turn it into a
    # failed image instead of a skipped one.
    suffixes = {".jpg", ".jpeg", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
    try:
        from PIL import features

        if "avif" in features.modules and features.check_module("avif"):
            suffixes.add(".avif")
    except Exception:  # an old or broken Pillow: no AVIF, the rest still works
        pass
    return frozenset(suffixes)


#: The one list of image file extensions (lower case) that a folder of images is read
#: with: ``visrec embed IMAGES_DIR`` and ``visrec data summary`` use it through
#: ``find_images``.
IMAGE_SUFFIXES = _image_suffixes()

MANIFEST_ID_COLUMNS = ("item_id", "id", "review_id", "asin", "sku", "product_id")
MANIFEST_PATH_COLUMNS = ("path", "file", "filename", "image_path")
MANIFEST_URL_COLUMNS = ("url", "image_url")

SUBFOLDER = "a subfolder: only the top folder is read; embed --recursive reads them"
LINKED_FOLDER = "a link to a folder: not followed"
NOT_IMAGE = "not an image extension visrec reads"
BROKEN_LINK = "a broken link"
NOT_FILE = "not a regular file"
NO_ID = "no item id before the extension"
NOT_UTF8 = "a name that is not valid UTF-8: rename it"
CONTROL = "a line break or other control character in its name: no table holds that id; rename it"
UNREADABLE_FOLDER = "a folder that cannot be read"
HIDDEN = "hidden: a name starting with '.'; rename it to embed it"


def _hidden_image(name: str) -> bool:
    """A hidden file named as an image (``.i9.jpg``): most likely a photo hidden by
    mistake, so it is listed. Other hidden entries (``.DS_Store``, a ``.cache`` folder)
    and macOS's AppleDouble ``._x.jpg`` (resource data beside ``x.jpg``, no picture) are
    junk: listing them would bury the note's real news."""
    return not name.startswith("._") and Path(name[1:]).suffix.lower() in IMAGE_SUFFIXES


def suffix_list() -> str:
    """``jpg|jpeg|...``: the extensions of ``IMAGE_SUFFIXES`` for messages."""
    order = [".jpg", ".jpeg", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"]
    names = [s for s in order if s in IMAGE_SUFFIXES] + sorted(IMAGE_SUFFIXES - set(order))
    return "|".join(s.lstrip(".") for s in names)


@dataclass
class FolderImages:
    """What ``scan_images`` found in a folder.

    Attributes
    ----------
    images : dict of str to Path
        Item id -> image file, sorted by id.
    skipped : list of (str, str)
        ``(name, reason)`` for every entry that is not read (a subfolder, another
        extension, a broken link, a hidden file named as an image), in name order;
        other hidden entries are not listed.
    """

    images: dict[str, Path]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skipped_note(self, examples: int = 3) -> str | None:
        """One line naming what was skipped, with counts and a few examples per reason
        (``skipped 3 entries: more/ (a subfolder: ...), 2.bin, 3.txt (not an image
        extension visrec reads)``); None when nothing was."""
        if not self.skipped:
            return None
        by_reason: dict[str, list[str]] = {}
        for name, reason in self.skipped:
            by_reason.setdefault(reason, []).append(name)
        parts = []
        for reason, names in by_reason.items():
            shown = ", ".join(names[:examples])
            if len(names) > examples:
                shown += f" and {len(names) - examples:,} more"
            parts.append(f"{shown} ({reason})")
        n = len(self.skipped)
        return f"skipped {n:,} {agree(n, 'entry', 'entries')}: " + "; ".join(parts)


def scan_images(folder: str | Path, recursive: bool = False) -> FolderImages:
    """The ``<item_id>.<ext>`` images in ``folder`` and what else is there.

    Parameters
    ----------
    folder : str or Path
        Searched non-recursively unless ``recursive``. Extensions (case-insensitive):
        ``IMAGE_SUFFIXES``
        (jpg, jpeg, jfif, png, webp, gif, bmp, tif, tiff, and avif when Pillow can
        decode it). The item id is the file name without its last extension and
        without spaces around it (as every interaction loader strips ids), so
        ``trail .jpg`` is item ``trail``. Hidden entries (``.name``) are not read; those
        named as images (``.i9.jpg``, not AppleDouble ``._i9.jpg``) and other entries
        that are not read are listed in ``skipped`` (a name that is not valid
        UTF-8 by its ``repr``). Whether a file really is
        an image is checked later, when it is decoded.
    recursive : bool, default False
        Also read the subfolders (a shop's photos by category), hidden ones and links
        to folders excepted; the id is still the file name, so one id in two
        subfolders is an error naming both files.

    Returns
    -------
    FolderImages

    Raises
    ------
    VisrecError
        When ``folder`` is not a folder, or two files give one id (``12.jpg`` and
        ``12.png``, or ``12.jpg`` and ``12 .jpg``), naming both.
    InputNotFoundError
        When ``folder`` does not exist.
    """
    root = Path(folder)
    if not root.is_dir():
        if root.exists():
            raise VisrecError(f"{root}: expected a folder of <item_id>.<{suffix_list()}> images")
        raise InputNotFoundError(root)
    found: dict[str, Path] = {}
    clashes: dict[str, list[Path]] = {}  # item -> every file of it past the first
    skipped: list[tuple[str, str]] = []
    for p in _entries(root, recursive, skipped):
        if p.name.startswith("."):
            if _hidden_image(p.name) and not p.is_dir():
                skipped.append((_printable(_shown(p, root)), HIDDEN))
            continue
        if p.is_dir():  # a link to a folder too (read when recursive, unless a link)
            # a folder's name is no id: only shown, escaped (its images are read)
            if not recursive:
                skipped.append((_printable(p.name) + "/", SUBFOLDER))
            elif p.is_symlink():  # it may lead back up: a loop
                skipped.append((_printable(_shown(p, root)) + "/", LINKED_FOLDER))
            continue
        try:
            p.name.encode("utf-8")
        except UnicodeEncodeError:
            # undecodable bytes (os.fsdecode's surrogates): no id a table can hold, and
            # no name a terminal can print, so the note shows its repr
            skipped.append((repr(p.name), NOT_UTF8 + not_utf8_hint()))
            continue
        if has_control(p.name):
            # an id no CSV line holds unquoted, and a name that cuts the listings (a
            # folder's name is no id: its images are read)
            skipped.append((repr(p.name), CONTROL))
            continue
        if not p.is_file():
            reason = BROKEN_LINK if p.is_symlink() and not p.exists() else NOT_FILE
            skipped.append((p.name, reason))
            continue
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((p.name, NOT_IMAGE))
            continue
        item = p.stem.strip()
        if not item:
            skipped.append((p.name, NO_ID))
            continue
        if item in found:  # every clash is named at once, not one per run
            clashes.setdefault(item, []).append(p)
            continue
        found[item] = p
    if clashes:
        raise VisrecError(_clash_message(root, found, clashes))
    return FolderImages(dict(sorted(found.items())), skipped)


def _clash_message(root: Path, found: dict[str, Path], clashes: dict[str, list[Path]]) -> str:
    """``root: two images for item '12': '12.jpg' and '12.png'; keep one``, or every
    item of several with more than one file (the first 20)."""

    def files(item: str) -> str:
        names = [repr(_shown(q, root)) for q in (found[item], *clashes[item])]
        return f"{', '.join(names[:-1])} and {names[-1]}"

    if len(clashes) == 1:
        item, more = next(iter(clashes.items()))
        n = "two" if len(more) == 1 else str(len(more) + 1)
        return f"{root}: {n} images for item {item!r}: {files(item)}; keep one"
    listed = "; ".join(f"{item!r}: {files(item)}" for item in list(clashes)[:20])
    rest = f"; and {len(clashes) - 20:,} more" if len(clashes) > 20 else ""
    return (
        f"{root}: {len(clashes):,} items with more than one image: {listed}{rest}; keep one of each"
    )


def _entries(root: Path, recursive: bool, skipped: list[tuple[str, str]]) -> list[Path]:
    """``root``'s entries, sorted; with ``recursive``, those of its subfolders too
    (hidden folders and links to folders are not entered: a link may loop). A subfolder
    that cannot be listed goes to ``skipped``, with the system's reason: its images
    were missing without a word."""
    if not recursive:
        return sorted(root.iterdir())
    out: list[Path] = []

    def unreadable(exc: OSError) -> None:
        if exc.filename is None or Path(exc.filename) == root:
            raise exc  # the folder asked for: an error, as without --recursive
        name = _printable(_shown(Path(exc.filename), root)) + "/"
        skipped.append((name, f"{UNREADABLE_FOLDER}: {exc.strerror or exc}"))

    # followlinks=False: links are not entered
    for here, dirs, files in os.walk(root, onerror=unreadable):
        base = Path(here)
        links = [d for d in dirs if (base / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in links)
        # files, and the links to folders (listed, and skipped with the reason)
        out += sorted([base / f for f in files] + [base / d for d in links])
    return out


def _printable(name: str) -> str:
    """A name as a note prints it: its ``repr`` when it holds a control character or
    bytes that are not UTF-8 (a terminal can print neither), else as it is."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return repr(name)
    return shown(name)


def _shown(p: Path, root: Path) -> str:
    """``p`` relative to ``root``, as a note names it (``shoes/12.jpg``)."""
    try:
        return str(p.relative_to(root))
    except ValueError:
        return p.name


def find_images(folder: str | Path) -> dict[str, Path]:
    """Map item ids to image files named ``<item_id>.<ext>`` in ``folder``.

    Parameters
    ----------
    folder : str or Path
        See ``scan_images``: non-recursive, ``IMAGE_SUFFIXES`` (case-insensitive),
        ids without spaces around them, hidden and other entries ignored.

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
    return scan_images(folder).images


def pick_column(header: list[str], names: tuple[str, ...]) -> int | None:
    """Position of the first of ``names`` in ``header``, matched as other column names
    are (case, spaces, '_', '-' and '.' aside: ``Item ID`` is ``item_id``)."""
    keys = [column_key(h) for h in header]
    for n in names:
        if column_key(n) in keys:
            return keys.index(column_key(n))
    return None


def manifest_base(path: str | Path) -> Path:
    """The folder a manifest's relative paths start from: its own, or the current one
    for a manifest read from a pipe (``<(cat m.csv)``, whose "folder" is
    ``/proc/PID/fd``)."""
    return Path(path).resolve().parent if os.path.isfile(path) else Path.cwd()


def is_web_url(loc: str) -> bool:
    """A manifest location to download (``http://`` or ``https://``, any case), not a
    local file; :func:`load_manifest` keeps such a location as written."""
    return loc.lower().startswith(("http://", "https://"))


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
        (the current folder for a manifest read from a pipe, ``<(cat m.csv)``: its
        "folder" is ``/proc/PID/fd``), returned absolute; a ``file://`` URL is its
        local path; ``http(s)://`` URLs are returned unchanged.

    Raises
    ------
    VisrecError
        Missing columns, an id or image column named twice, a row with the wrong field
        count, an empty id or location, an id listed twice, the
        header repeated, or a line the csv module cannot read -- naming the line.
    """
    base = manifest_base(path)
    out: dict[str, str] = {}
    for item, loc, _ in read_manifest_rows(path):
        if loc.lower().startswith("file://"):  # a local file written as a URL
            from urllib.parse import urlsplit
            from urllib.request import url2pathname

            loc = url2pathname(urlsplit(loc).path)
        if not is_web_url(loc):
            lp = Path(loc).expanduser()
            loc = str(lp if lp.is_absolute() else (base / lp))
        out[item] = loc
    return out


def read_manifest_rows(path: str | Path, prefer_url: bool = False) -> list[tuple[str, str, int]]:
    """``(item_id, location as written, line)`` for each row of a manifest, checked as
    :func:`load_manifest` describes (``visrec fetch`` reports locations as written).
    The location is the row's path, else its URL; ``prefer_url``: its URL, else its path
    (``visrec fetch`` on a manifest it wrote: the URLs, whatever became of the paths)."""
    p = Path(path)
    if p.is_dir():
        raise VisrecError(f"{p}: is a folder, expected a manifest CSV")
    # decoded as the other tables are: compressed, Windows-1252, a BOM, CR line ends
    decoded = decode_text(p)
    if decoded.warning is not None:
        # its paths must match the file names byte for byte: a line decoded otherwise
        # would name a file that is not there ("file not found", the wrong lead)
        line_no, message = decoded.warning
        raise VisrecError(
            f"{p} line {line_no}: not read: a manifest's paths must match the file names, "
            f"and this one mixes UTF-8 and Windows-1252 lines ({message})"
        )
    text = decoded.text
    # the header is the first line that is not blank nor of empty fields only, as for
    # the other tables
    first = first_text_line(text)
    sep = decoded.sep or sniff_sep(first, p.suffix.lower())
    if len(sep) != 1:  # "::" is MovieLens' ratings, no manifest's
        sep = ","
    # split as the other tables are: a field of any length, a csv error naming its line
    rows = iter(split_rows(text, sep, str(p)))
    header = next((r for _, r in rows if any(f.strip() for f in r)), None)
    if not header:
        raise VisrecError(f"{p}: empty manifest, expected a header 'item_id,path' or 'item_id,url'")
    id_i = pick_column(header, MANIFEST_ID_COLUMNS)
    path_i = pick_column(header, MANIFEST_PATH_COLUMNS)
    url_i = pick_column(header, MANIFEST_URL_COLUMNS)
    if id_i is None or (path_i is None and url_i is None):
        # a bare list of links (one URL a line) has no header: its first URL was read as one
        bare = any(is_web_url(h.strip()) for h in header)
        raise VisrecError(
            f"{p}: manifest header ({names_text(header)}) needs an id column ("
            + " / ".join(MANIFEST_ID_COLUMNS)
            + ") and an image column ("
            + " / ".join(MANIFEST_PATH_COLUMNS + MANIFEST_URL_COLUMNS)
            + ")"
            + (
                "; the first line is a URL, not a header: a manifest has a header line "
                "'item_id,url' and an item id on each row"
                if bare
                else ""
            )
        )
    keys = [column_key(h) for h in header]
    for i in (id_i, path_i, url_i):
        if i is not None and keys.count(keys[i]) > 1:
            # only the first was read: the other's ids or images were dropped unsaid
            raise VisrecError(
                f"{p}: the manifest header ({names_text(header)}) names column "
                f"{header[i].strip()!r} more than once; rename or drop the extra ones"
            )
    out: list[tuple[str, str, int]] = []
    first_line: dict[str, int] = {}
    spaced: list[str] = []  # ids written with spaces around them
    for line_start, row in rows:
        if len(row) != len(header):
            raise VisrecError(
                f"{p} line {line_start}: expected {len(header)} fields, got {len(row)}"
                + field_count_hint(row, len(header), header)
            )
        if [column_key(f) for f in row] == keys:
            # manifests joined with cat: the header would be the item 'item_id'
            raise VisrecError(
                f"{p} line {line_start}: the header again (manifests joined with cat?); "
                "remove that line"
            )
        item = row[id_i].strip()
        path = row[path_i].strip() if path_i is not None else ""
        url = row[url_i].strip() if url_i is not None else ""
        loc = (url or path) if prefer_url else (path or url)
        if not item:
            raise VisrecError(f"{p} line {line_start}: empty item id")
        if "\x00" in item:  # an id no interactions file spells: its image would go unused
            raise VisrecError(f"{p} line {line_start}: {nul_id_reason('item', item)}")
        if "\n" in item or "\r" in item:
            # no ratings table holds it (their loaders drop such a row), and the folder
            # reader refuses such a file name: its vector would go unused
            raise VisrecError(
                f"{p} line {line_start}: item id {_id(item)} holds a line break, which no "
                "id can (a quote left open?); fix that id"
            )
        if not loc:
            raise VisrecError(f"{p} line {line_start}: item {_id(item)} has no path or url")
        if "\x00" in loc:  # no file has such a name: open() would raise a bare ValueError
            raise VisrecError(
                f"{p} line {line_start}: item {_id(item)}: its path or url {_id(loc)} holds a "
                "NUL byte, which no file name can (a damaged file?)"
            )
        if item in first_line:
            raise VisrecError(
                f"{p} line {line_start}: item {_id(item)} listed twice "
                f"(first on line {first_line[item]})"
            )
        out.append((item, loc, line_start))
        first_line[item] = line_start
        if item != row[id_i]:
            spaced.append(row[id_i])
    said = spaced_note("item", spaced)
    if said:  # the rule (docs/data.md), said, as every loader of ids says it
        print(f"note: {p}: {said}", file=sys.stderr)
    return out


def _id(item: str) -> str:
    """An id for a message, cut short: an id 140,000 characters long makes no message."""
    from visrec.data.id_spelling import shown as shown_id  # pandas: only for an error

    return shown_id(item)
