"""The event bus against a real Redis, in a throwaway namespace per test."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from mobo.events import Context, Event, make_event
from mobo.exceptions import BusUnavailable
from mobo.kernel.bus import Bus, pipelined, wire_json
from mobo.kernel.keys import Keys
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 5.0  # generous: only ever reached when something is broken


class Inbox:
    """Collects what a handler receives; lets the test wait for it."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, item: Any) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    @property
    def types(self) -> list[str]:
        return [item.type for item in self.items]

    def wait_for(self, count: int, timeout: float = WAIT_S) -> list[Any]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.items) >= count, timeout)
        assert ok, f"expected {count} item(s) within {timeout}s, got {self.items!r}"
        return list(self.items)


@pytest.fixture
def make_bus(redis_client: redis.Redis, keys: Keys) -> Iterator[Callable[..., Bus]]:
    buses: list[Bus] = []

    def make(card: str = "tester", *, client: redis.Redis | None = None, **kwargs: Any) -> Bus:
        bus = Bus(client or redis_client, kwargs.pop("keys", keys), card, **kwargs)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.close()


@pytest.fixture
def bus(make_bus: Callable[..., Bus]) -> Bus:
    return make_bus().start()


def test_envelope_on_the_wire(bus: Bus, keys: Keys, redis_client: redis.Redis) -> None:
    watcher = redis_client.pubsub(ignore_subscribe_messages=True)
    watcher.psubscribe(keys.event_pattern())
    assert watcher.get_message(timeout=WAIT_S) is None  # consumes the confirmation
    ctx = Context(actor="tester")

    sent = bus.emit("component.started", {"card": "gateway", "pid": 7}, context=ctx)

    message = watcher.get_message(timeout=WAIT_S)
    watcher.close()
    assert message is not None
    assert message["channel"].decode() == keys.event_channel("component.started")
    body = json.loads(message["data"])
    assert set(body) == {"id", "type", "source", "time", "data", "context"}
    assert body["id"] == sent.id and body["type"] == "component.started"
    assert body["source"] == {"card": "tester", "pid": os.getpid()}
    assert body["data"] == {"card": "gateway", "pid": 7}
    assert body["context"] == {"id": ctx.id, "parent_id": None, "actor": "tester"}
    assert body["time"].endswith("Z")
    assert datetime.fromisoformat(body["time"].replace("Z", "+00:00")).utcoffset().seconds == 0
    [(_id, fields)] = redis_client.xrange(keys.history)
    assert json.loads(fields[b"e"]) == body


def test_off_stops_delivery(bus: Bus) -> None:
    removed, by_subscription, everything = Inbox(), Inbox(), Inbox()
    bus.on("*", removed)
    subscription = bus.on("*", by_subscription)
    bus.on("*", everything)
    bus.emit("system.ready")
    removed.wait_for(1)
    by_subscription.wait_for(1)

    assert bus.off(removed) == 1
    assert bus.off(subscription) == 1
    assert not subscription.active
    bus.emit("system.stopped")
    bus.emit("system.stopped")

    everything.wait_for(3)
    assert removed.types == by_subscription.types == ["system.ready"]


def test_patterns_select_event_types(bus: Bus) -> None:
    components, exact, everything = Inbox(), Inbox(), Inbox()
    bus.on("component.*", components)
    bus.on("system.ready", exact)
    bus.on("*", everything)

    for type_ in ("component.started", "system.ready", "health.degraded", "component.failed"):
        bus.emit(type_)

    everything.wait_for(4)
    assert components.wait_for(2) and components.types == ["component.started", "component.failed"]
    assert exact.wait_for(1) and exact.types == ["system.ready"]


def test_raising_handler_does_not_stop_others(bus: Bus, caplog: pytest.LogCaptureFixture) -> None:
    calls, others = Inbox(), Inbox()

    def broken(event: Event) -> None:
        calls(event)
        raise RuntimeError("handler bug")

    bus.on("*", broken)
    bus.on("*", others)
    with caplog.at_level(logging.ERROR, logger="mobo.kernel.bus"):
        bus.emit("system.ready")
        bus.emit("system.stopped")
        others.wait_for(2)
        calls.wait_for(2)

        def failures() -> list[logging.LogRecord]:
            return [r for r in caplog.records if "failed on event" in r.getMessage()]

        deadline = time.monotonic() + WAIT_S  # the second failure is logged after calls()
        while len(failures()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)

    failures = failures()
    assert len(failures) == 2
    assert failures[0].exc_info and "handler bug" in str(failures[0].exc_info[1])


