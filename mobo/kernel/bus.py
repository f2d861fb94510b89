"""The system bus: board events over Redis pub/sub and a capped history stream.

Publishing: `Bus.emit` PUBLISHes the envelope on `<prefix>:evt:<type>` and XADDs it to
`<prefix>:history` in one pipelined round trip. It never raises because Redis is down
or slow: the event is counted in `Bus.dropped` and a warning is logged now and then.

Receiving: `Bus.start` runs one listener thread that, for the event types its handlers
want only, SUBSCRIBEs `<prefix>:evt:<type>` (an exact type) or PSUBSCRIBEs
`<prefix>:evt:<glob>`, following `on`/`off`; it hands
events to in-process handlers through a small thread pool; see `Bus` for the delivery
guarantees. Pub/sub is fire-and-forget:
events published while a process is disconnected are not replayed to it; the state of
record lives in Redis keys, and the history stream backs `mobo events:tail`.

The dispatcher (subscriptions, per-handler queues, worker pool, watchdog) is the
private `_Dispatcher` below; `Bus` owns the Redis side.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mobo import defaults
from mobo.events import Context, Event, make_event
from mobo.exceptions import BusError, BusUnavailable
from mobo.kernel.keys import Keys

LOGGER = logging.getLogger(__name__)

RETRY_AFTER_S = 1.0  # after a failed Redis call, calls are skipped (dropped) this long
WARN_EVERY_S = 30.0  # at most one "Redis unreachable" warning per guard this often
RECONNECT_MIN_S = 0.1  # listener reconnect backoff: first wait, doubled up to the cap
RECONNECT_MAX_S = 5.0
POLL_S = 0.1  # listener/watchdog wake-up: bounds how long close() waits for them
START_WAIT_S = 1.0  # start() waits this long for the subscriptions to be confirmed
CLOSE_WAIT_S = 0.8  # close() gives its threads this long in total to finish
FOLLOW_BLOCK_S = 0.5  # XREAD BLOCK slice of follow(); bounds its reaction to close()
HISTORY_BATCH = 200  # XREVRANGE page size when history() filters by pattern
MAX_WORKERS_FACTOR = 8  # pool may grow to threads * this while handlers overrun

Handler = Callable[[Event], None]

_REDIS_ERRORS = (redis.RedisError, OSError)
# redis-py before 5.3 wants a command name in get_connection(); later ones deprecate it.
_CONNECTION_ARGS = () if tuple(map(int, redis.__version__.split(".")[:2])) >= (5, 3) else ("X",)
_DROPPED_POOL_KWARGS = (
    "maint_notifications_pool_handler",
    "orig_host_address",
    "orig_socket_timeout",
    "orig_socket_connect_timeout",
)


# ---------------------------------------------------------------- Redis helpers


def redis_url(client: redis.Redis) -> str:
    """Describe where a client points, for messages (never includes a password)."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"


def fail_fast(client: redis.Redis, *, timeout_s: float) -> redis.Redis:
    """Return a client to the same Redis that never retries and times out after timeout_s.

    redis-py retries a refused connection with backoff for seconds by default; the bus
    and the cache must rather fail at once and let their callers carry on.
    """
    pool = client.connection_pool
    if type(pool) not in (redis.ConnectionPool, redis.BlockingConnectionPool):
        return client  # Sentinel and friends: keep their own failover logic
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if k not in _DROPPED_POOL_KWARGS}
    kwargs.update(
        retry=Retry(NoBackoff(), 0),
        socket_timeout=timeout_s,
        socket_connect_timeout=min(timeout_s, defaults.REDIS_CONNECT_TIMEOUT_S),
        decode_responses=False,
    )
    new_pool = type(pool)(
        connection_class=pool.connection_class, max_connections=pool.max_connections, **kwargs
    )
    return redis.Redis(connection_pool=new_pool)


