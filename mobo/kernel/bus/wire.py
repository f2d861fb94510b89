"""Redis I/O that must not hold a caller up: fail-fast clients, batches, the wire JSON."""

from __future__ import annotations

import json
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mobo import defaults
from mobo.events import Event

REDIS_ERRORS = (redis.RedisError, OSError)
# redis-py before 5.3 wants a command name in get_connection(); later ones deprecate it.
CONNECTION_ARGS = () if tuple(map(int, redis.__version__.split(".")[:2])) >= (5, 3) else ("X",)
# Keys newer redis-py versions keep in connection_kwargs but refuse in a pool's constructor.
_DROPPED_POOL_KWARGS = (
    "maint_notifications_pool_handler",
    "orig_host_address",
    "orig_socket_timeout",
    "orig_socket_connect_timeout",
)


def redis_url(client: redis.Redis) -> str:
    """Describe where a client points, for messages (never includes a password)."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"


def fail_fast(client: redis.Redis, *, timeout_s: float, **overrides: Any) -> redis.Redis:
    """Return a client to the same Redis that never retries and times out after timeout_s.

    redis-py retries a refused connection with backoff for seconds by default; the bus
    and the cache must rather fail at once and let their callers carry on. `overrides`
    are further connection settings (e.g. `protocol=2`).
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
        **overrides,
    )
    if kwargs.get("protocol") == 2:
        kwargs.pop("maint_notifications_config", None)  # redis-py refuses it without RESP3
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
    conn = pool.get_connection(*CONNECTION_ARGS)
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
