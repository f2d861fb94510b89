"""A worker's local allowances: rate-limit tokens reserved from Redis in blocks.

Asking Redis about every request costs a round trip each. Instead a worker reserves a
*block* of a bucket's requests in one atomic call (ratelimit.py's Lua script moves the
bucket's GCRA arrival time by the whole block) and answers the next requests from that
block without Redis, until it is used up or `RATE_LIMIT_LEASE_S` has passed.

The block size adapts per bucket: it starts at 1 (a client seen now and then is counted
exactly, request by request), doubles each time a block is used up within its lease and
halves when one expires unused, and never exceeds `cap(limit)` = burst /
`RATE_LIMIT_BLOCK_SHARE`, at most `RATE_LIMIT_BLOCK_MAX`. Tokens are counted in Redis
before the requests they admit, so the bound is: with W workers over all gateway
replicas holding blocks of one bucket, at most W * cap(limit) requests more than the
limit pass in any window (tokens reserved within a lease ago), and at most as many are
refused early (tokens another worker holds, or that expired unused). With the default
`100/1s burst 200` that is 6 requests per worker; a limit with a burst under 64 is
counted exactly.

A refusal is remembered too: Redis says when the bucket next has room (the arrival time
never moves back), so until then the worker answers 429 without asking again.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from components.gateway.platform.settings import Limit
from mobo import defaults

MAX_TRACKED = 50_000  # buckets a worker remembers; the expired ones go first


def cap(limit: Limit) -> int:
    """The largest block a worker reserves of a bucket with this limit."""
    share = limit.burst // defaults.RATE_LIMIT_BLOCK_SHARE
    return max(1, min(defaults.RATE_LIMIT_BLOCK_MAX, share))


@dataclass(slots=True)
class Allowance:
    """What a worker holds of one bucket."""

    tokens: int = 0  # reserved in Redis, not used yet
    expires: float = 0.0  # monotonic time at which unused tokens are dropped
    block: int = 1  # how many to reserve next time
    remaining: int = 0  # what Redis had left after the last reservation
    reset_at: float = 0.0  # when the bucket is full again, as of the last answer
    refused_until: float = 0.0  # Redis refused: no room before then


@dataclass(frozen=True, slots=True)
class Refill:
    """One bucket to reserve a block of in Redis."""

    index: int  # position in the request's bucket list
    name: str
    limit: Limit
    want: int


class Allowances:
    """The local allowances of one worker process, safe to share between its threads."""

    def __init__(self, blocks: bool = True) -> None:
        self._blocks = blocks  # False: every request asks Redis (block of 1)
        self._table: dict[str, Allowance] = {}
        self._lock = threading.Lock()

    def take(
        self, buckets: Sequence[tuple[str, Limit]], now: float
    ) -> tuple[list[Refill], int | None]:
        """Take one token of every bucket that has one.

        Returns the buckets to refill from Redis and, when one of them is known to be
        full until later, its index (nothing is taken then)."""
        with self._lock:
            found = [self._table.get(name) for name, _ in buckets]
            refused = [i for i, a in enumerate(found) if a is not None and a.refused_until > now]
            if refused:
                return [], max(refused, key=lambda i: found[i].refused_until)  # type: ignore[union-attr]
            refills = []
            for i, ((name, limit), a) in enumerate(zip(buckets, found, strict=True)):
                if a is not None and a.tokens > 0 and a.expires > now:
                    a.tokens -= 1
                else:
                    block = self._next_block(a, limit, now)
                    refills.append(Refill(i, name, limit, block))
            return refills, None

    def give_back(self, buckets: Sequence[tuple[str, Limit]], skip: set[int]) -> None:
        """Return the tokens `take` took (Redis refused the request after all)."""
        with self._lock:
            for i, (name, _) in enumerate(buckets):
                a = self._table.get(name)
                if i not in skip and a is not None:
                    a.tokens += 1

    def granted(self, refill: Refill, got: int, remaining: int, reset_us: int, now: float) -> None:
        """Record a reserved block, one token of which the current request uses."""
        with self._lock:
            a = self._entry(refill.name, now)
            a.tokens += got - 1
            a.expires = now + defaults.RATE_LIMIT_LEASE_S
            a.block = refill.want
            a.remaining = remaining
            a.reset_at = now + reset_us / 1e6

    def refused(self, name: str, reset_us: int, retry_us: int, now: float) -> None:
        """Remember that a bucket has no room for `retry_us`."""
        with self._lock:
            a = self._entry(name, now)
            a.refused_until = now + retry_us / 1e6
            a.reset_at = now + reset_us / 1e6

    def held(self, name: str, now: float) -> tuple[int, float, float]:
        """Return (remaining as the client sees it, reset in s, refused for s) of a bucket."""
        with self._lock:
            a = self._table.get(name)
            if a is None:
                return 0, 0.0, 0.0
            tokens = a.tokens if a.expires > now else 0
            return (
                a.remaining + tokens,
                max(0.0, a.reset_at - now),
                max(0.0, a.refused_until - now),
            )

    def _next_block(self, a: Allowance | None, limit: Limit, now: float) -> int:
        if a is None or not self._blocks:
            return 1
        if a.tokens > 0:  # the last block expired unused: ask for less
            a.tokens = 0
            return max(1, a.block // 2)
        if a.expires > now:  # used up within its lease: ask for more
            return min(cap(limit), a.block * 2)
        return min(cap(limit), a.block)

    def _entry(self, name: str, now: float) -> Allowance:
        a = self._table.get(name)
        if a is None:
            if len(self._table) >= MAX_TRACKED:
                self._prune(now)
            a = self._table[name] = Allowance()
        return a

    def _prune(self, now: float) -> None:
        """Forget the buckets with nothing held and no refusal in force."""
        stale = [n for n, a in self._table.items() if a.expires <= now and a.refused_until <= now]
        for name in stale:
            del self._table[name]
        if len(self._table) >= MAX_TRACKED:  # all busy: forget everything but refusals
            self._table = {n: a for n, a in self._table.items() if a.refused_until > now}


def seconds(value: float) -> int:
    """Whole seconds, rounded up, as the RateLimit headers carry them."""
    return max(0, math.ceil(value - 1e-9))