def pipelined(client: redis.Redis, *commands: tuple[Any, ...]) -> list[Any]:
    """Run commands in one write and one round trip, without a Pipeline object.

    Half the cost of redis-py's Pipeline machinery on the emit path. Error replies are
    raised; the connection is then dropped, since later replies may be left unread.
    """
    pool = client.connection_pool
    conn = pool.get_connection(*_CONNECTION_ARGS)
    try:
        conn.send_packed_command(conn.pack_commands(commands))
        return [conn.read_response() for _ in commands]
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def wire_json(event: Event) -> str:
    """Return `event.to_json()`, byte for byte, without dataclasses.asdict's deep copy.

    asdict costs three times as much as the JSON encoding on the emit path; a test
    keeps the two in step.
    """
    ctx = event.context
    body = {
        "type": event.type,
        "data": event.data,
        "source": event.source,
        "id": event.id,
        "time": event.time,
        "context": {"id": ctx.id, "parent_id": ctx.parent_id, "actor": ctx.actor},
    }
    return json.dumps(body, separators=(",", ":"), default=str)


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


# ---------------------------------------------------------------- subscriptions in Redis

_UNSUB = {"SUBSCRIBE": "UNSUBSCRIBE", "PSUBSCRIBE": "PUNSUBSCRIBE"}
_SUBSCRIPTION_REPLIES = (b"subscribe", b"psubscribe", b"unsubscribe", b"punsubscribe")
_REDIS_GLOB_SPECIAL = frozenset("*?[]^\\")


def _redis_escape(text: str) -> str:
    return "".join("\\" + c if c in _REDIS_GLOB_SPECIAL else c for c in text)


def redis_target(channel_prefix: str, pattern: str) -> tuple[str, str]:
    """The Redis subscription that receives every event matching an fnmatch glob.

    An exact type is a SUBSCRIBE on its channel; a glob a PSUBSCRIBE that matches at
    least what fnmatch matches, and exactly that when it uses only `*`: `?` (one
    character, but Redis counts bytes) widens to `*`, and a `[…]` set (`[!x]` in
    fnmatch, `[^x]` in Redis) cuts the pattern there with a `*`. Handlers still filter
    with fnmatch, so a wider Redis pattern only costs some unwanted messages.
    """
    if not any(c in pattern for c in "*?["):
        return ("SUBSCRIBE", channel_prefix + pattern)
    out: list[str] = []
    for c in pattern:
        if c == "[":
            out.append("*")
            break
        out.append("*" if c in "*?" else _redis_escape(c))
    glob = "".join(out)
    while "**" in glob:
        glob = glob.replace("**", "*")
    return ("PSUBSCRIBE", _redis_escape(channel_prefix) + glob)


def redis_targets(channel_prefix: str, patterns: set[str]) -> set[tuple[str, str]]:
    """The Redis subscriptions for a set of fnmatch globs, without needless overlap.

    `*` covers everything; an exact type some glob already matches needs no SUBSCRIBE.
    Overlapping globs may remain; the listener drops the copies one PUBLISH then yields.
    """
    if "*" in patterns:
        return {("PSUBSCRIBE", _redis_escape(channel_prefix) + "*")}
    globs = [p for p in patterns if any(c in p for c in "*?[")]
    return {
        redis_target(channel_prefix, p)
        for p in patterns
        if p in globs or not any(fnmatchcase(p, g) for g in globs)
    }


# ---------------------------------------------------------------- values


class History(list[Event]):
    """Events oldest→newest; `cursor` is the stream position `follow(after=…)` resumes at."""

    def __init__(self, events: list[Event], cursor: str) -> None:
        super().__init__(events)
        self.cursor = cursor


class Subscription:
    """A handler registered on the bus; pass it (or the handler) to `Bus.off` to remove it."""

    __slots__ = ("_lane", "_removed", "_running", "_scheduled", "handler", "pattern")

    def __init__(self, pattern: str, handler: Handler) -> None:
        self.pattern = pattern
        self.handler = handler
        self._lane: deque[_Delivery] = deque()
        self._running = False
        self._scheduled = False
        self._removed = False

    @property
    def active(self) -> bool:
        """Whether the subscription still receives events."""
        return not self._removed

    def matches(self, type_: str) -> bool:
        """Whether an event type matches this subscription's glob."""
        return fnmatchcase(type_, self.pattern)

    def __repr__(self) -> str:
        name = getattr(self.handler, "__qualname__", repr(self.handler))
        return f"<Subscription {self.pattern!r} -> {name}>"


@dataclass(eq=False, slots=True)
class _Delivery:
    """One event on its way to one subscription."""

    event: Event
    sub: Subscription
    started_at: float = 0.0
    overrun: bool = False


