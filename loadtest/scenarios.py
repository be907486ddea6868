"""The scenarios: what the sockets follow and what the writers do.

hot          every socket follows the same 20 newest posts; writers like and comment on them
spread       each socket follows one random feed page (20 posts) of a larger feed
leaderboard  sockets follow nothing but the leaderboard; likes keep reshuffling the top 5
churn        hot, while sockets keep dropping and new ones connect
likes        the like endpoint itself: a high like rate, with followers so the push is included
reads        each REST endpoint alone: post and comment creates, feed page, a 1,000-comment
             thread, a profile, the leaderboard (requests/s, p99, server CPU per request)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

PAGE_SIZE = 20


@dataclass(frozen=True)
class Scenario:
    name: str
    # How many posts the bench database is seeded with.
    posts: int
    like_rate: float
    comment_rate: float
    # Socket worker count and how many extra workers take the writes only.
    workers: int = 1
    write_workers: int = 1
    # Sockets dropped and reopened each second, as a share of all sockets.
    churn_share: float = 0.0
    # After the writes, each REST endpoint alone (creates, reads) at a set rate.
    endpoints: bool = False

    def follow_sets(self, newest_first: list[int], rng: random.Random) -> list[list[int]]:
        if self.name == "leaderboard":
            return [[]]
        if self.name == "spread":
            pages = [newest_first[i : i + PAGE_SIZE] for i in range(0, len(newest_first), PAGE_SIZE)]
            return [p for p in pages if p]
        return [newest_first[:PAGE_SIZE]]

    def writer_targets(self, newest_first: list[int]) -> list[int]:
        if self.name == "spread":
            return newest_first
        return newest_first[:PAGE_SIZE]

    def author_groups(self, posts_by_author: dict[int, list[int]]) -> list[list[int]]:
        """For the leaderboard scenario: groups of authors' posts to favour in turn."""
        if self.name != "leaderboard":
            return []
        authors = sorted(posts_by_author)
        groups = [authors[i::4] for i in range(4)]
        return [[p for a in group for p in posts_by_author[a]] for group in groups if group]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "posts": self.posts,
            "like_rate": self.like_rate,
            "comment_rate": self.comment_rate,
            "churn_share": self.churn_share,
        }


SCENARIOS: dict[str, Scenario] = {
    "hot": Scenario("hot", posts=40, like_rate=200, comment_rate=5),
    "spread": Scenario("spread", posts=1000, like_rate=200, comment_rate=5),
    "leaderboard": Scenario("leaderboard", posts=60, like_rate=200, comment_rate=0),
    "churn": Scenario("churn", posts=40, like_rate=100, comment_rate=2, churn_share=0.02),
    "likes": Scenario("likes", posts=40, like_rate=1000, comment_rate=0, workers=1, write_workers=2),
    "reads": Scenario("reads", posts=40, like_rate=0, comment_rate=0, endpoints=True),
}
