"""`kill -9` mid-backup on a real board: no set lists as good, the job fails (or is retried
per `[backup] retries`) in bounded time, and a later backup succeeds.

The board backs up a PostgreSQL store of 1.5 million rows (`pg_dump -Fc` takes a few
seconds), so the kill lands while `.partial-<id>/` is being written.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from components.backup.jobs import enqueue_backup, queue_of
from components.backup.sets import list_sets
from mobo.kernel.config import Config, load_config
from tests.datastore.conftest import PG_DSN
from tests.integration.conftest import BoardHome, make_home, teardown, wait_for

pytestmark = pytest.mark.integration
ROWS = 1_500_000
BACKUP_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def big_board() -> Iterator[BoardHome]:
    name = f"mobo_t_{uuid.uuid4().hex[:12]}"
    dsn = PG_DSN.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    board = None
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE readings AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) "
                "AS payload, g * 3 AS value FROM generate_series(1, %s) g",
                (ROWS,),
            )
        board = make_home()
        with (board.home / "mobo.toml").open("a") as fh:
            fh.write(f'\n[datastores.big]\nengine = "postgres"\ndsn = "{dsn}"\n')
            fh.write("\n[backup]\nretries = 0\nretry_interval = 0\n")
        board.mobo("boot", timeout=180)
        yield board
    finally:
        if board is not None:
            teardown(board)
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def config_with(board: BoardHome, retries: int) -> Config:
    env = {"MOBO_BACKUP_RETRIES": str(retries), "MOBO_BACKUP_RETRY_INTERVAL": "0"}
    return load_config(board.home, environ=env)


def good_ids(config: Config) -> set[str]:
    return {s.id for s in list_sets(config) if s.good}


def writing(config: Config, job: Job) -> Path | None:
    """The job's `.partial-<id>/` once the store's dump has started growing in it."""
    job.refresh()
    set_id = job.meta.get("set_id")
    if job.get_status() != JobStatus.STARTED or not set_id:
        return None
    partial = config.home / "backups" / f".partial-{set_id}"
    files = list(partial.glob("*")) if partial.is_dir() else []
    return partial if any(f.stat().st_size > 0 for f in files) else None


def worker_and_horse(board: BoardHome) -> tuple[psutil.Process, psutil.Process]:
    """The worker's process and its work horse (the forked child in a process group of its
    own; RQ's scheduler process is a child too, in the worker's group)."""
    worker = psutil.Process(board.card("worker")["pid"])
    horses = wait_for(lambda: [c for c in worker.children() if _leads_group(c)], timeout=30)
    return worker, horses[0]


def _leads_group(proc: psutil.Process) -> bool:
    try:
        return os.getpgid(proc.pid) == proc.pid
    except OSError:
        return False


def start_backup(board: BoardHome, retries: int) -> tuple[Config, Job, Path]:
    config = config_with(board, retries)
    job_id = enqueue_backup(config, ["big"], "kill test")
    job = Job.fetch(job_id, connection=queue_of(config).connection)
    partial = wait_for(lambda: writing(config, job), timeout=BACKUP_TIMEOUT_S, interval=0.05)
    return config, job, partial


def finished(job: Job, *states: JobStatus) -> bool:
    job.refresh()
    return job.get_status() in states


def test_killing_the_work_horse_fails_the_job_and_lists_no_set(big_board: BoardHome) -> None:
    config, job, _ = start_backup(big_board, retries=0)
    before = good_ids(config)
    _, horse = worker_and_horse(big_board)
    os.kill(horse.pid, signal.SIGKILL)
    wait_for(lambda: finished(job, JobStatus.FAILED), timeout=60)
    assert job.id in FailedJobRegistry(queue=queue_of(config)).get_job_ids()
    assert good_ids(config) == before  # nothing new lists as good
    assert not (config.home / "backups" / job.meta["set_id"]).exists()
    sets = {s.id: s for s in list_sets(config)}
    left = sets.get(job.meta["set_id"])
    assert left is None or (left.partial and not left.good)


def test_a_killed_attempt_is_retried_per_backup_retries(big_board: BoardHome) -> None:
    config, job, _ = start_backup(big_board, retries=1)
    first_set = job.meta["set_id"]
    _, horse = worker_and_horse(big_board)
    os.kill(horse.pid, signal.SIGKILL)
    wait_for(lambda: finished(job, JobStatus.FINISHED, JobStatus.FAILED), BACKUP_TIMEOUT_S, 0.2)
    assert job.get_status() == JobStatus.FINISHED, job.meta
    final_set = job.meta["set_id"]
    assert final_set != first_set  # each attempt writes a new set id
    assert final_set in good_ids(config) and first_set not in good_ids(config)


def test_killing_the_whole_worker_fails_the_job_in_bounded_time(big_board: BoardHome) -> None:
    """The worker and its horse die at once (an OOM kill, a crash): nobody is left to
    record the failure; the backup card reaps the job from RQ's started registry."""
    config, job, _ = start_backup(big_board, retries=0)
    before = good_ids(config)
    worker, horse = worker_and_horse(big_board)
    worker.kill()
    horse.kill()
    started = time.monotonic()
    wait_for(lambda: finished(job, JobStatus.FAILED), timeout=60)
    assert time.monotonic() - started < 60
    assert good_ids(config) == before
    # supervisor brings the worker back, and the next backup succeeds
    wait_for(lambda: big_board.card("worker").get("pid") not in (None, worker.pid), timeout=60)
    after = enqueue_backup(config, ["big"], "after the crash")
    done = Job.fetch(after, connection=queue_of(config).connection)
    wait_for(lambda: finished(done, JobStatus.FINISHED, JobStatus.FAILED), BACKUP_TIMEOUT_S, 0.2)
    assert done.get_status() == JobStatus.FINISHED, done.meta
    assert done.meta["set_id"] in good_ids(config)


def test_killing_only_the_worker_takes_its_horse_and_scheduler_down(big_board: BoardHome) -> None:
    """Forked children die with the worker (PR_SET_PDEATHSIG): no orphaned RQ scheduler
    looping for ever, no horse finishing a set for a job RQ has already failed."""
    config, job, _ = start_backup(big_board, retries=0)
    before = good_ids(config)
    worker, horse = worker_and_horse(big_board)
    children = worker.children()
    assert horse in children and len(children) >= 2  # the horse and RQ's scheduler
    worker.kill()
    _gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [p.cmdline() for p in alive]
    wait_for(lambda: finished(job, JobStatus.FAILED), timeout=60)
    assert good_ids(config) == before