def test_slow_handler_delays_neither_publisher_nor_other_handlers(
    make_bus: Callable[..., Bus], caplog: pytest.LogCaptureFixture
) -> None:
    # One worker thread, taken first by the stuck handler: the worst case for the fast one.
    bus = make_bus(handler_timeout=0.2, handler_threads=1).start()
    release, slow_started = threading.Event(), threading.Event()
    slow, fast = Inbox(), Inbox()

    def stuck(event: Event) -> None:
        slow(event)
        slow_started.set()
        release.wait(WAIT_S)

    bus.on("*", stuck)
    bus.on("*", fast)
    with caplog.at_level(logging.WARNING, logger="mobo.kernel.bus"):
        sent = [bus.emit("health.degraded", {"n": n}) for n in range(5)]
        assert slow_started.wait(WAIT_S)
        fast.wait_for(5)

    assert len(slow.items) == 1  # still inside its first call
    assert any("has run for more than" in r.getMessage() for r in caplog.records)
    release.set()
    assert [e.id for e in slow.wait_for(5)] == [e.id for e in sent]  # ordered per handler
    assert [e.id for e in fast.items] == [e.id for e in sent]


def test_namespaces_isolate_boards(
    make_bus: Callable[..., Bus], keys: Keys, redis_client: redis.Redis
) -> None:
    other_keys = Keys(prefix=f"{keys.prefix}x")  # shares a prefix string, not a namespace
    mine, theirs = make_bus(keys=keys).start(), make_bus(keys=other_keys).start()
    my_inbox, their_inbox = Inbox(), Inbox()
    mine.on("*", my_inbox)
    theirs.on("*", their_inbox)
    try:
        mine.emit("system.ready")
        theirs.emit("system.stopped")

        assert their_inbox.wait_for(1) and their_inbox.types == ["system.stopped"]
        assert my_inbox.wait_for(1) and my_inbox.types == ["system.ready"]
        assert [e.type for e in theirs.history()] == ["system.stopped"]
    finally:
        redis_client.delete(other_keys.history)


def test_history_returns_the_last_matching_events_oldest_first(bus: Bus) -> None:
    types = ["component.started", "system.ready", "component.failed", "health.degraded"]
    for type_ in types:
        bus.emit(type_)

    assert [e.type for e in bus.history(3)] == types[1:]
    assert [e.type for e in bus.history(10, "component.*")] == [
        "component.started",
        "component.failed",
    ]
    assert [e.type for e in bus.history(1, "component.*")] == ["component.failed"]


def test_history_pages_through_a_long_stream(bus: Bus) -> None:
    bus.emit("system.ready")
    for n in range(450):
        bus.emit("health.degraded", {"n": n})

    assert [e.type for e in bus.history(5, "system.*")] == ["system.ready"]
    assert [e.data["n"] for e in bus.history(3, "health.*")] == [447, 448, 449]


def test_follow_misses_nothing_emitted_after_history(bus: Bus) -> None:
    bus.emit("system.booting")
    past = bus.history(10)
    between = bus.emit("system.ready")  # after history(), before follow()

    stream = bus.follow("system.*", after=past.cursor, timeout=WAIT_S)
    later = bus.emit("system.stopped")

    assert [e.type for e in past] == ["system.booting"]
    assert [next(stream).id, next(stream).id] == [between.id, later.id]


def test_follow_waits_for_new_events_and_filters(bus: Bus, make_bus: Callable[..., Bus]) -> None:
    bus.emit("system.booting")  # before follow(): not yielded
    stream = bus.follow("component.*", timeout=WAIT_S)
    publisher = make_bus("publisher")
    threading.Timer(0.1, publisher.emit, ("system.ready",)).start()
    threading.Timer(0.2, publisher.emit, ("component.started",)).start()

    event = next(stream)

    assert (event.type, event.source["card"]) == ("component.started", "publisher")


def test_follow_stops_after_idle_timeout_and_on_close(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus()
    assert list(bus.follow(timeout=0.2)) == []

    results: list[list[Event]] = []
    reader = threading.Thread(target=lambda: results.append(list(bus.follow())))
    reader.start()
    time.sleep(0.1)
    bus.close()
    reader.join(WAIT_S)
    assert not reader.is_alive() and results == [[]]


def test_emit_with_redis_unreachable_returns_at_once(
    make_bus: Callable[..., Bus], caplog: pytest.LogCaptureFixture
) -> None:
    dead = redis.Redis(port=free_port())
    bus = make_bus(client=dead)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="mobo.kernel.bus"):
        events = [bus.emit("health.degraded", {"n": n}) for n in range(20)]
    elapsed = time.monotonic() - started

    assert all(isinstance(e, Event) for e in events)
    assert bus.dropped == 20
    assert elapsed < 2.0  # redis-py's own retries would take seconds per emit
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


def test_reading_with_redis_unreachable_raises_bus_unavailable(
    make_bus: Callable[..., Bus],
) -> None:
    port = free_port()
    bus = make_bus(client=redis.Redis(port=port))

    for call in (bus.history, bus.follow):
        with pytest.raises(BusUnavailable) as info:
            call()
        assert f":{port}/" in str(info.value) and "mobo status" in (info.value.hint or "")


