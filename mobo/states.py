"""String enums of card and system states (stdlib only)."""

from __future__ import annotations

from enum import StrEnum


class CardState(StrEnum):
    """Where a card's process is in its life (as the board sees it)."""

    UNPLUGGED = "unplugged"  # in the registry, but not in the board's config
    STOPPED = "stopped"
    STARTING = "starting"
    NOT_READY = "not_ready"  # process up, setup waiting for a dependency
    RUNNING = "running"
    STOPPING = "stopping"
    BACKOFF = "backoff"
    FAILED = "failed"  # fatal configuration error, or supervisor gave up
    BLOCKED = "blocked"  # a card it depends on is not running
    IDLE = "idle"  # plugged, but not needed on this board (e.g. an external Redis is used)
    UNKNOWN = "unknown"


class Health(StrEnum):
    """A card's health as reported by its checks."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    CRITICAL = "critical"
    FAILED = "failed"
    RECOVERING = "recovering"
    UNKNOWN = "unknown"


class SystemState(StrEnum):
    """The board as a whole."""

    OFF = "off"
    BOOTING = "booting"
    READY = "ready"
    DEGRADED = "degraded"
    SHUTTING_DOWN = "shutting_down"
    FAILED = "failed"


# supervisor's process state names mapped onto ours
SUPERVISOR_STATES: dict[str, CardState] = {
    "STOPPED": CardState.STOPPED,
    "STARTING": CardState.STARTING,
    "RUNNING": CardState.RUNNING,
    "BACKOFF": CardState.BACKOFF,
    "STOPPING": CardState.STOPPING,
    "EXITED": CardState.STOPPED,
    "FATAL": CardState.FAILED,
    "UNKNOWN": CardState.UNKNOWN,
}
