"""`data.change`: writes through the adapter layer, announced on a real bus after commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from components.datastore import (
    ALL,
    Adapter,
    Change,
    Cond,
    Datastores,
    Delete,
    Insert,
    Update,
    open_adapter,
)
from components.datastore.settings import parse_settings
from mobo.contract import Board
from mobo.events import Event
from mobo.kernel.bus import Bus
from mobo.kernel.config import load_config
from mobo.kernel.home import init_home
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL, free_port

from .conftest import throwaway_database

DDL = "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(20), qty INTEGER)"
WAIT_S = 5.0


class Events:
    """Collect the data.change events this bus receives."""

    def __init__(self, bus: Bus) -> None:
        self.seen: list[Event] = []
        self._cond = threading.Condition()
        bus.on("data.change", self._add)

    def _add(self, event: Event) -> None:
        with self._cond:
            self.seen.append(event)
            self._cond.notify_all()

    def wait(self, n: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + WAIT_S
        with self._cond:
            while len(self.seen) < n and time.monotonic() < deadline:
                self._cond.wait(0.05)
            return [e.data for e in self.seen[:n]]


@pytest.fixture
def bus(redis_client: redis.Redis, keys: Keys) -> Iterator[Bus]:
    with Bus(redis_client, keys, "changes-test") as bus:
        yield bus


@pytest.fixture
def stores(engine: str, tmp_path: Path, bus: Bus) -> Iterator[Datastores]:
    with throwaway_database(engine, tmp_path) as settings:
        stores = Datastores({"main": parse_settings("main", settings)}, bus=bus)
        try:
            stores.default.raw(DDL)
            stores.default.refresh_schema()
            yield stores
        finally:
            stores.close()


def test_insert_update_delete_are_announced_with_keys_and_rows(
    engine: str, stores: Datastores, bus: Bus
) -> None:
    events = Events(bus)
    store = stores.default
    inserted = store.execute(
        Insert("items", [{"id": 1, "name": "a", "qty": 1}, {"id": 2, "name": "b", "qty": 2}])
    )
    assert (inserted.rows, inserted.rowcount) == ([], 2)  # the caller asked for no rows
    updated = store.execute(Update("items", {"qty": 5}, Cond("id", "eq", 2)))
    assert (updated.rows, updated.rowcount) == ([], 1)
    deleted = store.execute(Delete("items", Cond("id", "eq", 1), returning=["name"]))
    assert deleted.rows == [{"name": "a"}]  # only what the caller asked for
    got = events.wait(4)
    assert [(e["op"], e["pk"]) for e in got] == [
        ("insert", {"id": 1}),
        ("insert", {"id": 2}),
        ("update", {"id": 2}),
        ("delete", {"id": 1}),
    ]
    assert all(e["store"] == "main" and e["table"] == "items" for e in got)
    assert got[0]["new"] == {"id": 1, "name": "a", "qty": 1} and got[0]["old"] is None
    assert got[2]["new"] == {"id": 2, "name": "b", "qty": 5}
    assert got[3]["old"] == {"id": 1, "name": "a", "qty": 1} and got[3]["new"] is None
    assert {e.source["card"] for e in events.seen} == {"changes-test"}


def test_the_rows_of_one_write_share_a_context(stores: Datastores, bus: Bus) -> None:
    events = Events(bus)
    stores.default.execute(Insert("items", [{"id": i, "name": "x", "qty": i} for i in range(3)]))
    events.wait(3)
    assert len({e.context.id for e in events.seen}) == 1


def test_a_transaction_is_announced_on_commit_only(stores: Datastores, bus: Bus) -> None:
    events = Events(bus)
    store = stores.default
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            store.execute(Insert("items", {"id": 1, "name": "lost", "qty": 0}), tx=tx)
            raise RuntimeError("roll back")
    with store.transaction() as tx:
        store.execute(Insert("items", {"id": 2, "name": "kept", "qty": 0}), tx=tx)
        store.execute(Update("items", {"qty": 1}, Cond("id", "eq", 2), returning=ALL), tx=tx)
        assert events.seen == []  # not before the commit
    got = events.wait(2)
    assert [(e["op"], e["new"]["name"]) for e in got] == [("insert", "kept"), ("update", "kept")]
    time.sleep(0.2)
    assert len(events.seen) == 2


class Recorder:
    """An event sink that records each call: one call is one Redis round trip on a Bus."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    def emit_many(self, type_: str, datas: list[dict[str, Any]]) -> None:
        self.calls.append((type_, datas))