def _describe(event: Event) -> str:
    return f"event {event.type} {event.id}"


# ---------------------------------------------------------------- dispatcher


class _Dispatcher:
    """Run handlers off the listener thread: ordered per subscription, isolated from each other."""

    def __init__(self, name: str, *, timeout_s: float, threads: int, queue_max: int) -> None:
        self._name = name
        self._timeout = timeout_s
        self._threads = max(1, threads)
        self._queue_max = queue_max
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._subs: list[Subscription] = []  # copy-on-write: read without the lock
        self._ready: deque[Subscription] = deque()
        self._running: set[_Delivery] = set()
        self._stop = threading.Event()
        self._pool: list[threading.Thread] = []
        self._workers = 0
        self._stuck = 0
        self._last_overflow_log = float("-inf")
        self.overflowed = 0

    # -- subscriptions

    def subscribe(self, pattern: str, handler: Handler) -> Subscription:
        sub = Subscription(pattern, handler)
        with self._lock:
            self._subs = [*self._subs, sub]
        return sub

    def unsubscribe(self, target: Subscription | Handler) -> int:
        with self._lock:
            gone = [s for s in self._subs if s is target or s.handler == target]
            self._subs = [s for s in self._subs if s not in gone]
            for sub in gone:
                sub._removed = True
                sub._lane.clear()
        return len(gone)

    def wants(self, type_: str) -> bool:
        """Cheap pre-check (no lock, no parsing) whether any handler matches a type."""
        return any(s.matches(type_) for s in self._subs)

    def patterns(self) -> set[str]:
        """The globs of the subscriptions still active."""
        return {s.pattern for s in self._subs}

    # -- dispatch (listener thread)

    def dispatch(self, event: Event) -> None:
        """Queue an event for every handler whose glob matches its type."""
        with self._lock:
            for sub in self._subs:
                if sub.matches(event.type):
                    self._enqueue(_Delivery(event, sub))

    def _enqueue(self, delivery: _Delivery) -> None:
        sub = delivery.sub
        if len(sub._lane) >= self._queue_max:
            self._overflow(delivery)
            return
        sub._lane.append(delivery)
        self._wake(sub)

    def _overflow(self, delivery: _Delivery) -> None:
        self.overflowed += 1
        now = time.monotonic()
        if now - self._last_overflow_log >= WARN_EVERY_S:
            self._last_overflow_log = now
            LOGGER.warning(
                "bus %s: %r has %d items waiting; dropped %s (%d dropped in this process)",
                self._name,
                delivery.sub,
                self._queue_max,
                _describe(delivery.event),
                self.overflowed,
            )

    def _wake(self, sub: Subscription) -> None:
        if sub._running or sub._scheduled or sub._removed or not sub._lane:
            return
        sub._scheduled = True
        self._ready.append(sub)
        self._work.notify()

    # -- workers

    def start(self) -> None:
        with self._lock:
            for _ in range(self._threads):
                self._spawn()
        watchdog = threading.Thread(
            target=self._watch_loop, name=f"bus-watchdog[{self._name}]", daemon=True
        )
        self._pool.append(watchdog)
        watchdog.start()

    def stop(self, deadline: float) -> None:
        self._stop.set()
        with self._work:
            self._work.notify_all()
        for thread in list(self._pool):
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _spawn(self) -> None:
        self._pool = [t for t in self._pool if t.is_alive()]
        thread = threading.Thread(
            target=self._work_loop, name=f"bus-handler[{self._name}]", daemon=True
        )
        self._workers += 1
        self._pool.append(thread)
        thread.start()

    def _work_loop(self) -> None:
        while (delivery := self._next()) is not None:
            self._call(delivery)
            if not self._finish(delivery):
                return

    def _next(self) -> _Delivery | None:
        with self._work:
            while not self._stop.is_set():
                if not self._ready:
                    self._work.wait()
                    continue
                sub = self._ready.popleft()
                sub._scheduled = False
                if sub._removed or not sub._lane:
                    continue
                delivery = sub._lane.popleft()
                sub._running = True
                delivery.started_at = time.monotonic()
                self._running.add(delivery)
                return delivery
            self._workers -= 1
            return None

    def _call(self, delivery: _Delivery) -> None:
        try:
            delivery.sub.handler(delivery.event)
        except Exception:
            LOGGER.exception(
                "bus %s: handler %r failed on %s",
                self._name,
                delivery.sub,
                _describe(delivery.event),
            )

    def _finish(self, delivery: _Delivery) -> bool:
        """Book a finished call; return False when this worker should retire."""
        with self._work:
            sub = delivery.sub
            sub._running = False
            self._running.discard(delivery)
            self._wake(sub)
            if delivery.overrun:
                self._stuck -= 1
                if self._workers - self._stuck > self._threads:
                    self._workers -= 1
                    return False
            return True

    # -- watchdog

    def _watch_loop(self) -> None:
        interval = min(self._timeout / 4, POLL_S * 2.5)
        while not self._stop.wait(interval):
            with self._lock:
                overruns = self._flag_overruns(time.monotonic())
            for delivery in overruns:
                LOGGER.warning(
                    "bus %s: handler %r has run for more than %.1fs on %s; other handlers go on",
                    self._name,
                    delivery.sub,
                    self._timeout,
                    _describe(delivery.event),
                )

    def _flag_overruns(self, now: float) -> list[_Delivery]:
        """Mark calls running past the timeout; replace their workers so others go on."""
        late = [d for d in self._running if not d.overrun and d.started_at + self._timeout <= now]
        for delivery in late:
            delivery.overrun = True
            self._stuck += 1
            if self._workers - self._stuck < self._threads and (
                self._workers < self._threads * MAX_WORKERS_FACTOR
            ):
                self._spawn()
        return late


