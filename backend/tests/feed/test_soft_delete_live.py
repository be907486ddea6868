"""Deleting and restoring, seen by open sockets through the real ASGI app and channel layer."""

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from accounts.models import User
from feed import services
from testing.plugin import ContractClient
from tests.factories import make_post

pytestmark = pytest.mark.django_db(transaction=True)


async def test_post_deleted_reaches_every_socket_once(
    live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Callable[..., ContractClient]
) -> None:
    author = await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author)
    socket = await live_socket()  # follows no post: post.deleted goes to every socket
    client = await sync_to_async(contract_client)(author)
    assert (await sync_to_async(client.delete)(f"/api/posts/{post.pk}/")).status_code == 204
    event = await socket.wait_for("post.deleted")
    assert event["post_id"] == post.pk
    assert (await sync_to_async(client.delete)(f"/api/posts/{post.pk}/")).status_code == 204
    await socket.assert_silent("post.deleted")


async def test_comment_deleted_reaches_the_posts_followers_only(
    live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Callable[..., ContractClient]
) -> None:
    author = await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author)
    comment, _ = await sync_to_async(services.comment_create)(author=author, post_id=post.pk, content="c")
    await sync_to_async(services.comment_create)(author=author, post_id=post.pk, content="d")
    follower, bystander = await live_socket(), await live_socket()
    await follower.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    client = await sync_to_async(contract_client)(author)
    assert (await sync_to_async(client.delete)(f"/api/comments/{comment.pk}/")).status_code == 204
    event = await follower.wait_for("comment.deleted", comment_id=comment.pk)
    assert (event["post_id"], event["comment_count"]) == (post.pk, 1)
    await bystander.assert_silent("comment.deleted")


async def test_restoring_is_announced_and_the_snapshot_tells_a_late_follower(
    live_socket: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    author = await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author, "back")
    comment, _ = await sync_to_async(services.comment_create)(author=author, post_id=post.pk, content="c")
    await sync_to_async(services.comment_delete)(actor=author, comment_id=comment.pk)
    await sync_to_async(services.post_delete)(actor=author, post_id=post.pk)
    socket = await live_socket()
    snapshot = await socket.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    assert snapshot["posts"][0]["deleted"] is True and snapshot["posts"][0]["comment_count"] == 0
    await sync_to_async(services.post_restore)(post_id=post.pk)
    restored = await socket.wait_for("post.restored")
    assert restored["post"]["id"] == post.pk and restored["post"]["content"] == "back"
    await sync_to_async(services.comment_restore)(comment_id=comment.pk)
    back = await socket.wait_for("comment.restored")
    assert back["comment"]["id"] == comment.pk and back["comment_count"] == 1