def test_one_write_is_one_emit_whatever_its_rows(tmp_path: Path) -> None:
    sink = Recorder()
    stores = Datastores(
        {"main": parse_settings("main", {"engine": "sqlite"}, home=tmp_path)}, bus=sink
    )
    try:
        stores.default.raw(DDL)
        stores.default.refresh_schema()
        stores.default.execute(
            Insert("items", [{"id": i, "name": "n", "qty": 0} for i in range(50)])
        )
        stores.default.execute(Update("items", {"qty": 1}))
        assert [(t, len(rows)) for t, rows in sink.calls] == [
            ("data.change", 50),
            ("data.change", 50),
        ]
    finally:
        stores.close()


def test_a_dead_redis_never_fails_a_write(tmp_path: Path, keys: Keys) -> None:
    dead = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
    bus = Bus(dead, keys, "changes-test")
    stores = Datastores(
        {"main": parse_settings("main", {"engine": "sqlite"}, home=tmp_path)}, bus=bus
    )
    try:
        stores.default.raw(DDL)
        stores.default.refresh_schema()
        result = stores.default.execute(
            Insert("items", {"id": 1, "name": "a", "qty": 1}, returning=ALL)
        )
        assert result.rows == [{"id": 1, "name": "a", "qty": 1}]
        assert bus.dropped == 1
    finally:
        stores.close()


def test_an_observer_sees_upserts_and_can_stop(engine: str, tmp_path: Path) -> None:
    with throwaway_database(engine, tmp_path) as settings:
        store: Adapter = open_adapter("t", settings)
        try:
            store.raw(DDL)
            store.refresh_schema()
            seen: list[Change] = []
            stop = store.on_change(seen.extend)
            store.execute(Insert("items", {"id": 1, "name": "a", "qty": 1}))
            merged = store.execute(
                Insert("items", {"id": 1, "name": "b", "qty": 2}, resolution="merge")
            )
            assert merged.rowcount == 1
            stop()
            store.execute(Delete("items"))
        finally:
            store.close()
    assert [(c.op, c.pk, (c.new or {}).get("name")) for c in seen] == [
        ("insert", {"id": 1}, "a"),
        ("upsert", {"id": 1}, "b"),
    ]


def test_a_failing_observer_never_fails_a_write(tmp_path: Path) -> None:
    store = open_adapter("t", {"engine": "sqlite", "path": str(tmp_path / "t.db")})
    try:
        store.raw(DDL)
        store.refresh_schema()

        def broken(changes: object) -> None:
            raise RuntimeError("observer bug")

        store.on_change(broken)
        assert store.execute(Insert("items", {"id": 1, "name": "a", "qty": 1})).rowcount == 1
    finally:
        store.close()


def test_the_board_handle_wires_its_bus(home: Path, keys: Keys, bus: Bus) -> None:
    init_home(home)
    board = Board(load_config(home, environ={}), "gateway", keys, REDIS_URL)
    events = Events(bus)
    try:
        main = Datastores.of(board).default
        main.raw(DDL)
        main.refresh_schema()
        main.execute(Insert("items", {"id": 7, "name": "via board", "qty": 1}))
        [change] = events.wait(1)
        assert change["new"]["name"] == "via board"
        assert events.seen[0].source["card"] == "gateway"
    finally:
        Datastores.of(board).close()
        board.bus.close()
