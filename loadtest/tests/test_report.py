"""The bench report: figures from what a phase measured, ratios to the bare reference, report.md."""

import json
from pathlib import Path

import pytest

from loadtest.measure import HOST_CORES, PhaseResult
from loadtest.report import (
    WARM_LIKE_P99,
    endpoint_figures,
    figures,
    fmt,
    lag_trend,
    processes_table,
    ratio_text,
    write_report,
)


def phase(name: str, *, cpu_per_second: float, frames_per_second: int, latency_mean: list[float]) -> PhaseResult:
    """Ten seconds of measurement: one CPU sample and one client tick per second."""
    seconds = len(latency_mean)
    return PhaseResult(
        name=name,
        client={
            "sockets_open": 1000,
            "connects": 1000,
            "connected_in_seconds": 2.0,
            "latency": {"p50": 0.010, "p95": 0.020, "p99": 0.040, "max": 0.050},
            "post_events_delivered": 90,
            "post_events_expected": 100,
            "latency_histogram": {"99": 50, "399": 50},
        },
        ticks=[
            {
                "t": float(t),
                "frames": frames_per_second,
                "events": 3 * frames_per_second,
                "latency_mean": mean,
                "open": 1000,
            }
            for t, mean in enumerate(latency_mean, start=1)
        ],
        samples=[{"t": float(t), "server": {"cpu": cpu_per_second * t, "rss": 2**27}} for t in range(seconds + 1)],
        server_names=["server"],
        client_name="client",
        window=(0.0, float(seconds)),
        rss_before=100 * 2**20,
        rss_connected=100 * 2**20 + 1000 * 20 * 1024,
    )


def test_figures_per_phase() -> None:
    found = figures(phase("karmafeed", cpu_per_second=0.5, frames_per_second=1000, latency_mean=[0.01] * 10))
    assert found["sockets held"] == 1000
    assert found["connect rate (sockets/s)"] == 500
    assert found["server RSS per socket (KB)"] == pytest.approx(20)
    assert found["delivered frames/s"] == pytest.approx(1000)
    assert found["events per frame"] == pytest.approx(3)
    assert found["server CPU (% of a core)"] == pytest.approx(50)
    assert found["server CPU per frame (µs)"] == pytest.approx(500)
    assert found["commit→receive p99 (ms)"] == pytest.approx(40)
    assert found["delivered/expected post events"] == pytest.approx(0.9)


def _core(t: float, *, busy: float, softirq: float, steal: float) -> dict[str, float]:
    """A core's cumulative CPU times after t seconds at these shares of each second."""
    user = busy - softirq
    idle = 1.0 - busy - steal
    return {"user": user * t, "system": 0.0, "softirq": softirq * t, "steal": steal * t, "idle": idle * t, "guest": t}


def test_the_host_cores_show_busy_softirq_and_stolen_time_each() -> None:
    measured = phase("karmafeed", cpu_per_second=0.5, frames_per_second=10, latency_mean=[0.01] * 10)
    found = figures(measured)
    assert found["host cores busy, each (%)"] is None, "control: no host samples, no figure"
    for sample in measured.samples:
        t = sample["t"]
        sample[HOST_CORES] = [_core(t, busy=0.9, softirq=0.3, steal=0.1), _core(t, busy=0.5, softirq=0.0, steal=0.0)]
    found = figures(measured)
    # guest time is inside user already: counting it again would halve every share.
    assert found["host cores busy, each (%)"] == "90 / 50"
    assert found["host cores in softirq, each (%)"] == "30 / 0"
    assert found["host cores stolen, each (%)"] == "10 / 0"


def test_an_endpoint_costs_the_cpu_of_the_servers_it_was_sent_to() -> None:
    measured = phase("karmafeed", cpu_per_second=0.5, frames_per_second=10, latency_mean=[0.01] * 10)
    for t, sample in enumerate(measured.samples):
        sample["likes"] = {"cpu": 0.1 * t, "rss": 2**27}
    window = {"window": [2.0, 7.0], "answered": 100, "skipped": 0, "statuses": {"200": 100}}
    rows = endpoint_figures(
        PhaseResult(
            name="karmafeed",
            samples=measured.samples,
            window=measured.window,
            endpoints=[
                {"name": "feed page", "pool": "likes", "servers": ["likes"], "requests_per_second": 20.0, **window},
                {"name": "thread", "pool": "api", "servers": ["server"], "requests_per_second": 20.0, **window},
            ],
        )
    )
    # The window widened by 0.6 s each side takes the samples at 2 .. 7 s: 5 s of each process.
    assert [(r["endpoint"], r["served by"]) for r in rows] == [("feed page", "likes"), ("thread", "server")]
    assert rows[0]["server CPU per request (ms)"] == pytest.approx(1000 * 0.5 / 100)
    assert rows[1]["server CPU per request (ms)"] == pytest.approx(1000 * 2.5 / 100)


