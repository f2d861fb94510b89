"""PostgreSQL: `pg_dump -Fc` in a snapshot exported by a transaction that also counts rows.

The counting transaction (REPEATABLE READ) exports its snapshot and pg_dump imports it
(`--snapshot`), so the row counts in the manifest are exactly the rows in the dump, even
while the board keeps writing. Passwords reach the tools through PGPASSWORD, never argv.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from components.datastore.settings import StoreSettings

from .. import tools
from ..errors import BackupError
from ..settings import BackupSettings
from . import Dumped, Sink

TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
ORDER BY 1, 2
"""
ROLES = ("anon", "authenticated", "service_role")  # MagAuth's roles, cluster-wide
# pg_restore --jobs reads our dumps (written to a pipe: no data offsets in the TOC) from
# 13 on; in 12 only from 12.4 (PostgreSQL commit f009591d), so older ones restore serially.
PARALLEL_FROM = 13


def _parts(settings: StoreSettings) -> dict[str, str]:
    return {k: str(v) for k, v in conninfo_to_dict(settings.dsn or "").items()}


def tool_env(settings: StoreSettings) -> tuple[str, dict[str, str]]:
    """Return a conninfo without the password, and an environment carrying it."""
    parts = _parts(settings)
    env = dict(os.environ)
    password = parts.pop("password", None)
    if password:
        env["PGPASSWORD"] = password
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return make_conninfo(**parts), env


def connect(settings: StoreSettings, dbname: str | None = None, **kw: object) -> psycopg.Connection:
    parts = _parts(settings)
    if dbname is not None:
        parts["dbname"] = dbname
    try:
        return psycopg.connect(make_conninfo(**parts), connect_timeout=10, **kw)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        raise BackupError(
            f"cannot connect to PostgreSQL {settings.redacted_dsn}: {' '.join(str(exc).split())}"
        ) from None


def server_major(conn: psycopg.Connection) -> int:
    return conn.info.server_version // 10000


def _counts(conn: psycopg.Connection, stop: threading.Event | None = None) -> dict[str, int]:
    counts = {}
    for schema, table in conn.execute(TABLES).fetchall():
        if stop is not None and stop.is_set():
            raise BackupError("counting stopped: the dump failed")
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        counts[f"{schema}.{table}"] = conn.execute(query).fetchone()[0]  # type: ignore[index]
    return counts


def dump(
    name: str, settings: StoreSettings, tools_: BackupSettings, sink: Sink, scratch: Path
) -> Dumped:
    """Dump the store's database; the counts come from the dump's own snapshot."""
    conn = connect(settings)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        major, version = server_major(conn), conn.info.parameter_status("server_version") or ""
        pg_dump = tools.pg_tool(tools_, "pg_dump", major)
        conninfo, env = tool_env(settings)
        proc = tools.Process([pg_dump, "-Fc", "--snapshot", snapshot, "-d", conninfo], env=env)
        counting = Counting(conn, name, proc)
        try:
            written = sink(proc.chunks())
            counting.raise_failure()  # a failed count stops pg_dump: say why, not "killed"
            proc.finish(f"pg_dump of store {name}")
            counts = counting.result()
        except BaseException:
            counting.cancel()
            proc.kill()
            raise
    finally:
        conn.close()
    return Dumped(written, counts, version)


