"""Small builders for rows the tests need in bulk, bypassing services on purpose."""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from accounts.models import User
from feed.models import Comment, Post


def make_post(author: User, content: str = "a post") -> Post:
    return Post.objects.create(author=author, content=content, created_at=timezone.now())


def make_reply_chain(post: Post, author: User, depth: int, *, at: datetime | None = None) -> list[Comment]:
    """`depth` comments, each replying to the previous one, inserted in one statement."""
    at = at or timezone.now()
    first_id = (Comment.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    chain = [
        Comment(
            id=first_id + i,
            post=post,
            parent_id=first_id + i - 1 if i else None,
            author=author,
            content=f"reply {i}",
            created_at=at,
            depth=i,
        )
        for i in range(depth)
    ]
    Comment.objects.bulk_create(chain, batch_size=2000)
    Post.objects.filter(pk=post.pk).update(comment_count=depth)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('feed_comment', 'id'), (SELECT MAX(id) FROM feed_comment))"
            )
    return chain
