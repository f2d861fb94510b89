"""Every Redis key and channel a board uses, defined once.

All names start with the board's namespace (`[bus] prefix`, by default
`mobo:<board id>`), so several boards can share one Redis without seeing each other's
events, jobs, heartbeats or cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Keys:
    """The Redis names of one board."""

    prefix: str

    def event_channel(self, type_: str) -> str:
        """Pub/sub channel an event of `type_` is published on."""
        return f"{self.prefix}:evt:{type_}"

    def event_pattern(self, type_pattern: str = "*") -> str:
        """PSUBSCRIBE pattern for event types matching a glob (`component.*`)."""
        return f"{self.prefix}:evt:{type_pattern}"

    @property
    def history(self) -> str:
        """Capped stream (XADD MAXLEN ~) of recent events, for replay and tail."""
        return f"{self.prefix}:history"

    def card(self, name: str) -> str:
        """Hash with a card's reported state: state, pid, started, health, url, detail."""
        return f"{self.prefix}:card:{name}"

    def heartbeat(self, name: str) -> str:
        """Key a running card refreshes with a TTL; its absence means the card is silent."""
        return f"{self.prefix}:hb:{name}"

    def health(self, card: str) -> str:
        """Hash the health monitor keeps per card: state, detail, latency_ms, checked_at,
        failures, restarts, given_up."""
        return f"{self.prefix}:health:{card}"

    @property
    def health_system(self) -> str:
        """Hash with the monitor's system report (uptime, load, memory, per-card use)."""
        return f"{self.prefix}:health:system"

    def cache(self, key: str) -> str:
        """A cache entry."""
        return f"{self.prefix}:cache:{key}"

    @property
    def system(self) -> str:
        """Hash with the board's state: state, booted_at, ready_ms."""
        return f"{self.prefix}:system"

    def queue(self, name: str) -> str:
        """RQ queue name (RQ adds its own `rq:queue:` in front)."""
        return f"{self.prefix}:{name}"

    def forget(self, client: Any) -> int:
        """Delete every key of this namespace from `client` (a redis.Redis), RQ's queue
        registries named after it included; return how many. For a board that is gone for
        good (its home deleted): its event history and change streams would otherwise
        stay in Redis."""
        pattern = "*" + re.sub(r"([\\[\]*?])", r"\\\1", self.prefix) + ":*"
        names = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(names), 500):
            client.delete(*names[start : start + 500])
        return len(names)