def test_start_and_close_with_redis_unreachable(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus(client=redis.Redis(port=free_port())).start()
    assert not bus.listening
    started = time.monotonic()
    bus.close()
    assert time.monotonic() - started < 2.0


def test_listener_reconnects_after_losing_its_connection(
    make_bus: Callable[..., Bus], redis_client: redis.Redis, redis_url: str
) -> None:
    name = f"bus-test-{uuid.uuid4().hex[:8]}"
    bus = make_bus(client=redis.Redis.from_url(redis_url, client_name=name)).start()
    inbox = Inbox()
    bus.on("*", inbox)
    assert bus.epoch == 1

    for client in redis_client.client_list():
        if client["name"] == name and client["psub"] != "0":
            redis_client.client_kill_filter(_id=client["id"])

    deadline = time.monotonic() + WAIT_S
    while bus.epoch < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bus.epoch == 2 and bus.listening
    bus.emit("system.ready")
    assert inbox.wait_for(1)[0].type == "system.ready"


def test_close_is_prompt_with_a_stuck_handler(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus(handler_timeout=0.2).start()
    entered, release = threading.Event(), threading.Event()
    bus.on("*", lambda event: (entered.set(), release.wait(WAIT_S)))
    bus.emit("system.ready")
    assert entered.wait(WAIT_S)

    started = time.monotonic()
    bus.close()
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 1.5


def test_events_from_another_process_are_delivered(bus: Bus, keys: Keys, redis_url: str) -> None:
    inbox = Inbox()
    bus.on("component.*", inbox)
    code = (
        "import sys, redis\n"
        "from mobo.kernel.bus import Bus\n"
        "from mobo.kernel.keys import Keys\n"
        "bus = Bus(redis.Redis.from_url(sys.argv[1]), Keys(sys.argv[2]), 'child')\n"
        "bus.emit('component.started', {'card': 'child'})\n"
        "assert bus.dropped == 0\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code, redis_url, keys.prefix],
        cwd=ROOT,
        timeout=30,
        capture_output=True,
        text=True,
        check=False,
    )

    assert child.returncode == 0, child.stderr
    [event] = inbox.wait_for(1)
    assert event.source["card"] == "child" and event.source["pid"] != os.getpid()


def test_wire_json_is_the_envelope_byte_for_byte() -> None:
    data = {"id": "b1", "at": datetime.now(UTC), "stores": ["main"], "nested": {"n": 1}}
    event = make_event("component.started", data, card="x", context=Context(actor="a").child())

    assert wire_json(event) == event.to_json()


def test_pipelined_error_reply_does_not_poison_the_connection(
    keys: Keys, redis_client: redis.Redis
) -> None:
    name = keys.cache("plain-string")
    with pytest.raises(redis.ResponseError):
        pipelined(redis_client, ("SET", name, "x"), ("XADD", name, "*", "e", "1"))

    assert pipelined(redis_client, ("GET", name), ("STRLEN", name)) == [b"x", 1]


def test_emit_survives_an_error_reply(bus: Bus, keys: Keys, redis_client: redis.Redis) -> None:
    redis_client.set(keys.history, "not a stream")

    event = bus.emit("system.ready")

    assert event.type == "system.ready" and bus.dropped == 1


def _subscriptions(redis_client: redis.Redis, keys: Keys, name: str) -> tuple[set[str], int]:
    """The event channels some listener SUBSCRIBEd, and the PSUBSCRIBE count of bus `name`."""
    channels = {c.decode() for c in redis_client.pubsub_channels(f"{keys.prefix}:evt:*")}
    psub = [int(c["psub"]) for c in redis_client.client_list() if c["name"] == name]
    return channels, sum(psub)


def test_listener_receives_only_the_types_its_handlers_want(
    make_bus: Callable[..., Bus], redis_client: redis.Redis, keys: Keys
) -> None:
    listener, emitter = make_bus().start(), make_bus("other")
    inbox = Inbox()
    listener.on("schema.*", inbox)
    for _ in range(20):
        emitter.emit("health.degraded", {"status": 200})
    emitter.emit("schema.reloaded")
    assert inbox.wait_for(1)[0].type == "schema.reloaded"
    time.sleep(0.1)
    assert listener._listener.received == 1  # the health.degraded events never reached this process


def test_redis_subscriptions_follow_on_and_off(
    make_bus: Callable[..., Bus], redis_client: redis.Redis, keys: Keys, redis_url: str
) -> None:
    name = f"bus-test-{uuid.uuid4().hex[:8]}"
    bus = make_bus(client=redis.Redis.from_url(redis_url, client_name=name)).start()

    def current() -> tuple[set[str], int]:
        return _subscriptions(redis_client, keys, name)

    def settles(expected: tuple[set[str], int]) -> bool:
        deadline = time.monotonic() + WAIT_S
        while current() != expected and time.monotonic() < deadline:
            time.sleep(0.01)
        return current() == expected

    assert current() == (set(), 0)
    exact = bus.on("schema.reloaded", Inbox())
    assert current() == ({keys.event_channel("schema.reloaded")}, 0)
    glob = bus.on("cache.*", Inbox())
    assert current() == ({keys.event_channel("schema.reloaded")}, 1)
    everything = bus.on("*", Inbox())  # covers the others: one pattern only
    assert current() == (set(), 1)

    bus.off(everything)
    assert settles(({keys.event_channel("schema.reloaded")}, 1))
    bus.off(exact)
    bus.off(glob)
    assert settles((set(), 0))


def test_overlapping_patterns_deliver_each_event_once(bus: Bus) -> None:
    inbox = Inbox()
    bus.on("s*", inbox)
    bus.on("*.re*", Inbox())
    bus.on("system.ready", Inbox())
    bus.emit("system.ready")
    bus.emit("schema.reloaded")
    assert [e.type for e in inbox.wait_for(2)] == ["system.ready", "schema.reloaded"]
    time.sleep(0.1)
    assert len(inbox.items) == 2


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("schema.reloaded", ("SUBSCRIBE", "p:evt:schema.reloaded")),
        ("schema.*", ("PSUBSCRIBE", "p:evt:schema.*")),
        ("a?b", ("PSUBSCRIBE", "p:evt:a*b")),
        ("x.[!a]*", ("PSUBSCRIBE", "p:evt:x.*")),
        ("^x*", ("PSUBSCRIBE", "p:evt:\\^x*")),
    ],
)
def test_fnmatch_globs_map_to_redis_subscriptions(pattern: str, expected: tuple[str, str]) -> None:
    from mobo.kernel.bus import redis_target

    assert redis_target("p:evt:", pattern) == expected


