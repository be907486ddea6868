"""Prometheus metrics, correct across workers.

With PROMETHEUS_MULTIPROC_DIR set (as `make stack` does), every worker writes its samples to
files there and /metrics sums them, whichever worker answers the scrape. Whatever starts the
workers must mark a dead one's process (multiprocess.mark_process_dead), or its open-sockets
gauge would still count: gunicorn's master does (child_exit in deploy/gunicorn.conf.py).
Under compose each replica is a container of its own, scraped on its own.
"""

import os

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

OPEN_SOCKETS = Gauge("karmafeed_open_sockets", "Websockets open now.", multiprocess_mode="livesum")
EVENTS_PUSHED = Counter("karmafeed_events_pushed", "Events handed to the channel layer.")
PUSH_FAILURES = Counter("karmafeed_push_failures", "Events the channel layer refused or timed out on.")
PUSH_LATENCY = Histogram(
    "karmafeed_push_latency_seconds",
    "Time to hand one event to the channel layer.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
# Fine buckets around the fan-out's latency aims (a few hundred milliseconds to 10,000 sockets).
_DELIVERY_BUCKETS = (
    *(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5),
    *(0.6, 0.75, 1.0, 1.5, 2.5, 5.0),
)
DELIVERY_AGE = Histogram(
    "karmafeed_delivery_age_seconds",
    "Age of a delivery round's first event (the oldest some socket still lacks) when the round "
    "begins: from its commit (its ts) through the publisher, Redis and the wait for a round.",
    buckets=_DELIVERY_BUCKETS,
)
DELIVERY_ROUND = Histogram(
    "karmafeed_delivery_round_seconds",
    "Time a delivery round takes to write its frames to every socket due one.",
    buckets=_DELIVERY_BUCKETS,
)
EVENTS_DELIVERED = Counter("karmafeed_events_delivered", "Events written to sockets (an event per socket).")
FRAMES_SENT = Counter("karmafeed_frames_sent", "Websocket frames written by the fan-out.")
SLOW_SOCKETS_CLOSED = Counter("karmafeed_slow_sockets_closed", "Sockets closed because they stopped reading.")
SOCKETS_CLOSED_FLOODING = Counter("karmafeed_flooding_sockets_closed", "Sockets closed for sending too fast.")
STREAM_REPAIRS = Counter("karmafeed_stream_repairs", "Holes in a stream a worker filled from the backlog.")
STREAM_RESETS = Counter("karmafeed_stream_resets", "Sockets reset: a hole not repairable, or a new epoch.")
RESUMES = Counter("karmafeed_resumes", "Streams asked for in resume messages, by outcome.", ["outcome"])
RESUME_MESSAGES = Counter("karmafeed_resume_messages", "Resume messages answered.")
RESUME_QUERIES = Counter("karmafeed_resume_queries", "SQL statements run while a resume message was handled.")
REQUEST_LATENCY = Histogram(
    "karmafeed_request_latency_seconds",
    "HTTP request latency by route.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)
