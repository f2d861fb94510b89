"""The board's stores that a backup or restore covers, by name."""

from __future__ import annotations

from collections.abc import Sequence

from components.datastore.settings import StoreSettings
from components.datastore.specs import board_stores, unknown_store
from mobo.kernel.config import Config


def selected_stores(config: Config, names: Sequence[str] | None) -> dict[str, StoreSettings]:
    """Return the named stores' settings (None: every store; []: none), in the board's order."""
    stores = board_stores(config)
    if names is None:
        return stores
    for name in names:
        if name not in stores:
            raise unknown_store(name, list(stores))
    return {name: stores[name] for name in stores if name in names}
