"""A small thread-safe connection pool, for drivers that have none (pymysql, sqlite3).

Connections are made on demand up to `max_size` and kept idle up to that number;
`min_size` are made when the pool opens, so a dead server fails at connect time. A
connection the adapter reports broken (its `broken` predicate) is closed, not reused, and
one idle longer than `check_idle_s` is checked with `check` before it is handed out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

LOGGER = logging.getLogger(__name__)
C = TypeVar("C")


class PoolTimeout(Exception):
    """No connection became free within the pool's timeout."""


class PoolClosed(Exception):
    """The pool was closed."""


class SimplePool(Generic[C]):
    """Hand out at most `max_size` connections made by `factory`."""

    def __init__(
        self,
        factory: Callable[[], C],
        *,
        close: Callable[[C], None],
        min_size: int = 1,
        max_size: int = 10,
        timeout_s: float = 10.0,
        broken: Callable[[C], bool] = lambda conn: False,
        check: Callable[[C], bool] = lambda conn: True,
        check_idle_s: float = 30.0,
    ) -> None:
        self._factory, self._close, self._broken, self._check = factory, close, broken, check
        self.min_size, self.max_size = min_size, max_size
        self._timeout_s, self._check_idle_s = timeout_s, check_idle_s
        self._idle: deque[tuple[C, float]] = deque()
        self._size = 0  # connections made and not yet closed, idle or lent
        self._cond = threading.Condition()
        self._closed = False

    def open(self) -> None:
        """Make `min_size` connections now; the factory's errors propagate."""
        made = [self._factory() for _ in range(self.min_size)]
        with self._cond:
            self._size += len(made)
            self._idle.extend((conn, time.monotonic()) for conn in made)

    @contextmanager
    def connection(self) -> Iterator[C]:
        """Lend a connection for the duration of the block."""
        conn = self._acquire()
        try:
            yield conn
        except BaseException:
            self._release(conn, discard=self._safe_broken(conn))
            raise
        self._release(conn, discard=self._safe_broken(conn))

    def close(self) -> None:
        """Close idle connections now and lent ones when they come back."""
        with self._cond:
            self._closed = True
            idle, self._idle = list(self._idle), deque()
            self._size -= len(idle)
            self._cond.notify_all()
        for conn, _ in idle:
            self._quietly_close(conn)

    def stats(self) -> dict[str, int]:
        """Return the pool's size, idle count and maximum."""
        with self._cond:
            return {"size": self._size, "idle": len(self._idle), "max": self.max_size}

    def _acquire(self) -> C:
        deadline = time.monotonic() + self._timeout_s
        while True:
            conn, idle_since = self._take(deadline)
            if conn is None:
                return self._make()
            if time.monotonic() - idle_since < self._check_idle_s or self._safe_check(conn):
                return conn
            self._release(conn, discard=True)

    def _take(self, deadline: float) -> tuple[C | None, float]:
        with self._cond:
            while True:
                if self._closed:
                    raise PoolClosed("the connection pool is closed")
                if self._idle:
                    return self._idle.pop()
                if self._size < self.max_size:
                    self._size += 1
                    return None, 0.0
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolTimeout(f"no free connection after {self._timeout_s:g} s")
                self._cond.wait(remaining)

    def _make(self) -> C:
        try:
            return self._factory()
        except BaseException:
            with self._cond:
                self._size -= 1
                self._cond.notify()
            raise

    def _release(self, conn: C, *, discard: bool) -> None:
        with self._cond:
            keep = not (discard or self._closed)
            if keep:
                self._idle.append((conn, time.monotonic()))
            else:
                self._size -= 1
            self._cond.notify()
        if not keep:
            self._quietly_close(conn)

    def _safe_broken(self, conn: C) -> bool:
        try:
            return self._broken(conn)
        except Exception:
            return True

    def _safe_check(self, conn: C) -> bool:
        try:
            return self._check(conn)
        except Exception:
            return False

    def _quietly_close(self, conn: C) -> None:
        try:
            self._close(conn)
        except Exception as exc:  # closing a dead connection may fail; it is gone either way
            LOGGER.debug("closing a pooled connection failed: %s", exc)
