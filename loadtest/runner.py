"""One bench run, in phases: set up, then the KarmaFeed phase (start the servers, connect the
sockets, the load, convergence, tear down), the like ceiling, the bare reference phases.

Each phase is a method with its inputs as arguments and its output as the return value (or
the PhaseResult it fills); what a phase builds from them (a child's config, the pace of the
bare reference, the database truth) is a plain function, tested alone in loadtest/tests.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from loadtest import stack
from loadtest.children import Children, bench_env, status, status_line_end
from loadtest.client_child import ClientChild
from loadtest.measure import PhaseResult, Sampler
from loadtest.scenarios import PAGE_SIZE, Scenario
from loadtest.stack import BenchError, Child, Database

# Time after the last write for the last flush, and the leaderboard push (<= 1 s), to land.
SETTLE_SECONDS = 3.0
# The like ceiling: PostgreSQL connections replaying the like statement, and for how long.
CEILING_THREADS = 16
CEILING_SECONDS = 5.0
# The server counters read from each socket worker's /metrics at the end of the run.
SERVER_COUNTERS = ("karmafeed_resume_messages_total", "karmafeed_resume_queries_total")
# Histograms whose p50 and p99 (bucket bounds) the report gives, as "<name> p50" and "<name> p99".
SERVER_HISTOGRAMS = ("karmafeed_delivery_age_seconds", "karmafeed_delivery_round_seconds")


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
    like_workers: int
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


@dataclass
class RunFacts:
    """What set-up leaves for the phases: the servers' environment, sessions and posts."""

    env: dict[str, str]
    sessions: dict[str, Any]
    newest: list[int]  # post ids, newest first
    by_author: dict[int, list[int]]
    machine: dict[str, Any]
    pinned: dict[str, list[int] | None]


@dataclass
class Servers:
    """The KarmaFeed processes of a run; with no write workers the socket workers take the REST
    writes, and with no like workers the REST servers take the likes too."""

    socket_ports: list[int]
    socket_children: list[Child]
    write_ports: list[int] = field(default_factory=list)
    write_children: list[Child] = field(default_factory=list)
    like_ports: list[int] = field(default_factory=list)
    like_children: list[Child] = field(default_factory=list)

    @property
    def rest_ports(self) -> list[int]:
        return self.write_ports or self.socket_ports

    @property
    def rest_children(self) -> list[Child]:
        return self.write_children or self.socket_children

    @property
    def like_targets(self) -> list[int]:
        return self.like_ports or self.rest_ports

    def writing_children(self) -> list[Child]:
        """Every process that serves writes: the like workers, then the REST servers."""
        return self.like_children + self.rest_children

    def all(self) -> list[Child]:
        return self.socket_children + [c for c in self.writing_children() if c not in self.socket_children]


