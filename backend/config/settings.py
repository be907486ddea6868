"""KarmaFeed settings, read from the environment and the repository's `.env` (see .env.example).

With no DATABASE_URL and no REDIS_URL the app runs embedded: SQLite and the in-memory
channel layer, one process. With them it runs on PostgreSQL and Redis, any number of workers.
"""

import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import env_file, redis_servers

BACKEND_DIR = Path(__file__).resolve().parent.parent
T = TypeVar("T")
REPO_DIR = BACKEND_DIR.parent
env_file.load()


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_parsed(name: str, default: T, parse: Callable[[str], T], kind: str) -> T:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name} must be {kind}, got {raw!r}") from exc


def env_int(name: str, default: int) -> int:
    return _env_parsed(name, default, int, "an integer")


def env_float(name: str, default: float) -> float:
    return _env_parsed(name, default, float, "a number")


def env_milliseconds(name: str, default: int, *, maximum: int) -> float:
    """A duration given in whole milliseconds, from 0 to `maximum`; returned in seconds."""
    seconds = env_milliseconds_or_none(name, maximum=maximum)
    return default / 1000 if seconds is None else seconds


def env_milliseconds_or_none(name: str, *, maximum: int) -> float | None:
    """`env_milliseconds` for a setting whose absence means something of its own (None)."""

    def parse(raw: str) -> float:
        value = int(raw)
        if not 0 <= value <= maximum:
            raise ValueError(raw)
        return value / 1000

    return _env_parsed(name, None, parse, f"whole milliseconds from 0 to {maximum}")


_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def env_bool(name: str, default: bool) -> bool:
    # A typo (`ture`) must stop the start, not quietly read as false.
    return _env_parsed(
        name, default, lambda raw: _BOOLEANS[raw.strip().lower()], "one of 1/0, true/false, yes/no, on/off"
    )


