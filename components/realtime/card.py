"""The realtime card's process: servers (or connector), feed capture, delivery, stats.

Everything runs in one asyncio event loop; store queries (per-row checks, rows sent by
reference) run in threads. `board.stop_requested` stops the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from typing import Any

import redis
import redis.asyncio as aredis

from components.datastore import names as feed
from components.datastore.access import load_permissions
from components.datastore.capture import ChangeCapture
from components.datastore.stores import Datastores
from mobo.contract import Board
from mobo.exceptions import ComponentFatal, ComponentNotReady, ConfigError

from . import names
from .credentials import App, local_app
from .delivery import Consumer
from .hub import Hub, Identity
from .publisher import PublishError, PusherClient
from .rows import RowFilter
from .server import IdentityUnavailable
from .service import Servers, raise_open_files_limit
from .settings import RealtimeSettings, load_settings
from .sinks import ConnectorSink, LocalSink

LOGGER = logging.getLogger(__name__)
STATS_EVERY_S = 2.0
STATS_TTL_S = 10
REDIS_POOL = 32  # connections to the board's Redis (identity lookups, stream, stats)
REDIS_POOL_WAIT_S = 10.0  # a lookup waits this long for a free one


def run(board: Board) -> None:
    """Set up, report ready, and serve until the board asks the card to stop."""
    try:
        settings = load_settings(board.config)
        app = local_app(board.config)
        permissions = _permissions(board)
    except ConfigError as exc:
        raise ComponentFatal(str(exc)) from None
    limit = raise_open_files_limit()
    LOGGER.info("open files limit %d (about as many WebSocket connections)", limit)
    capture = _start_capture(board)
    try:
        asyncio.run(_main(board, settings, app, RowFilter(Datastores.of(board), permissions)))
    finally:
        capture.stop()


def _permissions(board: Board) -> Any:
    return load_permissions(board.config, Datastores.of(board))


def _start_capture(board: Board) -> ChangeCapture:
    # MagDS owns the feed but has no process of its own: the Postgres capture threads
    # run in the process of the card that reads the feed
    capture = ChangeCapture(board)
    capture.start()
    return capture


async def _main(board: Board, settings: RealtimeSettings, app: App, rows: RowFilter) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(
        target=lambda: (board.stop_requested.wait(), loop.call_soon_threadsafe(stop.set)),
        daemon=True,
        name="stop-watch",
    ).start()
    client = _redis(board.redis_url)
    hub = Hub()
    servers = None
    try:
        if settings.connector:
            sink: Any = ConnectorSink(_external(settings), Datastores.of(board), rows)
            url = settings.external
        else:
            servers = Servers(app, settings, hub)
            await _listen(servers, _identity_lookup(client, board))
            sink = LocalSink(hub, Datastores.of(board), rows)
            url = f"ws://{settings.host}:{settings.port}"
        board.ready(url=url, detail="connector" if settings.connector else "serving")
        consumer = Consumer(client, feed.changes(board.keys), sink, settings.replay_grace)
        tasks = [
            asyncio.create_task(consumer.run(stop)),
            asyncio.create_task(_publish_stats(client, board, settings, app, hub, consumer, stop)),
        ]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if servers is not None:
            await servers.stop()
        await client.aclose()


def _redis(url: str) -> aredis.Redis:
    """The card's Redis client: a bounded pool where a burst of subscriptions (one identity
    lookup each) waits for a connection instead of failing with "Too many connections"."""
    pool = aredis.BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_POOL,
        timeout=REDIS_POOL_WAIT_S,
        socket_connect_timeout=2.0,
    )
    return aredis.Redis.from_pool(pool)  # closed with the client


def _external(settings: RealtimeSettings) -> PusherClient:
    app = App(settings.external_app_id, settings.external_key, settings.external_secret)
    return PusherClient(settings.external, app)


async def _listen(servers: Servers, lookup: Any) -> None:
    try:
        await servers.start(lookup)
    except OSError as exc:
        await servers.stop()
        s = servers.settings
        raise ComponentNotReady(
            f"cannot listen on {s.host}:{s.port}/{s.http_port}: {exc.strerror or exc}"
        ) from None


def _identity_lookup(client: aredis.Redis, board: Board) -> Any:
    async def lookup(socket_id: str, channel: str) -> Identity | None:
        try:
            raw = await client.get(names.identity(board.keys, socket_id, channel))
        except (redis.RedisError, OSError) as exc:
            LOGGER.warning("identity lookup for %s failed: %s", socket_id, exc)
            raise IdentityUnavailable("the board's Redis did not answer") from None
        if raw is None:
            return None
        try:
            found = json.loads(raw)
            return Identity(str(found["role"]), found.get("sub"), dict(found.get("claims") or {}))
        except (ValueError, KeyError, TypeError):
            return None

    return lookup


async def _publish_stats(
    client: aredis.Redis,
    board: Board,
    settings: RealtimeSettings,
    app: App,
    hub: Hub,
    consumer: Consumer,
    stop: asyncio.Event,
) -> None:
    """Keep `<ns>:rt:stats` fresh for `mobo realtime:status`."""
    while not stop.is_set():
        stats = {
            "mode": "connector" if settings.connector else "server",
            "external": settings.external,
            "host": settings.host,
            "port": settings.port,
            "http_port": settings.http_port,
            "app_id": app.app_id,
            "key": app.key,
            "delivered": consumer.delivered,
            **hub.stats(),
        }
        with contextlib.suppress(Exception):
            await client.set(names.stats(board.keys), json.dumps(stats), ex=STATS_TTL_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STATS_EVERY_S)


__all__ = ["PublishError", "run"]
