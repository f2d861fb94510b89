"""Several stores at once, opened from `[datastores.*]` sections."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from components.datastore import Cond, Insert, Select, close_all, open_datastores
from mobo.exceptions import ConfigError, DatastoreUnavailable
from tests.conftest import free_port

from .conftest import ENGINES, throwaway_database


def test_three_engines_at_once(tmp_path: Path) -> None:
    with ExitStack() as stack:
        sections = {e: stack.enter_context(throwaway_database(e, tmp_path)) for e in ENGINES}
        stores = open_datastores(sections, home=tmp_path)
        try:
            for name, store in stores.items():
                store.raw("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(50))")
                store.refresh_schema()
                store.execute(Insert("notes", {"id": 1, "body": f"from {name}"}))
            bodies = {
                name: store.execute(Select("notes", where=Cond("id", "eq", 1))).rows[0]["body"]
                for name, store in stores.items()
            }
            assert bodies == {e: f"from {e}" for e in ENGINES}
            assert {s.engine for s in stores.values()} == set(ENGINES)
        finally:
            close_all(stores)


def test_one_dead_store_closes_the_others(tmp_path: Path) -> None:
    sections = {
        "main": {"engine": "sqlite", "path": "data/main.db"},
        "pg": {"engine": "postgres", "dsn": f"postgresql://postgres@127.0.0.1:{free_port()}/x"},
    }
    with pytest.raises(DatastoreUnavailable):
        open_datastores(sections, home=tmp_path)
    assert (tmp_path / "data" / "main.db").exists()


def test_unknown_engine_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="engine"):
        open_datastores({"x": {"engine": "mongo"}}, home=tmp_path)
