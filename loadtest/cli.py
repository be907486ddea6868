"""Command line of the bench.

python -m loadtest --scenario hot --sockets 10000 --duration 60
python -m loadtest --scenario likes --like-rate 1000 --workers 2 --sockets 1000
python -m loadtest leaderboard --likes 1000000
python -m loadtest --target http://127.0.0.1:8080 --sessions sessions.json   (a running deployment)
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from loadtest import stack
from loadtest.scenarios import SCENARIOS, Scenario
from loadtest.stack import BenchError

REPORTS_DIR = stack.REPO_DIR / "loadtest" / "reports"
# One process holds every socket of a run: stay under the open-files limit with room to spare.
SOCKET_HEADROOM = 500


def fanout_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest",
        description="Open K websockets through KarmaFeed, drive writes, and compare with a bare websockets server.",
        epilog="Other command: `python -m loadtest leaderboard --help` (the leaderboard recompute bench).",
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="hot")
    parser.add_argument("--sockets", type=int, default=1000, help="websockets to hold (1,000 to 19,000)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of writes")
    parser.add_argument("--writers", type=int, default=200, help="logged-in writer users (sessions)")
    parser.add_argument("--like-rate", type=float, help="likes+unlikes per second (scenario default)")
    parser.add_argument("--comment-rate", type=float, help="comments per second (scenario default)")
    parser.add_argument("--workers", type=int, help="uvicorn workers holding sockets (separate ports)")
    parser.add_argument("--write-workers", type=int, help="workers taking the REST requests (0: the socket workers)")
    parser.add_argument(
        "--like-workers",
        type=int,
        default=1,
        help="uvicorn processes taking the likes, as nginx sends them in production (0: the REST workers take them)",
    )
    parser.add_argument(
        "--http-server",
        choices=["gunicorn", "uvicorn"],
        default="gunicorn",
        help="what serves the REST requests: gunicorn's threaded WSGI workers (production) or uvicorn processes",
    )
    parser.add_argument("--endpoints", action="store_true", help="after the writes, each REST endpoint alone")
    parser.add_argument("--endpoint-rate", type=float, default=100.0, help="requests/s asked of each endpoint")
    parser.add_argument("--endpoint-duration", type=float, default=5.0, help="seconds of each endpoint")
    parser.add_argument("--socket-auth", choices=["anonymous", "session"], default="anonymous")
    parser.add_argument("--connect-concurrency", type=int, default=256, help="handshakes in flight at once")
    parser.add_argument("--no-bare", dest="bare", action="store_false", help="skip the bare reference phases")
    parser.add_argument("--bare-duration", type=float, default=10.0, help="seconds of each bare phase")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin server and client to CPUs")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the uvicorn workers, e.g. REALTIME_FLUSH_INTERVAL=0.05 (repeatable)",
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=60.0,
        help="at the end, seconds to wait at most for every socket to reach the server's stream positions",
    )
    parser.add_argument("--database", default="karmafeed_bench", help="PostgreSQL database, recreated each run")
    parser.add_argument("--out", type=Path, help="report directory (default loadtest/reports/<timestamp>)")
    return parser


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    argv = sys.argv[1:]
    try:
        if argv[:1] == ["leaderboard"]:
            from loadtest import leaderboard_bench

            leaderboard_bench.main(argv[1:])
        elif any(arg == "--target" or arg.startswith("--target=") for arg in argv):
            from loadtest import target

            target.main(argv)
        else:
            run_fanout(argv)
    except BenchError as exc:
        print(f"\nbench: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\nbench: interrupted; every process it started is stopped.", file=sys.stderr)
        sys.exit(130)


def run_fanout(argv: list[str]) -> None:
    args = fanout_parser().parse_args(argv)
    stack.require_tools()
    scenario: Scenario = SCENARIOS[args.scenario]
    limit = stack.open_files_limit()
    if not 1 <= args.sockets <= limit - SOCKET_HEADROOM:
        raise BenchError(f"--sockets must be between 1 and {limit - SOCKET_HEADROOM} (open files limit {limit})")
    if args.like_workers < 0:
        raise BenchError("--like-workers must be 0 or more")
    out = (args.out or REPORTS_DIR / time.strftime("%Y%m%d-%H%M%S")).resolve()
    out.mkdir(parents=True, exist_ok=True)

    from loadtest.report import write_report
    from loadtest.runner import Bench, Options

    options = Options(
        scenario=scenario,
        sockets=args.sockets,
        duration=args.duration,
        writers=args.writers,
        like_rate=scenario.like_rate if args.like_rate is None else args.like_rate,
        comment_rate=scenario.comment_rate if args.comment_rate is None else args.comment_rate,
        workers=scenario.workers if args.workers is None else args.workers,
        write_workers=scenario.write_workers if args.write_workers is None else args.write_workers,
        http_server=args.http_server,
        like_workers=args.like_workers,
        endpoints=args.endpoints or scenario.endpoints,
        endpoint_rate=args.endpoint_rate,
        endpoint_duration=args.endpoint_duration,
        socket_auth=args.socket_auth,
        out_dir=out,
        pin=args.pin,
        bare=args.bare,
        bare_duration=args.bare_duration,
        database=args.database,
        connect_concurrency=args.connect_concurrency,
        server_env=dict(pair.split("=", 1) for pair in args.server_env),
        settle_timeout=args.settle_timeout,
    )
    command = "python -m loadtest " + shlex.join(argv)
    print(f"bench: {command} -> {out}", flush=True)
    result = Bench(options).run()
    described = {
        **scenario.describe(),
        "scenario": scenario.name,
        "sockets": options.sockets,
        "duration": options.duration,
        "like_rate": options.like_rate,
        "comment_rate": options.comment_rate,
        "workers": options.workers,
        "write_workers": options.write_workers,
        "http_server": options.http_server,
        "like_workers": options.like_workers,
        "socket_auth": options.socket_auth,
        "server_env": options.server_env,
    }
    report = write_report(out, result, command, described)
    print(report.read_text().split("\n\nLatency is")[0])
    print(f"\nreport: {report}")
