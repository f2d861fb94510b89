"""The PostgreSQL adapter's FastPool: idle connections parked in front of psycopg_pool.

The rules under test (adapters/postgres_pool.py): a thread waiting inside psycopg_pool
never misses a connection given back; only idle, working connections are parked, never
more than `pool_min`; expired, drained and broken ones are replaced; close() closes them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import psycopg_pool
import pytest

from components.datastore import Adapter, open_adapter
from components.datastore import query as q
from components.datastore.adapters.postgres_pool import FastPool, PooledConnection
from mobo.exceptions import DatastoreUnavailable

from .conftest import PG_DSN, throwaway_database

DDL = (
    "CREATE TABLE items (id integer PRIMARY KEY, owner text)",
    "INSERT INTO items SELECT g, NULL FROM generate_series(1, 50) g",
)
DEADLINE_S = 60.0  # generous: the machine is shared; a deadlock hangs until the deadline


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with throwaway_database("postgres", tmp_path_factory.mktemp("fastpool")) as base:
        store = open_adapter("t_fastpool_setup", base)
        try:
            for statement in DDL:
                store.raw(statement)
        finally:
            store.close()
        yield base


@pytest.fixture
def open_pg(settings: dict[str, Any]) -> Iterator[Callable[..., Adapter]]:
    """Open adapters on the module's database with the given pool settings; close them after."""
    opened: list[Adapter] = []

    def make(**pool: object) -> Adapter:
        adapter = open_adapter("t_fastpool", {**settings, **pool})
        opened.append(adapter)
        return adapter

    yield make
    for adapter in opened:
        adapter.close()


def fast_pool(adapter: Adapter) -> FastPool:
    pool = adapter._pool  # type: ignore[attr-defined]
    assert isinstance(pool, FastPool)
    return pool


