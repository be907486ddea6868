"""Model rows to the contract's JSON shapes; one definition used by REST and websocket events.

Deleted posts and comments go out as placeholders, here and only here: `deleted: true`, no
content, no author, whatever the row still holds (restoring needs it).

Threads are encoded without recursion: a 10,000-deep reply chain would exceed any JSON
encoder's recursion limit, so the nesting is written out with an explicit stack.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from accounts.presenters import user_data
from feed.models import Comment, Post

JSON_OPTIONS = orjson.OPT_UTC_Z


def post_data(post: Post, *, liked_by_me: bool) -> dict[str, Any]:
    deleted = post.deleted_at is not None
    return {
        "id": post.pk,
        "author": None if deleted else user_data(post.author),
        "content": "" if deleted else post.content,
        "created_at": post.created_at,
        "like_count": post.like_count,
        "comment_count": post.comment_count,
        "liked_by_me": liked_by_me,
        "deleted": deleted,
    }


def comment_data(comment: Comment, *, liked_by_me: bool) -> dict[str, Any]:
    deleted = comment.deleted_at is not None
    return {
        "id": comment.pk,
        "post_id": comment.post_id,
        "parent_id": comment.parent_id,
        "author": None if deleted else user_data(comment.author),
        "content": "" if deleted else comment.content,
        "created_at": comment.created_at,
        "like_count": comment.like_count,
        "liked_by_me": liked_by_me,
        "depth": comment.depth,
        "deleted": deleted,
    }


def comment_tree_json(comments: Sequence[Comment], *, liked_ids: set[int]) -> bytes:
    """The thread as a JSON array of CommentNode, siblings in the order given."""
    children: dict[int | None, list[Comment]] = defaultdict(list)
    for row in comments:
        children[row.parent_id].append(row)
    out: list[bytes] = [b"["]
    # One iterator per open "replies" array; the bottom one is the list of root comments.
    open_lists: list[Iterator[Comment]] = [iter(children.get(None, ()))]
    first_in_list = [True]
    while open_lists:
        comment: Comment | None = next(open_lists[-1], None)
        if comment is None:
            open_lists.pop()
            first_in_list.pop()
            # Closing a replies array also closes the comment object that holds it.
            out.append(b"]}" if open_lists else b"]")
            continue
        if not first_in_list[-1]:
            out.append(b",")
        first_in_list[-1] = False
        flat = orjson.dumps(comment_data(comment, liked_by_me=comment.pk in liked_ids), option=JSON_OPTIONS)
        out.append(flat[:-1] + b',"replies":[')
        open_lists.append(iter(children.get(comment.pk, ())))
        first_in_list.append(True)
    return b"".join(out)


def thread_json(post: Post, *, post_liked: bool, comments: Sequence[Comment], liked_ids: set[int]) -> bytes:
    head = orjson.dumps(post_data(post, liked_by_me=post_liked), option=JSON_OPTIONS)
    return head[:-1] + b',"comments":' + comment_tree_json(comments, liked_ids=liked_ids) + b"}"
