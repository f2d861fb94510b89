"""The backup card's process: fires backup schedules on time, prunes, reaps abandoned jobs.

A schedule is a cron expression: 5 fields (minute hour day-of-month month day-of-week),
6 fields with seconds first, an alias (`@hourly`, `@daily`, `@weekly`, `@monthly`,
`@yearly`) or `@every N{s,m,h,d}` (due at every multiple of N since the epoch, so all
schedulers agree on the due times). Times are UTC.

Schedules live in the Redis hash `<ns>:backup:schedules`, mirrored with the due time each
last fired for in `.mobo/backup-schedules.json` (re-seeded into Redis when Redis lost them).

Each tick (`TICK_S`) the scheduler takes every schedule's latest due time at or before
now; when the schedule has not fired for it yet, the scheduler that wins
`SET <ns>:backup:fire:<id>:<due> NX` enqueues the backup. So after downtime a schedule
runs once (for the latest missed time, however many were missed), never once per missed
run, and two schedulers never both fire. After a scheduled backup completes, the
retention policy (`[backup] keep_*`) is applied unless `[backup] prune_after_schedule`
is false.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from croniter import croniter

from components.backup.errors import BackupError
from mobo.contract import Board
from mobo.exceptions import MoboError
from mobo.kernel.keys import Keys

from . import names

LOGGER = logging.getLogger(__name__)
TICK_S = 0.5  # how often due times are checked (seconds-level schedules need < 1 s)
REAP_EVERY_S = 5.0  # how often abandoned backup jobs are looked for
MIRROR_FILE = "backup-schedules.json"  # in the board's .mobo/
PRUNE_LOCK_S = 600
FIELDS5 = ("minute", "hour", "day of month", "month", "day of week")
FIELDS6 = ("second", *FIELDS5)
ALLOWED = {
    "second": "0-59",
    "minute": "0-59",
    "hour": "0-23",
    "day of month": "1-31",
    "month": "1-12 or jan-dec",
    "day of week": "0-6 or sun-sat",
}
ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
EVERY = re.compile(r"^@every\s+(\d+)\s*([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
HINT = (
    'use 5 fields "minute hour day-of-month month day-of-week" (e.g. "0 3 * * *" = daily at '
    '03:00 UTC), 6 fields with seconds first, @hourly/@daily/@weekly/@monthly, or "@every 30s"'
)


class CronError(BackupError):
    """A schedule expression that does not parse (the message names the field)."""


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed schedule expression."""

    expr: str
    every_s: int = 0  # `@every N`: the period in seconds, else 0

    def prev(self, now: datetime) -> datetime:
        """Return the latest due time at or before `now`."""
        if self.every_s:
            epoch = int(now.timestamp()) // self.every_s * self.every_s
            return datetime.fromtimestamp(epoch, UTC)
        return self._iter(now + timedelta(microseconds=1)).get_prev(datetime)

    def next(self, now: datetime) -> datetime:
        """Return the first due time after `now`."""
        if self.every_s:
            return self.prev(now) + timedelta(seconds=self.every_s)
        return self._iter(now).get_next(datetime)

    def _iter(self, start: datetime) -> croniter:
        six = len(self.expr.split()) == 6
        return croniter(self.expr, start.astimezone(UTC), second_at_beginning=six)


def parse_cron(expr: str) -> Cron:
    """Parse and check a schedule expression; CronError names the field that is wrong."""
    text = " ".join(expr.split())
    if text.startswith("@every"):
        match = EVERY.match(text)
        if not match or int(match.group(1)) < 1:
            raise CronError(f'"{expr}" is not a valid @every schedule', hint='e.g. "@every 30s"')
        return Cron(text, int(match.group(1)) * UNITS[match.group(2)])
    if text.startswith("@"):
        if text not in ALIASES:
            raise CronError(f'"{expr}": unknown alias {text}', hint=f"known: {', '.join(ALIASES)}")
        return Cron(text)
    parts = text.split(" ") if text else []
    if len(parts) not in (5, 6):
        raise CronError(f'"{expr}" has {len(parts)} fields, expected 5 or 6', hint=HINT)
    field_names = FIELDS5 if len(parts) == 5 else FIELDS6
    for index, (name, part) in enumerate(zip(field_names, parts, strict=True)):
        probe = ["*"] * len(parts)
        probe[index] = part
        if not _valid(" ".join(probe), six=len(parts) == 6):
            raise CronError(
                f'"{expr}": the {name} field "{part}" is not valid',
                hint=f"{name} takes {ALLOWED[name]}, with * , - and /; {HINT}",
            )
    if not _valid(text, six=len(parts) == 6):
        raise CronError(f'"{expr}" never matches a date', hint=HINT)
    return Cron(text)


def _valid(text: str, *, six: bool) -> bool:
    try:
        croniter(text, datetime(2026, 1, 1, tzinfo=UTC), second_at_beginning=six).get_next()
    except (ValueError, KeyError, TypeError):  # croniter's errors derive from ValueError
        return False
    return True


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
            secrets.token_hex(3), " ".join(cron.split()), stores, label, _now().timestamp()
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


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Fired:
    schedule: str
    due: datetime
    job: str


