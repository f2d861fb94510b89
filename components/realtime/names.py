"""MagWS's Redis names, all under the board's namespace.

The change stream it reads is MagDS's: `components.datastore.names.changes`.
"""

from __future__ import annotations

from mobo.kernel.keys import Keys

GROUP = "magws"  # the consumer group reading the change feed
CONSUMER = "magws"  # one realtime card per board: its pending entries are its own
IDENTITY_TTL_S = 120


def identity(keys: Keys, socket_id: str, channel: str) -> str:
    """Who `/realtime/v1/auth` authorized for one socket and channel: {role, sub, claims}."""
    return f"{keys.prefix}:rt:sub:{socket_id}:{channel}"


def stats(keys: Keys) -> str:
    """The card's last published state: connections, channels, ports (JSON, with a TTL)."""
    return f"{keys.prefix}:rt:stats"
