"""Hand the backup jobs a dead worker abandoned to RQ at once, instead of minutes later."""

from __future__ import annotations

import logging
import socket

import redis

LOGGER = logging.getLogger(__name__)


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
