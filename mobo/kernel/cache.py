"""The board's cache: JSON values in Redis with a TTL, behind a small in-process LRU.

Entries live at `<prefix>:cache:<key>`. Each process keeps a bounded local copy of the
entries it read or wrote, for no longer than the entry's TTL nor `local_ttl`. Writes
(`set`, `delete`, `invalidate`) go to Redis and announce `cache.invalidated` on the bus,
so every other process of the board drops its local copy. The local layer is used only
while the bus is listening: a process that may have missed invalidations (no bus, bus
not started, Redis outage) reads Redis directly, and it forgets its local copies
whenever the bus reconnects.

The cache never fails a request because of Redis: with Redis down, reads miss,
`get_or_set` calls the factory, and writes are skipped with a (rate-limited) warning.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

import redis

from mobo import defaults
from mobo.events import Event
from mobo.kernel.bus import Bus, RedisGuard, fail_fast, redis_url
from mobo.kernel.keys import Keys

LOGGER = logging.getLogger(__name__)

LOCAL_SIZE = 1024  # entries kept in each process's local layer
LOCAL_TTL_S = 10.0  # longest a local copy is trusted, whatever the entry's TTL
SCAN_COUNT = 500  # SCAN page size when invalidating by pattern

_MISS = object()
_REDIS_ERRORS = (redis.RedisError, OSError)


class _LocalLayer:
    """A thread-safe LRU of raw JSON values with per-entry expiry."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0  # bumped on every drop, so a racing read cannot re-add old data

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[1] <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, raw: bytes, ttl_s: float, generation: int) -> None:
        with self._lock:
            if generation != self.generation or ttl_s <= 0:
                return
            self._entries[key] = (raw, time.monotonic() + ttl_s)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def drop(self, keys: list[str], pattern: str | None = None) -> None:
        with self._lock:
            self.generation += 1
            for key in keys:
                self._entries.pop(key, None)
            if pattern is not None:
                for key in [k for k in self._entries if fnmatchcase(k, pattern)]:
                    del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


