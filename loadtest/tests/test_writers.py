"""The writers' choice of server: likes and unlikes to the like targets, comments to the others."""

from loadtest.writers import Writers


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