class Bench:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.out = options.out_dir
        self.children = Children(self.out)
        self.sampler = Sampler()
        self.database = Database(options.database)
        cores = stack.cpu_count()
        self.server_cpus = [0] if options.pin and cores >= 2 else None
        self.client_cpus = [1] if options.pin and cores >= 2 else None
        self.redis_db = 9

    def run(self) -> dict[str, Any]:
        (self.out / "logs").mkdir(parents=True, exist_ok=True)
        self.sampler.start()
        try:
            facts = self.set_up()
            phases = [self.karmafeed_phase(facts)]
            if self.o.bare:
                ticks, per_frame = bare_pace(phases[0], self.o.sockets)
                phases.append(self.bare_phase("bare-paced", ticks_per_second=ticks, events_per_frame=per_frame))
                phases.append(self.bare_phase("bare-flood", ticks_per_second=0, events_per_frame=1))
        finally:
            self.sampler.halt.set()
            self.children.processes.stop_all()
            status_line_end()
        return {"facts": {"machine": facts.machine, "pinned": facts.pinned}, "phases": phases}

    # -- set-up: the database, its posts and the writers' sessions ---------------------------

    def set_up(self) -> RunFacts:
        o = self.o
        status(f"database {self.database.name}: recreate, migrate, seed")
        self.database.recreate()
        forget_redis_keys(self.redis_db, stack.redis_prefix(self.database))
        env = stack.server_env(self.database, redis_db=self.redis_db, extra=o.server_env)
        stack.manage(["migrate", "--noinput", "-v0"], env, what="migrate")
        stack.manage(seed_args(o.scenario), env, what="seed")
        sessions_path = self.out / "sessions.json"
        status(f"{o.writers} sessions (manage.py create_sessions)")
        stack.manage(["create_sessions", "--count", str(o.writers), "--out", str(sessions_path)], env, what="sessions")
        with self.database.connect() as conn:
            newest = [r[0] for r in conn.execute("SELECT id FROM feed_post ORDER BY created_at DESC, id DESC")]
            by_author = posts_by_author(conn.execute("SELECT id, author_id FROM feed_post"))
        return RunFacts(
            env=env,
            sessions=json.loads(sessions_path.read_text()),
            newest=newest,
            by_author=by_author,
            machine=machine_facts(),
            pinned={"server": self.server_cpus, "client": self.client_cpus},
        )

    # -- the KarmaFeed phase -------------------------------------------------------------------

    def karmafeed_phase(self, facts: RunFacts) -> PhaseResult:
        o = self.o
        phase = PhaseResult("karmafeed")
        likes = f"{o.like_workers} uvicorn like worker(s)" if o.like_workers else "the REST servers"
        status(f"starting the servers (sockets: uvicorn; likes: {likes}; other writes: {o.http_server})")
        servers = self.start_servers(facts.env)
        for child in servers.all():
            self.sampler.watch(child.name, child.pid)
        phase.server_names = [child.name for child in servers.socket_children]
        phase.write_server_names = [child.name for child in servers.writing_children()]
        phase.like_server_names = [child.name for child in servers.like_children]
        client = self.connect(
            phase,
            "client-karmafeed",
            urls=[f"ws://127.0.0.1:{p}/ws/" for p in servers.socket_ports],
            origins=[f"http://127.0.0.1:{p}" for p in servers.socket_ports],
            follow_sets=o.scenario.follow_sets(facts.newest, random.Random(7)),
            cookies=socket_cookies(facts.sessions, o.socket_auth),
        )
        started = self.load(
            phase,
            client,
            writer_config(
                o,
                facts,
                like_ports=servers.like_targets,
                rest_ports=servers.rest_ports,
                result=self.out / "writers.json",
            ),
        )
        phase.window = (started, time.time())
        phase.client = self.converge(phase, client, servers)
        if o.endpoints:
            phase.endpoints = self.endpoints_phase(facts, servers)
        self.tear_down(phase, servers.all())
        phase.ceiling = self.like_ceiling(facts)
        return phase

    def start_servers(self, env: dict[str, str]) -> Servers:
        """Socket workers (uvicorn, one process and port each), the like workers and the write servers.

        As in production, likes go to --like-workers uvicorn processes (one port each), which
        answer them on their event loop and hold no sockets. The other writes go, with
        --http-server gunicorn, to one gunicorn master with --write-workers threaded WSGI
        workers, as in production; with uvicorn, to --write-workers more uvicorn processes.
        With no write workers the socket workers take those writes; with no like workers the
        likes go wherever the other writes go.
        """
        o = self.o
        processes = self.children.processes
        servers = Servers(socket_ports=[], socket_children=[])
        for _ in range(o.workers):
            port = stack.free_port()
            cpus = self.server_cpus if o.workers == 1 else None
            servers.socket_children.append(
                processes.start(f"uvicorn-{port}", stack.uvicorn_argv(port), env=env, cpus=cpus, cwd=stack.BACKEND_DIR)
            )
            servers.socket_ports.append(port)
        if o.write_workers and o.http_server == "gunicorn":
            port = stack.free_port()
            argv = stack.gunicorn_http_argv(port, workers=o.write_workers)
            servers.write_children.append(processes.start(f"gunicorn-{port}", argv, env=env, cwd=stack.BACKEND_DIR))
            servers.write_ports.append(port)
        else:
            for _ in range(o.write_workers):
                port = stack.free_port()
                argv = stack.uvicorn_argv(port)
                servers.write_children.append(processes.start(f"uvicorn-{port}", argv, env=env, cwd=stack.BACKEND_DIR))
                servers.write_ports.append(port)
        for _ in range(o.like_workers):
            port = stack.free_port()
            argv = stack.uvicorn_argv(port)
            servers.like_children.append(processes.start(f"likes-{port}", argv, env=env, cwd=stack.BACKEND_DIR))
            servers.like_ports.append(port)
        children = servers.socket_children + servers.write_children + servers.like_children
        ports = servers.socket_ports + servers.write_ports + servers.like_ports
        for child, port in zip(children, ports, strict=True):
            stack.wait_http(f"http://127.0.0.1:{port}/api/health/", child)
        return servers

    def connect(
        self,
        phase: PhaseResult,
        name: str,
        *,
        urls: list[str],
        origins: list[str],
        follow_sets: list[list[int]],
        cookies: list[str],
    ) -> ClientChild:
        """Open --sockets sockets through a load client; the servers' memory before and after."""
        phase.rss_before = self.server_rss(phase)
        config = client_config(
            self.o,
            urls=urls,
            origins=origins,
            follow_sets=follow_sets,
            cookies=cookies,
            result=self.out / f"{name}.json",
        )
        child = self.children.start_json(name, "loadtest.client", config, cpus=self.client_cpus, stdin=True)
        self.sampler.watch(name, child.pid)
        phase.client_name = name
        client = ClientChild(child, phase=phase, children=self.children, sampler=self.sampler)
        connected = client.wait_connected(self.o.sockets)
        phase.rss_connected = self.server_rss(phase)
        status_line_end()
        label = "" if phase.name == "karmafeed" else f"{phase.name}: "
        print(f"  {label}{connected['sockets']} sockets connected in {connected['seconds']:.1f}s", flush=True)
        return client

    def load(self, phase: PhaseResult, client: ClientChild, writers_config: dict[str, Any] | None) -> float:
        """The writes (and the scenario's churn) for --duration seconds, then SETTLE_SECONDS more;
        when the load began."""
        o = self.o
        writers = None
        if writers_config is not None:
            writers = self.children.start_json("writers", "loadtest.writers", writers_config, cpus=None)
        started = time.time()
        churn = churn_per_second(o.sockets, o.scenario.churn_share)
        if churn:
            client.command(f"churn {churn}")
        client.watch_until(started + o.duration, writers, label="karmafeed")
        if churn:
            client.command("stop-churn")
        if writers is not None and writers_config is not None:
            self.children.wait_exit(writers, timeout=60)
            phase.writers = json.loads(Path(writers_config["result_path"]).read_text())
        client.watch_until(time.time() + SETTLE_SECONDS, None, label="settling")
        return started

    def converge(self, phase: PhaseResult, client: ClientChild, servers: Servers) -> dict[str, Any]:
        """Wait for the sockets to reach the server's stream positions, read the server's
        counters and the database, and have the client compare every socket with it."""
        client.settle(self.o.settle_timeout)
        phase.server_counters = server_counters(servers.socket_ports)
        truth = self.database_truth(phase.writers.get("writes", {}), servers.socket_ports[0])
        return client.finish(truth, self.out)

    def tear_down(self, phase: PhaseResult, servers: list[Child]) -> None:
        phase.samples = list(self.sampler.samples)
        for child in servers:
            self.sampler.forget(child.name)
            self.children.processes.stop(child)

    def endpoints_phase(self, facts: RunFacts, servers: Servers) -> list[dict[str, Any]]:
        """Each REST endpoint alone at --endpoint-rate for --endpoint-duration seconds, sent to
        the pool nginx sends it to; each result names the servers of that pool."""
        o = self.o
        sessions = facts.sessions
        pools = endpoint_pools(servers)
        config = {
            "targets": {name: pool["target"] for name, pool in pools.items()},
            "sessions": sessions["sessions"],
            "cookie_names": sessions["cookie_names"],
            "rate": o.endpoint_rate,
            "duration": o.endpoint_duration,
            "thread_post_id": facts.newest[-1],
            "thread_comments": 1000,
            "profile_username": sessions["sessions"][0]["username"],
            "result_path": str(self.out / "endpoints.json"),
        }
        status("endpoints: creates, then reads, one at a time")
        child = self.children.start_json("endpoints", "loadtest.endpoints", config, cpus=None)
        while child.popen.poll() is None:
            for source, line in self.children.drain(timeout=0.5):
                if line["kind"] == "warning":
                    print(f"  {source}: {line['message']}", flush=True)
        self.children.wait_exit(child, timeout=600)
        results = list(json.loads((self.out / "endpoints.json").read_text()))
        for result in results:
            result["servers"] = pools[result["pool"]]["servers"]
        return results

    def like_ceiling(self, facts: RunFacts) -> dict[str, Any]:
        """The like statement replayed from plain psycopg connections, servers stopped."""
        status("like ceiling: the like statement without the web stack")
        config = {
            "database_url": self.database.url,
            "user_ids": [s["user_id"] for s in facts.sessions["sessions"]],
            "post_ids": self.o.scenario.writer_targets(facts.newest),
            "threads": CEILING_THREADS,
            "duration": CEILING_SECONDS,
            "result_path": str(self.out / "ceiling.json"),
        }
        config_path = self.out / "ceiling-config.json"
        config_path.write_text(json.dumps(config))
        env = {**facts.env, "PYTHONPATH": str(stack.REPO_DIR)}
        child = self.children.processes.start(
            "ceiling", stack.python_module_argv("loadtest.ceiling", str(config_path)), env=env, cwd=stack.BACKEND_DIR
        )
        self.children.wait_exit(child, timeout=CEILING_SECONDS + 60)
        return dict(json.loads((self.out / "ceiling.json").read_text()))

    # -- the bare reference ------------------------------------------------------------------

    def bare_phase(self, name: str, *, ticks_per_second: float, events_per_frame: int) -> PhaseResult:
        phase = PhaseResult(name)
        port = stack.free_port()
        state_path = self.out / f"{name}-state.json"
        server = self.children.processes.start(
            f"bare-{port}",
            bare_server_argv(port, ticks_per_second, events_per_frame, state_path),
            env=bench_env(),
            cpus=self.server_cpus,
        )
        stack.wait_port(port, server)
        self.sampler.watch(server.name, server.pid)
        phase.server_names.append(server.name)
        pace = "as fast as it can" if ticks_per_second == 0 else f"{ticks_per_second:.1f} frames/s per socket"
        phase.notes.append(f"bare websockets broadcast, {events_per_frame} event(s) a frame, {pace}")
        client = self.connect(
            phase,
            f"client-{name}",
            urls=[f"ws://127.0.0.1:{port}/"],
            origins=[f"http://127.0.0.1:{port}"],
            follow_sets=[list(range(1, PAGE_SIZE + 1))],
            cookies=[],
        )
        started = time.time()
        os.kill(server.pid, signal.SIGUSR1)
        client.watch_until(started + self.o.bare_duration, None, label=name)
        os.kill(server.pid, signal.SIGUSR2)
        client.watch_until(time.time() + 1.0, None, label=f"{name} settling")
        phase.window = (started, time.time())
        truth = json.loads(state_path.read_text()) if state_path.exists() else {}
        phase.client = client.finish({"posts": truth.get("posts"), "writes": {}}, self.out)
        self.tear_down(phase, [server])
        return phase

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
        return truth_of(rows, board, writes)


