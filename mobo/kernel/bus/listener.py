"""The listener: one Redis connection subscribed to what the handlers want, read by one thread."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis

from mobo import defaults
from mobo.events import Event
from mobo.kernel.bus.dispatch import Dispatcher
from mobo.kernel.bus.targets import UNSUBSCRIBE, Target, redis_targets
from mobo.kernel.bus.wire import CONNECTION_ARGS, REDIS_ERRORS, fail_fast

LOGGER = logging.getLogger(__name__)

RECONNECT_MIN_S = 0.1  # reconnect backoff: first wait, doubled up to the cap
RECONNECT_MAX_S = 5.0
POLL_S = 0.1  # the thread's wake-up: bounds how long close() waits for it
START_WAIT_S = 1.0  # start() and on() wait this long for subscriptions to be confirmed

_SUBSCRIPTION_REPLIES = (b"subscribe", b"psubscribe", b"unsubscribe", b"punsubscribe")


class Listener:
    """Keep one connection subscribed to the handlers' event types; pass events to the dispatcher.

    The thread reads the connection; any thread may write (UN)(P)SUBSCRIBE on it under
    `_lock`. Every such command gets one reply, which the thread counts, so a caller can
    wait until Redis confirmed what it asked for. (redis-py's PubSub object is not meant
    to be shared between threads, and an `on()` from any thread must subscribe at once.)

    Only redis-py's public connection API is used. The connection speaks RESP2, where
    pub/sub messages are plain replies (RESP3 sends them as pushes, which only PubSub
    receives without reaching into the parser). A connection redis-py reconnects by
    itself would have lost its subscriptions, so a connect callback refuses that and
    the thread starts over with a fresh, fully subscribed connection.
    """

    def __init__(
        self,
        client: redis.Redis,
        channel_prefix: str,
        dispatcher: Dispatcher,
        *,
        card: str,
        url: str,
        closing: threading.Event,
    ) -> None:
        self._client = fail_fast(client, timeout_s=defaults.REDIS_SOCKET_TIMEOUT_S, protocol=2)
        self._prefix = channel_prefix
        self._evt_prefix = channel_prefix.encode()
        self._dispatcher = dispatcher
        self._card = card
        self._url = url
        self._closing = closing
        self._thread: threading.Thread | None = None
        self._subscribed = threading.Event()
        self._down_since: float | None = None
        self.epoch = 0  # how many times the thread has (re)subscribed
        self.received = 0  # event messages read from Redis (for tests and stats)
        self._lock = threading.Lock()
        self._acks = threading.Condition(self._lock)
        self._conn: Any = None  # the thread's connection while it is subscribed
        self._dropped: Any = None  # a connection redis-py tried to reconnect under us
        self._live: set[Target] = set()  # what _conn is subscribed to
        self._sent = 0  # subscription commands written on _conn
        self._acked = 0  # their replies read by the thread

    @property
    def listening(self) -> bool:
        """Whether the connection is subscribed right now."""
        return self._subscribed.is_set()

    def start(self) -> None:
        """Start the thread once; wait briefly until its subscriptions are confirmed."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"bus-listener[{self._card}]"
        )
        self._thread.start()
        self._subscribed.wait(START_WAIT_S)

    def join(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the thread to end (after `closing` is set)."""
        if self._thread is not None:
            self._thread.join(max(0.0, timeout))

    def _targets(self) -> set[Target]:
        """The Redis subscriptions the handlers need, as (command, channel) pairs."""
        return redis_targets(self._prefix, self._dispatcher.patterns())

    def sync(self, *, wait: bool) -> None:
        """Bring the Redis subscriptions in line with the handlers.

        With `wait`, return once Redis confirmed the new ones (at most START_WAIT_S).
        """
        with self._acks:
            conn = self._conn
            if conn is None:
                return  # not listening (yet): the thread subscribes when it connects
            want = self._targets()
            # New subscriptions first: no gap for a handler that moves to another one (an
            # event both catch meanwhile comes twice, and the thread drops the copy).
            commands = sorted(want - self._live)
            commands += [(UNSUBSCRIBE[kind], name) for kind, name in sorted(self._live - want)]
            if not commands:
                return
            try:
                self._send(conn, commands)
            except REDIS_ERRORS:
                LOGGER.debug("bus %s: subscription update failed", self._card, exc_info=True)
                return  # the thread sees the broken connection and subscribes again
            self._live = want
            if wait:
                self._await_acks(conn, self._sent)

    def _await_acks(self, conn: Any, target: int) -> None:
        """Wait (holding _acks) until `target` replies were read on `conn`, or START_WAIT_S."""
        deadline = time.monotonic() + START_WAIT_S
        while self._conn is conn and self._acked < target:
            left = deadline - time.monotonic()
            if left <= 0 or self._closing.is_set():
                break
            self._acks.wait(min(left, POLL_S))

    def _send(self, conn: Any, commands: list[Target]) -> None:
        """Write subscription commands on the connection (caller holds _lock)."""
        if not commands:
            return
        packed = conn.pack_commands(commands)
        conn.send_packed_command(packed, check_health=False)
        self._sent += len(commands)

    # -- the thread

    def _run(self) -> None:
        backoff = RECONNECT_MIN_S
        pool = self._client.connection_pool
        while not self._closing.is_set():
            conn = None
            try:
                conn = pool.get_connection(*CONNECTION_ARGS)  # connected
                self._dropped = None
                conn.register_connect_callback(self._reconnected)
                self._pump(conn, self._subscribe_all(conn))
            except REDIS_ERRORS as exc:
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
                    conn.deregister_connect_callback(self._reconnected)
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
            if self._dropped is conn:
                raise redis.ConnectionError("the listener's connection was dropped")
            if not conn.can_read(timeout=POLL_S):
                continue
            # push_request: should a pool keep RESP3 (Sentinel's are left as they are),
            # messages come as pushes, which redis-py then returns as replies.
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
                self.received += 1
                self._handle_event(channel, raw)
            elif kind in _SUBSCRIPTION_REPLIES:
                with self._acks:
                    self._acked += 1
                    self._acks.notify_all()
                    confirmed = self._acked == initial
                if confirmed:
                    self._connected()

    def _reconnected(self, conn: Any) -> None:
        """Refuse redis-py's own reconnect of the subscribed connection: it has no subscriptions."""
        self._dropped = conn
        raise redis.ConnectionError("the listener's connection was dropped")

    def _connected(self) -> None:
        self.epoch += 1
        self._subscribed.set()
        if self._down_since is not None:
            LOGGER.info(
                "bus %s: listening again on Redis at %s after %.1fs",
                self._card,
                self._url,
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
                self._card,
                self._url,
                exc,
                RECONNECT_MAX_S,
            )

    def _handle_event(self, channel: bytes, raw: bytes) -> None:
        try:
            type_ = channel[len(self._evt_prefix) :].decode("utf-8", "replace")
            if self._dispatcher.wants(type_):
                self._dispatcher.dispatch(Event.from_json(raw))
        except ValueError as exc:
            LOGGER.warning(
                "bus %s: ignored a malformed message on %s: %s", self._card, channel, exc
            )
        except REDIS_ERRORS:
            raise
        except Exception:
            LOGGER.exception("bus %s: failed to dispatch a message", self._card)
