"""GCRA rate limiting in Redis: buckets reserved in blocks, one round trip per refill.

The generic cell rate algorithm keeps one number per bucket, its *theoretical arrival
time* (TAT). A limit of `count` per `period` with a `burst` spaces requests by
`T = period / count`; a request passes when `max(TAT, now) + T - now <= T * burst`, and
then becomes the new TAT. The Lua script reserves up to `want` requests of each bucket
at once (TAT moves by `got * T`, `got` being as many as fit) against Redis's clock, and
only if every bucket has room for at least one, so a refused request costs the client
nothing. Keys expire once drained. A worker answers the requests after the first of a
block from its local allowance (allowance.py, which states the bound on exactness).

When Redis is unreachable or slow the check fails open: the request passes, the
failure is counted, and a warning is logged at most every 30 s (`RedisGuard`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from components.gateway.platform.allowance import Allowances, Refill, seconds
from components.gateway.platform.settings import Limit
from mobo.kernel.bus import RedisGuard, fail_fast, pipelined, redis_url
from mobo.kernel.keys import Keys

from .. import names

CHECK_TIMEOUT_S = 0.25  # a check slower than this lets the request through

GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out, pass, tats = {}, 1, {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3 * i - 2])
  local tau = interval * tonumber(ARGV[3 * i - 1])
  local want = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', key) or now) or now
  if tat < now then tat = now end
  local fit = math.floor((tau - (tat - now)) / interval)
  if fit < 1 then
    pass = 0
    out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = tat - now
    out[#out + 1] = tat + interval - now - tau
  else
    local got = math.min(want, fit)
    tats[i] = tat + got * interval
    out[#out + 1] = got; out[#out + 1] = fit - got; out[#out + 1] = tats[i] - now
    out[#out + 1] = 0
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


class RateLimiter:
    """Check buckets against the local allowances and Redis; None means Redis did not
    answer and the request passes. `blocks=False` asks Redis about every request."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        on_failure: Callable[[], None] = lambda: None,
        *,
        blocks: bool = True,
    ) -> None:
        self._redis = fail_fast(client, timeout_s=CHECK_TIMEOUT_S)
        self._keys = keys
        self._sha = self._redis.register_script(GCRA_LUA).sha
        self._guard = RedisGuard("gateway rate limits", redis_url(client))
        self._on_failure = on_failure  # counts checks that failed open
        self.allowances = Allowances(blocks)
        self.round_trips = 0  # Redis calls made, for tests and benchmarks

    def check(self, buckets: Sequence[tuple[str, Limit]]) -> Verdict | None:
        """Count one request against every bucket (name, limit); return the verdict."""
        if not buckets:
            return None
        now = time.monotonic()
        refills, full = self.allowances.take(buckets, now)
        if full is not None:
            return self._verdict(buckets, now, refused=full)
        if refills:
            if not self._guard.allow():
                self._on_failure()
                return None
            try:
                reply = self._reserve(refills)
            except (redis.RedisError, OSError) as exc:
                self._on_failure()
                self._guard.failed(exc)
                return None
            self._guard.succeeded()
            refused = self._record(refills, reply, now)
            if refused is not None:
                self.allowances.give_back(buckets, {r.index for r in refills})
                return self._verdict(buckets, now, refused=refused)
        return self._verdict(buckets, now)

    def _reserve(self, refills: list[Refill]) -> list[int]:
        command: list[Any] = ["EVALSHA", self._sha, len(refills)]
        command += [names.rate_limit(self._keys, r.name) for r in refills]
        for r in refills:
            command += (r.limit.interval_us, r.limit.burst, r.want)
        self.round_trips += 1
        return [int(x) for x in self._evalsha(command)]

    def _record(self, refills: list[Refill], reply: list[int], now: float) -> int | None:
        """Store what Redis granted (or refused); return the index of the bucket that
        refuses longest, if any did."""
        rows = [(r, reply[4 * i : 4 * i + 4]) for i, r in enumerate(refills)]
        refused = [(r, row) for r, row in rows if row[0] == 0]
        for r, (_, _, reset, retry) in refused:
            self.allowances.refused(r.name, reset, retry, now)
        if refused:
            return max(refused, key=lambda item: item[1][3])[0].index
        for r, (got, remaining, reset, _) in rows:
            self.allowances.granted(r, got, remaining, reset, now)
        return None

    def _verdict(
        self, buckets: Sequence[tuple[str, Limit]], now: float, refused: int | None = None
    ) -> Verdict:
        """Report the refusing bucket, else the one with the least room left."""
        if refused is not None:
            name, limit = buckets[refused]
            _, reset, wait = self.allowances.held(name, now)
            return Verdict(False, limit.burst, 0, seconds(reset), max(1, seconds(wait)), name)
        rows = [(self.allowances.held(name, now), name, limit) for name, limit in buckets]
        (remaining, reset, _), name, limit = min(rows, key=lambda r: r[0][0] / r[2].burst)
        return Verdict(True, limit.burst, int(remaining), seconds(reset), 0, name)

    def _evalsha(self, command: list[Any]) -> Any:
        """EVALSHA on a pooled connection without redis-py's Script/command layers
        (a third of the client-side cost); load the script once when Redis lacks it."""
        try:
            return pipelined(self._redis, tuple(command))[0]
        except redis.exceptions.NoScriptError:
            self._redis.script_load(GCRA_LUA)
            return pipelined(self._redis, tuple(command))[0]
