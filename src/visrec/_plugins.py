"""Installed packages' entry points, for the registries that take them (models in
``visrec.models``, backbones in ``visrec.backbones``): read from the packages' metadata
only, so that nothing is imported until a name is used, and said in the same words for
both."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from visrec.errors import VisrecError

# what --models, NAME@LABEL and --param NAME.KEY=VALUE can carry (no ',', '@', '=')
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
TARGET = re.compile(rf"{_DOTTED}:{_DOTTED}\Z")  # "module:Class", as target() writes it


def target(text: str) -> str:
    """``"mypkg.knn:ItemKNN"`` for ``" mypkg.knn : ItemKNN "``: a target is stored so
    (spaces around the colon are allowed in an entry point), and compared and imported
    as stored."""
    return re.sub(r"\s*:\s*", ":", text.strip())


@dataclass(frozen=True)
class Plugin:
    """What an installed package lists under an entry-point group."""

    target: str  # "mypkg.knn:ItemKNN"
    origin: str  # "entry point 'item-knn = mypkg.knn:ItemKNN' of package mypkg 0.1"
    rival: str | None = None  # another package's entry point of the same name

    def check_single(self, what: str, name: str) -> None:
        """Refuse a name two installed packages give: which one is meant, only the user
        can say."""
        if self.rival is not None:
            raise VisrecError(
                f"{what} {name!r} is given by two installed packages ({self.origin}; "
                f"{self.rival}); uninstall one of them"
            )


def class_path(klass: type) -> str:
    """``mypkg.knn.ItemKNN``: where a class is defined, as errors name it."""
    return f"{klass.__module__}.{klass.__qualname__}"


def outside_visrec(klass: type) -> bool:
    """Whether ``klass`` is code of one's own (a plugin's, a notebook's), whose failures
    its errors should point at, rather than visrec's."""
    return klass.__module__.partition(".")[0] != "visrec"


def note(text: str) -> None:
    if sys.stderr is not None:
        print(f"note: {text}", file=sys.stderr)


def read_entry_points(
    group: str, what: str, builtin: Collection[str], key: Callable[[str], str] = str
) -> dict[str, Plugin]:
    """The entry points of ``group`` by name (``key`` of it), from the installed
    packages' metadata (nothing imported); one naming a built-in ``what`` (model,
    backbone) is left out with a note: a built-in name means the same on every machine."""
    from importlib.metadata import entry_points

    try:
        points = list(entry_points(group=group))
    except Exception as exc:  # a damaged installed package must not stop the command
        note(
            f"cannot read the {group!r} entry points of the installed packages "
            f"({type(exc).__name__}: {exc}); only the built-in {what}s are known"
        )
        return {}
    found: dict[str, Plugin] = {}
    for ep in points:
        dist = getattr(ep, "dist", None)
        package = f"{dist.name} {dist.version}" if dist is not None else "an unnamed package"
        origin = f"entry point '{ep.name} = {ep.value}' of package {package}"
        name = key(ep.name)
        if name in builtin:
            note(
                f"{origin} is ignored: {name!r} is a built-in {what}, which wins; the "
                f"package should give its {what} another name"
            )
        elif not NAME.match(name):
            note(f"{origin} is ignored: a {what} name is letters, digits, '-', '_' and '.'")
        elif name in found and found[name].target != target(ep.value):
            found[name] = Plugin(found[name].target, found[name].origin, origin)
        else:
            found.setdefault(name, Plugin(target(ep.value), origin))
    return found


def import_target(what: str, name: str, stored: str, origin: str, shape: str) -> Any:
    """The object ``stored`` (``"module:Class"``, as :func:`target` writes it) names; one
    that fails to import is one error naming where it came from (``origin``), not the
    plugin's traceback. ``shape`` says what it should be: ``"a class as 'module:Class'"``."""
    if not TARGET.match(stored):
        raise VisrecError(f"{what} {name!r} ({origin}) does not name {shape}")
    module, _, attr = stored.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in attr.split("."):
            found = getattr(found, part)
    except Exception as exc:  # the plugin's own code: any error, said in one line
        raise VisrecError(
            f"{what} {name!r} ({origin}) cannot be imported: {type(exc).__name__}: {exc}"
        ) from exc
    return found
