"""Both roads a like can take answer alike: the REST view in Django's full request cycle, and
the lean road the WSGI workers serve (feed.lean_likes).

Each case runs against both, through the WSGI interface a server calls: statuses, bodies,
headers (every one but the request id), events pushed, refusals (no session, CSRF, throttle)
each with its positive control. One case compares the two roads' headers side by side.
"""

import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import User
from feed import lean_likes, services
from feed.models import Post
from testing.plugin import session_cookie_for
from tests.factories import make_post

pytestmark = pytest.mark.django_db


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def comparable_headers(self) -> dict[str, str]:
        return {name: value for name, value in self.headers.items() if name != "X-Request-ID"}


class Browser:
    """A logged-in browser (or an anonymous one) speaking WSGI to one road."""

    def __init__(self, app: Callable[..., Any], user: User | None) -> None:
        self.app = app
        self.csrf = _get_new_csrf_string()
        self.cookies = f"{settings.CSRF_COOKIE_NAME}={self.csrf}"
        if user is not None:
            self.cookies += f"; {session_cookie_for(user)}"

    def send(self, method: str, path: str, *, csrf: bool = True, body: bytes = b"") -> Answer:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "HTTP_COOKIE": self.cookies,
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "CONTENT_TYPE": "application/json" if body else "",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if csrf:
            environ["HTTP_X_CSRFTOKEN"] = self.csrf
        started: list[Any] = []
        result = self.app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
        try:
            content = b"".join(result)
        finally:
            result.close()
        status, headers = started[0]
        return Answer(int(status.split()[0]), dict(headers), orjson.loads(content) if content else None)


@pytest.fixture(autouse=True)
def connections_kept_open() -> Iterator[None]:
    """As Django's test client does: the test's transaction outlives each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(params=["django", "lean"])
def road(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def app_for(road: str) -> Callable[..., Any]:
    django_app = WSGIHandler()
    return django_app if road == "django" else lean_likes.LeanLikes(django_app)


@pytest.fixture
def browser(road: str) -> Callable[[User | None], Browser]:
    app = app_for(road)
    return lambda user: Browser(app, user)


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
    browser: Callable[..., Browser], make_user: Callable[..., User], post: Post, capture_pushes: list[Any]
) -> None:
    fan = browser(make_user())
    fan.send("POST", f"/api/posts/{post.pk}/like/")
    fan.send("POST", f"/api/posts/{post.pk}/like/")  # nothing changed: nothing pushed
    fan.send("DELETE", f"/api/posts/{post.pk}/like/")
    likes = [orjson.loads(event.text) for event in capture_pushes if '"post.likes"' in event.text]
    assert [(e["post_id"], e["like_count"], e["version"]) for e in likes] == [(post.pk, 1, 1), (post.pk, 0, 2)]


def _every_case(app: Callable[..., Any], fan: User, author: User) -> Iterator[Answer]:
    post = make_post(author)
    logged_in, anonymous = Browser(app, fan), Browser(app, None)
    yield logged_in.send("POST", f"/api/posts/{post.pk}/like/")
    yield logged_in.send("DELETE", f"/api/posts/{post.pk}/like/")
    yield logged_in.send("POST", "/api/posts/999999999/like/")
    yield logged_in.send("POST", f"/api/posts/{post.pk}/like/", csrf=False)
    yield anonymous.send("POST", f"/api/posts/{post.pk}/like/")


def test_both_roads_send_the_same_headers(make_user: Callable[..., User], author: User) -> None:
    django_road = list(_every_case(app_for("django"), make_user(), author))
    lean = lean_likes.LeanLikes(WSGIHandler())
    handed_to_django: list[str] = []
    to_django = lean.django_app

    def spy(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        handed_to_django.append(environ["PATH_INFO"])
        return to_django(environ, start_response)

    lean.django_app = spy
    lean_road = list(_every_case(lean, make_user(), author))
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
