"""MagDS, the `datastore` card: several data stores at once, each behind an adapter.

    stores = Datastores.of(board)                 # in a card: the board's stores, `main` default
    result = stores.default.execute(Select("people", where=Cond("age", "gte", 18), count=True))

    store = open_adapter("edge", {"engine": "sqlite", "path": "data/edge.db"})  # one, by hand

A library card (no process): `CARD` checks the stores at boot and applies the plugged
cards' migrations. See docs/datastores.md for configuration, migrations, `data.change`
events, what each engine supports, and type mapping.
"""

from __future__ import annotations

from .adapters.base import Adapter, Health, Result, Transaction
from .card import DatastoreCard
from .changes import Change
from .migrate import Applied, Migration, migrate_card, migrate_store
from .query import (
    ALL,
    And,
    Column,
    Cond,
    Delete,
    Filter,
    Insert,
    JsonPath,
    Not,
    Op,
    Or,
    Order,
    Query,
    Resolution,
    Select,
    Update,
)
from .registry import open_adapter
from .schema import Kind, Schema
from .specs import DEFAULT_STORE
from .stores import Datastores

CARD = DatastoreCard()

__all__ = [
    "ALL",
    "CARD",
    "DEFAULT_STORE",
    "Adapter",
    "And",
    "Applied",
    "Change",
    "Column",
    "Cond",
    "Datastores",
    "Delete",
    "Filter",
    "Health",
    "Insert",
    "JsonPath",
    "Kind",
    "Migration",
    "Not",
    "Op",
    "Or",
    "Order",
    "Query",
    "Resolution",
    "Result",
    "Schema",
    "Select",
    "Transaction",
    "Update",
    "migrate_card",
    "migrate_store",
    "open_adapter",
]
