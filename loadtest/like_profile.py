"""Where the server CPU of one like goes: the like request in-process, stage by stage.

    backend/.venv/bin/python -m loadtest.like_profile [--requests 2000] [--database NAME]

Run from the repository root with PostgreSQL and Redis up (`make services`). It migrates a
fresh database, makes users, posts and sessions, then sends likes and unlikes straight to the
WSGI application (no HTTP server, no sockets: those are measured by the bench) and measures
process CPU (time.process_time, every thread of the process) per request for stacks that add
one layer at a time, in interleaved rounds:

  django, no middleware   Django's handler, URL resolving and a plain view answering 200
  + middleware            the whole MIDDLEWARE chain, anonymous (no cookies)
  + session and user      the same with a logged-in session: the session read, the user check
  DRF like view, no SQL   the like view (DRF, CSRF, permission, throttle) with the write stubbed
  + like statement        the real like statement, pushes stubbed out
  + publish               everything, as served: the like path under test

and, for comparison, the lean like road (feed.lean_likes, what the WSGI workers serve) and
the like road on the event loop (feed.async_likes, what the ASGI workers serve: the same
likes as ASGI requests to the app, awaited one after another on a uvloop event loop). The
increments are the cost of each layer. With --cprofile a profile of each road follows.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import io
import pstats
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from loadtest import in_process


def _plain_view(request: Any, **kwargs: Any) -> Any:
    """Exempt from the CSRF middleware, as DRF's views are (DRF checks CSRF itself)."""
    from django.http import HttpResponse

    # Touch the user as the like view does, so the session and user loads happen.
    user = getattr(request, "user", None)  # absent without the middleware
    if user is not None and user.is_authenticated:
        user.get_username()
    return HttpResponse(b'{"liked":true,"like_count":1,"version":1}', content_type="application/json")


def _urlpatterns() -> list[Any]:
    from django.urls import re_path
    from django.views.decorators.csrf import csrf_exempt

    return [re_path(r"^api/posts/(?P<post_id>[0-9]+)/like/$", csrf_exempt(_plain_view))]


urlpatterns: list[Any] = []  # filled in main(), once Django is set up (ROOT_URLCONF below)


@contextmanager
def _patched(target: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, saved)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.like_profile", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per stage and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", default="karmafeed_like_profile")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--cprofile", action="store_true", help="also print a cProfile of each road")
    args = parser.parse_args()

    # A few users send every like: the throttle still runs, but never refuses.
    with in_process.fresh_database(args.database, extra_env={"KARMAFEED_THROTTLE_LIKE": "10000000/min"}):
        _profile(args)


