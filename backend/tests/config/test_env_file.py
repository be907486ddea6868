"""The repository's .env: read below the environment, paths from the repository root."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import env_file, settings


@pytest.fixture
def dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "test.env"
    path.write_text("KARMAFEED_TEST_A=from-file   # a comment\nKARMAFEED_TEST_B=from-file\nKARMAFEED_TEST_EMPTY=\n")
    monkeypatch.setenv("KARMAFEED_ENV_FILE", str(path))
    for name in ("KARMAFEED_TEST_A", "KARMAFEED_TEST_B", "KARMAFEED_TEST_EMPTY"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_load_fills_what_the_environment_leaves_unset(dotenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KARMAFEED_TEST_B", "from-environment")
    env_file.load()
    assert os.environ["KARMAFEED_TEST_A"] == "from-file"
    assert os.environ["KARMAFEED_TEST_B"] == "from-environment"


def test_an_empty_name_reads_no_file(dotenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KARMAFEED_ENV_FILE", "")
    env_file.load()
    assert "KARMAFEED_TEST_A" not in os.environ
    # Positive control: the same file is read once it is named.
    monkeypatch.setenv("KARMAFEED_ENV_FILE", str(dotenv))
    env_file.load()
    assert os.environ["KARMAFEED_TEST_A"] == "from-file"


def test_make_gets_the_values_the_file_sets_and_the_environment_does_not(dotenv: Path) -> None:
    script = Path(env_file.__file__)
    env = {**os.environ, "KARMAFEED_TEST_B": "from-environment"}
    names = ["KARMAFEED_TEST_A", "KARMAFEED_TEST_B", "KARMAFEED_TEST_EMPTY", "KARMAFEED_TEST_MISSING"]
    out = subprocess.run([sys.executable, script, *names], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["KARMAFEED_TEST_A=from-file"]
    by_pattern = subprocess.run([sys.executable, script, "KARMAFEED_TEST_*"], env=env, capture_output=True, text=True)
    assert by_pattern.stdout.split() == ["KARMAFEED_TEST_A=from-file"]


def test_relative_paths_resolve_from_the_repository_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KARMAFEED_TEST_PATH", "var/x.sqlite3")
    assert settings.env_path("KARMAFEED_TEST_PATH", Path("/d")) == env_file.REPO_DIR / "var" / "x.sqlite3"
    monkeypatch.setenv("KARMAFEED_TEST_PATH", "/srv/x.sqlite3")
    assert settings.env_path("KARMAFEED_TEST_PATH", Path("/d")) == Path("/srv/x.sqlite3")
    monkeypatch.delenv("KARMAFEED_TEST_PATH")
    assert settings.env_path("KARMAFEED_TEST_PATH", Path("/d")) == Path("/d")
