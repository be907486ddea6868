"""The composition root's routes: the OpenAPI schema and docs, the admin, the browser app's pages."""

from collections.abc import Callable

import pytest

from testing.plugin import ContractClient

pytestmark = pytest.mark.django_db


def test_schema_and_docs(contract_client: Callable[..., ContractClient]) -> None:
    client = contract_client()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/posts/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_admin_registers_every_model() -> None:
    from django.apps import apps
    from django.contrib import admin

    for app in ("accounts", "feed"):
        for model in apps.get_app_config(app).get_models():
            assert admin.site.is_registered(model), model


def test_spa_routes_load_from_their_url(contract_client: Callable[..., ContractClient]) -> None:
    client = contract_client()
    for path in ("/", "/posts/12", "/users/alice"):
        assert client.get(path).status_code in (200, 503)  # 503 explains how to build the app
