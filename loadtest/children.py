"""The bench's child processes: starting them with a JSON config, their status lines, commands.

Each helper program (the load client, the writers, the endpoint driver) takes a JSON config
file and prints one JSON status line at a time on stdout; `Children` starts them, gathers
every line into one queue, sends the client its commands on stdin, and waits for exits.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from loadtest import stack
from loadtest.stack import BenchError, Child, Processes

# A status line: the child's name and the line's JSON object.
StatusLine = tuple[str, dict[str, Any]]


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


class Children:
    """The children of a run and the status lines they print."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.processes = Processes(out / "logs")
        self.lines: queue.Queue[StatusLine] = queue.Queue()

    def start_json(
        self, name: str, module: str, config: dict[str, Any], *, cpus: list[int] | None, stdin: bool = False
    ) -> Child:
        """`python -m module CONFIG.json`, its stdout read as status lines."""
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

    def drain(self, *, timeout: float) -> list[StatusLine]:
        """The lines printed since the last call; waits up to `timeout` for the first."""
        found = []
        try:
            found.append(self.lines.get(timeout=timeout))
            while True:
                found.append(self.lines.get_nowait())
        except queue.Empty:
            pass
        return found


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(stack.REPO_DIR)
    env["PYTHONUNBUFFERED"] = "1"
    return env


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
