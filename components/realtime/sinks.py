"""Where a change goes: this card's own subscribers, or an external Pusher server."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from typing import Any

from . import protocol as p
from .hub import Hub, Identity
from .publisher import PusherClient
from .rows import RowFilter, fetch_row

LOGGER = logging.getLogger(__name__)
RESTRICTED_TTL_S = 30.0


def payload(change: dict[str, Any]) -> dict[str, Any]:
    """The event's data: the stream entry without its id."""
    return {k: v for k, v in change.items() if k != "id"}


async def resolve(stores: Any, change: dict[str, Any]) -> dict[str, Any]:
    """Fill in a row sent by reference (too large for the stream) from the store."""
    if not change.get("ref") or change.get("op") == "delete":
        return change
    row = await asyncio.to_thread(fetch_row, stores, change)
    return {**change, "new": row} if row is not None else change


class LocalSink:
    """Send each change to this server's subscribers of `private-db.{store}.{table}`."""

    def __init__(self, hub: Hub, stores: Any, rows: RowFilter) -> None:
        self.hub = hub
        self.stores = stores
        self.rows = rows

    async def __call__(self, change: dict[str, Any]) -> None:
        channel = p.db_channel(change["store"], change["table"])
        subs = self.hub.subscribers(channel)
        if not subs:
            return
        change = await resolve(self.stores, payload(change))
        groups: dict[str, list[Any]] = defaultdict(list)
        identities: dict[str, Identity] = {}
        for sub in subs:
            if sub.identity is not None:
                groups[sub.identity.key].append(sub.client.socket)
                identities[sub.identity.key] = sub.identity
        # identities that see the same object share one encoded frame (service_role and
        # every identity without a per-row rule see `change` itself): encode once, then
        # websockets' broadcast() writes the same bytes to each socket
        frames: dict[int, tuple[Any, str]] = {}
        for key, sockets in groups.items():
            seen = await self._visible(identities[key], change)
            if seen is None:
                continue
            found = frames.get(id(seen))  # the tuple keeps `seen` alive: ids stay unique
            if found is None:
                found = frames[id(seen)] = (seen, p.encode(change["op"], json.dumps(seen), channel))
            self.hub.send_to(sockets, found[1])

    async def _visible(self, identity: Identity, change: dict[str, Any]) -> Any:
        if self.rows.queries(identity, change["store"]):
            return await asyncio.to_thread(self.rows.visible, identity, change)
        return self.rows.visible(identity, change)


class ConnectorSink:
    """Publish each change to the external server's HTTP API (connector mode).

    The external server cannot filter per subscriber: on tables whose rows differ per
    subscriber (an ownership rule, or RLS on PostgreSQL) the event carries only the
    primary key (`new`, `old` null, `restricted` true) and clients read the row through
    the REST API, which applies the rules."""

    def __init__(self, client: PusherClient, stores: Any, rows: RowFilter) -> None:
        self.client = client
        self.stores = stores
        self.rows = rows
        self._restricted: dict[tuple[str, str], tuple[bool, float]] = {}

    async def __call__(self, change: dict[str, Any]) -> None:
        data = await resolve(self.stores, payload(change))
        if await self._is_restricted(data["store"], data["table"]):
            data = {**data, "new": None, "old": None, "ref": None, "restricted": True}
        channel = p.db_channel(data["store"], data["table"])
        await asyncio.to_thread(self.client.trigger, channel, data["op"], json.dumps(data))

    async def _is_restricted(self, store: str, table: str) -> bool:
        cached = self._restricted.get((store, table))
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        found = await asyncio.to_thread(self.rows.restricted, store, table)
        self._restricted[(store, table)] = (found, time.monotonic() + RESTRICTED_TTL_S)
        return found
