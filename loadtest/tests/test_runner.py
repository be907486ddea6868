"""The run's phases, for what they build from their inputs without a server: the children's
configs, the churn rate, the bare reference's pace, the database truth, the window math."""

from pathlib import Path

from loadtest.endpoints import plan
from loadtest.measure import PhaseResult
from loadtest.runner import (
    Options,
    RunFacts,
    Servers,
    bare_pace,
    churn_per_second,
    client_config,
    counters_of,
    endpoint_pools,
    posts_by_author,
    socket_cookies,
    truth_of,
    writer_config,
)
from loadtest.scenarios import SCENARIOS
from loadtest.stack import Child

SESSIONS = {
    "cookie_names": {"session": "kf_session", "csrf": "kf_csrf"},
    "sessions": [{"sessionid": "s1", "user_id": 1}, {"sessionid": "s2", "user_id": 2}],
}


def options(scenario: str = "hot", **changes: object) -> Options:
    values: dict = {
        "scenario": SCENARIOS[scenario],
        "sockets": 1000,
        "duration": 20.0,
        "writers": 2,
        "like_rate": SCENARIOS[scenario].like_rate,
        "comment_rate": SCENARIOS[scenario].comment_rate,
        "workers": 1,
        "write_workers": 1,
        "http_server": "gunicorn",
        "like_workers": 1,
        "endpoints": False,
        "endpoint_rate": 100.0,
        "endpoint_duration": 5.0,
        "socket_auth": "anonymous",
        "out_dir": Path("out"),
        "pin": True,
        "bare": True,
        "bare_duration": 10.0,
        "database": "bench",
        "connect_concurrency": 256,
        "server_env": {},
    }
    values.update(changes)
    return Options(**values)


def facts() -> RunFacts:
    newest = list(range(60, 0, -1))
    return RunFacts(
        env={},
        sessions=SESSIONS,
        newest=newest,
        by_author=posts_by_author([(p, p % 4) for p in newest]),
        machine={},
        pinned={"server": [0], "client": [1]},
    )


def test_posts_are_grouped_by_author_in_row_order() -> None:
    assert posts_by_author([(3, 10), (2, 11), (1, 10)]) == {10: [3, 1], 11: [2]}


def test_sockets_carry_session_cookies_only_when_asked_to() -> None:
    assert socket_cookies(SESSIONS, "session") == ["kf_session=s1", "kf_session=s2"]
    assert socket_cookies(SESSIONS, "anonymous") == []


def test_the_client_spreads_sockets_over_every_worker_url() -> None:
    one = client_config(
        options(), urls=["ws://a/ws/"], origins=["http://a"], follow_sets=[[1]], cookies=[], result=Path("r.json")
    )
    assert (one["url"], one["origin"], one["sockets"], one["result_path"]) == ("ws://a/ws/", "http://a", 1000, "r.json")
    assert "extra_urls" not in one
    two = client_config(
        options(),
        urls=["ws://a/ws/", "ws://b/ws/"],
        origins=["http://a", "http://b"],
        follow_sets=[[1]],
        cookies=[],
        result=Path("r.json"),
    )
    assert two["extra_urls"] == [("ws://a/ws/", "http://a"), ("ws://b/ws/", "http://b")]


def test_writers_target_the_scenarios_posts_and_are_skipped_without_writes() -> None:
    config = writer_config(options("hot"), facts(), like_ports=[9001], rest_ports=[8001, 8002], result=Path("w.json"))
    assert config is not None
    assert config["like_targets"] == ["http://127.0.0.1:9001"]
    assert config["comment_targets"] == ["http://127.0.0.1:8001", "http://127.0.0.1:8002"]
    assert config["post_ids"] == list(range(60, 40, -1))  # the newest page
    assert config["author_groups"] == [] and config["like_rate"] == 200
    board = writer_config(options("leaderboard"), facts(), like_ports=[9001], rest_ports=[8001], result=Path("w.json"))
    assert board is not None and len(board["author_groups"]) == 4
    assert writer_config(options("reads"), facts(), like_ports=[9001], rest_ports=[8001], result=Path("w.json")) is None


def child(name: str) -> Child:
    return Child(name, popen=None, log_path=Path(f"{name}.log"))  # type: ignore[arg-type]


