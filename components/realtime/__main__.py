"""`python -m components.realtime`: a standalone MagWS, no board around it.

A Pusher-protocol server for one app (for instance to stand in for Soketi):

    MAGWS_SECRET=... python -m components.realtime --app-id 1 --key k --port 6001 --http-port 6002

It serves the WebSocket protocol and the HTTP API only; table changes come from a board
(whose realtime card then runs in connector mode against it).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from .credentials import App
from .service import Servers, raise_open_files_limit, serve_until
from .settings import parse_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.realtime", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6001)
    parser.add_argument("--http-port", type=int, default=6002)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--client-events", action="store_true")
    parser.add_argument("--activity-timeout", type=int, default=120)
    parser.add_argument("--pong-timeout", type=int, default=30)
    parser.add_argument("--compression", action="store_true", help="offer permessage-deflate")
    args = parser.parse_args(argv)
    secret = os.environ.get("MAGWS_SECRET", "")
    if not secret:
        parser.error("set the app's secret in the MAGWS_SECRET environment variable")
    settings = parse_settings(
        {
            "host": args.host,
            "port": args.port,
            "http_port": args.http_port,
            "client_events": args.client_events,
            "activity_timeout": args.activity_timeout,
            "pong_timeout": args.pong_timeout,
            "compression": args.compression,
        }
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    raise_open_files_limit()
    asyncio.run(_run(Servers(App(args.app_id, args.key, secret), settings)))
    return 0


async def _run(servers: Servers) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve_until(servers, stop)


if __name__ == "__main__":
    raise SystemExit(main())
