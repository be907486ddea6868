"""gunicorn settings for both kinds of KarmaFeed worker (make stack, compose, the load bench).

    HTTP (REST, admin, metrics):  gunicorn config.wsgi:application -c deploy/gunicorn.conf.py
    websockets:                   gunicorn config.asgi:application -c deploy/gunicorn.conf.py \\
                                      -k config.serving.SocketWorker
run from backend/. gunicorn's master starts the workers, replaces one that dies, and tells the
Prometheus registry that a worker is gone (child_exit, as prometheus_client's multiprocess
mode asks), so /metrics stops counting its open sockets.
"""

import os
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

# The REST API: threads in few processes. A request mostly waits on PostgreSQL and Redis, and
# threads keep nginx's upstream connections alive (a sync worker closes every one). With the
# database slow to commit, requests in flight set the rate: 16 threads, within the worker's
# database pool (DJANGO_DB_POOL_MAX, 20) with room for its leaderboard thread.
worker_class = "gthread"
workers = 2
threads = int(os.environ.get("GUNICORN_THREADS") or "16")
# Longer than nginx keeps an idle upstream connection, so gunicorn never closes one under it.
keepalive = 75
# A socket worker's loop notifies the master between rounds of fan-out; give a busy one room.
timeout = 60
graceful_timeout = 30
# One JSON object per line, like the app's own logs.
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "ops.logging.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def post_fork(server: Any, worker: Any) -> None:
    """Name each worker in X-Served-By: "<KARMAFEED_WORKER_ID or the master's name>.<n>"."""
    base = os.environ.get("KARMAFEED_WORKER_ID") or server.proc_name
    os.environ["KARMAFEED_WORKER_ID"] = f"{base}.{worker.age}"
    if pid_dir := os.environ.get("GUNICORN_WORKER_PID_DIR"):
        Path(pid_dir, f"{os.environ['KARMAFEED_WORKER_ID']}.pid").write_text(f"{worker.pid}\n")


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: its live gauges leave /metrics (its counters keep counting), its pid file goes."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
    if pid_dir := os.environ.get("GUNICORN_WORKER_PID_DIR"):
        for pid_file in Path(pid_dir).glob("*.pid"):
            if pid_file.read_text().strip() == str(worker.pid):
                pid_file.unlink(missing_ok=True)