def test_likes_go_to_the_like_workers_and_the_rest_to_the_rest_servers_each_counted_once() -> None:
    socket, http, like = child("uvicorn-1"), child("gunicorn-2"), child("likes-3")
    servers = Servers([1], [socket], write_ports=[2], write_children=[http], like_ports=[3], like_children=[like])
    assert (servers.like_targets, servers.rest_ports) == ([3], [2])
    assert servers.writing_children() == [like, http]
    assert servers.all() == [socket, like, http]
    # Without like workers the likes go where the other writes go: the REST servers ...
    servers = Servers([1], [socket], write_ports=[2], write_children=[http])
    assert (servers.like_targets, servers.rest_ports) == ([2], [2])
    assert servers.writing_children() == [http]
    # ... or, without those either, the socket workers, which are not counted twice.
    servers = Servers([1], [socket])
    assert (servers.like_targets, servers.rest_ports) == ([1], [1])
    assert servers.all() == [socket]


def test_the_feed_page_goes_to_the_like_workers_and_is_charged_to_them() -> None:
    socket, http, like = child("uvicorn-1"), child("gunicorn-2"), child("likes-3")
    servers = Servers([1], [socket], write_ports=[2], write_children=[http], like_ports=[3], like_children=[like])
    pools = endpoint_pools(servers)
    assert pools["likes"] == {"target": "http://127.0.0.1:3", "servers": ["likes-3"]}
    assert pools["api"] == {"target": "http://127.0.0.1:2", "servers": ["gunicorn-2"]}
    # Without like workers the feed page goes to the REST servers, as nginx would send it.
    alone = endpoint_pools(Servers([1], [socket], write_ports=[2], write_children=[http]))
    assert alone["likes"] == alone["api"] == {"target": "http://127.0.0.1:2", "servers": ["gunicorn-2"]}
    # Every endpoint names a pool there is.
    assert {step.get("pool", "api") for step in plan({"thread_post_id": 1, "profile_username": "u"})} == {
        "api",
        "likes",
    }


def test_churn_drops_a_share_of_the_sockets_each_second_and_at_least_one() -> None:
    assert churn_per_second(2000, 0.02) == 40
    assert churn_per_second(10, 0.02) == 1
    assert churn_per_second(2000, 0.0) == 0


def ticking_phase(frames_per_second: int, events_per_frame: int, seconds: int = 10) -> PhaseResult:
    return PhaseResult(
        "karmafeed",
        client={"sockets_open": 100},
        ticks=[
            {"t": float(t), "frames": frames_per_second, "events": frames_per_second * events_per_frame}
            for t in range(1, seconds + 1)
        ],
        window=(0.5, float(seconds)),
    )


def test_the_bare_reference_keeps_karmafeeds_pace_per_socket_and_events_per_frame() -> None:
    phase = ticking_phase(frames_per_second=500, events_per_frame=3)
    assert phase.frames_in_window() == (5000, 15000, 10.0)
    assert bare_pace(phase, 100) == (5.0, 3)
    # Nothing delivered: ten frames a second of one event.
    assert bare_pace(PhaseResult("karmafeed"), 100) == (10.0, 1)


def test_cpu_seconds_are_the_difference_over_the_window() -> None:
    phase = PhaseResult(
        "karmafeed",
        samples=[{"t": float(t), "server": {"cpu": 0.25 * t}} for t in range(11)],
        window=(2.0, 8.0),
    )
    assert phase.cpu_seconds(["server"]) == 1.5
    assert phase.cpu_seconds(["other"]) == 0.0
    assert phase.sampled_seconds() == 6.0


def test_the_truth_is_each_posts_counts_by_id_with_the_board_and_the_writes() -> None:
    truth = truth_of([(1, 5, 7, 2), (2, 0, 0, 0)], [{"rank": 1}], {"1": 3})
    assert truth == {"posts": {"1": [5, 7, 2], "2": [0, 0, 0]}, "leaderboard": [{"rank": 1}], "writes": {"1": 3}}


def test_the_workers_counters_add_up_and_their_delivery_histograms_merge() -> None:
    def worker(resumes: float, under_100ms: float, all_rounds: float) -> str:
        return "\n".join(
            [
                f"karmafeed_resume_messages_total {resumes}",
                f'karmafeed_delivery_round_seconds_bucket{{le="0.1"}} {under_100ms}',
                f'karmafeed_delivery_round_seconds_bucket{{le="0.5"}} {all_rounds}',
                f'karmafeed_delivery_round_seconds_bucket{{le="+Inf"}} {all_rounds}',
            ]
        )

    # Alone, the first worker's rounds are mostly short; merged, most are not.
    assert counters_of([worker(2, 90, 100)])["karmafeed_delivery_round_seconds p50"] == 0.1
    merged = counters_of([worker(2, 90, 100), worker(3, 0, 200)])
    assert merged["karmafeed_resume_messages_total"] == 5
    assert merged["karmafeed_delivery_round_seconds p50"] == 0.5
    assert merged["karmafeed_delivery_round_seconds p99"] == 0.5
    assert "karmafeed_delivery_age_seconds p50" not in merged, "no rounds: no figure"