# ---------------------------------------------------------------- the bus


class Bus:
    """The board's event bus for one process of one card.

    Delivery guarantees (for handlers registered with `on`):

    - *At most once.* Each handler sees an event at most once. Events are lost when the
      process is disconnected from Redis (no replay: re-read state instead), when a
      handler's queue is full, and when the bus closes with events still queued.
    - *Own and board-wide.* Events come back from Redis, so a process receives its own
      emits and those of every process of the same board (same key prefix), never
      those of another board.
    - *Ordered per handler.* One handler is called for one event at a time, in the order
      the listener received them. Different handlers run concurrently on a small pool of
      threads (`handler_threads`).
    - *Isolation.* A handler that raises is logged with its traceback; others go on.
      A handler running longer than `handler_timeout` is logged as slow and its worker
      thread is replaced, so it delays neither the publisher nor the other handlers;
      only its own later events wait behind it.
    - *Overflow.* Each handler's queue holds up to `queue_max` events; when it is full,
      new events for that handler are dropped, counted in `overflowed`, and logged (not
      once per event).

    The listener subscribes in Redis only to the event types its handlers want (see
    `redis_target`), so a process is not woken for events nobody in it handles.
    `start()` waits briefly until the subscriptions are confirmed, and so does an `on()`
    that needs a new Redis subscription while listening, so an event emitted after either
    returns is received; `off()` drops Redis subscriptions no handler needs any more.
    When Redis goes away the listener reconnects with capped backoff, subscribes again
    to what the handlers want then, and logs once per outage.
    `emit()` and `history()`/`follow()` need no `start()`.
    """

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        card: str,
        *,
        history_maxlen: int = defaults.BUS_HISTORY_MAXLEN,
        handler_timeout: float = defaults.BUS_HANDLER_TIMEOUT_S,
        handler_threads: int = defaults.BUS_HANDLER_THREADS,
        queue_max: int = defaults.BUS_QUEUE_MAX,
    ) -> None:
        self.card = card
        self.redis_url = redis_url(client)
        self._keys = keys
        self._maxlen = history_maxlen
        self._pub = fail_fast(client, timeout_s=defaults.REDIS_CONNECT_TIMEOUT_S)
        self._read = fail_fast(client, timeout_s=defaults.REDIS_SOCKET_TIMEOUT_S)
        self._guard = RedisGuard(f"bus {card}", self.redis_url)
        self._dispatcher = _Dispatcher(
            card, timeout_s=handler_timeout, threads=handler_threads, queue_max=queue_max
        )
        self._evt_prefix = keys.event_channel("").encode()
        self._closing = threading.Event()
        self._subscribed = threading.Event()
        self._listener: threading.Thread | None = None
        self._down_since: float | None = None
        self._epoch = 0
        # Redis subscriptions; the listener reads the connection, any thread may write
        # (UN)(P)SUBSCRIBE on it under _sub_lock. Every such command gets one reply.
        self._sub_lock = threading.Lock()
        self._acks = threading.Condition(self._sub_lock)
        self._conn: Any = None  # the listener's connection while it is subscribed
        self._live: set[tuple[str, str]] = set()  # what _conn is subscribed to
        self._sent = 0  # subscription commands written on _conn
        self._acked = 0  # their replies read by the listener
        self._received = 0  # event messages read from Redis (for tests and stats)
        self._count_lock = threading.Lock()
        self._dropped = 0

    # -- publishing

    def emit(
        self, type_: str, data: dict[str, Any] | None = None, *, context: Context | None = None
    ) -> Event:
        """Publish an event and append it to the history; never raise because of Redis."""
        event = make_event(type_, data, card=self.card, context=context)
        if not self._guard.allow():
            self._count_drop()
            return event
        raw = wire_json(event)
        try:
            pipelined(
                self._pub,
                ("PUBLISH", self._keys.event_channel(event.type), raw),
                ("XADD", self._keys.history, "MAXLEN", "~", self._maxlen, "*", "e", raw),
            )
        except _REDIS_ERRORS as exc:
            self._count_drop()
            self._guard.failed(exc)
        else:
            self._guard.succeeded()
        return event

    def emit_many(
        self,
        type_: str,
        datas: list[dict[str, Any]],
        *,
        context: Context | None = None,
    ) -> list[Event]:
        """Publish several events of one type in one round trip (e.g. the rows of one write).

        They share one context, so a subscriber can tell they came from one action. Like
        `emit`, never raises because of Redis."""
        context = context or Context()
        events = [make_event(type_, data, card=self.card, context=context) for data in datas]
        if not events:
            return events
        if not self._guard.allow():
            for _ in events:
                self._count_drop()
            return events
        channel = self._keys.event_channel(type_)
        commands: list[tuple[Any, ...]] = []
        for event in events:
            raw = wire_json(event)
            commands.append(("PUBLISH", channel, raw))
            commands.append(
                ("XADD", self._keys.history, "MAXLEN", "~", self._maxlen, "*", "e", raw)
            )
        try:
            pipelined(self._pub, *commands)
        except _REDIS_ERRORS as exc:
            for _ in events:
                self._count_drop()
            self._guard.failed(exc)
        else:
            self._guard.succeeded()
        return events

    @property
    def dropped(self) -> int:
        """Events `emit` could not hand to Redis since this bus was made."""
        return self._dropped

    @property
    def overflowed(self) -> int:
        """Deliveries to handlers of this process dropped because a handler's queue was full."""
        return self._dispatcher.overflowed

    def _count_drop(self) -> None:
        with self._count_lock:
            self._dropped += 1

    # -- subscribing

    def on(self, pattern: str, handler: Handler) -> Subscription:
        """Call `handler(event)` for every event whose type matches the glob `pattern`."""
        sub = self._dispatcher.subscribe(pattern, handler)
        self._sync(wait=True)
        return sub

    def off(self, handler_or_subscription: Subscription | Handler) -> int:
        """Stop delivering to a subscription, or to every subscription of a handler.

        Queued events are discarded; a call already running finishes. Returns how many
        subscriptions were removed.
        """
        removed = self._dispatcher.unsubscribe(handler_or_subscription)
        if removed:
            self._sync(wait=False)
        return removed

    # -- lifecycle

    def start(self) -> Bus:
        """Start the listener; wait briefly until its subscriptions are confirmed."""
        if self._closing.is_set():
            raise BusError("this bus is closed; make a new Bus to listen again")
        if self._listener is None:
            self._dispatcher.start()
            self._listener = threading.Thread(
                target=self._listen, daemon=True, name=f"bus-listener[{self.card}]"
            )
            self._listener.start()
            self._subscribed.wait(START_WAIT_S)
        return self

    @property
    def listening(self) -> bool:
        """Whether the listener is subscribed right now."""
        return self._subscribed.is_set()

    @property
    def epoch(self) -> int:
        """How many times the listener has (re)subscribed; a change means events may be lost."""
        return self._epoch

    def close(self) -> None:
        """Stop listening and delivering; return within about a second."""
        self._closing.set()
        deadline = time.monotonic() + CLOSE_WAIT_S
        if self._listener is not None:
            self._listener.join(max(0.0, deadline - time.monotonic()))
        self._dispatcher.stop(deadline)
        for client in (self._pub, self._read):
            # A follow() in another thread still owns its connection; it lets go within
            # FOLLOW_BLOCK_S, and closing the socket under it would crash its read.
            client.connection_pool.disconnect(inuse_connections=False)

    def __enter__(self) -> Bus:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- Redis subscriptions

    def _targets(self) -> set[tuple[str, str]]:
        """The Redis subscriptions the event handlers need, as (command, channel) pairs."""
        return redis_targets(self._keys.event_channel(""), self._dispatcher.patterns())

    def _sync(self, *, wait: bool) -> None:
        """Bring the listener's Redis subscriptions in line with the handlers.

        With `wait`, return once Redis confirmed the new ones (at most START_WAIT_S).
        """
        with self._acks:
            conn = self._conn
            if conn is None:
                return  # not listening (yet): the listener subscribes when it connects
            want = self._targets()
            # New subscriptions first: no gap for a handler that moves to another one (an
            # event both catch meanwhile comes twice, and the listener drops the copy).
            commands = sorted(want - self._live)
            commands += [(_UNSUB[kind], name) for kind, name in sorted(self._live - want)]
            if not commands:
                return
            try:
                self._send(conn, commands)
            except _REDIS_ERRORS:
                LOGGER.debug("bus %s: subscription update failed", self.card, exc_info=True)
                return  # the listener sees the broken connection and subscribes again
            self._live = want
            if not wait:
                return
            target, deadline = self._sent, time.monotonic() + START_WAIT_S
            while self._conn is conn and self._acked < target:
                left = deadline - time.monotonic()
                if left <= 0 or self._closing.is_set():
                    break
                self._acks.wait(min(left, POLL_S))

    def _send(self, conn: Any, commands: list[tuple[str, str]]) -> None:
        """Write subscription commands on the listener's connection (caller holds _sub_lock)."""
        if not commands:
            return
        if conn._sock is None:  # dropped: sending would silently open a fresh connection
            raise redis.ConnectionError("the listener's connection is closed")
        packed = conn.pack_commands(commands)
        conn.send_packed_command(packed, check_health=False)
        self._sent += len(commands)

    # -- listener thread

    def _listen(self) -> None:
        backoff = RECONNECT_MIN_S
        pool = self._read.connection_pool
        while not self._closing.is_set():
            conn = None
            try:
                conn = pool.get_connection(*_CONNECTION_ARGS)
                # RESP3 delivers pub/sub messages as pushes: have the parser return them.
                conn._parser.set_pubsub_push_handler(_same)
                self._pump(conn, self._subscribe_all(conn))
            except _REDIS_ERRORS as exc:
                self._lost(exc)
                self._closing.wait(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_S)
                continue
            finally:
                with self._acks:
                    self._conn = None
                    self._live = set()
                    self._acks.notify_all()
                if conn is not None:
                    conn.disconnect()  # never reuse a subscribed connection
                    pool.release(conn)
            backoff = RECONNECT_MIN_S
        self._subscribed.clear()

    def _subscribe_all(self, conn: Any) -> int:
        """Subscribe a fresh connection to the wanted events; return the reply count."""
        with self._acks:
            self._sent = self._acked = 0
            want = self._targets()
            self._send(conn, sorted(want))
            self._conn, self._live = conn, want
            return self._sent

    def _pump(self, conn: Any, initial: int) -> None:
        last = None
        if initial == 0:
            self._connected()
        while not self._closing.is_set():
            if conn._sock is None:  # dropped under us; can_read() would reconnect it
                raise redis.ConnectionError("the listener's connection was closed")
            if not conn.can_read(timeout=POLL_S):
                continue
            reply = conn.read_response(push_request=True)
            if not isinstance(reply, list) or len(reply) < 3:
                continue
            kind = reply[0]
            if kind in (b"pmessage", b"message"):
                channel, raw = reply[-2], reply[-1]
                # One PUBLISH reaches a connection once per matching subscription, the
                # copies back to back: skip them (event envelopes are unique).
                if last is not None and last[0] == channel and last[1] == raw:
                    continue
                last = (channel, raw)
                self._received += 1
                self._handle_event(channel, raw)
            elif kind in _SUBSCRIPTION_REPLIES:
                with self._acks:
                    self._acked += 1
                    self._acks.notify_all()
                    confirmed = self._acked == initial
                if confirmed:
                    self._connected()

    def _connected(self) -> None:
        self._epoch += 1
        self._subscribed.set()
        if self._down_since is not None:
            LOGGER.info(
                "bus %s: listening again on Redis at %s after %.1fs",
                self.card,
                self.redis_url,
                time.monotonic() - self._down_since,
            )
            self._down_since = None

    def _lost(self, exc: BaseException) -> None:
        self._subscribed.clear()
        if self._down_since is None:
            self._down_since = time.monotonic()
            LOGGER.warning(
                "bus %s: cannot listen on Redis at %s (%s); reconnecting with backoff up to "
                "%.0fs (events published meanwhile are not replayed)",
                self.card,
                self.redis_url,
                exc,
                RECONNECT_MAX_S,
            )

    def _handle_event(self, channel: bytes, raw: bytes) -> None:
        try:
            type_ = channel[len(self._evt_prefix) :].decode("utf-8", "replace")
            if self._dispatcher.wants(type_):
                self._dispatcher.dispatch(Event.from_json(raw))
        except ValueError as exc:
            LOGGER.warning("bus %s: ignored a malformed message on %s: %s", self.card, channel, exc)
        except _REDIS_ERRORS:
            raise
        except Exception:
            LOGGER.exception("bus %s: failed to dispatch a message", self.card)

    # -- history

    def history(self, count: int = 100, pattern: str = "*") -> History:
        """Return the last `count` events matching `pattern`, oldest first."""
        try:
            return self._read_history(count, pattern)
        except _REDIS_ERRORS as exc:
            raise self._unavailable(exc) from exc

    def _read_history(self, count: int, pattern: str) -> History:
        found: list[Event] = []
        cursor, upper = None, "+"
        while len(found) < count:
            page = self._read.xrevrange(self._keys.history, max=upper, min="-", count=HISTORY_BATCH)
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
        newest = self._read.xrevrange(self._keys.history, count=1)
        return newest[0][0].decode() if newest else "0-0"

    def follow(
        self, pattern: str = "*", *, after: str | None = None, timeout: float | None = None
    ) -> Iterator[Event]:
        """Yield new events matching `pattern` as they are emitted.

        Starts after the stream position `after` (e.g. `history(…).cursor`, so nothing
        emitted between the two calls is missed), by default after the newest event at
        the time of this call. Stops after `timeout` seconds without a matching event
        (if given) or when the bus is closed.
        """
        try:
            start = after or self._tail()
        except _REDIS_ERRORS as exc:
            raise self._unavailable(exc) from exc
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
            reply = self._read.xread(
                {self._keys.history: last}, count=HISTORY_BATCH, block=max(1, int(block_s * 1000))
            )
        except _REDIS_ERRORS as exc:
            if self._closing.is_set():
                return []
            raise self._unavailable(exc) from exc
        return [
            (entry_id.decode(), _parse_entry(fields)) for entry_id, fields in _stream_entries(reply)
        ]

    def _unavailable(self, exc: BaseException) -> BusUnavailable:
        return BusUnavailable(
            f"the bus (Redis at {self.redis_url}) cannot be reached: {exc}",
            hint="run `mobo status` to check the board, or start Redis and try again",
        )


def _same(reply: Any) -> Any:
    return reply


def _parse_entry(fields: dict[bytes, bytes]) -> Event | None:
    try:
        return Event.from_json(fields[b"e"])
    except (KeyError, ValueError):
        LOGGER.debug("skipped a history entry that is not an event: %r", fields)
        return None


def _matching(
    page: list[tuple[bytes, dict[bytes, bytes]]], pattern: str, limit: int
) -> list[Event]:
    out: list[Event] = []
    for _entry_id, fields in page:
        event = _parse_entry(fields)
        if event is not None and fnmatchcase(event.type, pattern):
            out.append(event)
            if len(out) == limit:
                break
    return out


def _stream_entries(reply: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Entries of a one-stream XREAD reply, in RESP2 (list) or RESP3 (dict) shape."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return [tuple(entry) for entries in reply.values() for entry in entries[0]]
    return list(reply[0][1])
