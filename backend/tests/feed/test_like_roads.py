"""Every road a like can take answers alike: the REST view in Django's full request cycle, the
lean road the WSGI workers serve (feed.lean_likes), and, where the deployment has PostgreSQL
and Redis, the road on the event loop of the ASGI workers (feed.async_likes).

Each case runs against every road, through the interface a server calls (WSGI, or ASGI on an
event loop of its own): statuses, bodies, headers (every one but the request id), events
pushed, refusals (no session, CSRF, throttle) each with its positive control. Cases compare
the roads' headers side by side. The loop road's own connections see only what has
committed, so its cases run in transactions that commit.
"""

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import psycopg
import pytest
from django.core.asgi import get_asgi_application
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError
from django.test import override_settings
from rest_framework.throttling import ScopedRateThrottle

from accounts.backends import CachedModelBackend
from accounts.models import User
from feed import async_likes, lean_likes, services
from feed.models import Post
from testing.plugin import eventually
from tests.factories import make_post
from tests.feed.roads import Answer, AsgiBrowser, Browser, LoopThread, spy_on_django, wsgi_browser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("connections_kept_open")]


# The loop road reads what has committed, on connections of its own.
LOOP_ROAD = [pytest.param("loop", marks=pytest.mark.django_db(transaction=True))] if async_likes.available() else []


@pytest.fixture(params=["django", "lean", *LOOP_ROAD])
def road(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def app_for(road: str) -> Callable[..., Any]:
    django_app = WSGIHandler()
    return django_app if road == "django" else lean_likes.LeanLikes(django_app)


@pytest.fixture
def browser(road: str, request: pytest.FixtureRequest) -> Callable[[User | None], Browser]:
    if road == "loop":
        loop, app = request.getfixturevalue("loop_thread"), async_likes.AsyncLikes(get_asgi_application())
        return lambda user: AsgiBrowser(app, user, loop)
    wsgi_app = app_for(road)
    return lambda user: Browser(wsgi_app, user)


@pytest.fixture
def author(make_user: Callable[..., User]) -> User:
    return make_user()


@pytest.fixture
def post(author: User) -> Post:
    return make_post(author)


def test_like_again_and_unlike(browser: Callable[..., Browser], make_user: Callable[..., User], post: Post) -> None:
    fan = browser(make_user())
    path = f"/api/posts/{post.pk}/like/"
    assert fan.send("POST", path).body == {"liked": True, "like_count": 1, "version": 1}
    again = fan.send("POST", path)
    assert (again.status, again.body) == (200, {"liked": True, "like_count": 1, "version": 1})
    assert fan.send("DELETE", path).body == {"liked": False, "like_count": 0, "version": 2}
    unlike_again = fan.send("DELETE", path)
    assert (unlike_again.status, unlike_again.body) == (200, {"liked": False, "like_count": 0, "version": 2})


def test_comment_likes(browser: Callable[..., Browser], make_user: Callable[..., User], post: Post) -> None:
    comment, _ = services.comment_create(author=make_user(), post_id=post.pk, content="c")
    fan = browser(make_user())
    liked = fan.send("POST", f"/api/comments/{comment.pk}/like/")
    assert (liked.status, liked.body) == (200, {"liked": True, "like_count": 1, "version": 1})
    assert fan.send("DELETE", f"/api/comments/{comment.pk}/like/").body == {
        "liked": False,
        "like_count": 0,
        "version": 2,
    }


def test_unknown_and_deleted_content_is_404(
    browser: Callable[..., Browser], make_user: Callable[..., User], author: User, post: Post
) -> None:
    fan = browser(make_user())
    missing = fan.send("POST", "/api/posts/999999999/like/")
    assert (missing.status, missing.body) == (404, {"detail": "No such post."})
    assert fan.send("DELETE", "/api/comments/999999999/like/").body == {"detail": "No such comment."}
    services.post_delete(actor=author, post_id=post.pk)
    assert fan.send("POST", f"/api/posts/{post.pk}/like/").status == 404
    # Positive control: content that exists is liked.
    assert fan.send("POST", f"/api/posts/{make_post(author).pk}/like/").status == 200


def test_no_session_is_refused(browser: Callable[..., Browser], make_user: Callable[..., User], post: Post) -> None:
    refused = browser(None).send("POST", f"/api/posts/{post.pk}/like/")
    assert (refused.status, refused.body) == (403, {"detail": "Authentication credentials were not provided."})
    assert Post.objects.get(pk=post.pk).like_count == 0
    assert browser(make_user()).send("POST", f"/api/posts/{post.pk}/like/").status == 200


def test_a_request_without_the_csrf_token_is_refused(
    browser: Callable[..., Browser], make_user: Callable[..., User], post: Post
) -> None:
    fan = browser(make_user())
    refused = fan.send("POST", f"/api/posts/{post.pk}/like/", csrf=False)
    assert refused.status == 403
    assert refused.body["detail"].startswith("CSRF Failed:")
    assert Post.objects.get(pk=post.pk).like_count == 0
    # Positive control: the same browser with its token.
    assert fan.send("POST", f"/api/posts/{post.pk}/like/").status == 200


def test_a_host_django_refuses_is_refused_before_the_like(
    browser: Callable[..., Browser], make_user: Callable[..., User], post: Post
) -> None:
    fan = browser(make_user())
    with override_settings(ALLOWED_HOSTS=["elsewhere.example"]):
        refused = fan.send("POST", f"/api/posts/{post.pk}/like/")
    assert refused.status == 400
    assert Post.objects.get(pk=post.pk).like_count == 0
    # Positive control: the same like from an allowed host.
    assert fan.send("POST", f"/api/posts/{post.pk}/like/").body["like_count"] == 1


@pytest.fixture
def like_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF reads the rates once, into the class: set them there.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "like": "3/min"})


