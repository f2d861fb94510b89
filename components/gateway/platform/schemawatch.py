"""Keep each worker's view of the stores' schemas fresh without a restart.

Every `[gateway] schema_check_interval` seconds, a thread in each worker reads the
fingerprint (fingerprint.py) of every store this process has opened; when it moved, the
adapter reloads its schema (`refresh_schema`), which also renews the OpenAPI document
and the REST resources' view. The first worker of the board to see a new fingerprint
(`SET <prefix>:schema:<store> fp GET` answers with another value) announces
`schema.reloaded` on the bus, so gateways elsewhere reload too; `mobo schema:reload`
announces one by hand, which every process obeys even with an unchanged fingerprint.

Like the reporter, the thread starts with the first request in each process, is
re-created after a fork, and ends when the watcher is garbage.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis

from components.gateway.platform.fingerprint import fingerprint
from mobo.events import Event
from mobo.kernel.bus import Bus
from mobo.kernel.keys import Keys

from .. import names

if TYPE_CHECKING:
    from components.datastore import Datastores

LOGGER = logging.getLogger(__name__)

EVENT_TYPE = "schema.reloaded"
VERSION_TTL_S = 7 * 86400
IDLE_TICK_S = 1.0  # without polling, how soon an opened store gets the bus listener


class SchemaWatcher:
    """Reload the schema of this process's stores when it changes, here or on the bus."""

    def __init__(
        self,
        stores: Callable[[], Datastores | None],
        client: Callable[[], redis.Redis],
        keys: Keys,
        interval_s: float,
    ) -> None:
        self._stores = stores
        self._client = client
        self._keys = keys
        self._interval = interval_s
        self._reset()
        os.register_at_fork(after_in_child=functools.partial(_after_fork, weakref.ref(self)))

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bus: Bus | None = None

    def start(self) -> None:
        """Start the thread in this process, once. With an interval of 0 it reads no
        fingerprints: it only subscribes to schema.reloaded once a store is open."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=_loop,
                    args=(weakref.ref(self), self._stop, self._interval or IDLE_TICK_S),
                    daemon=True,
                    name="schema-watch",
                )
                self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._bus is not None:
            self._bus.close()

    def poll(self) -> list[str]:
        """Check every open store now; return the names whose schema was reloaded."""
        stores = self._stores()
        if stores is None:
            return []
        open_stores = [name for name in stores.names if stores.is_open(name)]
        if open_stores:
            self._listen()
        if self._interval <= 0:
            return []
        return [name for name in open_stores if self.check(name)]

    def check(self, name: str, *, force: bool = False, announce: bool = True) -> bool:
        """Reload one store's schema if its fingerprint moved (or `force`); never raises."""
        stores = self._stores()
        if stores is None or not stores.is_open(name):
            return False
        try:
            adapter = stores[name]
            found = fingerprint(adapter)
            if not force and self._known.get(name) == found:
                return False
            adapter.refresh_schema()
        except Exception as exc:  # a store that is down is the health monitor's business
            LOGGER.debug("schema check of store %s failed: %s", name, exc)
            return False
        if name in self._known:
            LOGGER.info("store %s: schema reloaded (fingerprint %s)", name, found[:12])
        self._known[name] = found
        if announce:
            self._announce(name, found)
        return True

    @property
    def fingerprints(self) -> dict[str, str]:
        """The fingerprint of each store's schema as this process last loaded it."""
        return dict(self._known)

    def on_event(self, event: Event) -> None:
        """Obey a `schema.reloaded` from another process or `mobo schema:reload`."""
        stores = self._stores()
        if stores is None:
            return
        data: dict[str, Any] = event.data
        wanted = data.get("store")
        force = data.get("reason") != "ddl"
        for name in [wanted] if wanted else list(stores.names):
            if isinstance(name, str) and name in stores:
                if force or self._known.get(name) != data.get("fingerprint"):
                    self.check(name, force=force, announce=False)

    def _announce(self, name: str, found: str) -> None:
        """Emit schema.reloaded once per change for the whole board: only the process
        that replaces the board's last known fingerprint with another one does."""
        try:
            before = self._client().set(
                names.schema_version(self._keys, name), found, ex=VERSION_TTL_S, get=True
            )
        except (redis.RedisError, OSError):
            return
        if before is None or before.decode(errors="replace") == found:
            return  # the first fingerprint the board sees, or one already announced
        if self._bus is not None:
            data = {"store": name, "reason": "ddl", "fingerprint": found}
            self._bus.emit(EVENT_TYPE, data)

    def _listen(self) -> None:
        """Subscribe to schema.reloaded, once per process, when a store is first open."""
        if self._bus is not None:
            return
        with self._lock:
            if self._bus is None:
                bus = Bus(self._client(), self._keys, "gateway")
                bus.on(EVENT_TYPE, functools.partial(_deliver, weakref.ref(self)))
                self._bus = bus.start()
                weakref.finalize(self, bus.close)


def _deliver(ref: weakref.ReferenceType[SchemaWatcher], event: Event) -> None:
    watcher = ref()
    if watcher is not None:
        watcher.on_event(event)


def _loop(ref: weakref.ReferenceType[SchemaWatcher], stop: threading.Event, every: float) -> None:
    """Poll, then wait without holding the watcher (so it can be collected meanwhile)."""
    while True:
        watcher = ref()
        if watcher is None:
            return
        watcher.poll()
        del watcher
        if stop.wait(every):
            return


def _after_fork(ref: weakref.ReferenceType[SchemaWatcher]) -> None:
    watcher = ref()
    if watcher is not None:
        watcher._reset()
