"""The writing process's side of the change feed: it XADDs its committed changes.

`Datastores` (components/datastore/stores.py) calls `stream_for(config)` once; when a
card that reads the feed is plugged it gets a `ChangeStream`, and after every committed
write it hands the changes to `write()` right after the `data.change` emit: one
pipelined XADD round trip to the durable stream, so a change made while the reader is
down waits there. Stores captured in the database (Postgres with `[realtime] capture =
true`) are skipped, so nothing is sent twice. Like the bus, it never fails a write: when
Redis is down the XADD is dropped, counted and logged now and then.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import redis

from mobo import defaults
from mobo.kernel.bus import RedisGuard, fail_fast, pipelined, redis_url
from mobo.kernel.keys import Keys
from mobo.kernel.redisconn import connect

from .. import names
from ..changes import Change
from .entry import from_magds, xadd
from .settings import CaptureSettings, load_capture_settings

LOGGER = logging.getLogger(__name__)

# What a card names in its manifest's `consumes` to read the feed: with no such card
# plugged nothing is written (a stream nobody reads would only cost a round trip per write)
FACILITY = "datastore.changes"
_ERRORS = (redis.RedisError, OSError)


def feed_read(config: Any) -> bool:
    """Tell whether this board has a card plugged that reads the change feed."""
    from mobo.kernel.registry import Registry

    return bool(Registry.discover().consumers(FACILITY, config.cards.unplugged))


def stream_for(config: Any) -> ChangeStream | None:
    """The board's change stream writer, or None when no card reads the feed."""
    if not feed_read(config):
        return None
    from . import captured_stores

    return ChangeStream(
        config.redis.url or defaults.REDIS_URL,
        Keys(config.namespace),
        load_capture_settings(config),
        skip=frozenset(captured_stores(config)),
    )


class ChangeStream:
    """XADD the changes of writes made through MagDS to the feed's stream."""

    def __init__(
        self, url: str, keys: Keys, settings: CaptureSettings, *, skip: frozenset[str]
    ) -> None:
        self._url = url
        self._stream = names.changes(keys)
        self._settings = settings
        self.skip = skip
        self._lock = threading.Lock()
        self._client: redis.Redis | None = None
        self._pid = 0
        self._guard: RedisGuard | None = None
        self.dropped = 0

    def write(self, changes: Sequence[Change]) -> None:
        """Append the changes of one committed write; never raise because of Redis."""
        if not changes or changes[0].store in self.skip:
            return
        client, guard = self._connection()
        if not guard.allow():
            self.dropped += len(changes)
            return
        maxlen = self._settings.stream_maxlen
        commands = [xadd(self._stream, maxlen, e) for e in from_magds(changes, self._max())]
        try:
            pipelined(client, *commands)
        except _ERRORS as exc:
            self.dropped += len(changes)
            guard.failed(exc)
        else:
            guard.succeeded()

    def _max(self) -> int:
        return self._settings.max_row_bytes

    def _connection(self) -> tuple[redis.Redis, RedisGuard]:
        """This process's client (a forked child makes its own)."""
        pid = os.getpid()
        if self._client is None or self._pid != pid or self._guard is None:
            with self._lock:
                if self._client is None or self._pid != pid or self._guard is None:
                    client = fail_fast(
                        connect(self._url), timeout_s=defaults.REDIS_CONNECT_TIMEOUT_S
                    )
                    self._guard = RedisGuard("change feed stream", redis_url(client))
                    self._client, self._pid = client, pid
        return self._client, self._guard
