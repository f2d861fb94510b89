"""GCRA rate limiting in Redis: every bucket of a request checked in one round trip.

The generic cell rate algorithm keeps one number per bucket, its *theoretical arrival
time* (TAT). A limit of `count` per `period` with a `burst` spaces requests by
`T = period / count`; a request passes when `max(TAT, now) + T - now <= T * burst`, and
then becomes the new TAT. The Lua script checks a request's buckets (per IP, per key)
together against Redis's clock and records the request only if all of them let it
pass, so a refused request costs the client nothing. Keys expire once drained.

When Redis is unreachable or slow the check fails open: the request passes, the
failure is counted, and a warning is logged at most every 30 s (`RedisGuard`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from components.gateway.platform.settings import Limit
from mobo.kernel.bus import RedisGuard, fail_fast, pipelined, redis_url
from mobo.kernel.keys import Keys

CHECK_TIMEOUT_S = 0.25  # a check slower than this lets the request through

GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out, pass, tats = {}, 1, {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tau = interval * tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now) or now
  if tat < now then tat = now end
  local ahead = tat + interval - now
  if ahead > tau then
    pass = 0
    out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = tat - now; out[#out + 1] = ahead - tau
  else
    tats[i] = tat + interval
    out[#out + 1] = 1; out[#out + 1] = math.floor((tau - ahead) / interval)
    out[#out + 1] = ahead; out[#out + 1] = 0
  end
end
if pass == 1 then
  for i, key in ipairs(KEYS) do
    local ttl_ms = math.ceil((tats[i] - now) / 1000) + 1
    redis.call('SET', key, string.format('%.0f', tats[i]), 'PX', ttl_ms)
  end
end
return out
"""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the limiter said about one request, as the RateLimit-* headers report it."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    retry_after_s: int
    bucket: str

    def headers(self) -> dict[str, str]:
        """Return the IETF draft headers (and Retry-After when refused)."""
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after_s)
        return out


def _seconds(us: int) -> int:
    return max(0, math.ceil(us / 1_000_000))


def verdict_of(reply: Sequence[int], buckets: Sequence[tuple[str, Limit]]) -> Verdict:
    """Pick the bucket to report: the refusing one that waits longest, else the tightest."""
    rows = [(reply[4 * i : 4 * i + 4], name, limit) for i, (name, limit) in enumerate(buckets)]
    refused = [r for r in rows if not r[0][0]]
    if refused:
        (_, _, reset, retry), name, limit = max(refused, key=lambda r: r[0][3])
        return Verdict(False, limit.burst, 0, _seconds(reset), max(1, _seconds(retry)), name)
    (_, remaining, reset, _), name, limit = min(rows, key=lambda r: r[0][1] / r[2].burst)
    return Verdict(True, limit.burst, int(remaining), _seconds(reset), 0, name)


class RateLimiter:
    """Check buckets against Redis; None means Redis did not answer and the request passes."""

    def __init__(
        self, client: redis.Redis, keys: Keys, on_failure: Callable[[], None] = lambda: None
    ) -> None:
        self._redis = fail_fast(client, timeout_s=CHECK_TIMEOUT_S)
        self._keys = keys
        self._sha = self._redis.register_script(GCRA_LUA).sha
        self._guard = RedisGuard("gateway rate limits", redis_url(client))
        self._on_failure = on_failure  # counts checks that failed open

    def check(self, buckets: Sequence[tuple[str, Limit]]) -> Verdict | None:
        """Count one request against every bucket (name, limit); return the verdict."""
        if not buckets:
            return None
        if not self._guard.allow():
            self._on_failure()
            return None
        command: list[Any] = ["EVALSHA", self._sha, len(buckets)]
        command += [self._keys.rate_limit(name) for name, _ in buckets]
        for _, limit in buckets:
            command += (limit.interval_us, limit.burst)
        try:
            reply = self._evalsha(command)
        except (redis.RedisError, OSError) as exc:
            self._on_failure()
            self._guard.failed(exc)
            return None
        self._guard.succeeded()
        return verdict_of([int(x) for x in reply], buckets)

    def _evalsha(self, command: list[Any]) -> Any:
        """EVALSHA on a pooled connection without redis-py's Script/command layers
        (a third of the client-side cost); load the script once when Redis lacks it."""
        try:
            return pipelined(self._redis, tuple(command))[0]
        except redis.exceptions.NoScriptError:
            self._redis.script_load(GCRA_LUA)
            return pipelined(self._redis, tuple(command))[0]
