"""Redis servers and sentinels the fault tests start on free loopback ports and stop again.

Each one is a process of this test run, in a temp folder of its own: the shared Redis of the
machine is never touched, and stopping ends exactly the process that was started.
"""

import random
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import redis

START_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    """A loopback port nothing listens on (random, so parallel runs rarely race for it)."""
    for _ in range(200):
        port = random.randint(20_000, 60_000)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free loopback port")


def sentinel_binary() -> str:
    found = shutil.which("redis-sentinel") or shutil.which("redis-sentinel", path="/usr/bin")
    if found is None:
        raise RuntimeError("redis-sentinel is not installed: run `make services` (Debian package redis-sentinel)")
    return found


class RedisProcess:
    """One redis-server (or redis-sentinel) process with its config file in `folder`."""

    def __init__(self, folder: Path, *, port: int | None = None, sentinel: bool = False) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.sentinel = sentinel
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def kill_clients(self, kind: str) -> int:
        """CLIENT KILL TYPE kind (normal, pubsub, ...), sparing the connection that asks."""
        killed: Any = self.client().client_kill_filter(_type=kind, skipme=True)
        return int(killed)

    def start(self, *config_lines: str) -> "RedisProcess":
        config = self.folder / ("sentinel.conf" if self.sentinel else "redis.conf")
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {self.folder}",
            'save ""',
            "appendonly no",
            "daemonize no",
            *config_lines,
        ]
        if self.sentinel:
            lines = [line for line in lines if not line.startswith(("save", "appendonly"))]
        config.write_text("\n".join(lines) + "\n")  # sentinel rewrites its file: it must be writable
        program = sentinel_binary() if self.sentinel else "redis-server"
        log = (self.folder / "server.log").open("wb")
        self.process = subprocess.Popen([program, str(config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{program} exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            try:
                if self.client().ping():
                    return self
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{program} on {self.address} did not answer within {START_TIMEOUT_SECONDS}s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the process dies without saving, closing or telling anyone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None
