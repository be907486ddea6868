"""`make help` lists every target of the Makefile and its parts in mk/, each with what it does."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def declared_targets() -> set[str]:
    """Every target a person may type: rules of the Makefile and mk/*.mk that name no file."""
    targets: set[str] = set()
    for makefile in [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]:
        for line in makefile.read_text().splitlines():
            match = re.match(r"([a-z][a-z0-9-]*):(?!=)", line)
            if match:
                targets.add(match.group(1))
    return targets


def test_make_help_lists_every_target() -> None:
    targets = declared_targets()
    assert {"run", "test", "stack", "bench"} <= targets  # positive control: the parts in mk/ are read
    shown = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    listed = dict(re.findall(r"^  make (\S+)\s+(.+)$", shown, re.MULTILINE))
    assert sorted(targets - set(listed)) == [], "targets with no `## what it does`: make help leaves them out"
    assert all(listed.values())
