"""Load config.settings in a fresh interpreter with a given environment, as a server would."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BACKEND_DIR = Path(__file__).resolve().parents[2]
# What a shell that never heard of KarmaFeed passes: none of its variables.
_OURS = ("DJANGO_", "KARMAFEED_", "REDIS_", "DATABASE_URL", "REALTIME_", "LEADERBOARD_", "PROMETHEUS_")


def clean_environment(**env: str) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith(_OURS)}
    return base | {"DJANGO_SETTINGS_MODULE": "config.settings"} | env


def load_settings(*names: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings with `env`; on success stdout is a JSON object of `names`."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=BACKEND_DIR,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def settings_values(*names: str, **env: str) -> dict[str, Any]:
    loaded = load_settings(*names, **env)
    assert loaded.returncode == 0, loaded.stderr
    return dict(json.loads(loaded.stdout))