class Cache:
    """Redis-backed TTL cache with a local LRU layer kept coherent over the bus."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        bus: Bus | None,
        *,
        default_ttl: float = defaults.CACHE_TTL_S,
        local_size: int = LOCAL_SIZE,
        local_ttl: float = LOCAL_TTL_S,
    ) -> None:
        self._redis = fail_fast(client, timeout_s=defaults.REDIS_CONNECT_TIMEOUT_S)
        self._keys = keys
        self._bus = bus
        self._default_ttl = default_ttl
        self._local_ttl = local_ttl
        self._local = _LocalLayer(local_size)
        self._epoch = -1
        self._guard = RedisGuard("cache", redis_url(client))
        self._origin = uuid.uuid4().hex
        self._subscription = bus.on("cache.invalidated", self._on_invalidated) if bus else None

    # -- reading

    def get(self, key: str, default: Any = None) -> Any:
        """Return the cached value, or `default` on a miss (or when Redis is down)."""
        value = self._decode(key, self._lookup(key))
        return default if value is _MISS else value

    def get_or_set(self, key: str, factory: Callable[[], Any], ttl: float | None = None) -> Any:
        """Return the cached value, or compute it with `factory()`, cache it and return it."""
        value = self._decode(key, self._lookup(key))
        if value is not _MISS:
            return value
        value = factory()
        self._store(key, value, ttl, announce=False)  # a fill cannot make a copy elsewhere stale
        return value

    def _lookup(self, key: str) -> bytes | object:
        local = self._local_enabled()
        if local and (raw := self._local.get(key)) is not None:
            return raw
        if not self._guard.allow():
            return _MISS
        generation = self._local.generation
        try:
            raw, pttl = self._fetch(key)
        except _REDIS_ERRORS as exc:
            self._guard.failed(exc)
            return _MISS
        self._guard.succeeded()
        if raw is None:
            return _MISS
        if local:
            self._local.put(key, raw, self._local_expiry(pttl / 1000), generation)
        return raw

    def _fetch(self, key: str) -> tuple[bytes | None, int]:
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self._keys.cache(key))
        pipe.pttl(self._keys.cache(key))
        raw, pttl = pipe.execute()
        return raw, pttl

    def _decode(self, key: str, raw: bytes | object) -> Any:
        if raw is _MISS:
            return _MISS
        try:
            return json.loads(raw)  # type: ignore[arg-type]
        except ValueError:
            LOGGER.warning("cache: entry %r is not JSON; treating it as a miss", key)
            return _MISS

    # -- writing

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Cache a JSON-serialisable value for `ttl` seconds (default: `default_ttl`)."""
        self._store(key, value, ttl, announce=True)

    def _store(self, key: str, value: Any, ttl: float | None, *, announce: bool) -> None:
        raw = json.dumps(value, separators=(",", ":")).encode()
        ttl_s = self._default_ttl if ttl is None else ttl
        if ttl_s <= 0:
            raise ValueError(f"cache ttl must be positive seconds, not {ttl_s!r}")
        local = self._local_enabled()
        generation = self._local.generation
        if not self._write(key, raw, ttl_s):
            self._local.drop([key])
            return
        if local:
            self._local.put(key, raw, self._local_expiry(ttl_s), generation)
        if announce:
            self._announce([key], None)

    def _write(self, key: str, raw: bytes, ttl_s: float) -> bool:
        if not self._guard.allow():
            return False
        try:
            self._redis.set(self._keys.cache(key), raw, px=max(1, int(ttl_s * 1000)))
        except _REDIS_ERRORS as exc:
            self._guard.failed(exc)
            return False
        self._guard.succeeded()
        return True

    def delete(self, key: str) -> bool:
        """Remove one entry on every process; return whether Redis had it."""
        return self.invalidate(key) > 0

    def invalidate(self, *keys: str, pattern: str | None = None) -> int:
        """Remove entries by name and/or glob on every process; return how many Redis had."""
        names = list(keys)
        self._local.drop(names, pattern)
        removed = self._remove(names, pattern)
        self._announce(names, pattern)
        return removed

    def _remove(self, names: list[str], pattern: str | None) -> int:
        if not self._guard.allow():
            return 0
        try:
            removed = self._unlink([self._keys.cache(k) for k in names])
            if pattern is not None:
                removed += self._unlink_matching(self._keys.cache(pattern))
        except _REDIS_ERRORS as exc:
            self._guard.failed(exc)
            return 0
        self._guard.succeeded()
        return removed

    def _unlink(self, names: list[str]) -> int:
        return int(self._redis.unlink(*names)) if names else 0

    def _unlink_matching(self, match: str) -> int:
        removed, batch = 0, []
        for name in self._redis.scan_iter(match=match, count=SCAN_COUNT):
            batch.append(name)
            if len(batch) >= SCAN_COUNT:
                removed, batch = removed + self._unlink(batch), []
        return removed + self._unlink(batch)

    # -- the local layer and the bus

    def _local_enabled(self) -> bool:
        """Use the local layer only while invalidations can reach this process."""
        bus = self._bus
        if bus is None or not bus.listening:
            return False
        if bus.epoch != self._epoch:
            self._local.clear()  # invalidations may have been missed while disconnected
            self._epoch = bus.epoch
        return True

    def _local_expiry(self, ttl_s: float) -> float:
        return min(ttl_s, self._local_ttl)

    def _announce(self, names: list[str], pattern: str | None) -> None:
        if self._bus is not None:
            data = {"keys": names, "pattern": pattern, "origin": self._origin}
            self._bus.emit("cache.invalidated", data)

    def _on_invalidated(self, event: Event) -> None:
        if event.data.get("origin") == self._origin:
            return
        names = [str(k) for k in event.data.get("keys") or []]
        self._local.drop(names, event.data.get("pattern"))

    def close(self) -> None:
        """Stop listening for invalidations and release connections."""
        if self._bus is not None and self._subscription is not None:
            self._bus.off(self._subscription)
        self._redis.connection_pool.disconnect()
