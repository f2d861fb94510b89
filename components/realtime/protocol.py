"""The Pusher Channels protocol, version 7: frames, channel names and error codes.

Every frame is a JSON text object `{"event", "channel"?, "data"}`; the server sends
`data` as a JSON-encoded string (as Pusher does), clients may send an object or a string.

Error codes (sent as `pusher:error` {code, message} and/or as the WebSocket close code):

    4001  app key not found (do not reconnect)       4005  path not found
    4006  invalid protocol version format            4007  unsupported protocol version
    4008  no protocol version supplied               4009  unauthorized (bad signature)
    4200  closed by the server: reconnect now (a malformed frame)
    4201  pong reply not received: reconnect now     4301  client event refused
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSIONS = range(5, 8)  # pusher-js 7/8 speaks 7
APP_NOT_FOUND = 4001
PATH_NOT_FOUND = 4005
BAD_VERSION = 4006
UNSUPPORTED_VERSION = 4007
NO_VERSION = 4008
UNAUTHORIZED = 4009
RECONNECT = 4200
PONG_TIMEOUT = 4201
CLIENT_EVENT_REFUSED = 4301

SOCKET_ID = re.compile(r"^\d{1,20}\.\d{1,20}$")
CHANNEL_NAME = re.compile(r"^[A-Za-z0-9_\-=@,.;]{1,164}$")
EVENT_NAME_MAX = 200
PRIVATE = "private-"
PRESENCE = "presence-"
ENCRYPTED = "private-encrypted-"
DB_CHANNEL = "private-db."


class Malformed(Exception):
    """A frame that is not a Pusher message (closes the connection with 4200)."""


@dataclass(frozen=True, slots=True)
class Frame:
    event: str
    channel: str | None
    data: Any


def parse_frame(text: str | bytes) -> Frame:
    """Decode one client frame; raise Malformed saying what is wrong with it."""
    if isinstance(text, bytes):
        raise Malformed("binary frames are not part of the Pusher protocol: send JSON text")
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise Malformed(f"frame is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise Malformed("frame must be a JSON object with an `event`")
    event, channel = raw.get("event"), raw.get("channel")
    if not isinstance(event, str) or not event or len(event) > EVENT_NAME_MAX:
        raise Malformed("frame has no `event` string")
    if channel is not None and not isinstance(channel, str):
        raise Malformed("`channel` must be a string")
    data = raw.get("data")
    if isinstance(data, str) and event.startswith("pusher:"):
        try:
            data = json.loads(data) if data else {}
        except ValueError:
            raise Malformed(f"`data` of {event} is a string but not JSON") from None
    return Frame(event, channel, data)


def encode(event: str, data: Any = None, channel: str | None = None, **extra: Any) -> str:
    """Return one server frame as text; `data` goes out JSON-encoded as a string."""
    frame: dict[str, Any] = {"event": event}
    if channel is not None:
        frame["channel"] = channel
    frame["data"] = data if isinstance(data, str) else json.dumps(data if data is not None else {})
    frame.update(extra)
    return json.dumps(frame, separators=(",", ":"))


def error(code: int | None, message: str) -> str:
    return encode("pusher:error", {"code": code, "message": message})


def kind(channel: str) -> str:
    """Return `public`, `private` or `presence`."""
    if channel.startswith(PRESENCE):
        return "presence"
    if channel.startswith(PRIVATE):
        return "private"
    return "public"


def valid_channel(name: object) -> bool:
    return isinstance(name, str) and bool(CHANNEL_NAME.match(name))


def db_target(channel: str) -> tuple[str, str] | None:
    """Return (store, table) of a `private-db.{store}.{table}` channel, else None."""
    if not channel.startswith(DB_CHANNEL):
        return None
    store, dot, table = channel[len(DB_CHANNEL) :].partition(".")
    if not dot or not store or not table or "." in table:
        return None
    return store, table


def db_channel(store: str, table: str) -> str:
    return f"{DB_CHANNEL}{store}.{table}"
