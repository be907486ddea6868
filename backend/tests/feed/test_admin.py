"""The admin changes nothing the services own: no row deleted behind their back, derived rows read-only."""

from collections.abc import Callable

import pytest
from django.contrib import admin
from django.http import HttpRequest
from django.test import Client, RequestFactory

from accounts.models import User
from feed.models import Comment, CommentLike, KarmaWindow, LeaderboardState, Post, PostLike

pytestmark = pytest.mark.django_db

# Likes carry the counters and karma; the window and the leaderboard state are derived.
DERIVED = [PostLike, CommentLike, KarmaWindow, LeaderboardState]


@pytest.fixture
def superuser_request(db: None) -> HttpRequest:
    user = User.objects.create_superuser("root_admin", password="pw-root")
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.parametrize("model", DERIVED)
def test_derived_rows_are_read_only(model: type, superuser_request: HttpRequest) -> None:
    model_admin = admin.site._registry[model]
    assert model_admin.has_view_permission(superuser_request)  # positive control: listed
    assert not model_admin.has_add_permission(superuser_request)
    assert not model_admin.has_change_permission(superuser_request)
    assert not model_admin.has_delete_permission(superuser_request)


@pytest.mark.parametrize("model", [Post, Comment, User])
def test_no_hard_delete_of_content_or_people(model: type, superuser_request: HttpRequest) -> None:
    model_admin = admin.site._registry[model]
    assert model_admin.has_change_permission(superuser_request)  # positive control: editable
    assert not model_admin.has_delete_permission(superuser_request)
    assert "delete_selected" not in model_admin.get_actions(superuser_request)


def test_the_user_delete_page_is_refused(make_user: Callable[..., User]) -> None:
    root = User.objects.create_superuser("root_admin", password="pw-root")
    victim = make_user("victim")
    client = Client()
    client.force_login(root)
    assert client.get(f"/admin/accounts/user/{victim.pk}/change/").status_code == 200
    assert client.post(f"/admin/accounts/user/{victim.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=victim.pk).exists()
