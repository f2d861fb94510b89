"""Writes through MagDS reach the change stream from the writer's side (SQLite, MariaDB),
and Postgres stores, captured in the database, are not sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from components.datastore import Datastores, Delete, Insert, Update
from components.datastore.capture import ChangeCapture
from components.datastore.query import Cond
from mobo.contract import Board
from mobo.kernel.config import load_config
from mobo.kernel.home import init_home
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL, requires_cards
from tests.datastore.conftest import throwaway_database
from tests.tomlfile import merge_toml

from .conftest import stream_changes, wait_until

DDL = "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(1000), qty INTEGER)"

# the feed is written while a plugged card consumes it: realtime is that card here
pytestmark = requires_cards("realtime")


def _toml(name: str, settings: dict[str, Any]) -> str:
    lines = [f"[datastores.{name}]"]
    lines += [f"{key} = {value!r}" for key, value in settings.items() if key != "pool_max"]
    return "\n".join(lines).replace("'", '"') + "\n"


@pytest.fixture
def make_board(home: Path, tmp_path: Path, keys: Keys) -> Iterator[Any]:
    """A board home with a SQLite `main`, a MariaDB `maria` and a Postgres `pg` store."""
    boards: list[Board] = []
    init_home(home)

    def make(card: str = "gateway", **environ: str) -> Board:
        env = {"MOBO_BUS_PREFIX": keys.prefix, "MOBO_REDIS_URL": REDIS_URL, **environ}
        board = Board(load_config(home, environ=env), card, keys, REDIS_URL)
        boards.append(board)
        return board

    with (
        throwaway_database("mysql", tmp_path) as maria,
        throwaway_database("postgres", tmp_path) as pg,
    ):
        sqlite = {"engine": "sqlite", "path": str(tmp_path / "main.db")}
        with (home / "mobo.toml").open("a") as fh:
            for name, settings in (("main", sqlite), ("maria", maria), ("pg", pg)):
                fh.write("\n" + _toml(name, settings))
        merge_toml(home / "mobo.toml", {"realtime": {"max_row_bytes": 512}})
        try:
            yield make
        finally:
            for board in boards:
                Datastores.of(board).close()
                board.bus.close()


def _write(board: Board, store: str) -> None:
    adapter = Datastores.of(board)[store]
    adapter.raw(DDL)
    adapter.refresh_schema()
    adapter.execute(Insert("items", {"id": 1, "name": "one", "qty": 1}))
    adapter.execute(Update("items", {"qty": 2}, where=Cond("id", "eq", 1)))
    adapter.execute(Insert("items", {"id": 2, "name": "y" * 600, "qty": 1}))
    adapter.execute(Delete("items", where=Cond("id", "eq", 1)))


@pytest.mark.parametrize("store", ["main", "maria"])
def test_writes_through_magds_land_in_the_stream(
    store: str, make_board: Any, redis_client: redis.Redis, keys: Keys
) -> None:
    board = make_board()
    _write(board, store)
    changes = stream_changes(redis_client, keys)  # XADDed before execute() returned
    assert [(c["store"], c["table"], c["op"], c["pk"]) for c in changes] == [
        (store, "items", "insert", {"id": 1}),
        (store, "items", "update", {"id": 1}),
        (store, "items", "insert", {"id": 2}),
        (store, "items", "delete", {"id": 1}),
    ]
    assert changes[0]["new"] == {"id": 1, "name": "one", "qty": 1}
    assert changes[1]["new"]["qty"] == 2
    assert changes[2]["ref"] == {"reason": "too_large"} and changes[2]["new"] is None
    assert changes[3]["old"]["id"] == 1
    assert len({c["id"] for c in changes}) == 4


def test_nothing_is_streamed_when_the_realtime_card_is_unplugged(
    make_board: Any, redis_client: redis.Redis, keys: Keys
) -> None:
    board = make_board(MOBO_CARDS_UNPLUGGED="realtime")
    _write(board, "main")
    assert stream_changes(redis_client, keys) == []


def test_postgres_writes_through_magds_are_captured_once(
    make_board: Any, redis_client: redis.Redis, keys: Keys
) -> None:
    board = make_board()
    capture = ChangeCapture(make_board("realtime"))
    capture.start()
    try:
        wait_until(lambda: capture.ready, f"the capture to be ready: {capture.status()}")
        _write(board, "pg")
        _write(board, "main")  # after pg's: its entries prove the writer side ran
        [pg_capture] = capture.captures
        wait_until(lambda: pg_capture.forwarded >= 4, "the capture to forward pg's changes")
        changes = stream_changes(redis_client, keys)  # MagDS would have XADDed before
        pg = [(c["op"], c["pk"]) for c in changes if c["store"] == "pg"]
        assert pg == [
            ("insert", {"id": 1}),
            ("update", {"id": 1}),
            ("insert", {"id": 2}),
            ("delete", {"id": 1}),
        ]
        assert len([c for c in changes if c["store"] == "main"]) == 4
    finally:
        capture.stop()


def test_postgres_writes_are_streamed_by_magds_when_capture_is_off(
    make_board: Any, redis_client: redis.Redis, keys: Keys
) -> None:
    board = make_board(MOBO_REALTIME_CAPTURE="false")
    assert ChangeCapture(board).captures == []
    _write(board, "pg")
    assert [c["op"] for c in stream_changes(redis_client, keys)] == [
        "insert",
        "update",
        "insert",
        "delete",
    ]
