"""The `datastore` card: a library card, used in-process through `Datastores.of(board)`.

It runs no process of its own. At boot its POST opens every configured store once (one
check per store, naming it and its engine) and applies the plugged cards' own migrations
to the default store; its health check times a query on each store.
"""

from __future__ import annotations

import time

from mobo.contract import Board, Card, Check
from mobo.exceptions import ComponentFatal, MoboError
from mobo.kernel.config import Config

from .migrate import cards_with_migrations, migrate_card
from .registry import build_adapter
from .settings import StoreSettings
from .specs import DEFAULT_STORE, board_stores, fix_hint, where
from .stores import Datastores


class DatastoreCard(Card):
    name = "datastore"

    def wanted(self, config: Config) -> bool:
        """No process to supervise: other cards use the stores in their own processes."""
        return False

    def preflight(self, config: Config) -> list[Check]:
        """POST: the config of every store is valid and every store answers; card migrations."""
        try:
            stores = board_stores(config)
        except MoboError as exc:
            return [Check("datastores configured", False, str(exc), hint=exc.hint)]
        checks = [reachable(name, settings) for name, settings in stores.items()]
        if all(check.ok for check in checks):
            checks.extend(card_migrations(config, stores[DEFAULT_STORE]))
        return checks

    def health(self, board: Board) -> Check:
        """Time a query on every store of the board (opening the ones not open yet)."""
        start = time.perf_counter()
        stores = Datastores.of(board)
        results = {name: stores.health(name) for name in stores.names}
        failed = [name for name, health in results.items() if not health.ok]
        detail = ", ".join(f"{name} {h.latency_ms:.2f} ms" for name, h in results.items())
        if failed:
            detail = "; ".join(f"{name}: {results[name].detail}" for name in failed)
        return Check(self.name, not failed, detail, ms=(time.perf_counter() - start) * 1000)

    def probe(self, board: Board, pid: int | None) -> Check:
        """The health monitor's check (there is no process to watch): `health`."""
        return self.health(board)

    def run(self, board: Board) -> None:
        raise ComponentFatal(
            "the datastore card has no process of its own",
            hint="cards reach the stores in-process through Datastores.of(board)",
        )


def reachable(name: str, settings: StoreSettings) -> Check:
    """Open one store (its pool and schema), time a query, close it."""
    title = f"datastore {name} ({settings.engine})"
    start = time.perf_counter()
    try:
        adapter = build_adapter(name, settings)
        try:
            health = adapter.health()
        finally:
            adapter.close()
    except MoboError as exc:
        reason = " ".join(str(exc).split())  # libpq's messages span lines
        return Check(title, False, f"{where(settings)}: {reason}", hint=fix_hint(name, settings))
    ms = (time.perf_counter() - start) * 1000
    if not health.ok:
        detail = f"{where(settings)}: {health.detail}"
        return Check(title, False, detail, fix_hint(name, settings), ms)
    return Check(title, True, where(settings), ms=ms)


def card_migrations(config: Config, settings: StoreSettings) -> list[Check]:
    """Apply the plugged cards' own migrations to the default store (one check per card)."""
    from mobo.kernel.registry import Registry

    plugged = [n for n in Registry.discover().names if n not in config.cards.unplugged]
    cards = cards_with_migrations(plugged)
    if not cards:
        return []
    adapter = build_adapter(DEFAULT_STORE, settings)
    try:
        return [_migrate(adapter, card) for card in cards]
    finally:
        adapter.close()


def _migrate(adapter: object, card: str) -> Check:
    title = f"{card} migrations on {DEFAULT_STORE}"
    try:
        applied = migrate_card(adapter, card)  # type: ignore[arg-type]
    except MoboError as exc:
        return Check(title, False, str(exc), hint=exc.hint)
    names = ", ".join(a.name for a in applied)
    return Check(title, True, f"applied {names}" if applied else "up to date")