# -- what the phases build from their inputs ---------------------------------------------------


def seed_args(scenario: Scenario) -> list[str]:
    return ["seed", "--users", "24", "--posts", str(scenario.posts), "--comments", "60", "--likes", "400"]


def posts_by_author(rows: Any) -> dict[int, list[int]]:
    """(post id, author id) rows to each author's post ids."""
    by_author: dict[int, list[int]] = {}
    for post_id, author_id in rows:
        by_author.setdefault(author_id, []).append(post_id)
    return by_author


def socket_cookies(sessions: dict[str, Any], socket_auth: str) -> list[str]:
    """The Cookie header of each session for --socket-auth session; none for anonymous sockets."""
    if socket_auth != "session":
        return []
    name = sessions["cookie_names"]["session"]
    return [f"{name}={s['sessionid']}" for s in sessions["sessions"]]


def client_config(
    o: Options, *, urls: list[str], origins: list[str], follow_sets: list[list[int]], cookies: list[str], result: Path
) -> dict[str, Any]:
    """The load client's config: sockets go round-robin to the urls (one per socket worker)."""
    config: dict[str, Any] = {
        "url": urls[0],
        "origin": origins[0],
        "sockets": o.sockets,
        "follow_sets": follow_sets,
        "cookies": cookies,
        "connect_concurrency": o.connect_concurrency,
        "result_path": str(result),
    }
    if len(urls) > 1:
        config["extra_urls"] = list(zip(urls, origins, strict=True))
    return config


