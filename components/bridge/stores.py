"""Open the board's stores by name, from its `[datastores.NAME]` tables.

The store `main` always exists: unless `[datastores.main]` configures it, it is the
embedded SQLite file `<home>/data/main.db` (the datastore card's default). Once the
datastore card's `Datastores` object is on every board, this can become
`Datastores.from_config(config)[name]`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from components.datastore import Adapter, close_all, open_adapter
from mobo.exceptions import ConfigError
from mobo.kernel.config import Config

DEFAULT_STORE = "main"
EMBEDDED: dict[str, Any] = {"engine": "sqlite", "path": f"data/{DEFAULT_STORE}.db"}


def store_settings(config: Config) -> Mapping[str, Mapping[str, Any]]:
    """Return every store's settings by name, `main` first."""
    return {DEFAULT_STORE: EMBEDDED, **config.section("datastores")}


def stores_from_config(config: Config, names: Iterable[str] | None = None) -> dict[str, Adapter]:
    """Open the named stores (default: all) and return their adapters, connected.

    An unknown name is a ConfigError listing the known ones. If one store fails to open,
    those already open are closed before the error is raised.
    """
    settings = store_settings(config)
    wanted = list(dict.fromkeys(names)) if names is not None else list(settings)
    unknown = [name for name in wanted if name not in settings]
    if unknown:
        raise ConfigError(
            f"no data store named {unknown[0]!r} in {config.config_path}",
            hint=f"known stores: {', '.join(settings)}; add a [datastores.{unknown[0]}] table",
        )
    opened: dict[str, Adapter] = {}
    try:
        for name in wanted:
            opened[name] = open_adapter(name, settings[name], home=config.home)
    except BaseException:
        close_all(opened)
        raise
    return opened
