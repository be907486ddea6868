"""Swagger UI at /api/docs/ loads its assets from this app, never from a CDN."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def test_swagger_ui_assets_are_served_by_the_app() -> None:
    page = Client().get("/api/docs/").content.decode()
    assets = re.findall(r"""(?:src|href)=["']([^"']+\.(?:js|css|png))["']""", page)
    # Positive control: the page does name its script and styles.
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), page[:500]
    assert not re.search(r"https?://", " ".join(assets)), assets
    assert "cdn.jsdelivr" not in page and "unpkg" not in page
    for asset in assets:
        path = asset.split("?")[0].removeprefix("/static/")
        assert finders.find(path), f"{asset} is not a static file of the app"
