"""MagWS's Redis names, all under the board's namespace."""

from __future__ import annotations

from mobo.kernel.keys import Keys

GROUP = "magws"  # the consumer group reading the change stream
CONSUMER = "magws"  # one realtime card per board: its pending entries are its own
IDENTITY_TTL_S = 120


def changes(keys: Keys) -> str:
    """The durable change stream (change capture writes, the realtime card reads)."""
    return keys.realtime_changes


def identity(keys: Keys, socket_id: str, channel: str) -> str:
    """Who `/realtime/v1/auth` authorized for one socket and channel: {role, sub, claims}."""
    return f"{keys.prefix}:rt:sub:{socket_id}:{channel}"


def stats(keys: Keys) -> str:
    """The card's last published state: connections, channels, ports (JSON, with a TTL)."""
    return f"{keys.prefix}:rt:stats"
