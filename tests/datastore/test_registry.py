"""Several stores at once, each behind its engine's adapter, from validated settings."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from components.datastore import Cond, Datastores, Insert, Select, open_adapter
from components.datastore.settings import parse_settings
from mobo.exceptions import ConfigError

from .conftest import ENGINES, throwaway_database


def test_three_engines_at_once(tmp_path: Path) -> None:
    with ExitStack() as stack:
        sections = {e: stack.enter_context(throwaway_database(e, tmp_path)) for e in ENGINES}
        stores = Datastores({e: parse_settings(e, s, home=tmp_path) for e, s in sections.items()})
        stack.callback(stores.close)
        for name in stores:
            stores[name].raw("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(50))")
            stores[name].refresh_schema()
            stores[name].execute(Insert("notes", {"id": 1, "body": f"from {name}"}))
        bodies = {
            name: stores[name].execute(Select("notes", where=Cond("id", "eq", 1))).rows[0]["body"]
            for name in stores
        }
        assert bodies == {e: f"from {e}" for e in ENGINES}
        assert {stores[name].engine for name in stores} == set(ENGINES)


def test_unknown_engine_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="engine"):
        open_adapter("x", {"engine": "mongo"}, home=tmp_path)
