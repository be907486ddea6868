from django.urls import path, re_path, register_converter

from feed import apis


class ObjectIdConverter:
    """Positive ids that fit a bigint: a longer number is a 404, never a database error."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(ObjectIdConverter, "oid")

urlpatterns = [
    path("posts/", apis.PostListApi.as_view()),
    path("posts/<oid:post_id>/", apis.PostDetailApi.as_view()),
    path("posts/<oid:post_id>/comments/", apis.CommentCreateApi.as_view()),
    path("posts/<oid:post_id>/like/", apis.PostLikeApi.as_view()),
    path("comments/<oid:comment_id>/", apis.CommentDetailApi.as_view()),
    path("comments/<oid:comment_id>/like/", apis.CommentLikeApi.as_view()),
    path("leaderboard/", apis.LeaderboardApi.as_view()),
    # The characters a username can hold (Django's username validator, which the admin uses;
    # signup allows fewer): anything else, a NUL byte say, is no user's and never queried.
    re_path(r"^users/(?P<username>[\w.@+-]{1,150})/$", apis.ProfileApi.as_view()),
]
