"""No page of the app can be framed by another site: the SPA's files and routes, the API."""

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def built_app(settings: Any, tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>KarmaFeed</title>")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    # WhiteNoise reads its root when a client's handler builds the middleware chain.
    for name, value in {"FRONTEND_DIST": tmp_path, "WHITENOISE_ROOT": str(tmp_path)}.items():
        setattr(settings, name, value)
    return tmp_path


def _refuses_framing(response: Any) -> None:
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("path", "file"),
    [("/index.html", "index.html"), ("/favicon.svg", "favicon.svg"), ("/", "index.html"), ("/posts/1", "index.html")],
)
def test_the_apps_files_and_routes_refuse_framing(built_app: Path, path: str, file: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    assert b"".join(response) == (built_app / file).read_bytes()
    _refuses_framing(response)


@pytest.mark.parametrize("path", ["/api/posts/", "/api/health/", "/api/no-such-endpoint/"])
def test_api_answers_refuse_framing(path: str) -> None:
    _refuses_framing(Client().get(path))
