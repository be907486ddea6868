"""docker-compose.yml, the Dockerfiles and the nginx template, checked without a Docker engine:
the services and how they wait for each other, that every setting passed is one KarmaFeed
reads, that nginx and compose agree, that nginx accepts the config, and that the production
settings pass Django's deployment checks.
"""

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import REPO_DIR, load_stack_module

BACKEND_DIR = REPO_DIR / "backend"
COMPOSE_TEXT = (REPO_DIR / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
NGINX_TEMPLATE = (REPO_DIR / "nginx" / "karmafeed.conf.template").read_text()
# The location of the like paths, which nginx sends to the like workers.
LIKE_LOCATION = "~ ^/api/(posts|comments)/[0-9]+/like/$"
FEED_LOCATION = "= /api/posts/"
# ${NAME}, ${NAME:-default}, ${NAME:?message}: compose's interpolation.
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}")


def env_example() -> dict[str, str]:
    """The settings .env.example lists, with their example values (comments stripped)."""
    found = {}
    for line in (REPO_DIR / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            found[name.strip()] = value.split(" #")[0].strip()
    return found


# Read by gunicorn and uvicorn themselves: the proxies whose forwarded headers they trust.
SERVER_SETTINGS = {"FORWARDED_ALLOW_IPS"}
GUNICORN_CONFIG = REPO_DIR / "deploy" / "gunicorn.conf.py"


def settings_read_by_backend() -> set[str]:
    """Environment variables the backend reads (settings, ops, the gunicorn config, the servers)."""
    read = set(SERVER_SETTINGS)
    for path in [*BACKEND_DIR.glob("config/*.py"), *BACKEND_DIR.glob("ops/*.py"), GUNICORN_CONFIG]:
        read |= set(re.findall(r"""(?:env_\w+|environ\.get|getenv)\(\s*["']([A-Z0-9_]+)["']""", path.read_text()))
    return read


def gunicorn_options(args: list[str]) -> tuple[str, dict[str, str]]:
    """A gunicorn command line: the app, and its options as {--flag: value}."""
    assert args[0] == "gunicorn", args
    app, *rest = args[1:]
    options = {}
    while rest:
        flag = rest.pop(0)
        assert flag.startswith("--") and rest, f"unexpected argument {flag!r}"
        options[flag] = rest.pop(0)
    return app, options


def dockerfile_cmd(path: Path) -> list[str]:
    text = path.read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith("CMD ")]
    return list(yaml.safe_load(line.removeprefix("CMD ")))


def test_the_services_and_which_of_them_are_built_here() -> None:
    assert set(SERVICES) == {"db", "redis", "migrate", "web", "api", "likes", "nginx"}
    assert SERVICES["db"]["image"] == "postgres:15"
    assert SERVICES["redis"]["image"] == "redis:7"
    for name, dockerfile in (
        ("migrate", "backend/Dockerfile"),
        ("web", "backend/Dockerfile"),
        ("api", "backend/Dockerfile"),
        ("likes", "backend/Dockerfile"),
    ):
        assert SERVICES[name]["build"] == {"context": ".", "dockerfile": dockerfile}
    assert SERVICES["nginx"]["build"] == {"context": ".", "dockerfile": "nginx/Dockerfile"}
    images = {SERVICES[name]["image"] for name in ("migrate", "web", "api", "likes")}
    assert images == {"karmafeed-backend"}, "one image"


def test_every_long_running_service_has_a_health_check_of_its_own_kind() -> None:
    checks = {name: " ".join(service["healthcheck"]["test"]) for name, service in SERVICES.items() if name != "migrate"}
    assert "pg_isready" in checks["db"]
    assert "redis-cli ping" in checks["redis"]
    assert "/api/health/" in checks["web"]
    assert "/api/health/" in checks["api"]
    assert "/api/health/" in checks["likes"]
    assert "/api/health/" in checks["nginx"]
    # The one-shot is judged by its exit code, not by a health check.
    assert "healthcheck" not in SERVICES["migrate"]
    assert SERVICES["migrate"]["restart"] == "no"
    assert "migrate --noinput" in " ".join(SERVICES["migrate"]["command"])
    assert "collectstatic --noinput" in " ".join(SERVICES["migrate"]["command"])


