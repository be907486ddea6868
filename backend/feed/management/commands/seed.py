"""Demo data: users, posts, threads and likes, once.

Rows are bulk-inserted for speed, then every derived value (counters, versions, the karma
window) is recomputed from them, so the result is exactly what the services would build.
"""

import random
from datetime import timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from tqdm import tqdm

from accounts.models import User
from feed.models import Comment, CommentLike, Post, PostLike
from feed.services import karma_window_rebuild

WORDS = [
    "live",
    "feed",
    "karma",
    "thread",
    "reply",
    "like",
    "socket",
    "redis",
    "postgres",
    "channel",
    "worker",
    "nginx",
    "latency",
    "batch",
    "version",
    "snapshot",
    "leaderboard",
    "deploy",
    "coffee",
    "morning",
    "ship",
    "review",
    "test",
    "browser",
]
DEMO_PASSWORD = "karmafeed-demo"  # noqa: S105 - printed for people trying the demo


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return " ".join(words).capitalize() + "."


class Command(BaseCommand):
    help = "Create demo users, posts, threads and likes (skipped when posts exist, unless --force)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=12)
        parser.add_argument("--posts", type=int, default=40)
        parser.add_argument("--comments", type=int, default=200)
        parser.add_argument("--likes", type=int, default=600)
        parser.add_argument("--seed", type=int, default=7, help="random seed, for repeatable data")
        parser.add_argument("--force", action="store_true", help="add demo data even if posts exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if Post.objects.exists() and not options["force"]:
            self.stdout.write("Demo data already present; nothing to do (use --force to add more).")
            return
        rng = random.Random(options["seed"])
        with tqdm(total=5, desc="seeding", unit="step", disable=None) as progress, transaction.atomic():
            users = self._users(options["users"])
            progress.update()
            posts = self._posts(rng, users, options["posts"])
            progress.update()
            comments = self._comments(rng, users, posts, options["comments"])
            progress.update()
            self._likes(rng, users, posts, comments, options["likes"])
            progress.update()
            self._recount()
            karma_window_rebuild()
            progress.update()
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(users)} users (password {DEMO_PASSWORD!r}), {len(posts)} posts, "
                f"{len(comments)} comments and their likes."
            )
        )

    def _users(self, count: int) -> list[User]:
        password = make_password(DEMO_PASSWORD)
        names = [f"demo_{i:02d}" for i in range(1, count + 1)]
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        User.objects.bulk_create(User(username=n, password=password) for n in names if n not in existing)
        return list(User.objects.filter(username__in=names).order_by("id"))

    def _posts(self, rng: random.Random, users: list[User], count: int) -> list[Post]:
        now = timezone.now()
        # Spread over the last two days, oldest first, so ids follow time.
        times = sorted(now - timedelta(minutes=rng.randint(1, 48 * 60)) for _ in range(count))
        return Post.objects.bulk_create(
            Post(author=rng.choice(users), content=_sentence(rng, 6, 40), created_at=t) for t in times
        )

    def _comments(self, rng: random.Random, users: list[User], posts: list[Post], count: int) -> list[Comment]:
        created: list[Comment] = []
        for _ in range(count):
            post = rng.choice(posts)
            siblings = [c for c in created if c.post_id == post.pk]
            parent = rng.choice(siblings) if siblings and rng.random() < 0.6 else None
            comment = Comment(
                post=post,
                parent=parent,
                author=rng.choice(users),
                content=_sentence(rng, 3, 20),
                created_at=max(post.created_at, (parent.created_at if parent else post.created_at))
                + timedelta(minutes=rng.randint(1, 90)),
                depth=parent.depth + 1 if parent else 0,
            )
            comment.save()
            created.append(comment)
        return created

    def _likes(
        self, rng: random.Random, users: list[User], posts: list[Post], comments: list[Comment], count: int
    ) -> None:
        now = timezone.now()
        post_likes: dict[tuple[int, int], PostLike] = {}
        comment_likes: dict[tuple[int, int], CommentLike] = {}
        for _ in range(count):
            user = rng.choice(users)
            at = now - timedelta(minutes=rng.randint(1, 36 * 60))
            if comments and rng.random() < 0.3:
                comment = rng.choice(comments)
                comment_likes[(user.pk, comment.pk)] = CommentLike(
                    user=user, comment=comment, recipient_id=comment.author_id, created_at=at
                )
            else:
                post = rng.choice(posts)
                post_likes[(user.pk, post.pk)] = PostLike(
                    user=user, post=post, recipient_id=post.author_id, created_at=at
                )
        PostLike.objects.bulk_create(post_likes.values(), ignore_conflicts=True)
        CommentLike.objects.bulk_create(comment_likes.values(), ignore_conflicts=True)

    def _recount(self) -> None:
        def count_of(model: Any, field: str) -> Coalesce:
            rows = (
                model.objects.filter(**{field: OuterRef("pk")})
                .order_by()
                .values(field)
                .annotate(n=Count("id"))
                .values("n")
            )
            return Coalesce(Subquery(rows), 0)

        Post.objects.update(
            like_count=count_of(PostLike, "post"),
            comment_count=count_of(Comment, "post"),
        )
        Post.objects.update(
            likes_version=Coalesce(Subquery(Post.objects.filter(pk=OuterRef("pk")).values("like_count")), 0)
        )
        Comment.objects.update(like_count=count_of(CommentLike, "comment"))
        Comment.objects.update(
            likes_version=Coalesce(Subquery(Comment.objects.filter(pk=OuterRef("pk")).values("like_count")), 0)
        )