def endpoint_pools(servers: Servers) -> dict[str, dict[str, Any]]:
    """Where nginx sends the REST endpoints, as the bench runs them: `api` (the REST servers)
    and `likes` (the like workers, whose loop answers the feed page; the REST servers when there
    are none). Each pool's first port is its target; its servers are the processes whose CPU an
    endpoint sent there costs (the pool's others stay idle meanwhile)."""
    api = {"target": f"http://127.0.0.1:{servers.rest_ports[0]}", "servers": [c.name for c in servers.rest_children]}
    if not servers.like_ports:
        return {"api": api, "likes": api}
    likes = {"target": f"http://127.0.0.1:{servers.like_ports[0]}", "servers": [c.name for c in servers.like_children]}
    return {"api": api, "likes": likes}


def writer_config(
    o: Options, facts: RunFacts, *, like_ports: list[int], rest_ports: list[int], result: Path
) -> dict[str, Any] | None:
    """The writers' config: likes to `like_ports`, comments to `rest_ports`; None when the
    scenario writes nothing."""
    if o.like_rate <= 0 and o.comment_rate <= 0:
        return None
    return {
        "like_targets": [f"http://127.0.0.1:{p}" for p in like_ports],
        "comment_targets": [f"http://127.0.0.1:{p}" for p in rest_ports],
        "sessions": facts.sessions["sessions"],
        "cookie_names": facts.sessions["cookie_names"],
        "duration": o.duration,
        "like_rate": o.like_rate,
        "comment_rate": o.comment_rate,
        "post_ids": o.scenario.writer_targets(facts.newest),
        "author_groups": o.scenario.author_groups(facts.by_author),
        "result_path": str(result),
    }


