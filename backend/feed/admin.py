from django.contrib import admin

from feed.models import Comment, CommentLike, KarmaWindow, LeaderboardState, Post, PostLike


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("id", "author", "created_at", "like_count", "comment_count")
    list_select_related = ("author",)
    raw_id_fields = ("author",)
    search_fields = ("content", "author__username")


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "post_id", "parent_id", "author", "depth", "like_count", "created_at")
    list_select_related = ("author",)
    raw_id_fields = ("post", "parent", "author")


@admin.register(PostLike)
class PostLikeAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "post_id", "recipient", "created_at")
    list_select_related = ("user", "recipient")
    raw_id_fields = ("user", "post", "recipient")


@admin.register(CommentLike)
class CommentLikeAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "comment_id", "recipient", "created_at")
    list_select_related = ("user", "recipient")
    raw_id_fields = ("user", "comment", "recipient")


@admin.register(KarmaWindow)
class KarmaWindowAdmin(admin.ModelAdmin):
    list_display = ("user", "karma")
    list_select_related = ("user",)
    ordering = ("-karma",)


@admin.register(LeaderboardState)
class LeaderboardStateAdmin(admin.ModelAdmin):
    list_display = ("id", "window_start", "computed_at")
