"""Start, resume or restart a copy job, and record how a run ended.

The rules (docs/bridge.md, "Resume and checkpoints"): a job that is not `done` resumes;
a `done` one is refused unless restarted; a restart empties the table the job wrote; a
target table holding rows that no job wrote is never touched; a checkpoint whose target
table was dropped since is stale and starts over.
"""

from __future__ import annotations

import logging

from mobo.exceptions import BridgeError

from .checkpoint import Checkpoints, Job, now
from .stream import Side

LOGGER = logging.getLogger(__name__)


def start_job(
    checkpoints: Checkpoints, job: Job, target: Side, *, created: bool, resume: bool
) -> Job:
    """Return the job to run: the recorded one to resume, or a fresh one (recorded)."""
    checkpoints.ensure()
    recorded = checkpoints.get(job.job)
    if recorded is not None and resume and not created:
        if recorded.state == "done":
            raise BridgeError(
                f"{job.job} was already copied and verified ({recorded.rows} rows, "
                f"{recorded.updated_at})",
                hint="pass --restart to copy it again",
            )
        return recorded
    if recorded is None and not created and not _empty(target):
        raise BridgeError(
            f"{job.target} already has rows that no MagBridge copy wrote",
            hint="copy into a new or empty table: MagBridge never deletes rows it did not write",
        )
    fresh = job.advanced(started_at=now())
    with target.adapter.transaction() as tx:
        if recorded is not None and not created:
            target.driver.empty(tx.connection, target.table)  # --restart
        checkpoints.save(fresh, tx)
    return fresh


def record_failure(checkpoints: Checkpoints, job: Job, exc: BaseException) -> None:
    """Mark the job `failed` with the reason; never raises (the target may be down)."""
    reason = str(exc) or type(exc).__name__
    if not isinstance(exc, Exception):
        reason = f"interrupted ({type(exc).__name__})"
    try:
        checkpoints.save(job.advanced(state="failed", error=reason[:2000]))
    except Exception as error:  # the job stays resumable from its last checkpoint anyway
        LOGGER.warning("bridge: could not record the failure of %s: %s", job.job, error)


def _empty(side: Side) -> bool:
    with side.adapter.transaction() as tx:
        return not side.driver.fetch(tx.connection, side.driver.probe(side.table), ())
