"""WSGI entry point: the REST API on a WSGI server (gunicorn), beside the ASGI socket workers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from realtime import sync_runtime  # noqa: E402 - after Django's setup

sync_runtime.install()
