"""Reads of the feed. Each selector is one query (a thread is two: the post, its comments).

Deleted content: `Post.objects` and `Comment.objects` leave it out (see models.LiveManager);
the reads below that show it as placeholders say so and start from `all_objects`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from feed.models import Comment, CommentLike, KarmaWindow, Post, PostLike


def karma_window_start(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(hours=settings.KARMA["WINDOW_HOURS"])


def _viewer_id(viewer: User | None) -> int | None:
    return viewer.pk if viewer is not None and viewer.is_authenticated else None


def _posts_for(viewer: User | None, *, with_deleted: bool = False) -> QuerySet[Post]:
    rows = Post.all_objects if with_deleted else Post.objects
    posts = rows.select_related("author").only(
        "id", "content", "created_at", "like_count", "comment_count", "deleted_at", "author__id", "author__username"
    )
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return posts.annotate(liked_by_me=Value(False))
    return posts.annotate(liked_by_me=Exists(PostLike.objects.filter(post=OuterRef("pk"), user_id=viewer_id)))


def feed_page(*, viewer: User | None, before: tuple[datetime, int] | None, size: int) -> list[Post]:
    """Up to size + 1 posts, newest first, strictly older than the `before` position; none deleted."""
    posts = _posts_for(viewer)
    if before is not None:
        created_at, post_id = before
        posts = posts.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=post_id))
    return list(posts.order_by("-created_at", "-id")[: size + 1])


def post_get(*, post_id: int, viewer: User | None) -> Post | None:
    """The post, deleted or not (a deleted one is shown as a placeholder at its URL)."""
    return _posts_for(viewer, with_deleted=True).filter(pk=post_id).first()


@dataclass(frozen=True)
class Thread:
    post: Post
    post_liked: bool
    comments: list[Comment]
    liked_ids: set[int]


def thread_get(*, post_id: int, viewer: User | None) -> Thread | None:
    """A post and its whole thread with the viewer's likes: two queries, whatever the size."""
    post = post_get(post_id=post_id, viewer=viewer)
    if post is None:
        return None
    comments, liked_ids = thread_comments(post_id=post_id, viewer=viewer)
    return Thread(post=post, post_liked=post.liked_by_me, comments=comments, liked_ids=liked_ids)  # type: ignore[attr-defined]


def thread_comments(*, post_id: int, viewer: User | None) -> tuple[list[Comment], set[int]]:
    """Every comment of a post, deleted ones too (placeholders), oldest first, and the ids the
    viewer liked: one query."""
    comments = (
        Comment.all_objects.filter(post_id=post_id)
        .select_related("author")
        .only(
            "id",
            "post_id",
            "parent_id",
            "content",
            "created_at",
            "like_count",
            "depth",
            "deleted_at",
            "author__id",
            "author__username",
        )
    )
    viewer_id = _viewer_id(viewer)
    if viewer_id is not None:
        comments = comments.annotate(
            liked_by_me=Exists(CommentLike.objects.filter(comment=OuterRef("pk"), user_id=viewer_id))
        )
    rows = list(comments.order_by("id"))
    return rows, {c.pk for c in rows if getattr(c, "liked_by_me", False)}


def posts_live_state(*, post_ids: list[int]) -> list[dict[str, Any]]:
    """The snapshot a socket gets when it subscribes: deleted posts too (their thread is still
    shown), marked `deleted` so a client that missed `post.deleted` learns of it."""
    rows = Post.all_objects.filter(pk__in=post_ids).values(
        "id", "like_count", "comment_count", "likes_version", "deleted_at"
    )
    return [
        {
            "id": r["id"],
            "like_count": r["like_count"],
            "comment_count": r["comment_count"],
            "version": r["likes_version"],
            "deleted": r["deleted_at"] is not None,
        }
        for r in rows.order_by("id")
    ]


# --- karma ------------------------------------------------------------------------------


def _karma_subquery(like_model: type[PostLike] | type[CommentLike], *, since: datetime | None) -> Coalesce:
    likes = like_model.objects.filter(recipient=OuterRef("pk")).exclude(user=OuterRef("pk"))
    if since is not None:
        likes = likes.filter(created_at__gt=since)
    counted = likes.order_by().values("recipient").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@dataclass(frozen=True)
class Profile:
    user: User
    karma_24h: int
    karma_total: int


def user_profile(*, username: str, now: datetime | None = None) -> Profile | None:
    """A user with karma derived from the likes that exist: one query."""
    since = karma_window_start(now)
    post_points = settings.KARMA["POST_LIKE_POINTS"]
    comment_points = settings.KARMA["COMMENT_LIKE_POINTS"]
    user = (
        User.objects.filter(username__iexact=username)
        .annotate(
            post_likes_total=_karma_subquery(PostLike, since=None),
            comment_likes_total=_karma_subquery(CommentLike, since=None),
            post_likes_24h=_karma_subquery(PostLike, since=since),
            comment_likes_24h=_karma_subquery(CommentLike, since=since),
        )
        .only("id", "username")
        .first()
    )
    if user is None:
        return None
    return Profile(
        user=user,
        karma_24h=user.post_likes_24h * post_points + user.comment_likes_24h * comment_points,
        karma_total=user.post_likes_total * post_points + user.comment_likes_total * comment_points,
    )


def leaderboard_top() -> list[dict[str, Any]]:
    """The top of the karma window: an index read of the derived table, one query."""
    rows = (
        KarmaWindow.objects.filter(karma__gt=0)
        .order_by("-karma", "user__username")
        .values("user_id", "user__username", "karma")[: settings.KARMA["LEADERBOARD_SIZE"]]
    )
    return [
        {"rank": rank, "user": {"id": r["user_id"], "username": r["user__username"]}, "karma": r["karma"]}
        for rank, r in enumerate(rows, start=1)
    ]


def karma_by_recipient(*, after: datetime, until: datetime | None = None) -> dict[int, int]:
    """Karma each user earned from likes created in (after, until], summed from the likes.

    The slow, obviously right answer the karma window is checked against, and what the
    window subtracts as likes age out: one GROUP BY per like table.
    """
    totals: dict[int, int] = {}
    sources = (
        (PostLike.objects.all(), settings.KARMA["POST_LIKE_POINTS"]),
        (CommentLike.objects.all(), settings.KARMA["COMMENT_LIKE_POINTS"]),
    )
    for likes, points in sources:
        likes = likes.filter(created_at__gt=after)
        if until is not None:
            likes = likes.filter(created_at__lte=until)
        counts = likes.exclude(user_id=F("recipient_id")).order_by().values_list("recipient_id").annotate(n=Count("id"))
        for recipient_id, n in counts:
            totals[recipient_id] = totals.get(recipient_id, 0) + n * points
    return totals


def karma_window_totals() -> dict[int, int]:
    return dict(KarmaWindow.objects.filter(karma__gt=0).values_list("user_id", "karma"))
