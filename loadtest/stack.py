"""What a run needs around it: the bench database, the servers, and their clean stop.

Every child is started in its own session (process group), so stopping it stops whatever
it started too; `Processes.stop_all` runs on normal exit, on errors and on Ctrl-C alike.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
BACKEND_DIR = REPO_DIR / "backend"
VENV_BIN = BACKEND_DIR / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")

GUNICORN_CONFIG = REPO_DIR / "deploy" / "gunicorn.conf.py"


class BenchError(RuntimeError):
    """A problem the person running the bench can fix; shown without a traceback."""


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def pin_to(cpus: Sequence[int] | None):
    if not cpus or cpu_count() < 2:
        return None
    wanted = set(cpus)

    def apply() -> None:
        os.sched_setaffinity(0, wanted)

    return apply


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid


@dataclass
class Processes:
    """The children of one run, stopped in reverse start order."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        cpus: Sequence[int] | None = None,
        cwd: Path = REPO_DIR,
        stdin: int | None = subprocess.DEVNULL,
        stdout: int | None = None,
    ) -> Child:
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("ab")
        popen = subprocess.Popen(  # noqa: S603 - argv is built by this package
            argv,
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=stdout if stdout is not None else log,
            stderr=log,
            start_new_session=True,
            preexec_fn=pin_to(cpus),
        )
        log.close()
        child = Child(name, popen, log_path)
        self.children.append(child)
        return child

    def stop(self, child: Child, timeout: float = 8.0) -> None:
        if child.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
            try:
                child.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.popen.wait(5)
        # The group may still hold grandchildren after its leader exited.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            self.stop(child)


def require_tools() -> None:
    """Fail early, and clearly, when something the bench needs is missing."""
    if not Path(PYTHON).exists():
        raise BenchError(f"{PYTHON} is missing: run `make backend-install` (or `make bench`) first.")
    missing = []
    for module in ("picows", "psutil", "matplotlib", "aiohttp", "uvloop", "websockets", "psycopg"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise BenchError(
            f"missing Python packages {', '.join(missing)}: "
            f"`{PYTHON} -m pip install -r loadtest/requirements.txt` (make bench does it)"
        )
    if not port_open("127.0.0.1", 5432):
        raise BenchError("PostgreSQL is not running on 127.0.0.1:5432: `make services` starts it.")
    if not port_open("127.0.0.1", 6379):
        raise BenchError("Redis is not running on 127.0.0.1:6379: `make services` starts it.")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Database:
    name: str
    admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.name}"

    def recreate(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def connect(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True)


def redis_prefix(database: Database) -> str:
    return f"bench-{database.name}"


def server_env(database: Database, *, redis_db: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database.url,
            "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
            "REDIS_CHANNEL_PREFIX": redis_prefix(database),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            # Production mode, as deployed, minus the HTTPS redirect (the bench speaks plain HTTP).
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "karmafeed-bench-only-" + "x" * 40,
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_LOG_LEVEL": "WARNING",
            # Writers drive hundreds of writes a second from a handful of users.
            "KARMAFEED_THROTTLE_WRITE": "10000000/min",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def manage(args: list[str], env: dict[str, str], *, what: str) -> str:
    result = subprocess.run(  # noqa: S603 - argv is built by this package
        [PYTHON, "manage.py", *args], cwd=BACKEND_DIR, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BenchError(f"{what} failed (manage.py {' '.join(args)}):\n{result.stderr[-3000:]}")
    return result.stdout


def uvicorn_argv(port: int) -> list[str]:
    """One socket worker as `make run` serves (config.serving holds the server's options); run in backend/."""
    return [PYTHON, "-m", "config.serving", "--host", "127.0.0.1", "--port", str(port)]


def gunicorn_http_argv(port: int, *, workers: int) -> list[str]:
    """The REST workers as `make stack` and compose run them; run in backend/."""
    return [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi:application",
        "--config",
        str(GUNICORN_CONFIG),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--name",
        "http",
    ]


def wait_http(url: str, child: Child, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.popen.poll() is not None:
            raise BenchError(f"{child.name} exited with {child.popen.returncode}; see {child.log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback only
                if answer.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"{child.name} did not answer {url} within {timeout:.0f}s; see {child.log_path}")


def wait_port(port: int, child: Child, *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.popen.poll() is not None:
            raise BenchError(f"{child.name} exited with {child.popen.returncode}; see {child.log_path}")
        if port_open("127.0.0.1", port):
            return
        time.sleep(0.1)
    raise BenchError(f"{child.name} did not listen on {port} within {timeout:.0f}s; see {child.log_path}")


def python_module_argv(module: str, *args: str) -> list[str]:
    return [PYTHON, "-m", module, *args]


def open_files_limit() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
