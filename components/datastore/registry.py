"""Open adapters by engine name: `open_adapter("main", {"engine": "sqlite", ...})`.

Engine modules are imported on first use, so a board on SQLite alone needs neither
psycopg nor pymysql installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

from mobo.exceptions import ConfigError

from .adapters.base import Adapter
from .settings import StoreSettings, parse_settings

ENGINES: dict[str, tuple[str, str]] = {
    "postgres": ("components.datastore.adapters.postgres", "PostgresAdapter"),
    "sqlite": ("components.datastore.adapters.sqlite", "SqliteAdapter"),
    "mysql": ("components.datastore.adapters.mysql", "MysqlAdapter"),
}


def adapter_class(engine: str) -> type[Adapter]:
    """Return the adapter class of an engine (postgres, sqlite, mysql)."""
    try:
        module_name, class_name = ENGINES[engine]
    except KeyError:
        raise ConfigError(f"no adapter for engine {engine!r}") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"the {engine} adapter needs a driver: {exc}") from exc
    return getattr(module, class_name)


def open_adapter(
    name: str,
    settings: Mapping[str, object],
    *,
    home: Path | None = None,
    connect: bool = True,
) -> Adapter:
    """Validate a store's settings, build its adapter and (by default) connect it.

    Relative SQLite paths are resolved against `home`, the board's home directory.
    """
    return build_adapter(name, parse_settings(name, settings, home=home), connect=connect)


def build_adapter(name: str, settings: StoreSettings, *, connect: bool = True) -> Adapter:
    """Build the adapter of already validated settings and (by default) connect it."""
    adapter = adapter_class(settings.engine)(name, settings)
    if connect:
        adapter.connect()
    return adapter