def test_lag_trend_compares_the_last_third_with_the_first() -> None:
    growing = phase("karmafeed", cpu_per_second=0.5, frames_per_second=10, latency_mean=[0.01] * 3 + [0.02] * 6)
    assert lag_trend(growing) == pytest.approx(0.01)
    steady = phase("karmafeed", cpu_per_second=0.5, frames_per_second=10, latency_mean=[0.01] * 9)
    assert lag_trend(steady) == 0
    too_short = phase("karmafeed", cpu_per_second=0.5, frames_per_second=10, latency_mean=[0.01, 1.0])
    assert lag_trend(too_short) == 0


def test_ratios_are_to_the_named_reference_and_blank_without_one() -> None:
    table = {
        "karmafeed": {"server CPU per frame (µs)": 30.0, "sockets held": 10},
        "bare-paced": {"server CPU per frame (µs)": 20.0, "sockets held": 10},
    }
    assert ratio_text(table, "server CPU per frame (µs)") == "1.50x (bare-paced)"
    assert ratio_text(table, "sockets held") == ""
    assert ratio_text({"karmafeed": table["karmafeed"]}, "server CPU per frame (µs)") == ""


def test_fmt_reads_well() -> None:
    assert [fmt(None), fmt(1234.5), fmt(3.14159), fmt(12345), fmt("text")] == ["-", "1,234", "3.14", "12,345", "text"]


def test_the_report_has_the_table_the_ratios_the_plots_and_the_json(tmp_path: Path) -> None:
    karmafeed = phase("karmafeed", cpu_per_second=0.6, frames_per_second=1000, latency_mean=[0.01] * 10)
    bare = phase("bare-paced", cpu_per_second=0.4, frames_per_second=1000, latency_mean=[0.01] * 10)
    facts = {
        "machine": {"cpus": 2, "memory_gib": 8, "open_files_limit": 20000, "python": "3.11"},
        "pinned": {"server": [0], "client": [1]},
    }
    options = {"scenario": "hot", "sockets": 1000}
    path = write_report(tmp_path, {"phases": [karmafeed, bare], "facts": facts}, "python -m loadtest", options)
    report = path.read_text()
    assert report.startswith("# KarmaFeed bench: hot, 1,000 sockets")
    assert "| figure | karmafeed | bare-paced | karmafeed ÷ bare |" in report
    assert "| server CPU per frame (µs) | 600 | 400 | 1.50x (bare-paced) |" in report
    plots = [line[2:].split("]")[0] for line in report.splitlines() if line.startswith("![")]
    assert plots == ["latency.png", "throughput.png", "server.png"]
    for plot in plots:
        assert (tmp_path / plot).stat().st_size > 0
    saved = json.loads((tmp_path / "figures.json").read_text())
    assert saved["figures"]["karmafeed"]["server CPU per frame (µs)"] == pytest.approx(600)
    assert json.loads((tmp_path / "karmafeed-ticks.json").read_text()) == karmafeed.ticks


def test_server_cpu_per_like_counts_every_rest_process_and_the_ceiling_ratio() -> None:
    measured = phase("karmafeed", cpu_per_second=0.5, frames_per_second=1000, latency_mean=[0.01] * 10)
    # Two REST servers beside the socket server: 0.2 and 0.3 s of CPU a second, over 10 s.
    for row in measured.samples:
        row["rest-a"] = {
            "cpu": 0.2 * row["t"],
            "rss": 0,
            "procs": {11: {"cpu": 0.2 * row["t"], "cpus": [0, 1], "name": "a"}},
        }
        row["rest-b"] = {
            "cpu": 0.3 * row["t"],
            "rss": 0,
            "procs": {12: {"cpu": 0.3 * row["t"], "cpus": [1], "name": "b"}},
        }
    measured.write_server_names = ["rest-a", "rest-b"]
    measured.writers = {"likes_ok": 1000, "like_rate_achieved": 100.0, "like_latency": {}, "statuses": {"200": 1000}}
    measured.ceiling = {"likes_per_second": 400.0}
    found = figures(measured)
    assert found["server CPU per like (ms)"] == pytest.approx(5.0)  # (2 + 3 s) / 1,000 likes
    assert found["all server processes' CPU per like (ms)"] == pytest.approx(10.0)  # + the socket server's 5 s
    assert found["like ceiling (statements/s)"] == 400.0
    assert found["likes/s ÷ ceiling"] == pytest.approx(0.25)
    processes = {p["pid"]: p for p in measured.processes_in_window(["rest-a", "rest-b"])}
    assert processes[11]["cpu_percent"] == pytest.approx(20) and processes[12]["cpus"] == [1]