@pytest.mark.usefixtures("like_rate")
def test_likes_are_throttled(browser: Callable[..., Browser], make_user: Callable[..., User], author: User) -> None:
    posts = [make_post(author) for _ in range(4)]
    fan_user, other_user = make_user(), make_user()
    # Counts a test before left under these ids (the embedded cache outlives a test's rollback).
    cache.delete_many([f"throttle_like_{user.pk}" for user in (fan_user, other_user)])
    fan = browser(fan_user)
    assert [fan.send("POST", f"/api/posts/{p.pk}/like/").status for p in posts] == [200, 200, 200, 429]
    throttled = fan.send("DELETE", f"/api/posts/{posts[0].pk}/like/")
    assert throttled.status == 429 and int(throttled.headers["Retry-After"]) > 0
    assert throttled.body["detail"].startswith("Request was throttled.")
    # Positive control: another user's likes are counted apart.
    assert browser(other_user).send("POST", f"/api/posts/{posts[3].pk}/like/").status == 200


def test_other_requests_on_like_paths_are_django_s(
    browser: Callable[..., Browser], make_user: Callable[..., User], post: Post
) -> None:
    fan = browser(make_user())
    wrong_method = fan.send("PUT", f"/api/posts/{post.pk}/like/")
    assert wrong_method.status == 405
    with_a_body = fan.send("POST", f"/api/posts/{post.pk}/like/", body=b"{}")
    assert (with_a_body.status, with_a_body.body["liked"]) == (200, True)


@pytest.mark.django_db(transaction=True)
def test_pushes(
    browser: Callable[..., Browser],
    make_user: Callable[..., User],
    post: Post,
    capture_pushes: list[Any],
    settings: Any,
) -> None:
    # Each count leaves at once (a loop's publisher would otherwise merge a burst of them).
    settings.REALTIME = {**settings.REALTIME, "COALESCE_WINDOW": 0.0}
    fan = browser(make_user())

    def pushed() -> list[tuple[int, int, int]]:
        likes = [orjson.loads(event.text) for event in capture_pushes if '"post.likes"' in event.text]
        return [(e["post_id"], e["like_count"], e["version"]) for e in likes]

    fan.send("POST", f"/api/posts/{post.pk}/like/")
    eventually(pushed, "the like pushed")
    fan.send("POST", f"/api/posts/{post.pk}/like/")  # nothing changed: nothing pushed
    fan.send("DELETE", f"/api/posts/{post.pk}/like/")
    # The unlike's count comes after the like's, and nothing between them.
    eventually(lambda: len(pushed()) >= 2, "the unlike pushed")
    assert pushed() == [(post.pk, 1, 1), (post.pk, 0, 2)]


def _every_case(browser: Callable[[User | None], Browser], fan: User, author: User) -> Iterator[Answer]:
    post = make_post(author)
    logged_in, anonymous = browser(fan), browser(None)
    yield logged_in.send("POST", f"/api/posts/{post.pk}/like/")
    yield logged_in.send("DELETE", f"/api/posts/{post.pk}/like/")
    yield logged_in.send("POST", "/api/posts/999999999/like/")
    yield logged_in.send("POST", f"/api/posts/{post.pk}/like/", csrf=False)
    yield anonymous.send("POST", f"/api/posts/{post.pk}/like/")


