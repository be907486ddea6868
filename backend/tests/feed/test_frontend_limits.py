"""The UI's limits are the server's: the generated frontend module is current, and the protocol
description states the same numbers."""

from pathlib import Path

from django.conf import settings

from feed.management.commands.write_frontend_limits import (
    COMMAND,
    frontend_limits_path,
    frontend_limits_source,
)
from feed.models import Comment, Post


def test_the_frontend_limits_module_is_current() -> None:
    written = frontend_limits_path().read_text()
    assert written == frontend_limits_source(), f"frontend/src/generated/limits.ts is stale: run `{COMMAND}`"


def test_the_module_carries_each_server_limit() -> None:
    # Positive control of the staleness check: the source is built from the enforced values.
    source = frontend_limits_source()
    assert f"MAX_POST_LENGTH = {Post.MAX_CONTENT_LENGTH:_};" in source
    assert f"MAX_COMMENT_LENGTH = {Comment.MAX_CONTENT_LENGTH:_};" in source
    assert f"MAX_FOLLOWED_POSTS = {settings.REALTIME['MAX_FOLLOWED_POSTS']:_};" in source
    assert f"KARMA_WINDOW_HOURS = {settings.KARMA['WINDOW_HOURS']};" in source


def test_the_protocol_description_states_the_same_limits() -> None:
    protocol = (Path(settings.REPO_DIR) / "docs" / "protocol.md").read_text()
    post, comment = Post.MAX_CONTENT_LENGTH, Comment.MAX_CONTENT_LENGTH
    assert f"Post content: 1 to {post:,} characters; comment content: 1 to {comment:,};" in protocol
    assert f"A socket follows at most {settings.REALTIME['MAX_FOLLOWED_POSTS']} posts" in protocol
