"""The board's stores as configured: `[datastores.NAME]` tables, validated, `main` the default.

The store named `main` is the board's default store: the one cards use unless told
otherwise (MagAuth's users, card migrations). It always exists: when mobo.toml does
not configure it, it is an embedded SQLite file, `<home>/data/main.db`, in WAL mode, so a
board needs no database server. To make PostgreSQL the default, configure
`[datastores.main]` with `engine = "postgres"`; keys set for `main` without an
engine or a DSN (say `MOBO_DATASTORES_MAIN_POOL_MAX=4`) adjust the embedded store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mobo.exceptions import ConfigError

from .settings import StoreSettings, parse_settings

if TYPE_CHECKING:
    from mobo.kernel.config import Config

DEFAULT_STORE = "main"
EMBEDDED = {"engine": "sqlite", "path": f"data/{DEFAULT_STORE}.db"}
STORE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
NAME_HINT = "store names are lowercase letters, digits and _, starting with a letter"


def store_tables(config: Config) -> dict[str, Mapping[str, object]]:
    """Return each store's table from the config, `main` first (embedded when not set)."""
    section = config.section("datastores")
    tables: dict[str, Mapping[str, object]] = {DEFAULT_STORE: EMBEDDED}
    for name, table in section.items():
        if not isinstance(table, Mapping):
            raise ConfigError(
                f"datastores.{name} = {table!r} is not a table of store settings",
                hint=f"write [datastores.{name}] with engine = …; the store named "
                f"{DEFAULT_STORE} is the default store",
            )
        if not STORE_NAME.match(name):
            raise ConfigError(f"datastores.{name}: {name!r} is not a store name", hint=NAME_HINT)
        embedded = name == DEFAULT_STORE and "engine" not in table and "dsn" not in table
        tables[name] = {**EMBEDDED, **table} if embedded else table  # e.g. only pool_max set
    return tables


def board_stores(config: Config) -> dict[str, StoreSettings]:
    """Validate every store of the board; raise ConfigError naming `datastores.NAME.key`."""
    return {
        name: parse_settings(name, table, home=config.home)
        for name, table in store_tables(config).items()
    }


def where(settings: StoreSettings) -> str:
    """Say where a store lives, without its password: a path or a redacted DSN."""
    if settings.engine == "sqlite":
        return settings.path or ":memory:"
    return settings.redacted_dsn


def unknown_store(name: str, known: list[str]) -> ConfigError:
    """Return the error for a store name the board does not have."""
    return ConfigError(
        f"no datastore named {name!r}",
        hint=f"this board's stores: {', '.join(known)}; add [datastores.{name}] to mobo.toml "
        "for another",
    )


SERVER = {"postgres": "PostgreSQL", "mysql": "MariaDB/MySQL", "sqlite": "SQLite"}


def fix_hint(name: str, settings: StoreSettings) -> str:
    """Say how to make an unreachable store reachable."""
    env = f"MOBO_DATASTORES_{name.upper()}"
    if settings.engine == "sqlite":
        return f"make the file's folder writable, or fix datastores.{name}.path ({env}_PATH)"
    return (
        f"start {SERVER[settings.engine]} at that address, or fix datastores.{name}.dsn in "
        f"mobo.toml ({env}_DSN)"
    )
