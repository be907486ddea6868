"""The production topology on one host: nginx in front of socket, HTTP and like workers.

    stack.py start   render nginx's config into STACK_DIR, then become honcho running
                     deploy/Procfile: three gunicorn masters (STACK_WORKERS socket workers,
                     STACK_HTTP_WORKERS HTTP workers, STACK_LIKE_WORKERS like workers) and
                     nginx, in the foreground
    stack.py stop    stop the stack that STACK_DIR's pid files name, and only that

`make stack` and `make stack-stop` call it (mk/stack.mk); the deploy tests start it the same
way. Its settings come from the environment:

    STACK_DIR           state: pid files, rendered nginx config, metrics (default var/stack)
    STACK_PORT          where nginx listens on 127.0.0.1 (default 8080)
    STACK_WORKERS       how many socket workers (uvicorn, /ws/; default 2)
    STACK_HTTP_WORKERS  how many HTTP workers (WSGI threads, /api/ and the rest; default 2)
    STACK_LIKE_WORKERS  how many like workers (uvicorn, likes, unlikes, feed pages; default 1)
    STACK_WORKER_PORT   the socket workers' port (default 8181)
    STACK_HTTP_PORT     the HTTP workers' port (default STACK_WORKER_PORT + 1)
    STACK_LIKE_PORT     the like workers' port (default STACK_HTTP_PORT + 1)
    STACK_FRONTEND_ROOT the built browser app (default frontend/dist)

Everything else (DATABASE_URL, REDIS_URL, DJANGO_*) passes through to the workers.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

REPO_DIR = Path(__file__).resolve().parent.parent
VENV_DIR = REPO_DIR / "backend" / ".venv"
PROCFILE = REPO_DIR / "deploy" / "Procfile"
SITE_TEMPLATE = REPO_DIR / "nginx" / "karmafeed.conf.template"
MAIN_TEMPLATE = REPO_DIR / "deploy" / "nginx.conf.template"

STOP_WAIT_SECONDS = 10.0
_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")


class StackError(Exception):
    """A problem the person starting the stack can fix; printed without a traceback."""


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill ${NAME} placeholders as the nginx image's envsubst does; nginx's $vars stay.

    Unlike envsubst, a placeholder without a value is an error rather than left in place,
    where nginx would only reject it later with a less helpful message.
    """
    missing = sorted({name for name in _PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise StackError(f"no value for {', '.join(missing)} in the nginx template")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def upstream_servers(addresses: list[str]) -> str:
    return "\n    ".join(f"server {address};" for address in addresses)


def render_nginx(
    prefix: Path, *, listen: str, api: list[str], likes: list[str], sockets: list[str], frontend_root: Path
) -> None:
    """Write nginx.conf and karmafeed.conf into `prefix`, with the temp folders nginx needs."""
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / temp).mkdir(parents=True, exist_ok=True)
    site = render_template(
        SITE_TEMPLATE.read_text(),
        {
            "NGINX_LISTEN": listen,
            "NGINX_API_SERVERS": upstream_servers(api),
            "NGINX_LIKE_SERVERS": upstream_servers(likes),
            "NGINX_SOCKET_SERVERS": upstream_servers(sockets),
            "NGINX_FRONTEND_ROOT": str(frontend_root),
        },
    )
    # Run as root, nginx would hand its workers to "nobody", who can read neither a private
    # checkout nor the temp folders; the workers of this loopback stack run as its owner.
    user_directive = "user root root;" if os.geteuid() == 0 else ""
    main = render_template(MAIN_TEMPLATE.read_text(), {"NGINX_USER_DIRECTIVE": user_directive})
    (prefix / "karmafeed.conf").write_text(site)
    (prefix / "nginx.conf").write_text(main)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise StackError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


class StackDir:
    """The pid files, rendered config and metrics of one stack."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.pids = self.path / "pids"
        # Each gunicorn worker's pid, named by its worker id (web.1, http.2, likes.1, ...).
        self.worker_pids = self.pids / "workers"
        self.nginx = self.path / "nginx"
        self.metrics = self.path / "prometheus"
        self.manager_pid_file = self.path / "stack.pid"

    def pid_files(self) -> list[Path]:
        files = [self.manager_pid_file, self.nginx / "nginx.pid"]
        for folder in (self.pids, self.worker_pids):
            files += sorted(folder.glob("*.pid")) if folder.is_dir() else []
        return files

    def running_pids(self) -> list[int]:
        """Processes of this stack that are alive, read from its pid files."""
        found: list[int] = []
        for pid_file in self.pid_files():
            try:
                pid = int(pid_file.read_text().strip())
            except (FileNotFoundError, ValueError):
                continue
            if pid not in found and self.owns(pid):
                found.append(pid)
        return found

    def owns(self, pid: int) -> bool:
        """Whether `pid` is a live process of this stack (not a stranger that reused the pid).

        Every process of the stack inherits STACK_DIR, and nginx names its prefix in its
        title (it writes its title over the environment); a zombie or a stranger shows neither.
        """
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        marker = str(self.path).encode()
        return b"STACK_DIR=" + marker in environ.split(b"\0") or marker + b"/nginx/" in cmdline

    def reset(self) -> None:
        if self.running_pids():
            raise StackError(f"a stack is already running from {self.path}: stop it first (make stack-stop)")
        for stale in (self.pids, self.metrics, self.nginx):
            shutil.rmtree(stale, ignore_errors=True)
        # A fresh metrics folder: samples of an earlier run's workers must not be summed in.
        for folder in (self.worker_pids, self.metrics, self.nginx):
            folder.mkdir(parents=True)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # As nginx and uvicorn do: connections of an earlier run in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start() -> NoReturn:
    state = StackDir(Path(os.environ.get("STACK_DIR") or REPO_DIR / "var" / "stack"))
    port = _env_int("STACK_PORT", 8080)
    workers = _env_int("STACK_WORKERS", 2)
    http_workers = _env_int("STACK_HTTP_WORKERS", 2)
    like_workers = _env_int("STACK_LIKE_WORKERS", 1)
    socket_port = _env_int("STACK_WORKER_PORT", 8181)
    http_port = _env_int("STACK_HTTP_PORT", socket_port + 1)
    like_port = _env_int("STACK_LIKE_PORT", http_port + 1)
    frontend_root = Path(os.environ.get("STACK_FRONTEND_ROOT") or REPO_DIR / "frontend" / "dist").resolve()
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        raise StackError("nginx is not installed: run `make nginx`")

    state.reset()
    busy = [p for p in [port, socket_port, http_port, like_port] if not port_is_free(p)]
    if busy:
        raise StackError(
            f"port(s) {', '.join(map(str, busy))} on 127.0.0.1 are in use "
            "(STACK_PORT, STACK_WORKER_PORT, STACK_HTTP_PORT, STACK_LIKE_PORT)"
        )
    if not (frontend_root / "index.html").is_file():
        print(f"stack: no built app in {frontend_root}; pages will 404 (make frontend-build)", file=sys.stderr)
    render_nginx(
        state.nginx,
        listen=f"127.0.0.1:{port}",
        api=[f"127.0.0.1:{http_port}"],
        likes=[f"127.0.0.1:{like_port}"],
        sockets=[f"127.0.0.1:{socket_port}"],
        frontend_root=frontend_root,
    )
    checked = subprocess.run(  # noqa: S603 - nginx found above, arguments are ours
        [nginx, "-t", "-q", "-p", f"{state.nginx}/", "-c", "nginx.conf", "-e", "stderr"],
        capture_output=True,
        text=True,
        check=False,
    )
    if checked.returncode != 0:
        raise StackError(f"nginx rejects the rendered config in {state.nginx}:\n{checked.stderr}")

    # honcho reads no .env (that file is compose's): every setting comes from this environment.
    empty_env_file = state.path / "honcho.env"
    empty_env_file.write_text("")
    env = {
        **os.environ,
        "STACK_DIR": str(state.path),
        "STACK_VENV": str(VENV_DIR),
        "STACK_NGINX": nginx,
        "PROMETHEUS_MULTIPROC_DIR": str(state.metrics),
        "GUNICORN_WORKER_PID_DIR": str(state.worker_pids),
        "STACK_WORKERS": str(workers),
        "STACK_HTTP_WORKERS": str(http_workers),
        "STACK_LIKE_WORKERS": str(like_workers),
        "STACK_WORKER_PORT": str(socket_port),
        "STACK_HTTP_PORT": str(http_port),
        "STACK_LIKE_PORT": str(like_port),
        "PYTHONUNBUFFERED": "1",
        # nginx is the one proxy in front: its X-Forwarded-For entry names the client.
        "KARMAFEED_TRUSTED_PROXIES": os.environ.get("KARMAFEED_TRUSTED_PROXIES", "1"),
    }
    state.manager_pid_file.write_text(f"{os.getpid()}\n")
    print(
        f"stack: http://127.0.0.1:{port} -> nginx -> {workers} socket workers on port {socket_port}, "
        f"{http_workers} HTTP workers on port {http_port}, {like_workers} like workers on port {like_port}",
        flush=True,
    )
    honcho = str(VENV_DIR / "bin" / "honcho")
    # The Procfile's paths are relative to the repository; honcho runs them in its own folder.
    os.chdir(REPO_DIR)
    # exec: honcho keeps this pid (the one in stack.pid) and gets Ctrl-C in the terminal.
    os.execve(  # noqa: S606 - a fixed program with our own arguments
        honcho,
        [
            honcho,
            "start",
            "--procfile",
            str(PROCFILE),
            "--env",
            str(empty_env_file),
            "--concurrency",
            "sockets=1,http=1,likes=1,nginx=1",
        ],
        env,
    )


def stop() -> int:
    state = StackDir(Path(os.environ.get("STACK_DIR") or REPO_DIR / "var" / "stack"))
    pids = state.running_pids()
    if not pids:
        print(f"stack: nothing running from {state.path}")
        _forget_pid_files(state)
        return 0
    # honcho stops its processes itself; anything it leaves behind is then ended one by one.
    try:
        manager = int(state.manager_pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        manager = None
    if manager is not None and manager in pids:
        os.kill(manager, signal.SIGTERM)
        _wait_gone(state, [manager], STOP_WAIT_SECONDS)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = state.running_pids()
        if not left:
            break
        for pid in left:
            os.kill(pid, sig)
        _wait_gone(state, left, STOP_WAIT_SECONDS / 2)
    left = state.running_pids()
    if left:
        print(f"stack: processes {left} would not stop", file=sys.stderr)
        return 1
    _forget_pid_files(state)
    print(f"stack: stopped ({len(pids)} processes from {state.path})")
    return 0


def _wait_gone(state: StackDir, pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(state.owns(pid) for pid in pids):
        time.sleep(0.05)


def _forget_pid_files(state: StackDir) -> None:
    for pid_file in state.pid_files():
        pid_file.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    commands = {"start": start, "stop": stop}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return commands[argv[0]]()
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
