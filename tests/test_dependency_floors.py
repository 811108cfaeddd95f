"""The lowest versions CI tests (.ci/lowest.txt) are the floors pyproject.toml declares."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def _release(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.split(".")]
    while parts and parts[-1] == 0:  # 1.26 == 1.26.0
        parts.pop()
    return tuple(parts)


def _floors() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = {}
    for dep in deps:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", dep)
        assert m, f"{dep!r}: every runtime dependency has a plain >= floor"
        floors[_name(m[1])] = m[2]
    return floors


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / ".ci" / "lowest.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[_name(name)] = version
    return pins


def test_lowest_pins_are_exactly_the_declared_floors() -> None:
    floors = _floors()
    # torch: only the pinned CPU build installs on the CI machine (README, Quick start).
    assert floors.pop("torch") == "2.6"
    pins = _pins()
    assert sorted(pins) == sorted(floors)
    for name, floor in floors.items():
        assert _release(pins[name]) == _release(floor), (name, pins[name], floor)


def test_ci_runs_the_tests_against_the_lowest_pins() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    assert "-c .ci/lowest.txt" in run
    assert "python3.11 -m venv .venv-lowest" in run  # the pins' wheels are for 3.11
    assert run.count("-m pytest -q") == 2
