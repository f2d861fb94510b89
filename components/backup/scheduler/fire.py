"""Fire what is due: each schedule's latest due time, once, by whichever scheduler wins."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import redis

from mobo.exceptions import MoboError
from mobo.kernel.keys import Keys

from .. import names
from .cron import Cron, CronError
from .store import Schedule, ScheduleStore

LOGGER = logging.getLogger(__name__)


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
