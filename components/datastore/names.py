"""MagDS's Redis names, all under the board's namespace."""

from __future__ import annotations

from mobo.kernel.keys import Keys


def changes(keys: Keys) -> str:
    """The durable change feed: a stream (XADD MAXLEN ~) of committed row changes, one
    field `c` holding the change as JSON (see docs/change-feed.md).

    Its name predates MagDS owning the feed (`rt` for realtime, its first reader); it
    stays so that a board's unread changes survive an upgrade.
    """
    return f"{keys.prefix}:rt:changes"
