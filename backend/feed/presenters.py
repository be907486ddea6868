"""Rows to the contract's JSON shapes (a selector's tuples, or the model rows services hold after
a write); one definition used by REST and websocket events.

Deleted posts and comments go out as placeholders, here and only here: `deleted: true`, no
content, no author, whatever the row still holds (restoring needs it).

Threads are encoded without recursion: a 10,000-deep reply chain would exceed any JSON
encoder's recursion limit, so the nesting is written out with an explicit stack.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from feed.models import Comment, Post
from feed.selectors import CommentRow, PostRow, Profile

JSON_OPTIONS = orjson.OPT_UTC_Z


def post_row_data(row: PostRow) -> dict[str, Any]:
    """A Post from a selector's row: the one definition of the shape."""
    post_id, author_id, username, content, created_at, like_count, comment_count, deleted_at, liked = row
    deleted = deleted_at is not None
    return {
        "id": post_id,
        "author": None if deleted else {"id": author_id, "username": username},
        "content": "" if deleted else content,
        "created_at": created_at,
        "like_count": like_count,
        "comment_count": comment_count,
        "liked_by_me": liked,
        "deleted": deleted,
    }


def post_data(post: Post, *, liked_by_me: bool) -> dict[str, Any]:
    """A Post from a model row (what services have after a write)."""
    username = "" if post.deleted_at is not None else post.author.username
    return post_row_data(
        (
            post.pk,
            post.author_id,
            username,
            post.content,
            post.created_at,
            post.like_count,
            post.comment_count,
            post.deleted_at,
            liked_by_me,
        )
    )


def _comment_row_data(row: CommentRow, post_id: int) -> dict[str, Any]:
    comment_id, parent_id, author_id, username, content, created_at, like_count, depth, deleted_at, liked = row
    deleted = deleted_at is not None
    return {
        "id": comment_id,
        "post_id": post_id,
        "parent_id": parent_id,
        "author": None if deleted else {"id": author_id, "username": username},
        "content": "" if deleted else content,
        "created_at": created_at,
        "like_count": like_count,
        "liked_by_me": liked,
        "depth": depth,
        "deleted": deleted,
    }


def comment_data(comment: Comment, *, liked_by_me: bool) -> dict[str, Any]:
    username = "" if comment.deleted_at is not None else comment.author.username
    row = (
        comment.pk,
        comment.parent_id,
        comment.author_id,
        username,
        comment.content,
        comment.created_at,
        comment.like_count,
        comment.depth,
        comment.deleted_at,
        liked_by_me,
    )
    return _comment_row_data(row, comment.post_id)


# A thread nested no deeper than this is encoded in one orjson call (a C walk of the tree);
# deeper ones by the explicit stack below. Far under orjson's recursion limit (about 127
# comment levels), near which it has been seen to corrupt memory instead of raising.
ONE_CALL_MAX_DEPTH = 32


def comment_tree_json(comments: Sequence[CommentRow], *, post_id: int) -> bytes:
    """The thread as a JSON array of CommentNode, siblings in the order given: linear in the
    comments."""
    nodes: list[tuple[int | None, dict[str, Any]]] = []
    replies: dict[int, list[dict[str, Any]]] = {}
    deepest = 0
    for row in comments:
        node = _comment_row_data(row, post_id)
        node["replies"] = replies[row[0]] = []
        nodes.append((row[1], node))
        deepest = max(deepest, row[7])
    if deepest > ONE_CALL_MAX_DEPTH:
        return _deep_tree_json(comments, post_id=post_id)
    roots: list[dict[str, Any]] = []
    for parent_id, node in nodes:
        (roots if parent_id is None else replies[parent_id]).append(node)
    return orjson.dumps(roots, option=JSON_OPTIONS)


def _deep_tree_json(comments: Sequence[CommentRow], *, post_id: int) -> bytes:
    """The same array written out with an explicit stack: any depth, no recursion."""
    children: dict[int | None, list[CommentRow]] = {}
    for row in comments:
        siblings = children.get(row[1])
        if siblings is None:
            children[row[1]] = [row]
        else:
            siblings.append(row)
    out: list[bytes] = [b"["]
    # One iterator per open "replies" array; the bottom one is the list of root comments.
    open_lists: list[Iterator[CommentRow]] = [iter(children.get(None, ()))]
    first_in_list = [True]
    while open_lists:
        comment = next(open_lists[-1], None)
        if comment is None:
            open_lists.pop()
            first_in_list.pop()
            # Closing a replies array also closes the comment object that holds it.
            out.append(b"]}" if open_lists else b"]")
            continue
        if not first_in_list[-1]:
            out.append(b",")
        first_in_list[-1] = False
        flat = orjson.dumps(_comment_row_data(comment, post_id), option=JSON_OPTIONS)
        out.append(flat[:-1] + b',"replies":[')
        open_lists.append(iter(children.get(comment[0], ())))
        first_in_list.append(True)
    return b"".join(out)


def thread_json(post: PostRow, *, comments: Sequence[CommentRow]) -> bytes:
    head = orjson.dumps(post_row_data(post), option=JSON_OPTIONS)
    return head[:-1] + b',"comments":' + comment_tree_json(comments, post_id=post[0]) + b"}"


def profile_data(profile: Profile) -> dict[str, Any]:
    return {
        "id": profile.id,
        "username": profile.username,
        "karma_24h": profile.karma_24h,
        "karma_total": profile.karma_total,
    }
