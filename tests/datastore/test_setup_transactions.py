"""`transaction(setup=...)` and `execute_in`: the setup runs first, in the transaction;
on PostgreSQL they are pipelined with the first statement (and the COMMIT)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from components.datastore import Adapter
from components.datastore import query as q
from components.datastore.errors import SetupFailed
from mobo.exceptions import DatastoreError

from .conftest import open_store

DDL = ["CREATE TABLE items (id integer PRIMARY KEY, name text)"]
SETTING = "SELECT set_config('mobo.test', %s, true)"


@pytest.fixture(scope="module")
def store(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapter]:
    if engine != "postgres":
        pytest.skip("set_config is PostgreSQL's")
    with open_store(engine, tmp_path_factory.mktemp("setup"), DDL) as adapter:
        adapter.raw("INSERT INTO items VALUES (1, 'one')")
        yield adapter


def setting(adapter: Adapter) -> str:
    return adapter.raw("SELECT current_setting('mobo.test', true) AS v").rows[0]["v"] or ""


def test_the_setup_runs_in_the_transaction_only(store: Adapter) -> None:
    with store.transaction(setup=(SETTING, ("on",)), read_only=True) as tx:
        assert store.raw("SELECT current_setting('mobo.test') AS v", tx=tx).rows == [{"v": "on"}]
        assert store.execute(q.Select("items", (q.Column("name"),)), tx=tx).rows
    assert setting(store) == ""  # transaction-local: nothing left on the pooled connection


def test_execute_in_runs_reads_and_writes(store: Adapter) -> None:
    select = q.Select("items", (q.Column("name"),), q.Cond("id", "eq", 1))
    assert store.execute_in(select, setup=(SETTING, ("x",)), read_only=True).rows == [
        {"name": "one"}
    ]
    inserted = store.execute_in(
        q.Insert("items", [{"id": 2, "name": "two"}]), setup=(SETTING, ("x",))
    )
    assert inserted.rowcount == 1
    assert store.execute(q.Select("items", (q.Column("id"),), q.Cond("id", "eq", 2))).rows
    store.execute(q.Delete("items", q.Cond("id", "eq", 2)))


def test_a_read_only_transaction_refuses_writes(store: Adapter) -> None:
    with pytest.raises(DatastoreError) as caught:
        store.execute_in(
            q.Insert("items", [{"id": 3, "name": "no"}]), setup=(SETTING, ("x",)), read_only=True
        )
    assert caught.value.code == "25006"
    assert not store.execute(q.Select("items", (q.Column("id"),), q.Cond("id", "eq", 3))).rows


def test_a_failed_setup_is_told_apart_and_rolled_back(store: Adapter) -> None:
    bad = ("SELECT set_config('role', %s, true)", ("no_such_role_here",))
    with pytest.raises(SetupFailed) as caught:
        store.execute_in(q.Select("items", (q.Column("id"),)), setup=bad)
    assert caught.value.cause.code == caught.value.code
    with pytest.raises(SetupFailed):
        with store.transaction(setup=bad) as tx:
            store.execute(q.Select("items", (q.Column("id"),)), tx=tx)
    assert store.raw("SELECT 1 AS one").rows == [{"one": 1}]


def test_errors_after_the_setup_roll_back_and_keep_the_pool_sound(store: Adapter) -> None:
    """Regression: an aborted pipeline left psycopg's prepared statements out of step."""
    bad = q.Update("items", {"name": "x"}, q.Cond("id", "in", ["2", "1 or 1"]))
    select = q.Select("items", (q.Column("name"),), q.Cond("id", "eq", 1))
    for i in range(20):  # past psycopg's prepare threshold, errors between reads
        if i % 3 == 2:
            with pytest.raises(DatastoreError) as caught:
                store.execute_in(bad, setup=(SETTING, ("x",)))
            assert not isinstance(caught.value, SetupFailed)
        else:
            got = store.execute_in(select, setup=(SETTING, (str(i),)), read_only=True)
            assert got.rows == [{"name": "one"}]
        assert setting(store) == ""


def test_failed_setups_between_prepared_statements_keep_the_pool_sound(store: Adapter) -> None:
    """execute_in sends BEGIN, the setup, the statement and COMMIT on libpq directly, with
    psycopg's prepared statements: a setup failing once both are prepared skips the rest,
    is told apart, and the requests after it run as before."""
    setup = "SELECT set_config('role', %s, true), set_config('mobo.test', %s, true)"
    select = q.Select("items", (q.Column("name"),), q.Cond("id", "eq", 1))
    for i in range(24):  # past psycopg's prepare threshold for both statements
        if i % 4 == 3:
            with pytest.raises(SetupFailed):
                store.execute_in(select, setup=(setup, ("no_such_role_here", "x")))
        else:
            got = store.execute_in(select, setup=(setup, ("postgres", str(i))), read_only=True)
            assert got.rows == [{"name": "one"}]
        assert setting(store) == ""


def test_an_error_at_commit_is_the_statements(store: Adapter) -> None:
    store.raw(
        "CREATE TABLE IF NOT EXISTS pairs (id integer PRIMARY KEY,"
        " peer integer REFERENCES pairs DEFERRABLE INITIALLY DEFERRED)"
    )
    store.refresh_schema()
    for _ in range(8):  # before and after the INSERT is prepared
        with pytest.raises(DatastoreError) as caught:
            store.execute_in(q.Insert("pairs", [{"id": 1, "peer": 99}]), setup=(SETTING, ("x",)))
        assert caught.value.code == "23503"
        assert not isinstance(caught.value, SetupFailed)
    assert store.raw("SELECT count(*) AS n FROM pairs").rows == [{"n": 0}]
    inserted = store.execute_in(q.Insert("pairs", [{"id": 1, "peer": 1}]), setup=(SETTING, ("x",)))
    assert inserted.rowcount == 1


def test_a_statement_larger_than_the_socket_buffer_is_sent_whole(store: Adapter) -> None:
    """The one-round-trip path flushes in steps when the socket takes part of it."""
    big = "x" * (8 << 20)  # 8 MB: more than loopback's socket buffers take at once
    select = q.Select("items", (q.Column("name"),), q.Cond("name", "eq", big))
    assert store.execute_in(select, setup=(SETTING, ("x",)), read_only=True).rows == []
    with_name = q.Select("items", (q.Column("id"),), q.Cond("name", "neq", big))
    assert store.execute_in(with_name, setup=(SETTING, (big,)), read_only=True).rows == [{"id": 1}]
