"""One uvicorn worker of the local stack, replaced when it dies (deploy/Procfile).

    worker.py --name web.1 --pid-file PATH -- uvicorn config.asgi:application ...

honcho stops the whole stack as soon as one of its processes exits. A worker that crashes or
is killed should instead be replaced while the others go on serving, as a container's
restart policy does; this supervisor does that. It also does for Prometheus what the master
of a multi-process server does: when a worker exits, its live gauges (open sockets) are
marked dead, so /metrics stops counting sockets that went with it. Its counters stay: the
totals of a dead worker still count.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import orjson
from prometheus_client import multiprocess

RESTART_DELAY_SECONDS = 1.0
# A worker that dies this soon after it started, this many times in a row, cannot start (a
# port in use, a bad setting): give up, which stops the stack with the worker's error shown.
EARLY_EXIT_SECONDS = 5.0
EARLY_EXITS_TOLERATED = 3


def log(message: str, **fields: object) -> None:
    """A JSON line on stdout, like the workers' own logs."""
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": "info",
        "logger": "stack.supervisor",
        "message": message,
        "pid": os.getpid(),
        **fields,
    }
    print(orjson.dumps(entry).decode(), flush=True)


def describe(returncode: int) -> str:
    if returncode < 0:
        return f"signal {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"


def supervise(name: str, pid_file: Path, command: list[str]) -> int:
    stopping = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    env = {**os.environ, "KARMAFEED_WORKER_ID": name}
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    early_exits = 0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command, env=env)  # noqa: S603 - the Procfile's own command
        if stopping.is_set():  # a stop that came while the worker was being started
            child.send_signal(signal.SIGTERM)
        pid_file.write_text(f"{child.pid}\n")
        returncode = child.wait()
        pid_file.unlink(missing_ok=True)
        if metrics_dir:
            multiprocess.mark_process_dead(child.pid, metrics_dir)
        if stopping.is_set():
            return 0 if returncode in (0, -signal.SIGTERM) else returncode
        early_exits = early_exits + 1 if time.monotonic() - started < EARLY_EXIT_SECONDS else 0
        if early_exits >= EARLY_EXITS_TOLERATED:
            log("worker keeps dying at start; giving up", worker=name, exit=describe(returncode))
            return returncode if returncode > 0 else 1
        log("worker died; restarting", worker=name, worker_pid=child.pid, exit=describe(returncode))
        if stopping.wait(RESTART_DELAY_SECONDS):
            return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="the worker id, shown in X-Served-By")
    parser.add_argument("--pid-file", required=True, type=Path, help="where the running worker's pid is kept")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- and the uvicorn command line")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no worker command after --")
    return supervise(args.name, args.pid_file, command)


if __name__ == "__main__":
    sys.exit(main())
