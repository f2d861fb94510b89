"""The bus envelope and the registry of event types.

Every event on the bus is one JSON object::

    {"id": "…", "type": "component.started", "source": {"card": "gateway", "pid": 42},
     "time": "2026-11-25T18:00:00.123456Z", "data": {…},
     "context": {"id": "…", "parent_id": null, "actor": null}}

Types read `<noun>.<past-tense verb>`. The kernel's own (system.*, boot.*, component.*,
config.*, cache.*, health.*) are registered here; a card declares its own in its
manifest's `[events]` table, registered when the registry loads the manifests. Every
type is documented in docs/events.md (a test keeps the two in step).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

EVENT_TYPES: dict[str, str] = {
    "system.booting": "The boot manager started a boot; data: stage list.",
    "system.ready": "Every card is running and healthy; data: cards, urls, boot_ms.",
    "system.shutdown_started": "`mobo shutdown` began stopping cards in reverse order.",
    "system.stopped": "The board stopped; nothing of it is left running.",
    "system.critical": "The board cannot heal a card by itself; data: card, reason.",
    "boot.stage_completed": "A boot stage finished; data: stage, ms.",
    "boot.failed": "A boot stage or POST check failed; data: stage, check, message.",
    "component.starting": "A card's process began its setup; data: card.",
    "component.started": "A card finished setup and serves; data: card, pid.",
    "component.not_ready": "A card's setup must wait for something; data: reason, retry_in.",
    "component.stopped": "A card's process stopped cleanly; data: card.",
    "component.failed": "A card failed; data: card, reason, fatal.",
    "component.restarted": "The monitor restarted a card; data: card, reason, attempt, backoff_s.",
    "component.plugged": "A card was plugged into the running board; data: card.",
    "component.unplugged": "A card was unplugged from the running board; data: card.",
    "config.reloaded": "Hot-reloadable config keys changed; data: keys.",
    "cache.invalidated": "Cache keys were invalidated on every process; data: keys.",
    "health.degraded": "A card's health became degraded; data: card, detail.",
    "health.critical": "A card's health became critical; data: card, detail.",
    "health.failed": "A card's health became failed; data: card, detail.",
    "health.recovered": "A card's health returned to healthy; data: card.",
}


def register_event_type(name: str, description: str) -> None:
    """Register an event type so `emit` accepts it (the registry does, for each card's
    `[events]`)."""
    if not TYPE_PATTERN.match(name):
        raise ValueError(
            f"event type {name!r} must be dotted lowercase words, e.g. 'backup.completed'"
        )
    EVENT_TYPES.setdefault(name, description)


_cards_loaded = False


def is_registered(type_: str) -> bool:
    """Say whether `type_` is registered, loading the cards' manifests once first when it
    is not: a process that emits before it discovered the cards (an RQ job, a script, a
    test) still knows their types, and a typo is still refused."""
    global _cards_loaded
    if type_ not in EVENT_TYPES and not _cards_loaded:
        from mobo.kernel.registry import Registry

        _cards_loaded = True
        Registry.discover()
    return type_ in EVENT_TYPES


def now_rfc3339() -> str:
    """Return the current UTC time in RFC 3339 with microseconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Context:
    """Traces a chain of events (API call → backup job → backup.completed)."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    parent_id: str | None = None
    actor: str | None = None

    def child(self, actor: str | None = None) -> Context:
        """Return a context whose parent is this one."""
        return Context(parent_id=self.id, actor=actor or self.actor)


@dataclass(frozen=True, slots=True)
class Event:
    """One bus event: the envelope of ARCHITECTURE.md."""

    type: str
    data: dict[str, Any]
    source: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    time: str = field(default_factory=now_rfc3339)
    context: Context = field(default_factory=Context)

    def to_json(self) -> str:
        """Serialise the envelope as one compact JSON object."""
        return json.dumps(asdict(self), separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        """Parse an envelope; raise ValueError when it is not one."""
        obj = json.loads(raw)
        if not isinstance(obj, dict) or not {"type", "data", "source"} <= obj.keys():
            raise ValueError("not a bus envelope: needs type, data and source")
        ctx = obj.get("context") or {}
        return cls(
            type=obj["type"],
            data=obj["data"],
            source=obj["source"],
            id=obj.get("id") or uuid.uuid4().hex,
            time=obj.get("time") or now_rfc3339(),
            context=Context(
                ctx.get("id") or uuid.uuid4().hex, ctx.get("parent_id"), ctx.get("actor")
            ),
        )


def make_event(
    type_: str,
    data: dict[str, Any] | None = None,
    *,
    card: str,
    context: Context | None = None,
) -> Event:
    """Build an envelope for a registered type from this process."""
    if not is_registered(type_):
        raise ValueError(
            f"unknown event type {type_!r}: register it with "
            "mobo.events.register_event_type() and document it in docs/events.md"
        )
    return Event(
        type=type_,
        data=data or {},
        source={"card": card, "pid": os.getpid()},
        context=context or Context(),
    )
