"""The datastore card: the board's stores from config, the default store, POST, health."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.datastore import CARD, Datastores, Insert, Select
from mobo.contract import Board
from mobo.exceptions import ConfigError
from mobo.kernel.config import load_config
from mobo.kernel.home import init_home
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL, free_port


def board_home(home: Path, stores: str = "") -> Path:
    """Make a board in `home` whose mobo.toml ends with `stores` (TOML)."""
    init_home(home)
    if stores:
        with (home / "mobo.toml").open("a") as fh:
            fh.write("\n" + stores)
    return home


def test_with_no_store_configured_main_is_embedded_sqlite_in_wal_mode(home: Path) -> None:
    stores = Datastores.from_config(load_config(board_home(home), environ={}))
    try:
        assert stores.names == ["main"]
        assert stores.settings("main").engine == "sqlite"
        main = stores.default
        assert main is stores["main"]
        assert (home / "data" / "main.db").exists()
        assert main.raw("PRAGMA journal_mode").rows == [{"journal_mode": "wal"}]
        main.raw("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        main.refresh_schema()
        main.execute(Insert("notes", {"id": 1, "body": "hello"}))
        assert main.execute(Select("notes")).rows == [{"id": 1, "body": "hello"}]
    finally:
        stores.close()


def test_configured_stores_come_after_main(home: Path) -> None:
    config = load_config(
        board_home(home, '[datastores.edge]\nengine = "sqlite"\npath = "edge.db"\n'), environ={}
    )
    stores = Datastores.from_config(config)
    assert stores.names == ["main", "edge"]
    assert stores.settings("edge").path == str(home / "edge.db")
    assert "edge" in stores and "nope" not in stores


def test_main_can_be_configured_as_another_engine(home: Path) -> None:
    config = load_config(
        board_home(home, '[datastores.main]\nengine = "postgres"\ndsn = "postgresql://h/d"\n'),
        environ={},
    )
    assert Datastores.from_config(config).settings("main").engine == "postgres"


def test_environment_overrides_a_store_key(home: Path) -> None:
    board_home(home)
    config = load_config(home, environ={"MOBO_DATASTORES_MAIN_POOL_MAX": "3"})
    assert Datastores.from_config(config).settings("main").pool_max == 3


@pytest.mark.parametrize(
    ("toml", "message", "hint"),
    [
        ('[datastores.x]\nengine = "mongo"\n', "datastores.x.engine = 'mongo'", "postgres"),
        ("[datastores.x]\npath = 'x.db'\n", "datastores.x.engine is missing", "sqlite"),
        ('[datastores.x]\nengine = "postgres"\n', "datastores.x.dsn is missing", "postgresql://"),
        ('[datastores.x]\nengine = "mysql"\n', "datastores.x.dsn is missing", "mysql://"),
        (
            '[datastores.x]\nengine = "sqlite"\npool_max = "ten"\n',
            "datastores.x.pool_max = 'ten'",
            "whole number",
        ),
        (
            '[datastores.x]\nengine = "sqlite"\npool_max = 0\n',
            "datastores.x.pool_max = 0",
            ">= 1",
        ),
        (
            '[datastores.x]\nengine = "sqlite"\npool_min = 5\npool_max = 2\n',
            "datastores.x.pool_min = 5",
            "pool_min <= pool_max",
        ),
        (
            '[datastores.x]\nengine = "sqlite"\ncolour = "red"\n',
            "datastores.x.colour",
            "busy_timeout_ms",
        ),
        (
            '[datastores.x]\nengine = "postgres"\ndsn = "postgresql://h/d"\npath = "x.db"\n',
            "datastores.x.path",
            "dsn",
        ),
        ('[datastores]\ndefault = "x"\n', "datastores.default = 'x'", "main"),
    ],
)
def test_bad_store_settings_are_config_errors_naming_key_value_and_allowed(
    home: Path, toml: str, message: str, hint: str
) -> None:
    config = load_config(board_home(home, toml), environ={})
    with pytest.raises(ConfigError) as caught:
        Datastores.from_config(config)
    assert message in str(caught.value)
    assert hint in (caught.value.hint or "")


def test_a_bad_environment_value_is_named(home: Path) -> None:
    config = load_config(board_home(home), environ={"MOBO_DATASTORES_MAIN_POOL_MAX": "lots"})
    with pytest.raises(ConfigError, match=r"datastores\.main\.pool_max = 'lots'"):
        Datastores.from_config(config)


def test_an_unknown_store_names_the_known_ones(home: Path) -> None:
    stores = Datastores.from_config(load_config(board_home(home), environ={}))
    with pytest.raises(ConfigError, match="no datastore named 'pg'") as caught:
        stores["pg"]
    assert "main" in (caught.value.hint or "")


def test_board_handle_has_one_datastores_per_process(home: Path) -> None:
    config = load_config(board_home(home), environ={})
    board = Board(config, "test", Keys("mobotest:unused"), REDIS_URL)
    try:
        assert Datastores.of(board) is Datastores.of(board)
        assert Datastores.of(board).default.health().ok
    finally:
        Datastores.of(board).close()


def test_a_forked_child_opens_its_own_connections(home: Path) -> None:
    stores = Datastores.from_config(load_config(board_home(home), environ={}))
    parent = stores.default
    pid = os.fork()
    if pid == 0:  # the child: a new adapter that works, the parent's left alone
        ok = stores.default is not parent and stores.default.health().ok
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert stores.default is parent and parent.health().ok
    stores.close()


# -- POST and health ------------------------------------------------------------------


def test_preflight_checks_each_store_by_name_and_engine(home: Path) -> None:
    checks = CARD.preflight(load_config(board_home(home), environ={}))
    main = next(c for c in checks if c.name == "datastore main (sqlite)")
    assert main.ok and main.detail == str(home / "data" / "main.db")
    assert all(c.ok for c in checks), checks


def test_preflight_fails_for_a_dead_postgres_with_a_fix(home: Path) -> None:
    dsn = f"postgresql://app:s3cret@127.0.0.1:{free_port()}/app"
    toml = f'[datastores.pg]\nengine = "postgres"\ndsn = "{dsn}"\nconnect_timeout_s = 2\n'
    checks = CARD.preflight(load_config(board_home(home, toml), environ={}))
    pg = next(c for c in checks if c.name == "datastore pg (postgres)")
    assert not pg.ok
    assert "127.0.0.1" in pg.detail and "s3cret" not in pg.detail and "\n" not in pg.detail
    assert "datastores.pg.dsn" in (pg.hint or "") and "MOBO_DATASTORES_PG_DSN" in (pg.hint or "")


def test_preflight_reports_bad_config_as_one_failed_check(home: Path) -> None:
    toml = '[datastores.x]\nengine = "oracle"\n'
    [check] = CARD.preflight(load_config(board_home(home, toml), environ={}))
    assert not check.ok and "datastores.x.engine" in check.detail and check.hint


def test_preflight_applies_plugged_cards_migrations_to_main_once(home: Path) -> None:
    config = load_config(board_home(home), environ={})
    first = [c for c in CARD.preflight(config) if c.name.endswith("migrations on main")]
    again = [c for c in CARD.preflight(config) if c.name.endswith("migrations on main")]
    if not first:
        pytest.skip("no plugged card ships migrations")
    assert all(c.ok and c.detail.startswith("applied") for c in first), first
    assert all(c.ok and c.detail == "up to date" for c in again), again


def test_health_runs_a_query_on_every_store(home: Path) -> None:
    toml = '[datastores.edge]\nengine = "sqlite"\npath = "edge.db"\n'
    config = load_config(board_home(home, toml), environ={})
    board = Board(config, "test", Keys("mobotest:unused"), REDIS_URL)
    try:
        check = CARD.health(board)
        assert check.ok and "main" in check.detail and "edge" in check.detail
        assert CARD.probe(board, None).ok  # what the health monitor runs each round
        (home / "edge.db").unlink()
        (home / "edge.db").mkdir()  # the file is gone and cannot be made again
        Datastores.of(board).close()
        failed = CARD.health(board)
        assert not failed.ok and "edge" in failed.detail and "main" not in failed.detail
    finally:
        Datastores.of(board).close()


def test_the_card_runs_no_process(home: Path) -> None:
    assert CARD.wanted(load_config(board_home(home), environ={})) is False
