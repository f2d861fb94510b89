"""Carry on through a Redis outage: skip calls for a while after one failed, warn rarely."""

from __future__ import annotations

import logging
import threading
import time

LOGGER = logging.getLogger(__name__)

RETRY_AFTER_S = 1.0  # after a failed Redis call, calls are skipped (dropped) this long
WARN_EVERY_S = 30.0  # at most one "Redis unreachable" warning per guard this often


class RedisGuard:
    """Carry on through a Redis outage: skip calls for a while after one failed, warn rarely."""

    def __init__(self, what: str, url: str) -> None:
        self._what = what
        self._url = url
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self._down_since: float | None = None
        self._warned_at = float("-inf")
        self._lost = 0

    def allow(self) -> bool:
        """Return whether to try Redis now; a refused try counts as lost."""
        if time.monotonic() >= self._retry_at:
            return True
        with self._lock:
            self._lost += 1
        return False

    def failed(self, exc: BaseException) -> None:
        """Record a failed call; warn at most every WARN_EVERY_S."""
        now = time.monotonic()
        with self._lock:
            self._retry_at = now + RETRY_AFTER_S
            self._down_since = self._down_since or now
            self._lost += 1
            if now - self._warned_at < WARN_EVERY_S:
                return
            self._warned_at, lost = now, self._lost
        LOGGER.warning(
            "%s: Redis at %s is unreachable (%s); %d call(s) dropped so far, retrying every %.0fs",
            self._what,
            self._url,
            exc,
            lost,
            RETRY_AFTER_S,
        )

    def succeeded(self) -> None:
        """Record a successful call; log the end of an outage once."""
        if self._down_since is None:
            return
        with self._lock:
            since, self._down_since = self._down_since, None
            lost, self._lost = self._lost, 0
            self._warned_at = float("-inf")
        if since is not None:
            LOGGER.info(
                "%s: Redis at %s is back after %.1fs (%d call(s) dropped)",
                self._what,
                self._url,
                time.monotonic() - since,
                lost,
            )
