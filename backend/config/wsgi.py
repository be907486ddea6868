"""WSGI entry point: the REST API on a WSGI server (gunicorn), beside the ASGI socket workers.

Likes and unlikes take the lean road (feed.lean_likes) in front of Django's handler.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from feed.lean_likes import with_lean_likes  # noqa: E402 - after Django's setup
from realtime import sync_runtime  # noqa: E402 - after Django's setup

application = with_lean_likes(django_application)

sync_runtime.install()
