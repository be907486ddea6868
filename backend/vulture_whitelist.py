"""Names the frameworks call that no KarmaFeed code calls by name, for vulture (make lint).

Names that every framework class uses (DRF's `permission_classes`, a model's `Meta`, a
command's `handle`) are ignored by pattern in pyproject.toml's [tool.vulture]; this file lists
the few single names that only a string in the settings or a framework hook refers to.
Add a name here only when nothing in the code can call it by name.
"""

from types import SimpleNamespace

import conftest
from config import django_redis_cache, openapi, redis_pool, redis_servers, serving, uvicorn_keepalive
from core import parsers
from feed import admin as feed_admin
from ops import errors, logging, middleware
from realtime import origin
from tests.accounts import test_backends
from tests.core import test_throttling
from tests.deploy import conftest as deploy_conftest
from tests.deploy import test_stack
from tests.faults import conftest as faults_conftest
from tests.feed import conftest as feed_conftest
from tests.feed import test_schema_fuzz
from tests.realtime import test_convergence_property

# Named by dotted path in config/settings.py (middleware classes: by pattern in pyproject.toml).
redis_pool.ProcessRedisPool
# Read by Django's RedisCache when it builds its client.
django_redis_cache.RedisCache._class
# Called from config/settings.py, which vulture leaves out.
redis_servers.default_prefix
# Named by dotted path in config/serving.py's uvicorn options.
uvicorn_keepalive.KeepaliveWebSocketProtocol
parsers.StrictJSONParser
logging.JsonFormatter
middleware.SyncChainBoundary

# Django's HttpRequest asks its subclasses for the scheme by this name.
origin._HandshakeRequest._get_scheme

# Autouse fixtures: pytest calls them around every test of their module.
test_stack.close_thread_connections
test_backends.empty_cache

# A pytest hook: the fault tests print their figures at the end of the run.
faults_conftest.pytest_terminal_summary

# The admin calls these by the names in `actions` and `list_display`.
feed_admin.SoftDeleteAdmin.soft_delete
feed_admin.SoftDeleteAdmin.restore
feed_admin.SoftDeleteAdmin.is_deleted

# gunicorn takes the worker class by dotted path (-k), and its CONFIG_KWARGS by convention.
serving.SocketWorker.CONFIG_KWARGS

# deploy/gunicorn.conf.py: gunicorn reads these settings and calls these hooks by name.
gunicorn_config = SimpleNamespace()
gunicorn_config.worker_class
gunicorn_config.keepalive
gunicorn_config.graceful_timeout
gunicorn_config.logconfig_dict
gunicorn_config.post_fork
gunicorn_config.child_exit

# Named by dotted path in config/settings.py (CSRF_FAILURE_VIEW, POSTPROCESSING_HOOKS).
errors.csrf_failure
openapi.document_error_answers

# Fixtures used by name (usefixtures).
test_convergence_property.two_publishers
deploy_conftest.stack_quiet_before_the_flush

# A fixture schemathesis looks up by its name.
test_schema_fuzz.api_schema

# The suite's session-wide autouse fixture (backend/conftest.py).
conftest._forget_this_runs_stream_keys

# Fixtures used by name (tests/feed/conftest.py) and autouse ones (tests/core/test_throttling.py,
# tests/faults).
feed_conftest.connections_kept_open
test_throttling.three_a_minute
faults_conftest.stack_quiet_before_the_flush

# Read by Django's HttpResponse.close() to send request_finished (feed.lean_likes sets it).
SimpleNamespace()._handler_class
