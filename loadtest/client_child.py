"""The load client of a phase, driven from the bench: its commands, its status lines, its end.

The client (loadtest/client.py) runs in a process of its own; the bench sends it commands on
stdin (`churn N`, `stop-churn`, `settle SECONDS`, `finish TRUTH.json`) and reads its JSON
status lines: the connect progress, one tick a second, warnings, the `settled` answer. The
ticks go into the phase's measurements and the live status line.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from loadtest.children import Children, status, status_line_end
from loadtest.measure import PhaseResult, Sampler
from loadtest.stack import BenchError, Child

# How long the sockets may take to connect, and the writers to finish after their duration.
CONNECT_TIMEOUT = 600.0
WRITERS_GRACE = 120.0


class ClientChild:
    def __init__(self, child: Child, *, phase: PhaseResult, children: Children, sampler: Sampler) -> None:
        self.child = child
        self.phase = phase
        self.children = children
        self.sampler = sampler

    def command(self, line: str) -> None:
        self.children.command(self.child, line)

    def wait_connected(self, sockets: int) -> dict[str, Any]:
        """The client's `connected` line, once every socket is open (at least 90 % of them)."""
        client = self.child
        deadline = time.time() + CONNECT_TIMEOUT
        while time.time() < deadline:
            self._raise_if_gone()
            for source, line in self.children.drain(timeout=0.5):
                if source == client.name and line["kind"] == "connected":
                    if line["sockets"] < sockets * 0.9:
                        raise BenchError(
                            f"only {line['sockets']} of {sockets} sockets connected; see {client.log_path}"
                        )
                    return line
                if source == client.name and line["kind"] == "tick":
                    self.phase.ticks.append(line)
                    status(f"{self.phase.name}: connecting {line['open']}/{sockets}")
        raise BenchError(f"{client.name} did not connect its sockets in time")

    def watch_until(self, until: float, writers: Child | None, *, label: str) -> None:
        """Collect the ticks until `until`, and as long as the writers run."""
        began = time.time()
        writer_done = 0
        while time.time() < until or (writers is not None and writers.popen.poll() is None):
            for source, line in self.children.drain(timeout=0.5):
                if line["kind"] == "tick" and source.startswith("client"):
                    self.phase.ticks.append(line)
                    status(
                        f"{label} {time.time() - began:5.1f}s | sockets {line['open']:>6} | "
                        f"frames/s {line['frames']:>7} | events/s {line['events']:>8} | "
                        f"max delay {line['latency_max'] * 1000:7.1f} ms | writes/s {writer_done:>5} | "
                        f"server CPU {self.recent_cpu():5.1f}%"
                    )
                elif line["kind"] == "tick" and source == "writers":
                    writer_done = line["done"]
                elif line["kind"] == "warning":
                    status_line_end()
                    print(f"  {source}: {line['message']}", flush=True)
            if time.time() > until + WRITERS_GRACE:
                raise BenchError("the writers did not finish in time")

    def settle(self, timeout: float) -> dict[str, Any]:
        """Wait (bounded) until every socket's stream positions equal the server's, so that the
        comparison with the database that follows is not a comparison with a lagging socket."""
        self.command(f"settle {timeout}")
        began = time.time()
        while time.time() < began + timeout + WRITERS_GRACE:
            self._raise_if_gone()
            for source, line in self.children.drain(timeout=0.5):
                if source == self.child.name and line["kind"] == "settled":
                    status_line_end()
                    behind = line["sockets_behind_positions"]
                    print(f"  sockets at the server's positions in {line['settle_seconds']:.1f}s; behind: {behind}")
                    return line
                if source == self.child.name and line["kind"] == "tick":
                    status(f"{self.phase.name}: waiting for the sockets to reach the server's positions")
        raise BenchError(f"{self.child.name} did not report its sockets' positions in time; see {self.child.log_path}")

    def finish(self, truth: dict[str, Any], out: Path) -> dict[str, Any]:
        """Have the client compare every socket with `truth`; its result file, once it exited."""
        client = self.child
        truth_path = out / f"{client.name}-truth.json"
        truth_path.write_text(json.dumps(truth))
        self.command(f"finish {truth_path}")
        self.children.wait_exit(client, timeout=300)
        self.sampler.forget(client.name)
        self.children.processes.stop(client)
        return dict(json.loads((out / f"{client.name}.json").read_text()))

    def recent_cpu(self) -> float:
        """The phase's servers' CPU over the last second or so, in % of a core."""
        samples = self.sampler.samples[-3:]
        if len(samples) < 2:
            return 0.0
        first, last = samples[0], samples[-1]
        names = self.phase.server_names
        used = sum(last[n]["cpu"] - first[n]["cpu"] for n in names if n in first and n in last)
        return 100.0 * used / max(1e-9, last["t"] - first["t"])

    def _raise_if_gone(self) -> None:
        client = self.child
        if client.popen.poll() is not None:
            raise BenchError(f"{client.name} exited early ({client.popen.returncode}); see {client.log_path}")
