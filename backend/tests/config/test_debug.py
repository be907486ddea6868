"""Debug pages are something one asks for (DJANGO_DEBUG=1), never the default."""

import http.client
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from testing.plugin import eventually, free_port
from tests.config.settings_probe import BACKEND_DIR, clean_environment, settings_values


def test_debug_is_off_by_default() -> None:
    assert settings_values("DEBUG")["DEBUG"] is False


@pytest.mark.parametrize("value", ["1", "true", "yes", "on"])
def test_debug_is_on_when_asked(value: str) -> None:
    assert settings_values("DEBUG", DJANGO_DEBUG=value)["DEBUG"] is True


def test_plain_http_on_loopback_works_without_debug() -> None:
    # `make run` serves http://127.0.0.1:8000 with no DJANGO_* variables: no HTTPS redirect,
    # cookies a plain-HTTP page can keep, and both loopback names allowed.
    values = settings_values("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "ALLOWED_HOSTS", "SECRET_KEY")
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert {"127.0.0.1", "localhost"} <= set(values["ALLOWED_HOSTS"])
    assert len(values["SECRET_KEY"]) >= 50


def test_the_embedded_server_answers_without_debug_pages(tmp_path: Path) -> None:
    # As `make run` serves: collected static files, uvicorn, no DJANGO_* variables.
    env = clean_environment(DJANGO_STATIC_ROOT=str(tmp_path / "static"), DJANGO_SQLITE_PATH=str(tmp_path / "db"))
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=BACKEND_DIR, env=env, check=True
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "config.serving", "--host", "127.0.0.1", "--port", str(port)],
        cwd=BACKEND_DIR,
        env=env,
    )
    try:
        _wait_until_listening(port)
        status, body = _get(port, "/no-such-page")
        assert status == 404
        assert b"URLconf" not in body and b"Traceback" not in body
        status, body = _get(port, "/no-such-page", host="evil.example")
        assert status == 400
        assert len(body) < 2_000
        for host in ("127.0.0.1", "localhost"):
            assert _get(port, "/static/admin/css/base.css", host=host)[0] == 200
    finally:
        server.terminate()
        server.wait(10)


def _accepts(port: int) -> bool:
    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    return True


def _wait_until_listening(port: int) -> None:
    eventually(
        lambda: _accepts(port),
        f"the server listens on port {port}",
        timeout=30,
        ignoring=(OSError,),
    )


def _get(port: int, path: str, host: str = "127.0.0.1") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
