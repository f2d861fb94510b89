"""MariaDB/MySQL: `mariadb-dump --single-transaction` (or mysqldump), counted from the dump.

The dump is one consistent-snapshot transaction. The row counts in the manifest are read
from the dump itself as it streams (its `INSERT INTO … VALUES (…),(…);` lines), so they
are exactly what the dump holds even while the board keeps writing. Credentials reach
the tools through a 0600 option file (`--defaults-extra-file`), never argv.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql

from components.datastore.adapters.mysql import connect_args
from components.datastore.settings import StoreSettings

from .. import tools
from ..errors import BackupError
from ..settings import BackupSettings
from . import Dumped, Sink

INSERT = re.compile(rb"^INSERT INTO `((?:[^`]|``)+)` VALUES")
STRING = re.compile(rb"'(?:[^'\\]|\\.)*'", re.DOTALL)
BASE_TABLES = (
    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
    "AND table_type = 'BASE TABLE' ORDER BY table_name"
)


def _args(name: str, settings: StoreSettings) -> dict[str, Any]:
    return connect_args(settings.dsn or "", store=name)


def connect(name: str, settings: StoreSettings, database: str | None = "") -> Any:
    args = _args(name, settings)
    if database != "":
        args["database"] = database
    args = {k: v for k, v in args.items() if v is not None}
    try:
        return pymysql.connect(**args, connect_timeout=10, autocommit=True)
    except pymysql.Error as exc:
        raise BackupError(
            f"cannot connect to MariaDB/MySQL {settings.redacted_dsn}: {exc}"
        ) from None


@contextmanager
def option_file(name: str, settings: StoreSettings) -> Iterator[str]:
    """Yield `--defaults-extra-file=…` holding the store's credentials (mode 0600)."""
    args = _args(name, settings)
    lines = ["[client]", f"user={args['user']}", f"password={args['password']}"]
    if args.get("unix_socket"):
        lines.append(f"socket={args['unix_socket']}")
    else:
        lines += [f"host={args['host']}", f"port={args['port']}", "protocol=TCP"]
    with tempfile.TemporaryDirectory(prefix="mobo-my-") as folder:
        path = Path(folder) / "client.cnf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        yield f"--defaults-extra-file={path}"


class RowCounter:
    """Count the rows of each table in a dump as its chunks stream past."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._rest = b""
        self._table: str | None = None

    def tap(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for block in chunks:
            lines = (self._rest + block).split(b"\n")
            self._rest = lines.pop()
            for line in lines:
                self._line(line)
            yield block
        if self._rest:
            self._line(self._rest)

    def _line(self, line: bytes) -> None:
        # One INSERT may span lines (MariaDB 10.11 writes a row per line); strings never
        # hold a raw newline (the dump escapes it), and outside them only a row opens "(".
        rest = line
        if self._table is None:
            match = INSERT.match(line)
            if match is None:
                return
            self._table = match.group(1).replace(b"``", b"`").decode()
            rest = line[match.end() :]
        values = STRING.sub(b"", rest)
        self.counts[self._table] = self.counts.get(self._table, 0) + values.count(b"(")
        if values.rstrip().endswith(b";"):
            self._table = None


def dump(
    name: str, settings: StoreSettings, tools_: BackupSettings, sink: Sink, scratch: Path
) -> Dumped:
    """Dump the store's database in one consistent-snapshot transaction."""
    database = _args(name, settings)["database"]
    conn = connect(name, settings)
    try:
        version = str(conn.get_server_info())
        with conn.cursor() as cur:
            cur.execute(BASE_TABLES, (database,))
            tables = [row[0] for row in cur.fetchall()]
    finally:
        conn.close()
    program = tools.mysql_tool(tools_, "mysqldump")
    counter = RowCounter()
    with option_file(name, settings) as options:
        args = [
            program,
            options,
            "--single-transaction",
            "--quick",
            "--routines",
            "--triggers",
            "--hex-blob",
            "--default-character-set=utf8mb4",
            "--no-tablespaces",
            database,
        ]
        proc = tools.Process(args, env=dict(os.environ))
        try:
            written = sink(counter.tap(proc.chunks()))
        except BaseException:
            proc.kill()
            raise
        proc.finish(f"{Path(program).name} of store {name}")
    counts = {table: 0 for table in tables}
    counts.update(counter.counts)
    return Dumped(written, dict(sorted(counts.items())), version)


def count(name: str, settings: StoreSettings, database: str | None = None) -> dict[str, int]:
    database = database or _args(name, settings)["database"]
    conn = connect(name, settings, database)
    try:
        with conn.cursor() as cur:
            cur.execute(BASE_TABLES, (database,))
            counts = {}
            for (table,) in cur.fetchall():
                cur.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608 - quoted identifier
                counts[table] = cur.fetchone()[0]
            return counts
    finally:
        conn.close()


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def _load(
    name: str,
    settings: StoreSettings,
    tools_: BackupSettings,
    database: str,
    plain: Path,
    what: str,
) -> None:
    from ..files import chunks_of

    program = tools.mysql_tool(tools_, "mysql")
    with option_file(name, settings) as options:
        args = [program, options, "--default-character-set=utf8mb4", database]
        tools.run(args, env=dict(os.environ), what=what, stdin=chunks_of(plain))


def restore(name: str, settings: StoreSettings, tools_: BackupSettings, plain: Path) -> None:
    """Load the dump into the store's database (created when missing)."""
    database = _args(name, settings)["database"]
    conn = connect(name, settings, None)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {_quote(database)}")
    finally:
        conn.close()
    _load(name, settings, tools_, database, plain, f"restore of store {name}")


def trial(
    name: str, settings: StoreSettings, tools_: BackupSettings, plain: Path
) -> dict[str, int]:
    """Load the dump into a throwaway database, count its rows, drop it."""
    scratch = f"mobo_verify_{uuid.uuid4().hex[:12]}"
    conn = connect(name, settings, None)
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(f"CREATE DATABASE {_quote(scratch)}")
            except pymysql.Error as exc:
                raise BackupError(
                    f"verify needs a scratch database on {settings.redacted_dsn}: {exc}",
                    hint="grant the store's user CREATE and DROP on mobo_verify_% databases",
                ) from None
        try:
            _load(name, settings, tools_, scratch, plain, f"trial restore of store {name}")
            return count(name, settings, scratch)
        finally:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {_quote(scratch)}")
    finally:
        conn.close()
