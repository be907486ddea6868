"""KarmaFeed for Locust: writers that like, unlike and comment through REST.

Each Locust user takes one logged-in session from the file `manage.py create_sessions`
writes, sends the session cookie and the CSRF token (cookie and X-CSRFToken header), and
toggles likes on the 20 newest posts. Sockets are better driven by `python -m loadtest`.

    cd backend && .venv/bin/python manage.py create_sessions --count 200 --out /tmp/sessions.json
    SESSIONS=/tmp/sessions.json locust -f loadtest/locustfile.py --host http://127.0.0.1:8000
"""

import itertools
import json
import os
import random
from pathlib import Path

from locust import HttpUser, between, task

_SESSIONS = json.loads(Path(os.environ.get("SESSIONS", "sessions.json")).read_text())
_NEXT_SESSION = itertools.cycle(_SESSIONS["sessions"])


class Writer(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        session = next(_NEXT_SESSION)
        names = _SESSIONS["cookie_names"]
        self.client.cookies.set(names["session"], session["sessionid"])
        self.client.cookies.set(names["csrf"], session["csrftoken"])
        self.client.headers.update({"X-CSRFToken": session["csrftoken"], "Origin": self.host})
        page = self.client.get("/api/posts/?page_size=20", name="/api/posts/").json()
        self.post_ids = [post["id"] for post in page["results"]]
        self.liked = {post["id"] for post in page["results"] if post["liked_by_me"]}

    @task(40)
    def toggle_like(self) -> None:
        post_id = random.choice(self.post_ids)
        if post_id in self.liked:
            self.client.delete(f"/api/posts/{post_id}/like/", name="/api/posts/[id]/like/ DELETE")
            self.liked.discard(post_id)
        else:
            self.client.post(f"/api/posts/{post_id}/like/", name="/api/posts/[id]/like/ POST")
            self.liked.add(post_id)

    @task(1)
    def comment(self) -> None:
        post_id = random.choice(self.post_ids)
        self.client.post(
            f"/api/posts/{post_id}/comments/", json={"content": "Locust was here."}, name="/api/posts/[id]/comments/"
        )

    @task(5)
    def leaderboard(self) -> None:
        self.client.get("/api/leaderboard/")