# DRF's rate syntax: requests per second, minute, hour or day ("30/min").
_RATE = re.compile(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str:
    def parse(raw: str) -> str:
        if not _RATE.match(raw.strip()):
            raise ValueError(raw)
        return raw.strip()

    return _env_parsed(name, default, parse, "a rate like 30/min (per s, min, hour or day)")


def env_path(name: str, default: Path) -> Path:
    """A path setting; a relative one resolves from the repository root, wherever a command runs."""
    return REPO_DIR / env_str(name, "") if os.environ.get(name) else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def local_secret_key(path: Path) -> str:
    """This checkout's own key, made on first start: sessions survive restarts of `make run`,
    and no two installs share a key that is written in the source."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(key)
        return key


# Debug pages list the URL patterns and settings: something a developer asks for.
DEBUG = env_bool("DJANGO_DEBUG", False)
# Served over HTTPS, with TLS ended by the proxy in front (production): HSTS, secure
# cookies, the HTTPS redirect. Off, the app serves plain HTTP on loopback (`make run`).
HTTPS = env_bool("DJANGO_HTTPS", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if HTTPS:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_HTTPS=1")
    SECRET_KEY = local_secret_key(REPO_DIR / "var" / "secret_key")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's own files, served from STATIC_URL like the app's (no CDN at /api/docs/).
    "drf_spectacular_sidecar",
    "channels",
    "core",
    "accounts",
    "feed",
    "realtime",
    "ops",
]

MIDDLEWARE = [
    "ops.middleware.RequestLogMiddleware",
    "ops.errors.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside WhiteNoise, so the built app's files cannot be framed either.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ops.framing.FrameAncestorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ops.middleware.AdminMessageMiddleware",
    "ops.middleware.SyncChainBoundary",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Database -------------------------------------------------------------------------
SQLITE_OPTIONS = {
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue on the busy timeout instead of failing to upgrade.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
SUPPORTED_ENGINES = ("django.db.backends.postgresql", "django.db.backends.sqlite3")


def database_from_url(url: str) -> dict[str, Any]:
    """DATABASE_URL as Django's DATABASES entry: PostgreSQL or SQLite, else a clear refusal."""
    try:
        database = dict(dj_database_url.parse(url, conn_max_age=0))
    except Exception as exc:  # dj-database-url raises several kinds
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL ({exc}): {url!r}") from exc
    if database.get("ENGINE") not in SUPPORTED_ENGINES:
        raise ImproperlyConfigured(f"DATABASE_URL must be postgres://... or sqlite:///path, got {url!r}")
    if not database.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL names no database: {url!r}")
    return database


DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Under ASGI every request runs in a thread of its own, so Django's persistent
    # connections would open one PostgreSQL connection per thread and leak it. A pool per
    # worker process hands each request a warm connection instead.
    DATABASES = {"default": database_from_url(DATABASE_URL)}
    db_options = DATABASES["default"].setdefault("OPTIONS", {})
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        db_options.update(SQLITE_OPTIONS)
    else:
        db_options["connect_timeout"] = env_int("DJANGO_DB_CONNECT_TIMEOUT", 5)
        db_options["pool"] = {
            "min_size": env_int("DJANGO_DB_POOL_MIN", 2),
            "max_size": env_int("DJANGO_DB_POOL_MAX", 20),
            # A request waits this long for a free connection, then fails with a 503.
            "timeout": env_float("DJANGO_DB_POOL_TIMEOUT", 10.0),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(env_path("DJANGO_SQLITE_PATH", REPO_DIR / "var" / "karmafeed.sqlite3")),
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    }


def _at_least_one(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(raw)
    return value


# Connections of the pool that the roads on the event loop take theirs from (core.async_database),
# per worker. Each of their statements is one short round trip, so a few keep PostgreSQL busy;
# more only start more backends, cold at first, contending for the same cores
# (docs/load-testing.md, "The loop's pool").
DB_LOOP_POOL_MAX = _env_parsed("DJANGO_DB_LOOP_POOL_MAX", 5, _at_least_one, "a whole number from 1")

# Requests running inside Django at once per worker (ops.middleware.HttpConcurrencyLimit):
# below the database pool's size, so socket sessions and the leaderboard ticker find a connection.
HTTP_MAX_CONCURRENCY = env_int("DJANGO_HTTP_MAX_CONCURRENCY", 12)
# Seconds a client has to send a request's whole body (ops.request_body), else 408.
HTTP_BODY_TIMEOUT = env_float("DJANGO_HTTP_BODY_TIMEOUT", 10.0)

# --- Channel layer --------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# One server, several channel-layer shards, or a primary found through Sentinel.
REDIS_SERVERS = redis_servers.from_environment(os.environ)
# Every Redis key and pub/sub channel of this deployment starts with this. Pub/sub ignores the
# database number, so the default is derived from the servers and database in use: two
# deployments on one Redis server, on different databases, never hear each other.
REDIS_PREFIX = env_str("REDIS_CHANNEL_PREFIX", "") or redis_servers.default_prefix(os.environ)
if REDIS_SERVERS is not None:
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer: one Redis subscription per process and group, no per-message
            # polling. Timeouts keep a dead Redis from hanging a request; the pool is large
            # because a reconnect storm would otherwise hit redis-py's default cap of 100.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": REDIS_SERVERS.layer_hosts(
                    socket_connect_timeout=env_float("REDIS_CONNECT_TIMEOUT", 2.0),
                    socket_timeout=env_float("REDIS_SOCKET_TIMEOUT", 5.0),
                    max_connections=env_int("REDIS_MAX_CONNECTIONS", 2000),
                    health_check_interval=30,
                ),
                "prefix": REDIS_PREFIX,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            # The one member per process is the hub, so its queue must hold a burst.
            "CONFIG": {"capacity": 100_000, "expiry": 60},
        }
    }

