"""Session 70: small fixes made by the lead (each test fails on the old source)."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrec._cache import cache_dir
from visrec.cli import build_parser


@pytest.mark.parametrize("command", ["evaluate", "rating-eval"])
def test_help_names_every_place_the_resume_record_may_go(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the help said "$VISREC_CACHE/..., default ~/.cache/visrec/..." where an absolute
    # $XDG_CACHE_HOME comes between the two
    sub = build_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    words = " ".join(sub.format_help().split())
    monkeypatch.delenv("VISREC_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir(command) == tmp_path / "visrec" / command
    assert (
        f"$VISREC_CACHE/{command}/, else $XDG_CACHE_HOME/visrec/{command}/, else "
        f"~/.cache/visrec/{command}/)" in words
    )
