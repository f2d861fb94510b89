"""The hardware monitor's logic: a health state machine per card and the restart policy.

Both are plain objects (no Redis, no supervisor) so they can be tested on their own; the
`monitor` card drives them.

    healthy ──fail──▶ degraded ──fail──▶ critical ──fail──▶ failed
       ▲                  │                  │                 │
       └──── N good ── recovering ◀──good────┴────good─────────┘
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from mobo.contract import Board, Check
from mobo.kernel.redisconn import hmget
from mobo.states import Health

TRANSITION_EVENTS = {
    Health.DEGRADED: "health.degraded",
    Health.CRITICAL: "health.critical",
    Health.FAILED: "health.failed",
    Health.HEALTHY: "health.recovered",
}


@dataclass
class CardHealth:
    """One card's health, fed one round's outcome at a time."""

    state: Health = Health.UNKNOWN
    failures: int = 0  # failed rounds in a row
    successes: int = 0  # good rounds in a row

    def observe(self, ok: bool, failure_threshold: int, recovery_threshold: int) -> Health | None:
        """Record a round; return the new state when it changed."""
        before = self.state
        if ok:
            self.failures, self.successes = 0, self.successes + 1
            if before in (Health.UNKNOWN, Health.HEALTHY) or self.successes >= recovery_threshold:
                self.state = Health.HEALTHY
            else:
                self.state = Health.RECOVERING
        else:
            self.successes, self.failures = 0, self.failures + 1
            if self.failures >= failure_threshold:
                self.state = Health.FAILED
            elif self.failures >= max(2, failure_threshold - 1):
                self.state = Health.CRITICAL
            else:
                self.state = Health.DEGRADED
        return self.state if self.state != before else None

    def event_for(self, new: Health, old: Health) -> str | None:
        """Return the bus event a transition emits (none for the first healthy round)."""
        if new == Health.HEALTHY and old in (Health.UNKNOWN, Health.HEALTHY):
            return None
        return TRANSITION_EVENTS.get(new)


@dataclass(frozen=True, slots=True)
class RestartDecision:
    restart: bool
    wait_s: float = 0.0  # how long to wait before the restart is allowed
    reason: str = ""


@dataclass
class RestartPolicy:
    """Exponential backoff between self-healing restarts, with a cap per window."""

    base_s: float
    factor: float
    max_restarts: int
    window_s: float
    history: deque[float] = field(default_factory=deque)

    def decide(self, now: float | None = None) -> RestartDecision:
        """Say whether a failed card may be restarted now, later, or not at all."""
        now = time.time() if now is None else now
        while self.history and now - self.history[0] > self.window_s:
            self.history.popleft()
        if len(self.history) >= self.max_restarts:
            return RestartDecision(
                False, reason=f"gave up after {len(self.history)} restarts in {self.window_s:.0f}s"
            )
        if not self.history:
            return RestartDecision(True)
        wait = self.history[-1] + self.gap(len(self.history) + 1) - now
        return RestartDecision(wait <= 0, max(0.0, wait))

    def gap(self, attempt: int) -> float:
        """The least time between restart `attempt - 1` and restart `attempt` (1-based)."""
        return 0.0 if attempt <= 1 else self.base_s * self.factor ** (attempt - 2)

    def record(self, now: float | None = None) -> None:
        self.history.append(time.time() if now is None else now)

    def reset(self) -> None:
        self.history.clear()


def heartbeat_check(board: Board, card: str, pid: int | None) -> Check:
    """Check that a card's process reported recently, from that very pid."""
    raw = hmget(board.redis, board.keys.card(card), ["pid", "updated", "state", "detail"])
    reported_pid, updated, state, detail = (v.decode() if v else "" for v in raw)
    if pid is None:
        return Check(card, False, "process not running")
    if reported_pid != str(pid) or not updated:
        return Check(card, False, f"pid {pid} has not reported yet")
    age = time.time() - float(updated)
    limit = 2.5 * board.config.health.heartbeat + 1.0
    if age > limit:
        return Check(card, False, f"no heartbeat for {age:.1f}s (process hung?)")
    if state != "running":
        return Check(card, False, f"reports {state}: {detail}")
    return Check(card, True, f"heartbeat {age:.1f}s ago")
