"""Copy jobs and their checkpoints, kept in the target store's `_mobo_bridge` table.

One row per job (`<source store>.<source table> -> <target table>`). The row is updated
in the same transaction as each batch it records, so after any interruption the target
holds exactly the rows up to `last_key`, and a resumed copy neither skips nor repeats
one. `state` is `copying`, `verifying`, `failed` (resumable: `error` says why) or
`done` (verified).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from typing import Any

from components.datastore import Adapter, Cond, Insert, Select, Transaction

from .drivers import driver_for

TABLE = "_mobo_bridge"
COLUMNS = {
    "postgres": ("text", "text", "bigint"),
    "sqlite": ("TEXT", "TEXT", "INTEGER"),
    "mysql": ("VARCHAR(255)", "LONGTEXT", "BIGINT"),
}


@dataclass(frozen=True, slots=True)
class Job:
    """One copy job as its checkpoint row records it."""

    job: str
    source: str
    target: str
    state: str = "copying"
    last_key: str | None = None  # JSON (keys.dump_key) of the last copied row's key
    rows: int = 0
    checksum: str = "md5:" + "0" * 16  # of the source rows copied so far (Checksum.recorded)
    started_at: str = ""
    updated_at: str = ""
    error: str | None = None

    def advanced(self, **changes: Any) -> Job:
        """Return the job with `changes` and a fresh `updated_at`."""
        return replace(self, updated_at=now(), **changes)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Checkpoints:
    """The `_mobo_bridge` table of one store, created on first use."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter

    def ensure(self) -> None:
        """Create the table if the store has none."""
        if TABLE in self.adapter.introspect().tables:
            return
        key, text, number = COLUMNS[self.adapter.engine]
        driver = driver_for(self.adapter)
        quote = driver.quote
        names = [quote(n) for n in ("job", "source", "target", "state", "last_key", "rows")]
        extra = ", ".join(f"{quote(n)} {text}" for n in ("checksum", "started_at", "updated_at"))
        self.adapter.raw(
            f"CREATE TABLE IF NOT EXISTS {driver.table(TABLE)} ({names[0]} {key} PRIMARY KEY, "
            f"{names[1]} {text} NOT NULL, {names[2]} {text} NOT NULL, {names[3]} {text} NOT NULL, "
            f"{names[4]} {text}, {names[5]} {number} NOT NULL, {extra}, {quote('error')} {text})"
            + (" DEFAULT CHARSET=utf8mb4" if self.adapter.engine == "mysql" else ""),
            (),
        )
        self.adapter.refresh_schema()

    def exists(self) -> bool:
        return TABLE in self.adapter.introspect().tables

    def get(self, job: str) -> Job | None:
        if not self.exists():
            return None
        rows = self.adapter.execute(Select(TABLE, where=Cond("job", "eq", job))).rows
        return Job(**rows[0]) if rows else None

    def all(self) -> list[Job]:
        if not self.exists():
            return []
        return [Job(**row) for row in self.adapter.execute(Select(TABLE)).rows]

    def save(self, job: Job, tx: Transaction | None = None) -> None:
        self.adapter.execute(Insert(TABLE, [asdict(job)], resolution="merge"), tx=tx)
