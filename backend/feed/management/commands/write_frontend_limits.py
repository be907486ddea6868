"""Write the server's limits into the frontend, so the UI checks and says what the server enforces.

The UI validates as you type (a counter, a disabled button) and follows no more posts than a
socket may: it needs the numbers before any request, so they are a generated, committed
module rather than a fetch. tests/feed/test_frontend_limits.py fails when the file is stale.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from feed.models import Comment, Post

COMMAND = "cd backend && .venv/bin/python manage.py write_frontend_limits"


def frontend_limits_path() -> Path:
    return Path(settings.REPO_DIR) / "frontend" / "src" / "generated" / "limits.ts"


def frontend_limits_source() -> str:
    """The module's text: each limit read from where the server enforces it."""
    lines = [
        f"// Written by `{COMMAND}` from the server's own limits: do not edit by hand.",
        "",
        "/** Content limits of the REST API, in code points as the server counts them. */",
        f"export const MAX_POST_LENGTH = {Post.MAX_CONTENT_LENGTH:_};",
        f"export const MAX_COMMENT_LENGTH = {Comment.MAX_CONTENT_LENGTH:_};",
        "/** The server follows at most this many posts per socket. */",
        f"export const MAX_FOLLOWED_POSTS = {settings.REALTIME['MAX_FOLLOWED_POSTS']:_};",
        "/** Karma and the leaderboard count the likes of this many hours back. */",
        f"export const KARMA_WINDOW_HOURS = {settings.KARMA['WINDOW_HOURS']:_};",
    ]
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Write frontend/src/generated/limits.ts from the server's content, follow and karma window limits."

    def handle(self, *args: Any, **options: Any) -> None:
        path = frontend_limits_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(frontend_limits_source())
        self.stdout.write(f"wrote {path}")
