"""Run MagWS's servers in one event loop: the WebSocket server and Pusher's HTTP API."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from .api import PusherApi
from .credentials import App
from .httpd import start_http
from .hub import Hub
from .server import IdentityLookup, WebSocketServer
from .settings import RealtimeSettings

LOGGER = logging.getLogger(__name__)


@dataclass
class Servers:
    """The running WebSocket and HTTP servers of one MagWS."""

    app: App
    settings: RealtimeSettings
    hub: Hub = field(default_factory=Hub)
    handles: list[Any] = field(default_factory=list)

    async def start(self, identity: IdentityLookup | None = None) -> None:
        s = self.settings
        ws = WebSocketServer(self.app, s, self.hub, identity)
        self.handles.append(await ws.start(s.host, s.port))
        self.handles.append(await start_http(s.host, s.http_port, PusherApi(self.app, self.hub)))
        LOGGER.info(
            "MagWS on ws://%s:%d/app/%s, HTTP API on :%d", s.host, s.port, self.app.key, s.http_port
        )

    async def stop(self) -> None:
        for handle in self.handles:
            handle.close()
        for handle in self.handles:
            await handle.wait_closed()
        self.handles.clear()


async def serve_until(servers: Servers, stop: asyncio.Event) -> None:
    """Start the servers, then serve until `stop` is set."""
    await servers.start()
    try:
        await stop.wait()
    finally:
        await servers.stop()
