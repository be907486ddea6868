"""Settings for the test suite: the real PostgreSQL and Redis of the machine.

DATABASE_URL and REDIS_URL may point elsewhere; pytest-django creates test_<name>_<pid>.
Set both to "" to run the suite on the embedded default (SQLite, in-memory layer), as
`make test` does for the tests not marked `needs_services`.
"""

import os

# A developer's .env (read by `make run` and manage.py) never changes what the tests see.
os.environ.setdefault("KARMAFEED_ENV_FILE", "")

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/karmafeed")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Pub/sub channels are shared by all Redis databases: a prefix keeps tests apart from a dev server.
os.environ.setdefault("REDIS_CHANNEL_PREFIX", f"karmafeed-test-{os.getpid()}")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("KARMAFEED_THROTTLE_AUTH", "10000/min")
os.environ.setdefault("KARMAFEED_THROTTLE_WRITE", "10000/min")
os.environ.setdefault("KARMAFEED_THROTTLE_LIKE", "100000/min")

from config.settings import *  # noqa: F403
from config.settings import DATABASES

# One test database per pytest run, so runs side by side (CI, a developer, a bench) never
# drop each other's database.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

# Hashing strength is not under test; speed is welcome.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
