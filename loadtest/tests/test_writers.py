"""The writers' choice of server: likes and unlikes to the like targets, comments to the others."""

import json
from pathlib import Path

from loadtest.writers import WARM_UP_SECONDS, Writers, latency_by_second


def writers(like_targets: list[str], comment_targets: list[str]) -> Writers:
    return Writers(
        {
            "like_targets": like_targets,
            "comment_targets": comment_targets,
            "cookie_names": {"session": "kf_session", "csrf": "kf_csrf"},
            "sessions": [{"sessionid": "s1", "csrftoken": "t1", "user_id": 1}],
            "post_ids": [1],
        }
    )


def test_likes_and_unlikes_go_round_robin_to_the_like_targets_comments_to_theirs() -> None:
    chosen = writers(["http://likes-a", "http://likes-b"], ["http://rest"])
    kinds = ["like", "unlike", "comment", "like", "comment", "unlike"]
    assert [chosen.target(kind) for kind in kinds] == [
        "http://likes-a",
        "http://likes-b",
        "http://rest",
        "http://likes-a",
        "http://rest",
        "http://likes-b",
    ]


def test_without_like_workers_the_likes_share_the_comments_servers() -> None:
    shared = writers(["http://rest-a", "http://rest-b"], ["http://rest-a", "http://rest-b"])
    assert [shared.target(kind) for kind in ("like", "comment", "unlike", "comment")] == [
        "http://rest-a",
        "http://rest-a",
        "http://rest-b",
        "http://rest-b",
    ]


def test_like_latencies_are_summarized_by_the_second_sent_and_after_the_warm_up(tmp_path: Path) -> None:
    measured = writers(["http://likes"], ["http://rest"])
    measured.config["result_path"] = str(tmp_path / "writers.json")
    warm = WARM_UP_SECONDS
    measured.record.like_trace = [(0.2, 0.5), (0.7, 0.3), (1.1, 0.01), (warm + 0.5, 0.02), (warm + 0.6, 0.04)]
    measured.record.latencies["like"] = [latency for _, latency in measured.record.like_trace]
    measured.write_result(warm + 1)
    result = json.loads((tmp_path / "writers.json").read_text())
    by_second = result["like_latency_by_second"]
    assert [(s["second"], s["count"], s["max"]) for s in by_second] == [(0, 2, 0.5), (1, 1, 0.01), (int(warm), 2, 0.04)]
    # The slow start counts in the whole run's summary, not in the warm one.
    assert result["like_latency"]["max"] == 0.5
    assert result["like_latency_warm"]["count"] == 2 and result["like_latency_warm"]["max"] == 0.04


def test_without_answered_likes_there_is_nothing_to_summarize() -> None:
    assert latency_by_second([]) == []
