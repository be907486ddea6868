"""How the ASGI server runs, in one place: `make run`, the socket workers of `make stack` and
compose (gunicorn's master running SocketWorker), and the load bench all take these options.

    python -m config.serving --host 127.0.0.1 --port 8000     one process (make run)

The sans-I/O websocket protocol measured the cheapest per frame; no per-message deflate,
because compression would cost a deflate per socket per frame, and without it the hub frames
each broadcast once for every socket. Forwarded headers are trusted from the addresses in
FORWARDED_ALLOW_IPS (uvicorn's and gunicorn's own variable; 127.0.0.1 when unset).
"""

import argparse
from typing import Any

import uvicorn
from uvicorn_worker import UvicornWorker

APPLICATION = "config.asgi:application"

UVICORN_OPTIONS: dict[str, Any] = {
    # uvicorn's websockets-sansio protocol, with keepalive pings (config/uvicorn_keepalive.py).
    "ws": "config.uvicorn_keepalive:KeepaliveWebSocketProtocol",
    "loop": "uvloop",
    "http": "httptools",
    "lifespan": "on",
    "ws_max_size": 1_048_576,
    "ws_per_message_deflate": False,
    "access_log": False,
    "proxy_headers": True,
}


class SocketWorker(UvicornWorker):
    """A gunicorn worker serving the ASGI app with the options above."""

    CONFIG_KWARGS = UVICORN_OPTIONS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve KarmaFeed in one uvicorn process.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    uvicorn.run(APPLICATION, host=args.host, port=args.port, **UVICORN_OPTIONS)


if __name__ == "__main__":
    main()
