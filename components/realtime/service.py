"""Run MagWS's servers in one event loop: the WebSocket server and Pusher's HTTP API."""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass, field
from typing import Any

from .api import PusherApi
from .credentials import App
from .httpd import start_http
from .hub import Hub
from .server import IdentityLookup, WebSocketServer
from .settings import RealtimeSettings

LOGGER = logging.getLogger(__name__)
OPEN_FILES_WANTED = 65_536  # soft limit to ask for when the hard one is unlimited


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


def raise_open_files_limit() -> int:
    """Raise the soft limit of open files to the hard one (each connection is a socket;
    a common soft default is 1,024); return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, OPEN_FILES_WANTED)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            LOGGER.warning("cannot raise the open files limit above %d: %s", soft, exc)
            return soft
        return target
    return soft
