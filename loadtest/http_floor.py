"""The floor under any like: the server CPU of an HTTP server answering a bare 200, per request.

    backend/.venv/bin/python -m loadtest.http_floor [--requests 4000] [--connections 16]

Run from the repository root. Serves an app that answers every request with a short JSON body
and does nothing else, on each server the REST API can run on (gunicorn's gthread and sync
workers with deploy/gunicorn.conf.py, one worker; uvicorn with httptools and uvloop, as
config.serving runs it), sends the same like-shaped requests over keep-alive connections,
and divides the server processes' CPU (psutil: the worker and its master) by the requests.
No Django, no database: what a like costs before the application runs a line.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from loadtest import stack

# Imported by name by the servers (run as a script, this module is __main__).
_MODULE = "loadtest.http_floor"
_BODY = b'{"liked":true,"like_count":1,"version":1}'
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))]
_RAW_HEADERS = [(name.encode(), value.encode()) for name, value in _HEADERS]


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", _HEADERS)
    return [_BODY]


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(k.encode(), v.encode()) for k, v in _HEADERS]}
    )
    await send({"type": "http.response.body", "body": _BODY})


SERVERS = {
    "gunicorn gthread": ["gunicorn", "--worker-class", "gthread"],
    "gunicorn sync": ["gunicorn", "--worker-class", "sync"],
    "uvicorn (httptools, uvloop)": ["uvicorn"],
}


def _argv(kind: list[str], port: int) -> list[str]:
    if kind[0] == "gunicorn":
        return [
            str(stack.VENV_BIN / "gunicorn"),
            f"{_MODULE}:{wsgi_app.__name__}",
            "--config",
            str(stack.GUNICORN_CONFIG),
            *kind[1:],
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(stack.REPO_DIR),
            "--pythonpath",
            f"{stack.REPO_DIR},{stack.BACKEND_DIR}",
        ]
    return [
        stack.PYTHON,
        "-m",
        "uvicorn",
        f"{_MODULE}:{asgi_app.__name__}",
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def _drive(port: int, *, requests: int, connections: int) -> None:
    per_connection = requests // connections

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(per_connection):
            conn.request("POST", "/api/posts/1/like/", headers={"Cookie": "sessionid=x; csrftoken=y"})
            answer = conn.getresponse()
            answer.read()
            if answer.status != 200:
                raise stack.BenchError(f"the bare server answered {answer.status}")
            if answer.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _cpu_seconds(pid: int) -> float:
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def measure(name: str, *, requests: int, connections: int, log_dir: Path) -> float:
    processes = stack.Processes(log_dir)
    port = stack.free_port()
    child = processes.start(name.split()[0], _argv(SERVERS[name], port), env=dict(os.environ), cwd=stack.REPO_DIR)
    try:
        stack.wait_http(f"http://127.0.0.1:{port}/", child)
        _drive(port, requests=connections * 20, connections=connections)  # warm-up
        before = _cpu_seconds(child.pid)
        _drive(port, requests=requests, connections=connections)
        return (_cpu_seconds(child.pid) - before) * 1000 / requests
    finally:
        processes.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.http_floor", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {name: [] for name in SERVERS}
    with tempfile.TemporaryDirectory(prefix="http-floor-") as logs:
        for _ in range(args.rounds):
            for name in SERVERS:
                results[name].append(
                    measure(name, requests=args.requests, connections=args.connections, log_dir=Path(logs))
                )
                time.sleep(0.5)
    print(f"server CPU per bare request (ms), {args.requests} requests over {args.connections} connections:")
    for name, values in results.items():
        rounds = " / ".join(f"{v:.3f}" for v in values)
        print(f"  {name:30s} median {statistics.median(values):.3f}   rounds: {rounds}")


if __name__ == "__main__":
    main()
