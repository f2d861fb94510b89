"""The cache against a real Redis: TTLs, the local layer, invalidation over the bus."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from mobo.kernel.bus import Bus
from mobo.kernel.cache import Cache
from mobo.kernel.keys import Keys
from tests.conftest import free_port

WAIT_S = 5.0  # generous: only ever reached when something is broken


def eventually(check: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def make_cache(redis_client: redis.Redis, keys: Keys) -> Iterator[Callable[..., Cache]]:
    """Build caches; `bus=True` gives each its own started bus, as separate processes have."""
    opened: list[Any] = []

    def make(*, bus: bool = True, client: redis.Redis | None = None, **kwargs: Any) -> Cache:
        board_bus = Bus(client or redis_client, keys, "cache-test").start() if bus else None
        cache = Cache(client or redis_client, keys, board_bus, **kwargs)
        opened.extend([cache, board_bus] if board_bus else [cache])
        return cache

    yield make
    for thing in opened:
        thing.close()


def test_set_and_get_round_trip_json(
    make_cache: Callable[..., Cache], keys: Keys, redis_client: redis.Redis
) -> None:
    cache = make_cache()
    value = {"user": 1, "roles": ["anon", "authenticated"], "ok": True, "none": None}

    cache.set("user:1", value)

    assert cache.get("user:1") == value
    assert json.loads(redis_client.get(keys.cache("user:1"))) == value
    assert cache.get("missing") is None
    assert cache.get("missing", default=0) == 0


def test_entries_expire_after_their_ttl(
    make_cache: Callable[..., Cache], keys: Keys, redis_client: redis.Redis
) -> None:
    cache = make_cache(default_ttl=30)
    cache.set("short", "soon gone", ttl=0.2)
    cache.set("default", "stays")

    assert cache.get("short") == "soon gone"
    assert 0 < redis_client.pttl(keys.cache("short")) <= 200
    assert 29_000 < redis_client.pttl(keys.cache("default")) <= 30_000
    assert eventually(lambda: cache.get("short") is None)  # local copy expires too
    with pytest.raises(ValueError, match="positive"):
        cache.set("bad", 1, ttl=0)


def test_get_or_set_calls_the_factory_only_on_a_miss(make_cache: Callable[..., Cache]) -> None:
    cache, calls = make_cache(), []

    def factory() -> list[int]:
        calls.append(1)
        return [1, 2, 3]

    assert cache.get_or_set("numbers", factory) == [1, 2, 3]
    assert cache.get_or_set("numbers", factory) == [1, 2, 3]
    assert len(calls) == 1


def test_local_layer_serves_repeated_reads(
    make_cache: Callable[..., Cache], keys: Keys, redis_client: redis.Redis
) -> None:
    cache = make_cache()
    cache.set("config", {"v": 1})
    redis_client.set(keys.cache("config"), json.dumps({"v": "behind its back"}))

    assert cache.get("config") == {"v": 1}


def test_without_a_bus_every_read_goes_to_redis(
    make_cache: Callable[..., Cache], keys: Keys, redis_client: redis.Redis
) -> None:
    cache = make_cache(bus=False)
    cache.set("config", {"v": 1})
    redis_client.set(keys.cache("config"), json.dumps({"v": 2}))

    assert cache.get("config") == {"v": 2}


def test_invalidate_reaches_the_local_layer_of_other_processes(
    make_cache: Callable[..., Cache], keys: Keys, redis_client: redis.Redis
) -> None:
    writer, reader = make_cache(), make_cache()
    # Seeded behind both caches: a writer.set() would announce itself, and that
    # announcement could reach the reader after its first read.
    redis_client.set(keys.cache("user:1"), json.dumps("alice"), ex=60)
    assert reader.get("user:1") == "alice"  # now in reader's local layer
    redis_client.set(keys.cache("user:1"), json.dumps("changed in Redis"))
    assert reader.get("user:1") == "alice"

    assert writer.invalidate("user:1") == 1

    assert eventually(lambda: reader.get("user:1") is None)
    assert redis_client.exists(keys.cache("user:1")) == 0


def test_set_and_delete_reach_other_processes(make_cache: Callable[..., Cache]) -> None:
    writer, reader = make_cache(), make_cache()
    writer.set("flag", 1)
    assert reader.get("flag") == 1

    writer.set("flag", 2)
    assert eventually(lambda: reader.get("flag") == 2)

    assert writer.delete("flag") is True
    assert eventually(lambda: reader.get("flag") is None)
    assert writer.delete("flag") is False


def test_invalidate_by_pattern(
    make_cache: Callable[..., Cache], keys: Keys, redis_client: redis.Redis
) -> None:
    writer, reader = make_cache(), make_cache()
    for name in ("user:1", "user:2", "team:1"):
        writer.set(name, name)
        assert reader.get(name) == name

    assert writer.invalidate(pattern="user:*") == 2

    assert eventually(lambda: reader.get("user:1") is None and reader.get("user:2") is None)
    assert reader.get("team:1") == "team:1"
    assert redis_client.exists(keys.cache("user:1"), keys.cache("team:1")) == 1


def test_local_layer_is_bounded(
    make_cache: Callable[..., Cache], keys: Keys, redis_client: redis.Redis
) -> None:
    cache = make_cache(local_size=2)
    for name in ("a", "b", "c"):
        cache.set(name, name)
    for name in ("a", "b", "c"):
        redis_client.set(keys.cache(name), json.dumps(name.upper()))

    assert [cache.get(n) for n in ("a", "b", "c")] == ["A", "b", "c"]  # "a" was evicted


def test_redis_down_never_fails_a_request(make_cache: Callable[..., Cache]) -> None:
    cache = make_cache(bus=False, client=redis.Redis(port=free_port()))
    started, calls = time.monotonic(), []

    cache.set("k", 1)
    assert cache.get("k") is None
    assert cache.get("k", default="d") == "d"
    assert cache.get_or_set("k", lambda: calls.append(1) or "fresh") == "fresh"
    assert cache.get_or_set("k", lambda: calls.append(1) or "fresh") == "fresh"
    assert cache.invalidate("k", pattern="*") == 0
    assert cache.delete("k") is False

    assert len(calls) == 2
    assert time.monotonic() - started < 2.0  # no redis-py retry loops


def test_unserialisable_values_are_a_programming_error(make_cache: Callable[..., Cache]) -> None:
    with pytest.raises(TypeError):
        make_cache().set("k", object())