class Counting:
    """The row counts, taken in a thread on the snapshot's own connection while pg_dump runs.

    The connection's transaction exported the snapshot pg_dump dumps, so the counts are
    exactly the dump's rows; running them beside the dump (instead of before it, when
    pg_dump would sit blocked on its full pipe) keeps them off the backup's critical path.
    If counting fails, pg_dump is stopped at once and `result()` raises the reason.
    """

    def __init__(self, conn: psycopg.Connection, name: str, proc: tools.Process) -> None:
        self._conn, self._name, self._proc = conn, name, proc
        self._counts: dict[str, int] | None = None
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"count-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            # one core for the counts, the other(s) for pg_dump: no parallel workers, no JIT
            self._conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            self._conn.execute("SET LOCAL jit = off")
            self._counts = _counts(self._conn, self._stop)
        except BaseException as exc:  # handed to the dumping thread by result()
            self._error = exc
            if not self._stop.is_set():
                self._proc.stop()

    def result(self) -> dict[str, int]:
        """Wait for the counts; BackupError when they could not be taken."""
        self._thread.join()
        self.raise_failure()
        assert self._counts is not None
        return self._counts

    def raise_failure(self) -> None:
        """Raise a BackupError now if counting has failed (without waiting for it)."""
        if self._error is not None:
            if isinstance(self._error, BackupError):
                raise self._error
            detail = " ".join(str(self._error).split()) or type(self._error).__name__
            raise BackupError(
                f"counting the rows of store {self._name} failed: {detail}",
                hint="the dump was stopped; check the store's server and try again",
            ) from None

    def cancel(self) -> None:
        """Stop a count still running (the dump failed) and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            try:
                self._conn.cancel()
            except psycopg.Error:
                pass  # the connection is gone: the thread ends with an error anyway
        self._thread.join()


def count(name: str, settings: StoreSettings) -> dict[str, int]:
    with connect(settings) as conn:
        return _counts(conn)


def _restore_into(
    settings: StoreSettings,
    dbname: str,
    plain: Path,
    tools_: BackupSettings,
    *,
    clean: bool,
    what: str,
    jobs: int = 1,
) -> None:
    """pg_restore a file into `dbname`: in one transaction, or with `jobs` parallel jobs.

    pg_restore cannot do both: the store itself is restored in one transaction (all or
    nothing); a throwaway scratch database, where atomicity buys nothing, with -j.
    """
    with connect(settings, "postgres", autocommit=True) as admin:
        pg_restore = tools.pg_tool(tools_, "pg_restore", server_major(admin))
        _ensure_roles(admin)
    parts = _parts(settings)
    parts["dbname"] = dbname
    password = parts.pop("password", None)
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    if jobs > 1 and tools.version_major(pg_restore) < PARALLEL_FROM:
        jobs = 1
    mode = ["--exit-on-error", f"--jobs={jobs}"] if jobs > 1 else ["--single-transaction"]
    args = [pg_restore, "--no-owner", *mode, "-d", make_conninfo(**parts)]
    if clean:
        args[1:1] = ["--clean", "--if-exists"]
    tools.run([*args, str(plain)], env=env, what=what)


def _ensure_roles(admin: psycopg.Connection) -> None:
    """Create MagAuth's roles on a new server (a dump's GRANTs name them)."""
    for role in ROLES:
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists:
            continue
        try:
            admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN NOINHERIT").format(sql.Identifier(role)))
        except psycopg.Error:
            pass  # not allowed to: pg_restore then reports the GRANT it cannot apply


def restore(name: str, settings: StoreSettings, tools_: BackupSettings, plain: Path) -> None:
    """Restore into the store's database (created when missing), in one transaction."""
    dbname = _parts(settings).get("dbname") or _parts(settings).get("user") or "postgres"
    with connect(settings, "postgres", autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not found:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    _restore_into(settings, dbname, plain, tools_, clean=True, what=f"restore of store {name}")


def trial(
    name: str, settings: StoreSettings, tools_: BackupSettings, plain: Path
) -> dict[str, int]:
    """Restore into a throwaway database on the same server, count its rows, drop it."""
    scratch = f"mobo_verify_{uuid.uuid4().hex[:12]}"
    with connect(settings, "postgres", autocommit=True) as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        except psycopg.Error as exc:
            raise BackupError(
                f"verify needs a scratch database on {settings.redacted_dsn}: {exc}",
                hint="grant the store's user CREATEDB (ALTER ROLE … CREATEDB)",
            ) from None
    try:
        _restore_into(
            settings,
            scratch,
            plain,
            tools_,
            clean=False,
            what=f"trial restore of store {name}",
            jobs=tools.restore_jobs(),
        )
        with connect(settings, scratch) as conn:
            return _counts(conn)
    finally:
        with connect(settings, "postgres", autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
            )
