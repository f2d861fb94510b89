"""`serve(board)`: the backup card's main loop, `mobo run backup`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import redis

from mobo.contract import Board

from .fire import Scheduler
from .prune import prune_when_done
from .reap import reap_abandoned
from .store import Schedule, ScheduleStore

LOGGER = logging.getLogger(__name__)
TICK_S = 0.5  # how often due times are checked (seconds-level schedules need < 1 s)
REAP_EVERY_S = 5.0  # how often abandoned backup jobs are looked for


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
            prune_when_done(board, pending)
            if (_now() - last_reap).total_seconds() >= REAP_EVERY_S:
                reap_abandoned(board.redis, queue)
                last_reap = _now()
        except (redis.RedisError, OSError) as exc:
            LOGGER.warning("backup scheduler: %s; retrying", exc)


def _now() -> datetime:
    return datetime.now(UTC)