def test_listener_subscribes_again_to_what_handlers_want_after_reconnecting(
    make_bus: Callable[..., Bus], redis_client: redis.Redis, keys: Keys, redis_url: str
) -> None:
    name = f"bus-test-{uuid.uuid4().hex[:8]}"
    bus = make_bus(client=redis.Redis.from_url(redis_url, client_name=name)).start()
    inbox = Inbox()
    bus.on("schema.*", inbox)
    bus.on("cache.invalidated", inbox)
    for client in redis_client.client_list():
        if client["name"] == name and client["psub"] != "0":
            redis_client.client_kill_filter(_id=client["id"])
    deadline = time.monotonic() + WAIT_S
    while bus.epoch < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bus.epoch == 2 and bus.listening
    assert _subscriptions(redis_client, keys, name) == (
        {keys.event_channel("cache.invalidated")},
        1,
    )
    bus.emit("health.degraded", {"status": 200})
    bus.emit("schema.reloaded")
    assert inbox.wait_for(1)[0].type == "schema.reloaded"


def test_subscribing_while_the_listener_reconnects_loses_no_subscription(
    make_bus: Callable[..., Bus], redis_client: redis.Redis, redis_url: str
) -> None:
    # An on() racing the reconnect either writes on the dead connection (redis-py would
    # reconnect it silently, unsubscribed) or waits for the new one: both must end with
    # a listener subscribed to every handler's types.
    name = f"bus-test-{uuid.uuid4().hex[:8]}"
    bus = make_bus(client=redis.Redis.from_url(redis_url, client_name=name)).start()
    first, second = Inbox(), Inbox()
    bus.on("schema.*", first)
    for client in redis_client.client_list():
        if client["name"] == name and client["psub"] != "0":
            redis_client.client_kill_filter(_id=client["id"])
    bus.on("cache.invalidated", second)

    deadline = time.monotonic() + WAIT_S
    while bus.epoch < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bus.epoch == 2 and bus.listening
    bus.emit("schema.reloaded")
    bus.emit("cache.invalidated")
    assert first.wait_for(1)[0].type == "schema.reloaded"
    assert second.wait_for(1)[0].type == "cache.invalidated"


def test_a_connection_dropped_under_the_listener_is_not_silently_reconnected(
    bus: Bus, keys: Keys
) -> None:
    # redis-py reconnects a dropped connection on its next use, without the
    # subscriptions: the listener must notice and subscribe a new one instead.
    inbox = Inbox()
    bus.on("schema.*", inbox)
    bus._listener._conn.disconnect()  # as a failed subscription write from another thread does

    deadline = time.monotonic() + WAIT_S
    while bus.epoch < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bus.epoch == 2 and bus.listening
    bus.emit("schema.reloaded")
    assert inbox.wait_for(1)[0].type == "schema.reloaded"
