"""Apply the retention policy after a scheduled backup completes."""

from __future__ import annotations

import logging

from mobo.contract import Board

from .. import names

LOGGER = logging.getLogger(__name__)
PRUNE_LOCK_S = 600


def prune_when_done(board: Board, pending: list[str]) -> None:
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
