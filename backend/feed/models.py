"""Tables and constraints of the feed. No logic in save(): services write, selectors read."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class LiveManager(models.Manager):
    """Rows that are not deleted.

    Each content model's `objects`: a read that starts from it never shows deleted content by
    accident. Reads that show deleted rows as placeholders on purpose (a thread, the live
    state of followed posts, the admin) use `all_objects`, which is also the default manager,
    so Django's own machinery (dumpdata, the admin, related lookups) sees every row.
    """

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class Post(models.Model):
    # In code points, as the UI counts them; the UI's copy is written from here
    # (manage.py write_frontend_limits).
    MAX_CONTENT_LENGTH = 10_000

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    content = models.TextField()
    created_at = models.DateTimeField(db_index=True)
    # Counters move only inside the transaction that inserts or deletes the row they count
    # (comment_count counts comments not deleted: it moves when one is deleted or restored too).
    like_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    # Grows with every change of like_count, so clients can order events that cross.
    likes_version = models.PositiveBigIntegerField(default=0)
    # Set when deleted: the row stays, shown as a placeholder (no content, no author).
    deleted_at = models.DateTimeField(null=True, blank=True)

    all_objects = models.Manager()
    objects = LiveManager()

    class Meta:
        default_manager_name = "all_objects"
        indexes = [models.Index(fields=["-created_at", "-id"], name="feed_post_newest")]

    def __str__(self) -> str:
        return f"Post {self.pk} by {self.author_id}"


class Comment(models.Model):
    MAX_CONTENT_LENGTH = 5_000

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    content = models.TextField()
    created_at = models.DateTimeField()
    # 0 for a comment on the post itself; stored so a thread never has to be walked to know it.
    depth = models.PositiveIntegerField(default=0)
    like_count = models.PositiveIntegerField(default=0)
    likes_version = models.PositiveBigIntegerField(default=0)
    # Set when deleted: the row stays in its thread as a placeholder, so replies keep parents.
    deleted_at = models.DateTimeField(null=True, blank=True)

    all_objects = models.Manager()
    objects = LiveManager()

    class Meta:
        default_manager_name = "all_objects"
        indexes = [models.Index(fields=["post", "id"], name="feed_comment_thread")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on post {self.post_id}"


class PostLike(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    # The post's author, copied so karma queries need no join. Authors never change.
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="feed_postlike_once")]
        indexes = [
            models.Index(fields=["created_at"], name="feed_postlike_created"),
            models.Index(fields=["recipient", "created_at"], name="feed_postlike_recipient"),
        ]

    def __str__(self) -> str:
        return f"Like of post {self.post_id} by {self.user_id}"


class CommentLike(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="likes")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "comment"], name="feed_commentlike_once")]
        indexes = [
            models.Index(fields=["created_at"], name="feed_commentlike_created"),
            models.Index(fields=["recipient", "created_at"], name="feed_commentlike_recipient"),
        ]

    def __str__(self) -> str:
        return f"Like of comment {self.comment_id} by {self.user_id}"


class KarmaWindow(models.Model):
    """Karma each user earned from likes created after `LeaderboardState.window_start`.

    A derived index, not a source of truth: likes and unlikes adjust it in their own
    transaction, the leaderboard refresh subtracts likes as they age out of the window, and
    `manage.py leaderboard_check` compares it with the from-scratch sum (and can rebuild it).
    It exists so the top 5 is an index read instead of a GROUP BY over a day of likes.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    karma = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(F("karma").desc(), name="feed_karmawindow_rank", condition=Q(karma__gt=0))]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.karma}"


class LeaderboardState(models.Model):
    """One row: where the karma window starts, and the top 5 last pushed to sockets.

    Its row lock serialises leaderboard refreshes across workers and orders unlikes against
    the aging of the window.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    window_start = models.DateTimeField()
    computed_at = models.DateTimeField()
    entries = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"Leaderboard window from {self.window_start:%Y-%m-%d %H:%M:%S}"