def wait_for(predicate: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def backend_pid(conn: PooledConnection) -> int:
    return conn.info.backend_pid


def run_threads(n: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run work(i) in n threads; return their errors; fail if any is still running."""
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + DEADLINE_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads still running (deadlock?): {stuck}"
    return errors


@pytest.mark.parametrize(("pool_min", "pool_max"), [(1, 1), (1, 2), (2, 2)])
def test_many_threads_never_share_a_connection(
    open_pg: Callable[..., Adapter], pool_min: int, pool_max: int
) -> None:
    store = open_pg(pool_min=pool_min, pool_max=pool_max, pool_timeout_s=DEADLINE_S)
    pool = fast_pool(store)
    holders: dict[int, int] = {}  # id(connection) -> the thread holding it
    guard = threading.Lock()
    shared: list[str] = []
    seen: set[int] = set()

    def work(me: int) -> None:
        for round_ in range(60):
            conn = pool.getconn()
            with guard:
                if id(conn) in holders:
                    shared.append(f"thread {me} got the connection of {holders[id(conn)]}")
                holders[id(conn)] = me
                seen.add(id(conn))
            assert conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
            conn.statement_cursor().execute("SELECT %s::int", (me,))
            assert conn.statement_cursor().fetchone() == (me,)
            if round_ % 7 == 0:
                time.sleep(0.001)  # let the others queue inside psycopg_pool
            with guard:
                del holders[id(conn)]
            pool.putconn(conn)

    errors = run_threads(12, work)
    assert not errors, errors
    assert not shared, shared[:5]
    assert len(seen) <= pool_max
    assert pool.parked <= pool_min
    assert pool.get_stats()["pool_size"] <= pool_max


def test_adapter_reads_and_writes_from_many_threads(open_pg: Callable[..., Adapter]) -> None:
    store = open_pg(pool_min=1, pool_max=2, pool_timeout_s=DEADLINE_S)

    def work(me: int) -> None:
        for i in range(40):
            key = (me * 40 + i) % 50 + 1
            rows = store.execute(q.Select("items", where=q.Cond("id", "eq", key))).rows
            assert [row["id"] for row in rows] == [key]
            if i % 5 == 0:
                update = q.Update("items", {"owner": f"t{me}"}, q.Cond("id", "eq", key))
                assert store.execute(update).rowcount == 1
            if i % 9 == 0:
                with store.transaction() as tx:
                    store.execute(q.Select("items", count=True, limit=1), tx=tx)

    errors = run_threads(10, work)
    assert not errors, errors
    assert fast_pool(store).parked <= 1


def test_a_waiter_inside_psycopg_pool_gets_the_connection_given_back(
    open_pg: Callable[..., Adapter],
) -> None:
    store = open_pg(pool_min=1, pool_max=1, pool_timeout_s=DEADLINE_S)
    pool = fast_pool(store)
    held = pool.getconn()
    got: list[PooledConnection] = []
    waiter = threading.Thread(target=lambda: got.append(pool.getconn()), daemon=True)
    waiter.start()
    # the waiter registered here, then queued inside psycopg_pool
    wait_for(lambda: pool.pool.get_stats().get("requests_waiting", 0) == 1, "the waiter")
    pool.putconn(held)  # must go to the waiter, not be parked
    waiter.join(DEADLINE_S)
    assert got == [held]
    assert pool.parked == 0
    pool.putconn(got[0])
    assert pool.parked == 1  # nobody waits any more: parked


def test_only_idle_connections_are_parked(open_pg: Callable[..., Adapter]) -> None:
    store = open_pg(pool_min=1, pool_max=2)
    pool = fast_pool(store)
    conn = pool.getconn()
    conn.execute("BEGIN")
    conn.execute("SELECT 1")
    pool.putconn(conn)  # in a transaction: psycopg_pool rolls it back
    assert pool.parked == 0
    again = pool.getconn()
    assert again.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    pool.putconn(again)
    assert pool.parked == 1


def test_a_closed_connection_is_never_parked_nor_lent(open_pg: Callable[..., Adapter]) -> None:
    store = open_pg(pool_min=1, pool_max=1, pool_timeout_s=DEADLINE_S)
    pool = fast_pool(store)
    conn = pool.getconn()
    conn.close()
    pool.putconn(conn)
    assert pool.parked == 0
    fresh = pool.getconn()  # psycopg_pool made a new one
    assert fresh is not conn and not fresh.closed
    fresh.execute("SELECT 1")
    pool.putconn(fresh)


def test_a_parked_connection_killed_while_idle_is_replaced(
    open_pg: Callable[..., Adapter],
) -> None:
    store = open_pg(pool_min=1, pool_max=1, pool_timeout_s=DEADLINE_S)
    pool = fast_pool(store)
    conn = pool.getconn()
    pid = backend_pid(conn)
    pool.putconn(conn)
    assert pool.parked == 1
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    conn.lent_at = float("-inf")  # idle long enough to be pinged before it is lent
    fresh = pool.getconn()
    assert fresh is not conn
    assert backend_pid(fresh) != pid
    pool.putconn(fresh)
    assert store.execute(q.Select("items", where=q.Cond("id", "eq", 1))).rows[0]["id"] == 1


def test_a_connection_killed_between_uses_fails_once_then_is_replaced(
    open_pg: Callable[..., Adapter],
) -> None:
    store = open_pg(pool_min=1, pool_max=1, pool_timeout_s=DEADLINE_S)
    pool = fast_pool(store)
    select = q.Select("items", where=q.Cond("id", "eq", 2))
    store.execute(select)
    conn = pool.getconn()
    pid = backend_pid(conn)
    pool.putconn(conn)
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(DatastoreUnavailable):  # not pinged (lent lately): the query fails
        store.execute(select)
    assert pool.parked == 0  # the broken one went back to psycopg_pool, which dropped it
    assert store.execute(select).rows[0]["id"] == 2


def test_expired_and_drained_connections_are_replaced(open_pg: Callable[..., Adapter]) -> None:
    store = open_pg(pool_min=1, pool_max=1, pool_timeout_s=DEADLINE_S)
    pool = fast_pool(store)
    conn = pool.getconn()
    pool.putconn(conn)
    conn._expire_at = time.monotonic() - 1  # past max_lifetime
    fresh = pool.getconn()
    assert fresh is not conn and conn.closed
    pool.putconn(fresh)
    assert pool.parked == 1
    pool.pool.drain()
    newer = pool.getconn()
    assert newer is not fresh and fresh.closed
    pool.putconn(newer)


def test_parking_follows_pool_min_and_resize(open_pg: Callable[..., Adapter]) -> None:
    store = open_pg(pool_min=0, pool_max=2)
    pool = fast_pool(store)
    store.execute(q.Select("items", limit=1))
    assert pool.parked == 0  # pool_min = 0: nothing parked, psycopg_pool may shrink to 0
    pool.resize(2, 2)
    a, b = pool.getconn(), pool.getconn()
    pool.putconn(a)
    pool.putconn(b)
    assert pool.parked == 2
    pool.resize(1, 2)
    assert pool.parked == 1
    assert pool.pool.get_stats()["pool_available"] >= 1  # the other went back to the pool


def test_close_closes_parked_connections(settings: dict[str, Any]) -> None:
    store = open_adapter("t_fastpool_close", {**settings, "pool_min": 1, "pool_max": 2})
    pool = fast_pool(store)
    store.execute(q.Select("items", limit=1))
    conn = pool.getconn()
    pool.putconn(conn)
    assert pool.parked == 1
    store.close()
    assert pool.parked == 0 and conn.closed
    with pytest.raises(psycopg_pool.PoolClosed):
        pool.getconn()
    with pytest.raises(DatastoreUnavailable):
        store.execute(q.Select("items", limit=1))
    store.connect()  # the adapter can be connected again, with a new pool
    try:
        assert store.execute(q.Select("items", where=q.Cond("id", "eq", 3))).rows[0]["id"] == 3
    finally:
        store.close()


def test_close_while_a_connection_is_lent(settings: dict[str, Any]) -> None:
    store = open_adapter("t_fastpool_lent", {**settings, "pool_min": 1, "pool_max": 1})
    pool = fast_pool(store)
    conn = pool.getconn()
    store.close()
    pool.putconn(conn)  # given back after close: closed, not parked
    assert pool.parked == 0 and conn.closed
