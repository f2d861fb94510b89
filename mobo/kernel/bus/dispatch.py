"""The dispatcher: run event handlers off the listener thread, ordered per handler, isolated."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from mobo.events import Event
from mobo.kernel.bus.guard import WARN_EVERY_S

LOGGER = logging.getLogger(__name__)

WATCH_MAX_S = 0.25  # the watchdog looks at running handlers at least this often
MAX_WORKERS_FACTOR = 8  # pool may grow to threads * this while handlers overrun

Handler = Callable[[Event], None]


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


class Dispatcher:
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
        """Add a subscription; it receives the events dispatched from now on."""
        sub = Subscription(pattern, handler)
        with self._lock:
            self._subs = [*self._subs, sub]
        return sub

    def unsubscribe(self, target: Subscription | Handler) -> int:
        """Remove a subscription, or every one of a handler; drop what they had queued."""
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
        """Start the worker threads and the watchdog."""
        with self._lock:
            for _ in range(self._threads):
                self._spawn()
        watchdog = threading.Thread(
            target=self._watch_loop, name=f"bus-watchdog[{self._name}]", daemon=True
        )
        self._pool.append(watchdog)
        watchdog.start()

    def stop(self, deadline: float) -> None:
        """Stop the threads; wait for them until `deadline` (time.monotonic)."""
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
        interval = min(self._timeout / 4, WATCH_MAX_S)
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
