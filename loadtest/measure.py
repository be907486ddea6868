"""What a bench phase measures: the servers' CPU and memory over time, and the window math.

The Sampler reads every watched process tree and the host's cores twice a second (psutil); a
PhaseResult holds what one phase (KarmaFeed, or a bare reference) collected, and answers the
questions the report asks of a time window: CPU seconds, frames and events delivered, each
process's share, each core's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

# The sample's entry for the host's own CPU times, each core's; no watched process has this name.
HOST_CORES = "host cores"
# Linux counts each core's time in these states (psutil.cpu_times). Busy is all but these:
# idle, and steal (the hypervisor ran something else while this core had work; on a shared
# host that is part of a slow day). softirq is mostly the kernel's network work, and over
# loopback a socket write does the receiving side's share of it too: no process is charged
# for it. guest time is counted in user already.
NOT_BUSY = ("idle", "iowait", "steal")
COUNTED_TWICE = ("guest", "guest_nice")


class Sampler(threading.Thread):
    """CPU time and RSS of the watched processes, and each core's CPU times, twice a second."""

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
        row: dict[str, Any] = {"t": time.time(), HOST_CORES: [c._asdict() for c in psutil.cpu_times(percpu=True)]}
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


@dataclass
class PhaseResult:
    """What one phase (KarmaFeed, or a bare reference) measured."""

    name: str
    client: dict[str, Any] = field(default_factory=dict)
    writers: dict[str, Any] = field(default_factory=dict)
    ticks: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    server_names: list[str] = field(default_factory=list)
    # The servers that take the REST writes: the like workers and the REST servers (the
    # socket servers too when they take them).
    write_server_names: list[str] = field(default_factory=list)
    # The like workers alone (none when the REST servers take the likes).
    like_server_names: list[str] = field(default_factory=list)
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

    def host_cores(self) -> list[dict[str, float]]:
        """Each core over the window: the shares of its time busy, in softirq and stolen (percent)."""
        start, end = self.window
        inside = [s for s in self.samples if start <= s["t"] <= end and HOST_CORES in s]
        if len(inside) < 2:
            return []
        shares = []
        for before, after in zip(inside[0][HOST_CORES], inside[-1][HOST_CORES], strict=True):
            spent = {state: after[state] - before[state] for state in after if state not in COUNTED_TWICE}
            total = sum(spent.values())
            if total <= 0:
                continue
            busy = total - sum(spent.get(state, 0.0) for state in NOT_BUSY)
            shares.append(
                {
                    "busy": 100 * busy / total,
                    "softirq": 100 * spent.get("softirq", 0.0) / total,
                    "steal": 100 * spent.get("steal", 0.0) / total,
                }
            )
        return shares

    def sampled_seconds(self) -> float:
        start, end = self.window
        inside = [s["t"] for s in self.samples if start <= s["t"] <= end]
        return inside[-1] - inside[0] if len(inside) >= 2 else 0.0

    def frames_in_window(self) -> tuple[int, int, float]:
        start, end = self.window
        inside = [t for t in self.ticks if start < t["t"] <= end + 1.0]
        seconds = max(1e-9, (inside[-1]["t"] - inside[0]["t"] + 1.0) if inside else 1e-9)
        return sum(t["frames"] for t in inside), sum(t["events"] for t in inside), seconds
