"""Thin REST views of the feed: validate, call one service or selector, serialize."""

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import idempotency
from core.fields import StrictCharField, StrictIntegerField
from core.throttling import ScopedRateThrottle
from feed import presenters, selectors, services
from feed.models import Comment, Post
from realtime import streams
from realtime.events import FEED_GROUP, post_group

DEFAULT_PAGE_SIZE = 20
_STREAM_SEQ_HELP = "The stream's position read before the rows (null when Redis is unreachable): resume from it."
MAX_PAGE_SIZE = 100


def _content_field(max_length: int) -> StrictCharField:
    # trim_whitespace makes whitespace-only content blank, which the field rejects.
    return StrictCharField(
        max_length=max_length,
        allow_blank=False,
        error_messages={"blank": "Write something first: content cannot be empty or only whitespace."},
    )


class PostCreateSerializer(serializers.Serializer):
    content = _content_field(Post.MAX_CONTENT_LENGTH)


class CommentCreateSerializer(serializers.Serializer):
    content = _content_field(Comment.MAX_CONTENT_LENGTH)
    parent_id = StrictIntegerField(required=False, allow_null=True, min_value=1)


# Output shapes, declared for the OpenAPI schema; presenters.py builds the actual JSON.
class UserOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


_PLACEHOLDER = "Null (and `content` empty) when the post or comment is deleted."


class PostOut(serializers.Serializer):
    id = serializers.IntegerField()
    author = UserOut(allow_null=True, help_text=_PLACEHOLDER)
    content = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    like_count = serializers.IntegerField()
    comment_count = serializers.IntegerField(help_text="Comments that are not deleted.")
    liked_by_me = serializers.BooleanField()
    deleted = serializers.BooleanField()


class PostThreadOut(PostOut):
    """The post's own fields, with its whole thread beside them (not nested under "post")."""

    comments = serializers.ListField(
        child=serializers.DictField(), help_text="CommentNode objects, each with `replies`."
    )
    stream_seq = serializers.IntegerField(allow_null=True, help_text=_STREAM_SEQ_HELP)


class CommentOut(serializers.Serializer):
    id = serializers.IntegerField()
    post_id = serializers.IntegerField()
    parent_id = serializers.IntegerField(allow_null=True)
    author = UserOut(allow_null=True, help_text=_PLACEHOLDER)
    content = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    like_count = serializers.IntegerField()
    liked_by_me = serializers.BooleanField()
    depth = serializers.IntegerField()
    deleted = serializers.BooleanField()


class LikeOut(serializers.Serializer):
    liked = serializers.BooleanField()
    like_count = serializers.IntegerField()
    version = serializers.IntegerField(help_text="The count's version, as in post.likes and comment.likes events.")


class EntryOut(serializers.Serializer):
    rank = serializers.IntegerField()
    user = UserOut()
    karma = serializers.IntegerField()


def _encode_cursor(post: selectors.PostRow) -> str:
    raw = f"{post[4].isoformat()}|{post[0]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# A cursor names a post's creation time and id. Times outside this range are no post's, and
# near datetime's limits they cannot even be shifted to the database's time zone.
CURSOR_TIME_RANGE = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC))
MAX_ID = 2**63 - 1
BAD_CURSOR = "This cursor is not valid; use the `next` link of a previous page."


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, post_id = raw.split("|")
        created = datetime.fromisoformat(created_at)
        if timezone.is_naive(created):
            raise ValueError("a cursor's time has a zone")
        position = (created.astimezone(UTC), int(post_id))
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise ValidationError({"cursor": [BAD_CURSOR]}) from exc
    if not CURSOR_TIME_RANGE[0] <= position[0] < CURSOR_TIME_RANGE[1] or not 0 < position[1] <= MAX_ID:
        raise ValidationError({"cursor": [BAD_CURSOR]})
    return position


def _page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError as exc:
        raise ValidationError({"page_size": ["page_size must be a whole number."]}) from exc
    if size < 1:
        raise ValidationError({"page_size": [f"page_size must be between 1 and {MAX_PAGE_SIZE}."]})
    return min(size, MAX_PAGE_SIZE)


