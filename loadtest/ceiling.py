"""The like ceiling: the like statement without the web stack, against the bench database.

Run by the orchestrator as `python -m loadtest.ceiling CONFIG.json` (in backend/, with the
servers' environment). It records the SQL that one like and one unlike send to PostgreSQL
through the app's own services, then replays exactly those statements from plain psycopg
connections, one thread each, as fast as they go: what the database can do for likes with
no HTTP, no Django and no Python web code in the way. Writes its result file at the end.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any


def record_like_statements(user_id: int, post_id: int) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """The statements of one like and of one unlike, as the services send them."""
    import django

    django.setup()
    from django.db import connection

    from accounts.models import User
    from feed import services

    user = User.objects.get(pk=user_id)

    def record(action: Any) -> list[tuple[str, Any]]:
        seen: list[tuple[str, Any]] = []

        def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            seen.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(wrapper):
            action()
        return seen

    like = record(lambda: services.post_like_set(user=user, post_id=post_id))
    unlike = record(lambda: services.post_like_clear(user=user, post_id=post_id))
    connection.close()
    return like, unlike


def bind(params: Any, *, user_id: int, post_id: int) -> Any:
    """The recorded parameters for another user and post (named parameters; others as recorded)."""
    if isinstance(params, dict):
        bound = dict(params)
        for key, value in (("user_id", user_id), ("object_id", post_id), ("post_id", post_id)):
            if key in bound:
                bound[key] = value
        return bound
    return params


def run(config: dict[str, Any]) -> dict[str, Any]:
    import psycopg

    users: list[int] = config["user_ids"]
    posts: list[int] = config["post_ids"]
    like, unlike = record_like_statements(users[0], posts[0])
    threads = int(config["threads"])
    duration = float(config["duration"])
    done = [0] * threads
    stop_at = time.monotonic() + duration

    def loop(index: int) -> None:
        rng = random.Random(index)
        mine = users[index::threads] or users
        liked: set[tuple[int, int]] = set()
        with psycopg.connect(config["database_url"], autocommit=True) as conn:
            while time.monotonic() < stop_at:
                pair = (rng.choice(mine), rng.choice(posts))
                statements = unlike if pair in liked else like
                for sql, params in statements:
                    conn.execute(sql, bind(params, user_id=pair[0], post_id=pair[1]), prepare=False)
                liked ^= {pair}
                done[index] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.monotonic() - started
    return {
        "likes": sum(done),
        "seconds": seconds,
        "likes_per_second": sum(done) / seconds if seconds else 0.0,
        "statements_per_like": len(like),
        "threads": threads,
        "like_sql": [sql for sql, _ in like],
    }


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    result = run(config)
    Path(config["result_path"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