def test_both_roads_send_the_same_headers(make_user: Callable[..., User], author: User) -> None:
    django_road = list(_every_case(wsgi_browser(app_for("django")), make_user(), author))
    lean = lean_likes.LeanLikes(WSGIHandler())
    handed_to_django: list[str] = []
    to_django = lean.django_app

    def spy(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        handed_to_django.append(environ["PATH_INFO"])
        return to_django(environ, start_response)

    lean.django_app = spy
    lean_road = list(_every_case(wsgi_browser(lean), make_user(), author))
    # The lean road answered every case itself (its refusals through the REST view)...
    assert handed_to_django == []
    assert [a.status for a in lean_road] == [200, 200, 404, 403, 403]
    # ...and hands Django what is not a like (positive control of the spy).
    assert Browser(lean, None).send("GET", "/api/posts/").status == 200
    assert handed_to_django == ["/api/posts/"]
    for django_answer, lean_answer in zip(django_road, lean_road, strict=True):
        assert lean_answer.comparable_headers == django_answer.comparable_headers
        assert lean_answer.body == django_answer.body
        assert lean_answer.headers["X-Request-ID"]


def test_a_database_outage_is_the_same_503(
    make_user: Callable[..., User], author: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(**kwargs: Any) -> services.LikeState:
        raise OperationalError("connection refused")

    post = make_post(author)
    answers = []
    for road in ("django", "lean"):
        with monkeypatch.context() as patched:
            patched.setattr(services, "post_like_set", unavailable)
            answers.append(Browser(app_for(road), make_user()).send("POST", f"/api/posts/{post.pk}/like/"))
    django_answer, lean_answer = answers
    assert (lean_answer.status, lean_answer.headers["Retry-After"]) == (503, "5")
    assert lean_answer.body == django_answer.body == {"detail": "The database is unavailable; try again shortly."}
    assert lean_answer.comparable_headers == django_answer.comparable_headers
    # Positive control: with the database back, the same like is answered.
    assert Browser(app_for("lean"), make_user()).send("POST", f"/api/posts/{post.pk}/like/").status == 200


@pytest.mark.needs_services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("road", ["loop"])
def test_the_loop_road_answers_likes_itself_and_refusals_through_django(
    road: str, make_user: Callable[..., User], author: User, loop_thread: LoopThread
) -> None:
    django_road = list(_every_case(wsgi_browser(app_for("django")), make_user(), author))
    loop_road = async_likes.AsyncLikes(get_asgi_application())
    handed_to_django = spy_on_django(loop_road)
    fan = make_user()
    answers = list(_every_case(lambda user: AsgiBrowser(loop_road, user, loop_thread), fan, author))
    assert [a.status for a in answers] == [200, 200, 404, 403, 403]
    # The like, the unlike and the 404 were answered on the loop; the refusals by Django.
    assert len(handed_to_django) == 2 and all(call.startswith("POST /api/posts/") for call in handed_to_django)
    for django_answer, loop_answer in zip(django_road, answers, strict=True):
        assert loop_answer.comparable_headers == django_answer.comparable_headers
        assert loop_answer.body == django_answer.body
    # A user this worker has not loaded lately is loaded on the way, as Django would...
    newcomer_user = make_user()
    newcomer = AsgiBrowser(loop_road, newcomer_user, loop_thread, remembered=False)
    handed_to_django.clear()
    assert newcomer.send("POST", f"/api/posts/{make_post(author).pk}/like/").status == 200
    assert handed_to_django == []
    # ...and one who may no longer log in is Django's to refuse.
    User.objects.filter(pk=newcomer_user.pk).update(is_active=False)
    CachedModelBackend.forget_user(newcomer_user.pk)
    refused = newcomer.send("POST", f"/api/posts/{make_post(author).pk}/like/")
    assert refused.status == 403 and len(handed_to_django) == 1


@pytest.mark.needs_services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("road", ["loop"])
def test_the_loop_road_answers_a_database_outage_with_the_same_503(
    road: str, make_user: Callable[..., User], author: User, loop_thread: LoopThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = make_post(author)
    django_answer = Browser(app_for("django"), make_user())
    with monkeypatch.context() as patched:
        patched.setattr(services, "post_like_set", _database_down)
        expected = django_answer.send("POST", f"/api/posts/{post.pk}/like/")

    async def unavailable(*args: Any, **kwargs: Any) -> services.LikeState:
        raise psycopg.OperationalError("connection refused")

    app = async_likes.AsyncLikes(get_asgi_application())
    with monkeypatch.context() as patched:
        patched.setattr(services, "like_on_loop", unavailable)
        answer = AsgiBrowser(app, make_user(), loop_thread).send("POST", f"/api/posts/{post.pk}/like/")
    assert (answer.status, answer.headers["Retry-After"], answer.body) == (503, "5", expected.body)
    assert answer.comparable_headers == expected.comparable_headers
    # Positive control: with the database back, the same like is answered.
    assert AsgiBrowser(app, make_user(), loop_thread).send("POST", f"/api/posts/{post.pk}/like/").status == 200


def _database_down(**kwargs: Any) -> services.LikeState:
    raise OperationalError("connection refused")
