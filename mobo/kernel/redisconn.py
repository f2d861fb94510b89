"""Connecting to the bus's Redis, and the card hash every card reports into."""

from __future__ import annotations

import time
from typing import cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from mobo import defaults
from mobo.exceptions import BusUnavailable
from mobo.kernel.keys import Keys


def connect(url: str, *, timeout: float | None = defaults.REDIS_SOCKET_TIMEOUT_S) -> redis.Redis:
    """Return a client for `url` (redis://, rediss:// or unix://); nothing is sent yet
    (`timeout` None: reads wait for ever)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=defaults.REDIS_CONNECT_TIMEOUT_S,
        socket_timeout=timeout,
        health_check_interval=30,
        # one quick retry: redis-py's default retries for seconds, and a caller such as
        # /health must answer "bus unreachable" promptly, not hang
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
    )


def ping(url: str, *, timeout: float = defaults.REDIS_CONNECT_TIMEOUT_S) -> None:
    """Raise BusUnavailable unless the Redis at `url` answers PING."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        raise BusUnavailable(f"Redis at {redact_url(url)} does not answer: {exc}") from None
    finally:
        client.close()


def redact_url(url: str) -> str:
    """Hide a password in a Redis URL so it can be shown or logged."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def report_card(
    client: redis.Redis,
    keys: Keys,
    card: str,
    *,
    ttl: int = defaults.HEARTBEAT_TTL_S,
    **fields: str,
) -> None:
    """Write a card's reported fields and refresh its heartbeat, in one round trip."""
    pipe = client.pipeline(transaction=False)
    # redis-py types `mapping` as Mapping[FieldT, ...], invariant in its key: a dict[str, str]
    # is refused though every str is a FieldT
    pipe.hset(keys.card(card), mapping={**fields, "updated": f"{time.time():.3f}"})  # type: ignore[dict-item]
    pipe.set(keys.heartbeat(card), "1", ex=ttl)
    pipe.execute()


def hmget(client: redis.Redis, key: str, fields: list[str]) -> list[bytes | None]:
    """Return the values of `fields` in the hash `key` (bytes: our clients never decode)."""
    return cast("list[bytes | None]", client.hmget(key, fields))


def read_cards(client: redis.Redis, keys: Keys, names: list[str]) -> dict[str, dict[str, str]]:
    """Return each card's reported hash, with `alive` from its heartbeat and the health
    monitor's row for it under `monitor_*` keys."""
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.card(name))
        pipe.exists(keys.heartbeat(name))
        pipe.hgetall(keys.health(name))
    out = pipe.execute()
    cards = {}
    for i, name in enumerate(names):
        report, alive, health = out[3 * i : 3 * i + 3]
        raw = {k.decode(): v.decode() for k, v in report.items()}
        raw["alive"] = "1" if alive else "0"
        raw.update({f"monitor_{k.decode()}": v.decode() for k, v in health.items()})
        cards[name] = raw
    return cards
