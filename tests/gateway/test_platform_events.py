"""`api.request` events: the right fields, no secrets, batched off the request path."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from components.gateway.platform.metrics import Metrics
from components.gateway.platform.reporter import Reporter
from mobo.events import Event
from mobo.kernel.bus import Bus
from mobo.kernel.keys import Keys
from tests.gateway.platform_support import anon, app_client, make_board

PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture
def bus(redis_client: redis.Redis, keys: Keys) -> Iterator[Bus]:
    with Bus(redis_client, keys, "test") as bus:
        yield bus


def collect(bus: Bus, pattern: str = "api.request") -> list[Event]:
    got: list[Event] = []
    bus.on(pattern, got.append)
    return got


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_each_request_emits_an_event_with_the_right_fields(
    home: Path, keys: Keys, bus: Bus
) -> None:
    config = make_board(home, keys)
    got = collect(bus)
    with app_client(config) as (client, _):
        client.simulate_get("/rest/v1/", headers=anon(config), remote_addr="198.51.100.4")
        client.simulate_get("/nowhere", params={"token": "sekrit"}, remote_addr="198.51.100.4")
        wait_for(lambda: len(got) == 2)
    by_path = {e.data["path"]: e for e in got}
    doc = by_path["/rest/v1/"]
    assert doc.source["card"] == "gateway" and doc.source["pid"] == os.getpid()
    assert doc.data["method"] == "GET"
    assert doc.data["route"] == "/rest/v1/"
    assert doc.data["status"] == 200
    assert doc.data["role"] == "anon"
    assert doc.data["key_id"] is None
    assert doc.data["ip"] == "198.51.100.4"
    assert isinstance(doc.data["ms"], float) and doc.data["ms"] > 0
    missing = by_path["/nowhere"]
    assert missing.data["status"] == 404 and missing.data["route"] == "(unmatched)"
    assert missing.data["role"] is None
    assert "sekrit" not in json.dumps(missing.data)  # no query string


def test_events_carry_no_secrets(home: Path, keys: Keys, bus: Bus) -> None:
    config = make_board(home, keys)
    raw: list[str] = []
    bus.on("api.request", lambda e: raw.append(e.to_json()))
    bearer = config.secrets.service_role_key
    with app_client(config) as (client, _):
        client.simulate_post(
            "/auth/v1/signup",
            json={"email": "ann@example.com", "password": PASSWORD},
            headers=anon(config, Authorization=f"Bearer {bearer}"),
        )
        client.simulate_post(
            "/auth/v1/token",
            params={"grant_type": "password", "password": PASSWORD},
            json={"email": "ann@example.com", "password": PASSWORD},
            headers=anon(config),
        )
        wait_for(lambda: len(raw) == 2)
    text = "\n".join(raw)
    for secret in (PASSWORD, bearer, config.secrets.anon_key, "ann@example.com", "Bearer"):
        assert secret not in text
    assert '"route":"/auth/v1/token"' in text


def test_events_of_a_table_route_name_the_table(home: Path, keys: Keys, bus: Bus) -> None:
    config = make_board(home, keys)
    got = collect(bus)
    with app_client(config) as (client, _):
        client.simulate_get("/rest/v1/todos", params={"id": "eq.1"}, headers=anon(config))
        wait_for(lambda: len(got) == 1)
    assert got[0].data["route"] == "/rest/v1/{table}"
    assert got[0].data["table"] == "todos"


def test_many_requests_take_few_round_trips(home: Path, keys: Keys, bus: Bus) -> None:
    config = make_board(home, keys, rate_limit={"enabled": False})
    got = collect(bus)
    n = 300
    with app_client(config) as (client, services):
        for _ in range(n):
            client.simulate_get("/health")
        wait_for(lambda: len(got) == n)
        assert services.platform is not None
        trips = services.platform.reporter.round_trips
    assert trips <= n / 10, f"{trips} round trips for {n} events"
    assert {e.data["route"] for e in got} == {"/health"}
    assert len({e.id for e in got}) == n
    assert len({e.context.id for e in got}) == n  # one context per request, not per batch


def test_the_request_path_never_waits_for_redis(home: Path, keys: Keys) -> None:
    """With Redis unreachable, requests still answer at once and the events are counted."""
    config = make_board(home, keys, rate_limit={"enabled": False})
    with app_client(config, redis_url="redis://127.0.0.1:1/0") as (client, services):
        started = time.perf_counter()
        for _ in range(50):  # (not /health: it pings Redis itself)
            assert client.simulate_get("/nowhere").status_code == 404
        assert time.perf_counter() - started < 2
        platform = services.platform
        assert platform is not None
        platform.reporter.flush()
        wait_for(lambda: platform.metrics.scalars["events_dropped"] >= 50)


def test_a_full_queue_drops_and_counts(redis_client: redis.Redis, keys: Keys) -> None:
    metrics = Metrics()
    reporter = Reporter(lambda: redis_client, keys, metrics, queue_max=100)
    for n in range(150):  # the thread is not started: nothing drains the queue
        reporter.submit({"n": n})
    assert reporter.pending == 100
    assert metrics.scalars["events_dropped"] == 50
    reporter.flush()
    assert reporter.pending == 0 and metrics.scalars["events_sent"] == 100


def test_history_mode_keeps_events_in_the_stream(redis_client: redis.Redis, keys: Keys) -> None:
    for mode, expected in (("publish", 0), ("history", 3)):
        redis_client.delete(keys.history)
        reporter = Reporter(lambda: redis_client, keys, Metrics(), mode=mode)
        for n in range(3):
            reporter.submit({"n": n})
        reporter.flush()
        assert redis_client.xlen(keys.history) == expected


def test_events_can_be_switched_off(home: Path, keys: Keys, bus: Bus) -> None:
    config = make_board(home, keys, gateway={"request_events": "off"})
    got = collect(bus)
    with app_client(config) as (client, services):
        client.simulate_get("/health")
        assert services.platform is not None
        services.platform.reporter.flush()
    time.sleep(0.3)
    assert got == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_events_are_sent_from_a_forked_worker(home: Path, keys: Keys, bus: Bus) -> None:
    """gunicorn forks workers after building the app: the sender must run in each child."""
    config = make_board(home, keys, rate_limit={"enabled": False})
    got = collect(bus)
    with app_client(config) as (client, _):
        client.simulate_get("/health")  # the parent's thread starts
        wait_for(lambda: len(got) == 1)
        pid = os.fork()
        if pid == 0:  # the child: serve one request and give the sender time to publish
            code = 1
            try:
                client.simulate_get("/health")
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline and threading.active_count() < 2:
                    time.sleep(0.01)
                time.sleep(0.5)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        wait_for(lambda: any(e.source["pid"] == pid for e in got))