def test_services_start_only_once_what_they_need_is_healthy_or_done() -> None:
    expected = {
        "migrate": {"db": "service_healthy", "redis": "service_healthy"},
        "web": {"migrate": "service_completed_successfully", "db": "service_healthy", "redis": "service_healthy"},
        "api": {"migrate": "service_completed_successfully", "db": "service_healthy", "redis": "service_healthy"},
        "likes": {"migrate": "service_completed_successfully", "db": "service_healthy", "redis": "service_healthy"},
        "nginx": {"web": "service_healthy", "api": "service_healthy", "likes": "service_healthy"},
    }
    for name, needs in expected.items():
        depends_on = SERVICES[name]["depends_on"]
        assert {service: rule["condition"] for service, rule in depends_on.items()} == needs, name
    assert "depends_on" not in SERVICES["db"]
    assert "depends_on" not in SERVICES["redis"]


def test_the_workers_scale_only_nginx_is_published() -> None:
    for name in ("web", "api", "likes"):
        # A fixed name or host port would stop `--scale web=N` from starting a second replica.
        assert "container_name" not in SERVICES[name]
        assert "ports" not in SERVICES[name]
        assert SERVICES[name]["expose"] == ["8000"]
    published = [name for name, service in SERVICES.items() if "ports" in service]
    assert published == ["nginx"]
    (port,) = SERVICES["nginx"]["ports"]
    assert port == "${KARMAFEED_HTTP_PUBLISH:-127.0.0.1:8080}:80"
    assert SERVICES["nginx"]["environment"]["NGINX_LISTEN"] == "80"


def test_data_lives_on_named_volumes() -> None:
    declared = set(COMPOSE["volumes"])
    mounts = {
        (name, mount.split(":")[0], mount.split(":")[1])
        for name, service in SERVICES.items()
        for mount in service.get("volumes", [])
    }
    assert mounts == {
        ("db", "postgres-data", "/var/lib/postgresql/data"),
        ("migrate", "static", "/app/var/static"),
        ("web", "static", "/app/var/static"),
        ("api", "static", "/app/var/static"),
    }
    assert {volume for _, volume, _ in mounts} == declared
    for name in ("web", "api"):
        assert "static:/app/var/static:ro" in SERVICES[name]["volumes"], "the workers only read what migrate collected"
    # nginx sends the like workers the like paths alone: no static file is ever asked of them.
    assert "volumes" not in SERVICES["likes"]


