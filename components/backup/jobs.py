"""Backups as RQ jobs on the worker card's `backup` queue.

    job_id = enqueue_backup(board, stores=None, label=None)   # the scheduler and the CLI

`run_backup` is the job: it writes one set (create.py), keeps its progress in the job's
meta (`set_id`, `stage`, `done`, `total`, `bytes`) and on the bus, and on failure emits
`backup.failed` with the reason and re-raises, so RQ marks the job failed and retries it
per `[backup] retries` (each attempt writes a new set id; a failed attempt leaves none).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mobo.kernel.config import Config, load_config

from .sets import config_of
from .settings import backup_settings

LOGGER = logging.getLogger(__name__)

QUEUE = "backup"
JOB = "components.backup.jobs.run_backup"
RESULT_TTL_S = 7 * 86400  # how long a finished job (and its result) is kept
FAILURE_TTL_S = 30 * 86400


def redis_of(board: Any) -> Any:
    """The board's Redis: a Board's own connection, or one for a Config."""
    if not isinstance(board, Config) and hasattr(board, "redis"):
        return board.redis
    from mobo.kernel.redisconn import connect
    from mobo.kernel.status import board_redis_url

    return connect(board_redis_url(board), timeout=None)


def queue_of(board: Any) -> Any:
    from rq import Queue

    from mobo.kernel.keys import Keys

    config = config_of(board)
    return Queue(Keys(config.namespace).queue(QUEUE), connection=redis_of(board))


def enqueue_backup(
    board: Any, stores: Sequence[str] | None = None, label: str | None = None
) -> str:
    """Queue a backup of the stores (default: all) on the board's worker; return the job id."""
    from rq import Retry

    from .stores import selected_stores

    config = config_of(board)
    selected_stores(config, stores)  # an unknown store fails here, not in the worker
    settings = backup_settings(config)
    retry = (
        Retry(max=settings.retries, interval=settings.retry_interval) if settings.retries else None
    )
    job = queue_of(board).enqueue(
        JOB,
        kwargs={"home": str(config.home), "stores": list(stores or []), "label": label},
        job_timeout=settings.job_timeout,
        result_ttl=RESULT_TTL_S,
        failure_ttl=FAILURE_TTL_S,
        retry=retry,
        description=f"backup of {', '.join(stores) if stores else 'every store'}"
        + (f" ({label})" if label else ""),
    )
    return str(job.id)


def workers_serving(board: Any) -> list[str]:
    """Return the names of the live RQ workers that serve the board's backup queue."""
    from rq import Worker

    queue = queue_of(board)
    return [w.name for w in Worker.all(queue=queue)]


def run_backup(
    home: str, stores: list[str] | None = None, label: str | None = None
) -> dict[str, Any]:
    """The job: write one set; progress in the job's meta and on the bus."""
    from rq import get_current_job

    from .create import create_set, new_id
    from .files import size_of
    from .report import Reporter

    job = get_current_job()
    config = load_config(home)
    set_id = new_id()

    def keep(data: dict[str, Any]) -> None:
        if job is not None:
            job.meta.update(data)
            job.save_meta()

    reporter = Reporter(config, keep)
    keep({"set_id": set_id, "stage": "starting", "done": 0, "total": 0, "bytes": 0})
    try:
        path = create_set(
            config, stores=stores or None, label=label, set_id=set_id, reporter=reporter
        )
    except BaseException as exc:
        reason = str(exc) or type(exc).__name__
        hint = getattr(exc, "hint", None)
        retries_left = getattr(job, "retries_left", None) or 0
        keep({"error": reason, "hint": hint})
        reporter.emit(
            "backup.failed",
            {"id": set_id, "reason": reason, "hint": hint, "will_retry": retries_left > 0},
        )
        LOGGER.error("backup %s failed: %s", set_id, reason)
        raise
    finally:
        reporter.close()
    return {"id": set_id, "path": str(path), "size": size_of(path)}
