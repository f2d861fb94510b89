"""MagDS: several data stores at once, each behind an adapter for its engine.

    from components.datastore import open_adapter, Select, Cond

    store = open_adapter("main", {"engine": "sqlite", "path": "data/main.db"})
    result = store.execute(Select("people", where=Cond("age", "gte", 18), count=True))

See docs/datastores.md for configuration, what each engine supports, and type mapping.
"""

from __future__ import annotations

from .adapters.base import Adapter, Health, Result, Transaction
from .query import (
    ALL,
    And,
    Column,
    Cond,
    Delete,
    Filter,
    Insert,
    Not,
    Op,
    Or,
    Order,
    Query,
    Resolution,
    Select,
    Update,
)
from .registry import close_all, open_adapter, open_datastores
from .schema import Kind, Schema

__all__ = [
    "ALL",
    "Adapter",
    "And",
    "Column",
    "Cond",
    "Delete",
    "Filter",
    "Health",
    "Insert",
    "Kind",
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
    "close_all",
    "open_adapter",
    "open_datastores",
]
