"""Postgres change capture: triggers + outbox + NOTIFY, forwarded to the stream at least once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from components.datastore import names as feed
from components.datastore.capture import PostgresCapture, install, uninstall
from components.datastore.capture.settings import CaptureSettings
from mobo.kernel.keys import Keys

from .conftest import stream_changes, wait_for, wait_until

ROOT = Path(__file__).resolve().parents[3]
TODOS = (
    "CREATE TABLE todos (id serial PRIMARY KEY, title text NOT NULL, done boolean DEFAULT false,"
    " price numeric(10, 2), at timestamptz DEFAULT now(), meta jsonb)"
)
CONTRACT_KEYS = {"id", "store", "table", "op", "new", "old", "pk", "commit_time", "ref"}

Start = Callable[..., PostgresCapture]


def of_table(changes: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
    return [c for c in changes if c["table"] == table]


def test_insert_update_delete_from_another_client_reach_the_stream(
    sql: psycopg.Connection[Any], start_capture: Start, redis_client: redis.Redis, keys: Keys
) -> None:
    sql.execute(TODOS)
    start_capture()
    sql.execute(
        "INSERT INTO todos (title, price, meta) VALUES (%s, %s, %s)",
        ("milk", "12.50", '{"tags": ["a"], "w": 1.5}'),
    )
    sql.execute("UPDATE todos SET done = true WHERE id = 1")
    sql.execute("DELETE FROM todos WHERE id = 1")

    insert, update, delete = wait_for(redis_client, keys, lambda c: len(c) >= 3)
    for change in (insert, update, delete):
        assert set(change) == CONTRACT_KEYS
        assert (change["store"], change["table"], change["pk"], change["ref"]) == (
            "main",
            "todos",
            {"id": 1},
            None,
        )
        assert dt.datetime.fromisoformat(change["commit_time"]).utcoffset() == dt.timedelta(0)
    assert [c["op"] for c in (insert, update, delete)] == ["insert", "update", "delete"]
    assert len({c["id"] for c in (insert, update, delete)}) == 3
    row = insert["new"]
    assert (row["title"], row["done"], row["price"]) == ("milk", False, "12.50")
    assert row["meta"] == {"tags": ["a"], "w": 1.5}
    assert row["at"].endswith("+00:00")
    assert insert["old"] is None
    assert update["new"]["done"] is True and update["old"]["done"] is False
    assert delete["new"] is None and delete["old"]["title"] == "milk"


def test_a_change_made_with_the_psql_binary_is_captured(
    pg: dict[str, Any],
    sql: psycopg.Connection[Any],
    start_capture: Start,
    redis_client: redis.Redis,
    keys: Keys,
) -> None:
    sql.execute(TODOS)
    start_capture()
    env = {**os.environ, "PGTZ": "Europe/Paris"}  # a session in another zone: still UTC out
    subprocess.run(
        [
            "psql",
            pg["dsn"],
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "INSERT INTO todos (title) VALUES ('from psql')",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    [change] = wait_for(redis_client, keys, lambda c: len(c) >= 1)
    assert (change["op"], change["new"]["title"], change["pk"]) == (
        "insert",
        "from psql",
        {"id": 1},
    )
    assert change["new"]["at"].endswith("+00:00")


def test_a_row_larger_than_max_row_bytes_travels_by_reference(
    sql: psycopg.Connection[Any], start_capture: Start, redis_client: redis.Redis, keys: Keys
) -> None:
    sql.execute(TODOS)
    start_capture(CaptureSettings(max_row_bytes=1024))
    sql.execute("INSERT INTO todos (title) VALUES (%s)", ("x" * 20_000,))
    sql.execute("INSERT INTO todos (title) VALUES ('small')")
    big, small = wait_for(redis_client, keys, lambda c: len(c) >= 2)
    assert big["ref"] == {"reason": "too_large"}
    assert (big["op"], big["pk"], big["new"], big["old"]) == ("insert", {"id": 1}, None, None)
    assert small["ref"] is None and small["new"]["title"] == "small"


def test_changes_committed_while_capture_is_stopped_are_forwarded_on_start(
    sql: psycopg.Connection[Any], start_capture: Start, redis_client: redis.Redis, keys: Keys
) -> None:
    sql.execute(TODOS)
    capture = start_capture()
    capture.stop()
    assert not capture.ready
    for title in ("a", "b", "c"):
        sql.execute("INSERT INTO todos (title) VALUES (%s)", (title,))
    assert stream_changes(redis_client, keys) == []
    start_capture()
    changes = wait_for(redis_client, keys, lambda c: len(c) >= 3)
    assert [c["new"]["title"] for c in changes] == ["a", "b", "c"]
    assert sql.execute("SELECT count(*) FROM mobo_realtime.outbox").fetchone() == (0,)


KILLED_CAPTURE = """
import os, signal, sys
import redis
from components.datastore.capture import PostgresCapture
from components.datastore.capture.settings import CaptureSettings
dsn, url, stream = sys.argv[1:4]
def crash():
    os.kill(os.getpid(), signal.SIGKILL)
capture = PostgresCapture("main", dsn, "public", redis.Redis.from_url(url), stream,
                          CaptureSettings(), after_xadd=crash)
