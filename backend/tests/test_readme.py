"""The README's layout table matches the tree: every folder it names exists, every folder is named."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def layout_rows() -> dict[str, str]:
    """First column (each `path` in it) to the row's text, from the table under "Where things live"."""
    section = README.split("### Where things live", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            first, rest = line[1:].split("|", 1)
            for path in re.findall(r"`([^`]+)`", first):
                rows[path] = rest
    return rows


def test_every_named_folder_exists() -> None:
    rows = layout_rows()
    assert "backend/feed/" in rows  # positive control: the table was found and read
    for path in rows:
        assert (REPO / path).exists(), f"the README's layout table names {path}, which is not in the tree"


def test_every_backend_package_and_top_level_folder_is_named() -> None:
    rows = layout_rows()
    packages = [p.name for p in (REPO / "backend").iterdir() if (p / "__init__.py").is_file()]
    assert "feed" in packages  # positive control: the scan finds the apps
    for name in packages:
        assert f"backend/{name}/" in rows, f"backend/{name}/ is missing from the README's layout table"
    named = " ".join(rows)
    for folder in REPO.iterdir():
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in ("backend", "frontend", "var"):
            assert f"{folder.name}/" in named, f"{folder.name}/ is missing from the README's layout table"


def test_every_frontend_source_folder_is_named() -> None:
    described = layout_rows()["frontend/src/"]
    folders = [p.name for p in (REPO / "frontend" / "src").iterdir() if p.is_dir()]
    assert "realtime" in folders
    for name in folders:
        assert f"`{name}/`" in described, f"frontend/src/{name}/ is missing from the README's layout table"


def test_the_modules_a_backend_row_names_exist() -> None:
    rows = {path: text for path, text in layout_rows().items() if path.startswith("backend/")}
    checked = 0
    for path, text in rows.items():
        for name in re.findall(r"`([a-z_]+)/?`", text):
            assert (REPO / path / f"{name}.py").is_file() or (REPO / path / name).is_dir(), (
                f"the README's layout table names `{name}` in {path}, which has no such module"
            )
            checked += 1
    assert checked >= 10  # positive control: the rows name modules and the scan found them


def test_every_management_command_is_listed() -> None:
    section = README.split("## Management commands", 1)[1].split("\n## ", 1)[0]
    commands = sorted(p.stem for p in (REPO / "backend").glob("*/management/commands/*.py") if p.stem != "__init__")
    assert "seed" in commands  # positive control: the scan finds the commands
    for command in commands:
        assert f"`manage.py {command}" in section, f"manage.py {command} is missing from the README's command table"


def test_the_frontend_readme_names_every_source_folder_and_no_other() -> None:
    text = (REPO / "frontend" / "README.md").read_text()
    named = set(re.findall(r"^\| `src/([a-z]+)/`", text, re.MULTILINE))
    assert "realtime" in named  # positive control: the table was found and read
    folders = {p.name for p in (REPO / "frontend" / "src").iterdir() if p.is_dir()}
    assert sorted(folders - named) == [], "frontend/src folders missing from frontend/README.md's table"
    assert sorted(named - folders) == [], "frontend/README.md's table names folders that are not in frontend/src"
