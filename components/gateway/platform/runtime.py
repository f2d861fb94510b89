"""`Platform`: the gateway's platform parts for one worker process, built by `mount`.

Built in `create_app` (before gunicorn forks, or in each worker); nothing here connects
or starts a thread until the first request in a process (`on_request`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import redis

from components.gateway.platform.identity import Authenticator, Identifier, ProjectKeys
from components.gateway.platform.metrics import STALE_S, Metrics, merge
from components.gateway.platform.ratelimit import RateLimiter
from components.gateway.platform.reporter import Reporter
from components.gateway.platform.schemawatch import SchemaWatcher
from components.gateway.platform.settings import from_config
from mobo import defaults
from mobo.kernel.bus import fail_fast
from mobo.kernel.config import Config

from .. import names

if TYPE_CHECKING:
    from components.datastore import Datastores
    from components.gateway.app import Services

LOGGER = logging.getLogger(__name__)


class Platform:
    """Rate limiter, reporter, metrics, schema watcher and store access of one app."""

    def __init__(self, config: Config, services: Services) -> None:
        self.config = config
        self.services = services
        self.settings = from_config(config)
        self.metrics = Metrics()
        self.reporter = Reporter(
            lambda: services.redis,
            services.keys,
            self.metrics,
            mode=self.settings.request_events,
            queue_max=self.settings.event_queue,
            history_maxlen=config.bus.history,
        )
        self.watcher = SchemaWatcher(
            self.open_stores, lambda: services.redis, services.keys, self.settings.schema_check_s
        )
        self._limiter: RateLimiter | None = None
        self._client: redis.Redis | None = None
        self._own_stores: Datastores | None = None
        self._lock = threading.Lock()
        self._project_keys = ProjectKeys(config.secrets)
        self.identify = Identifier(self.auth, config.secrets)  # the Principal, once a request

    def auth(self) -> Authenticator:
        """MagAuth (what the auth card's mount returned), or the board's two keys without it."""
        return self.services.provided.get("auth") or self._project_keys

    @property
    def auth_plugged(self) -> bool:
        return "auth" in self.services.provided

    def on_request(self) -> None:
        """Start this process's threads with its first request (after any fork)."""
        self.reporter.start()
        self.watcher.start()

    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            self._limiter = RateLimiter(
                self.services.redis,
                self.services.keys,
                lambda: self.metrics.add("limiter_failures"),
            )
        return self._limiter

    def open_stores(self) -> Datastores | None:
        """The gateway's stores (`services.datastores`), else ours if we made them yet."""
        return getattr(self.services, "datastores", None) or self._own_stores

    def stores(self) -> Datastores:
        """The gateway's stores; the board's, opened on first use, when it has none."""
        found = self.open_stores()
        if found is not None:
            return found
        from components.datastore import Datastores

        with self._lock:
            if self._own_stores is None:
                self._own_stores = Datastores.from_config(self.config)
        return self._own_stores

    def collect(self) -> dict[str, Any]:
        """Merge this worker's live metrics with the fresh snapshots of the others."""
        own, me = self.metrics.snapshot(), self.reporter.worker
        if self._client is None:
            self._client = fail_fast(
                self.services.redis, timeout_s=defaults.REDIS_CONNECT_TIMEOUT_S
            )
        client = self._client
        try:
            raw = client.hgetall(names.metrics(self.services.keys))
        except (redis.RedisError, OSError) as exc:
            LOGGER.debug("metrics of other workers unavailable: %s", exc)
            return merge([own])
        others, stale = [], []
        for field, value in raw.items():
            name = field.decode(errors="replace")
            if name == me:
                continue
            snap = _parse(value)
            if snap is None or time.time() - float(snap.get("at", 0)) > STALE_S:
                stale.append(field)
            else:
                others.append(snap)
        if stale:
            try:
                client.hdel(names.metrics(self.services.keys), *stale)
            except (redis.RedisError, OSError):
                pass
        return merge([own, *others])

    def close(self) -> None:
        """Publish what is queued, stop the threads, close stores this object opened."""
        self.reporter.close()
        self.watcher.close()
        if self._own_stores is not None:
            self._own_stores.close()


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        snap = json.loads(raw)
    except ValueError:
        return None
    return snap if isinstance(snap, dict) else None
