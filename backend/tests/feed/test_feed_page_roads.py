"""Every road a feed page can take answers alike: the REST view in Django's full request cycle,
and, where the deployment has PostgreSQL and Redis, the road on the event loop of the ASGI
workers (feed.async_reads).

Each case runs against every road, through the interface a server calls (WSGI, or ASGI on an
event loop of its own): statuses, bodies (posts, `liked_by_me`, `next`, `stream_seq`),
headers (every one but the request id). The loop road answers what it can answer exactly as
Django does and hands the rest to Django whole; a spy on that hand-over shows which requests
the loop answered itself. The loop road's own connections see only what has committed, so its
cases run in transactions that commit.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from feed import async_front, async_reads, selectors
from feed.apis import BAD_CURSOR, MAX_PAGE_SIZE
from feed.models import Post, PostLike
from tests.feed.roads import Answer, AsgiBrowser, Browser, LoopThread, spy_on_django, wsgi_browser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("connections_kept_open")]

# The loop road reads what has committed, on connections of its own.
LOOP_ROAD = [pytest.param("loop", marks=pytest.mark.django_db(transaction=True))] if async_reads.available() else []
UNKNOWN_SESSION = "nosuchsession0123456789abcdefghij"
TOO_MANY_FIELDS = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))


@pytest.fixture(params=["django", *LOOP_ROAD])
def road(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def browser(road: str, request: pytest.FixtureRequest) -> Callable[[User | None], Browser]:
    if road == "loop":
        loop, app = request.getfixturevalue("loop_thread"), async_reads.AsyncReads(get_asgi_application())
        return lambda user: AsgiBrowser(app, user, loop)
    return wsgi_browser(WSGIHandler())


@dataclass
class Feed:
    reader: User
    live: list[Post]  # newest first
    liked: set[int]
    deleted: Post


@pytest.fixture
def feed(make_user: Callable[..., User]) -> Feed:
    """25 posts by three authors, pairs of them made at the same instant (the cursor breaks the
    tie by id), one deleted, three liked by the reader. Written without the services, so no
    event moves the stream position between the roads' answers."""
    authors, reader = [make_user() for _ in range(3)], make_user()
    now = timezone.now()
    posts = Post.objects.bulk_create(
        Post(author=authors[i % 3], content=f"Post {i}", created_at=now - timedelta(seconds=i // 2)) for i in range(25)
    )
    newest_first = sorted(posts, key=lambda p: (p.created_at, p.pk), reverse=True)
    deleted = newest_first[3]
    Post.all_objects.filter(pk=deleted.pk).update(deleted_at=now)
    live = [p for p in newest_first if p.pk != deleted.pk]
    liked = {live[0].pk, live[2].pk, live[21].pk}
    PostLike.objects.bulk_create(
        PostLike(user=reader, post=p, recipient=p.author, created_at=now) for p in live if p.pk in liked
    )
    Post.objects.filter(pk__in=liked).update(like_count=1)
    return Feed(reader=reader, live=live, liked=liked, deleted=deleted)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _ids(answer: Answer) -> list[int]:
    return [post["id"] for post in answer.body["results"]]


def _liked(answer: Answer) -> set[int]:
    return {post["id"] for post in answer.body["results"] if post["liked_by_me"]}


def test_an_anonymous_reader_gets_the_newest_live_posts(browser: Callable[..., Browser], feed: Feed) -> None:
    page = browser(None).send("GET", "/api/posts/")
    assert page.status == 200
    assert _ids(page) == [p.pk for p in feed.live[:20]]
    assert feed.deleted.pk not in _ids(page)
    assert not any(post["liked_by_me"] for post in page.body["results"])
    first = page.body["results"][0]
    assert first["author"] == {"id": feed.live[0].author_id, "username": feed.live[0].author.username}
    assert first["content"] == feed.live[0].content and first["created_at"].endswith("Z")
    assert isinstance(page.body["stream_seq"], int)


def test_a_logged_in_reader_sees_the_posts_they_liked(browser: Callable[..., Browser], feed: Feed) -> None:
    page = browser(feed.reader).send("GET", "/api/posts/?page_size=20")
    # The third like is on the second page; the likes are counted.
    assert _liked(page) == {feed.live[0].pk, feed.live[2].pk}
    assert all(post["like_count"] == 1 for post in page.body["results"] if post["liked_by_me"])
    # Positive control of liked_by_me's false: another reader liked nothing.
    assert not any(post["liked_by_me"] for post in browser(None).send("GET", "/api/posts/").body["results"])


def test_the_next_links_walk_every_live_post_once(browser: Callable[..., Browser], feed: Feed) -> None:
    reader = browser(feed.reader)
    page = reader.send("GET", "/api/posts/?page_size=7&extra=kept")
    seen, liked = _ids(page), _liked(page)
    while page.body["next"] is not None:
        assert page.body["next"].startswith("http://testserver/api/posts/?")
        assert "extra=kept" in page.body["next"] and "page_size=7" in page.body["next"]
        page = reader.send("GET", _path(page.body["next"]))
        assert page.status == 200
        seen, liked = seen + _ids(page), liked | _liked(page)
    assert seen == [p.pk for p in feed.live]
    assert liked == feed.liked


def test_page_size_bounds(browser: Callable[..., Browser], feed: Feed) -> None:
    reader = browser(None)
    assert len(reader.send("GET", "/api/posts/?page_size=1").body["results"]) == 1
    assert len(reader.send("GET", "/api/posts/?page_size=").body["results"]) == 20
    everything = reader.send("GET", f"/api/posts/?page_size={MAX_PAGE_SIZE * 10}")
    assert everything.status == 200 and len(everything.body["results"]) == len(feed.live)
    assert everything.body["next"] is None


def test_a_bad_cursor_or_page_size_is_a_400(browser: Callable[..., Browser], feed: Feed) -> None:
    reader = browser(feed.reader)
    bad_cursor = reader.send("GET", "/api/posts/?cursor=not-a-cursor")
    assert (bad_cursor.status, bad_cursor.body) == (400, {"cursor": [BAD_CURSOR]})
    zero = reader.send("GET", "/api/posts/?page_size=0")
    assert (zero.status, zero.body) == (400, {"page_size": [f"page_size must be between 1 and {MAX_PAGE_SIZE}."]})
    words = reader.send("GET", "/api/posts/?page_size=ten")
    assert (words.status, words.body) == (400, {"page_size": ["page_size must be a whole number."]})
    # Positive control: the same reader's good request.
    assert reader.send("GET", "/api/posts/?page_size=5").status == 200


def test_an_empty_feed(browser: Callable[..., Browser], make_user: Callable[..., User]) -> None:
    page = browser(make_user()).send("GET", "/api/posts/")
    assert page.status == 200
    assert (page.body["results"], page.body["next"]) == ([], None)


def test_an_unknown_session_reads_as_anonymous_and_its_cookie_is_ended(
    browser: Callable[..., Browser], feed: Feed
) -> None:
    stranger = browser(None)
    stranger.cookies += f"; {settings.SESSION_COOKIE_NAME}={UNKNOWN_SESSION}"
    page = stranger.send("GET", "/api/posts/")
    assert page.status == 200 and _ids(page) == [p.pk for p in feed.live[:20]]
    assert not any(post["liked_by_me"] for post in page.body["results"])
    assert f'{settings.SESSION_COOKIE_NAME}="";' in page.headers["Set-Cookie"]
    # Positive control: a known session keeps its cookie.
    assert "Set-Cookie" not in browser(feed.reader).send("GET", "/api/posts/").headers


def _every_case(browser: Callable[[User | None], Browser], feed: Feed) -> Iterator[Answer]:
    """Answered on the loop: the first five. Handed to Django: the rest."""
    anonymous, reader = browser(None), browser(feed.reader)
    yield anonymous.send("GET", "/api/posts/")
    first = reader.send("GET", "/api/posts/?page_size=20")
    yield first
    yield reader.send("GET", _path(first.body["next"]))
    yield reader.send("GET", "/api/posts/?page_size=1")
    yield anonymous.send("GET", f"/api/posts/?page_size={MAX_PAGE_SIZE + 1}")
    yield reader.send("GET", "/api/posts/?cursor=not-a-cursor")
    yield anonymous.send("GET", "/api/posts/?page_size=0")
    yield anonymous.send("GET", "/api/posts/?page_size=ten")
    yield anonymous.send("GET", f"/api/posts/?{TOO_MANY_FIELDS}")
    stranger = browser(None)
    stranger.cookies += f"; {settings.SESSION_COOKIE_NAME}={UNKNOWN_SESSION}"
    yield stranger.send("GET", "/api/posts/")
    malformed = browser(None)
    malformed.cookies += f"; {settings.SESSION_COOKIE_NAME}=short"
    yield malformed.send("GET", "/api/posts/")


ANSWERED_ON_THE_LOOP = 5


def _spied_loop_road() -> tuple[async_reads.AsyncReads, list[str]]:
    """The loop road, and the list of the requests it hands to Django."""
    loop_road = async_reads.AsyncReads(get_asgi_application())
    return loop_road, spy_on_django(loop_road)


@pytest.mark.needs_services
@pytest.mark.django_db(transaction=True)
def test_the_loop_road_answers_feed_pages_itself_and_the_rest_through_django(
    feed: Feed, loop_thread: LoopThread, make_user: Callable[..., User]
) -> None:
    django_road = list(_every_case(wsgi_browser(WSGIHandler()), feed))
    loop_road, handed_to_django = _spied_loop_road()
    answers = list(_every_case(lambda user: AsgiBrowser(loop_road, user, loop_thread), feed))
    assert [a.status for a in answers] == [200] * ANSWERED_ON_THE_LOOP + [400, 400, 400, 400, 200, 200]
    # The pages were answered on the loop; the refusals and the unknown sessions by Django.
    assert handed_to_django == [
        "GET /api/posts/?cursor=not-a-cursor",
        "GET /api/posts/?page_size=0",
        "GET /api/posts/?page_size=ten",
        f"GET /api/posts/?{TOO_MANY_FIELDS}",
        "GET /api/posts/?",
        "GET /api/posts/?",
    ]
    for django_answer, loop_answer in zip(django_road, answers, strict=True):
        assert loop_answer.status == django_answer.status
        assert loop_answer.body == django_answer.body
        assert loop_answer.comparable_headers == django_answer.comparable_headers
        assert loop_answer.headers["X-Request-ID"]
    handed_to_django.clear()
    # A reader this worker has not loaded lately is loaded on the way, as Django would...
    newcomer = AsgiBrowser(loop_road, make_user(), loop_thread, remembered=False)
    assert newcomer.send("GET", "/api/posts/").status == 200
    assert handed_to_django == []
    # ...and the other requests on the path are Django's: the create, and HEAD.
    assert newcomer.send("POST", "/api/posts/", body=b'{"content": "Hello."}').status == 201
    assert newcomer.send("HEAD", "/api/posts/").status == 200
    assert [call.split("?")[0] for call in handed_to_django] == ["POST /api/posts/", "HEAD /api/posts/"]


@pytest.mark.needs_services
@pytest.mark.django_db(transaction=True)
def test_a_read_failing_on_the_loop_is_answered_by_django(
    feed: Feed, loop_thread: LoopThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(**kwargs: Any) -> list[Any]:
        raise psycopg.OperationalError("connection refused")

    loop_road, handed_to_django = _spied_loop_road()
    reader = AsgiBrowser(loop_road, feed.reader, loop_thread)
    with monkeypatch.context() as patched:
        patched.setattr(selectors, "afeed_page", unavailable)
        page = reader.send("GET", "/api/posts/")
    assert page.status == 200 and _liked(page) == {feed.live[0].pk, feed.live[2].pk}
    assert handed_to_django == ["GET /api/posts/?"]
    # Positive control: with the loop's reads back, the loop answers.
    assert reader.send("GET", "/api/posts/").body == page.body
    assert handed_to_django == ["GET /api/posts/?"]


def test_the_loop_road_is_there_exactly_with_postgresql_and_redis_sessions() -> None:
    has_services = settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and (
        settings.REDIS_SERVERS is not None
    )
    assert async_reads.available() == has_services


def test_the_feed_road_setting_turns_the_loop_road_off() -> None:
    async def django_app(scope: Any, receive: Any, send: Any) -> None: ...

    with override_settings(FEED_ROAD="django"):
        assert not async_reads.available()
        assert async_reads.with_async_reads(django_app) is django_app
    # Positive control: asked for, the loop road is there wherever it can run.
    with override_settings(FEED_ROAD="loop"):
        assert async_reads.available() == async_front.available()
        assert (async_reads.with_async_reads(django_app) is django_app) == (not async_front.available())