def feed_page_query(query: QueryDict) -> tuple[int, tuple[datetime, int] | None]:
    """The feed page asked for: its size, and the position it starts after (None: the newest)."""
    size = _page_size(query.get("page_size"))
    cursor = query.get("cursor")
    return size, _decode_cursor(cursor) if cursor else None


def feed_page_json(
    request: HttpRequest | Request, posts: list[selectors.PostRow], *, size: int, stream_seq: int | None
) -> bytes:
    """The feed page's body from selectors.feed_page's rows (one more than `size` if there are
    more): the posts, the `next` page's absolute URL, the stream position read before them."""
    next_url = None
    if len(posts) > size:
        posts = posts[:size]
        query = request.GET.copy()
        query["cursor"] = _encode_cursor(posts[-1])
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    results = [presenters.post_row_data(p) for p in posts]
    return orjson.dumps(
        {"results": results, "next": next_url, "stream_seq": stream_seq}, option=presenters.JSON_OPTIONS
    )


def _json(body: bytes, status_code: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status_code, content_type="application/json")


class PostListApi(APIView):
    throttle_scope = "write"

    def get_throttles(self) -> list[Any]:
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        # Named apart from the detail view's GET, which drf-spectacular would also call posts_retrieve.
        operation_id="posts_list",
        parameters=[
            OpenApiParameter("cursor", str, description="Opaque position from a previous page's `next`."),
            OpenApiParameter("page_size", int, description=f"1 to {MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE}."),
        ],
        responses={
            200: inline_serializer(
                "PostPage",
                {
                    "results": PostOut(many=True),
                    "next": serializers.URLField(allow_null=True),
                    "stream_seq": serializers.IntegerField(allow_null=True, help_text=_STREAM_SEQ_HELP),
                },
            )
        },
    )
    def get(self, request: Request) -> HttpResponse:
        size, before = feed_page_query(request.query_params)
        stream_seq = streams.position(FEED_GROUP)  # before the rows: a resume may repeat, never skip
        posts = selectors.feed_page(viewer=request.user, before=before, size=size)  # type: ignore[arg-type]
        return _json(feed_page_json(request, posts, size=size, stream_seq=stream_seq))

    @extend_schema(
        request=PostCreateSerializer,
        parameters=[idempotency.SCHEMA_PARAMETER],
        responses={201: PostOut, **idempotency.SCHEMA_RESPONSES},
    )
    @idempotency.idempotent
    def post(self, request: Request) -> HttpResponse:
        data = PostCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.post_create(author=request.user, content=data.validated_data["content"])  # type: ignore[arg-type]
        return _json(orjson.dumps(presenters.post_data(post, liked_by_me=False), option=presenters.JSON_OPTIONS), 201)


def _soft_delete(delete: Any, request: Request, object_id: int, not_found: str) -> Response:
    """204 whether this call deleted it or it was deleted already (deleting is idempotent)."""
    if not request.user.is_authenticated:
        raise NotAuthenticated()
    try:
        delete(actor=request.user, object_id=object_id)
    except services.NotFound as exc:
        raise NotFound(not_found) from exc
    except services.NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    return Response(status=status.HTTP_204_NO_CONTENT)


_DELETE_SCHEMA = extend_schema(
    request=None,
    responses={204: None, 403: None, 404: None},
    description="Soft delete, by the author or staff: the row stays as a placeholder (`deleted: true`, empty "
    "`content`, null `author`). Deleting again answers 204 and changes nothing.",
)


class PostDetailApi(APIView):
    # Reading is open to anyone; delete() checks the caller itself.
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: PostThreadOut},
        description="The post's fields plus `comments`: the whole thread as nested CommentNode objects (`replies`).",
    )
    def get(self, request: Request, post_id: int) -> HttpResponse:
        stream_seq = streams.position(post_group(post_id))  # before the rows: a resume may repeat, never skip
        thread = selectors.thread_get(post_id=post_id, viewer=request.user)  # type: ignore[arg-type]
        if thread is None:
            raise NotFound("No such post.")
        body = presenters.thread_json(thread.post, comments=thread.comments)
        return _json(b'{"stream_seq":' + orjson.dumps(stream_seq) + b"," + body[1:])

    @_DELETE_SCHEMA
    def delete(self, request: Request, post_id: int) -> Response:
        return _soft_delete(
            lambda actor, object_id: services.post_delete(actor=actor, post_id=object_id),
            request,
            post_id,
            "No such post.",
        )


class CommentDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @_DELETE_SCHEMA
    def delete(self, request: Request, comment_id: int) -> Response:
        return _soft_delete(
            lambda actor, object_id: services.comment_delete(actor=actor, comment_id=object_id),
            request,
            comment_id,
            "No such comment.",
        )


class CommentCreateApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "write"

    @extend_schema(
        request=CommentCreateSerializer,
        parameters=[idempotency.SCHEMA_PARAMETER],
        responses={201: CommentOut, **idempotency.SCHEMA_RESPONSES},
    )
    @idempotency.idempotent
    def post(self, request: Request, post_id: int) -> HttpResponse:
        data = CommentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            comment, _ = services.comment_create(
                author=request.user,  # type: ignore[arg-type]
                post_id=post_id,
                content=data.validated_data["content"],
                parent_id=data.validated_data.get("parent_id"),
            )
        except services.NotFound as exc:
            raise NotFound("No such post.") from exc
        except (services.InvalidParent, services.ThreadTooDeep) as exc:
            raise ValidationError({"parent_id": [str(exc)]}) from exc
        except services.ContentDeleted as exc:
            field = "detail" if data.validated_data.get("parent_id") is None else "parent_id"
            raise ValidationError({field: [str(exc)]}) from exc
        return _json(
            orjson.dumps(presenters.comment_data(comment, liked_by_me=False), option=presenters.JSON_OPTIONS), 201
        )


class _LikeApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "like"
    not_found = "No such object."

    def _answer(self, action: Any, request: Request, object_id: int) -> HttpResponse:
        try:
            state = action(request, object_id)
        except services.NotFound as exc:
            raise NotFound(self.not_found) from exc
        return _json(orjson.dumps({"liked": state.liked, "like_count": state.like_count, "version": state.version}))


class PostLikeApi(_LikeApi):
    not_found = "No such post."

    @extend_schema(request=None, responses={200: LikeOut})
    def post(self, request: Request, post_id: int) -> HttpResponse:
        return self._answer(lambda r, i: services.post_like_set(user=r.user, post_id=i), request, post_id)

    @extend_schema(request=None, responses={200: LikeOut})
    def delete(self, request: Request, post_id: int) -> HttpResponse:
        return self._answer(lambda r, i: services.post_like_clear(user=r.user, post_id=i), request, post_id)


class CommentLikeApi(_LikeApi):
    not_found = "No such comment."

    @extend_schema(request=None, responses={200: LikeOut})
    def post(self, request: Request, comment_id: int) -> HttpResponse:
        return self._answer(lambda r, i: services.comment_like_set(user=r.user, comment_id=i), request, comment_id)

    @extend_schema(request=None, responses={200: LikeOut})
    def delete(self, request: Request, comment_id: int) -> HttpResponse:
        return self._answer(lambda r, i: services.comment_like_clear(user=r.user, comment_id=i), request, comment_id)


class LeaderboardApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Leaderboard", {"window_hours": serializers.IntegerField(), "entries": EntryOut(many=True)}
            )
        }
    )
    def get(self, request: Request) -> HttpResponse:
        body = {"window_hours": settings.KARMA["WINDOW_HOURS"], "entries": selectors.leaderboard_top()}
        return _json(orjson.dumps(body))


class ProfileApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Profile",
                {
                    "id": serializers.IntegerField(),
                    "username": serializers.CharField(),
                    "karma_24h": serializers.IntegerField(),
                    "karma_total": serializers.IntegerField(),
                },
            )
        }
    )
    def get(self, request: Request, username: str) -> HttpResponse:
        profile = selectors.user_profile(username=username)
        if profile is None:
            raise NotFound("No such user.")
        return _json(orjson.dumps(presenters.profile_data(profile)))
