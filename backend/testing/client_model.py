"""The contract's client rules as a small pure model: what a browser holds after REST reads and events.

It keeps what a browser keeps: the feed (posts not deleted), the threads it opened (the post,
its comments with their parents, deleted placeholders), like counts by version, and the
leaderboard; and per stream the last `seq` applied. An event whose `seq` is not above that is a
repeat and is ignored; one more than one above it is a hole: it is not applied, the stream is
named in `gaps`, and the driver sends `resume` for it. `view()` normalises the state to the
fields events carry, so a model fed with events compares equal to a model loaded from a fresh
read (`ClientModel` built with `load_*` only).

Pure: no socket, no database; the convergence tests drive it.
"""

from dataclasses import dataclass, field
from typing import Any

POST_FIELDS = ("id", "author", "content", "created_at", "like_count", "comment_count", "deleted")
COMMENT_FIELDS = ("id", "post_id", "parent_id", "author", "content", "created_at", "like_count", "depth", "deleted")
# The REST Post carries no like version: a read's count yields to any event after its position.
READ_VERSION = -1


def post_stream(post_id: int) -> str:
    return f"post.{post_id}"


@dataclass
class ThreadState:
    post: dict[str, Any]
    like_version: int = READ_VERSION
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    comment_versions: dict[int, int] = field(default_factory=dict)


class UnknownEvent(Exception):
    """A numbered event the model has no rule for: the harness must learn every event type."""


@dataclass
class ClientModel:
    positions: dict[str, int] = field(default_factory=dict)
    feed: set[int] = field(default_factory=set)
    threads: dict[int, ThreadState] = field(default_factory=dict)
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    gaps: set[str] = field(default_factory=set)
    applied: list[dict[str, Any]] = field(default_factory=list)

    # Fresh reads -------------------------------------------------------------------------
    def load_feed(self, page: dict[str, Any]) -> None:
        """A `GET /api/posts/` answer (one page holding every post): the feed from its `stream_seq`."""
        self.positions["feed"] = page["stream_seq"]
        self.feed = set()
        for post in page["results"]:
            self.feed.add(post["id"])
            thread = self.threads.get(post["id"])
            if thread is None:
                self.threads[post["id"]] = ThreadState(post=dict(post))
            else:
                thread.post = dict(post)
                thread.like_version = READ_VERSION

    def load_thread(self, answer: dict[str, Any]) -> None:
        """A `GET /api/posts/{id}/` answer: the post and its whole thread, from its `stream_seq`."""
        post = {k: v for k, v in answer.items() if k not in ("comments", "stream_seq")}
        thread = ThreadState(post=post)
        pending = list(answer["comments"])
        while pending:
            node = pending.pop()
            pending.extend(node["replies"])
            thread.comments[node["id"]] = {k: v for k, v in node.items() if k != "replies"}
        self.threads[post["id"]] = thread
        self.positions[post_stream(post["id"])] = answer["stream_seq"]
        self.gaps.discard(post_stream(post["id"]))

    def load_leaderboard(self, board: dict[str, Any]) -> None:
        """The connect frame (with its `seq`) or a REST answer (none): the entries as they are now."""
        if "seq" in board:
            if board["seq"] < self.positions.get("leaderboard", 0):
                return
            self.positions["leaderboard"] = board["seq"]
            self.gaps.discard("leaderboard")
        self.leaderboard = list(board["entries"])

    # Socket frames -----------------------------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "batch":
            for inner in event["events"]:
                self.apply(inner)
            return
        if kind == "subscribed":
            self._apply_subscribed(event["posts"])
            return
        if "stream" not in event:
            return  # hello, pong, post.viewers, resumed...: no state of the feed
        stream, seq = event["stream"], event["seq"]
        position = self.positions.get(stream)
        if position is None or seq <= position:
            return  # a stream this client does not keep, or a repeat
        if seq > position + 1:
            self.gaps.add(stream)
            return
        self.positions[stream] = seq
        self._apply_numbered(event)
        self.applied.append(event)

    def _apply_subscribed(self, posts: list[dict[str, Any]]) -> None:
        for snapshot in posts:
            thread = self.threads.get(snapshot["id"])
            if thread is None:
                continue
            self._set_likes(thread, snapshot["like_count"], snapshot["version"])
            stream = post_stream(snapshot["id"])
            if snapshot["seq"] > self.positions.get(stream, 0):
                # Events of the thread came before this socket joined: fetch them by resuming.
                self.gaps.add(stream)
            elif snapshot["seq"] == self.positions.get(stream):
                thread.post["comment_count"] = snapshot["comment_count"]

    @staticmethod
    def _set_likes(thread: ThreadState, like_count: int, version: int) -> None:
        if version > thread.like_version:
            thread.post["like_count"], thread.like_version = like_count, version

    def _apply_numbered(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind in ("post.created", "post.restored"):
            post = dict(event["post"])
            self.feed.add(post["id"])
            thread = self.threads.setdefault(post["id"], ThreadState(post=post))
            thread.post.update({k: post[k] for k in ("author", "content", "created_at", "deleted")})
            self.positions.setdefault(post_stream(post["id"]), 0)
        elif kind == "post.deleted":
            self.feed.discard(event["post_id"])
            deleted = self.threads.get(event["post_id"])
            if deleted is not None:
                deleted.post.update({"deleted": True, "content": "", "author": None})
        elif kind == "leaderboard":
            self.leaderboard = list(event["entries"])
        elif kind in ("post.likes", "comment.created", "comment.likes", "comment.deleted", "comment.restored"):
            self._apply_thread_event(self.threads[event["post_id"]], event)
        else:
            raise UnknownEvent(kind)

    def _apply_thread_event(self, thread: ThreadState, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "post.likes":
            self._set_likes(thread, event["like_count"], event["version"])
            return
        if kind == "comment.likes":
            comment_id = event["comment_id"]
            if event["version"] > thread.comment_versions.get(comment_id, READ_VERSION):
                thread.comments[comment_id]["like_count"] = event["like_count"]
                thread.comment_versions[comment_id] = event["version"]
            return
        thread.post["comment_count"] = event["comment_count"]
        if kind == "comment.deleted":
            thread.comments[event["comment_id"]].update({"deleted": True, "content": "", "author": None})
            return
        comment = dict(event["comment"])
        known = thread.comments.get(comment["id"])
        if known is not None and kind == "comment.restored":
            comment["like_count"] = known["like_count"]  # counts travel in comment.likes, by version
        thread.comments[comment["id"]] = comment

    # Comparison --------------------------------------------------------------------------
    def view(self) -> dict[str, Any]:
        """The state, normalised to the fields events carry (no liked_by_me: it is per reader)."""
        return {
            "feed": sorted(self.feed),
            "threads": {
                post_id: {
                    "post": {k: thread.post.get(k) for k in POST_FIELDS},
                    "comments": {
                        comment_id: {k: comment.get(k) for k in COMMENT_FIELDS}
                        for comment_id, comment in sorted(thread.comments.items())
                    },
                }
                for post_id, thread in sorted(self.threads.items())
            },
            "leaderboard": self.leaderboard,
        }
