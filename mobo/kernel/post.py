"""POST: the power-on self-test run before anything of the board starts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mobo import defaults
from mobo.contract import Card, Check
from mobo.exceptions import BusUnavailable, ManifestError
from mobo.kernel.config import Config
from mobo.kernel.redisconn import ping, redact_url
from mobo.kernel.registry import Registry
from mobo.kernel.supervisor import socket_path, socket_path_ok

PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class RedisChoice:
    """Which Redis the board will use, and whether the private `redis` card must run it."""

    url: str
    private: bool


def choose_redis(config: Config, private_url: str) -> RedisChoice:
    """Use `[redis] url` if set; else the local default if it answers; else the private card.

    `url = "private"` always runs the board's own redis-server (nothing shared)."""
    if config.redis.url == PRIVATE:
        return RedisChoice(private_url, private=True)
    if config.redis.url:
        return RedisChoice(config.redis.url, private=False)
    try:
        ping(defaults.REDIS_URL, timeout=0.2)
        return RedisChoice(defaults.REDIS_URL, private=False)
    except BusUnavailable:
        return RedisChoice(private_url, private=True)


def timed(name: str, fn: Callable[[], Check | None]) -> Check:
    """Run one check; an exception with a message becomes a failed check."""
    start = time.perf_counter()
    try:
        result = fn() or Check(name, True)
    except Exception as exc:  # a check must report, never crash the POST
        result = Check(name, False, str(exc), hint=getattr(exc, "hint", None))
    return Check(
        result.name or name,
        result.ok,
        result.detail,
        result.hint,
        (time.perf_counter() - start) * 1000,
    )


def run_post(
    config: Config,
    registry: Registry,
    plugged: list[str],
    cards: dict[str, Card],
    redis: RedisChoice,
) -> Iterator[Check]:
    """Yield each POST check's outcome in order (the caller stops at the first failure)."""
    yield timed("config valid", lambda: Check("config valid", True, str(config.config_path)))
    yield timed("home writable", lambda: _home_writable(config))
    yield timed("socket paths fit", lambda: _sockets(config))
    yield timed("dependencies resolvable", lambda: _dependencies(registry, plugged))
    if not redis.private:
        yield timed("redis reachable", lambda: _redis(redis.url))
    for name in plugged:
        for check in cards[name].preflight(config):
            yield timed(check.name, _given(check))


def _given(check: Check) -> Callable[[], Check]:
    """Return a check that was already made, for `timed`."""
    return lambda: check


def _home_writable(config: Config) -> Check:
    probe = config.state_dir / ".write-test"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check(
            "home writable",
            False,
            f"{config.state_dir}: {exc.strerror}",
            hint="choose a writable MOBO_HOME, or fix the folder's owner/mode",
        )
    return Check("home writable", True, str(config.home))


def _sockets(config: Config) -> Check:
    if socket_path_ok(config):
        return Check("socket paths fit", True)
    return Check(
        "socket paths fit",
        False,
        f"{socket_path(config)} is longer than 107 bytes",
        hint="use a board home with a shorter path",
    )


def _dependencies(registry: Registry, plugged: list[str]) -> Check:
    registry.layers(plugged)
    for name in plugged:
        missing = [d for d in registry.get(name).depends_on if d not in plugged]
        if missing:
            raise ManifestError(
                f"{name} depends on unplugged {', '.join(missing)}",
                hint=f"`mobo plug {missing[0]}`, or unplug {name}",
            )
    return Check("dependencies resolvable", True, " -> ".join(registry.order(plugged)))


def _redis(url: str) -> Check:
    try:
        ping(url)
    except BusUnavailable as exc:
        return Check(
            "redis reachable",
            False,
            str(exc),
            hint="start Redis, fix [redis] url (or MOBO_REDIS_URL), or leave it empty "
            "to let the board run its own",
        )
    return Check("redis reachable", True, redact_url(url))
