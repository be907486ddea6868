"""The admin shows every row, deleted ones too; deleting and restoring go through the services.

Rows are never removed here: a hard delete would drop likes (and karma) and orphan replies,
and would skip the events that keep open browsers right. Nor are they added here, which would
skip the counters and events of the services. The derived columns (counters, versions, depth,
deletion time) and a row's place (author, post, parent, time) are read-only; only the content
can be edited, for moderation.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from feed import services
from feed.models import Comment, CommentLike, KarmaWindow, LeaderboardState, Post, PostLike


class SoftDeleteAdmin(admin.ModelAdmin):
    """Delete and restore actions that call the services; no hard delete."""

    # "deleted_at: Not empty" lists the deleted rows.
    list_filter = (("deleted_at", admin.EmptyFieldListFilter),)
    actions = ("soft_delete", "restore")
    noun = "rows"

    def delete_one(self, actor: User, pk: int) -> bool:
        raise NotImplementedError

    def restore_one(self, pk: int) -> bool:
        raise NotImplementedError

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Delete selected (soft: placeholders stay, events go out)")
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        actor: User = request.user  # type: ignore[assignment]
        changed = sum(1 for pk in queryset.values_list("pk", flat=True) if self.delete_one(actor, pk))
        self.message_user(request, f"Deleted {changed} {self.noun}; {queryset.count() - changed} were deleted already.")

    @admin.action(description="Restore selected (events go out)")
    def restore(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        changed = sum(1 for pk in queryset.values_list("pk", flat=True) if self.restore_one(pk))
        self.message_user(
            request, f"Restored {changed} {self.noun}; {queryset.count() - changed} were not deleted.", messages.SUCCESS
        )

    @admin.display(boolean=True, description="deleted")
    def is_deleted(self, obj: Post | Comment) -> bool:
        return obj.deleted_at is not None


@admin.register(Post)
class PostAdmin(SoftDeleteAdmin):
    list_display = ("id", "author", "created_at", "like_count", "comment_count", "is_deleted")
    list_select_related = ("author",)
    raw_id_fields = ("author",)
    search_fields = ("content", "author__username")
    readonly_fields = ("author", "created_at", "like_count", "comment_count", "likes_version", "deleted_at")
    noun = "posts"

    def delete_one(self, actor: User, pk: int) -> bool:
        return services.post_delete(actor=actor, post_id=pk)

    def restore_one(self, pk: int) -> bool:
        return services.post_restore(post_id=pk)


@admin.register(Comment)
class CommentAdmin(SoftDeleteAdmin):
    list_display = ("id", "post_id", "parent_id", "author", "depth", "like_count", "created_at", "is_deleted")
    list_select_related = ("author",)
    raw_id_fields = ("post", "parent", "author")
    readonly_fields = ("post", "parent", "author", "created_at", "depth", "like_count", "likes_version", "deleted_at")
    noun = "comments"

    def delete_one(self, actor: User, pk: int) -> bool:
        return services.comment_delete(actor=actor, comment_id=pk)

    def restore_one(self, pk: int) -> bool:
        return services.comment_restore(comment_id=pk)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the services derive (likes carry counters and karma; the window and leaderboard
    state follow from likes): shown, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PostLike)
class PostLikeAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "post_id", "recipient", "created_at")
    list_select_related = ("user", "recipient")
    raw_id_fields = ("user", "post", "recipient")


@admin.register(CommentLike)
class CommentLikeAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "comment_id", "recipient", "created_at")
    list_select_related = ("user", "recipient")
    raw_id_fields = ("user", "comment", "recipient")


@admin.register(KarmaWindow)
class KarmaWindowAdmin(ReadOnlyAdmin):
    list_display = ("user", "karma")
    list_select_related = ("user",)
    ordering = ("-karma",)


@admin.register(LeaderboardState)
class LeaderboardStateAdmin(ReadOnlyAdmin):
    list_display = ("id", "window_start", "computed_at")
