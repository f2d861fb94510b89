"""From MagDS's change feed to subscribers: a consumer group, acked after delivery.

    XGROUP CREATE <ns>:rt:changes magws 0 MKSTREAM      (once; the group starts at the
                                                          stream's oldest entry)
    wait [realtime] replay_grace s                      (clients reconnect meanwhile)
    XREADGROUP ... 0      -> entries read before a restart but never acked: delivered now
    XREADGROUP ... >      -> new entries, blocking
    XACK                  after the entries of a batch were sent to every subscriber
                          allowed to see them (one round trip per batch)

An entry whose delivery fails on a store error (the database is down) stays pending and
is retried; an entry that cannot be parsed is logged and acked (it can never succeed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio as aredis

from components.datastore.capture import entry
from mobo.exceptions import DatastoreError

from . import names

LOGGER = logging.getLogger(__name__)
BATCH = 100
BLOCK_MS = 1000
RETRY_S = 1.0
Sink = Callable[[dict[str, Any]], Awaitable[None]]


class Consumer:
    """Read the change stream with the `magws` group and hand each change to `sink`."""

    def __init__(self, client: aredis.Redis, stream: str, sink: Sink, grace: float) -> None:
        self.client = client
        self.stream = stream
        self.sink = sink
        self.grace = grace
        self.delivered = 0

    async def run(self, stop: asyncio.Event) -> None:
        if await _wait(stop, self.grace):
            return
        backlog = True
        while not stop.is_set():
            try:
                await self._ensure_group()
                backlog = await self._round(backlog)
            except (redis.RedisError, OSError) as exc:
                LOGGER.warning("change stream unreachable (%s); retrying", exc)
                backlog = True  # after Redis comes back, re-read what is pending first
                if await _wait(stop, RETRY_S):
                    return

    async def _ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(self.stream, names.GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _round(self, backlog: bool) -> bool:
        """Deliver one batch; return whether pending entries may remain."""
        start = "0" if backlog else ">"
        found = await self.client.xreadgroup(
            names.GROUP,
            names.CONSUMER,
            {self.stream: start},
            count=BATCH,
            block=None if backlog else BLOCK_MS,
        )
        entries = found[0][1] if found else []
        done: list[bytes] = []  # delivered, acked together (a crash before: sent again)
        for entry_id, fields in entries:
            if not await self._one(entry_id, fields):
                await self._ack(done)
                await asyncio.sleep(RETRY_S)
                return True  # retry from the first pending entry
            done.append(entry_id)
        await self._ack(done)
        return backlog and bool(entries)

    async def _one(self, entry_id: bytes, fields: dict[bytes, bytes] | None) -> bool:
        change = _decode(entry_id, fields)
        if change is not None:
            try:
                await self.sink(change)
            except DatastoreError as exc:
                LOGGER.warning("change %s not delivered yet: %s", entry_id.decode(), exc)
                return False
        return True

    async def _ack(self, done: list[bytes]) -> None:
        """XACK the entries delivered, in one round trip."""
        if done:
            await self.client.xack(self.stream, names.GROUP, *done)
            self.delivered += len(done)


def _decode(entry_id: bytes, fields: dict[bytes, bytes] | None) -> dict[str, Any] | None:
    change = entry.decode(fields)
    if change is None:
        LOGGER.error("change stream entry %s is not a change; skipped", entry_id.decode())
    return change


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; return True if `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
        return True
    except TimeoutError:
        return False