def churn_per_second(sockets: int, share: float) -> int:
    """Sockets dropped (and resumed) each second; 0 for a scenario without churn."""
    return max(1, int(sockets * share)) if share > 0 else 0


def bare_pace(karmafeed: PhaseResult, sockets: int) -> tuple[float, int]:
    """The bare reference's frames per second per socket and events per frame: KarmaFeed's own."""
    frames, events, seconds = karmafeed.frames_in_window()
    held = max(1, karmafeed.client.get("sockets_open", sockets))
    ticks = frames / seconds / held if frames else 10.0
    per_frame = max(1, round(events / frames)) if frames else 1
    return ticks, per_frame


def bare_server_argv(port: int, ticks_per_second: float, events_per_frame: int, state_path: Path) -> list[str]:
    return stack.python_module_argv(
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
    )


def truth_of(rows: list[Any], board: list[dict[str, Any]], writes: dict[str, int]) -> dict[str, Any]:
    """What the client compares its sockets with: per post [like_count, likes_version, comment_count]."""
    return {"posts": {str(r[0]): [r[1], r[2], r[3]] for r in rows}, "leaderboard": board, "writes": writes}


def server_counters(ports: list[int]) -> dict[str, float]:
    """SERVER_COUNTERS summed over the workers (each worker's /metrics counts its own process),
    and SERVER_HISTOGRAMS' p50 and p99 over all of them."""
    texts = []
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            texts.append(answer.read().decode())
    return counters_of(texts)


def counters_of(texts: list[str]) -> dict[str, float]:
    from loadtest.target import bucket_counts, bucket_quantile, parse_metrics

    found = dict.fromkeys(SERVER_COUNTERS, 0.0)
    for text in texts:
        read = parse_metrics(text)
        for name in SERVER_COUNTERS:
            found[name] += read.get(name, 0.0)
    for name in SERVER_HISTOGRAMS:
        buckets: dict[float, float] = {}
        for text in texts:
            for bound, count in bucket_counts(text, name).items():
                buckets[bound] = buckets.get(bound, 0.0) + count
        for q in (0.5, 0.99):
            value = bucket_quantile(buckets, q)
            if value is not None:
                found[f"{name} p{round(100 * q)}"] = value
    return found


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