# --- Realtime tuning ------------------------------------------------------------------
REALTIME = {
    # The shortest time between a hub's delivery rounds: events that arrive meanwhile reach each
    # socket as one batch frame. (Like counts are coalesced before they are numbered, below.)
    "FLUSH_INTERVAL": env_float("REALTIME_FLUSH_INTERVAL", 0.1),
    # A like count goes at once unless a count of its object went within this window (seconds;
    # set in ms); then it waits for the window's end, newer counts replacing it, so a burst of
    # likes on one object takes a seq per window. Other events go at once.
    "COALESCE_WINDOW": env_milliseconds("REALTIME_COALESCE_WINDOW_MS", 250, maximum=5000),
    # A socket whose unsent output exceeds this many bytes is closed; the client reconnects.
    "SOCKET_BUFFER_LIMIT": env_int("REALTIME_SOCKET_BUFFER_LIMIT", 1_048_576),
    "MAX_FOLLOWED_POSTS": 100,
    "MAX_FRAME_BYTES": 65_536,
    # Inbound frames per socket: a token bucket; a client that empties it is flooding.
    "INBOUND_RATE": env_float("REALTIME_INBOUND_RATE", 20.0),
    "INBOUND_BURST": env_int("REALTIME_INBOUND_BURST", 60),
    # The leaderboard is recomputed at most this often across all workers...
    "LEADERBOARD_MIN_INTERVAL": env_float("LEADERBOARD_MIN_INTERVAL", 1.0),
    # ...and at least this often, so karma that ages out of the window shows.
    "LEADERBOARD_MAX_INTERVAL": env_float("LEADERBOARD_MAX_INTERVAL", 15.0),
    # Each worker pushes post.viewers at most this often per post (and syncs its counts)...
    "PRESENCE_INTERVAL": env_float("REALTIME_PRESENCE_INTERVAL", 2.0),
    # ...and a dead worker's sockets stop counting after this many seconds.
    "PRESENCE_TTL": env_float("REALTIME_PRESENCE_TTL", 30.0),
    # Events kept per stream for resumes (the contract asks for at least 1,000)...
    "STREAM_BACKLOG": env_int("REALTIME_STREAM_BACKLOG", 1000),
    # ...and for how long a stream with no new event keeps them (seconds).
    "STREAM_IDLE_EXPIRY": env_int("REALTIME_STREAM_IDLE_EXPIRY", 86_400),
    # How often a hub compares its streams' positions with the log's, to notice lost events.
    "STREAM_CHECK_INTERVAL": env_float("REALTIME_STREAM_CHECK_INTERVAL", 1.0),
}
# Below REALTIME["COALESCE_WINDOW"], the window may follow the socket workers' delivery rounds
# down to this; unset (None) or the same value keeps the window fixed (realtime/window.py). Kept
# apart from REALTIME, whose values are all numbers: a test that sets the window alone gets it fixed.
REALTIME_COALESCE_WINDOW_MIN = env_milliseconds_or_none("REALTIME_COALESCE_WINDOW_MIN_MS", maximum=5000)
if REALTIME_COALESCE_WINDOW_MIN is not None and REALTIME["COALESCE_WINDOW"] < REALTIME_COALESCE_WINDOW_MIN:
    raise ImproperlyConfigured(
        "REALTIME_COALESCE_WINDOW_MIN_MS must not be above REALTIME_COALESCE_WINDOW_MS: "
        "the window follows the delivery rounds between the two."
    )
if REALTIME["PRESENCE_TTL"] <= 2 * REALTIME["PRESENCE_INTERVAL"]:
    raise ImproperlyConfigured(
        "REALTIME_PRESENCE_TTL must be more than twice REALTIME_PRESENCE_INTERVAL: "
        "a live worker renews its lease once an interval."
    )

KARMA = {
    "POST_LIKE_POINTS": 5,
    "COMMENT_LIKE_POINTS": 1,
    "WINDOW_HOURS": 24,
    "LEADERBOARD_SIZE": 5,
}
# 0 means unlimited nesting; a positive number caps how deep replies may go.
COMMENT_MAX_DEPTH = env_int("KARMAFEED_COMMENT_MAX_DEPTH", 0)

