"""Where the server CPU of each read goes: the REST reads in-process, one endpoint at a time.

    backend/.venv/bin/python -m loadtest.read_profile [--requests 300] [--rounds 3] [--cprofile]

Run from the repository root with PostgreSQL and Redis up (`make services`). It migrates a
fresh database and fills it as the bench's `reads` scenario leaves it: a few hundred posts, one
post with a thread of 1,000 comments (replies nested a few levels deep, some liked by the
reader), a user with likes received on posts and comments (the profile asked for), a karma
window. Then it sends GETs of the feed page of 20, the thread, the profile and the leaderboard
straight to the WSGI application (no HTTP server, no sockets: those are measured by the bench)
as a logged-in reader, and measures process CPU (time.process_time, every thread of the
process) per request, each endpoint once per round, in interleaved rounds. The feed page is
also sent, as ASGI requests awaited one after another on a uvloop event loop, to the ASGI app
with the feed page road on the loop (feed.async_reads, what the like workers serve), for a
logged-in and an anonymous reader. The database's own work is not in this process; what is
measured is what a web worker spends.

With --cprofile a cProfile of each endpoint follows (cumulative), to see where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import pstats
import random
import statistics
import time
from datetime import timedelta
from typing import Any

from loadtest import in_process


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.read_profile", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default="karmafeed_read_profile")
    parser.add_argument("--comments", type=int, default=1000, help="comments in the thread asked for")
    parser.add_argument("--cprofile", action="store_true", help="also print a cProfile of each endpoint")
    args = parser.parse_args()

    with in_process.fresh_database(args.database):
        _profile(args)


def _seed(comments: int) -> tuple[Any, Any, Any]:
    """The reader, the profiled user and the long thread's post, with rows as the bench leaves them."""
    from django.utils import timezone

    from accounts.models import User
    from feed import services
    from feed.models import Comment, CommentLike, Post, PostLike

    rng = random.Random(5)
    unusable = "!"  # these users only ever use the session made below
    users = User.objects.bulk_create(User(username=f"reader_{i:03d}", password=unusable) for i in range(40))
    reader, profiled = users[0], users[1]
    now = timezone.now()
    posts = Post.objects.bulk_create(
        Post(author=users[i % len(users)], content=f"Post {i} " * 8, created_at=now - timedelta(seconds=i))
        for i in range(300)
    )
    thread_post = posts[0]
    made: list[Any] = []
    for i in range(comments):
        parent = made[rng.randrange(len(made))] if made and rng.random() < 0.6 else None
        depth = 0 if parent is None else parent.depth + 1
        row = Comment(
            post=thread_post,
            parent=parent,
            author=users[i % len(users)],
            content=f"Comment {i} of the long thread.",
            created_at=now,
            depth=depth,
        )
        row.save()
        made.append(row)
    Post.all_objects.filter(pk=thread_post.pk).update(comment_count=comments)
    # Likes received by the profiled user, inside the karma window and older, and the reader's own.
    PostLike.objects.bulk_create(
        PostLike(user=users[u], post=p, recipient=p.author, created_at=now - timedelta(hours=(u * 7) % 48))
        for u in range(2, len(users))
        for p in posts[:60]
        if p.author_id == profiled.pk or rng.random() < 0.2
    )
    CommentLike.objects.bulk_create(
        CommentLike(user=users[u], comment=c, recipient=c.author, created_at=now - timedelta(hours=u % 30))
        for u in (0, *range(2, 12))
        for c in made
        if rng.random() < 0.1
    )
    services.karma_window_rebuild()
    return reader, profiled, thread_post


def _profile(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.core.handlers.wsgi import WSGIHandler
    from django.middleware.csrf import _get_new_csrf_string

    reader, profiled, thread_post = _seed(args.comments)
    store = importlib.import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(reader.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = reader.get_session_auth_hash()
    store.create()
    cookies = {settings.SESSION_COOKIE_NAME: store.session_key, settings.CSRF_COOKIE_NAME: _get_new_csrf_string()}

    from django.core.asgi import get_asgi_application

    import config.wsgi  # noqa: F401 - the WSGI workers' setup
    from feed.async_reads import AsyncReads

    app = WSGIHandler()
    on_the_loop, loop_driver = AsyncReads(get_asgi_application()), in_process.LoopDriver()
    feed_page = ("/api/posts/", "page_size=20")
    # name: (path, query, logged in, on the loop)
    endpoints = {
        "feed page (20 posts)": (*feed_page, True, False),
        "  on the loop": (*feed_page, True, True),
        "  on the loop, anonymous": (*feed_page, False, True),
        f"thread ({args.comments:,} comments)": (f"/api/posts/{thread_post.pk}/", "", True, False),
        "profile": (f"/api/users/{profiled.username}/", "", True, False),
        "leaderboard": ("/api/leaderboard/", "", True, False),
    }

    def requests(path: str, query: str, logged_in: bool, count: int) -> list[dict[str, Any]]:
        environ = in_process.environ("GET", path, cookies if logged_in else {}, None)
        environ["QUERY_STRING"] = query
        return [environ] * count

    def drive(name: str, batch: list[dict[str, Any]]) -> float:
        return loop_driver(on_the_loop, batch) if endpoints[name][3] else in_process.drive(app, batch)

    # Rounds, each endpoint once per round: the host's load drifts, and each endpoint sees the same drift.
    measured: dict[str, list[float]] = {name: [] for name in endpoints}
    for _ in range(args.rounds):
        for name, (path, query, logged_in, _) in endpoints.items():
            measured[name].append(drive(name, requests(path, query, logged_in, args.requests)))

    print(f"\nserver CPU per read, in-process, median of {args.rounds} rounds of {args.requests} (ms):")
    for name, values in measured.items():
        rounds = " / ".join(f"{v:.2f}" for v in values)
        print(f"  {name:28s} {statistics.median(values):7.3f}   rounds: {rounds}")
    if args.cprofile:
        for name, (path, query, logged_in, _) in endpoints.items():
            profiler = cProfile.Profile(time.process_time)
            batch = requests(path, query, logged_in, args.requests)
            profiler.enable()
            drive(name, batch)
            profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
            print(f"\n{name.strip()}, cProfile (cumulative):")
            print(text.getvalue())
    loop_driver.close()


if __name__ == "__main__":
    main()
