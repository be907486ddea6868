"""The SQL of a like, written once for both dialects.

Each piece is one guarded statement. PostgreSQL chains them as data-modifying CTEs in one
statement (`feed.likes.postgres`); SQLite runs them one by one (`feed.likes.sqlite`). The
karma rules live here and nowhere else in the like paths:
- a like on one's own content gives no karma (`NOT_SELF`);
- an unlike takes karma back only for a like the window still counts, one created after the
  window's start (`IN_WINDOW`). PostgreSQL reads window_start under a share lock, which orders
  the unlike against the refresh that ages the window (it takes the row for update): the like
  is subtracted by exactly one of them. SQLite serialises writers, so it needs no lock.
"""

from django.db import connection

from feed.models import KarmaWindow, LeaderboardState


def names(*, content: str, likes: str, column: str, post_id: str) -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "content": quote(content),
        "likes": quote(likes),
        "column": quote(column),
        "post_id": quote(post_id),
        "karma": quote(KarmaWindow._meta.db_table),
        "state": quote(LeaderboardState._meta.db_table),
    }


# The content that may be liked: its author (who earns the karma) and the post it belongs to.
# Deleted content is not found: its likes stay, but none is added or taken away.
TARGET = "SELECT id, author_id, {post_id} AS post_id FROM {content} WHERE id = %(object_id)s AND deleted_at IS NULL"

NOT_SELF = "{recipient} <> %(user_id)s"


def in_window(liked_at: str, *, lock: str = "") -> str:
    return f"{liked_at} > (SELECT window_start FROM {{state}} WHERE id = 1{lock})"


def bump(sign: str) -> str:
    """Move like_count by one and its version up; returns both."""
    return (
        f"UPDATE {{content}} SET like_count = like_count {sign} 1, likes_version = likes_version + 1 "
        "WHERE id = %(object_id)s{guard} RETURNING like_count, likes_version"
    )


def karma_add(*, recipient: str, source: str) -> str:
    """Give the recipient the like's points (not for a self-like)."""
    return (
        f"INSERT INTO {{karma}} (user_id, karma) SELECT {recipient}, %(points)s {source} "
        f"WHERE {NOT_SELF.format(recipient=recipient)} "
        "ON CONFLICT (user_id) DO UPDATE SET karma = {karma}.karma + EXCLUDED.karma"
    )


def karma_take_back(*, recipient: str, liked_at: str, source: str, lock: str = "") -> str:
    """Take the unliked like's points back, if the window still counts the like."""
    return (
        f"UPDATE {{karma}} SET karma = {{karma}}.karma - %(points)s {source} "
        f"WHERE {{karma}}.user_id = {recipient} AND {NOT_SELF.format(recipient=recipient)} "
        f"AND {in_window(liked_at, lock=lock)}"
    )
