"""Soft delete: every rule of the protocol's "Deleting" section, on both engines.

Deleted posts and comments keep their rows, ids and places, shown as placeholders; likes stay
counted; new likes, unlikes and replies are refused; deleting twice changes nothing and sends
nothing; restoring (staff, through the admin) brings everything back and tells the sockets.
"""

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.test import Client

from accounts.models import User
from feed import selectors, services
from feed.models import Comment, Post, PostLike
from testing.plugin import ContractClient
from tests.factories import make_post

pytestmark = pytest.mark.django_db

SECRET = "only-the-author-should-ever-see-this"


@pytest.fixture
def sent(capture_pushes: list[Any], django_capture_on_commit_callbacks: Any) -> Callable[..., list[dict[str, Any]]]:
    def run(action: Callable[[], Any]) -> list[dict[str, Any]]:
        before = len(capture_pushes)
        with django_capture_on_commit_callbacks(execute=True):
            action()
        return [orjson.loads(e.text) for e in capture_pushes[before:]]

    return run


@pytest.fixture
def author(make_user: Callable[..., User]) -> User:
    return make_user()


@pytest.fixture
def as_author(author: User, contract_client: Callable[..., ContractClient]) -> ContractClient:
    return contract_client(author)


def placeholder(item: dict[str, Any]) -> bool:
    return item["deleted"] is True and item["content"] == "" and item["author"] is None


# --- who may delete, and what the answers are ----------------------------------------------


def test_only_the_author_or_staff_may_delete(
    author: User, as_author: ContractClient, make_user: Callable[..., User], contract_client: Callable[..., Any]
) -> None:
    post = make_post(author)
    comment, _ = services.comment_create(author=author, post_id=post.pk, content="c")
    stranger = contract_client(make_user())
    assert stranger.delete(f"/api/posts/{post.pk}/").status_code == 403
    assert stranger.delete(f"/api/comments/{comment.pk}/").status_code == 403
    assert contract_client().delete(f"/api/posts/{post.pk}/").status_code in (401, 403)
    assert contract_client().delete(f"/api/comments/{comment.pk}/").status_code in (401, 403)
    assert Post.objects.filter(pk=post.pk).exists() and Comment.objects.filter(pk=comment.pk).exists()
    # Positive controls: the author deletes the comment, staff deletes the post.
    assert as_author.delete(f"/api/comments/{comment.pk}/").status_code == 204
    staff = make_user()
    staff.is_staff = True
    staff.save()
    assert contract_client(staff).delete(f"/api/posts/{post.pk}/").status_code == 204
    assert not Post.objects.filter(pk=post.pk).exists() and not Comment.objects.filter(pk=comment.pk).exists()


def test_unknown_ids_are_404(as_author: ContractClient) -> None:
    assert as_author.delete("/api/posts/999999/").status_code == 404
    assert as_author.delete("/api/comments/999999/").status_code == 404


def test_delete_needs_csrf(author: User, as_author: ContractClient) -> None:
    post = make_post(author)
    assert as_author.delete(f"/api/posts/{post.pk}/", csrf=False).status_code == 403
    assert as_author.delete(f"/api/posts/{post.pk}/").status_code == 204


# --- the deleted post ---------------------------------------------------------------------


def test_deleted_post_leaves_the_feed_but_its_url_shows_the_placeholder_and_thread(
    author: User, as_author: ContractClient, make_user: Callable[..., User]
) -> None:
    post = make_post(author, SECRET)
    kept = make_post(author, "still here")
    replier = make_user()
    comment, _ = services.comment_create(author=replier, post_id=post.pk, content="a reply")
    assert as_author.delete(f"/api/posts/{post.pk}/").status_code == 204
    feed = as_author.get("/api/posts/").json()["results"]
    assert [p["id"] for p in feed] == [kept.pk]
    thread = as_author.get(f"/api/posts/{post.pk}/").json()
    assert placeholder(thread) and thread["id"] == post.pk and thread["comment_count"] == 1
    assert thread["comments"][0]["id"] == comment.pk and thread["comments"][0]["content"] == "a reply"
    assert thread["comments"][0]["author"]["username"] == replier.username
    assert kept.pk and as_author.get(f"/api/posts/{kept.pk}/").json()["deleted"] is False


