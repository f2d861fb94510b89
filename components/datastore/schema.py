"""What an adapter's introspection finds: tables and views, columns, keys and indexes.

`Column.type` is the engine's own spelling of the type (`character varying(20)`,
`int(11)`, `TEXT`); `Column.kind` is the neutral family the codecs and the gateway's
OpenAPI document work from. `Column.default` is the engine's SQL text for the default
(`'new'::character varying`, `'new'`), or a marker for generated keys:
`identity`, `auto_increment`, `rowid`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from mobo.exceptions import UnknownIdentifier


class Kind(StrEnum):
    """The neutral family of a column type."""

    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    TEXT = "text"
    BOOLEAN = "boolean"
    JSON = "json"
    UUID = "uuid"
    DATE = "date"
    TIME = "time"
    TIMESTAMP = "timestamp"  # without time zone
    TIMESTAMPTZ = "timestamptz"  # an instant; returned with +00:00
    BYTES = "bytes"
    ARRAY = "array"  # PostgreSQL only
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table or view."""

    name: str
    type: str
    kind: Kind
    nullable: bool = True
    default: str | None = None
    primary_key: bool = False


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """`columns` of this table reference `ref_columns` of `ref_table`."""

    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    ref_schema: str | None = None


@dataclass(frozen=True, slots=True)
class Index:
    """An index; `partial` covers predicates and expressions (not a conflict target)."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    primary: bool = False
    partial: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """A table (`kind="table"`) or a view (`kind="view"`)."""

    name: str
    columns: tuple[Column, ...]
    kind: str = "table"
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    def column(self, name: str) -> Column:
        """Return the named column, or raise UnknownIdentifier (42703)."""
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise UnknownIdentifier(
                f"column {self.name}.{name} does not exist",
                identifier=str(name),
                code="42703",
                hint=_suggest("column", name, self._by_name),
            ) from None

    def is_unique(self, columns: tuple[str, ...]) -> bool:
        """Tell whether `columns` are exactly the primary key or a full unique index."""
        wanted = set(columns)
        if self.primary_key and wanted == set(self.primary_key):
            return True
        return any(i.unique and not i.partial and set(i.columns) == wanted for i in self.indexes)


@dataclass(frozen=True, slots=True)
class Schema:
    """Every table and view of one store; `namespace` qualifies names (PostgreSQL)."""

    tables: Mapping[str, Table]
    namespace: str | None = None

    def table(self, name: str) -> Table:
        """Return the named table or view, or raise UnknownIdentifier (PGRST205)."""
        try:
            return self.tables[name]
        except (KeyError, TypeError):
            where = f"{self.namespace}.{name}" if self.namespace else str(name)
            raise UnknownIdentifier(
                f"Could not find the table '{where}' in the schema cache",
                identifier=str(name),
                code="PGRST205",
                hint=_suggest("table", name, self.tables),
            ) from None


def _suggest(what: str, name: object, known: Mapping[str, object]) -> str | None:
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f"Perhaps you meant the {what} '{close[0]}'" if close else None
