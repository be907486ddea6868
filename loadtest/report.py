"""Figures, ratios to the bare reference, plots and report.md for one run."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from loadtest.client import BIN_SECONDS
from loadtest.measure import PhaseResult
from loadtest.writers import WARM_UP_SECONDS

WARM_LIKE_P99 = f"like request p99 after the first {WARM_UP_SECONDS:g} s (ms)"


def figures(phase: PhaseResult) -> dict[str, Any]:
    c = phase.client
    frames, events, seconds = phase.frames_in_window()
    sampled = phase.sampled_seconds()
    cpu_share = phase.cpu_seconds(phase.server_names) / sampled if sampled else 0.0
    client_share = phase.cpu_seconds([phase.client_name]) / sampled if sampled else 0.0
    frame_rate = frames / seconds if seconds else 0.0
    sockets = c.get("sockets_open", 0)
    connected_in = c.get("connected_in_seconds", 0.0)
    latency = c.get("latency", {})
    last = c.get("last_follower_latency", {})
    delivered, expected = c.get("post_events_delivered", 0), c.get("post_events_expected", 0)
    w = phase.writers
    like_latency = w.get("like_latency", {})
    warm_latency = w.get("like_latency_warm", {})
    likes_ok = w.get("likes_ok", 0)
    write_cpu = phase.cpu_seconds(phase.write_server_names)
    all_servers = list(dict.fromkeys(phase.server_names + phase.write_server_names))
    all_cpu = phase.cpu_seconds(all_servers)
    ceiling = phase.ceiling.get("likes_per_second")
    resumes = phase.server_counters.get("karmafeed_resume_messages_total", 0.0)
    queries = phase.server_counters.get("karmafeed_resume_queries_total", 0.0)
    like_rate = w.get("like_rate_achieved")
    cores = phase.host_cores()
    return {
        "sockets held": sockets,
        "connect time (s)": connected_in,
        "connect rate (sockets/s)": (c.get("connects", 0) and sockets / connected_in) if connected_in else 0.0,
        "connect p99 per socket (ms)": 1000 * c.get("connect_seconds", {}).get("p99", 0.0),
        "server RSS per socket (KB)": (phase.rss_connected - phase.rss_before) / sockets / 1024 if sockets else 0.0,
        "server RSS with sockets (MB)": phase.rss_connected / 2**20,
        "delivered frames/s": frame_rate,
        "delivered events/s": events / seconds if seconds else 0.0,
        "events per frame": events / frames if frames else 0.0,
        "server CPU (% of a core)": 100 * cpu_share,
        "server CPU per frame (µs)": 1e6 * cpu_share / frame_rate if frame_rate else 0.0,
        # Near 100 % the client, not the server, sets the pace: read the other figures with care.
        "load client CPU (% of a core)": 100 * client_share,
        # The host as a whole: near 100 on every core, every figure here waits for a CPU.
        "host cores busy, each (%)": each_core(cores, "busy"),
        # Mostly the kernel's loopback network work, charged to no process (server CPU leaves it out).
        "host cores in softirq, each (%)": each_core(cores, "softirq"),
        # Time the hypervisor gave to someone else while a core had work: a slow day shows here.
        "host cores stolen, each (%)": each_core(cores, "steal"),
        "commit→receive p50 (ms)": 1000 * latency.get("p50", 0.0),
        "commit→receive p95 (ms)": 1000 * latency.get("p95", 0.0),
        "commit→receive p99 (ms)": 1000 * latency.get("p99", 0.0),
        "commit→receive max (ms)": 1000 * latency.get("max", 0.0),
        "commit→last follower p99 (ms)": 1000 * last.get("p99", 0.0),
        **delivery_figures(phase.server_counters),
        "lag trend (ms, last third - first third)": 1000 * lag_trend(phase),
        "delivered/expected post events": delivered / expected if expected else None,
        "stale events (older version)": c.get("stale_events", 0),
        # Numbered after a post's `subscribed` snapshot yet received before it: applied on top of it.
        "events received before their post's snapshot": c.get("events_before_snapshot"),
        "connect failures": c.get("connect_failures", 0),
        "disconnects": c.get("disconnects", 0),
        # Churn: each dropped socket comes back and resumes from its positions.
        "resumes/s": c["resumes"] / c["churn_seconds"] if c.get("churn_seconds") else None,
        "streams recovered by resume": c.get("streams_recovered") if c.get("churn_seconds") else None,
        "streams resynced (read afresh)": c.get("streams_resynced") if c.get("churn_seconds") else None,
        "events replayed by resumes": c.get("events_replayed") if c.get("churn_seconds") else None,
        "resumes answered by the server": int(resumes) or None,
        # SQL statements the socket workers ran while handling resumes (goal: 0 within the backlog).
        "database queries per resume": queries / resumes if resumes else None,
        "sockets behind the server's positions at the end": c.get("sockets_behind_positions"),
        "seconds until the sockets reached the server's positions": c.get("settle_seconds"),
        "sockets checked at the end": c.get("sockets_checked", 0),
        "sockets not equal to the database": c.get("sockets_wrong"),
        "sockets with another leaderboard": c.get("sockets_wrong_leaderboard"),
        "likes/s sent (REST)": like_rate,
        # Every process that takes the REST writes (like workers and REST workers), over the
        # window, per like answered.
        "server CPU per like (ms)": 1000 * write_cpu / likes_ok if likes_ok else None,
        "all server processes' CPU per like (ms)": 1000 * all_cpu / likes_ok if likes_ok else None,
        "like ceiling (statements/s)": ceiling,
        "likes/s ÷ ceiling": like_rate / ceiling if ceiling and like_rate is not None else None,
        "like request p50 (ms)": 1000 * like_latency["p50"] if like_latency else None,
        "like request p99 (ms)": 1000 * like_latency["p99"] if like_latency else None,
        WARM_LIKE_P99: 1000 * warm_latency["p99"] if warm_latency else None,
        "writes skipped (all writers busy)": w.get("skipped"),
        "write errors": sum(n for s, n in w.get("statuses", {}).items() if s not in ("200", "201")) if w else None,
    }


def each_core(cores: list[dict[str, float]], share: str) -> str | None:
    """One share of every core's time, as "89 / 86" (None without host samples)."""
    return " / ".join(f"{core[share]:.0f}" for core in cores) or None


