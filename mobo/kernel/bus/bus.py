"""`Bus`: one process's handle on the board's events — emit, handle, replay."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import redis

from mobo import defaults
from mobo.events import Context, Event, make_event
from mobo.exceptions import BusError
from mobo.kernel.bus.dispatch import Dispatcher, Handler, Subscription
from mobo.kernel.bus.guard import RedisGuard
from mobo.kernel.bus.history import History, HistoryStream
from mobo.kernel.bus.listener import Listener
from mobo.kernel.bus.wire import REDIS_ERRORS, fail_fast, pipelined, redis_url, wire_json
from mobo.kernel.keys import Keys

CLOSE_WAIT_S = 0.8  # close() gives its threads this long in total to finish


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
        self._closing = threading.Event()
        self._dispatcher = Dispatcher(
            card, timeout_s=handler_timeout, threads=handler_threads, queue_max=queue_max
        )
        self._listener = Listener(
            client,
            keys.event_channel(""),
            self._dispatcher,
            card=card,
            url=self.redis_url,
            closing=self._closing,
        )
        self._history = HistoryStream(
            self._read, keys.history, url=self.redis_url, closing=self._closing
        )
        self._started = False
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
        except REDIS_ERRORS as exc:
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
        except REDIS_ERRORS as exc:
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
        self._listener.sync(wait=True)
        return sub

    def off(self, handler_or_subscription: Subscription | Handler) -> int:
        """Stop delivering to a subscription, or to every subscription of a handler.

        Queued events are discarded; a call already running finishes. Returns how many
        subscriptions were removed.
        """
        removed = self._dispatcher.unsubscribe(handler_or_subscription)
        if removed:
            self._listener.sync(wait=False)
        return removed

    # -- lifecycle

    def start(self) -> Bus:
        """Start the listener; wait briefly until its subscriptions are confirmed."""
        if self._closing.is_set():
            raise BusError("this bus is closed; make a new Bus to listen again")
        if not self._started:
            self._started = True
            self._dispatcher.start()
            self._listener.start()
        return self

    @property
    def listening(self) -> bool:
        """Whether the listener is subscribed right now."""
        return self._listener.listening

    @property
    def epoch(self) -> int:
        """How many times the listener has (re)subscribed; a change means events may be lost."""
        return self._listener.epoch

    def close(self) -> None:
        """Stop listening and delivering; return within about a second."""
        self._closing.set()
        deadline = time.monotonic() + CLOSE_WAIT_S
        self._listener.join(deadline - time.monotonic())
        self._dispatcher.stop(deadline)
        for client in (self._pub, self._read):
            # A follow() in another thread still owns its connection; it lets go within
            # FOLLOW_BLOCK_S, and closing the socket under it would crash its read.
            client.connection_pool.disconnect(inuse_connections=False)

    def __enter__(self) -> Bus:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- history

    def history(self, count: int = 100, pattern: str = "*") -> History:
        """Return the last `count` events matching `pattern`, oldest first."""
        return self._history.last(count, pattern)

    def follow(
        self, pattern: str = "*", *, after: str | None = None, timeout: float | None = None
    ) -> Iterator[Event]:
        """Yield new events matching `pattern` as they are emitted.

        Starts after the stream position `after` (e.g. `history(…).cursor`, so nothing
        emitted between the two calls is missed), by default after the newest event at
        the time of this call. Stops after `timeout` seconds without a matching event
        (if given) or when the bus is closed.
        """
        return self._history.follow(pattern, after, timeout)