class Scheduler:
    """Decides what is due and fires it; the clock is the caller's (`tick(now)`)."""

    def __init__(
        self,
        store: ScheduleStore,
        conn: redis.Redis,
        keys: Keys,
        enqueue: Callable[[Schedule], str],
        *,
        instance: str = "",
    ) -> None:
        self._store = store
        self._redis = conn
        self._keys = keys
        self._enqueue = enqueue
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"

    def tick(self, now: datetime) -> list[Fired]:
        """Fire every schedule due at or before `now` that has not fired for that time."""
        fired = []
        for schedule in self._store.list():
            try:
                cron = schedule.parsed
            except CronError as exc:  # edited by hand into something invalid
                LOGGER.error("skipping backup schedule %s: %s", schedule.id, exc)
                continue
            due = cron.prev(now)
            if due.timestamp() <= self._store.last_due(schedule) or not self._claim(
                schedule, cron, due
            ):
                continue
            self._store.mark_fired(schedule, due.timestamp())
            try:
                job = self._enqueue(schedule)
            except MoboError as exc:  # e.g. its store was removed from mobo.toml since
                LOGGER.error("backup schedule %s could not enqueue: %s", schedule.id, exc)
                continue
            LOGGER.info("backup schedule %s fired for %s: job %s", schedule.id, due, job)
            fired.append(Fired(schedule.id, due, job))
        return fired

    def _claim(self, schedule: Schedule, cron: Cron, due: datetime) -> bool:
        period = (cron.next(due) - due).total_seconds()
        ttl = int(min(max(2 * period, 10), 86400))
        key = names.fire_lock(self._keys, schedule.id, int(due.timestamp()))
        return bool(self._redis.set(key, self.instance, nx=True, ex=ttl))


def reap_abandoned(conn: redis.Redis, queue_name: str, host: str | None = None) -> list[str]:
    """Fail (or retry, per the job's retries) started jobs whose worker is dead.

    RQ itself notices an abandoned job only when its execution's heartbeat TTL runs out
    (up to `job_monitoring_interval + 60` s) and a worker's maintenance (every 10 min)
    cleans the registry. A worker on this host whose pid is gone, or any worker whose
    Redis record is gone, is dead now: its entries are expired at once and handed to RQ's
    own `StartedJobRegistry.cleanup`, which retries or moves them to the failed registry.
    """
    from rq.registry import StartedJobRegistry

    registry = StartedJobRegistry(queue_name, connection=conn)
    dead = []
    for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
        worker = conn.hget(f"rq:execution:{job_id}:{execution_id}", "worker_name")
        if worker is None or _worker_alive(conn, worker.decode(), host or socket.gethostname()):
            continue
        conn.zadd(registry.key, {f"{job_id}:{execution_id}": 1}, xx=True)
        dead.append(job_id)
    if dead:
        registry.cleanup(timestamp=1)
        LOGGER.warning("backup jobs abandoned by a dead worker: %s", ", ".join(dead))
    return dead


def _worker_alive(conn: redis.Redis, name: str, host: str) -> bool:
    import psutil

    record = {k.decode(): v.decode() for k, v in conn.hgetall(f"rq:worker:{name}").items()}
    if not record:
        return False
    if record.get("hostname") == host and record.get("pid", "").isdigit():
        try:
            return psutil.Process(int(record["pid"])).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False
    return True  # another host's worker: RQ's own heartbeat TTL decides


def serve(board: Board) -> None:
    """The backup card's main loop: schedules, prune after scheduled backups, reaping."""
    from components.backup.jobs import enqueue_backup

    store = ScheduleStore.for_config(board.redis, board.keys, board.config.state_dir)
    pending: list[str] = []

    def enqueue(schedule: Schedule) -> str:
        label = schedule.label or f"schedule {schedule.id}"
        job = enqueue_backup(board, list(schedule.stores) or None, label)
        pending.append(job)
        board.bus.emit(
            "backup.scheduled",
            {"schedule": schedule.id, "job": job, "due": _now().isoformat()},
        )
        return job

    scheduler = Scheduler(store, board.redis, board.keys, enqueue)
    queue = board.keys.queue("backup")
    reap_abandoned(board.redis, queue)
    board.ready(detail=f"{len(store.list())} backup schedules")
    last_reap = _now()
    while not board.wait(TICK_S):
        try:
            scheduler.tick(_now())
            _prune_when_done(board, pending)
            if (_now() - last_reap).total_seconds() >= REAP_EVERY_S:
                reap_abandoned(board.redis, queue)
                last_reap = _now()
        except (redis.RedisError, OSError) as exc:
            LOGGER.warning("backup scheduler: %s; retrying", exc)


def _prune_when_done(board: Board, pending: list[str]) -> None:
    """Apply the retention policy once any scheduled backup job has finished."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    finished = False
    for job_id in list(pending):
        try:
            status = Job.fetch(job_id, connection=board.redis).get_status()
        except NoSuchJobError:
            status = JobStatus.CANCELED
        if status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            pending.remove(job_id)
            finished = finished or status == JobStatus.FINISHED
    if finished and _prune_after_schedule(board):
        auto_prune(board)


def _prune_after_schedule(board: Board) -> bool:
    value = board.config.section("backup").get("prune_after_schedule", True)
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")


def auto_prune(board: Board) -> None:
    """Prune under the board's prune lock; never raise (a failed prune is logged)."""
    from components.backup.retention import policy_from_config, prune

    lock = board.redis.lock(names.prune_lock(board.keys), timeout=PRUNE_LOCK_S, blocking=False)
    if not lock.acquire():
        return
    try:
        result = prune(board, policy_from_config(board.config))
        if result.removed:
            board.bus.emit(
                "backup.pruned",
                {
                    "kept": [v.id for v in result.kept],
                    "removed": [v.id for v in result.removed],
                    "policy": result.policy.describe(),
                },
            )
    except Exception:
        LOGGER.exception("pruning after a scheduled backup failed")
    finally:
        lock.release()
