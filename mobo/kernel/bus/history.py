"""The history stream: the board's last events, and new ones as they are emitted."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any, cast

import redis

from mobo.events import Event
from mobo.exceptions import BusUnavailable
from mobo.kernel.bus.wire import REDIS_ERRORS

LOGGER = logging.getLogger(__name__)

FOLLOW_BLOCK_S = 0.5  # XREAD BLOCK slice of follow(); bounds its reaction to close()
HISTORY_BATCH = 200  # XREVRANGE page size when history() filters by pattern

Entries = list[tuple[bytes, dict[bytes, bytes]]]


class History(list[Event]):
    """Events oldest→newest; `cursor` is the stream position `follow(after=…)` resumes at."""

    def __init__(self, events: list[Event], cursor: str) -> None:
        super().__init__(events)
        self.cursor = cursor


class HistoryStream:
    """Read one board's history stream; Redis failures raise BusUnavailable."""

    def __init__(
        self, client: redis.Redis, name: str, *, url: str, closing: threading.Event
    ) -> None:
        self._client = client
        self._name = name
        self._url = url
        self._closing = closing

    def last(self, count: int, pattern: str) -> History:
        """Return the last `count` events matching `pattern`, oldest first."""
        try:
            return self._read_last(count, pattern)
        except REDIS_ERRORS as exc:
            raise unavailable(self._url, exc) from exc

    def _read_last(self, count: int, pattern: str) -> History:
        found: list[Event] = []
        cursor, upper = None, "+"
        while len(found) < count:
            page = self._newest(upper, HISTORY_BATCH)
            if not page:
                break
            cursor = cursor or page[0][0].decode()
            found.extend(_matching(page, pattern, count - len(found)))
            upper = "(" + page[-1][0].decode()
            if len(page) < HISTORY_BATCH:
                break
        found.reverse()
        return History(found, cursor or self._tail())

    def _tail(self) -> str:
        newest = self._newest("+", 1)
        return newest[0][0].decode() if newest else "0-0"

    def _newest(self, upper: str, count: int) -> Entries:
        """Up to `count` entries at or before `upper`, newest first (bytes: no decoding)."""
        return cast(Entries, self._client.xrevrange(self._name, max=upper, min="-", count=count))

    def follow(self, pattern: str, after: str | None, timeout: float | None) -> Iterator[Event]:
        """Yield new events matching `pattern`; see `Bus.follow`."""
        try:
            start = after or self._tail()
        except REDIS_ERRORS as exc:
            raise unavailable(self._url, exc) from exc
        return self._follow(pattern, start, timeout)

    def _follow(self, pattern: str, last: str, timeout: float | None) -> Iterator[Event]:
        idle_until = None if timeout is None else time.monotonic() + timeout
        while not self._closing.is_set():
            block = FOLLOW_BLOCK_S
            if idle_until is not None:
                block = min(block, idle_until - time.monotonic())
                if block <= 0.001:
                    return
            for entry_id, event in self._read_after(last, block):
                last = entry_id
                if event is not None and fnmatchcase(event.type, pattern):
                    yield event
                    if timeout is not None:
                        idle_until = time.monotonic() + timeout

    def _read_after(self, last: str, block_s: float) -> list[tuple[str, Event | None]]:
        try:
            reply = self._client.xread(
                {self._name: last}, count=HISTORY_BATCH, block=max(1, int(block_s * 1000))
            )
        except REDIS_ERRORS as exc:
            if self._closing.is_set():
                return []
            raise unavailable(self._url, exc) from exc
        return [
            (entry_id.decode(), _parse_entry(fields)) for entry_id, fields in _stream_entries(reply)
        ]


def unavailable(url: str, exc: BaseException) -> BusUnavailable:
    """The error for a bus read that Redis failed, with what to do about it."""
    return BusUnavailable(
        f"the bus (Redis at {url}) cannot be reached: {exc}",
        hint="run `mobo status` to check the board, or start Redis and try again",
    )


def _parse_entry(fields: dict[bytes, bytes]) -> Event | None:
    try:
        return Event.from_json(fields[b"e"])
    except (KeyError, ValueError):
        LOGGER.debug("skipped a history entry that is not an event: %r", fields)
        return None


def _matching(page: Entries, pattern: str, limit: int) -> list[Event]:
    out: list[Event] = []
    for _entry_id, fields in page:
        event = _parse_entry(fields)
        if event is not None and fnmatchcase(event.type, pattern):
            out.append(event)
            if len(out) == limit:
                break
    return out


def _stream_entries(reply: Any) -> Entries:
    """Entries of a one-stream XREAD reply, in RESP2 (list) or RESP3 (dict) shape."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return [tuple(entry) for entries in reply.values() for entry in entries[0]]
    return list(reply[0][1])