def test_deleting_twice_answers_204_and_changes_nothing(
    author: User, as_author: ContractClient, sent: Callable[..., list[dict[str, Any]]]
) -> None:
    post = make_post(author)
    first = sent(lambda: as_author.delete(f"/api/posts/{post.pk}/"))
    assert [e["type"] for e in first] == ["post.deleted"] and first[0]["post_id"] == post.pk
    deleted_at = Post.all_objects.get(pk=post.pk).deleted_at
    second: list[Any] = []
    events = sent(lambda: second.append(as_author.delete(f"/api/posts/{post.pk}/")))
    assert second[0].status_code == 204 and events == []
    assert Post.all_objects.get(pk=post.pk).deleted_at == deleted_at


def test_post_deleted_event_shape(author: User, sent: Callable[..., list[dict[str, Any]]]) -> None:
    post = make_post(author)
    (event,) = sent(lambda: services.post_delete(actor=author, post_id=post.pk))
    assert {k: v for k, v in event.items() if k not in ("ts", "stream", "seq")} == {
        "type": "post.deleted",
        "post_id": post.pk,
    }


# --- the deleted comment ------------------------------------------------------------------


def test_deleted_comment_stays_a_placeholder_and_its_replies_keep_their_parent(
    author: User, as_author: ContractClient, make_user: Callable[..., User], sent: Callable[..., list[dict[str, Any]]]
) -> None:
    post = make_post(make_user())
    parent, _ = services.comment_create(author=author, post_id=post.pk, content=SECRET)
    reply, _ = services.comment_create(author=make_user(), post_id=post.pk, content="reply", parent_id=parent.pk)
    events = sent(lambda: as_author.delete(f"/api/comments/{parent.pk}/"))
    assert events[0]["type"] == "comment.deleted"
    assert (events[0]["post_id"], events[0]["comment_id"], events[0]["comment_count"]) == (post.pk, parent.pk, 1)
    thread = as_author.get(f"/api/posts/{post.pk}/").json()
    assert thread["comment_count"] == 1
    (root,) = thread["comments"]
    assert placeholder(root) and root["id"] == parent.pk
    assert root["replies"][0]["id"] == reply.pk and root["replies"][0]["parent_id"] == parent.pk
    assert root["replies"][0]["deleted"] is False and root["replies"][0]["content"] == "reply"
    # Twice: 204, no event, the count stays.
    again: list[Any] = []
    assert sent(lambda: again.append(as_author.delete(f"/api/comments/{parent.pk}/"))) == []
    assert again[0].status_code == 204
    assert Post.objects.get(pk=post.pk).comment_count == 1


def test_comment_count_counts_comments_not_deleted(author: User) -> None:
    post = make_post(author)
    comments = [services.comment_create(author=author, post_id=post.pk, content=str(i))[0] for i in range(3)]
    services.comment_delete(actor=author, comment_id=comments[1].pk)
    services.comment_delete(actor=author, comment_id=comments[1].pk)
    assert Post.objects.get(pk=post.pk).comment_count == 2
    assert Comment.objects.filter(post=post).count() == 2 and Comment.all_objects.filter(post=post).count() == 3


# --- likes and karma ------------------------------------------------------------------------


def test_likes_on_deleted_content_stay_counted_and_karma_stays(
    author: User, as_author: ContractClient, make_user: Callable[..., User], contract_client: Callable[..., Any]
) -> None:
    post = make_post(author)
    comment, _ = services.comment_create(author=author, post_id=post.pk, content="c")
    fan = make_user()
    services.post_like_set(user=fan, post_id=post.pk)
    services.comment_like_set(user=fan, comment_id=comment.pk)
    services.leaderboard_refresh()
    as_author.delete(f"/api/comments/{comment.pk}/")
    as_author.delete(f"/api/posts/{post.pk}/")
    services.leaderboard_refresh()
    thread = as_author.get(f"/api/posts/{post.pk}/").json()
    assert thread["like_count"] == 1 and thread["comments"][0]["like_count"] == 1
    profile = as_author.get(f"/api/users/{author.username}/").json()
    assert (profile["karma_24h"], profile["karma_total"]) == (6, 6)
    assert as_author.get("/api/leaderboard/").json()["entries"][0]["karma"] == 6
    assert services.karma_window_check().ok


