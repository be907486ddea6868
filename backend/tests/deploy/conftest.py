"""The local stack (deploy/stack.py, deploy/Procfile) as the tests run it: nginx and three gunicorn
masters (socket workers, HTTP workers, like workers) under honcho, started exactly as `make
stack` starts them, on free ports, against the test database and the test Redis prefix,
stopped with `stack.py stop` as `make stack-stop` does.
"""

import importlib.util
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from django.conf import settings

from testing.plugin import wait_out_other_transactions

REPO_DIR = Path(__file__).resolve().parents[3]
STACK_SCRIPT = REPO_DIR / "deploy" / "stack.py"
BACKEND_DIR = REPO_DIR / "backend"
STARTUP_TIMEOUT_SECONDS = 30.0


def load_stack_module() -> ModuleType:
    """deploy/stack.py as a module, for its template renderer and its port check."""
    spec = importlib.util.spec_from_file_location("karmafeed_deploy_stack", STACK_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port_run(count: int) -> int:
    """The first of `count` consecutive free ports (honcho numbers the workers' ports so)."""
    port_is_free = load_stack_module().port_is_free
    for _ in range(200):
        first = random.randint(20_000, 60_000)
        if all(port_is_free(first + i) for i in range(count)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    @property
    def served_by(self) -> str:
        return str(self.headers["X-Served-By"])

    def json(self) -> Any:
        return orjson.loads(self.body)


def http(method: str, url: str, *, headers: dict[str, str] | None = None, body: Any = None) -> Answer:
    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310 - http to loopback
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


class Stack:
    """One running stack: its ports, state folder, output, and the way to stop it."""

    def __init__(
        self, state_dir: Path, *, workers: int, frontend_root: Path, http_workers: int = 2, like_workers: int = 1
    ) -> None:
        self.state_dir = state_dir
        self.workers = workers
        self.http_workers = http_workers
        self.like_workers = like_workers
        # Four ports free together, so no two of them can be the same port.
        self.port = free_port_run(4)
        self.socket_port, self.http_port, self.like_port = self.port + 1, self.port + 2, self.port + 3
        self.log_path = state_dir.parent / f"{state_dir.name}.log"
        self.frontend_root = frontend_root
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _live_workers(self, prefix: str) -> dict[str, int]:
        """Worker id -> pid of the live workers of one master, from their pid files."""
        found = {}
        for pid_file in sorted((self.state_dir / "pids" / "workers").glob(f"{prefix}.*.pid")):
            try:
                pid = int(pid_file.read_text())
            except (OSError, ValueError):
                continue
            if Path(f"/proc/{pid}").exists():
                found[pid_file.name.removesuffix(".pid")] = pid
        return found

    @property
    def worker_names(self) -> list[str]:
        """The socket workers now alive (web.1, web.2; a replaced one comes back as web.3)."""
        return list(self._live_workers("web"))

    @property
    def http_worker_names(self) -> list[str]:
        return list(self._live_workers("http"))

    @property
    def like_worker_names(self) -> list[str]:
        return list(self._live_workers("likes"))

    def worker_pid(self, name: str) -> int:
        return int((self.state_dir / "pids" / "workers" / f"{name}.pid").read_text())

    def environment(self) -> dict[str, str]:
        database = settings.DATABASES["default"]
        credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
        return {
            **os.environ,
            # Production settings, not the test settings the suite runs on.
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "0",
            # This process's key: the sessions the tests create must be readable there.
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_LOG_LEVEL": "INFO",
            # The database pytest-django created for this run, and this run's Redis prefix.
            "DATABASE_URL": f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "REDIS_CHANNEL_PREFIX": os.environ["REDIS_CHANNEL_PREFIX"],
            "STACK_DIR": str(self.state_dir),
            "STACK_PORT": str(self.port),
            "STACK_WORKERS": str(self.workers),
            "STACK_HTTP_WORKERS": str(self.http_workers),
            "STACK_LIKE_WORKERS": str(self.like_workers),
            "STACK_WORKER_PORT": str(self.socket_port),
            "STACK_HTTP_PORT": str(self.http_port),
            "STACK_LIKE_PORT": str(self.like_port),
            "STACK_FRONTEND_ROOT": str(self.frontend_root),
            "DJANGO_STATIC_ROOT": str(self.state_dir.parent / "static"),
        }

    def start(self) -> None:
        env = self.environment()
        # As `make stack` does before it starts: the workers serve /static/ from here.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, cwd=BACKEND_DIR, check=True
        )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(STACK_SCRIPT), "start"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Until every worker runs and nginx and every master's port answer /api/health/ with 200."""
        deadline = time.monotonic() + timeout
        waiting = [f"http://127.0.0.1:{port}" for port in (self.socket_port, self.http_port, self.like_port)]
        waiting.append(self.url)
        while (
            waiting
            or len(self.worker_names) < self.workers
            or len(self.http_worker_names) < self.http_workers
            or len(self.like_worker_names) < self.like_workers
        ):
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited with {self.process.returncode}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready within {timeout}s: {waiting}\n{self.output()[-4000:]}")
            if not waiting:
                time.sleep(0.05)
                continue
            try:
                if http("GET", waiting[0] + "/api/health/").status == 200:
                    waiting.pop(0)
                    continue
            except OSError:
                pass
            time.sleep(0.05)

    def stop(self) -> subprocess.CompletedProcess[str]:
        stopped = subprocess.run(
            [sys.executable, str(STACK_SCRIPT), "stop"],
            env={**os.environ, "STACK_DIR": str(self.state_dir)},
            capture_output=True,
            text=True,
            check=False,
        )
        if self.process is not None:
            self.process.wait(15)
        return stopped

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_lines(self, process: str) -> list[dict[str, Any]]:
        """The JSON log lines of one process ("nginx.1", or a worker: "web.1", "http.2", "likes.1"), honcho's
        prefix removed."""
        master = {"web": "sockets.1", "http": "http.1", "likes": "likes.1"}.get(process.split(".")[0])
        pid = self.worker_pid(process) if master else None
        found = []
        for line in self.output().splitlines():
            prefix, separator, text = line.partition(" | ")
            if separator and prefix.split()[-1] == (master or process) and text.startswith("{"):
                entry = orjson.loads(text)
                if pid is None or entry.get("pid") == pid:
                    found.append(entry)
        return found


def write_frontend_build(root: Path) -> Path:
    """A stand-in for frontend/dist: an index page and one hashed asset."""
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>KarmaFeed test build</title>")
    (root / "assets" / "app-0123abcd.js").write_text("console.log('karmafeed')")
    return root


@pytest.fixture(scope="module")
def stack(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Two socket workers, two HTTP workers and a like worker behind nginx, shared by a module's
    tests (each starts in ~1 s, not free)."""
    base = tmp_path_factory.mktemp("stack")
    running = Stack(base / "state", workers=2, frontend_root=write_frontend_build(base / "dist"))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def healthy_stack(stack: Stack) -> Stack:
    """The shared stack with every worker up (a test before may have killed one)."""
    stack.wait_ready()
    return stack


@pytest.fixture
def stack_quiet_before_the_flush(transactional_db: None) -> Iterator[None]:
    """The stack runs on while each test's rows are flushed: the flush waits for its workers'
    transactions to end (a leaderboard refresh caught in it deadlocks the TRUNCATE)."""
    yield
    wait_out_other_transactions()