# Which bare phase each figure is compared with, and whether higher is better.
RATIO_OF = {
    "connect rate (sockets/s)": "bare-paced",
    "server RSS per socket (KB)": "bare-paced",
    "server CPU per frame (µs)": "bare-paced",
    "commit→receive p99 (ms)": "bare-paced",
    "delivered frames/s": "bare-flood",
}


def delivery_figures(counters: dict[str, float]) -> dict[str, float | None]:
    """The socket workers' own split of commit→receive: how old a delivery round's first event
    was when its round began, and how long the round took (bucket bounds of their histograms)."""

    def ms(name: str) -> float | None:
        value = counters.get(name)
        return 1000 * value if value is not None else None

    return {
        "round's first event, age at its start p50 (ms)": ms("karmafeed_delivery_age_seconds p50"),
        "round's first event, age at its start p99 (ms)": ms("karmafeed_delivery_age_seconds p99"),
        "delivery round p50 (ms)": ms("karmafeed_delivery_round_seconds p50"),
        "delivery round p99 (ms)": ms("karmafeed_delivery_round_seconds p99"),
    }


def lag_trend(phase: PhaseResult) -> float:
    """Mean delay of the last third of the window minus the first third's: > 0 means growing."""
    start, end = phase.window
    means = [t["latency_mean"] for t in phase.ticks if start < t["t"] <= end and t["frames"]]
    if len(means) < 6:
        return 0.0
    third = len(means) // 3
    return sum(means[-third:]) / third - sum(means[:third]) / third


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def write_report(out: Path, result: dict[str, Any], command: str, options: dict[str, Any]) -> Path:
    phases: list[PhaseResult] = result["phases"]
    table = {p.name: figures(p) for p in phases}
    by_name = {p.name: p for p in phases}
    names = list(table)
    rows = []
    header = ["figure", *names]
    if "bare-paced" in table:
        header += ["karmafeed ÷ bare"]
    for figure in table[names[0]]:
        row = [figure, *(fmt(table[n][figure]) for n in names)]
        if "bare-paced" in table:
            row.append(ratio_text(table, figure))
        rows.append(row)
    events_vs_flood = None
    if "bare-flood" in table and table["bare-flood"]["delivered frames/s"]:
        events_vs_flood = table["karmafeed"]["delivered events/s"] / table["bare-flood"]["delivered frames/s"]
    plots = plot_all(out, phases)
    facts = result["facts"]
    lines = [
        f"# KarmaFeed bench: {options['scenario']}, {options['sockets']:,} sockets",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {facts['machine']['cpus']} CPUs, {facts['machine']['memory_gib']} GiB, "
        f"open files limit {facts['machine']['open_files_limit']}, Python {facts['machine']['python']}.",
        pinning_text(facts["pinned"]),
        "",
        f"Options: {json.dumps(options)}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]
    if events_vs_flood is not None:
        lines.append(
            f"KarmaFeed delivered events/s ÷ bare flood frames/s: **{events_vs_flood:.2f}x** "
            f"(bare flood p99 {table['bare-flood']['commit→receive p99 (ms)']:.1f} ms, "
            f"KarmaFeed p99 {table['karmafeed']['commit→receive p99 (ms)']:.1f} ms)."
        )
        lines.append("")
    for p in phases:
        lines += processes_table(p)
        lines += endpoints_table(p)
    for p in phases:
        for note in p.notes:
            lines.append(f"- {p.name}: {note}")
        if p.client.get("wrong_examples"):
            lines.append(f"- {p.name}: mismatches, e.g. {'; '.join(p.client['wrong_examples'])}")
        if p.client.get("behind_examples"):
            lines.append(f"- {p.name}: behind the server's positions, e.g. {'; '.join(p.client['behind_examples'])}")
    lines += [
        "",
        "Latency is the delay from `ts` (stamped after commit) to the client's receive time, each event",
        "counted at its frame's oldest event (an upper bound); 'last follower' is per like event, to the",
        "last socket that got it. CPU and RSS are the server process's own (psutil), over the write window.",
        "",
        *(f"![{name}]({name})" for name in plots),
        "",
    ]
    report_path = out / "report.md"
    report_path.write_text("\n".join(lines))
    details = {
        p.name: {
            "processes": p.processes_in_window(list(dict.fromkeys(p.server_names + p.write_server_names))),
            "endpoints": endpoint_figures(p),
            "ceiling": p.ceiling,
        }
        for p in phases
    }
    (out / "figures.json").write_text(
        json.dumps({"command": command, "options": options, "figures": table, "details": details}, indent=1)
    )
    if "karmafeed" in by_name:
        (out / "karmafeed-ticks.json").write_text(json.dumps(by_name["karmafeed"].ticks))
    return report_path


def processes_table(phase: PhaseResult) -> list[str]:
    """Every server process, its CPU over the window and the CPUs it was allowed to run on."""
    rows = phase.processes_in_window(list(dict.fromkeys(phase.server_names + phase.write_server_names)))
    if not rows:
        return []
    likes = set(phase.like_server_names)
    rest = set(phase.write_server_names) - likes
    sockets = set(phase.server_names)
    lines = [
        f"Server processes, {phase.name} (CPU over the window; 'may run on' is each process's CPU affinity):",
        "",
        "| server | role | pid | process | CPU (% of a core) | CPU (s) | may run on CPUs |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        roles = (("sockets", sockets), ("like worker", likes), ("REST", rest))
        role = " + ".join(r for r, names in roles if row["server"] in names)
        lines.append(
            f"| {row['server']} | {role} | {row['pid']} | `{row['process']}` | {row['cpu_percent']:.1f} | "
            f"{row['cpu_seconds']:.2f} | {','.join(map(str, row['cpus']))} |"
        )
    return [*lines, ""]


def endpoint_figures(phase: PhaseResult) -> list[dict[str, Any]]:
    found = []
    for result in phase.endpoints:
        start, end = result["window"]
        # The CPU of the processes the endpoint was sent to (runner.endpoint_pools).
        cpu = phase.cpu_seconds(result["servers"], window=(start - 0.6, end + 0.6))
        latency = result.get("latency", {})
        found.append(
            {
                "endpoint": result["name"],
                "served by": ", ".join(result["servers"]),
                "requests/s": result["requests_per_second"],
                "answered": result["answered"],
                "skipped": result["skipped"],
                "p50 (ms)": 1000 * latency.get("p50", 0.0),
                "p99 (ms)": 1000 * latency.get("p99", 0.0),
                "server CPU per request (ms)": 1000 * cpu / result["answered"] if result["answered"] else None,
                "statuses": result["statuses"],
            }
        )
    return found


def endpoints_table(phase: PhaseResult) -> list[str]:
    rows = endpoint_figures(phase)
    if not rows:
        return []
    lines = [
        "Each REST endpoint alone, sent where nginx sends it (the feed page to the like workers, if any; the",
        "rest to the REST servers): CPU of the processes it was sent to over its window, ÷ requests answered;",
        "sampled twice a second, so short windows carry up to half a second of the neighbours' CPU:",
        "",
        "| endpoint | served by | requests/s | answered | skipped | p50 (ms) | p99 (ms) | server CPU per request (ms) "
        "| answers |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['endpoint']} | {r['served by']} | {fmt(r['requests/s'])} | {r['answered']} | {r['skipped']} | "
            f"{fmt(r['p50 (ms)'])} | {fmt(r['p99 (ms)'])} | {fmt(r['server CPU per request (ms)'])} | "
            f"{r['statuses']} |"
        )
    return [*lines, ""]


def ratio_text(table: dict[str, dict[str, Any]], figure: str) -> str:
    reference = RATIO_OF.get(figure)
    if reference is None or reference not in table:
        return ""
    mine, theirs = table["karmafeed"][figure], table[reference][figure]
    if not mine or not theirs:
        return ""
    return f"{mine / theirs:.2f}x ({reference})"


def pinning_text(pinned: dict[str, Any]) -> str:
    if not pinned.get("server"):
        return "No CPU pinning (fewer than 2 usable CPUs, or --no-pin)."
    return (
        f"Pinning: a single socket worker (or the bare server) to CPU {pinned['server']}, the load client to CPU "
        f"{pinned['client']} (os.sched_setaffinity); several socket workers, the like and REST workers, PostgreSQL, "
        "Redis and the writers float. Each server process's own affinity is in the table below."
    )


def _saved(fig: Any, out: Path, name: str) -> str:
    """Lay the figure out, write it to out/name and free it; its name, for the report."""
    fig.tight_layout()
    fig.savefig(out / name, dpi=90)
    plt.close(fig)
    return name


def plot_all(out: Path, phases: list[PhaseResult]) -> list[str]:
    made = []
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for p in phases:
        bins = {int(k): v for k, v in p.client.get("latency_histogram", {}).items()}
        if not bins:
            continue
        total = sum(bins.values())
        running = 0
        xs, ys = [], []
        for index in sorted(bins):
            running += bins[index]
            xs.append((index + 1) * BIN_SECONDS * 1000)
            ys.append(running / total)
        ax.step(xs, ys, where="post", label=p.name)
    ax.set_xscale("log")
    ax.set_xlabel("commit → receive (ms, log)")
    ax.set_ylabel("share of events")
    ax.set_title("Latency distribution (CDF)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    made.append(_saved(fig, out, "latency.png"))

    fig, axes = plt.subplots(len(phases), 1, figsize=(8, 2.8 * len(phases)), squeeze=False)
    for ax, p in zip(axes[:, 0], phases, strict=True):
        if not p.ticks:
            continue
        t0 = p.ticks[0]["t"]
        ts = [t["t"] - t0 for t in p.ticks]
        ax.plot(ts, [t["frames"] for t in p.ticks], label="frames/s")
        ax.plot(ts, [t["events"] for t in p.ticks], label="events/s")
        ax.set_ylabel("per second")
        ax.set_title(p.name)
        ax.grid(True, alpha=0.3)
        twin = ax.twinx()
        twin.plot(ts, [t["open"] for t in p.ticks], color="grey", linestyle="--", label="sockets")
        twin.set_ylabel("sockets open")
        ax.legend(loc="upper left", fontsize=8)
    axes[-1, 0].set_xlabel("seconds")
    made.append(_saved(fig, out, "throughput.png"))

    written = [p for p in phases if p.writers.get("like_latency_by_second")]
    if written:
        fig, axes = plt.subplots(len(written), 1, figsize=(8, 3.2 * len(written)), squeeze=False)
        for ax, p in zip(axes[:, 0], written, strict=True):
            seconds = p.writers["like_latency_by_second"]
            xs = [s["second"] for s in seconds]
            for name in ("p50", "p99", "max"):
                ax.plot(xs, [1000 * s[name] for s in seconds], marker=".", label=name)
            ax.set_yscale("log")
            ax.set_ylabel("like request (ms, log)")
            ax.set_title(f"{p.name}: like requests by the second they were sent")
            ax.grid(True, alpha=0.3)
            answered = ax.twinx()
            answered.bar(xs, [s["count"] for s in seconds], color="grey", alpha=0.2, label="answered")
            answered.set_ylabel("likes answered")
            ax.set_zorder(answered.get_zorder() + 1)
            ax.patch.set_visible(False)
            ax.legend(loc="upper right", fontsize=8)
        axes[-1, 0].set_xlabel("seconds since the writes began")
        made.append(_saved(fig, out, "likes.png"))

    fig, (cpu_ax, rss_ax) = plt.subplots(2, 1, figsize=(8, 6))
    for p in phases:
        samples = [s for s in p.samples if any(n in s for n in p.server_names)]
        if len(samples) < 2:
            continue
        t0 = samples[0]["t"]
        xs, cpu, rss = [], [], []
        for before, after in itertools.pairwise(samples):
            names = [n for n in p.server_names if n in before and n in after]
            dt = after["t"] - before["t"]
            xs.append(after["t"] - t0)
            cpu.append(100 * sum(after[n]["cpu"] - before[n]["cpu"] for n in names) / dt if dt else 0.0)
            rss.append(sum(after[n]["rss"] for n in names) / 2**20)
        cpu_ax.plot(xs, cpu, label=p.name)
        rss_ax.plot(xs, rss, label=p.name)
    cpu_ax.set_ylabel("server CPU (% of a core)")
    rss_ax.set_ylabel("server RSS (MB)")
    rss_ax.set_xlabel("seconds since the server started")
    for ax in (cpu_ax, rss_ax):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    made.append(_saved(fig, out, "server.png"))
    return made