@pytest.mark.parametrize("method", ["post", "delete"])
def test_a_new_like_or_unlike_on_deleted_content_is_404(
    author: User, make_user: Callable[..., User], contract_client: Callable[..., Any], method: str
) -> None:
    post = make_post(author)
    comment, _ = services.comment_create(author=author, post_id=post.pk, content="c")
    fan, liker = make_user(), make_user()
    services.post_like_set(user=fan, post_id=post.pk)
    services.comment_like_set(user=fan, comment_id=comment.pk)
    services.comment_delete(actor=author, comment_id=comment.pk)
    services.post_delete(actor=author, post_id=post.pk)
    for client in (contract_client(fan), contract_client(liker)):
        assert getattr(client, method)(f"/api/posts/{post.pk}/like/").status_code == 404
        assert getattr(client, method)(f"/api/comments/{comment.pk}/like/").status_code == 404
    post_row, comment_row = Post.all_objects.get(pk=post.pk), Comment.all_objects.get(pk=comment.pk)
    assert (post_row.like_count, post_row.likes_version, comment_row.like_count) == (1, 1, 1)
    assert PostLike.objects.filter(post=post).count() == 1
    # Positive control: the same like on content that is not deleted works.
    other = make_post(author)
    assert getattr(contract_client(fan), method)(f"/api/posts/{other.pk}/like/").status_code == 200


def test_comments_under_a_deleted_post_may_still_be_liked(author: User, make_user: Callable[..., User]) -> None:
    post = make_post(author)
    comment, _ = services.comment_create(author=make_user(), post_id=post.pk, content="c")
    services.post_delete(actor=author, post_id=post.pk)
    assert services.comment_like_set(user=author, comment_id=comment.pk).like_count == 1


# --- replies ----------------------------------------------------------------------------------


def test_replying_under_deleted_content_is_400(
    author: User, as_author: ContractClient, make_user: Callable[..., User]
) -> None:
    post = make_post(author)
    live, _ = services.comment_create(author=author, post_id=post.pk, content="live")
    gone, _ = services.comment_create(author=author, post_id=post.pk, content="gone")
    services.comment_delete(actor=author, comment_id=gone.pk)
    answer = as_author.post(f"/api/posts/{post.pk}/comments/", {"content": "hi", "parent_id": gone.pk})
    assert answer.status_code == 400 and "parent_id" in answer.json()
    # Positive control: a reply to the live comment works until the post is deleted.
    assert as_author.post(f"/api/posts/{post.pk}/comments/", {"content": "hi", "parent_id": live.pk}).status_code == 201
    services.post_delete(actor=author, post_id=post.pk)
    root = as_author.post(f"/api/posts/{post.pk}/comments/", {"content": "hi"})
    assert root.status_code == 400 and "detail" in root.json()
    reply = as_author.post(f"/api/posts/{post.pk}/comments/", {"content": "hi", "parent_id": live.pk})
    assert reply.status_code == 400
    assert Post.all_objects.get(pk=post.pk).comment_count == 2


# --- restoring --------------------------------------------------------------------------------


def test_restoring_brings_back_content_count_and_sends_events(
    author: User, as_author: ContractClient, sent: Callable[..., list[dict[str, Any]]]
) -> None:
    post = make_post(author, "back again")
    comment, _ = services.comment_create(author=author, post_id=post.pk, content="me too")
    services.comment_delete(actor=author, comment_id=comment.pk)
    services.post_delete(actor=author, post_id=post.pk)
    events = sent(lambda: services.post_restore(post_id=post.pk))
    assert [e["type"] for e in events] == ["post.restored"]
    assert events[0]["post"]["id"] == post.pk and events[0]["post"]["content"] == "back again"
    assert events[0]["post"]["deleted"] is False and events[0]["post"]["comment_count"] == 0
    events = sent(lambda: services.comment_restore(comment_id=comment.pk))
    assert [e["type"] for e in events] == ["comment.restored"]
    assert events[0]["comment"]["content"] == "me too" and events[0]["comment_count"] == 1
    assert [p["id"] for p in as_author.get("/api/posts/").json()["results"]] == [post.pk]
    thread = as_author.get(f"/api/posts/{post.pk}/").json()
    assert thread["comment_count"] == 1 and thread["comments"][0]["author"]["id"] == author.pk
    # Restoring what is not deleted changes nothing and sends nothing.
    assert sent(lambda: services.post_restore(post_id=post.pk)) == []
    assert sent(lambda: services.comment_restore(comment_id=comment.pk)) == []
    assert Post.objects.get(pk=post.pk).comment_count == 1


# --- the one rule: reads that serve the API never show deleted content by accident -----------


def test_live_managers_leave_deleted_rows_out_and_all_objects_keeps_them(author: User) -> None:
    post, other = make_post(author), make_post(author)
    comment, _ = services.comment_create(author=author, post_id=other.pk, content="c")
    services.post_delete(actor=author, post_id=post.pk)
    services.comment_delete(actor=author, comment_id=comment.pk)
    assert list(Post.objects.values_list("id", flat=True)) == [other.pk]
    assert set(Post.all_objects.values_list("id", flat=True)) == {post.pk, other.pk}
    assert not Comment.objects.exists() and Comment.all_objects.count() == 1
    # Django's own machinery (admin, dumpdata, related lookups) sees every row.
    assert Post._default_manager.count() == 2 and Comment._default_manager.count() == 1


