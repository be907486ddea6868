"""The `.env` file at the repository root: read once, by python-dotenv, for every entry point.

Settings load it first (so `manage.py`, the ASGI app, `make run` and `make stack` workers all
see it), and the Makefile asks this module for the few values make itself uses. A variable
already in the environment wins over the file. `KARMAFEED_ENV_FILE` names another file, or
none when empty (the test suite sets that, so a developer's `.env` never changes a test).
"""

import fnmatch
import os
import sys
from pathlib import Path

from dotenv import dotenv_values, load_dotenv

REPO_DIR = Path(__file__).resolve().parent.parent.parent


def path() -> Path | None:
    name = os.environ.get("KARMAFEED_ENV_FILE", str(REPO_DIR / ".env"))
    return (REPO_DIR / name) if name else None


def load() -> None:
    """Put the file's values into the environment, below what is already there."""
    env_file = path()
    if env_file is not None and env_file.is_file():
        load_dotenv(env_file, override=False)


def _make_assignments(patterns: list[str]) -> str:
    """`NAME=value` words for make: the values the file sets, the environment does not, and a pattern names."""
    env_file = path()
    if env_file is None or not env_file.is_file():
        return ""
    values = dotenv_values(env_file)
    return " ".join(
        f"{name}={value}"
        for name, value in values.items()
        if value and name not in os.environ and any(fnmatch.fnmatchcase(name, p) for p in patterns)
    )


if __name__ == "__main__":
    print(_make_assignments(sys.argv[1:]))
