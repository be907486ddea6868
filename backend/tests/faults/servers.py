"""Redis servers and sentinels the fault tests start on free loopback ports and stop again.

Each one is a process of this test run, in a temp folder of its own: the shared Redis of the
machine is never touched, and stopping ends exactly the process that was started.
"""

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

START_TIMEOUT_SECONDS = 10.0


# Ports already given to a server of this run. The probe's socket closes before the server
# binds, so the servers of a group, each given its port before any starts, could otherwise
# get the same one.
_given: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on (random, so parallel runs rarely race for it), and
    never one given before in this run."""
    for _ in range(200):
        port = random.randint(20_000, 60_000)
        if port in _given:
            continue
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
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

    def count_clients(self, kind: str) -> int:
        """Connections of this type (normal, pubsub, ...), the asking one included."""
        listed: Any = self.client().client_list(_type=kind)
        return len(listed)

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
                # Answered by this process, not by another one already on the port (this one
                # then exits: "Address already in use").
                answered: dict[str, Any] = self.client().info("server")  # type: ignore[assignment]
                if answered["process_id"] == self.process.pid:
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


class SentinelGroup:
    """A primary, a replica and three sentinels watching them under `master_name`."""

    master_name = "karmafeed"

    def __init__(self, folder: Path) -> None:
        self.primary = RedisProcess(folder / "primary")
        self.replica = RedisProcess(folder / "replica")
        self.sentinels = [RedisProcess(folder / f"sentinel-{i}", sentinel=True) for i in range(3)]

    @property
    def sentinel_addresses(self) -> str:
        return ",".join(s.address for s in self.sentinels)

    def start(self) -> None:
        self.primary.start()
        self.replica.start(f"replicaof 127.0.0.1 {self.primary.port}")
        for sentinel in self.sentinels:
            sentinel.start(
                f"sentinel monitor {self.master_name} 127.0.0.1 {self.primary.port} 2",
                f"sentinel down-after-milliseconds {self.master_name} 1000",
                f"sentinel failover-timeout {self.master_name} 10000",
                f"sentinel parallel-syncs {self.master_name} 1",
            )
        self.wait_until(lambda: self.replica_in_sync() and self.sentinels_see_each_other(), "the group to form")

    def master_address(self, sentinel: RedisProcess | None = None) -> str:
        asked = (sentinel or self.sentinels[0]).client()
        host, port = asked.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name)
        return f"{host.decode()}:{int(port)}"

    def replica_in_sync(self) -> bool:
        info: dict[str, Any] = self.replica.client().info("replication")  # type: ignore[assignment]
        return bool(info.get("master_link_status") == "up")

    def sentinels_see_each_other(self) -> bool:
        for sentinel in self.sentinels:
            master = sentinel.client().execute_command("SENTINEL", "MASTER", self.master_name)
            fields = dict(zip(master[::2], master[1::2], strict=True))
            if int(fields[b"num-other-sentinels"]) < 2 or int(fields[b"num-slaves"]) < 1:
                return False
        return True

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> float:
        """Poll `condition` until true; the seconds it took."""
        started = time.monotonic()
        while True:
            try:
                if condition():
                    return time.monotonic() - started
            except redis.RedisError:
                pass
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"waited {timeout}s for {what}")
            time.sleep(0.05)

    def stop(self) -> None:
        for process in [*self.sentinels, self.replica, self.primary]:
            process.stop()