def test_no_read_of_the_api_shows_deleted_content(
    author: User, as_author: ContractClient, make_user: Callable[..., User], contract_client: Callable[..., Any]
) -> None:
    post = make_post(author, SECRET)
    other = make_post(make_user())
    comment, _ = services.comment_create(author=author, post_id=other.pk, content=SECRET)
    services.post_like_set(user=make_user(), post_id=post.pk)
    services.post_delete(actor=author, post_id=post.pk)
    services.comment_delete(actor=author, comment_id=comment.pk)
    services.leaderboard_refresh()
    reader = contract_client(make_user())
    paths = ["/api/posts/", f"/api/posts/{post.pk}/", f"/api/posts/{other.pk}/", "/api/leaderboard/"]
    paths.append(f"/api/users/{author.username}/")
    for path in paths:
        for client in (reader, as_author, contract_client()):
            answer = client.get(path)
            assert answer.status_code == 200 and SECRET.encode() not in answer.content, path
    # Positive control: the same reads do show content that is not deleted.
    services.post_restore(post_id=post.pk)
    assert SECRET.encode() in reader.get("/api/posts/").content
    snapshot = selectors.posts_live_state(post_ids=[post.pk, other.pk])
    assert [(row["id"], row["deleted"]) for row in snapshot] == [(post.pk, False), (other.pk, False)]


def test_the_subscribe_snapshot_marks_deleted_posts(author: User) -> None:
    post = make_post(author)
    services.post_delete(actor=author, post_id=post.pk)
    (row,) = selectors.posts_live_state(post_ids=[post.pk])
    assert row["id"] == post.pk and row["deleted"] is True


# --- the admin and the schema -----------------------------------------------------------------


@pytest.fixture
def admin_client_for(make_user: Callable[..., User]) -> Client:
    admin = User.objects.create_superuser(username="boss", password="pw-boss")
    client = Client()
    client.force_login(admin)
    return client


def test_the_admin_shows_deleted_content_and_deletes_and_restores_through_the_services(
    author: User, admin_client_for: Client, sent: Callable[..., list[dict[str, Any]]]
) -> None:
    post = make_post(author, SECRET)
    services.post_delete(actor=author, post_id=post.pk)
    listing = admin_client_for.get("/admin/feed/post/?deleted_at__isempty=0")
    assert listing.status_code == 200 and f"/admin/feed/post/{post.pk}/change/".encode() in listing.content
    assert admin_client_for.get(f"/admin/feed/post/{post.pk}/change/").status_code == 200
    assert admin_client_for.get(f"/admin/feed/post/{post.pk}/delete/").status_code == 403
    assert admin_client_for.get("/admin/feed/post/add/").status_code == 403
    events = sent(
        lambda: admin_client_for.post(
            "/admin/feed/post/", {"action": "restore", "_selected_action": [post.pk]}, follow=True
        )
    )
    assert [e["type"] for e in events] == ["post.restored"]
    assert Post.objects.filter(pk=post.pk).exists()
    events = sent(
        lambda: admin_client_for.post(
            "/admin/feed/post/", {"action": "soft_delete", "_selected_action": [post.pk]}, follow=True
        )
    )
    assert [e["type"] for e in events] == ["post.deleted"]
    assert Post.all_objects.filter(pk=post.pk, deleted_at__isnull=False).exists()


def test_the_admin_restores_comments_through_the_service(author: User, admin_client_for: Client) -> None:
    post = make_post(author)
    comment, _ = services.comment_create(author=author, post_id=post.pk, content="c")
    services.comment_delete(actor=author, comment_id=comment.pk)
    admin_client_for.post("/admin/feed/comment/", {"action": "restore", "_selected_action": [comment.pk]})
    assert Comment.objects.filter(pk=comment.pk).exists() and Post.objects.get(pk=post.pk).comment_count == 1
    page = admin_client_for.get("/admin/feed/comment/")
    assert b"delete_selected" not in page.content and b"soft_delete" in page.content


def test_the_schema_shows_the_delete_endpoints(contract_client: Callable[..., Any]) -> None:
    schema = contract_client().get("/api/schema/?format=json").json()
    assert "delete" in schema["paths"]["/api/posts/{post_id}/"]
    assert "delete" in schema["paths"]["/api/comments/{comment_id}/"]
    assert "deleted" in schema["components"]["schemas"]["PostOut"]["properties"]
    assert "deleted" in schema["components"]["schemas"]["CommentOut"]["properties"]
