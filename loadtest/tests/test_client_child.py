"""Driving a load client from the bench, against a stand-in client program that speaks the same
stdin commands and JSON status lines (no server needed)."""

import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.children import Children, LineReader
from loadtest.client_child import ClientChild
from loadtest.measure import PhaseResult, Sampler
from loadtest.stack import BenchError

STAND_IN = """
import json, sys
from pathlib import Path
say = lambda **line: print(json.dumps(line), flush=True)
say(kind="tick", t=1.0, open=5, frames=0, events=0, latency_max=0.0, latency_mean=0.0)
say(kind="connected", sockets=int(sys.argv[1]), seconds=1.5, failures=0)
for command in sys.stdin:
    name, _, argument = command.strip().partition(" ")
    if name == "settle":
        say(kind="settled", settle_seconds=0.2, sockets_behind_positions=0, behind_examples=[])
    elif name == "finish":
        truth = json.loads(Path(argument).read_text())
        Path(sys.argv[2]).write_text(json.dumps({"sockets_checked": int(sys.argv[1]), "truth": truth}))
        break
"""


def start_stand_in(tmp_path: Path, sockets: int) -> tuple[ClientChild, PhaseResult]:
    (tmp_path / "logs").mkdir(exist_ok=True)
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    children = Children(tmp_path)
    child = children.processes.start(
        "client-karmafeed",
        [sys.executable, str(script), str(sockets), str(tmp_path / "client-karmafeed.json")],
        env={},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    LineReader(child, children.lines).start()
    phase = PhaseResult("karmafeed")
    return ClientChild(child, phase=phase, children=children, sampler=Sampler()), phase


def test_connect_settle_and_finish_follow_the_clients_lines(tmp_path: Path) -> None:
    client, phase = start_stand_in(tmp_path, sockets=10)
    try:
        connected = client.wait_connected(10)
        assert (connected["sockets"], connected["seconds"]) == (10, 1.5)
        assert [t["open"] for t in phase.ticks] == [5]  # the connect progress is measured too
        assert client.settle(30.0)["sockets_behind_positions"] == 0
        result = client.finish({"posts": {"1": [1, 1, 0]}}, tmp_path)
        assert result == {"sockets_checked": 10, "truth": {"posts": {"1": [1, 1, 0]}}}
    finally:
        client.children.processes.stop_all()


def test_too_few_sockets_connected_stops_the_run(tmp_path: Path) -> None:
    client, _ = start_stand_in(tmp_path, sockets=8)
    try:
        with pytest.raises(BenchError, match="only 8 of 10 sockets connected"):
            client.wait_connected(10)
    finally:
        client.children.processes.stop_all()
