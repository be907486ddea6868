"""Imports run one way: apps use `realtime`; `realtime` reads feed selectors but runs no feed
write; `accounts` (users and sessions) imports neither."""

import ast
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parent.parent


def imported_modules(app: str) -> dict[str, set[str]]:
    """Every module each file of the app imports (absolute names), migrations left out."""
    found: dict[str, set[str]] = {}
    for path in sorted((BACKEND / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(BACKEND))] = names
    return found


def offenders(app: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    return [
        f"{path} imports {name}"
        for path, names in imported_modules(app).items()
        for name in sorted(names)
        if name.startswith(forbidden) and not name.startswith(allowed)
    ]


def test_the_check_sees_imports() -> None:
    # Positive control: feed does import realtime and accounts, so the scan finds imports.
    assert offenders("feed", ("realtime", "accounts"))


@pytest.mark.parametrize(
    ("app", "forbidden", "allowed"),
    [
        ("accounts", ("feed", "realtime"), ()),
        ("realtime", ("feed",), ("feed.selectors",)),
    ],
)
def test_imports_run_one_way(app: str, forbidden: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    assert offenders(app, forbidden, allowed) == []