def test_the_process_table_names_the_like_workers_apart_from_the_rest_workers() -> None:
    measured = phase("karmafeed", cpu_per_second=0.5, frames_per_second=1000, latency_mean=[0.01] * 10)
    for row in measured.samples:
        row["server"]["procs"] = {10: {"cpu": row["server"]["cpu"], "cpus": [0], "name": "socket"}}
        row["likes-1"] = {
            "cpu": 0.1 * row["t"],
            "rss": 0,
            "procs": {11: {"cpu": 0.1 * row["t"], "cpus": [1], "name": "l"}},
        }
        row["http-2"] = {
            "cpu": 0.2 * row["t"],
            "rss": 0,
            "procs": {12: {"cpu": 0.2 * row["t"], "cpus": [1], "name": "h"}},
        }
    measured.write_server_names = ["likes-1", "http-2"]
    measured.like_server_names = ["likes-1"]
    measured.writers = {"likes_ok": 1000, "like_rate_achieved": 100.0, "like_latency": {}, "statuses": {"200": 1000}}
    rows = [line.split(" | ") for line in processes_table(measured) if line.startswith("| ")]
    roles = {row[0].removeprefix("| "): row[1] for row in rows[1:]}
    assert roles == {"server": "sockets", "likes-1": "like worker", "http-2": "REST"}
    # CPU per like counts the like workers and the REST workers: (1 + 2 s) / 1,000 likes.
    assert figures(measured)["server CPU per like (ms)"] == pytest.approx(3.0)


def test_the_likes_after_the_warm_up_have_a_figure_and_every_second_a_point_on_a_plot(tmp_path: Path) -> None:
    measured = phase("karmafeed", cpu_per_second=0.5, frames_per_second=1000, latency_mean=[0.01] * 10)
    by_second = [{"second": s, "count": 100, "p50": 0.01, "p99": 0.5 if s < 2 else 0.05, "max": 0.6} for s in range(10)]
    measured.writers = {
        "likes_ok": 1000,
        "like_rate_achieved": 100.0,
        "like_latency": {"p50": 0.01, "p99": 0.5},
        "like_latency_warm": {"p50": 0.01, "p99": 0.05},
        "like_latency_by_second": by_second,
        "statuses": {"200": 1000},
    }
    found = figures(measured)
    assert found["like request p99 (ms)"] == pytest.approx(500)
    assert found[WARM_LIKE_P99] == pytest.approx(50)
    facts = {"machine": {"cpus": 2, "memory_gib": 8, "open_files_limit": 20000, "python": "3.11"}, "pinned": {}}
    report = write_report(
        tmp_path,
        {"phases": [measured], "facts": facts},
        "python -m loadtest",
        {
            "scenario": "likes",
            "sockets": 1000,
        },
    ).read_text()
    assert "![likes.png](likes.png)" in report and (tmp_path / "likes.png").stat().st_size > 0
    # A phase without writers (the hot bench's bare phases, or no likes asked) has neither.
    quiet = phase("bare-paced", cpu_per_second=0.4, frames_per_second=1000, latency_mean=[0.01] * 10)
    assert figures(quiet)[WARM_LIKE_P99] is None


def test_the_socket_workers_delivery_split_is_in_milliseconds_and_blank_when_not_measured() -> None:
    measured = phase("karmafeed", cpu_per_second=0.5, frames_per_second=1000, latency_mean=[0.01] * 10)
    measured.server_counters = {"karmafeed_delivery_round_seconds p99": 0.25, "karmafeed_delivery_age_seconds p50": 0.1}
    found = figures(measured)
    assert found["delivery round p99 (ms)"] == pytest.approx(250)
    assert found["round's first event, age at its start p50 (ms)"] == pytest.approx(100)
    assert found["delivery round p50 (ms)"] is None
