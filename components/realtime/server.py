"""MagWS's WebSocket side: Pusher protocol 7 at `/app/{key}`, on websockets' asyncio server.

One coroutine per connection reads frames in order; a frame that is not a Pusher message
closes only its own connection (4200). Subscriptions to `private-` and `presence-`
channels must carry the app's HMAC signature (4009 otherwise); a `private-db.*` channel
also needs the MagAuth identity that `/realtime/v1/auth` stored for the socket, which
the delivery uses to filter rows per subscriber.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from . import protocol as p
from .credentials import App
from .hub import Client, Hub, Identity, Subscription
from .settings import RealtimeSettings
from .signing import SignatureError, check_channel_auth

LOGGER = logging.getLogger(__name__)
IdentityLookup = Callable[[str, str], Awaitable[Identity | None]]
MAX_QUEUE = 16  # frames read ahead per connection (websockets' default)
SWEEP_MAX_S = 5.0  # the activity sweep runs at least this often


class IdentityUnavailable(Exception):
    """The identity store (Redis) did not answer: the subscription may be retried."""


class Running:
    """A started WebSocketServer: websockets' server and the activity sweep."""

    def __init__(self, server: Any, sweep: asyncio.Task[None]) -> None:
        self.server, self.sweep = server, sweep

    def close(self) -> None:
        self.sweep.cancel()
        self.server.close()

    async def wait_closed(self) -> None:
        await asyncio.gather(self.sweep, return_exceptions=True)
        await self.server.wait_closed()


