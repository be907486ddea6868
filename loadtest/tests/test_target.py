"""The pure parts of `--target`: reading /metrics and comparing sockets with the API."""

import orjson

from loadtest.target import Run, Socket, bucket_counts, bucket_quantile, parse_metrics, unequal_sockets


def test_metrics_are_summed_over_labels_and_comments_skipped() -> None:
    text = "\n".join(
        [
            "# HELP karmafeed_open_sockets Websockets open now.",
            "# TYPE karmafeed_open_sockets gauge",
            'karmafeed_open_sockets{pid="1"} 3.0',
            'karmafeed_open_sockets{pid="2"} 4.0',
            "karmafeed_events_pushed_total 12.0",
        ]
    )
    assert parse_metrics(text) == {"karmafeed_open_sockets": 7.0, "karmafeed_events_pushed_total": 12.0}


def test_a_socket_that_missed_the_last_count_is_unequal() -> None:
    run = Run()
    snapshot = {"type": "subscribed", "posts": [{"id": 1, "like_count": 1, "version": 1, "comment_count": 0}]}
    newer = {"type": "post.likes", "post_id": 1, "like_count": 2, "version": 2}
    up_to_date, behind = Socket(), Socket()
    up_to_date.sequence = [run.book.lookup(orjson.dumps(m)).frame_id for m in (snapshot, newer)]
    behind.sequence = [run.book.lookup(orjson.dumps(snapshot)).frame_id]
    run.sockets = [up_to_date, behind]
    assert unequal_sockets(run, {1: 2}) == (1, ["socket 1 shows {1: 1}, the API {1: 2}"])
    assert unequal_sockets(run, {1: 1})[0] == 1  # the other one is wrong then


HISTOGRAM = "\n".join(
    [
        "# TYPE karmafeed_delivery_round_seconds histogram",
        'karmafeed_delivery_round_seconds_bucket{le="0.1"} 50.0',
        'karmafeed_delivery_round_seconds_bucket{le="0.25"} 98.0',
        'karmafeed_delivery_round_seconds_bucket{le="0.5"} 100.0',
        'karmafeed_delivery_round_seconds_bucket{le="+Inf"} 100.0',
        "karmafeed_delivery_round_seconds_count 100.0",
        'karmafeed_delivery_age_seconds_bucket{le="0.1"} 7.0',
    ]
)


def test_a_histograms_buckets_are_read_by_bound_and_its_quantiles_are_bucket_bounds() -> None:
    buckets = bucket_counts(HISTOGRAM, "karmafeed_delivery_round_seconds")
    assert buckets == {0.1: 50.0, 0.25: 98.0, 0.5: 100.0, float("inf"): 100.0}
    assert bucket_quantile(buckets, 0.5) == 0.1
    assert bucket_quantile(buckets, 0.99) == 0.5


def test_a_quantile_beyond_the_last_bound_or_of_nothing_is_unknown() -> None:
    assert bucket_quantile({0.1: 10.0, float("inf"): 100.0}, 0.99) is None
    assert bucket_quantile({}, 0.5) is None
    # Control: within the bounds it is known.
    assert bucket_quantile({0.1: 10.0, float("inf"): 100.0}, 0.05) == 0.1