capture.start()
capture._stop.wait(30)
"""


def test_a_capture_killed_between_xadd_and_delete_duplicates_rather_than_loses(
    pg: dict[str, Any],
    sql: psycopg.Connection[Any],
    start_capture: Start,
    redis_client: redis.Redis,
    redis_url: str,
    keys: Keys,
) -> None:
    sql.execute(TODOS)
    install(sql, "public", max_row_bytes=65536)
    sql.execute("INSERT INTO todos (title) VALUES ('a'), ('b')")
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_CAPTURE, pg["dsn"], redis_url, feed.changes(keys)],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    first = stream_changes(redis_client, keys)
    assert [c["new"]["title"] for c in first] == ["a", "b"]  # XADDed, then killed
    assert sql.execute("SELECT count(*) FROM mobo_realtime.outbox").fetchone() == (2,)

    start_capture()
    changes = wait_for(redis_client, keys, lambda c: len(c) >= 4)
    assert [c["id"] for c in changes[2:]] == [c["id"] for c in first]  # same ids: dedupable
    wait_until(
        lambda: sql.execute("SELECT count(*) FROM mobo_realtime.outbox").fetchone() == (0,),
        "the outbox to be emptied",
    )


@pytest.fixture
def plain_role(pg: dict[str, Any], sql: psycopg.Connection[Any]) -> Any:
    """A login role that owns the database but is no superuser (no event trigger)."""
    name = "mobo_t_" + os.urandom(4).hex()
    database = pg["dsn"].rsplit("/", 1)[1]
    with psycopg.connect(pg["dsn"].rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{name}" LOGIN')
        admin.execute(f'ALTER DATABASE "{database}" OWNER TO "{name}"')
        sql.execute(f'ALTER SCHEMA public OWNER TO "{name}"')
        host = pg["dsn"].split("://", 1)[1].split("@", 1)[1]
        yield f"postgresql://{name}@{host}"
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{name}"')


@pytest.mark.parametrize("superuser", [True, False], ids=["event-trigger", "rescan"])
def test_a_table_created_after_start_is_captured(
    superuser: bool,
    request: pytest.FixtureRequest,
    sql: psycopg.Connection[Any],
    start_capture: Start,
    redis_client: redis.Redis,
    keys: Keys,
) -> None:
    dsn = None if superuser else request.getfixturevalue("plain_role")
    capture = start_capture(dsn=dsn)
    with psycopg.connect(dsn or sql.info.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE later (id int PRIMARY KEY, v text)")
        if superuser:  # attached in the CREATE's own transaction: the first row is caught
            conn.execute("INSERT INTO later VALUES (1, 'first')")
        else:  # the rescan attaches it (at once on schema.reloaded, else every few s)
            capture.rescan()
            wait_until(lambda: _has_trigger(conn, "later"), "the rescan to attach the trigger")
            conn.execute("INSERT INTO later VALUES (1, 'first')")
    [change] = wait_for(redis_client, keys, lambda c: len(of_table(c, "later")) >= 1)
    assert (change["table"], change["new"], change["pk"]) == (
        "later",
        {"id": 1, "v": "first"},
        {"id": 1},
    )


def _has_trigger(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_trigger WHERE tgname = 'mobo_realtime_capture' "
        "AND tgrelid = to_regclass(%s)",
        (table,),
    ).fetchone()
    return row == (1,)


NAMES = ['we"ird tab', "spaced name", "Mixed Case", "semi;colon", "quote'd", "dollar$$x"]


@pytest.mark.parametrize("name", NAMES)
def test_identifiers_are_quoted(
    name: str,
    sql: psycopg.Connection[Any],
    start_capture: Start,
    redis_client: redis.Redis,
    keys: Keys,
) -> None:
    ident = psycopg.sql.Identifier(name)
    column = psycopg.sql.Identifier(name + " col")
    sql.execute(
        psycopg.sql.SQL("CREATE TABLE {} ({} int, k text, PRIMARY KEY ({}, k))").format(
            ident, column, column
        )
    )
    start_capture()
    sql.execute(psycopg.sql.SQL("INSERT INTO {} VALUES (1, 'x')").format(ident))
    [change] = wait_for(redis_client, keys, lambda c: len(c) >= 1)
    assert change["table"] == name
    assert change["pk"] == {name + " col": 1, "k": "x"}


def test_mobo_tables_are_not_captured_and_uninstall_removes_everything(
    sql: psycopg.Connection[Any], start_capture: Start, redis_client: redis.Redis, keys: Keys
) -> None:
    sql.execute(TODOS)
    sql.execute("CREATE TABLE mobo_migrations (id int PRIMARY KEY)")
    capture = start_capture()
    sql.execute("INSERT INTO mobo_migrations VALUES (1)")
    sql.execute("INSERT INTO todos (title) VALUES ('seen')")
    changes = wait_for(redis_client, keys, lambda c: len(c) >= 1)
    assert [c["table"] for c in changes] == ["todos"]
    capture.stop()

    assert uninstall(sql, "public") == ["todos"]
    assert sql.execute("SELECT to_regnamespace('mobo_realtime')").fetchone() == (None,)
    assert sql.execute(
        "SELECT count(*) FROM pg_event_trigger WHERE evtname = 'mobo_realtime_ddl'"
    ).fetchone() == (0,)
    sql.execute("INSERT INTO todos (title) VALUES ('after uninstall')")  # no trigger left
