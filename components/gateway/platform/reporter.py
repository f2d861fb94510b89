"""Each gateway worker's reporter thread: `api.request` events in batches, metric snapshots.

A request only appends a small tuple to a bounded in-memory queue: no Redis on the
request path. The thread publishes what is queued about every BATCH_WINDOW_S (at once
when BATCH_MAX are waiting), in one pipelined round trip that also stores the worker's
metrics snapshot (every SNAPSHOT_EVERY_S). A full queue drops new events and counts
them (`events_dropped`); so does a Redis outage, logged at most every 30 s.

gunicorn builds the app before it forks workers, and a thread does not survive a fork:
the thread starts with the first request of each process, and a forked child starts
over with an empty queue, fresh locks and no thread (`os.register_at_fork`). The thread
holds the reporter only weakly and ends when the reporter is gone.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis

from components.gateway.platform.metrics import Metrics
from mobo import defaults
from mobo.events import is_registered
from mobo.kernel.bus import RedisGuard, fail_fast, pipelined, redis_url
from mobo.kernel.keys import Keys

from .. import names

EVENT_TYPE = "api.request"
CARD = "gateway"
BATCH_WINDOW_S = 0.1  # how long a first event waits for company
BATCH_MAX = 500  # events per round trip
SNAPSHOT_EVERY_S = 1.0  # metrics snapshot period; also the idle wake-up
SNAPSHOT_KEY_TTL_S = 3600  # the snapshots' hash outlives a stopped board this long
CLOSE_WAIT_S = 1.0

Item = tuple[float, dict[str, Any], str | None]  # (unix time, data, actor)


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def uuid4_hex_pair() -> tuple[str, str]:
    """Two random UUID4s in hex (like `uuid.uuid4().hex`), from one os.urandom call."""
    raw = bytearray(os.urandom(32))
    for i in (6, 22):
        raw[i] = (raw[i] & 0x0F) | 0x40  # version 4
    for i in (8, 24):
        raw[i] = (raw[i] & 0x3F) | 0x80  # RFC 4122 variant
    both = raw.hex()
    return both[:32], both[32:]


class _Clock:
    """`rfc3339(at)` for many times, formatting each second's date and time only once."""

    __slots__ = ("_head", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._head = ""

    def __call__(self, at: float) -> str:
        second = int(at)
        fraction = round((at - second) * 1_000_000)  # as datetime.fromtimestamp rounds
        if fraction >= 1_000_000:
            second, fraction = second + 1, fraction - 1_000_000
        if second != self._second:
            self._second = second
            self._head = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{self._head}{fraction:06d}Z"


_dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode


def worker_id() -> str:
    """Name this process's reporter among the board's gateway workers, on every host."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Reporter:
    """Queue api.request events from request threads; publish them from one thread."""

    def __init__(
        self,
        client: Callable[[], redis.Redis],
        keys: Keys,
        metrics: Metrics,
        *,
        mode: str = "publish",
        queue_max: int = 10_000,
        history_maxlen: int = defaults.BUS_HISTORY_MAXLEN,
    ) -> None:
        assert is_registered(EVENT_TYPE)
        self._client_factory = client
        self._keys = keys
        self._metrics = metrics
        self._mode = mode
        self._queue_max = queue_max
        self._maxlen = history_maxlen
        self._channel = keys.event_channel(EVENT_TYPE)
        self.round_trips = 0  # pipelined calls made; tests count batching with it
        self._reset()
        os.register_at_fork(after_in_child=functools.partial(_after_fork, weakref.ref(self)))

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._items: deque[Item] = deque()
        self._wake = threading.Event()
        self._full = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: redis.Redis | None = None
        self._guard: RedisGuard | None = None
        self._next_snapshot = 0.0
        self.worker = worker_id()  # its field in the metrics hash

    @property
    def enabled(self) -> bool:
        return self._mode != "off"

    def start(self) -> None:
        """Start the thread in this process, once."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(
                    target=_loop,
                    args=(weakref.ref(self), self._wake, self._full, self._stopping),
                    daemon=True,
                    name="gateway-reporter",
                )
                self._thread.start()

    def submit(self, data: dict[str, Any], actor: str | None = None) -> None:
        """Queue one event; never blocks, never raises."""
        if not self.enabled:
            return
        with self._lock:
            if len(self._items) >= self._queue_max:
                full = True
            else:
                full = False
                self._items.append((time.time(), data, actor))
                n = len(self._items)
        if full:
            self._metrics.add("events_dropped")
        elif n == 1:
            self._wake.set()
        elif n == BATCH_MAX:
            self._full.set()

    def close(self) -> None:
        """Publish what is queued and stop the thread."""
        self._stopping.set()
        self._wake.set()
        self._full.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_WAIT_S)

    def flush(self) -> None:
        """Publish everything queued now (and a metrics snapshot), from the calling thread."""
        self._flush(force_snapshot=True)

    # -- the thread

    @property
    def pending(self) -> int:
        return len(self._items)

    def _flush(self, *, force_snapshot: bool = False) -> None:
        with self._lock:
            items, self._items = self._items, deque()
        snapshot = force_snapshot or time.monotonic() >= self._next_snapshot
        while items or snapshot:
            batch = [items.popleft() for _ in range(min(BATCH_MAX, len(items)))]
            self._send(batch, snapshot)
            snapshot = False

    def _send(self, batch: list[Item], snapshot: bool) -> None:
        commands = self._event_commands(batch)
        if snapshot:
            self._next_snapshot = time.monotonic() + SNAPSHOT_EVERY_S
            commands += self._snapshot_commands()
        client, guard = self._redis()
        if not guard.allow():
            self._metrics.add("events_dropped", len(batch))
            return
        try:
            pipelined(client, *commands)
        except (redis.RedisError, OSError) as exc:
            self._metrics.add("events_dropped", len(batch))
            guard.failed(exc)
            return
        finally:
            self.round_trips += 1
        guard.succeeded()
        self._metrics.add("events_sent", len(batch))

    def _event_commands(self, batch: list[Item]) -> list[tuple[Any, ...]]:
        """PUBLISH (and XADD) each event, its JSON byte for byte what `wire_json` makes.

        The constant parts are encoded once per batch; per event only `data`, the two
        ids, the time and the actor vary.
        """
        head = '{"type":' + _dumps(EVENT_TYPE) + ',"data":'
        source = _dumps({"card": CARD, "pid": os.getpid()})
        mid = f',"source":{source},"id":"'
        clock, channel, history = _Clock(), self._channel, self._mode == "history"
        commands: list[tuple[Any, ...]] = []
        for at, data, actor in batch:
            event_id, context_id = uuid4_hex_pair()
            raw = (
                f'{head}{_dumps(data)}{mid}{event_id}","time":"{clock(at)}","context":'
                f'{{"id":"{context_id}","parent_id":null,"actor":'
                f"{'null' if actor is None else _dumps(actor)}}}}}"
            )
            commands.append(("PUBLISH", channel, raw))
            if history:
                commands.append(
                    ("XADD", self._keys.history, "MAXLEN", "~", self._maxlen, "*", "e", raw)
                )
        return commands

    def _snapshot_commands(self) -> list[tuple[Any, ...]]:
        snap = {"at": time.time(), **self._metrics.snapshot()}
        key = names.metrics(self._keys)
        return [
            ("HSET", key, self.worker, json.dumps(snap, separators=(",", ":"))),
            ("EXPIRE", key, SNAPSHOT_KEY_TTL_S),
        ]

    def _redis(self) -> tuple[redis.Redis, RedisGuard]:
        if self._client is None or self._guard is None:
            base = self._client_factory()
            self._client = fail_fast(base, timeout_s=defaults.REDIS_CONNECT_TIMEOUT_S)
            self._guard = RedisGuard("gateway api.request events", redis_url(base))
        return self._client, self._guard


def _loop(
    ref: weakref.ReferenceType[Reporter],
    wake: threading.Event,
    full: threading.Event,
    stopping: threading.Event,
) -> None:
    """Wait for a first event (or the snapshot period), give it BATCH_WINDOW_S to gather
    company, publish; the waits hold no reference to the reporter."""
    while True:
        wake.wait(SNAPSHOT_EVERY_S)
        wake.clear()
        pending = _pending(ref)
        if pending is None:
            return
        if not stopping.is_set() and 0 < pending < BATCH_MAX:
            full.wait(BATCH_WINDOW_S)
        full.clear()
        reporter = ref()
        if reporter is None:
            return
        reporter._flush()
        del reporter
        if stopping.is_set():
            return


def _pending(ref: weakref.ReferenceType[Reporter]) -> int | None:
    reporter = ref()
    return None if reporter is None else reporter.pending


def _after_fork(ref: weakref.ReferenceType[Reporter]) -> None:
    reporter = ref()
    if reporter is not None:
        reporter._reset()