def test_web_runs_the_socket_workers_and_api_the_http_workers_both_under_gunicorn() -> None:
    web_app, web = gunicorn_options(SERVICES["web"]["command"])
    api_app, api = gunicorn_options(SERVICES["api"]["command"])
    assert (web_app, api_app) == ("config.asgi:application", "config.wsgi:application")
    assert web["--config"] == api["--config"] == "/app/deploy/gunicorn.conf.py"
    # The socket workers' uvicorn options live in one place, config.serving, that make run shares.
    assert web["--worker-class"] == "config.serving.SocketWorker"
    assert "--worker-class" not in api, "the HTTP workers take gthread from the config file"
    assert web["--bind"] == api["--bind"] == "0.0.0.0:8000"
    backend = (REPO_DIR / "backend" / "Dockerfile").read_text()
    assert "COPY deploy/gunicorn.conf.py /app/deploy/gunicorn.conf.py" in backend
    # The image's own command is the socket workers, for `docker run` without compose.
    image_app, image = gunicorn_options(dockerfile_cmd(REPO_DIR / "backend" / "Dockerfile"))
    assert (image_app, image["--worker-class"], image["--config"]) == (web_app, web["--worker-class"], web["--config"])
    # The like workers: the socket workers' app and worker class, so their like road answers.
    likes_app, likes = gunicorn_options(SERVICES["likes"]["command"])
    assert (likes_app, likes["--worker-class"], likes["--config"]) == (web_app, web["--worker-class"], web["--config"])
    assert likes["--bind"] == "0.0.0.0:8000"
    assert likes["--workers"] == "${KARMAFEED_LIKE_WORKERS:-1}"
    # nginx is another container: forwarded headers are trusted from compose's private networks.
    trusted = SERVICES["web"]["environment"]["FORWARDED_ALLOW_IPS"].split(",")
    assert set(trusted) == {"127.0.0.1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}


def test_every_variable_compose_reads_is_listed_in_env_example_with_the_same_default() -> None:
    listed = env_example()
    for name, operator, default in INTERPOLATION.findall(COMPOSE_TEXT):
        assert name in listed, f"${{{name}}} is not in .env.example"
        if operator == ":-" and default and listed[name]:
            assert default == listed[name], f"{name}: compose says {default!r}, .env.example {listed[name]!r}"


def test_secrets_are_required_from_the_environment_and_never_written_down() -> None:
    required = {name for name, operator, _ in INTERPOLATION.findall(COMPOSE_TEXT) if operator == ":?"}
    assert {"DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "DJANGO_ALLOWED_HOSTS"} <= required
    for service in SERVICES.values():
        for name, value in (service.get("environment") or {}).items():
            if re.search(r"SECRET|PASSWORD", name):
                assert INTERPOLATION.fullmatch(str(value)), f"{name} must come from .env, not the compose file"


def test_every_setting_passed_to_the_backend_is_one_it_reads() -> None:
    read = settings_read_by_backend()
    listed = env_example()
    for name in ("migrate", "web", "api", "likes"):
        environment = SERVICES[name]["environment"]
        assert environment["DJANGO_DEBUG"] == "0", "compose runs the production settings"
        for setting in environment:
            assert setting in read, f"{name} passes {setting}, which the backend never reads"
            assert setting in listed, f"{setting} is not in .env.example"
    assert SERVICES["web"]["environment"] is SERVICES["migrate"]["environment"], "one block, shared"
    assert SERVICES["api"]["environment"] is SERVICES["migrate"]["environment"], "one block, shared"
    assert SERVICES["likes"]["environment"] is SERVICES["migrate"]["environment"], "one block, shared"


def test_nginx_is_given_exactly_the_templates_placeholders_and_proxies_to_the_workers() -> None:
    environment = SERVICES["nginx"]["environment"]
    placeholders = set(re.findall(r"\$\{([A-Z0-9_]+)\}", NGINX_TEMPLATE))
    assert set(environment) == placeholders
    for placeholder, service in (
        ("NGINX_API_SERVERS", "api"),
        ("NGINX_LIKE_SERVERS", "likes"),
        ("NGINX_SOCKET_SERVERS", "web"),
    ):
        upstream = re.fullmatch(r"server (\w+):(\d+);", environment[placeholder])
        assert upstream is not None
        assert upstream.group(1) == service
        assert upstream.group(2) == gunicorn_options(SERVICES[service]["command"])[1]["--bind"].split(":")[1]
    dockerfile = (REPO_DIR / "nginx" / "Dockerfile").read_text()
    assert "COPY nginx/karmafeed.conf.template /etc/nginx/templates/karmafeed.conf.template" in dockerfile
    assert f"COPY --from=frontend /build/dist {environment['NGINX_FRONTEND_ROOT']}" in dockerfile


def location(name: str) -> str:
    """The body of one `location` block of the template."""
    match = re.search(r"\n    location " + re.escape(name) + r" \{\n(.*?)\n    \}", NGINX_TEMPLATE, re.S)
    assert match is not None, f"no location {name}"
    return match.group(1)


def test_nginx_proxies_the_dynamic_paths_and_upgrades_websockets() -> None:
    for path in ("/api/", "/admin/", "/static/", "= /metrics"):
        assert "proxy_pass http://karmafeed_api;" in location(path), path
    assert "proxy_pass http://karmafeed_sockets;" in location("/ws/")
    assert "proxy_pass http://karmafeed_likes;" in location(LIKE_LOCATION)
    assert "deny all;" in location("= /metrics")
    assert "allow 0.0.0.0/0" not in location("= /metrics")
    assert re.search(r"proxy_read_timeout \d+[smh];", location("/ws/"))
    for header in (
        "Upgrade $http_upgrade",
        "Connection $karmafeed_connection",
        "Host $http_host",
        "X-Forwarded-For $proxy_add_x_forwarded_for",
        "X-Forwarded-Proto $karmafeed_forwarded_proto",
        "X-Forwarded-Host $http_host",
        "X-Request-ID $karmafeed_request_id",
    ):
        assert f"proxy_set_header {header};" in NGINX_TEMPLATE, header
    # A location with a proxy_set_header of its own would drop all of the ones above.
    for path in ("/api/", "/admin/", "/static/", "= /metrics", "/ws/", LIKE_LOCATION):
        assert "proxy_set_header" not in location(path), path
    assert "client_max_body_size 1m;" in NGINX_TEMPLATE


def upstream(name: str) -> str:
    match = re.search(r"\nupstream " + name + r" \{\n(.*?)\n\}", NGINX_TEMPLATE, re.S)
    assert match is not None, f"no upstream {name}"
    return match.group(1)


def test_the_like_location_takes_the_like_paths_and_only_those_over_kept_alive_connections() -> None:
    # The like location's pattern, as nginx's PCRE reads it (the same syntax as Python's here).
    pattern = re.compile(LIKE_LOCATION.removeprefix("~ "))
    for path in ("/api/posts/12/like/", "/api/comments/3/like/", "/api/posts/1234567890/like/"):
        assert pattern.search(path), path
    # The post, its comments, other paths ending in like/, a like path with more after it: /api/.
    for path in (
        "/api/posts/12/",
        "/api/posts/12/comments/",
        "/api/posts/12/like",
        "/api/posts/12/like/extra",
        "/api/posts/abc/like/",
        "/api/users/12/like/",
        "/x/api/posts/12/like/",
    ):
        assert not pattern.search(path), path
    # A regex location wins over a prefix one unless that prefix says ^~; /api/ must not.
    assert "location ^~ /api/" not in NGINX_TEMPLATE
    assert "${NGINX_LIKE_SERVERS}" in upstream("karmafeed_likes")
    assert re.search(r"keepalive \d+;", upstream("karmafeed_likes")), "likes come often: keep connections open"
    assert re.search(r"keepalive \d+;", upstream("karmafeed_api"))


def test_the_feed_page_goes_to_the_like_workers_and_creating_a_post_to_the_http_workers() -> None:
    assert "proxy_pass http://$karmafeed_posts_upstream;" in location(FEED_LOCATION)
    assert "proxy_set_header" not in location(FEED_LOCATION)
    chosen = re.search(r"\nmap \$request_method \$karmafeed_posts_upstream \{\n(.*?)\n\}", NGINX_TEMPLATE, re.S)
    assert chosen is not None
    by_method = dict(re.findall(r"^\s*(\S+)\s+(\w+);$", chosen.group(1), re.M))
    assert by_method == {"GET": "karmafeed_likes", "HEAD": "karmafeed_likes", "default": "karmafeed_api"}
    # Each a declared upstream: nginx then resolves no name when a request comes.
    for pool in set(by_method.values()):
        assert upstream(pool)


def test_images_are_multi_stage_and_the_worker_is_not_root() -> None:
    backend = (REPO_DIR / "backend" / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", backend, re.M)) == 2
    (user,) = re.findall(r"^USER (\S+)", backend, re.M)
    assert user not in ("root", "0")
    frontend = (REPO_DIR / "nginx" / "Dockerfile").read_text()
    assert re.search(r"^FROM node:20\S* AS frontend$", frontend, re.M)
    assert "RUN npm ci" in frontend
    assert "RUN npm run build" in frontend
    ignored = (REPO_DIR / ".dockerignore").read_text().split()
    assert {".env", "backend/.venv", "**/node_modules", "var"} <= set(ignored)


def test_nginx_accepts_the_compose_config(tmp_path: Path) -> None:
    """`nginx -t` on what the nginx image renders, with compose's host names on loopback."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    assert nginx is not None, "nginx is not installed: make nginx"
    stack = load_stack_module()
    services = "|".join(SERVICES)
    values = {
        name: re.sub(rf"\b(?:{services})(?=:\d)", "127.0.0.1", str(value))
        for name, value in SERVICES["nginx"]["environment"].items()
    }
    # Port 80 needs privileges this check should not need; the rest is as compose has it.
    values["NGINX_LISTEN"] = "127.0.0.1:8080"
    (tmp_path / "tmp").mkdir()
    (tmp_path / "karmafeed.conf").write_text(stack.render_template(NGINX_TEMPLATE, values))
    main = stack.render_template(stack.MAIN_TEMPLATE.read_text(), {"NGINX_USER_DIRECTIVE": ""})
    (tmp_path / "nginx.conf").write_text(main)
    assert "server 127.0.0.1:8000;" in (tmp_path / "karmafeed.conf").read_text()
    checked = subprocess.run(
        [nginx, "-t", "-p", f"{tmp_path}/", "-c", "nginx.conf", "-e", "stderr"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_a_template_placeholder_without_a_value_is_an_error() -> None:
    stack = load_stack_module()
    with pytest.raises(stack.StackError, match="NGINX_LISTEN"):
        stack.render_template(
            NGINX_TEMPLATE,
            {
                "NGINX_API_SERVERS": "",
                "NGINX_LIKE_SERVERS": "",
                "NGINX_SOCKET_SERVERS": "",
                "NGINX_FRONTEND_ROOT": "/",
            },
        )


def test_the_production_settings_pass_the_deployment_checks() -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "KARMAFEED_"))} | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "feed.example.com",
        "DATABASE_URL": "postgres://karmafeed:secret@db:5432/karmafeed",
        "REDIS_URL": "redis://redis:6379/0",
    }
    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BACKEND_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues (0 silenced)." in checked.stdout
