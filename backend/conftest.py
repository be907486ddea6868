from collections.abc import Iterator

import pytest

pytest_plugins = ["testing.plugin"]


@pytest.fixture(scope="session", autouse=True)
def _forget_this_runs_stream_keys() -> Iterator[None]:
    """Stream keys never expire on their own (seqs, epoch): delete this run's from the shared Redis."""
    yield
    from django.conf import settings

    from realtime import channels_redis_wire as wire

    layer = settings.CHANNEL_LAYERS["default"]
    if not wire.is_redis_layer(layer):
        return
    hosts, prefix = wire.layer_hosts_and_prefix(layer)
    if not prefix.startswith("karmafeed-test-"):
        return  # only the per-run prefixes of config/settings_test.py
    client = wire.sync_client(hosts[0])
    for pattern in (f"{prefix}:streams:*", f"{prefix}-log*:streams:*"):
        for key in client.scan_iter(pattern, count=1000):
            client.delete(key)
    client.close()
