"""Reading the monitor's report back: from Redis, or from the state file when it is down."""

from __future__ import annotations

import json
from typing import Any

import redis

from mobo.kernel.config import Config
from mobo.kernel.keys import Keys
from mobo.kernel.redisconn import connect
from mobo.kernel.registry import Registry
from mobo.kernel.status import board_redis_url, state_store


def read_report(config: Config) -> dict[str, Any]:
    """Return `{"source", "cards": {name: row}, "system": {...}}` as the monitor last wrote it."""
    names = Registry.discover().names
    try:
        return _from_redis(config, names)
    except (redis.RedisError, OSError):
        saved = state_store(config).load().get("health", {})
        return {
            "source": "state file (bus unreachable)",
            "cards": saved.get("cards", {}),
            "system": saved.get("system", {}),
        }


def _from_redis(config: Config, names: list[str]) -> dict[str, Any]:
    keys = Keys(config.namespace)
    client = connect(board_redis_url(config), timeout=1.0)
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.health(name))
    pipe.hget(keys.health_system, "report")
    *rows, system = pipe.execute()
    cards = {
        name: {k.decode(): v.decode() for k, v in row.items()}
        for name, row in zip(names, rows, strict=True)
        if row
    }
    return {"source": "redis", "cards": cards, "system": json.loads(system) if system else {}}