class Refused(Exception):
    """A subscription refused: sent to the client as `pusher:subscription_error`."""

    def __init__(self, kind: str, message: str, status: int, code: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.status, self.code = kind, status, code


class WebSocketServer:
    """Serve the Pusher protocol for one app over a Hub."""

    def __init__(
        self,
        app: App,
        settings: RealtimeSettings,
        hub: Hub,
        identity: IdentityLookup | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.hub = hub
        self.identity = identity

    async def start(self, host: str, port: int) -> Running:
        server = await serve(
            self.handle,
            host,
            port,
            ping_interval=None,  # the Pusher protocol's own pusher:ping keeps connections
            max_size=self.settings.max_message_bytes,
            max_queue=MAX_QUEUE,
            # permessage-deflate keeps a zlib context per connection (~30 KB) and
            # compresses every broadcast once per subscriber; off unless configured
            compression="deflate" if self.settings.compression else None,
        )
        return Running(server, asyncio.create_task(self._sweep()))

    async def handle(self, ws: ServerConnection) -> None:
        url = urlsplit(ws.request.path if ws.request else "/")
        refusal = self._check_url(url.path, parse_qs(url.query))
        if refusal is not None:
            code, message = refusal
            await _close(ws, code, message)
            return
        client = self.hub.connect(ws, self._socket_id())
        client.seen = time.monotonic()
        await ws.send(
            p.encode(
                "pusher:connection_established",
                {"socket_id": client.socket_id, "activity_timeout": self.settings.activity_timeout},
            )
        )
        try:
            async for message in ws:
                client.seen = time.monotonic()
                try:
                    frame = p.parse_frame(message)
                    await self._dispatch(client, frame)
                except p.Malformed as exc:
                    await _close(ws, p.RECONNECT, f"malformed frame: {exc}")
                    break
        except ConnectionClosed:
            pass
        finally:
            for channel, uid in self.hub.disconnect(client):
                self._member_removed(channel, uid)

    def _check_url(self, path: str, query: dict[str, list[str]]) -> tuple[int, str] | None:
        parts = path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "app":
            return p.PATH_NOT_FOUND, f"path {path} not found: connect to /app/{{key}}"
        if parts[1] != self.app.key:
            return p.APP_NOT_FOUND, f"app key {parts[1]} not found on this server"
        version = (query.get("protocol") or [""])[0]
        if not version:
            return p.NO_VERSION, "no protocol version supplied: add ?protocol=7"
        if not version.isdigit():
            return p.BAD_VERSION, f"invalid protocol version {version!r}"
        if int(version) not in p.PROTOCOL_VERSIONS:
            return p.UNSUPPORTED_VERSION, f"unsupported protocol version {version}: use 7"
        return None

    def _socket_id(self) -> str:
        while True:
            found = f"{secrets.randbelow(10**9)}.{secrets.randbelow(10**9)}"
            if found not in self.hub.clients:
                return found

    async def _sweep(self) -> None:
        """Ping clients silent for activity_timeout; close 4201 those that did not answer.

        One task serves every connection (a watchdog task per connection cost memory)."""
        idle, grace = self.settings.activity_timeout, self.settings.pong_timeout
        every = min(SWEEP_MAX_S, idle / 4, grace / 4)
        closing: set[asyncio.Task[None]] = set()
        ping = p.encode("pusher:ping", {})
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            silent = []
            for client in list(self.hub.clients.values()):
                if client.pinged:
                    if client.seen >= client.pinged:
                        client.pinged = 0.0  # it answered (or said anything)
                    elif now - client.pinged >= grace:
                        client.pinged = float("inf")  # closed once
                        task = asyncio.create_task(
                            _close(client.socket, p.PONG_TIMEOUT, "pong reply not received")
                        )
                        closing.add(task)
                        task.add_done_callback(closing.discard)
                    continue
                if now - client.seen >= idle:
                    client.pinged = now
                    silent.append(client.socket)
            if silent:
                self.hub.send_to(silent, ping)

    async def _dispatch(self, client: Client, frame: p.Frame) -> None:
        event = frame.event
        if event == "pusher:ping":
            await client.socket.send(p.encode("pusher:pong", {}))
        elif event == "pusher:pong":
            pass
        elif event == "pusher:subscribe":
            await self._subscribe(client, _fields(frame))
        elif event == "pusher:unsubscribe":
            channel = _fields(frame).get("channel")
            if isinstance(channel, str):
                uid = self.hub.unsubscribe(client, channel)
                if uid is not None:
                    self._member_removed(channel, uid)
        elif event.startswith("client-"):
            await self._client_event(client, frame)
        else:
            await client.socket.send(p.error(None, f"unknown event {event!r}"))

    async def _subscribe(self, client: Client, data: dict[str, Any]) -> None:
        channel = data.get("channel")
        if not isinstance(channel, str):
            raise p.Malformed("pusher:subscribe needs data.channel")
        try:
            sub = await self._authorize(client, channel, data)
        except Refused as exc:
            body = {"type": exc.kind, "error": str(exc), "status": exc.status}
            if exc.code is not None:
                body["code"] = exc.code
            await client.socket.send(p.encode("pusher:subscription_error", body, channel))
            return
        joined = self.hub.subscribe(client, channel, sub)
        if p.kind(channel) == "presence":
            state = self.hub.channels[channel].presence_data()
            await client.socket.send(
                p.encode("pusher_internal:subscription_succeeded", state, channel)
            )
            if joined and sub.member is not None:
                uid, info = sub.member
                message = p.encode(
                    "pusher_internal:member_added", {"user_id": uid, "user_info": info}, channel
                )
                self.hub.send(channel, message, exclude=client.socket_id)
        else:
            await client.socket.send(
                p.encode("pusher_internal:subscription_succeeded", {}, channel)
            )

    async def _authorize(self, client: Client, channel: str, data: dict[str, Any]) -> Subscription:
        if not p.valid_channel(channel):
            raise Refused(
                "InvalidChannel",
                "channel names are 1-164 characters of A-Z a-z 0-9 _ - = @ , . ;",
                400,
            )
        kind = p.kind(channel)
        if kind == "public":
            return Subscription(client)
        if channel.startswith(p.ENCRYPTED):
            raise Refused("UnsupportedChannel", "encrypted channels are not supported", 400)
        channel_data = data.get("channel_data") if kind == "presence" else None
        if kind == "presence" and not isinstance(channel_data, str):
            raise Refused("AuthError", "presence channels need channel_data", 401, p.UNAUTHORIZED)
        try:
            check_channel_auth(self.app, client.socket_id, channel, data.get("auth"), channel_data)
        except SignatureError as exc:
            raise Refused("AuthError", str(exc), 401, p.UNAUTHORIZED) from None
        identity = None
        if p.db_target(channel) is not None and self.identity is not None:
            # on a board, table channels need the identity /realtime/v1/auth stored (rows
            # are filtered with it); standalone (no board) they are plain private channels
            try:
                identity = await self.identity(client.socket_id, channel)
            except IdentityUnavailable as exc:
                raise Refused("ServerError", f"{exc}: subscribe again shortly", 503) from None
            if identity is None:
                raise Refused(
                    "AuthError",
                    "table channels are authorized by the board's /realtime/v1/auth",
                    401,
                    p.UNAUTHORIZED,
                )
        member = self._member(channel, channel_data) if kind == "presence" else None
        return Subscription(client, identity, member)

    def _member(self, channel: str, channel_data: str | None) -> tuple[str, Any]:
        try:
            parsed = json.loads(channel_data or "")
        except ValueError:
            raise Refused("AuthError", "channel_data is not JSON", 400) from None
        uid = parsed.get("user_id") if isinstance(parsed, dict) else None
        if not isinstance(uid, str | int) or uid == "":
            raise Refused("AuthError", "channel_data needs a user_id", 400)
        found = self.hub.channels.get(channel)
        members = found.members if found else {}
        if str(uid) not in members and len(members) >= self.settings.max_presence_members:
            raise Refused("LimitReached", "the presence channel is full", 403)
        return str(uid), parsed.get("user_info")

    async def _client_event(self, client: Client, frame: p.Frame) -> None:
        channel = frame.channel
        refusal = None
        if not self.settings.client_events:
            refusal = "client events are disabled: set [realtime] client_events = true"
        elif channel is None or p.kind(channel) == "public":
            refusal = "client events go only to private- and presence- channels"
        elif p.db_target(channel) is not None:
            refusal = "table channels carry only the board's changes"
        elif channel not in client.channels:
            refusal = f"subscribe to {channel} before sending client events on it"
        if refusal is not None:
            await client.socket.send(p.error(None, refusal))
            return
        extra: dict[str, Any] = {}
        sub = self.hub.channels[channel].subs.get(client.socket_id)
        if sub is not None and sub.member is not None:
            extra["user_id"] = sub.member[0]
        data = frame.data if isinstance(frame.data, str) else json.dumps(frame.data)
        message = p.encode(frame.event, data, channel, **extra)
        self.hub.send(channel, message, exclude=client.socket_id)

    def _member_removed(self, channel: str, uid: str) -> None:
        message = p.encode("pusher_internal:member_removed", {"user_id": uid}, channel)
        self.hub.send(channel, message)


def _fields(frame: p.Frame) -> dict[str, Any]:
    if not isinstance(frame.data, dict):
        raise p.Malformed(f"{frame.event} needs a `data` object")
    return frame.data


async def _close(ws: ServerConnection, code: int, message: str) -> None:
    """Tell the client why (pusher:error), then close with the same code."""
    try:
        await ws.send(p.error(code, message))
        await ws.close(code, message.encode()[:120].decode(errors="ignore"))
    except ConnectionClosed:
        pass
