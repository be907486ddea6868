"""The leaderboard recompute with a million likes inside the 24-hour window.

    python -m loadtest leaderboard --likes 1000000 --refreshes 200

Bulk-loads users, posts and likes with COPY into a fresh bench database, rebuilds the karma
window (`karma_window_rebuild`), then times, inside Django: `leaderboard_refresh` (the
recompute every like asks for), the plain from-scratch GROUP BY it replaces, and
`manage.py leaderboard_check` (the window equals the from-scratch sum).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from loadtest import stack
from loadtest.stack import BenchError, Database

# Runs inside the backend's Django (manage.py shell): timings are taken where the code runs.
TIMING_SCRIPT = """
import json, time
from django.db import connection
from feed import services, selectors
refreshes = {refreshes}
services.karma_window_rebuild()
def timed(fn):
    began = time.perf_counter(); fn(); return time.perf_counter() - began
refresh = sorted(timed(lambda: services.leaderboard_refresh(min_interval=0)) for _ in range(refreshes))
top_only = sorted(timed(selectors.leaderboard_top) for _ in range(refreshes))
scratch = sorted(timed(lambda: selectors.karma_by_recipient(after=selectors.karma_window_start())) for _ in range(3))
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM feed_postlike WHERE created_at > now() - interval '24 hours'")
    in_window = cursor.fetchone()[0]
print("RESULT " + json.dumps({{
    "likes_in_window": in_window,
    "refresh": refresh, "top_only": top_only, "group_by": scratch,
    "top": selectors.leaderboard_top(),
}}))
"""


def bulk_load(database: Database, *, likes: int, users: int, posts: int, seed: int) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with database.connect() as conn:
        with conn.cursor().copy(
            "COPY accounts_user (id, username, password, is_superuser, is_staff, is_active, "
            "first_name, last_name, email, date_joined) FROM STDIN"
        ) as copy:
            for user_id in range(1, users + 1):
                copy.write_row((user_id, f"bench_{user_id:06d}", "!", False, False, True, "", "", "", now))
        with conn.cursor().copy(
            "COPY feed_post (id, author_id, content, created_at, like_count, comment_count, likes_version) FROM STDIN"
        ) as copy:
            for post_id in range(1, posts + 1):
                copy.write_row((post_id, rng.randint(1, users), f"Bench post {post_id}", now, 0, 0, 0))
        authors = dict(conn.execute("SELECT id, author_id FROM feed_post").fetchall())
        # Every (user, post) pair at most once: walk the grid in a shuffled order of posts.
        per_post = -(-likes // posts)
        if per_post > users:
            raise BenchError(f"{likes} likes need more than {users} users x {posts} posts")
        window = timedelta(hours=23, minutes=50).total_seconds()
        with conn.cursor().copy("COPY feed_postlike (user_id, post_id, recipient_id, created_at) FROM STDIN") as copy:
            written = 0
            for post_id in range(1, posts + 1):
                for user_id in rng.sample(range(1, users + 1), min(per_post, likes - written)):
                    copy.write_row((user_id, post_id, authors[post_id], now - timedelta(seconds=rng.random() * window)))
                written += min(per_post, likes - written)
                if written >= likes:
                    break
        conn.execute(
            "UPDATE feed_post p SET like_count = c.n, likes_version = c.n FROM "
            "(SELECT post_id, count(*) AS n FROM feed_postlike GROUP BY post_id) c WHERE c.post_id = p.id"
        )
        for table in ("accounts_user", "feed_post", "feed_postlike"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.execute("ANALYZE")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest leaderboard", description=__doc__)
    parser.add_argument("--likes", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--posts", type=int, default=2_000)
    parser.add_argument("--refreshes", type=int, default=200)
    parser.add_argument("--database", default="karmafeed_bench_leaderboard")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    stack.require_tools()
    out = (args.out or stack.REPO_DIR / "loadtest" / "reports" / time.strftime("leaderboard-%Y%m%d-%H%M%S")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    database = Database(args.database)
    env = stack.server_env(database, redis_db=9)
    print(f"bench: database {database.name}: recreate, migrate", flush=True)
    database.recreate()
    stack.manage(["migrate", "--noinput", "-v0"], env, what="migrate")
    began = time.perf_counter()
    print(f"bench: COPY {args.likes:,} likes ({args.users:,} users, {args.posts:,} posts)", flush=True)
    bulk_load(database, likes=args.likes, users=args.users, posts=args.posts, seed=11)
    loaded_in = time.perf_counter() - began
    print(f"bench: loaded in {loaded_in:.1f}s; rebuild the window and time {args.refreshes} refreshes", flush=True)
    output = stack.manage(["shell", "-c", TIMING_SCRIPT.format(refreshes=args.refreshes)], env, what="timing")
    timings = json.loads(output.split("RESULT ", 1)[1])
    check = subprocess.run(  # noqa: S603 - argv is built by this package
        [stack.PYTHON, "manage.py", "leaderboard_check"], cwd=stack.BACKEND_DIR, env=env, capture_output=True, text=True
    )
    summary = {
        "likes_in_window": timings["likes_in_window"],
        "load_seconds": loaded_in,
        "refresh_ms": ms_percentiles(timings["refresh"]),
        "top_query_ms": ms_percentiles(timings["top_only"]),
        "group_by_ms": ms_percentiles(timings["group_by"]),
        "leaderboard_check_ok": check.returncode == 0,
        "leaderboard_check_output": check.stdout.strip().splitlines()[-1:] or check.stderr.strip().splitlines()[-1:],
        "top": timings["top"],
    }
    (out / "leaderboard.json").write_text(json.dumps(summary, indent=1))
    lines = [
        f"# Leaderboard recompute, {summary['likes_in_window']:,} likes in the 24-hour window",
        "",
        f"Command: `python -m loadtest leaderboard {' '.join(argv)}`",
        "",
        "| figure | p50 | p99 | max |",
        "|---|---|---|---|",
        *(
            f"| {name} (ms) | {v['p50']:.2f} | {v['p99']:.2f} | {v['max']:.2f} |"
            for name, v in (
                ("leaderboard_refresh", summary["refresh_ms"]),
                ("top-5 read alone", summary["top_query_ms"]),
                ("from-scratch GROUP BY", summary["group_by_ms"]),
            )
        ),
        "",
        f"`manage.py leaderboard_check`: {'OK' if summary['leaderboard_check_ok'] else 'FAILED'} "
        f"({' '.join(summary['leaderboard_check_output'])})",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nreport: {out / 'report.md'}")
    if not summary["leaderboard_check_ok"]:
        raise BenchError("leaderboard_check found the window different from the likes")


def ms_percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50": 1000 * ordered[len(ordered) // 2],
        "p99": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max": 1000 * ordered[-1],
    }
