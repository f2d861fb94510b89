"""`[realtime]` in mobo.toml: where MagWS listens, or which external server it feeds.

    [realtime]
    host = "127.0.0.1"        # WebSocket server (Pusher protocol 7 at /app/{key})
    port = 6001
    http_port = 6002          # Pusher's HTTP API (/apps/{app_id}/...)
    client_events = false     # relay `client-*` events on private and presence channels
    activity_timeout = 120    # s of silence before the server pings a client
    pong_timeout = 30         # s to answer that ping before the close (4201)
    replay_grace = 5          # s after a (re)start before the backlog is delivered
    compression = false       # offer permessage-deflate (~30 KB more per connection)
    external = ""             # "http://soketi:6001": connector mode, no server of our own
    external_app_id = ""
    external_key = ""
    external_secret = ""

`max_row_bytes`, `capture` and `stream_maxlen` belong to MagDS's change feed (see
docs/change-feed.md); they are accepted here and read by `components.datastore.capture`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from components.datastore.capture.settings import KEYS as CAPTURE_KEYS
from mobo.exceptions import ConfigError

BOUNDS: dict[str, tuple[float, float]] = {
    "port": (1, 65535),
    "http_port": (1, 65535),
    "activity_timeout": (1, 3600),
    "pong_timeout": (1, 600),
    "replay_grace": (0, 3600),
    "max_message_bytes": (1024, 16 * 1024 * 1024),
    "max_presence_members": (1, 100_000),
}


@dataclass(frozen=True, slots=True)
class RealtimeSettings:
    host: str = "127.0.0.1"
    port: int = 6001
    http_port: int = 6002
    client_events: bool = False
    activity_timeout: int = 120
    pong_timeout: int = 30
    replay_grace: float = 5.0
    max_message_bytes: int = 102_400
    max_presence_members: int = 100
    compression: bool = False
    external: str = ""
    external_app_id: str = ""
    external_key: str = ""
    external_secret: str = ""

    @property
    def connector(self) -> bool:
        """True in connector mode: changes go to an external Pusher-protocol server."""
        return bool(self.external)


def load_settings(config: Any) -> RealtimeSettings:
    """Read and validate the board's `[realtime]` section."""
    return parse_settings(config.section("realtime"))


def parse_settings(raw: Mapping[str, Any]) -> RealtimeSettings:
    """Validate a `[realtime]` table; raise ConfigError naming the bad key and value."""
    types = {f.name: f.type for f in fields(RealtimeSettings)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in CAPTURE_KEYS:
            continue
        if key not in types:
            known = ", ".join([*types, *CAPTURE_KEYS])
            raise ConfigError(
                f"unknown key `realtime.{key}`", hint=f"known keys in [realtime]: {known}"
            )
        values[key] = _convert(key, value, str(types[key]))
    settings = RealtimeSettings(**values)
    _check(settings)
    return settings


def _convert(key: str, value: Any, kind: str) -> Any:
    where = f"realtime.{key} = {value!r}"
    if kind == "bool":
        word = str(value).strip().lower()
        if isinstance(value, bool) or word in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value if isinstance(value, bool) else word in ("1", "true", "yes", "on")
        raise ConfigError(f"{where} is invalid: expected true or false")
    if kind in ("int", "float"):
        try:
            number = int(value) if kind == "int" else float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} is invalid: expected a number") from None
        if isinstance(value, bool):
            raise ConfigError(f"{where} is invalid: expected a number")
        lo, hi = BOUNDS.get(key, (float("-inf"), float("inf")))
        if not lo <= number <= hi:
            raise ConfigError(f"{where} is out of range", hint=f"allowed: {lo:g} to {hi:g}")
        return number
    if not isinstance(value, str):
        raise ConfigError(f"{where} is invalid: expected a string")
    return value.strip()


def _check(settings: RealtimeSettings) -> None:
    if not settings.connector:
        if settings.port == settings.http_port:
            raise ConfigError(
                f"realtime.http_port = {settings.http_port} is the WebSocket port too",
                hint="give the HTTP API its own port (default 6002)",
            )
        return
    url = urlsplit(settings.external)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(
            f"realtime.external = {settings.external!r} is not an http(s) URL",
            hint='e.g. external = "http://soketi.internal:6001"',
        )
    missing = [
        f"realtime.{k}"
        for k in ("external_app_id", "external_key", "external_secret")
        if not getattr(settings, k)
    ]
    if missing:
        raise ConfigError(
            f"connector mode (realtime.external) needs {', '.join(missing)}",
            hint="set the external server's app id, key and secret in [realtime] "
            "(or MOBO_REALTIME_EXTERNAL_SECRET in the environment)",
        )