def _profile(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.handlers.wsgi import WSGIHandler
    from django.middleware.csrf import _get_new_csrf_string
    from django.test.utils import override_settings
    from django.utils import timezone

    from accounts.models import User
    from feed import likes, services
    from feed.models import Post

    urlpatterns[:] = _urlpatterns()
    unusable = "!"  # these users only ever use the session made below
    users = User.objects.bulk_create(User(username=f"profile_{i:04d}", password=unusable) for i in range(args.users))
    now = timezone.now()
    posts = Post.objects.bulk_create(
        Post(author=users[i % len(users)], content="x", created_at=now) for i in range(args.posts)
    )
    store_class: type[SessionBase] = importlib.import_module(settings.SESSION_ENGINE).SessionStore
    sessions = []
    for user in users:
        store = store_class()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append((store.session_key, _get_new_csrf_string()))

    rng = random.Random(3)
    liked: set[tuple[int, int]] = set()

    def like_requests(*, logged_in: bool = True) -> list[dict[str, Any]]:
        out = []
        for _ in range(args.requests):
            index = rng.randrange(len(users))
            post_id = posts[rng.randrange(len(posts))].pk
            pair = (index, post_id)
            method = "DELETE" if pair in liked else "POST"
            liked.symmetric_difference_update({pair})
            session_key, csrf = sessions[index]
            cookies: dict[str, str] = {}
            if logged_in and session_key is not None:
                cookies = {
                    settings.SESSION_COOKIE_NAME: session_key,
                    settings.CSRF_COOKIE_NAME: csrf,
                }
            out.append(
                in_process.environ(
                    method,
                    f"/api/posts/{post_id}/like/",
                    cookies,
                    csrf if logged_in else None,
                )
            )
        return out

    from django.core.asgi import get_asgi_application

    import config.wsgi  # noqa: F401 - the WSGI workers' setup (their leaderboard thread)
    from feed.async_likes import AsyncLikes
    from feed.lean_likes import LeanLikes

    with override_settings(MIDDLEWARE=[], ROOT_URLCONF=__name__):
        bare_django = WSGIHandler()
    with override_settings(ROOT_URLCONF=__name__):
        chain = WSGIHandler()
    django_view = WSGIHandler()
    lean = LeanLikes(WSGIHandler())
    on_the_loop, loop_driver = AsyncLikes(get_asgi_application()), in_process.LoopDriver()
    unchanged = likes.LikeWrite(True, 1, 1, changed=False, author_id=0, post_id=0)
    no_pushes = (
        (services, "publish_after_commit", lambda *a, **k: None),
        (services, "request_leaderboard_refresh_after_commit", lambda *a, **k: None),
    )
    lean_name, loop_name = "the lean like road", "the like road on the loop"
    roads = (lean_name, loop_name)
    # name, app, logged in, URLconf of the plain view, patches
    stages: list[tuple[str, Any, bool, str | None, tuple[tuple[Any, str, Any], ...]]] = [
        ("django, no middleware", bare_django, False, __name__, ()),
        ("+ middleware (anonymous)", chain, False, __name__, ()),
        ("+ session and user", chain, True, __name__, ()),
        (
            "DRF like view, write stubbed",
            django_view,
            True,
            None,
            ((services.likes, "write", lambda *a, **k: unchanged),),
        ),
        ("+ like statement (no pushes)", django_view, True, None, no_pushes),
        ("+ publish (the DRF like path)", django_view, True, None, ()),
        (lean_name, lean, True, None, ()),
        (loop_name, on_the_loop, True, None, ()),
    ]
    # Rounds, each stage once per round: the host's load drifts, and each stage sees the same drift.
    measured: dict[str, list[float]] = {name: [] for name, *_ in stages}
    for _ in range(args.rounds):
        for name, app, logged_in, urlconf, patches in stages:
            requests = like_requests(logged_in=logged_in)
            with contextlib.ExitStack() as stack_of_patches:
                if urlconf is not None:
                    stack_of_patches.enter_context(override_settings(ROOT_URLCONF=urlconf))
                for target, attribute, value in patches:
                    stack_of_patches.enter_context(_patched(target, attribute, value))
                drive = loop_driver if name == loop_name else in_process.drive
                measured[name].append(drive(app, requests))

    print(f"\nserver CPU per like request, in-process, median of {args.rounds} rounds of {args.requests} (ms):")
    previous = 0.0
    for name, values in measured.items():
        ms = statistics.median(values)
        delta = "" if name in roads else f"  (+{ms - previous:.3f})"
        rounds = " / ".join(f"{v:.2f}" for v in values)
        print(f"  {name:32s} {ms:7.3f}{delta:12s} rounds: {rounds}")
        if name not in roads:
            previous = ms
    if args.cprofile:
        profiled: tuple[tuple[str, Any], ...] = (
            ("the DRF like path", django_view),
            (lean_name, lean),
            (loop_name, on_the_loop),
        )
        for title, app in profiled:
            profiler = cProfile.Profile(time.process_time)
            requests = like_requests()
            profiler.enable()
            (loop_driver if title == loop_name else in_process.drive)(app, requests)
            profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
            print(f"\n{title}, cProfile (cumulative):")
            print(text.getvalue())
    loop_driver.close()


if __name__ == "__main__":
    main()
