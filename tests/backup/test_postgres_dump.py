"""PostgreSQL specifics: counts taken beside pg_dump, parallel trial restores, tool versions."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from components.backup import tools
from components.backup.create import create_set
from components.backup.errors import BackupError
from components.backup.settings import BackupSettings
from components.backup.verify import verify_set
from tests.backup.conftest import make_home


def _wait_for(predicate: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_failed_count_stops_the_dump_and_says_why(store_of, tmp_path: Path) -> None:
    settings = store_of("postgres")
    dbname = conninfo_to_dict(settings["dsn"])["dbname"]
    config = make_home(tmp_path / "home", {"pg": settings})
    locker = psycopg.connect(settings["dsn"])
    locker.execute("CREATE TABLE held (id INT)")
    locker.commit()
    locker.execute("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")  # pg_dump and the count wait
    outcome: dict[str, BaseException | None] = {}

    def backup() -> None:
        try:
            create_set(config, stores=["pg"])
            outcome["error"] = None
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=backup, daemon=True)
    thread.start()
    try:
        with psycopg.connect(settings["dsn"], autocommit=True) as admin:
            query = (
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                "AND query LIKE 'SELECT count(*)%%' AND wait_event_type = 'Lock'"
            )
            pid = _wait_for(
                lambda: admin.execute(query, (dbname,)).fetchone(), "the blocked count"
            )[0]
            admin.execute("SELECT pg_cancel_backend(%s)", (pid,))
            thread.join(30)
    finally:
        locker.rollback()
        locker.close()
    assert not thread.is_alive()
    error = outcome["error"]
    assert isinstance(error, BackupError), repr(error)
    assert "counting the rows of store pg failed" in str(error)
    assert "canceling statement" in str(error)
    assert not list((config.home / "backups").iterdir())  # no set, not even a partial one


def test_a_many_table_dump_passes_a_parallel_trial_restore(
    store_of, tmp_path: Path, monkeypatch
) -> None:
    """Our dumps come through a pipe (no data offsets): pg_restore --jobs must still read them."""
    settings = store_of("postgres")
    with psycopg.connect(settings["dsn"], autocommit=True) as conn:
        conn.execute("CREATE TABLE parent (id INT PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 3000) g")
        for i, rows in enumerate((5, 40_000, 0, 700, 12_000, 1)):
            conn.execute(
                f"CREATE TABLE child_{i} (id INT PRIMARY KEY, parent INT REFERENCES parent, "
                "note TEXT)"
            )
            conn.execute(
                f"INSERT INTO child_{i} SELECT g, 1 + g %% 3000, repeat('x', g %% 50) "
                "FROM generate_series(1, %s) g",
                (rows,),
            )
            conn.execute(f"CREATE INDEX ON child_{i} (note)")
    config = make_home(tmp_path / "home", {"pg": settings})
    path = create_set(config, stores=["pg"])
    counts = json.loads((path / "manifest.json").read_text())["stores"]["pg"]["tables"]
    assert counts["public.child_1"] == 40_000 and counts["public.child_2"] == 0

    calls: list[list[str]] = []
    real_run = tools.run

    def recording_run(args: list[str], **kw: Any) -> None:
        calls.append(args)
        real_run(args, **kw)

    monkeypatch.setattr(tools, "restore_jobs", lambda: 4)
    monkeypatch.setattr(tools, "run", recording_run)
    verdict = verify_set(config, path)
    assert verdict.ok, verdict.problems
    assert verdict.stores["pg"] == counts
    assert any("--jobs=4" in args for args in calls)  # the trial really ran in parallel


def test_restore_jobs_follows_the_cores() -> None:
    jobs = tools.restore_jobs()
    assert 1 <= jobs <= tools.MAX_RESTORE_JOBS
    assert jobs == min(len(os.sched_getaffinity(0)), tools.MAX_RESTORE_JOBS)


def test_a_replaced_tool_is_asked_its_version_again(tmp_path: Path) -> None:
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    fake.chmod(0o755)
    settings = BackupSettings(dir=tmp_path / "backups", pg_dump=str(fake))
    with pytest.raises(BackupError, match="is version 9, older than the PostgreSQL 15"):
        tools.pg_tool(settings, "pg_dump", 15)
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 16.4 (Debian 16.4-1)'\n")
    os.utime(fake, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    assert tools.pg_tool(settings, "pg_dump", 15) == str(fake)
