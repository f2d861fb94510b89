"""Keys.forget: a board gone for good takes its Redis keys with it, and only its own."""

from __future__ import annotations

import uuid

import redis

from mobo.kernel.keys import Keys


def test_forget_deletes_the_namespace_and_nothing_else(redis_client: redis.Redis) -> None:
    base = f"mobotest:{uuid.uuid4().hex[:12]}"
    mine, neighbour, glob = Keys(base), Keys(base + "x"), Keys(base + "[*]?")
    kept = [f"{neighbour.prefix}:history", f"{glob.prefix}:history", f"{base}-rq"]
    gone = [mine.history, mine.card("gateway"), f"rq:queue:{mine.prefix}:default"]
    try:
        for name in kept + gone:
            redis_client.set(name, "1")
        assert mine.forget(redis_client) == len(gone)
        assert [redis_client.exists(name) for name in gone] == [0] * len(gone)
        assert [redis_client.exists(name) for name in kept] == [1] * len(kept)
        assert glob.forget(redis_client) == 1  # glob characters in a prefix are literal
        assert redis_client.exists(f"{neighbour.prefix}:history") == 1
        assert mine.forget(redis_client) == 0
    finally:
        redis_client.delete(*kept, *gone)