# --- Auth and sessions ----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The one backend (logins and sessions name it): ModelBackend with each worker remembering a
# logged-in user's row for a few seconds, instead of a user query on every request.
AUTHENTICATION_BACKENDS = ["accounts.backends.CachedModelBackend"]
SESSION_ENGINE = "accounts.sessions.cached_db" if REDIS_SERVERS is not None else "accounts.sessions.db"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A refused CSRF check answers JSON like every other error of the API.
CSRF_FAILURE_VIEW = "ops.errors.csrf_failure"


if REDIS_SERVERS is not None:
    CACHES = {
        "default": {
            "BACKEND": "config.django_redis_cache.RedisCache",
            "LOCATION": REDIS_SERVERS.cache_location(),
            "KEY_PREFIX": REDIS_PREFIX,
            "OPTIONS": {
                "socket_connect_timeout": 2,
                "socket_timeout": 2,
                "pool_class": "config.redis_pool.ProcessRedisPool",
                **REDIS_SERVERS.cache_options(),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Form parsers too: CSRF checks read request.POST, which must not fail on a form body.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ops.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env_rate("KARMAFEED_THROTTLE_AUTH", "30/min"),
        "write": env_rate("KARMAFEED_THROTTLE_WRITE", "120/min"),
        # Likes and unlikes per user: each one fans out to every follower of the post.
        "like": env_rate("KARMAFEED_THROTTLE_LIKE", "300/min"),
    },
    # The proxies in front whose X-Forwarded-For entry counts: the throttles key a client by
    # the address the nearest trusted proxy saw, not by anything the client wrote (1 behind
    # nginx, 0 when clients connect directly and the header is ignored).
    "NUM_PROXIES": env_int("KARMAFEED_TRUSTED_PROXIES", 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "KarmaFeed API",
    "DESCRIPTION": "REST half of the KarmaFeed contract; the websocket protocol is at /ws/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.openapi.document_error_answers"],
}

# --- Static files and the built frontend ----------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = str(env_path("DJANGO_STATIC_ROOT", REPO_DIR / "var" / "static"))
FRONTEND_DIST = env_path("KARMAFEED_FRONTEND_DIST", REPO_DIR / "frontend" / "dist")
# The built app's files (index.html, /assets/...) are served from the site root.
WHITENOISE_ROOT = str(FRONTEND_DIST) if FRONTEND_DIST.is_dir() else None
WHITENOISE_AUTOREFRESH = DEBUG

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Production hardening (DJANGO_HTTPS=1) --------------------------------------------
if HTTPS:
    # nginx terminates TLS and says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # /api/health/ answers the load balancer over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^api/health/(live/)?$", r"^metrics$"]

# How the WSGI workers answer likes and unlikes (feed.lean_likes): "lean", Django's middleware
# and the like service without URL resolving and DRF; "django", the full request cycle. Both
# answer alike (tests/feed/test_like_roads.py); the second is there to compare and to fall back on.
LIKE_ROAD = env_str("KARMAFEED_LIKE_ROAD", "lean")
if LIKE_ROAD not in ("lean", "django"):
    raise ImproperlyConfigured(f"KARMAFEED_LIKE_ROAD must be lean or django, got {LIKE_ROAD!r}")

# How the ASGI workers answer a feed page (GET /api/posts/): "loop", on the event loop
# (feed.async_reads); "django", the full request cycle in a worker thread. Both answer alike
# (tests/feed/test_feed_page_roads.py); the second is there to compare and to fall back on.
FEED_ROAD = env_str("KARMAFEED_FEED_ROAD", "loop")
if FEED_ROAD not in ("loop", "django"):
    raise ImproperlyConfigured(f"KARMAFEED_FEED_ROAD must be loop or django, got {FEED_ROAD!r}")

# --- Logging: JSON lines on stdout ----------------------------------------------------
LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "ops.logging.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # uvicorn set up its own plain-text handlers before it loaded this app; from here on
        # its lines (startup, shutdown, errors) are JSON like the rest.
        "uvicorn": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        "uvicorn.access": {"level": "WARNING"},
    },
}
