"""One bench run: stack up, KarmaFeed phase, bare reference phases, report, clean stop."""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from loadtest import stack
from loadtest.scenarios import PAGE_SIZE, Scenario
from loadtest.stack import BenchError, Child, Database, Processes

# Time after the last write for the last flush, and the leaderboard push (<= 1 s), to land.
SETTLE_SECONDS = 3.0
# The server counters read from each socket worker's /metrics at the end of the run.
SERVER_COUNTERS = ("karmafeed_resume_messages_total", "karmafeed_resume_queries_total")
# The like ceiling: PostgreSQL connections replaying the like statement, and for how long.
CEILING_THREADS = 16
CEILING_SECONDS = 5.0


@dataclass
class Options:
    scenario: Scenario
    sockets: int
    duration: float
    writers: int
    like_rate: float
    comment_rate: float
    workers: int
    write_workers: int
    http_server: str
    endpoints: bool
    endpoint_rate: float
    endpoint_duration: float
    socket_auth: str
    out_dir: Path
    pin: bool
    bare: bool
    bare_duration: float
    database: str
    connect_concurrency: int
    server_env: dict[str, str]
    # At most this long, the sockets are waited for to reach the server's stream positions.
    settle_timeout: float = 60.0


class Sampler(threading.Thread):
    """CPU time and RSS of the watched processes, twice a second."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.watched: dict[str, psutil.Process] = {}
        self.samples: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.halt = threading.Event()

    def watch(self, name: str, pid: int) -> None:
        with self.lock:
            self.watched[name] = psutil.Process(pid)

    def forget(self, name: str) -> None:
        with self.lock:
            self.watched.pop(name, None)

    def sample_now(self) -> dict[str, Any]:
        """Each watched process with its children (a gunicorn master's workers), summed and one by one."""
        row: dict[str, Any] = {"t": time.time()}
        with self.lock:
            for name, proc in self.watched.items():
                try:
                    tree = [proc, *proc.children(recursive=True)]
                except psutil.Error:
                    continue
                cpu_total, rss_total = 0.0, 0
                procs: dict[int, dict[str, Any]] = {}
                for member in tree:
                    try:
                        cpu = member.cpu_times()
                        used = cpu.user + cpu.system
                        rss = member.memory_info().rss
                        cpus = member.cpu_affinity()
                        title = " ".join(member.cmdline()[1:3])
                    except psutil.Error:
                        continue
                    cpu_total += used
                    rss_total += rss
                    procs[member.pid] = {"cpu": used, "cpus": cpus, "name": title}
                row[name] = {"cpu": cpu_total, "rss": rss_total, "procs": procs}
        self.samples.append(row)
        return row

    def run(self) -> None:
        while not self.halt.wait(0.5):
            self.sample_now()


class LineReader(threading.Thread):
    """Collects a child's JSON status lines (its stdout) into a queue."""

    def __init__(self, child: Child, lines: queue.Queue[tuple[str, dict[str, Any]]]) -> None:
        super().__init__(daemon=True)
        self.child = child
        self.lines = lines

    def run(self) -> None:
        assert self.child.popen.stdout is not None
        for raw in self.child.popen.stdout:
            try:
                self.lines.put((self.child.name, json.loads(raw)))
            except ValueError:
                continue


@dataclass
class PhaseResult:
    """What one phase (KarmaFeed, or a bare reference) measured."""

    name: str
    client: dict[str, Any] = field(default_factory=dict)
    writers: dict[str, Any] = field(default_factory=dict)
    ticks: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    server_names: list[str] = field(default_factory=list)
    # The servers that take the REST writes (the socket servers too when they take them).
    write_server_names: list[str] = field(default_factory=list)
    ceiling: dict[str, Any] = field(default_factory=dict)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    client_name: str = ""
    window: tuple[float, float] = (0.0, 0.0)
    rss_before: int = 0
    rss_connected: int = 0
    notes: list[str] = field(default_factory=list)
    # Counters summed over the socket workers' /metrics at the end (SERVER_COUNTERS).
    server_counters: dict[str, float] = field(default_factory=dict)

    def cpu_seconds(self, names: list[str], window: tuple[float, float] | None = None) -> float:
        start, end = window or self.window
        inside = [s for s in self.samples if start <= s["t"] <= end]
        if len(inside) < 2:
            return 0.0
        first, last = inside[0], inside[-1]
        return sum(last[n]["cpu"] - first[n]["cpu"] for n in names if n in first and n in last)

    def processes_in_window(self, names: list[str]) -> list[dict[str, Any]]:
        """Every process of the named trees: its CPU over the window and the CPUs it may run on."""
        start, end = self.window
        inside = [s for s in self.samples if start <= s["t"] <= end]
        if len(inside) < 2:
            return []
        first, last = inside[0], inside[-1]
        seconds = last["t"] - first["t"]
        found = []
        for name in names:
            if name not in first or name not in last:
                continue
            for pid, now in last[name].get("procs", {}).items():
                before = first[name].get("procs", {}).get(pid, {"cpu": 0.0})
                used = now["cpu"] - before["cpu"]
                found.append(
                    {
                        "server": name,
                        "pid": pid,
                        "process": now["name"],
                        "cpu_seconds": used,
                        "cpu_percent": 100 * used / seconds if seconds else 0.0,
                        "cpus": now["cpus"],
                    }
                )
        return found

    def sampled_seconds(self) -> float:
        start, end = self.window
        inside = [s["t"] for s in self.samples if start <= s["t"] <= end]
        return inside[-1] - inside[0] if len(inside) >= 2 else 0.0

    def frames_in_window(self) -> tuple[int, int, float]:
        start, end = self.window
        inside = [t for t in self.ticks if start < t["t"] <= end + 1.0]
        seconds = max(1e-9, (inside[-1]["t"] - inside[0]["t"] + 1.0) if inside else 1e-9)
        return sum(t["frames"] for t in inside), sum(t["events"] for t in inside), seconds


class Bench:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.out = options.out_dir
        self.processes = Processes(self.out / "logs")
        self.sampler = Sampler()
        self.lines: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.database = Database(options.database)
        cores = stack.cpu_count()
        self.server_cpus = [0] if options.pin and cores >= 2 else None
        self.client_cpus = [1] if options.pin and cores >= 2 else None
        self.redis_db = 9

    # -- the run -----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        (self.out / "logs").mkdir(parents=True, exist_ok=True)
        self.sampler.start()
        try:
            facts = self.prepare()
            phases = [self.karmafeed_phase(facts)]
            if self.o.bare:
                karmafeed = phases[0]
                frames, events, seconds = karmafeed.frames_in_window()
                sockets = max(1, karmafeed.client.get("sockets_open", self.o.sockets))
                ticks = frames / seconds / sockets if frames else 10.0
                per_frame = max(1, round(events / frames)) if frames else 1
                phases.append(self.bare_phase("bare-paced", ticks_per_second=ticks, events_per_frame=per_frame))
                phases.append(self.bare_phase("bare-flood", ticks_per_second=0, events_per_frame=1))
        finally:
            self.sampler.halt.set()
            self.processes.stop_all()
            status_line_end()
        return {"facts": facts, "phases": phases}

    def prepare(self) -> dict[str, Any]:
        o = self.o
        status(f"database {self.database.name}: recreate, migrate, seed")
        self.database.recreate()
        forget_redis_keys(self.redis_db, stack.redis_prefix(self.database))
        env = stack.server_env(self.database, redis_db=self.redis_db, extra=o.server_env)
        stack.manage(["migrate", "--noinput", "-v0"], env, what="migrate")
        stack.manage(
            ["seed", "--users", "24", "--posts", str(o.scenario.posts), "--comments", "60", "--likes", "400"],
            env,
            what="seed",
        )
        sessions_path = self.out / "sessions.json"
        status(f"{o.writers} sessions (manage.py create_sessions)")
        stack.manage(["create_sessions", "--count", str(o.writers), "--out", str(sessions_path)], env, what="sessions")
        with self.database.connect() as conn:
            newest = [r[0] for r in conn.execute("SELECT id FROM feed_post ORDER BY created_at DESC, id DESC")]
            by_author: dict[int, list[int]] = {}
            for post_id, author_id in conn.execute("SELECT id, author_id FROM feed_post"):
                by_author.setdefault(author_id, []).append(post_id)
        return {
            "env": env,
            "sessions": json.loads(sessions_path.read_text()),
            "newest": newest,
            "by_author": by_author,
            "machine": machine_facts(),
            "pinned": {"server": self.server_cpus, "client": self.client_cpus},
        }

    def start_servers(self, env: dict[str, str]) -> tuple[list[int], list[int], list[Child], list[Child]]:
        """Socket workers (uvicorn, one process and port each) and the write servers.

        With --http-server gunicorn the writes go to one gunicorn master with --write-workers
        threaded WSGI workers, as in production; with uvicorn, to --write-workers more uvicorn
        processes. With no write workers the socket workers take the writes too.
        """
        o = self.o
        socket_ports: list[int] = []
        socket_servers: list[Child] = []
        for _ in range(o.workers):
            port = stack.free_port()
            cpus = self.server_cpus if o.workers == 1 else None
            socket_servers.append(
                self.processes.start(
                    f"uvicorn-{port}", stack.uvicorn_argv(port), env=env, cpus=cpus, cwd=stack.BACKEND_DIR
                )
            )
            socket_ports.append(port)
        write_ports: list[int] = []
        write_servers: list[Child] = []
        if o.write_workers and o.http_server == "gunicorn":
            port = stack.free_port()
            argv = stack.gunicorn_http_argv(port, workers=o.write_workers)
            write_servers.append(self.processes.start(f"gunicorn-{port}", argv, env=env, cwd=stack.BACKEND_DIR))
            write_ports.append(port)
        else:
            for _ in range(o.write_workers):
                port = stack.free_port()
                argv = stack.uvicorn_argv(port)
                write_servers.append(self.processes.start(f"uvicorn-{port}", argv, env=env, cwd=stack.BACKEND_DIR))
                write_ports.append(port)
        for child, port in zip(socket_servers + write_servers, socket_ports + write_ports, strict=True):
            stack.wait_http(f"http://127.0.0.1:{port}/api/health/", child)
        return socket_ports, write_ports or socket_ports, socket_servers, write_servers or socket_servers

    def karmafeed_phase(self, facts: dict[str, Any]) -> PhaseResult:
        o = self.o
        phase = PhaseResult("karmafeed")
        status(f"starting the servers (sockets: uvicorn; writes: {o.http_server})")
        socket_ports, write_ports, socket_servers, write_servers = self.start_servers(facts["env"])
        servers = socket_servers + [child for child in write_servers if child not in socket_servers]
        for child in servers:
            self.sampler.watch(child.name, child.pid)
        phase.server_names = [child.name for child in socket_servers]
        phase.write_server_names = [child.name for child in write_servers]
        rng = random.Random(7)
        sessions = facts["sessions"]
        cookie_names = sessions["cookie_names"]
        cookies = (
            [f"{cookie_names['session']}={s['sessionid']}" for s in sessions["sessions"]]
            if o.socket_auth == "session"
            else []
        )
        phase.rss_before = self.server_rss(phase)
        client = self.start_client(
            phase,
            "client-karmafeed",
            urls=[f"ws://127.0.0.1:{p}/ws/" for p in socket_ports],
            origins=[f"http://127.0.0.1:{p}" for p in socket_ports],
            follow_sets=o.scenario.follow_sets(facts["newest"], rng),
            cookies=cookies,
        )
        connected = self.wait_connected(phase, client)
        phase.rss_connected = self.server_rss(phase)
        status_line_end()
        print(f"  {connected['sockets']} sockets connected in {connected['seconds']:.1f}s", flush=True)

        writers = None
        if o.like_rate > 0 or o.comment_rate > 0:
            writer_config = {
                "targets": [f"http://127.0.0.1:{p}" for p in write_ports],
                "sessions": sessions["sessions"],
                "cookie_names": cookie_names,
                "duration": o.duration,
                "like_rate": o.like_rate,
                "comment_rate": o.comment_rate,
                "post_ids": o.scenario.writer_targets(facts["newest"]),
                "author_groups": o.scenario.author_groups(facts["by_author"]),
                "result_path": str(self.out / "writers.json"),
            }
            writers = self.start_json_child("writers", "loadtest.writers", writer_config, cpus=None)
        started = time.time()
        if o.scenario.churn_share > 0:
            self.command(client, f"churn {max(1, int(o.sockets * o.scenario.churn_share))}")
        self.watch_until(phase, started + o.duration, writers, label="karmafeed")
        if o.scenario.churn_share > 0:
            self.command(client, "stop-churn")
        if writers is not None:
            self.wait_exit(writers, timeout=60)
            phase.writers = json.loads((self.out / "writers.json").read_text())
        self.watch_until(phase, time.time() + SETTLE_SECONDS, None, label="settling")
        phase.window = (started, time.time())
        self.settle(phase, client)
        phase.server_counters = server_counters(socket_ports)
        truth = self.database_truth(phase.writers.get("writes", {}), socket_ports[0])
        phase.client = self.finish_client(client, truth)
        if o.endpoints:
            phase.endpoints = self.endpoints_phase(facts, write_ports[0])
        phase.samples = list(self.sampler.samples)
        for child in servers:
            self.sampler.forget(child.name)
            self.processes.stop(child)
        phase.ceiling = self.like_ceiling(facts)
        return phase

    def endpoints_phase(self, facts: dict[str, Any], port: int) -> list[dict[str, Any]]:
        """Each REST endpoint alone at --endpoint-rate for --endpoint-duration seconds."""
        o = self.o
        sessions = facts["sessions"]
        config = {
            "target": f"http://127.0.0.1:{port}",
            "sessions": sessions["sessions"],
            "cookie_names": sessions["cookie_names"],
            "rate": o.endpoint_rate,
            "duration": o.endpoint_duration,
            "thread_post_id": facts["newest"][-1],
            "thread_comments": 1000,
            "profile_username": sessions["sessions"][0]["username"],
            "result_path": str(self.out / "endpoints.json"),
        }
        status("endpoints: creates, then reads, one at a time")
        child = self.start_json_child("endpoints", "loadtest.endpoints", config, cpus=None)
        while child.popen.poll() is None:
            for source, line in self.drain(timeout=0.5):
                if line["kind"] == "warning":
                    print(f"  {source}: {line['message']}", flush=True)
        self.wait_exit(child, timeout=600)
        return list(json.loads((self.out / "endpoints.json").read_text()))

    def like_ceiling(self, facts: dict[str, Any]) -> dict[str, Any]:
        """The like statement replayed from plain psycopg connections, servers stopped."""
        o = self.o
        status("like ceiling: the like statement without the web stack")
        sessions = facts["sessions"]["sessions"]
        config = {
            "database_url": self.database.url,
            "user_ids": [s["user_id"] for s in sessions],
            "post_ids": o.scenario.writer_targets(facts["newest"]),
            "threads": CEILING_THREADS,
            "duration": CEILING_SECONDS,
            "result_path": str(self.out / "ceiling.json"),
        }
        config_path = self.out / "ceiling-config.json"
        config_path.write_text(json.dumps(config))
        env = {**facts["env"], "PYTHONPATH": str(stack.REPO_DIR)}
        child = self.processes.start(
            "ceiling", stack.python_module_argv("loadtest.ceiling", str(config_path)), env=env, cwd=stack.BACKEND_DIR
        )
        self.wait_exit(child, timeout=CEILING_SECONDS + 60)
        return dict(json.loads((self.out / "ceiling.json").read_text()))

    def bare_phase(self, name: str, *, ticks_per_second: float, events_per_frame: int) -> PhaseResult:
        o = self.o
        phase = PhaseResult(name)
        port = stack.free_port()
        state_path = self.out / f"{name}-state.json"
        server = self.processes.start(
            f"bare-{port}",
            stack.python_module_argv(
                "loadtest.bare_server",
                "--port",
                str(port),
                "--ticks-per-second",
                f"{ticks_per_second:.3f}",
                "--events-per-frame",
                str(events_per_frame),
                "--post-ids",
                ",".join(str(i) for i in range(1, PAGE_SIZE + 1)),
                "--state-out",
                str(state_path),
            ),
            env=bench_env(),
            cpus=self.server_cpus,
        )
        stack.wait_port(port, server)
        self.sampler.watch(server.name, server.pid)
        phase.server_names.append(server.name)
        pace = "as fast as it can" if ticks_per_second == 0 else f"{ticks_per_second:.1f} frames/s per socket"
        phase.notes.append(f"bare websockets broadcast, {events_per_frame} event(s) a frame, {pace}")
        phase.rss_before = self.server_rss(phase)
        client = self.start_client(
            phase,
            f"client-{name}",
            urls=[f"ws://127.0.0.1:{port}/"],
            origins=[f"http://127.0.0.1:{port}"],
            follow_sets=[list(range(1, PAGE_SIZE + 1))],
            cookies=[],
        )
        connected = self.wait_connected(phase, client)
        phase.rss_connected = self.server_rss(phase)
        status_line_end()
        print(f"  {name}: {connected['sockets']} sockets connected in {connected['seconds']:.1f}s", flush=True)
        started = time.time()
        os.kill(server.pid, signal.SIGUSR1)
        self.watch_until(phase, started + o.bare_duration, None, label=name)
        os.kill(server.pid, signal.SIGUSR2)
        self.watch_until(phase, time.time() + 1.0, None, label=f"{name} settling")
        phase.window = (started, time.time())
        truth = json.loads(state_path.read_text()) if state_path.exists() else {}
        phase.client = self.finish_client(client, {"posts": truth.get("posts"), "writes": {}})
        phase.samples = list(self.sampler.samples)
        self.sampler.forget(server.name)
        self.processes.stop(server)
        return phase

    # -- children ------------------------------------------------------------------------

    def start_client(
        self,
        phase: PhaseResult,
        name: str,
        *,
        urls: list[str],
        origins: list[str],
        follow_sets: list[list[int]],
        cookies: list[str],
    ) -> Child:
        config = {
            "url": urls[0],
            "origin": origins[0],
            "sockets": self.o.sockets,
            "follow_sets": follow_sets,
            "cookies": cookies,
            "connect_concurrency": self.o.connect_concurrency,
            "result_path": str(self.out / f"{name}.json"),
        }
        if len(urls) > 1:
            config["extra_urls"] = list(zip(urls, origins, strict=True))
        child = self.start_json_child(name, "loadtest.client", config, cpus=self.client_cpus, stdin=True)
        self.sampler.watch(name, child.pid)
        phase.client_name = name
        return child

    def start_json_child(
        self, name: str, module: str, config: dict[str, Any], *, cpus: list[int] | None, stdin: bool = False
    ) -> Child:
        config_path = self.out / f"{name}-config.json"
        config_path.write_text(json.dumps(config))
        child = self.processes.start(
            name,
            stack.python_module_argv(module, str(config_path)),
            env=bench_env(),
            cpus=cpus,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        LineReader(child, self.lines).start()
        return child

    def command(self, child: Child, line: str) -> None:
        assert child.popen.stdin is not None
        child.popen.stdin.write(f"{line}\n".encode())
        child.popen.stdin.flush()

    def wait_exit(self, child: Child, *, timeout: float) -> None:
        try:
            child.popen.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"{child.name} did not finish within {timeout:.0f}s; see {child.log_path}") from exc
        if child.popen.returncode != 0:
            raise BenchError(f"{child.name} failed ({child.popen.returncode}); see {child.log_path}")

    def finish_client(self, client: Child, truth: dict[str, Any]) -> dict[str, Any]:
        truth_path = self.out / f"{client.name}-truth.json"
        truth_path.write_text(json.dumps(truth))
        self.command(client, f"finish {truth_path}")
        self.wait_exit(client, timeout=300)
        self.sampler.forget(client.name)
        self.processes.stop(client)
        return json.loads((self.out / f"{client.name}.json").read_text())

    def wait_connected(self, phase: PhaseResult, client: Child) -> dict[str, Any]:
        deadline = time.time() + 600
        while time.time() < deadline:
            if client.popen.poll() is not None:
                raise BenchError(f"{client.name} exited early ({client.popen.returncode}); see {client.log_path}")
            for source, line in self.drain(timeout=0.5):
                if source == client.name and line["kind"] == "connected":
                    if line["sockets"] < self.o.sockets * 0.9:
                        raise BenchError(
                            f"only {line['sockets']} of {self.o.sockets} sockets connected; see {client.log_path}"
                        )
                    return line
                if source == client.name and line["kind"] == "tick":
                    phase.ticks.append(line)
                    status(f"{phase.name}: connecting {line['open']}/{self.o.sockets}")
        raise BenchError(f"{client.name} did not connect its sockets in time")

    def watch_until(self, phase: PhaseResult, until: float, writers: Child | None, *, label: str) -> None:
        began = time.time()
        writer_done = 0
        while time.time() < until or (writers is not None and writers.popen.poll() is None):
            for source, line in self.drain(timeout=0.5):
                if line["kind"] == "tick" and source.startswith("client"):
                    phase.ticks.append(line)
                    cpu = self.recent_cpu(phase)
                    status(
                        f"{label} {time.time() - began:5.1f}s | sockets {line['open']:>6} | "
                        f"frames/s {line['frames']:>7} | events/s {line['events']:>8} | "
                        f"max delay {line['latency_max'] * 1000:7.1f} ms | writes/s {writer_done:>5} | "
                        f"server CPU {cpu:5.1f}%"
                    )
                elif line["kind"] == "tick" and source == "writers":
                    writer_done = line["done"]
                elif line["kind"] == "warning":
                    status_line_end()
                    print(f"  {source}: {line['message']}", flush=True)
            if time.time() > until + 120:
                raise BenchError("the writers did not finish in time")

    def settle(self, phase: PhaseResult, client: Child) -> None:
        """Wait (bounded) until every socket's stream positions equal the server's, so that the
        comparison with the database that follows is not a comparison with a lagging socket."""
        self.command(client, f"settle {self.o.settle_timeout}")
        began = time.time()
        while time.time() < began + self.o.settle_timeout + 120:
            if client.popen.poll() is not None:
                raise BenchError(f"{client.name} exited early ({client.popen.returncode}); see {client.log_path}")
            for source, line in self.drain(timeout=0.5):
                if source == client.name and line["kind"] == "settled":
                    status_line_end()
                    behind = line["sockets_behind_positions"]
                    print(f"  sockets at the server's positions in {line['settle_seconds']:.1f}s; behind: {behind}")
                    return
                if source == client.name and line["kind"] == "tick":
                    status(f"{phase.name}: waiting for the sockets to reach the server's positions")
        raise BenchError(f"{client.name} did not report its sockets' positions in time; see {client.log_path}")

    def drain(self, *, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        found = []
        try:
            found.append(self.lines.get(timeout=timeout))
            while True:
                found.append(self.lines.get_nowait())
        except queue.Empty:
            pass
        return found

    def recent_cpu(self, phase: PhaseResult) -> float:
        samples = self.sampler.samples[-3:]
        if len(samples) < 2:
            return 0.0
        first, last = samples[0], samples[-1]
        used = sum(last[n]["cpu"] - first[n]["cpu"] for n in phase.server_names if n in first and n in last)
        return 100.0 * used / max(1e-9, last["t"] - first["t"])

    def server_rss(self, phase: PhaseResult) -> int:
        time.sleep(0.6)
        row = self.sampler.sample_now()
        return sum(row[n]["rss"] for n in phase.server_names if n in row)

    def database_truth(self, writes: dict[str, int], port: int) -> dict[str, Any]:
        import psycopg

        # PostgreSQL may be out of connection slots for a moment right after heavy writes.
        for attempt in range(20):
            try:
                with self.database.connect() as conn:
                    rows = conn.execute("SELECT id, like_count, likes_version, comment_count FROM feed_post").fetchall()
                break
            except psycopg.OperationalError as exc:
                if attempt == 19:
                    raise BenchError(f"could not read the final counts from the database: {exc}") from exc
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/leaderboard/", timeout=10) as answer:
            board = json.loads(answer.read())["entries"]
        return {"posts": {str(r[0]): [r[1], r[2], r[3]] for r in rows}, "leaderboard": board, "writes": writes}


def server_counters(ports: list[int]) -> dict[str, float]:
    """SERVER_COUNTERS summed over the workers (each worker's /metrics counts its own process)."""
    from loadtest.target import parse_metrics

    found = dict.fromkeys(SERVER_COUNTERS, 0.0)
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            read = parse_metrics(answer.read().decode())
        for name in SERVER_COUNTERS:
            found[name] += read.get(name, 0.0)
    return found


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(stack.REPO_DIR)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def forget_redis_keys(db: int, prefix: str) -> None:
    """Delete the keys an earlier run left under the bench's prefix (never the whole database)."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=db)
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)


def machine_facts() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": stack.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "open_files_limit": stack.open_files_limit(),
        "python": sys.version.split()[0],
    }


_status_shown = False


def status(text: str) -> None:
    """The live status line: rewritten in place on a terminal, one line a second otherwise."""
    global _status_shown
    if sys.stdout.isatty():
        columns = os.get_terminal_size().columns if sys.stdout.isatty() else 160
        sys.stdout.write("\r" + text[: columns - 1].ljust(columns - 1))
        sys.stdout.flush()
        _status_shown = True
    else:
        print(text, flush=True)


def status_line_end() -> None:
    global _status_shown
    if _status_shown:
        sys.stdout.write("\n")
        sys.stdout.flush()
        _status_shown = False
