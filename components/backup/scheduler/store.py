"""The backup schedules: a Redis hash, mirrored to a JSON file in the board's home.

The mirror also keeps the due time each schedule last fired for, and re-seeds Redis
when Redis lost the schedules (a flushed or replaced Redis).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from components.backup import names
from components.backup.errors import BackupError
from mobo.kernel.keys import Keys

from .cron import Cron, parse_cron

LOGGER = logging.getLogger(__name__)
MIRROR_FILE = "backup-schedules.json"  # in the board's .mobo/


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    cron: str
    stores: tuple[str, ...] = ()  # empty: every store
    label: str = ""
    created: float = 0.0  # epoch seconds; no run is due before it

    @property
    def parsed(self) -> Cron:
        return parse_cron(self.cron)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stores": list(self.stores)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Schedule:
        return cls(
            id=str(raw["id"]),
            cron=str(raw["cron"]),
            stores=tuple(raw.get("stores") or ()),
            label=str(raw.get("label") or ""),
            created=float(raw.get("created") or 0.0),
        )


class ScheduleStore:
    """Schedules in Redis, mirrored to a JSON file in the board's home."""

    def __init__(self, conn: redis.Redis, keys: Keys, mirror: Path) -> None:
        self._redis = conn
        self._keys = keys
        self._mirror = mirror

    @classmethod
    def for_config(cls, conn: redis.Redis, keys: Keys, state_dir: Path) -> ScheduleStore:
        return cls(conn, keys, state_dir / MIRROR_FILE)

    def list(self) -> list[Schedule]:
        """Return every schedule, oldest first (re-seeding Redis from the mirror if needed)."""
        raw = self._redis.hgetall(names.schedules(self._keys))
        if not raw:
            raw = self._reseed()
        items = [Schedule.from_dict(json.loads(v)) for v in raw.values()]
        return sorted(items, key=lambda s: (s.created, s.id))

    def add(self, cron: str, stores: tuple[str, ...] = (), label: str = "") -> Schedule:
        parse_cron(cron)
        schedule = Schedule(
            secrets.token_hex(3),
            " ".join(cron.split()),
            stores,
            label,
            datetime.now(UTC).timestamp(),
        )
        self.list()  # re-seed first, so the mirror written below keeps older schedules
        self._redis.hset(names.schedules(self._keys), schedule.id, json.dumps(schedule.as_dict()))
        self._write_mirror()
        return schedule

    def remove(self, schedule_id: str) -> Schedule:
        found = next((s for s in self.list() if s.id == schedule_id), None)
        if found is None:
            raise BackupError(
                f"no backup schedule {schedule_id!r}",
                hint="see the ids with `mobo backup:schedule --list`",
            )
        pipe = self._redis.pipeline()
        pipe.hdel(names.schedules(self._keys), schedule_id)
        pipe.hdel(names.schedule_runs(self._keys), schedule_id)
        pipe.execute()
        self._write_mirror()
        return found

    def last_due(self, schedule: Schedule) -> float:
        """Return the due time the schedule last fired for (its creation if never)."""
        value = self._redis.hget(names.schedule_runs(self._keys), schedule.id)
        return float(value) if value is not None else schedule.created

    def mark_fired(self, schedule: Schedule, due: float) -> None:
        self._redis.hset(names.schedule_runs(self._keys), schedule.id, str(due))
        self._write_mirror()

    def _reseed(self) -> dict[bytes, bytes]:
        data = _read_json(self._mirror)
        schedules = {s["id"]: json.dumps(s) for s in data.get("schedules", [])}
        if not schedules:
            return {}
        pipe = self._redis.pipeline()
        pipe.hset(names.schedules(self._keys), mapping=schedules)
        for schedule_id, due in data.get("runs", {}).items():
            if schedule_id in schedules:
                pipe.hsetnx(names.schedule_runs(self._keys), schedule_id, str(due))
        pipe.execute()
        LOGGER.info("restored %d backup schedules from %s", len(schedules), self._mirror)
        return {k.encode(): v.encode() for k, v in schedules.items()}

    def _write_mirror(self) -> None:
        """Rewrite the mirror from Redis, under a lock, atomically (temp file + rename)."""
        self._mirror.parent.mkdir(parents=True, exist_ok=True)
        with open(self._mirror.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            schedules = self._redis.hgetall(names.schedules(self._keys))
            runs = self._redis.hgetall(names.schedule_runs(self._keys))
            body = {
                "schedules": sorted(
                    (json.loads(v) for v in schedules.values()), key=lambda s: s["created"]
                ),
                "runs": {k.decode(): float(v) for k, v in runs.items()},
            }
            tmp = self._mirror.with_suffix(".tmp")
            with open(tmp, "w") as fh:
                json.dump(body, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._mirror)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        LOGGER.warning("cannot read %s (%s); ignoring it", path, exc)
        return {}
    return data if isinstance(data, dict) else {}
